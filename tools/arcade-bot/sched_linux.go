//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// allowedCPUs returns the CPUs the process may run on now, in increasing
// order.
func allowedCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("sched_getaffinity: %w", err)
	}
	var cpus []int
	for c := range maxCPU {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// pinThreads restricts every thread of the process to cpus
// (sched_setaffinity per thread: the mask is a thread's, and threads
// started later inherit their creator's).
func pinThreads(cpus []int) error {
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	return eachThread(func(tid int) error { return unix.SchedSetaffinity(tid, &set) })
}

// setNice sets the nice value of every thread of the process to n (on
// Linux a thread's own, inherited by the threads it starts).
func setNice(n int) error {
	err := eachThread(func(tid int) error { return unix.Setpriority(unix.PRIO_PROCESS, tid, n) })
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
		return fmt.Errorf("%w (a nice value below the current one needs CAP_SYS_NICE or RLIMIT_NICE)", err)
	}
	return err
}

// currentNice returns the calling thread's nice value.
func currentNice() (int, error) {
	// The raw system call returns 20 - nice, never negative.
	p, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	if err != nil {
		return 0, fmt.Errorf("getpriority: %w", err)
	}
	return 20 - p, nil
}

// eachThread calls fn for every thread of the process, listing
// /proc/self/task again until a pass finds no thread it has not done, so
// that threads the runtime starts meanwhile are covered too. A thread that
// exited in between is skipped.
func eachThread(fn func(tid int) error) error {
	done := map[int]bool{}
	for {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		fresh := false
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || done[tid] {
				continue
			}
			fresh = true
			done[tid] = true
			if err := fn(tid); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("thread %d: %w", tid, err)
			}
		}
		if !fresh {
			return nil
		}
	}
}
