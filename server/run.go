package server

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"

	"arcade/tick"
)

const schedFIFO = 1 // SCHED_FIFO from <sched.h>

// reliableRetry is the least wait before the timer fires again for a
// reliable deadline that is already due.
const reliableRetry = 200_000 // ns

// RealtimeErr reports why Run could not raise its thread to real-time
// priority, or nil. Valid once Started has been called.
func (s *Server) RealtimeErr() error { return s.realtimeErr }

// Run drives s on a real socket until ctx is done: one locked OS thread waits
// in epoll on the socket and an absolute-deadline timerfd. A datagram is
// handled the moment it arrives; a deadline runs the tick pipeline at once.
// The timer is armed for the earlier of the next tick and the next reliable
// deadline of any session (a resend, a delayed acknowledgement), so a
// resend is never held up until the next tick.
// fd is the transport's socket. On return every client has been told the
// server is shutting down.
func (s *Server) Run(ctx context.Context, fd int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if p := s.cfg.RealtimePriority; p > 0 {
		attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: schedFIFO, Priority: uint32(p)}
		if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
			s.realtimeErr = fmt.Errorf("SCHED_FIFO priority %d: %w", p, err)
		} else {
			// Back to normal scheduling before the thread returns to the
			// runtime's pool.
			defer func() {
				normal := unix.SchedAttr{Size: unix.SizeofSchedAttr}
				unix.SchedSetAttr(0, &normal, 0)
			}()
		}
	}
	if s.Started != nil {
		s.Started()
	}

	timer, err := tick.NewTimer()
	if err != nil {
		return fmt.Errorf("server: timerfd: %w", err)
	}
	defer timer.Close()
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("server: epoll: %w", err)
	}
	defer unix.Close(ep)
	stopFd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("server: eventfd: %w", err)
	}
	defer unix.Close(stopFd)
	for _, f := range []int{timer.Fd(), fd, stopFd} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(f)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, f, &ev); err != nil {
			return fmt.Errorf("server: epoll add: %w", err)
		}
	}

	// The watcher turns ctx cancellation into a wake-up of the loop; it ends
	// when either side is done.
	done := make(chan struct{})
	watcherDone := make(chan struct{})
	go func() {
		defer close(watcherDone)
		select {
		case <-ctx.Done():
			var one = [8]byte{1}
			unix.Write(stopFd, one[:])
		case <-done:
		}
	}()
	defer func() { close(done); <-watcherDone }()

	sched := tick.NewSchedule(s.cfg.Period(), tick.Now())
	lead := tick.Lead{Max: max(0, int64(s.cfg.SpinMax))}
	armedFor := sched.Next() - lead.Lead()
	if err := timer.Arm(armedFor); err != nil {
		return fmt.Errorf("server: arm timer: %w", err)
	}
	var events [4]unix.EpollEvent
	for {
		n, err := unix.EpollWait(ep, events[:], -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("server: epoll wait: %w", err)
		}
		var timerReady, sockReady, stop bool
		for _, ev := range events[:n] {
			switch int(ev.Fd) {
			case timer.Fd():
				timerReady = true
			case fd:
				sockReady = true
			case stopFd:
				stop = true
			}
		}
		if stop {
			s.Shutdown(tick.Now())
			return nil
		}
		if timerReady {
			timer.Consume()
			now := tick.Now()
			lead.Observe(now - armedFor)
			if d := sched.Next(); now < d && d-now <= lead.Lead() {
				// Spin to the deadline, but keep serving the socket:
				// a pose arriving now must not wait for the tick.
				woke := now
				for now < d {
					s.Receive(now)
					now = tick.Now()
				}
				s.stats.TickSpin.Record(now - woke)
			}
			if now >= sched.Next() {
				deadline, tickNo, missed := sched.Fire(now)
				s.stats.TickLateness.Record(now - deadline)
				if missed > 0 {
					s.stats.MissedTicks.Add(missed)
				}
				s.Tick(now, tickNo)
			} else {
				s.Service(now) // woken for a reliable deadline
			}
			armedFor = 0 // consumed: arm again below
		}
		if sockReady {
			s.Receive(tick.Now())
		}
		// A reliable deadline already due (the endpoint could not send
		// yet) is retried a little later rather than in a busy loop.
		want := sched.Next() - lead.Lead()
		if r := s.NextReliable(); r < want {
			want = max(r, tick.Now()+reliableRetry)
		}
		if want != armedFor {
			armedFor = want
			if err := timer.Arm(armedFor); err != nil {
				return fmt.Errorf("server: arm timer: %w", err)
			}
		}
	}
}
