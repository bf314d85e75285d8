//go:build linux

package tick

import (
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// The runtime's monotonic clock is CLOCK_MONOTONIC read through the vDSO,
// ten times cheaper than the clock_gettime system call. Now reads it through
// time.Since and adds the CLOCK_MONOTONIC value measured at the same instant,
// so that Now values can be given to Timer as absolute deadlines.
var (
	baseTime time.Time // carries the runtime's monotonic reading
	baseMono int64     // CLOCK_MONOTONIC at baseTime, ns
	baseSkew int64     // half the width of the bracket baseMono was read in
)

// baseTries is how many brackets init reads to keep the narrowest: one
// read can be stretched by a preemption, which would offset every Now by
// up to its width.
const baseTries = 32

func init() {
	for i := range baseTries {
		a := sysNow()
		t := time.Now()
		b := sysNow()
		if skew := (b - a + 1) / 2; i == 0 || skew < baseSkew {
			baseTime, baseMono, baseSkew = t, a+(b-a)/2, skew
		}
	}
}

func sysNow() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		// CLOCK_MONOTONIC is always available on Linux.
		panic("tick: clock_gettime(CLOCK_MONOTONIC): " + err.Error())
	}
	return ts.Nano()
}

// Now returns the CLOCK_MONOTONIC time in nanoseconds, the clock that Timer
// deadlines use. It does not allocate and makes no system call.
func Now() int64 { return baseMono + int64(time.Since(baseTime)) }

// Lead is how long before a deadline to arm a timer so that it fires before
// the deadline despite the host's wake-up lateness, leaving the rest to a
// spin (Loop). It is the 90th percentile of the last leadWindow wakes'
// lateness plus a margin: enough to cover the host's ordinary lateness,
// while a rare outlier (which no affordable spin would cover) costs
// nothing. When that percentile is below leadWorth, a spin would buy less
// than it costs and the lead is 0.
//
// The zero value has no lead until it observes lateness. Max caps the lead,
// and so the CPU time spun per tick; Max 0 disables early waking.
type Lead struct {
	Max  int64 // ns
	cur  int64
	ring [leadWindow]int64
	n    int
	tmp  [leadWindow]int64
}

const (
	// leadWindow is how many recent wakes the lead is computed from:
	// about half a second at 120 Hz.
	leadWindow = 64
	// leadMargin is added to the lateness percentile.
	leadMargin = 20_000
	// leadWorth: a percentile below this is not worth spinning for.
	leadWorth = 20_000
)

// Lead returns how early to arm the timer, in ns.
func (l *Lead) Lead() int64 {
	if l.Max <= 0 {
		return 0
	}
	return l.cur
}

// Observe records one wake: late is the time the timer fired after the
// instant it was armed for (negative values count as 0). It does not
// allocate.
func (l *Lead) Observe(late int64) {
	l.ring[l.n%leadWindow] = max(late, 0)
	l.n++
	k := min(l.n, leadWindow)
	copy(l.tmp[:k], l.ring[:k])
	slices.Sort(l.tmp[:k])
	p90 := l.tmp[(k*9+9)/10-1]
	switch {
	case p90 < leadWorth:
		l.cur = 0
	default:
		l.cur = min(p90+leadMargin, l.Max)
	}
}
