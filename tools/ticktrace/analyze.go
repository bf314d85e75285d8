package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/exp/trace"
)

// tickCategory is server.TraceTickCategory: the log event the server's
// tick thread writes, while a trace is taken, as each tick starts, with
// the tick's lateness in ns.
const tickCategory = "arcade.tick"

// Where the tick goroutine was between a tick's deadline and its start.
// Each is someone's: the host's (the kernel had not woken the thread),
// Arcade's (the thread was busy with its own work, or blocked in a send
// or receive), the Go runtime's (the thread was awake but waited for a
// P, or was stopped for the garbage collector).
const (
	inEpoll        = iota // in epoll_wait: the host had not woken it (host)
	inOtherSyscall        // in another system call (send, receive): Arcade's I/O
	running               // running: the step before the tick was still at work (Arcade)
	pLost                 // out of a system call whose P was taken, waiting for one (runtime: sysmon hand-off, STW)
	preempted             // runnable after a preemption or yield (runtime)
	waiting               // blocked on a lock or channel (Arcade)
	numWhere
)

var whereNames = [numWhere]string{
	inEpoll:        "in epoll_wait (host wake-up)",
	inOtherSyscall: "in another syscall (Arcade I/O)",
	running:        "running (Arcade's work)",
	pLost:          "P lost in syscall, waiting (runtime)",
	preempted:      "preempted, runnable (runtime)",
	waiting:        "blocked (Arcade)",
}

// segment is a stretch of the tick goroutine's timeline in one place.
type segment struct {
	start, end trace.Time
	where      int
}

// span is a stretch of time (a STW pause, a GC cycle).
type span struct{ start, end trace.Time }

// tickRec is one tick as the trace saw it: its deadline and start, in
// trace time.
type tickRec struct {
	deadline, start trace.Time
	late            int64 // ns, as the server measured it
	where           [numWhere]int64
	stw, gc         int64 // ns of the window under a STW pause, a GC cycle
}

// syscallStats are one goroutine's (or the process's) syscall returns.
type syscallStats struct {
	Syscalls int `json:"syscalls"`
	// Kept: returned with the P held; Lost: the P had been taken
	// (GoSyscallEndBlocked, after a ProcSteal or a STW).
	Kept int `json:"p_kept"`
	Lost int `json:"p_lost"`
	// LostWait is, for each Lost return, the time from the syscall's end
	// to the goroutine running again (ns).
	LostWait []int64 `json:"-"`
}

func (s *syscallStats) add(o *syscallStats) {
	s.Syscalls += o.Syscalls
	s.Kept += o.Kept
	s.Lost += o.Lost
	s.LostWait = append(s.LostWait, o.LostWait...)
}

// analysis is what one trace says about the tick goroutine.
type analysis struct {
	TickG      trace.GoID
	Found      string // how the tick goroutine was recognised
	DurationNS int64
	Tick       syscallStats
	Process    syscallStats // every goroutine, the tick's included
	ProcSteals int
	Ticks      []tickRec
	STW        []span
	STWReasons map[string]int
	GC         []span
}

// goTrack is what the analysis keeps per goroutine while it reads.
type goTrack struct {
	state      trace.GoState
	since      trace.Time
	where      int
	lostSince  trace.Time // > 0: out of a syscall with the P lost, since
	syscallBeg trace.Time
	stats      syscallStats
}

