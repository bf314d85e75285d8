package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// cpuTimes is one cpu line of /proc/stat, in clock ticks.
type cpuTimes struct {
	Total uint64 // user + nice + system + idle + iowait + irq + softirq + steal
	Steal uint64
}

// parseProcStat reads the cpu lines of /proc/stat text: "cpu" (all CPUs)
// and "cpu0", "cpu1", ... Guest time is left out of the total: the kernel
// already counts it in user and nice. A kernel too old to report steal
// (fewer than 8 fields) counts it as 0.
func parseProcStat(text string) (map[string]cpuTimes, error) {
	out := map[string]cpuTimes{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		if len(f) < 5 {
			return nil, fmt.Errorf("/proc/stat: %q: too few fields", sc.Text())
		}
		var t cpuTimes
		for i, s := range f[1:min(len(f), 9)] {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("/proc/stat: %s field %d: %q is not a count", f[0], i+1, s)
			}
			t.Total += v
			if i == 7 {
				t.Steal = v
			}
		}
		out[f[0]] = t
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if _, ok := out["cpu"]; !ok {
		return nil, fmt.Errorf("/proc/stat: no aggregate cpu line")
	}
	return out, nil
}

func readProcStat() (map[string]cpuTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, err
	}
	return parseProcStat(string(b))
}

// stealPct is the share of CPU time stolen by the hypervisor between two
// readings of one cpu line, in percent; nil when no time passed.
func stealPct(a, b cpuTimes) *float64 {
	if b.Total <= a.Total || b.Steal < a.Steal {
		return nil
	}
	p := 100 * float64(b.Steal-a.Steal) / float64(b.Total-a.Total)
	return &p
}

// Steal is the CPU steal over one measurement, from /proc/stat.
type Steal struct {
	AllPct *float64            `json:"all_cpus_pct"`
	PerCPU map[string]*float64 `json:"per_cpu_pct,omitempty"`
	Error  string              `json:"error,omitempty"`
}

// stealWatch reads /proc/stat now; its done method reads it again and
// returns the steal in between.
type stealWatch struct {
	start map[string]cpuTimes
	err   error
}

func watchSteal() *stealWatch {
	s, err := readProcStat()
	return &stealWatch{start: s, err: err}
}

func (w *stealWatch) done() Steal {
	if w.err != nil {
		return Steal{Error: w.err.Error()}
	}
	end, err := readProcStat()
	if err != nil {
		return Steal{Error: err.Error()}
	}
	return stealBetween(w.start, end)
}

func stealBetween(a, b map[string]cpuTimes) Steal {
	s := Steal{AllPct: stealPct(a["cpu"], b["cpu"]), PerCPU: map[string]*float64{}}
	for name, t := range b {
		if name == "cpu" {
			continue
		}
		if t0, ok := a[name]; ok {
			s.PerCPU[name] = stealPct(t0, t)
		}
	}
	return s
}

// Placement is where the measured processes and threads run.
type Placement struct {
	CPUsOnline  int   `json:"cpus_online"`
	CPUsAllowed []int `json:"cpus_allowed"`
	Pinned      bool  `json:"pinned"`
	// ServerPinned: arcade-server, all its threads, is confined to
	// ServerCPU (with Pinned, unless --pin-server=false).
	ServerPinned bool `json:"server_pinned"`
	// TickCPU is the CPU the server was asked to pin its tick thread to
	// with --tick-cpu when the server itself is not pinned (-1: not).
	TickCPU   int    `json:"server_tick_cpu"`
	Taskset   string `json:"taskset,omitempty"`
	ServerCPU int    `json:"server_cpu"` // -1: not pinned
	BotCPU    int    `json:"client_cpu"` // -1: not pinned
	Nice      string `json:"nice,omitempty"`
	Niced     bool   `json:"bot_niced"`
	NiceN     int    `json:"bot_nice_increment"`
	NiceWhy   string `json:"why_not_niced,omitempty"`
	Why       string `json:"why_not_pinned,omitempty"`
}

// place decides the placement: the server (and the in-process threads that
// stand for it) on the first allowed CPU and the bots on the second, when
// taskset exists and at least two CPUs are allowed; the bots niced by
// niceN (0: not) when nice exists. pin false keeps everything unpinned;
// pinServer false leaves arcade-server free while the rest is pinned.
func place(pin, pinServer bool, niceN int) Placement {
	p := Placement{CPUsOnline: runtime.NumCPU(), ServerCPU: -1, BotCPU: -1, TickCPU: -1}
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err == nil {
		for c := range 1024 {
			if set.IsSet(c) {
				p.CPUsAllowed = append(p.CPUsAllowed, c)
			}
		}
	}
	ts, tsErr := exec.LookPath("taskset")
	switch {
	case !pin:
		p.Why = "--pin=false"
	case tsErr != nil:
		p.Why = "no taskset in PATH"
	case len(p.CPUsAllowed) < 2:
		p.Why = fmt.Sprintf("%d CPU allowed", len(p.CPUsAllowed))
	default:
		p.Pinned, p.Taskset, p.ServerPinned = true, ts, pinServer
		p.ServerCPU, p.BotCPU = p.CPUsAllowed[0], p.CPUsAllowed[1]
	}
	n, err := exec.LookPath("nice")
	switch {
	case niceN == 0:
		p.NiceWhy = "--bot-nice 0"
	case err != nil:
		p.NiceWhy = "no nice in PATH"
	default:
		p.Nice, p.Niced, p.NiceN = n, true, niceN
	}
	return p
}

