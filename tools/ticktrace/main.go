// Command ticktrace takes a Go runtime trace of arcade-server under load on
// loopback and says what the tick thread's tail is made of: for each
// --headsets count it starts the server with --pprof (its tick thread at
// SCHED_FIFO, as deployed) and arcade-bot --grab at 90 Hz, lets the bots
// warm up, resets the server's figures, takes /debug/pprof/trace for
// --seconds and reads /api/stats for the same window.
//
//	ticktrace [--headsets 16,64] [--seconds 5] [--warmup 2s]
//	          [--server-bin FILE --bot-bin FILE] [--keep DIR] [--server-args "--tick-spin 0"]
//	ticktrace --read FILE   (a trace taken elsewhere: a server under arcade-load with --pprof)
//
// From the trace (golang.org/x/exp/trace), of the goroutine that runs
// tick.(*Loop).Run (it writes a log event as each tick starts, with the
// tick's lateness; see server.TraceTickCategory):
//
//   - its syscall returns (the tick loop's calls that cannot block are raw
//     system calls, which keep the P and leave no event: what is counted
//     is its blocking waits and the rest of the process's calls): how
//     many found their P taken (sysmon's hand-off after a syscall of
//     20 µs or more when its P had other work, or a stop-the-world) and, for those, the wait from the syscall's end to
//     the goroutine running again (p50/p99/max); the same for every
//     goroutine of the process;
//   - the garbage collector's cycles and stop-the-world pauses, and the
//     ticks whose window (deadline → start) they overlap;
//   - for the ticks at or past the trace's lateness p99, where the
//     goroutine was over their windows: in epoll_wait (the kernel had not
//     woken it: the host's), in another syscall or running (Arcade's),
//     out of a syscall waiting for a P or preempted (the Go runtime's);
//     and what the p99 would be with the P-lost waits, or the STW
//     pauses, taken out.
//
// The bots are pinned to the second allowed CPU and niced +10 when taskset
// and nice exist (as tools/latency does); the server is left free. Every
// run is bounded in time; the command stops by itself.
package main

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
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

type options struct {
	headsets   []int
	seconds    int
	warmup     time.Duration
	serverBin  string
	botBin     string
	keep       string
	serverArgs []string
	serverEnv  []string
	read       string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("ticktrace", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	headsets := fs.String("headsets", "16,64", "comma-separated headset `counts`, one run each")
	fs.IntVar(&o.seconds, "seconds", 5, "length of each trace (1..60 s)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "bots stream this long before the trace")
	fs.StringVar(&o.serverBin, "server-bin", "", "arcade-server `binary` (default: build ./cmd/arcade-server)")
	fs.StringVar(&o.botBin, "bot-bin", "", "arcade-bot `binary` (default: build ./tools/arcade-bot)")
	fs.StringVar(&o.keep, "keep", "", "write each trace to `dir`/ticktrace-<headsets>.trace (read with go tool trace)")
	extra := fs.String("server-args", "", "extra arcade-server `flags`, space-separated (e.g. \"--tick-spin 0\")")
	fs.StringVar(&o.read, "read", "", "analyse this runtime trace `file` (e.g. GET /debug/pprof/trace of a server under arcade-load) instead of running one")
	env := fs.String("server-env", "", "extra environment of arcade-server, space-separated `NAME=value`s (e.g. \"GOMAXPROCS=4\")")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, f := range strings.Split(*headsets, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1024 {
			return nil, fmt.Errorf("--headsets: %q is not a count 1..1024", f)
		}
		o.headsets = append(o.headsets, n)
	}
	if o.seconds < 1 || o.seconds > 60 {
		return nil, fmt.Errorf("--seconds: %d is out of range 1..60", o.seconds)
	}
	if o.warmup < 0 || o.warmup > time.Minute {
		return nil, fmt.Errorf("--warmup: %v is out of range 0..1m", o.warmup)
	}
	if o.keep != "" {
		if fi, err := os.Stat(o.keep); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("--keep: %s is not a directory", o.keep)
		}
	}
	o.serverArgs = strings.Fields(*extra)
	for _, kv := range strings.Fields(*env) {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("--server-env: %q is not NAME=value", kv)
		}
		o.serverEnv = append(o.serverEnv, kv)
	}
	return &o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "ticktrace: %v\n", err)
		return 2
	}
	if o.read != "" {
		return readTrace(o.read, stdout, stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "ticktrace: "+format+"\n", args...) }
	if o.serverBin == "" || o.botBin == "" {
		dir, err := os.MkdirTemp("", "arcade-ticktrace-")
		if err != nil {
			logf("%v", err)
			return 1
		}
		defer os.RemoveAll(dir)
		logf("building ./cmd/arcade-server ./tools/arcade-bot")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator), "./cmd/arcade-server", "./tools/arcade-bot")
		if b, err := cmd.CombinedOutput(); err != nil {
			logf("go build: %v\n%s", err, b)
			return 1
		}
		if o.serverBin == "" {
			o.serverBin = filepath.Join(dir, "arcade-server")
		}
		if o.botBin == "" {
			o.botBin = filepath.Join(dir, "arcade-bot")
		}
	}
	pl := place()
	logf("%s", pl.describe())
	status := 0
	for _, h := range o.headsets {
		if ctx.Err() != nil {
			return 1
		}
		logf("%d headsets: %v warm-up, then a %d s trace", h, o.warmup, o.seconds)
		r, err := measure(ctx, o, pl, h, logf)
		if err != nil {
			logf("%d headsets: %v", h, err)
			status = 1
			continue
		}
		printRun(stdout, r)
	}
	return status
}

