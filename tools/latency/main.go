// Command latency measures, in one run on loopback, Arcade's latency beside
// this box's own physical limits, and prints the first as ratios of the
// second, never as absolute bounds: on a virtual machine whose timers wake
// 1–5 ms late at p99 and whose CPU is 5–50% stolen whatever the code does,
// an absolute figure says more about the host than about Arcade.
//
//	latency [--duration 10s] [--warmup 1s] [--headsets 16,64] [--modes eager,tick]
//	        [--echo-count 10000] [--echo-rate 1000] [--ref-duration 10s]
//	        [--pin=true] [--pin-server=true] [--bot-nice 10]
//	        [--server-bin FILE --bot-bin FILE] [--json FILE]
//
// In order, each measured alone:
//
//  1. UDP echo RTT, the network floor: an echo server and a client, each
//     on a locked OS thread at SCHED_FIFO priority 10 (or normal
//     scheduling, said so, when refused) with blocking sockets, exchange
//     --echo-count 64-byte datagrams at --echo-rate on 127.0.0.1.
//  2. Reference loop lateness: a bare loop on a locked thread at the
//     server tick's SCHED_FIFO priority (10) waits on a timerfd for
//     absolute deadlines on a 1/120 s grid (arcade/tick); lateness = wake
//     − deadline.
//  3. time.Ticker lateness at the same period, received by an ordinary
//     goroutine.
//  4. Arcade: for each --headsets count and --modes mode (eager:
//     --eager, tick: --eager=false, sealed: --eager with a venue
//     passphrase, so that every datagram is sealed and the group's are
//     signed), arcade-server on free loopback ports
//     and a multicast group 239.255.X.Y of its own, with arcade-bot
//     --grab at 90 Hz. With taskset and at least two CPUs (and --pin) the
//     bot is pinned to the second allowed CPU (like the echo client) and
//     the server left free (--pin-tick pins its tick thread to the first,
//     like the echo server and the reference loop; --pin-server confines
//     the whole server there); the bot is niced by
//     --bot-nice (+10) when nice exists. The
//     server's histograms are reset at the end of the bots' warm-up
//     (counted from when the server has them all) and read --duration
//     later, or when the bots stop if that comes first; /proc/stat steal
//     is read over the same window. The share of the poses the bots were
//     asked for that they sent shows whether they were starved of CPU;
//     the longest stall seen (receive delay or tick lateness) is set
//     beside the kernel's real-time throttling budget, which is what ends
//     a stall of a SCHED_FIFO thread that does not sleep.
//  5. The seed model at the echo's RTT p50 and p99: Lbest = ⌈RTT/Δt⌉·Δt,
//     Lworst = Lbest + Δt, Δt = 1/120 s.
//  6. Per Arcade run: tick lateness p99 ÷ reference p99 (and ÷ the
//     server's own host timer probe p99 when it reports one; the server
//     spins up to its --tick-spin before a deadline and the reference loop
//     does not, so a ratio below 1 is the spin's doing); server-added
//     p99 (avatars, held objects) − echo p99; server-added p99 − (echo p99
//     + 250 µs + reference p99), target ≤ 0; avatars' server-added p50,
//     target ≤ 150 µs; the bots' input_to_state and grab_to_state p99
//     against Lworst.
//
// Quantiles of the in-process measurements are exact nearest-rank
// quantiles of every sample, sorted. Figures a server does not report yet
// are n/a, never 0.
//
// Output: a table on stdout; --json FILE writes every figure. The targets
// are marked ✓/✗ but do not decide the exit status: 0 when everything was
// measured, 1 when something could not be (or a flag is wrong). Every
// loop is bounded in count and time; the command stops by itself.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/arcadexr/arcade/tools/internal/toolrun"
	"golang.org/x/sys/unix"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command's flags, validated.
type options struct {
	duration    time.Duration
	warmup      time.Duration
	headsets    []int
	modes       []string // eager, tick, sealed
	echoCount   int
	echoRate    int
	refDuration time.Duration
	serverBin   string
	botBin      string
	jsonFile    string
	botNice     int
	pin         bool
	pinServer   bool
	pinTick     bool
}

// Flag limits.
const (
	maxDuration  = 10 * time.Minute
	maxWarmup    = time.Minute
	maxHeadsets  = 1024 // arcade-bot's --clients limit
	maxEchoCount = 1_000_000
	maxEchoRate  = 10_000
)