// serverCmd and botCmd prefix a command line with the placement's taskset
// and nice.
func (p Placement) serverCmd(argv []string) []string {
	if !p.ServerPinned {
		return argv
	}
	return append([]string{p.Taskset, "-c", strconv.Itoa(p.ServerCPU)}, argv...)
}

func (p Placement) botCmd(argv []string) []string {
	if p.Niced {
		argv = append([]string{p.Nice, "-n", strconv.Itoa(p.NiceN)}, argv...)
	}
	if p.Pinned {
		argv = append([]string{p.Taskset, "-c", strconv.Itoa(p.BotCPU)}, argv...)
	}
	return argv
}

func (p Placement) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d CPUs online, %d allowed %v; ", p.CPUsOnline, len(p.CPUsAllowed), p.CPUsAllowed)
	switch {
	case p.ServerPinned:
		fmt.Fprintf(&b, "pinned: arcade-server, echo server and reference loop on CPU %d, arcade-bot and echo client on CPU %d (taskset -c)", p.ServerCPU, p.BotCPU)
	case p.Pinned:
		fmt.Fprintf(&b, "pinned: echo server and reference loop on CPU %d, arcade-bot and echo client on CPU %d (taskset -c); arcade-server not pinned (--pin-server=false)", p.ServerCPU, p.BotCPU)
		if p.TickCPU >= 0 {
			fmt.Fprintf(&b, ", its tick thread on CPU %d (--tick-cpu)", p.TickCPU)
		}
	default:
		fmt.Fprintf(&b, "not pinned (%s)", p.Why)
	}
	if p.Niced {
		fmt.Fprintf(&b, "; arcade-bot niced +%d", p.NiceN)
	} else {
		fmt.Fprintf(&b, "; arcade-bot not niced (%s)", p.NiceWhy)
	}
	return b.String()
}

// RTThrottle is the kernel's real-time bandwidth limit: SCHED_FIFO threads
// on a CPU may run RuntimeUS of every PeriodUS (-1: no limit). A
// real-time thread that cannot sleep stops for good only after RuntimeUS.
type RTThrottle struct {
	RuntimeUS int64  `json:"sched_rt_runtime_us"`
	PeriodUS  int64  `json:"sched_rt_period_us"`
	Error     string `json:"error,omitempty"`
}

func readRTThrottle() RTThrottle {
	var t RTThrottle
	for _, f := range []struct {
		path string
		dst  *int64
	}{{"/proc/sys/kernel/sched_rt_runtime_us", &t.RuntimeUS}, {"/proc/sys/kernel/sched_rt_period_us", &t.PeriodUS}} {
		b, err := os.ReadFile(f.path)
		if err == nil {
			*f.dst, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		}
		if err != nil {
			t.Error = err.Error()
		}
	}
	return t
}

// Thread is what a measuring thread got of what it asked for.
type Thread struct {
	FIFOPriority int    `json:"sched_fifo_priority"` // 0: normal scheduling
	FIFOError    string `json:"sched_fifo_error,omitempty"`
	CPU          int    `json:"cpu"` // -1: not pinned
	PinError     string `json:"pin_error,omitempty"`
}

const schedFIFO = 1 // SCHED_FIFO from <sched.h>

// setupThread locks the calling goroutine to its OS thread for good (the
// thread ends with the goroutine, so its priority and affinity never go
// back to the runtime's pool), then asks for SCHED_FIFO prio (0: none) and
// CPU cpu (-1: none). What it could not get is reported, not fatal.
func setupThread(prio, cpu int) Thread {
	runtime.LockOSThread()
	t := Thread{CPU: -1}
	if prio > 0 {
		attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: schedFIFO, Priority: uint32(prio)}
		if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
			t.FIFOError = fmt.Sprintf("SCHED_FIFO priority %d: %v; normal scheduling", prio, err)
		} else {
			t.FIFOPriority = prio
		}
	}
	if cpu >= 0 {
		var set unix.CPUSet
		set.Set(cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			t.PinError = fmt.Sprintf("CPU %d: %v", cpu, err)
		} else {
			t.CPU = cpu
		}
	}
	return t
}

func (t Thread) describe() string {
	var parts []string
	if t.FIFOPriority > 0 {
		parts = append(parts, fmt.Sprintf("SCHED_FIFO %d", t.FIFOPriority))
	} else if t.FIFOError != "" {
		parts = append(parts, "normal scheduling ("+t.FIFOError+")")
	} else {
		parts = append(parts, "normal scheduling")
	}
	if t.CPU >= 0 {
		parts = append(parts, fmt.Sprintf("CPU %d", t.CPU))
	} else if t.PinError != "" {
		parts = append(parts, "unpinned ("+t.PinError+")")
	}
	return strings.Join(parts, ", ")
}
