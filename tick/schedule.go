// Package tick runs fixed-rate ticks: deadline arithmetic, a timerfd timer, and the real-time loop that meets deadlines despite the host's wake-up lateness.
package tick

import "fmt"

// Schedule is the deadline arithmetic of a fixed-rate tick. It never reads a
// clock: times are nanoseconds on CLOCK_MONOTONIC (see Now), passed in by the
// caller.
//
// Deadlines lie on the grid start + k·Period for k = 1, 2, 3, ...; tick
// number t is the tick of deadline start + (t+1)·Period, so tick·Period stays
// aligned with time however late the caller wakes. When a wake-up is late
// by one period or more, the deadlines that already passed are skipped
// rather than run back to back: Fire serves the latest deadline that has
// passed and counts the ones before it as missed. Tick numbers therefore
// advance by 1+missed from one Fire to the next.
//
// A Schedule is not safe for concurrent use.
type Schedule struct {
	// Period is the tick period in nanoseconds. It is fixed by NewSchedule
	// and must not be changed.
	Period int64

	start  int64  // grid origin
	next   uint64 // tick number of the next deadline to serve
	ticks  uint64 // Fire calls so far
	missed uint64 // deadlines skipped so far
}

// NewSchedule returns a Schedule whose first deadline is start+period. It
// panics if period is not positive.
func NewSchedule(period, start int64) *Schedule {
	if period <= 0 {
		panic(fmt.Sprintf("tick: NewSchedule: period %d is not positive", period))
	}
	return &Schedule{Period: period, start: start}
}

// Next returns the next deadline to serve.
func (s *Schedule) Next() int64 { return s.deadline(s.next) }

// deadline returns the deadline of tick number t.
func (s *Schedule) deadline(t uint64) int64 { return s.start + int64(t+1)*s.Period }

// Fire serves the tick that is due at now, which should be at or after
// Next(). It returns the deadline served, its tick number and the number of
// deadlines skipped since the previous Fire.
//
// If now ≥ Next() + Period, the wake-up is late by at least one whole period:
// the served deadline is the latest one at or before now, and the earlier
// unserved deadlines are counted as missed, never run. Afterwards Next() is
// the first deadline on the grid strictly after now.
//
// If now < Next() (an early wake-up), Fire serves Next() early with no
// missed deadlines.
func (s *Schedule) Fire(now int64) (deadline int64, tick uint64, missed uint64) {
	tick = s.next
	deadline = s.deadline(tick)
	if late := now - deadline; late >= s.Period {
		missed = uint64(late / s.Period)
		tick += missed
		deadline = s.deadline(tick)
	}
	s.next = tick + 1
	s.ticks++
	s.missed += missed
	return deadline, tick, missed
}

// Missed returns the number of deadlines skipped so far.
func (s *Schedule) Missed() uint64 { return s.missed }

// Ticks returns the number of ticks served so far (calls to Fire).
// Ticks()+Missed() is the number of deadlines that have been dealt with.
func (s *Schedule) Ticks() uint64 { return s.ticks }