// readTrace analyses a trace taken elsewhere; the server's figures over
// it are not known, and are printed as zero.
func readTrace(file string, stdout, stderr io.Writer) int {
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "ticktrace: %v\n", err)
		return 1
	}
	a, err := analyze(data)
	if err != nil {
		fmt.Fprintf(stderr, "ticktrace: %s: %v\n", file, err)
		return 1
	}
	fmt.Fprintf(stdout, "ticktrace: %s (the server's /api/stats over it are not known: read as 0)\n", file)
	printRun(stdout, &result{serverArgv: []string{"arcade-server"}, a: a, traceBytes: len(data)})
	return 0
}

// result is one run's trace analysis and the server's figures over it.
type result struct {
	headsets   int
	serverArgv []string
	serverEnv  []string
	ticks      uint64 // over the trace, from /api/stats
	a          *analysis
	stats      serverStats
	traceBytes int
	apiOK      int // /api/stats answers during the trace
	apiTries   int
	apiMaxMS   float64
}

// serverStats is the part of /api/stats read here.
type serverStats struct {
	Clients      int     `json:"clients"`
	Ticks        uint64  `json:"ticks"`
	MissedTicks  uint64  `json:"missed_ticks"`
	TickLateness quant   `json:"tick_lateness_us"`
	HostTimer    quant   `json:"host_timer_lateness_us"`
	TimerWake    quant   `json:"timer_wake_late_us"`
	TickSpin     quant   `json:"tick_spin_us"`
	ServerAdded  quant   `json:"server_added_latency_us"`
	StealPct     float64 `json:"cpu_steal_pct"`
	LateHost     uint64  `json:"ticks_late_host"`
	LateArcade   uint64  `json:"ticks_late_arcade"`
	LateUnknown  uint64  `json:"ticks_late_unknown"`
}

type quant struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

var httpClient = &http.Client{Timeout: 2 * time.Second}

