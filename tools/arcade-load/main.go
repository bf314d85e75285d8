// Command arcade-load ramps simulated headsets against an arcade-server it
// starts itself on loopback, measures what each step costs the server and
// what the headsets see, and names the first step at which a resource
// saturates: the knee.
//
//	arcade-load [--ramp FROM:TO:BY] [--step 8s] [--settle 1.5s] [--hold D]
//	            [--generator gen|bots] [--nice 10] [--json FILE] [--svg FILE]
//
// The server runs as a venue's would (120 Hz, eager, SCHED_FIFO tick
// thread at its default priority when permitted), on 127.0.0.1 with a
// multicast group of this run's own on lo and the operator API on a free
// loopback port with a token of this run's own.
//
// The headsets stream poses at 90 Hz. With --generator gen (the default)
// they are simulated in this process by package gen: one unicast socket
// speaking for all of them, each from a loopback address of its own
// (127.64.0.1 upwards, as a venue's headsets each have one: the server's
// per-address handshake limit then applies per headset), one multicast
// socket that reads every state datagram once for all of them, batched
// I/O, kernel receive timestamps; this process then runs at nice --nice.
// With --generator bots they are arcade-bot processes of at most
// --per-proc headsets each (127.(10+p).0.0/16), sharing one multicast
// socket per process, at nice --nice; their interval lines are cut by
// SIGUSR1. Either way the generator stays behind the server when the two
// compete for the CPU, and its own CPU is reported beside the server's.
// With --pin (the default, given two CPUs) the server's tick thread runs on
// the first CPU and the generator on the last (place.go says why); the
// report says what was done.
//
// Headsets are added, never restarted: step k adds headsets until the
// target count is reached, waits (at most --connect-wait) for the server
// to count them, lets the server settle for --settle, then measures a
// window of --hold (default --step minus --settle). The window opens with
// POST /api/stats/reset and closes with GET /api/stats; counters are
// differences over the window.
//
// Per step: server CPU (user+sys from /proc/PID/stat, % of one core), RSS
// and goroutines (/metrics), tick time and per-stage time p50/p99, missed
// ticks and late ticks by cause (/api/stats), UDP drops (the host's
// /proc/net/snmp Udp InErrors and RcvbufErrors, and the server's sockets'
// drops in /proc/PID/net/udp), datagrams per second each way (the server's
// rx/tx packets) and loopback bytes per second (/proc/net/dev lo, every
// datagram once), input-to-state p50/p99 and snapshot loss pooled over
// every headset, and the generator's own CPU (this process, and the bot
// processes).
//
// The knee is the first step at which any of these holds: server CPU ≥ 90 %
// of a core; ticks missed through Arcade (missed_ticks_arcade > 0: the
// late tick that skipped them was Arcade's, its tick thread busy while
// the server's reference timer was on time; a thread that slept through
// the deadline, woken late, is the wake's and shown apart; from a server
// without the field, ticks missed while ticks_late_arcade ≥
// ticks_late_host > 0); a UDP drop at the server's sockets or the
// generator's (the host's counters, which take every process's, are shown
// apart); snapshot loss ≥ 0.1 %; input-to-state p99 above one tick plus
// the host's timer lateness p99. The report says which, and marks a step generator-limited when the
// headsets sent under 95 % of their inputs: its headset-side figures are
// then the generator's as much as the server's.
//
// Bounds: every step is bounded (connect wait, settle, hold); the whole
// run by --max-time; the ramp stops at --to, when a step's headsets do
// not all connect, or --past-knee steps after the knee. Every child is
// stopped on exit, error or Ctrl-C (and killed by the kernel if this
// process dies: Pdeathsig). Traffic stays on 127.0.0.0/8.
package main