// errHelp: -h was asked for; the usage is printed.
var errHelp = errors.New("help")

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("latency", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured window of each Arcade run, after the warm-up")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "bots stream this long before each Arcade run's window")
	headsets := fs.String("headsets", "16,64", "comma-separated headset `counts`, one Arcade run pair each")
	modes := fs.String("modes", "eager,tick", "comma-separated `modes`: eager (--eager), tick (--eager=false), sealed (--eager and a venue passphrase)")
	fs.IntVar(&o.echoCount, "echo-count", 10_000, "datagrams the UDP echo client sends")
	fs.IntVar(&o.echoRate, "echo-rate", 1000, "echo datagrams per second")
	fs.DurationVar(&o.refDuration, "ref-duration", 10*time.Second, "how long the reference timerfd loop and the time.Ticker each run")
	fs.StringVar(&o.serverBin, "server-bin", "", "arcade-server `binary` (default: build ./cmd/arcade-server into a temporary directory)")
	fs.StringVar(&o.botBin, "bot-bin", "", "arcade-bot `binary` (default: build ./tools/arcade-bot into a temporary directory)")
	fs.BoolVar(&o.pin, "pin", true, "pin the server to one CPU and the bots to another (with taskset, given two CPUs)")
	fs.BoolVar(&o.pinTick, "pin-tick", false, "with --pin, pin the server's tick thread (--tick-cpu) to the first CPU; by default the server is left free, so the kernel runs its real-time thread on whichever CPU is not held")
	fs.BoolVar(&o.pinServer, "pin-server", false, "with --pin, confine arcade-server (every thread) to the first CPU (its real-time priority is then refused: a real-time Go thread alone on a CPU can livelock with the runtime); false, the default, pins only its tick thread there (--tick-cpu)")
	fs.IntVar(&o.botNice, "bot-nice", 10, "nice increment of arcade-bot (0..19; 0 = not niced)")
	fs.StringVar(&o.jsonFile, "json", "", "also write every figure as JSON to `file`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.duration <= 0 || o.duration > maxDuration {
		return nil, fmt.Errorf("--duration: %v is out of range (0, %v]", o.duration, maxDuration)
	}
	if o.warmup < 0 || o.warmup > maxWarmup {
		return nil, fmt.Errorf("--warmup: %v is out of range [0, %v]", o.warmup, maxWarmup)
	}
	var err error
	if o.headsets, err = parseHeadsets(*headsets); err != nil {
		return nil, fmt.Errorf("--headsets: %w", err)
	}
	if o.modes, err = parseModes(*modes); err != nil {
		return nil, fmt.Errorf("--modes: %w", err)
	}
	if o.echoCount < 1 || o.echoCount > maxEchoCount {
		return nil, fmt.Errorf("--echo-count: %d is out of range 1..%d", o.echoCount, maxEchoCount)
	}
	if o.echoRate < 1 || o.echoRate > maxEchoRate {
		return nil, fmt.Errorf("--echo-rate: %d is out of range 1..%d", o.echoRate, maxEchoRate)
	}
	if o.refDuration <= 0 || o.refDuration > maxDuration {
		return nil, fmt.Errorf("--ref-duration: %v is out of range (0, %v]", o.refDuration, maxDuration)
	}
	if refCount(o.refDuration) < 1 {
		return nil, fmt.Errorf("--ref-duration: %v is shorter than one tick (1/%d s)", o.refDuration, tickRate)
	}
	if o.botNice < 0 || o.botNice > 19 {
		return nil, fmt.Errorf("--bot-nice: %d is out of range 0..19", o.botNice)
	}
	for _, f := range []struct{ name, path string }{{"--server-bin", o.serverBin}, {"--bot-bin", o.botBin}} {
		if f.path == "" {
			continue
		}
		if err := executable(f.path); err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if o.jsonFile != "" {
		dir := filepath.Dir(o.jsonFile)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("--json: directory %s does not exist", dir)
		}
		if fi, err := os.Stat(o.jsonFile); err == nil && fi.IsDir() {
			return nil, fmt.Errorf("--json: %s is a directory", o.jsonFile)
		}
	}
	return &o, nil
}

func parseHeadsets(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, fmt.Errorf("%q: empty entry", s)
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%q: %q is not a number", s, f)
		}
		if n < 1 || n > maxHeadsets {
			return nil, fmt.Errorf("%q: %d is out of range 1..%d", s, n, maxHeadsets)
		}
		if slices.Contains(out, n) {
			return nil, fmt.Errorf("%q: %d is listed twice", s, n)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseModes(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		m := strings.TrimSpace(f)
		switch m {
		case "eager", "tick", "sealed":
		default:
			return nil, fmt.Errorf("%q: %q is not eager, tick or sealed", s, f)
		}
		if slices.Contains(out, m) {
			return nil, fmt.Errorf("%q: %s is listed twice", s, m)
		}
		out = append(out, m)
	}
	return out, nil
}

func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

// The tick every measurement is set against.
const (
	tickRate   = 120 // Hz: the server's --tick-rate, the reference loops' rate and the model's Δt
	rtPriority = 10  // SCHED_FIFO priority of the server's tick thread (its default --rt-priority)
)

// refCount is the number of ticks the reference loops run for d.
func refCount(d time.Duration) int { return int(d.Nanoseconds() * tickRate / 1e9) }