func measure(ctx context.Context, o *options, pl placement, headsets int, logf func(string, ...any)) (*result, error) {
	// Pdeathsig follows the thread that forks: keep this goroutine on one
	// while the children run.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	game, err := toolrun.FreePort("udp")
	if err != nil {
		return nil, err
	}
	httpPort, err := toolrun.FreePort("tcp")
	if err != nil {
		return nil, err
	}
	groupPort, err := toolrun.FreePort("udp")
	if err != nil {
		return nil, err
	}
	group := fmt.Sprintf("239.255.%d.%d:%d", 1+rand.IntN(254), 1+rand.IntN(254), groupPort)
	gameAddr := fmt.Sprintf("127.0.0.1:%d", game)
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	token := crand.Text()
	tf, err := os.CreateTemp("", "arcade-ticktrace-token-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tf.Name())
	if _, err := tf.WriteString(token + "\n"); err != nil {
		tf.Close()
		return nil, err
	}
	tf.Close()

	sargs := []string{o.serverBin, "--listen", gameAddr, "--http", fmt.Sprintf("127.0.0.1:%d", httpPort), "--http-token-file", tf.Name(),
		"--iface", "lo", "--multicast", group, "--discovery=false", "--pprof", "--max-clients", strconv.Itoa(max(64, headsets))}
	sargs = append(sargs, o.serverArgs...)
	botFor := o.warmup + time.Duration(o.seconds)*time.Second + 10*time.Second
	bargs := pl.botCmd([]string{o.botBin, "--server", gameAddr, "--clients", strconv.Itoa(headsets),
		"--rate", "90", "--duration", botFor.String(), "--warmup", "0s", "--iface", "lo", "--grab", "--json"})
	r := &result{headsets: headsets, serverArgv: sargs, serverEnv: o.serverEnv}

	srv, err := start(sargs, o.serverEnv...)
	if err != nil {
		return nil, fmt.Errorf("start arcade-server: %w", err)
	}
	defer srv.stop()
	st, err := waitStats(ctx, base, srv, 10*time.Second, func(*serverStats) bool { return true })
	if err != nil {
		return nil, fmt.Errorf("arcade-server did not answer: %w (%s)", err, srv.stderr.String())
	}
	bot, err := start(bargs)
	if err != nil {
		return nil, fmt.Errorf("start arcade-bot: %w", err)
	}
	defer bot.stop()
	want := st.Clients + headsets
	if _, err := waitStats(ctx, base, srv, 8*time.Second, func(s *serverStats) bool { return s.Clients >= want }); err != nil {
		return nil, fmt.Errorf("the bots did not all connect: %w", err)
	}
	select {
	case <-time.After(o.warmup):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/stats/reset", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := httpClient.Do(req); err != nil {
		return nil, err
	} else if resp.Body.Close(); resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("POST /api/stats/reset: %s", resp.Status)
	}
	stStart, err := getStats(base)
	if err != nil {
		return nil, err
	}
	// The trace, and /api/stats asked every 100 ms meanwhile: the API must
	// answer under load.
	done := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			t0 := time.Now()
			_, err := getStats(base)
			r.apiTries++
			if err == nil {
				r.apiOK++
				r.apiMaxMS = max(r.apiMaxMS, float64(time.Since(t0).Microseconds())/1e3)
			}
		}
	}()
	tc := &http.Client{Timeout: time.Duration(o.seconds+10) * time.Second}
	resp, err := tc.Get(fmt.Sprintf("%s/debug/pprof/trace?seconds=%d", base, o.seconds))
	if err != nil {
		close(done)
		<-polled
		return nil, fmt.Errorf("GET /debug/pprof/trace: %w", err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	close(done)
	<-polled
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /debug/pprof/trace: %s: %s", resp.Status, data)
	}
	stEnd, err := getStats(base)
	if err != nil {
		return nil, err
	}
	r.stats = *stEnd
	r.ticks = stEnd.Ticks - stStart.Ticks
	r.traceBytes = len(data)
	if o.keep != "" {
		p := filepath.Join(o.keep, fmt.Sprintf("ticktrace-%d.trace", headsets))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return nil, err
		}
		logf("trace written to %s", p)
	}
	if r.a, err = analyze(data); err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	return r, nil
}

func getStats(base string) (*serverStats, error) {
	resp, err := httpClient.Get(base + "/api/stats")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/stats: %s", resp.Status)
	}
	var s serverStats
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&s); err != nil {
		return nil, err
	}
	return &s, nil
}

