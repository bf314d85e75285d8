//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// schedHelperEnv makes the test binary, run again by
// TestSchedEveryThread, apply the flags it holds and report its threads.
const schedHelperEnv = "ARCADE_BOT_SCHED_HELPER"

// threadSched is one thread's affinity and nice value, from /proc.
type threadSched struct {
	TID  int    `json:"tid"`
	CPUs string `json:"cpus"` // Cpus_allowed_list
	Nice int    `json:"nice"`
}

type schedHelperOut struct {
	Err        string        `json:"err,omitempty"`
	CPUs       []int         `json:"cpus"`
	Nice       int           `json:"nice"`
	GOMAXPROCS int           `json:"gomaxprocs"`
	Threads    []threadSched `json:"threads"`
}

// schedHelper applies the flags, starts threads of its own afterwards, and
// writes what every thread of the process ended up with.
func schedHelper(w io.Writer, args []string) {
	var out schedHelperOut
	defer func() { json.NewEncoder(w).Encode(out) }()
	o, err := parseFlags(args, io.Discard)
	if err != nil {
		out.Err = err.Error()
		return
	}
	a, err := applySched(o)
	if err != nil {
		out.Err = err.Error()
		return
	}
	out.CPUs, out.Nice, out.GOMAXPROCS = a.cpus, a.nice, a.gomaxprocs
	// Threads started after the pinning inherit it.
	stop := make(chan struct{})
	defer close(stop)
	started := make(chan struct{})
	for range 3 {
		go func() {
			runtime.LockOSThread()
			started <- struct{}{}
			<-stop
		}()
	}
	for range 3 {
		<-started
	}
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		out.Err = err.Error()
		return
	}
	for _, e := range ents {
		tid, _ := strconv.Atoi(e.Name())
		ts := threadSched{TID: tid, Nice: 99}
		if status, err := os.ReadFile("/proc/self/task/" + e.Name() + "/status"); err == nil {
			for line := range strings.SplitSeq(string(status), "\n") {
				if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
					ts.CPUs = strings.TrimSpace(v)
				}
			}
		}
		if stat, err := os.ReadFile("/proc/self/task/" + e.Name() + "/stat"); err == nil {
			// Fields after the command name in parentheses, from field
			// 3 (state); nice is field 19.
			if i := bytes.LastIndexByte(stat, ')'); i >= 0 {
				if f := strings.Fields(string(stat[i+1:])); len(f) > 16 {
					ts.Nice, _ = strconv.Atoi(f[16])
				}
			}
		}
		out.Threads = append(out.Threads, ts)
	}
}

// TestSchedEveryThread runs the test binary again with --cpu and --nice
// (so that this process keeps its own scheduling): every thread of that
// process, those started after the flags were applied included, is pinned
// to the CPU and has the nice value, and it reports them.
func TestSchedEveryThread(t *testing.T) {
	if args := os.Getenv(schedHelperEnv); args != "" {
		schedHelper(os.Stdout, strings.Fields(args))
		return
	}
	cpu := anyCPU(t)
	cur, err := currentNice()
	if err != nil {
		t.Skip(err)
	}
	nice := min(cur+1, 19) // raising the nice value needs no privilege
	cmd := exec.Command(os.Args[0], "-test.run=^TestSchedEveryThread$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=--cpu %d --nice %d", schedHelperEnv, cpu, nice))
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, raw)
	}
	// The helper's report is the first line; the test framework's PASS
	// follows.
	line, _, _ := bytes.Cut(raw, []byte("\n"))
	var out schedHelperOut
	if err := json.Unmarshal(line, &out); err != nil {
		t.Fatalf("helper output %q: %v", raw, err)
	}
	if out.Err != "" {
		t.Fatalf("helper: %s", out.Err)
	}
	if len(out.CPUs) != 1 || out.CPUs[0] != cpu || out.Nice != nice || out.GOMAXPROCS != 1 {
		t.Errorf("applied CPUs %v nice %d GOMAXPROCS %d, want [%d], %d, 1", out.CPUs, out.Nice, out.GOMAXPROCS, cpu, nice)
	}
	if len(out.Threads) < 4 {
		t.Errorf("only %d threads listed", len(out.Threads))
	}
	for _, th := range out.Threads {
		if th.CPUs != strconv.Itoa(cpu) || th.Nice != nice {
			t.Errorf("thread %d: CPUs %q nice %d, want %d and %d", th.TID, th.CPUs, th.Nice, cpu, nice)
		}
	}
}
