package tick

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/arcadexr/arcade/internal/metrics"
)

// Wake says what ended one wait of a real-time loop.
type Wake struct {
	Timer bool   // the armed deadline passed
	Ready uint64 // bit i: the loop's descriptor i is readable
	Stop  bool   // the loop was asked to stop
}

// Waiter is what a real-time loop waits on: a monotonic clock (ns, the
// clock of Now), a one-shot absolute timer and the descriptors it serves.
// The real one is epoll on a timerfd (NewEpollWaiter); tests use one on
// virtual time.
type Waiter interface {
	Now() int64
	// Wait blocks until deadline has passed (Never: no deadline), a
	// descriptor is readable or the loop is asked to stop, and says which.
	Wait(deadline int64) (Wake, error)
	// Poll says, without blocking, which descriptors are readable.
	Poll() (Wake, error)
}

// StepFunc is the work of a real-time loop. It is called with the current
// time whenever the loop wakes (ready says which descriptors are readable)
// and returns when it next has something due (Never if nothing); spin asks the loop to meet
// that deadline by waking early and spinning the last stretch, because
// something is waiting on it (connected headsets, frames to release).
type StepFunc func(now int64, ready uint64) (next int64, spin bool)

// LoopConfig configures a Loop. The zero value means: no spinning.
type LoopConfig struct {
	// SpinMax caps how early the loop's timer may fire before a deadline
	// so that the last stretch can be spun: the lead adapts to the
	// lateness of the loop's own timer wakes (see Lead), so the CPU spent
	// is what the host needs, at most SpinMax per deadline. 0 or negative:
	// never spin.
	SpinMax time.Duration
	// PollEvery is how often a spin polls the descriptors, so that a
	// datagram arriving during the spin is served within PollEvery
	// without a system call per spin iteration. Default 20 µs.
	PollEvery time.Duration
	// Yield, if set, is called after the step that met a deadline the
	// loop spins for, when the next such deadline is at least YieldSlack
	// away: the loop's chosen moment to pass through the Go scheduler
	// (runtime.Gosched). A goroutine locked to its thread that only ever
	// leaves Go code for system calls never starts a new scheduling
	// slice, so the runtime's monitor preempts it, or takes its P in a
	// system call, once it has run 10 ms on one slice (forcePreemptNS in
	// runtime/proc.go) — at a moment of the monitor's choosing, often the
	// spin just before a deadline, and handing a locked thread its P back
	// takes two thread wake-ups. Passing through the scheduler just after
	// a tick, a whole tick before the next deadline, starts a new slice
	// when nothing waits on the loop, so the monitor never has to.
	Yield func()
	// YieldSlack is how far the next deadline must be for Yield to be
	// called. Default 2 ms.
	YieldSlack time.Duration
}

// Never is a deadline that never comes: a step with nothing due returns it.
const Never = math.MaxInt64

// DefaultPollEvery is LoopConfig.PollEvery's default.
const DefaultPollEvery = 20 * time.Microsecond

// DefaultYieldSlack is LoopConfig.YieldSlack's default.
const DefaultYieldSlack = 2 * time.Millisecond

// Validate reports the first invalid field.
func (c *LoopConfig) Validate() error {
	if c.PollEvery < 0 {
		return fmt.Errorf("tick: LoopConfig.PollEvery %v is negative", c.PollEvery)
	}
	if c.YieldSlack < 0 {
		return fmt.Errorf("tick: LoopConfig.YieldSlack %v is negative", c.YieldSlack)
	}
	return nil
}

// Loop is Arcade's one real-time event loop, shared by the server's tick
// thread and the lab relay: wait for the earliest of a deadline and the
// descriptors, call the step, repeat. For a deadline the step wants met
// (spin), the timer is armed early by the lead the loop has learnt from
// its own wakes and the rest is spun, polling the descriptors at most every
// PollEvery so that arrivals are still served at once. Its decisions
// depend only on the Waiter's clock, so they run the same on virtual time.
//
// The histograms may be read from any goroutine while the loop runs.
type Loop struct {
	cfg  LoopConfig
	lead Lead
	// WakeLate is how late timer wakes were after the instant the timer
	// was armed for (ns): the host's wake-up lateness as this loop sees it.
	WakeLate metrics.Histogram
	// Spin is the time spun per spun deadline (ns); Polls counts the
	// descriptor polls made while spinning.
	Spin  metrics.Histogram
	Polls metrics.Counter
	// Yield is the time each call of LoopConfig.Yield took (ns).
	Yield metrics.Histogram

	// The latest blocking wait: the instant it was armed for and when it
	// returned (LastWait); read only by the step, on the loop's goroutine.
	waitArmed, waitWoke int64
}

// LastWait returns the instant the loop's latest blocking wait was armed
// for (Never: no timer) and when it returned, 0 and 0 before the first.
// A step (on the loop's goroutine) tells by it a deadline its thread slept
// through, the wake-up late, from one it missed while working.
func (l *Loop) LastWait() (armed, woke int64) { return l.waitArmed, l.waitWoke }

// NewLoop returns a Loop for cfg, which must be valid.
func NewLoop(cfg LoopConfig) (*Loop, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.PollEvery == 0 {
		cfg.PollEvery = DefaultPollEvery
	}
	if cfg.YieldSlack == 0 {
		cfg.YieldSlack = DefaultYieldSlack
	}
	return &Loop{cfg: cfg, lead: Lead{Max: max(0, int64(cfg.SpinMax))}}, nil
}

// Lead returns the current lead (ns): how early the next spun deadline's
// timer will be armed.
func (l *Loop) Lead() int64 { return l.lead.Lead() }

// ErrStopped is what Run returns after its Waiter reported Stop.
var ErrStopped = errors.New("tick: loop stopped")

// Run calls step until w reports Stop (then it returns ErrStopped) or w
// fails. Run must not be called concurrently on one Loop.
func (l *Loop) Run(w Waiter, step StepFunc) error {
	poll := int64(l.cfg.PollEvery)
	next, spin := step(w.Now(), 0)
	for {
		armed := next
		if spin {
			armed = next - l.lead.Lead()
		}
		wk, err := w.Wait(armed)
		if err != nil {
			return err
		}
		if wk.Stop {
			return ErrStopped
		}
		now := w.Now()
		l.waitArmed, l.waitWoke = armed, now
		if wk.Timer {
			late := now - armed
			l.lead.Observe(late)
			l.WakeLate.Record(max(late, 0))
		}
		if wk.Ready != 0 {
			// Arrivals first: a pose is never held for a spin.
			next, spin = step(now, wk.Ready)
			now = w.Now()
		}
		if spin && now < next && next-now <= l.lead.Lead() {
			start, polled := now, now
			for now < next {
				if now-polled >= poll {
					polled = now
					l.Polls.Inc()
					pk, err := w.Poll()
					if err != nil {
						return err
					}
					if pk.Stop {
						return ErrStopped
					}
					if pk.Ready != 0 {
						next, spin = step(now, pk.Ready)
						if !spin {
							break
						}
					}
				}
				now = w.Now()
			}
			l.Spin.Record(now - start)
		}
		if now >= next {
			met := spin
			next, spin = step(now, 0)
			if met && spin && l.cfg.Yield != nil {
				if now = w.Now(); next-now >= int64(l.cfg.YieldSlack) {
					l.cfg.Yield()
					l.Yield.Record(max(w.Now()-now, 0))
				}
			}
		}
	}
}
