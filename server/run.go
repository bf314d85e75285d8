package server

import (
	"context"
	"errors"
	"runtime"
	"runtime/trace"
	"strconv"

	"github.com/arcadexr/arcade/tick"
)

// Loop is Run's real-time loop, for its wake and spin figures; nil before
// Run starts it.
func (s *Server) Loop() *tick.Loop { return s.loop.Load() }

// RealtimeErr reports why Run could not raise its thread to real-time
// priority or pin it, or nil. Valid once Started has been called.
func (s *Server) RealtimeErr() error { return s.realtimeErr }

// TraceTickCategory is the category of the runtime/trace log event Run
// writes, while a runtime trace is being taken, as each tick starts: its
// message is how late the tick started after its deadline, in ns, so that
// the trace places the deadline (the event's time less that) among the
// tick thread's syscalls, the garbage collector's pauses and the rest.
const TraceTickCategory = "arcade.tick"

// Run drives s on a real socket until ctx is done: tick's real-time loop
// (one locked OS thread in epoll on the socket and an absolute-deadline
// timerfd) calls Step when a datagram arrives and when Step said it next
// has something due. While headsets are connected, the loop meets each
// tick's deadline by waking early, by the lateness it has seen of its own
// wakes (at most Config.SpinMax), and spinning the rest while it polls the
// socket. fd is the transport's socket. On return every client has been
// told the server is shutting down.
func (s *Server) Run(ctx context.Context, fd int) error {
	if s.warm {
		return errors.New("server: a server made with Standby runs only after TakeOver")
	}
	lc := tick.LoopConfig{SpinMax: s.cfg.SpinMax, Yield: runtime.Gosched}
	if s.cfg.NoTickYield {
		lc.Yield = nil
	}
	loop, err := tick.NewLoop(lc)
	if err != nil {
		return err
	}
	s.loop.Store(loop)
	tc := tick.ThreadConfig{Priority: s.cfg.RealtimePriority, CPU: -1}
	if s.cfg.PinTick {
		tc.CPU = s.cfg.TickCPU
	}
	err = tick.RunRealtime(ctx, loop, tc, []int{fd}, func(setupErr error) {
		s.realtimeErr = setupErr
		if s.Started != nil {
			s.Started()
		}
	}, s.LoopStep(ctx, loop))
	if !s.SteppedDown() {
		s.Shutdown(tick.Now())
	}
	return err
}

// LoopStep returns the step Run gives its real-time loop l: Step at every
// wake, with l's latest wait handed to the count of missed ticks (a
// deadline the thread slept through, its wake-up late, is not counted as
// Arcade's), asking l to spin only for a tick someone waits on. A runtime
// trace (ctx's) gets a log event as each tick starts.
func (s *Server) LoopStep(ctx context.Context, l *tick.Loop) tick.StepFunc {
	return func(now int64, _ uint64) (int64, bool) {
		if trace.IsEnabled() {
			if late := now - s.sched.Next(); late >= 0 {
				// A tick starts in this step: how late (after the
				// deadline it serves, as Fire will count it), for a
				// runtime trace to be set against (tools/ticktrace).
				trace.Log(ctx, TraceTickCategory, strconv.FormatInt(late%s.sched.Period, 10))
			}
		}
		s.waitArmed, s.waitWoke = l.LastWait()
		next := s.Step(now)
		return next, next == s.sched.Next() && s.Busy()
	}
}
