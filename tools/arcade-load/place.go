package main

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// placement is where the rig runs the server's tick thread and the
// generator. On loopback the sender of a datagram pays for its delivery
// (the kernel runs the receive path in the sending thread), so a
// generator sharing a CPU with the tick thread is preempted by it (the
// tick thread runs at a real-time priority and spins before each
// deadline) and sends a fraction of its inputs, and the tick thread
// waits behind the generator's system calls. One CPU each keeps both
// measurable.
type placement struct {
	Pinned  bool   `json:"pinned"`
	TickCPU int    `json:"tick_cpu"`      // the server's --tick-cpu; -1 unpinned
	GenCPU  int    `json:"generator_cpu"` // this process and its bot processes; -1 unpinned
	Why     string `json:"why,omitempty"` // why not pinned
}

// place picks the placement for the CPUs this process may run on.
func place(pin bool, allowed []int) placement {
	switch {
	case !pin:
		return placement{TickCPU: -1, GenCPU: -1, Why: "--pin=false"}
	case len(allowed) < 2:
		return placement{TickCPU: -1, GenCPU: -1, Why: fmt.Sprintf("%d CPU allowed", len(allowed))}
	}
	return placement{Pinned: true, TickCPU: allowed[0], GenCPU: allowed[len(allowed)-1]}
}

func (p placement) String() string {
	if !p.Pinned {
		return "not pinned (" + p.Why + ")"
	}
	return fmt.Sprintf("server's tick thread on CPU %d (--tick-cpu), generator on CPU %d", p.TickCPU, p.GenCPU)
}

// allowedCPUs lists the CPUs this process may run on, in order.
func allowedCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("sched_getaffinity: %w", err)
	}
	var out []int
	for c := 0; c < len(set)*64; c++ {
		if set.IsSet(c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// pinSelf confines every thread of this process to cpu. Threads started
// later inherit it, and so do the processes they start.
func pinSelf(cpu int) error {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("pin: %w", err)
	}
	var set unix.CPUSet
	set.Set(cpu)
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
			return fmt.Errorf("pin thread %d to CPU %d: %w", tid, cpu, err)
		}
	}
	return nil
}