// findTickG returns the goroutine that wrote the tick log events, or else
// the one whose system calls are made under tick.(*Loop).Run.
func findTickG(data []byte) (trace.GoID, string, error) {
	r, err := trace.NewReader(bytes.NewReader(data))
	if err != nil {
		return 0, "", err
	}
	var byStack trace.GoID = trace.NoGoroutine
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, "", err
		}
		switch ev.Kind() {
		case trace.EventLog:
			if ev.Log().Category == tickCategory {
				return ev.Goroutine(), "wrote the " + tickCategory + " log events", nil
			}
		case trace.EventStateTransition:
			st := ev.StateTransition()
			if byStack != trace.NoGoroutine || st.Resource.Kind != trace.ResourceGoroutine {
				continue
			}
			if _, to := st.Goroutine(); to == trace.GoSyscall && stackHas(ev.Stack(), "tick.(*Loop).Run") {
				byStack = st.Resource.Goroutine()
			}
		}
	}
	if byStack != trace.NoGoroutine {
		return byStack, "made its syscalls under tick.(*Loop).Run (no tick log events: the server predates them)", nil
	}
	return 0, "", errors.New("no goroutine wrote " + tickCategory + " log events or made syscalls under tick.(*Loop).Run")
}

func stackHas(s trace.Stack, fn string) bool {
	for f := range s.Frames() {
		if strings.Contains(f.Func, fn) {
			return true
		}
	}
	return false
}

// analyze reads a runtime trace (Go 1.22 format or later) of an
// arcade-server.
func analyze(data []byte) (*analysis, error) {
	g, found, err := findTickG(data)
	if err != nil {
		return nil, err
	}
	r, err := trace.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	a := &analysis{TickG: g, Found: found, STWReasons: map[string]int{}}
	gs := map[trace.GoID]*goTrack{}
	var segs []segment
	type rangeKey struct {
		name  string
		scope trace.ResourceID
	}
	open := map[rangeKey]trace.Time{}
	var first, last trace.Time
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		t := ev.Time()
		if first == 0 {
			first = t
		}
		last = t
		switch ev.Kind() {
		case trace.EventLog:
			l := ev.Log()
			if l.Category != tickCategory || ev.Goroutine() != g {
				continue
			}
			late, err := strconv.ParseInt(l.Message, 10, 64)
			if err != nil {
				continue
			}
			a.Ticks = append(a.Ticks, tickRec{deadline: t - trace.Time(max(late, 0)), start: t, late: late})
		case trace.EventRangeBegin, trace.EventRangeActive:
			rg := ev.Range()
			open[rangeKey{rg.Name, rg.Scope}] = t
		case trace.EventRangeEnd:
			rg := ev.Range()
			k := rangeKey{rg.Name, rg.Scope}
			beg, ok := open[k]
			if !ok {
				beg = first
			}
			delete(open, k)
			switch {
			case strings.HasPrefix(rg.Name, "stop-the-world"):
				a.STW = append(a.STW, span{beg, t})
				a.STWReasons[strings.TrimSuffix(strings.TrimPrefix(rg.Name, "stop-the-world ("), ")")]++
			case rg.Name == "GC concurrent mark phase":
				a.GC = append(a.GC, span{beg, t})
			}
		case trace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind == trace.ResourceProc {
				if from, to := st.Proc(); from == trace.ProcRunning && to == trace.ProcIdle && st.Resource.Proc() != ev.Proc() {
					a.ProcSteals++
				}
				continue
			}
			if st.Resource.Kind != trace.ResourceGoroutine {
				continue
			}
			id := st.Resource.Goroutine()
			gt := gs[id]
			if gt == nil {
				gt = &goTrack{since: t, where: -1}
				gs[id] = gt
			}
			from, to := st.Goroutine()
			if id == g && gt.where >= 0 && t > gt.since {
				segs = append(segs, segment{gt.since, t, gt.where})
			}
			switch {
			case from == trace.GoSyscall && to == trace.GoRunning:
				gt.stats.Syscalls++
				gt.stats.Kept++
			case from == trace.GoSyscall && to == trace.GoRunnable:
				gt.stats.Syscalls++
				gt.stats.Lost++
				gt.lostSince = t
			case from == trace.GoRunnable && to == trace.GoRunning && gt.lostSince != 0:
				gt.stats.LostWait = append(gt.stats.LostWait, int64(t-gt.lostSince))
			}
			switch to {
			case trace.GoSyscall:
				gt.where = inOtherSyscall
				if id == g && (stackHas(ev.Stack(), "EpollWait") || stackHas(ev.Stack(), "epollWait")) {
					gt.where = inEpoll
				}
				gt.syscallBeg = t
			case trace.GoRunning:
				gt.where = running
				gt.lostSince = 0
			case trace.GoRunnable:
				gt.where = preempted
				if from == trace.GoSyscall {
					gt.where = pLost
				}
			case trace.GoWaiting:
				gt.where = waiting
			default:
				gt.where = -1
			}
			gt.state, gt.since = to, t
		}
	}
	a.DurationNS = int64(last - first)
	if gt := gs[g]; gt != nil {
		a.Tick = gt.stats
		if gt.where >= 0 && last > gt.since {
			segs = append(segs, segment{gt.since, last, gt.where})
		}
	}
	for _, gt := range gs {
		a.Process.add(&gt.stats)
	}
	// Where the tick goroutine was over each tick's window.
	for i := range a.Ticks {
		tk := &a.Ticks[i]
		j, _ := slices.BinarySearchFunc(segs, tk.deadline, func(s segment, t trace.Time) int {
			if s.end <= t {
				return -1
			}
			return 1
		})
		for ; j < len(segs) && segs[j].start < tk.start; j++ {
			tk.where[segs[j].where] += overlap(segs[j].start, segs[j].end, tk.deadline, tk.start)
		}
		for _, s := range a.STW {
			tk.stw += overlap(s.start, s.end, tk.deadline, tk.start)
		}
		for _, s := range a.GC {
			tk.gc += overlap(s.start, s.end, tk.deadline, tk.start)
		}
	}
	return a, nil
}

