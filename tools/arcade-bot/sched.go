package main

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
)

// schedApplied is what --cpu and --nice put in effect, for the report.
type schedApplied struct {
	cpus       []int // nil: not pinned
	nice       int   // in effect, set or not
	gomaxprocs int
}

// applySched pins the process's threads to o.cpus and sets their nice
// value, as the flags ask; errors name the flag.
func applySched(o *options) (schedApplied, error) {
	var a schedApplied
	if o.cpus != nil {
		if err := pinThreads(o.cpus); err != nil {
			return a, fmt.Errorf("--cpu %s: %w", formatCPUList(o.cpus), err)
		}
		// More Ps than CPUs would only make the runtime's threads take
		// turns on them.
		if len(o.cpus) < runtime.GOMAXPROCS(0) {
			runtime.GOMAXPROCS(len(o.cpus))
		}
		a.cpus = o.cpus
	}
	if o.niceSet {
		if err := setNice(o.nice); err != nil {
			return a, fmt.Errorf("--nice %d: %w", o.nice, err)
		}
	}
	if n, err := currentNice(); err == nil {
		a.nice = n
	}
	a.gomaxprocs = runtime.GOMAXPROCS(0)
	return a, nil
}

// fill puts a in r.
func (a schedApplied) fill(r *Report) {
	r.PinnedCPUs, r.Nice, r.GOMAXPROCS = a.cpus, a.nice, a.gomaxprocs
}

// maxCPU bounds the CPU numbers --cpu accepts (CPU_SETSIZE).
const maxCPU = 1024

// parseCPUList parses a CPU list as taskset and /sys write them: numbers
// and ranges separated by commas ("1", "0,2", "0-3,6"). It returns the CPUs
// in increasing order, each once.
func parseCPUList(s string) ([]int, error) {
	if s == "" {
		return nil, fmt.Errorf("empty CPU list")
	}
	var set [maxCPU]bool
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := cpuNumber(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = cpuNumber(hi); err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("range %q runs backwards", part)
			}
		}
		for c := a; c <= b; c++ {
			set[c] = true
		}
	}
	var cpus []int
	for c, on := range set {
		if on {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

func cpuNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n >= maxCPU || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("%q is not a CPU number (0..%d)", s, maxCPU-1)
	}
	return n, nil
}

// formatCPUList writes cpus (increasing) back as a list with ranges.
func formatCPUList(cpus []int) string {
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(cpus[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(cpus[j]))
		}
		i = j + 1
	}
	return b.String()
}