// waitStats polls /api/stats until ok says so, the server exits or d passes.
func waitStats(ctx context.Context, base string, p *proc, d time.Duration, ok func(*serverStats) bool) (*serverStats, error) {
	end := time.Now().Add(d)
	for {
		s, err := getStats(base)
		if err == nil && ok(s) {
			return s, nil
		}
		if p.exited() {
			return nil, errors.New("arcade-server exited")
		}
		if time.Now().After(end) {
			if err == nil {
				err = fmt.Errorf("not within %v", d)
			}
			return nil, err
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// proc is a child process; its stderr is kept (the first 64 KiB).
type proc struct {
	cmd    *exec.Cmd
	stderr limited
	done   chan struct{}
}

type limited struct{ b []byte }

func (l *limited) Write(p []byte) (int, error) {
	if room := 64<<10 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

func (l *limited) String() string { return strings.TrimSpace(string(l.b)) }

func start(argv []string, env ...string) (*proc, error) {
	p := &proc{cmd: exec.Command(argv[0], argv[1:]...), done: make(chan struct{})}
	if len(env) > 0 {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stderr = &p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to 10 s, then kills.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// placement: the bots on the second allowed CPU, niced, when taskset and
// nice exist and two CPUs are allowed; the server free.
type placement struct {
	taskset, nice string
	botCPU        int
	why           string
}

func place() placement {
	p := placement{botCPU: -1}
	var set unix.CPUSet
	var cpus []int
	if err := unix.SchedGetaffinity(0, &set); err == nil {
		for c := range 1024 {
			if set.IsSet(c) {
				cpus = append(cpus, c)
			}
		}
	}
	if ts, err := exec.LookPath("taskset"); err != nil {
		p.why = "no taskset"
	} else if len(cpus) < 2 {
		p.why = fmt.Sprintf("%d CPU allowed", len(cpus))
	} else {
		p.taskset, p.botCPU = ts, cpus[1]
	}
	p.nice, _ = exec.LookPath("nice")
	return p
}

func (p placement) botCmd(argv []string) []string {
	if p.nice != "" {
		argv = append([]string{p.nice, "-n", "10"}, argv...)
	}
	if p.taskset != "" {
		argv = append([]string{p.taskset, "-c", strconv.Itoa(p.botCPU)}, argv...)
	}
	return argv
}

func (p placement) describe() string {
	s := fmt.Sprintf("%d CPUs; ", runtime.NumCPU())
	if p.taskset != "" {
		s += fmt.Sprintf("arcade-bot on CPU %d", p.botCPU)
	} else {
		s += "arcade-bot not pinned (" + p.why + ")"
	}
	if p.nice != "" {
		s += ", niced +10"
	}
	return s + "; arcade-server free, its tick thread SCHED_FIFO 10 (its default)"
}

func printRun(w io.Writer, r *result) {
	a := r.a
	fmt.Fprintf(w, "\n== %d headsets: %s\n", r.headsets, strings.Join(append(r.serverEnv, r.serverArgv[1:]...), " "))
	fmt.Fprintf(w, "trace %.2f s, %d KiB; tick goroutine g%d (%s)\n", float64(a.DurationNS)/1e9, r.traceBytes>>10, a.TickG, a.Found)
	fmt.Fprintf(w, "operator API during the trace: %d of %d GET /api/stats answered, slowest %.1f ms\n", r.apiOK, r.apiTries, r.apiMaxMS)

	fmt.Fprintf(w, "\nsyscall returns            %10s %10s %10s %12s %12s %12s\n", "syscalls", "P kept", "P lost", "wait p50 µs", "wait p99 µs", "wait max µs")
	for _, row := range []struct {
		name string
		s    *syscallStats
	}{{"tick goroutine", &a.Tick}, {"whole process", &a.Process}} {
		fmt.Fprintf(w, "  %-24s %10d %10d %10d %12s %12s %12s\n", row.name, row.s.Syscalls, row.s.Kept, row.s.Lost,
			us(quantile(row.s.LostWait, 0.5)), us(quantile(row.s.LostWait, 0.99)), us(quantile(row.s.LostWait, 1)))
	}
	fmt.Fprintf(w, "  ProcSteal events (a P taken from a thread in a syscall): %d\n", a.ProcSteals)

	stw := spanLens(a.STW)
	gc := spanLens(a.GC)
	var stwTicks, gcTicks int
	for _, tk := range a.Ticks {
		if tk.stw > 0 {
			stwTicks++
		}
		if tk.gc > 0 {
			gcTicks++
		}
	}
	reasons := make([]string, 0, len(a.STWReasons))
	for k, v := range a.STWReasons {
		reasons = append(reasons, fmt.Sprintf("%s ×%d", k, v))
	}
	fmt.Fprintf(w, "\nGC: %d cycles (mark phase p50 %s µs, max %s µs); STW: %d pauses, p50 %s µs, max %s µs [%s]\n",
		len(gc), us(quantile(gc, 0.5)), us(quantile(gc, 1)), len(stw), us(quantile(stw, 0.5)), us(quantile(stw, 1)), strings.Join(reasons, ", "))
	fmt.Fprintf(w, "ticks in the trace: %d; whose window (deadline → start) a STW pause overlaps: %d, a GC cycle: %d\n", len(a.Ticks), stwTicks, gcTicks)

	t := a.tail()
	late := make([]int64, len(a.Ticks))
	for i, tk := range a.Ticks {
		late[i] = tk.late
	}
	st := r.stats
	fmt.Fprintf(w, "\ntick lateness µs            %10s %10s %10s\n", "p50", "p99", "max")
	fmt.Fprintf(w, "  %-25s %10s %10s %10s\n", "in the trace", us(quantile(late, 0.5)), us(t.P99Late), us(quantile(late, 1)))
	fmt.Fprintf(w, "  %-25s %10.1f %10.1f %10.1f  (%d ticks, %d missed)\n", "/api/stats, same window", st.TickLateness.P50, st.TickLateness.P99, st.TickLateness.Max, r.ticks, st.MissedTicks)
	fmt.Fprintf(w, "  %-25s %10.1f %10.1f %10.1f  (steal %.1f%%)\n", "host probe (timerfd loop)", st.HostTimer.P50, st.HostTimer.P99, st.HostTimer.Max, st.StealPct)
	fmt.Fprintf(w, "  %-25s %10.1f %10.1f %10.1f\n", "tick timer wake late", st.TimerWake.P50, st.TimerWake.P99, st.TimerWake.Max)
	fmt.Fprintf(w, "  late ticks: host %d, Arcade %d, unknown %d\n", st.LateHost, st.LateArcade, st.LateUnknown)

	if t.N == 0 || t.Late == 0 {
		fmt.Fprintf(w, "\nno late ticks in the trace\n")
		return
	}
	fmt.Fprintf(w, "\nthe %d ticks at or past the trace's p99 (%s µs), %s µs late in all; where the tick goroutine was:\n", t.N, us(t.P99Late), us(t.Late))
	for k := range numWhere {
		fmt.Fprintf(w, "  %-40s %10s µs %5.1f%%\n", whereNames[k], us(t.Where[k]), 100*float64(t.Where[k])/float64(t.Late))
	}
	fmt.Fprintf(w, "  %-40s %10s µs %5.1f%%\n", "(of the window: under a STW pause)", us(t.STW), 100*float64(t.STW)/float64(t.Late))
	fmt.Fprintf(w, "  %-40s %10s µs %5.1f%%\n", "(of the window: during a GC cycle)", us(t.GC), 100*float64(t.GC)/float64(t.Late))
	fmt.Fprintf(w, "lateness p99 %s µs; without the P-lost waits %s µs; without the STW pauses %s µs\n", us(t.P99Late), us(t.P99WithoutPLost), us(t.P99WithoutSTW))
}
