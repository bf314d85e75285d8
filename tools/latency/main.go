// Command latency measures this box's own physical limits on loopback, the
// figures Arcade's latency is to be set against: on a virtual machine whose
// timers wake 1–5 ms late at p99 and whose CPU is 5–50% stolen whatever the
// code does, an absolute figure says more about the host than about Arcade.
//
//	latency [--echo-count 10000] [--echo-rate 1000] [--ref-duration 10s] [--pin=true] [--json FILE]
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
//  4. The seed model at the echo's RTT p50 and p99: Lbest = ⌈RTT/Δt⌉·Δt,
//     Lworst = Lbest + Δt, Δt = 1/120 s.
//
// With taskset and at least two CPUs (and --pin), the echo server and the
// reference loop run on the first allowed CPU and the echo client on the
// second. /proc/stat steal is read over each measurement.
//
// Quantiles are exact nearest-rank quantiles of every sample, sorted.
//
// Output: a table on stdout; --json FILE writes every figure. Exit status
// 0 when everything was measured, 1 when something could not be (or a
// flag is wrong). Every loop is bounded in count and time.
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
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command's flags, validated.
type options struct {
	echoCount   int
	echoRate    int
	refDuration time.Duration
	jsonFile    string
	pin         bool
}

// Flag limits.
const (
	maxDuration  = 10 * time.Minute
	maxEchoCount = 1_000_000
	maxEchoRate  = 10_000
)

// errHelp: -h was asked for; the usage is printed.
var errHelp = errors.New("help")

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("latency", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.IntVar(&o.echoCount, "echo-count", 10_000, "datagrams the UDP echo client sends")
	fs.IntVar(&o.echoRate, "echo-rate", 1000, "echo datagrams per second")
	fs.DurationVar(&o.refDuration, "ref-duration", 10*time.Second, "how long the reference timerfd loop and the time.Ticker each run")
	fs.BoolVar(&o.pin, "pin", true, "pin the echo server and the reference loop to one CPU and the echo client to another (with taskset, given two CPUs)")
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

// The tick every measurement is set against.
const (
	tickRate   = 120 // Hz: the server's default --tick-rate, the reference loops' rate and the model's Δt
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

// measure runs everything in order; a part that failed is in Problems.
func measure(ctx context.Context, o *options, logf func(string, ...any)) (*Report, error) {
	rep := &Report{Started: time.Now().Format(time.RFC3339), GoVersion: runtime.Version(),
		TickRateHz: tickRate, DtMS: 1e3 / tickRate, Placement: place(o.pin)}
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

	return rep, nil
}