func overlap(a0, a1, b0, b1 trace.Time) int64 {
	lo, hi := max(a0, b0), min(a1, b1)
	if hi <= lo {
		return 0
	}
	return int64(hi - lo)
}

// quantile is the nearest-rank q-quantile of v (sorted in place); 0 for
// none.
func quantile(v []int64, q float64) int64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	i := int(q*float64(len(v))+0.999999) - 1
	return v[min(max(i, 0), len(v)-1)]
}

func spanLens(s []span) []int64 {
	out := make([]int64, len(s))
	for i, x := range s {
		out[i] = int64(x.end - x.start)
	}
	return out
}

// tail is what the ticks at or past the p99 lateness were made of.
type tail struct {
	P99Late int64 // ns, of the ticks in the trace
	N       int
	Late    int64 // summed lateness of those ticks
	Where   [numWhere]int64
	STW, GC int64
	// Without: the ticks' lateness p99 with the P-lost waits (the sysmon
	// hand-off's and the STW's) taken out of each tick, as if they had not
	// happened.
	P99WithoutPLost int64
	P99WithoutSTW   int64
}

func (a *analysis) tail() tail {
	var t tail
	if len(a.Ticks) == 0 {
		return t
	}
	late := make([]int64, len(a.Ticks))
	noLost := make([]int64, len(a.Ticks))
	noSTW := make([]int64, len(a.Ticks))
	for i, tk := range a.Ticks {
		late[i] = tk.late
		noLost[i] = tk.late - tk.where[pLost]
		noSTW[i] = tk.late - tk.stw
	}
	t.P99Late = quantile(late, 0.99)
	t.P99WithoutPLost = quantile(noLost, 0.99)
	t.P99WithoutSTW = quantile(noSTW, 0.99)
	for _, tk := range a.Ticks {
		if tk.late < t.P99Late {
			continue
		}
		t.N++
		t.Late += tk.late
		for k := range numWhere {
			t.Where[k] += tk.where[k]
		}
		t.STW += tk.stw
		t.GC += tk.gc
	}
	return t
}

func us(ns int64) string { return fmt.Sprintf("%.1f", float64(ns)/1e3) }