// period is Δt in ns, rounded down (8 333 333 ns at 120 Hz).
const period = int64(time.Second) / tickRate

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, errHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "latency: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "latency: "+format+"\n", args...) }
	rep, err := measure(ctx, o, logf)
	if err != nil {
		fmt.Fprintf(stderr, "latency: %v\n", err)
		return 1
	}
	printTable(stdout, rep)
	if o.jsonFile != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err == nil {
			err = os.WriteFile(o.jsonFile, append(b, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "latency: --json: %v\n", err)
			return 1
		}
	}
	if len(rep.Problems) > 0 {
		return 1
	}
	return 0
}

// measure runs everything in order. An error means nothing could be
// measured (the build failed); a part that failed is in Problems.
func measure(ctx context.Context, o *options, logf func(string, ...any)) (*Report, error) {
	rep := &Report{Started: time.Now().Format(time.RFC3339), GoVersion: runtime.Version(),
		TickRateHz: tickRate, DtMS: 1e3 / tickRate, Problems: []string{}, Placement: place(o.pin, o.pinServer, o.botNice), RTThrottle: readRTThrottle()}
	rep.Targets.BudgetSlackUS, rep.Targets.AvatarP50US = budgetSlackUS, avatarP50TargetUS
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		rep.Kernel = unix.ByteSliceToString(uts.Sysname[:]) + " " + unix.ByteSliceToString(uts.Release[:])
	}
	problem := func(format string, args ...any) {
		rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
		logf(format, args...)
	}
	pl := rep.Placement
	logf("%s", pl.describe())

	// Build first: a broken build should stop the run before the
	// minute of reference measurements.
	var pkgs []string
	if o.serverBin == "" {
		pkgs = append(pkgs, "./cmd/arcade-server")
	}
	if o.botBin == "" {
		pkgs = append(pkgs, "./tools/arcade-bot")
	}
	if len(pkgs) > 0 {
		dir, err := os.MkdirTemp("", "arcade-latency-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		logf("building %s", strings.Join(pkgs, " "))
		if err := toolrun.Build(ctx, dir, pkgs...); err != nil {
			return nil, err
		}
		if o.serverBin == "" {
			o.serverBin = filepath.Join(dir, "arcade-server")
		}
		if o.botBin == "" {
			o.botBin = filepath.Join(dir, "arcade-bot")
		}
	}

	logf("UDP echo: %d datagrams at %d Hz", o.echoCount, o.echoRate)
	echo, err := runEcho(ctx, o.echoCount, o.echoRate, rtPriority, pl.ServerCPU, pl.BotCPU)
	rep.Echo = echo
	switch {
	case err != nil:
		problem("UDP echo: %v", err)
	case echo.RTT.Samples == 0:
		problem("UDP echo: no reply received")
	}
	if rep.Echo != nil && rep.Echo.RTT.Samples > 0 {
		m50 := seedModel(int64(rep.Echo.RTT.P50*1e3), tickRate)
		m99 := seedModel(int64(rep.Echo.RTT.P99*1e3), tickRate)
		rep.ModelP50, rep.ModelP99 = &m50, &m99
	}

	n := refCount(o.refDuration)
	logf("reference timerfd loop: %d ticks at %d Hz", n, tickRate)
	ref, err := runTimerfdLoop(ctx, period, n, rtPriority, pl.ServerCPU)
	rep.Reference = ref
	if err != nil || ref.Wakes == 0 {
		problem("reference timerfd loop: %d wakes, %v", ref.Wakes, err)
	}
	logf("time.Ticker: %d ticks at %d Hz", n, tickRate)
	tk, err := runTickerLoop(ctx, period, n)
	rep.Ticker = tk
	if err != nil || tk.Wakes == 0 {
		problem("time.Ticker: %d wakes, %v", tk.Wakes, err)
	}

	// Left free, the server may still be asked to keep its tick thread on
	// the reference loop's CPU (--pin-tick).
	if o.pinTick && pl.Pinned && !pl.ServerPinned && serverHasFlag(ctx, o.serverBin, "tick-cpu") {
		rep.Placement.TickCPU = pl.ServerCPU
		pl = rep.Placement
	}
	cfg := arcadeConfig{serverBin: o.serverBin, botBin: o.botBin, place: pl, duration: o.duration, warmup: o.warmup, logf: logf}
	for _, h := range o.headsets {
		for _, mode := range o.modes {
			if ctx.Err() != nil {
				problem("interrupted")
				rep.fillRatios()
				return rep, nil
			}
			logf("arcade: %d headsets, %s, %v warm-up + %v", h, mode, o.warmup, o.duration)
			r := runArcade(ctx, cfg, h, mode)
			rep.Runs = append(rep.Runs, r)
			if r.Error != "" {
				problem("arcade %s: %s", r.label(), r.Error)
			}
		}
	}
	rep.fillRatios()
	return rep, nil
}
