//go:build linux

package tick

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// EpollWaiter is the real Waiter: epoll on the caller's descriptors, a
// timerfd and an eventfd that Stop writes. It is used by one goroutine,
// but Stop may be called from any.
type EpollWaiter struct {
	ep, stopFd int
	timer      *Timer
	fds        []int
	armed      int64
	events     [8]unix.EpollEvent
}

// NewEpollWaiter returns a Waiter on fds (at most 64; bit i of a Wake's
// Ready is fds[i]), which stay owned by the caller. Close releases it.
func NewEpollWaiter(fds ...int) (*EpollWaiter, error) {
	if len(fds) > 64 {
		return nil, fmt.Errorf("tick: NewEpollWaiter: %d descriptors, at most 64", len(fds))
	}
	w := &EpollWaiter{ep: -1, stopFd: -1, fds: append([]int(nil), fds...)}
	var err error
	if w.timer, err = NewTimer(); err != nil {
		return nil, err
	}
	if w.ep, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		w.Close()
		return nil, fmt.Errorf("tick: epoll_create1: %w", err)
	}
	if w.stopFd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		w.Close()
		return nil, fmt.Errorf("tick: eventfd: %w", err)
	}
	// The epoll data is the index: 0..63 the caller's descriptors, then
	// the timer and the stop eventfd.
	add := func(fd int, data int32) error {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: data}
		if err := unix.EpollCtl(w.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return fmt.Errorf("tick: epoll_ctl add %d: %w", fd, err)
		}
		return nil
	}
	for i, fd := range w.fds {
		if err := add(fd, int32(i)); err != nil {
			w.Close()
			return nil, err
		}
	}
	if err := add(w.timer.Fd(), idxTimer); err != nil {
		w.Close()
		return nil, err
	}
	if err := add(w.stopFd, idxStop); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

const (
	idxTimer = 64
	idxStop  = 65
)

// Now is the package clock, Now.
func (w *EpollWaiter) Now() int64 { return Now() }

// Wait implements Waiter.
func (w *EpollWaiter) Wait(deadline int64) (Wake, error) {
	if deadline != w.armed {
		w.armed = deadline
		var err error
		if deadline == Never {
			err = w.timer.Disarm()
		} else {
			err = w.timer.Arm(deadline)
		}
		if err != nil {
			return Wake{}, err
		}
	}
	return w.wait(-1)
}

// Poll implements Waiter.
func (w *EpollWaiter) Poll() (Wake, error) { return w.wait(0) }

func (w *EpollWaiter) wait(ms int) (Wake, error) {
	for {
		var n int
		var err error
		if ms == 0 {
			// A poll never blocks: a raw call, so that the loop's
			// goroutine keeps its P through the spin's polls (see
			// udp.Conn.ReadBatch). A wait that may block is an ordinary
			// call: the P is the runtime's while the thread sleeps.
			r, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(w.ep),
				uintptr(unsafe.Pointer(&w.events[0])), uintptr(len(w.events)), 0, 0, 0)
			if n = int(r); errno != 0 {
				n, err = 0, errno
			}
		} else {
			n, err = unix.EpollWait(w.ep, w.events[:], ms)
		}
		if errors.Is(err, unix.EINTR) {
			if ms == 0 {
				return Wake{}, nil
			}
			continue
		}
		if err != nil {
			return Wake{}, fmt.Errorf("tick: epoll_wait: %w", err)
		}
		var wk Wake
		for _, ev := range w.events[:n] {
			switch i := ev.Fd; {
			case i == idxStop:
				wk.Stop = true
			case i == idxTimer:
				if k, err := w.timer.Consume(); err != nil {
					return Wake{}, err
				} else if k > 0 {
					wk.Timer = true
					w.armed = 0 // expired: a Wait for the same deadline re-arms
				}
			case i >= 0 && i < 64:
				wk.Ready |= 1 << uint(i)
			}
		}
		if n == 0 || wk != (Wake{}) {
			return wk, nil
		}
		// Only a timer whose expiry another read consumed: wait on.
	}
}

// Stop makes the waiter's next or current Wait report Stop. Safe from any
// goroutine, any number of times.
func (w *EpollWaiter) Stop() {
	one := [8]byte{1}
	unix.Write(w.stopFd, one[:])
}