import (
	"context"
	crand "crypto/rand"
	"errors"
	"flag"
	"fmt"
	"github.com/arcadexr/arcade/tools/arcade-load/gen"
	"github.com/arcadexr/arcade/tools/internal/toolrun"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	from, to, by   int
	step, settle   time.Duration
	hold           time.Duration
	perProc        int
	maxAdd         int
	nice           int
	rate, tickRate int
	jsonFile       string
	svgFile        string
	serverBin      string
	botBin         string
	maxTime        time.Duration
	pastKnee       int
	connectWait    time.Duration
	quiet          bool
	generator      string
	connectRate    int
	serverArgs     []string
	cpuProfile     string
	pin            bool

	// placement is what pin put in effect (see place), set by run.
	placement placement
}

// Generators (--generator).
const (
	genInProcess = "gen"  // package gen, in this process
	genBots      = "bots" // arcade-bot processes
)

const (
	maxHeadsets = 4096 // the server's --max-clients limit
	botMaxProc  = 1024 // arcade-bot's --clients limit
)

var errUsage = errors.New("usage")

func parseRamp(s string) (from, to, by int, err error) {
	p := strings.Split(s, ":")
	if len(p) != 3 {
		return 0, 0, 0, fmt.Errorf("--ramp %q: want FROM:TO:BY", s)
	}
	v := make([]int, 3)
	for i, x := range p {
		if v[i], err = strconv.Atoi(x); err != nil {
			return 0, 0, 0, fmt.Errorf("--ramp %q: %q is not a number", s, x)
		}
	}
	from, to, by = v[0], v[1], v[2]
	if from < 0 || to < from || to > maxHeadsets || by < 1 {
		return 0, 0, 0, fmt.Errorf("--ramp %q: want 0 ≤ FROM ≤ TO ≤ %d and BY ≥ 1", s, maxHeadsets)
	}
	if (to-from)/by+1 > 200 {
		return 0, 0, 0, fmt.Errorf("--ramp %q: more than 200 steps", s)
	}
	return from, to, by, nil
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("arcade-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	ramp := fs.String("ramp", "0:512:64", "headset counts `FROM:TO:BY`")
	fs.DurationVar(&o.step, "step", 8*time.Second, "time per step once its headsets are connected: --settle then the measured window")
	fs.DurationVar(&o.settle, "settle", 1500*time.Millisecond, "wait this long after a step's headsets connected before measuring")
	fs.DurationVar(&o.hold, "hold", 0, "measured window per step (default --step minus --settle)")
	fs.IntVar(&o.perProc, "per-proc", 128, "headsets per arcade-bot process (1..256)")
	fs.IntVar(&o.maxAdd, "max-add", 128, "unused, kept for old command lines: every headset has an address of its own, so the per-address handshake limit no longer bounds a step")
	fs.IntVar(&o.nice, "nice", 10, "nice value of the bot processes (0..19)")
	fs.IntVar(&o.rate, "rate", 90, "poses per second per headset")
	fs.IntVar(&o.tickRate, "tick-rate", 120, "server tick rate (Hz)")
	fs.StringVar(&o.jsonFile, "json", "", "write the report as JSON to `FILE`")
	fs.StringVar(&o.svgFile, "svg", "", "write the plot as SVG to `FILE`")
	fs.StringVar(&o.serverBin, "server-bin", "", "arcade-server binary (default: build it)")
	fs.StringVar(&o.botBin, "bot-bin", "", "arcade-bot binary (default: build it)")
	fs.DurationVar(&o.maxTime, "max-time", 15*time.Minute, "stop the ramp after this long in all")
	fs.IntVar(&o.pastKnee, "past-knee", 2, "steps to run after the knee (-1: the whole ramp)")
	fs.DurationVar(&o.connectWait, "connect-wait", 10*time.Second, "longest to wait for a step's headsets to connect")
	fs.BoolVar(&o.quiet, "q", false, "no progress on stderr")
	fs.StringVar(&o.generator, "generator", genInProcess, "headsets simulated by `gen` (in this process: one unicast and one group socket for all, batched I/O) or bots (arcade-bot processes)")
	fs.IntVar(&o.connectRate, "connect-rate", 500, "handshakes started a second (gen)")
	fs.BoolVar(&o.pin, "pin", true, "given two CPUs or more: the server's tick thread on the first this process may use (--tick-cpu), the generator (this process and its bot processes) on the last; the kernel places the server's other threads")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write this process's CPU profile (the generator's, with gen) to `FILE`")
	fs.Func("server-arg", "pass `ARG` on to arcade-server after the rig's own flags (repeatable; e.g. --server-arg=--pprof)", func(a string) error {
		o.serverArgs = append(o.serverArgs, a)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if o.from, o.to, o.by, err = parseRamp(*ramp); err != nil {
		return nil, err
	}
	if o.hold == 0 {
		o.hold = o.step - o.settle
	}
	switch {
	case o.settle < 0 || o.settle > time.Minute:
		return nil, fmt.Errorf("--settle %v: want 0..1m", o.settle)
	case o.hold < 500*time.Millisecond || o.hold > 10*time.Minute:
		return nil, fmt.Errorf("measured window %v (--hold, or --step − --settle): want 0.5s..10m", o.hold)
	case o.perProc < 1 || o.perProc > 256:
		return nil, fmt.Errorf("--per-proc %d: want 1..256", o.perProc)
	case o.maxAdd < 1:
		return nil, fmt.Errorf("--max-add %d: want ≥ 1", o.maxAdd)
	case o.nice < 0 || o.nice > 19:
		return nil, fmt.Errorf("--nice %d: want 0..19", o.nice)
	case o.rate < 1 || o.rate > 1000:
		return nil, fmt.Errorf("--rate %d: want 1..1000", o.rate)
	case o.tickRate < 1 || o.tickRate > 1000:
		return nil, fmt.Errorf("--tick-rate %d: want 1..1000", o.tickRate)
	case o.maxTime <= 0 || o.maxTime > 2*time.Hour:
		return nil, fmt.Errorf("--max-time %v: want (0, 2h]", o.maxTime)
	case o.connectWait <= 0 || o.connectWait > time.Minute:
		return nil, fmt.Errorf("--connect-wait %v: want (0, 1m]", o.connectWait)
	case o.generator != genInProcess && o.generator != genBots:
		return nil, fmt.Errorf("--generator %q: want %s or %s", o.generator, genInProcess, genBots)
	case o.connectRate < 1 || o.connectRate > 1000:
		return nil, fmt.Errorf("--connect-rate %d: want 1..1000 (the server answers 2000 handshake datagrams a second)", o.connectRate)
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if err != errUsage {
			fmt.Fprintf(stderr, "arcade-load: %v\n", err)
		}
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "arcade-load: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "arcade-load: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := ramp(ctx, o, stderr)
	if rep != nil {
		printTable(stdout, rep)
		if o.jsonFile != "" {
			if werr := writeJSON(o.jsonFile, rep); werr != nil {
				fmt.Fprintf(stderr, "arcade-load: %v\n", werr)
				err = errors.Join(err, werr)
			}
		}
		if o.svgFile != "" {
			if werr := os.WriteFile(o.svgFile, []byte(plotSVG(rep)), 0o644); werr != nil {
				fmt.Fprintf(stderr, "arcade-load: %v\n", werr)
				err = errors.Join(err, werr)
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "arcade-load: %v\n", err)
		return 1
	}
	return 0
}

// rig is the server and the bots of a run.
type rig struct {
	o               *options
	server          *child
	bots            []*child
	botSize         []int
	api, metrics    string
	reset, token    string
	game            string
	serverArgv      []string
	logf            func(string, ...any)
	botBin          string
	deadlineForBots time.Time
	gen             *gen.Gen // --generator gen
}

// ramp runs the whole measurement. It returns what it measured even when it
// stops early with an error.
func ramp(ctx context.Context, o *options, stderr io.Writer) (*Report, error) {
	// Pdeathsig follows the thread that forks: every child is started
	// from this goroutine, kept on one thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := time.Now()
	deadline := start.Add(o.maxTime)
	logf := func(f string, a ...any) {
		if !o.quiet {
			fmt.Fprintf(stderr, "arcade-load: "+f+"\n", a...)
		}
	}
	if o.serverBin == "" || o.botBin == "" && o.generator == genBots {
		dir, err := os.MkdirTemp("", "arcade-load-bin-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		logf("building arcade-server and arcade-bot")
		if err := toolrun.Build(ctx, dir, "./cmd/arcade-server", "./tools/arcade-bot"); err != nil {
			return nil, err
		}
		if o.serverBin == "" {
			o.serverBin = dir + "/arcade-server"
		}
		if o.botBin == "" {
			o.botBin = dir + "/arcade-bot"
		}
	}
	allowed, err := allowedCPUs()
	if err != nil {
		return nil, err
	}
	o.placement = place(o.pin, allowed)
	r := &rig{o: o, logf: logf, botBin: o.botBin}
	defer r.stopAll()
	if err := r.startServer(ctx); err != nil {
		return nil, err
	}
	// After the server started (it must not inherit the generator's CPU):
	// this process, and every bot process it starts, on the generator's.
	if o.placement.Pinned {
		if err := pinSelf(o.placement.GenCPU); err != nil {
			return nil, err
		}
	}
	rep := &Report{
		TickRate: o.tickRate, Rate: o.rate, PerProc: o.perProc, Nice: o.nice, Generator: o.generator,
		SettleS: o.settle.Seconds(), HoldS: o.hold.Seconds(), CPUs: runtime.NumCPU(),
		ServerArgv: r.serverArgv, Started: start.UTC().Format(time.RFC3339), Placement: o.placement,
		SourceAddresses: "127.(10+p).0.0/16, one address each (arcade-bot process p)",
	}
	if o.generator == genInProcess {
		rep.PerProc = 0
		rep.SourceAddresses = fmt.Sprintf("%v upwards, one address each (gen.Addr)", gen.Addr(0))
		ap, err := netip.ParseAddrPort(r.game)
		if err != nil {
			return nil, err
		}
		g, err := gen.Start(gen.Config{Server: ap, Rate: o.rate, ConnectRate: o.connectRate})
		if err != nil {
			return nil, err
		}
		r.gen = g
		// This process is the generator: behind the server when they
		// compete for the CPU, as the bot processes are.
		if err := reniceSelf(o.nice); err != nil {
			logf("%v", err)
		}
	}
	// Bots are told to stream until the ramp could at most end, then are
	// stopped by SIGTERM; a bot outliving this process is killed by
	// Pdeathsig, one outliving that stops at its --duration.
	nsteps := (o.to-o.from)/o.by + 1
	perStep := o.connectWait + o.settle + o.hold + 5*time.Second
	r.deadlineForBots = start.Add(min(o.maxTime, time.Duration(nsteps)*perStep*2) + time.Minute)

	kneeAt := -1
	for n := o.from; n <= o.to; n += o.by {
		if err := ctx.Err(); err != nil {
			rep.Stopped = "interrupted"
			return finish(rep), err
		}
		if time.Now().Add(perStep).After(deadline) {
			rep.Stopped = fmt.Sprintf("--max-time %v would pass during the step of %d headsets", o.maxTime, n)
			break
		}
		st, err := r.step(ctx, n)
		if st != nil {
			rep.Steps = append(rep.Steps, *st)
			logf("%s", st.summary())
		}
		if err != nil {
			rep.Stopped = fmt.Sprintf("step of %d headsets: %v", n, err)
			return finish(rep), err
		}
		if st.Connected < n {
			rep.Stopped = fmt.Sprintf("%d of %d headsets connected", st.Connected, n)
			break
		}
		if kneeAt < 0 && len(st.Saturated) > 0 {
			kneeAt = len(rep.Steps) - 1
		}
		if kneeAt >= 0 && o.pastKnee >= 0 && len(rep.Steps)-1-kneeAt >= o.pastKnee {
			if n+o.by <= o.to {
				rep.Stopped = fmt.Sprintf("%d steps past the knee", o.pastKnee)
			}
			break
		}
	}
	if rep.Stopped == "" {
		rep.Stopped = "end of the ramp"
	}
	return finish(rep), nil
}

func (r *rig) startServer(ctx context.Context) error {
	game, err := toolrun.FreePort("udp")
	if err != nil {
		return err
	}
	httpPort, err := toolrun.FreePort("tcp")
	if err != nil {
		return err
	}
	groupPort, err := toolrun.FreePort("udp")
	if err != nil {
		return err
	}
	// A group of this run's own, so that concurrent runs on this host do
	// not hear each other's state.
	group := fmt.Sprintf("239.255.%d.%d:%d", 1+rand.IntN(254), 1+rand.IntN(254), groupPort)
	r.game = fmt.Sprintf("127.0.0.1:%d", game)
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	r.api, r.metrics, r.reset = base+"/api/stats", base+"/metrics", base+"/api/stats/reset"
	r.token = crand.Text()
	tokenFile, err := toolrun.WriteSecret("arcade-load-token-", r.token)
	if err != nil {
		return err
	}
	defer os.Remove(tokenFile) // read at start
	r.serverArgv = []string{r.o.serverBin, "--listen", r.game, "--http", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"--http-token-file", tokenFile, "--iface", "lo", "--multicast", group, "--discovery=false",
		"--tick-rate", strconv.Itoa(r.o.tickRate), "--max-clients", strconv.Itoa(max(r.o.to, 1))}
	if p := r.o.placement; p.Pinned {
		r.serverArgv = append(r.serverArgv, "--tick-cpu", strconv.Itoa(p.TickCPU))
	}
	r.serverArgv = append(r.serverArgv, r.o.serverArgs...)
	srv, err := startChild(r.serverArgv, 0)
	if err != nil {
		return fmt.Errorf("start arcade-server: %w", err)
	}
	r.server = srv
	go func() { // the server prints nothing on stdout worth keeping
		for range srv.lines {
		}
	}()
	for end := time.Now().Add(10 * time.Second); ; {
		if _, err := getJSON(r.api); err == nil {
			break
		} else if srv.exited() {
			return fmt.Errorf("arcade-server exited: %s", srv.stderr.Tail(6))
		} else if time.Now().After(end) {
			return fmt.Errorf("arcade-server did not answer %s: %w", r.api, err)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	r.logf("arcade-server on %s, group %s, operator API %s", r.game, group, base)
	return nil
}

// addBots starts bot processes (or grows the in-process generator) until
// n headsets are asked for.
func (r *rig) addBots(n int) error {
	if r.gen != nil {
		err := r.gen.SetHeadsets(n)
		if rerr := reniceSelf(r.o.nice); rerr != nil && err == nil {
			err = rerr
		}
		if p := r.o.placement; p.Pinned && err == nil {
			err = pinSelf(p.GenCPU) // threads the runtime started since
		}
		return err
	}
	have := 0
	for _, s := range r.botSize {
		have += s
	}
	for have < n {
		k := min(r.o.perProc, n-have)
		// A running bot cannot take more headsets: a new process takes
		// the step's, up to --per-proc each.
		dur := time.Until(r.deadlineForBots).Round(time.Second)
		// Each process's headsets take addresses of their own, 127.(10+p).x.y,
		// as a venue's headsets each have one: the server limits
		// handshakes per source address.
		src := fmt.Sprintf("127.%d.0.0/16", 10+len(r.bots))
		argv := []string{r.botBin, "--server", r.game, "--clients", strconv.Itoa(k), "--rate", strconv.Itoa(r.o.rate),
			"--duration", dur.String(), "--iface", "lo", "--json", "--interval-reports", "--source-net", src}
		c, err := startChild(argv, r.o.nice)
		if err != nil {
			return fmt.Errorf("start arcade-bot: %w", err)
		}
		r.bots = append(r.bots, c)
		r.botSize = append(r.botSize, k)
		have += k
	}
	return nil
}

func (r *rig) stopAll() {
	if r.gen != nil {
		r.gen.Close()
	}
	// The bots first (they tell the server they leave), all at once.
	for _, b := range r.bots {
		if !b.exited() {
			b.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, b := range r.bots {
		go func() {
			for range b.lines {
			}
		}()
		b.stop(15 * time.Second)
	}
	if r.server != nil {
		r.server.stop(10 * time.Second)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