// Close releases the epoll set, the timer and the eventfd (not the
// caller's descriptors).
func (w *EpollWaiter) Close() error {
	if w.timer != nil {
		w.timer.Close()
	}
	if w.ep >= 0 {
		unix.Close(w.ep)
	}
	if w.stopFd >= 0 {
		unix.Close(w.stopFd)
	}
	return nil
}

// ThreadConfig is how a real-time loop's thread is set up.
type ThreadConfig struct {
	// Priority, when 1..99, runs the thread under SCHED_FIFO at that
	// priority so that other processes cannot delay it; 0 leaves normal
	// scheduling.
	Priority int
	// CPU, when 0 or more, pins the thread to that CPU; negative leaves it
	// free.
	CPU int
}

// RunRealtime runs l with step on the calling goroutine, locked to its OS
// thread and set up as tc says, waiting on fds, until ctx is done (then it
// returns nil) or the loop fails. started, if not nil, is called once the
// thread is set up, with the reason the priority or the CPU could not be
// had (nil if both were), before the first step; the loop runs regardless.
// The thread returns to normal scheduling and any CPU before it goes back
// to the runtime.
func RunRealtime(ctx context.Context, l *Loop, tc ThreadConfig, fds []int, started func(setupErr error), step StepFunc) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	restore, setupErr := setupThread(tc)
	defer restore()
	w, err := NewEpollWaiter(fds...)
	if err != nil {
		return err
	}
	defer w.Close()
	done := make(chan struct{})
	watcherDone := make(chan struct{})
	go func() {
		defer close(watcherDone)
		select {
		case <-ctx.Done():
			w.Stop()
		case <-done:
		}
	}()
	defer func() { close(done); <-watcherDone }()
	if started != nil {
		started(setupErr)
	}
	if err := l.Run(w, step); err != ErrStopped {
		return err
	}
	return nil
}

// ErrOneCPU says why a real-time priority is refused: the process may run
// on one CPU only.
var ErrOneCPU = errors.New("the process may run on one CPU only; there a SCHED_FIFO thread can livelock with the Go runtime's own threads (it spins waiting for a garbage-collector stack scan that a normal-priority thread on the same CPU never gets to finish) until the kernel's real-time throttling cuts in, about a second later")

// RealtimeSafe reports whether the calling thread may take a SCHED_FIFO
// priority without risking that livelock: nil if its CPU affinity allows
// two CPUs or more, ErrOneCPU if one (taskset -c N, a one-CPU machine).
func RealtimeSafe() error {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return fmt.Errorf("CPU affinity: %w", err)
	}
	if set.Count() < 2 {
		return ErrOneCPU
	}
	return nil
}

// setupThread applies tc to the calling (locked) thread and returns a
// function that undoes what was applied, and why part of it was refused.
func setupThread(tc ThreadConfig) (func(), error) {
	var errs []error
	var undo []func()
	if p := tc.Priority; p > 0 {
		if err := RealtimeSafe(); err != nil {
			errs = append(errs, fmt.Errorf("SCHED_FIFO priority %d not taken: %w", p, err))
			p = 0
		}
		tc.Priority = p
	}
	if p := tc.Priority; p > 0 {
		attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(p)}
		if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
			errs = append(errs, fmt.Errorf("SCHED_FIFO priority %d: %w", p, err))
		} else {
			undo = append(undo, func() {
				normal := unix.SchedAttr{Size: unix.SizeofSchedAttr}
				unix.SchedSetAttr(0, &normal, 0)
			})
		}
	}
	if tc.CPU >= 0 {
		var old, set unix.CPUSet
		if err := unix.SchedGetaffinity(0, &old); err != nil {
			errs = append(errs, fmt.Errorf("CPU affinity: %w", err))
		} else {
			set.Set(tc.CPU)
			if err := unix.SchedSetaffinity(0, &set); err != nil {
				errs = append(errs, fmt.Errorf("pin to CPU %d: %w", tc.CPU, err))
			} else {
				undo = append(undo, func() { unix.SchedSetaffinity(0, &old) })
			}
		}
	}
	return func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}, errors.Join(errs...)
}
