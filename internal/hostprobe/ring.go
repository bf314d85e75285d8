package hostprobe

import "sync/atomic"

// ringSize is the number of recent wakes LateAround can see: a power of two.
// At the default 1 ms period it holds about a second of history (more when
// late wakes skip deadlines), far more than a tick thread needs to ask about
// the tick it has just run, and it takes 24 KiB.
const ringSize = 1024

// slot holds one wake. seq is a per-slot seqlock: the writer sets it to
// 2n+1 (odd: being written) before storing wake number n and to 2n+2 after,
// so a reader that sees 2n+2 both before and after reading the fields has a
// consistent copy of wake n, and any other value tells it the slot is being
// rewritten or already holds a later wake.
type slot struct {
	seq      atomic.Uint64
	deadline atomic.Int64
	wake     atomic.Int64
}

// ring is the record of recent wakes: one writer (the probe thread), any
// number of lock-free readers. Every field is read and written atomically,
// so readers never block the writer and the race detector sees no race.
//
// Deadlines lie on the grid start + k·period (k ≥ 1). A wake for deadline d
// at time w serves d and every later grid deadline up to w, which a late
// wake skips: the lateness of grid deadline g is the time from g to the
// first wake at or after it.
type ring struct {
	start  int64 // grid origin, ns; immutable once the probe runs
	period int64 // grid period, ns; immutable once the probe runs

	head  atomic.Uint64 // number of wakes recorded
	armed atomic.Int64  // deadline the writer waits for, 0 before the first
	slots [ringSize]slot
}

func (r *ring) init(start, period int64) {
	r.start, r.period = start, period
}

// record stores the wake for deadline at time wake. Single writer only.
// Deadlines must increase from one call to the next.
func (r *ring) record(deadline, wake int64) {
	n := r.head.Load()
	s := &r.slots[n%ringSize]
	s.seq.Store(2*n + 1)
	s.deadline.Store(deadline)
	s.wake.Store(max(wake, deadline))
	s.seq.Store(2*n + 2)
	r.head.Store(n + 1)
}

// arm publishes the deadline the writer is about to wait for. Single writer
// only; called after record of the previous wake.
func (r *ring) arm(deadline int64) { r.armed.Store(deadline) }

// load returns wake number n if slot n%ringSize still holds it.
func (r *ring) load(n uint64) (deadline, wake int64, ok bool) {
	s := &r.slots[n%ringSize]
	want := 2*n + 2
	if s.seq.Load() != want {
		return 0, 0, false
	}
	deadline, wake = s.deadline.Load(), s.wake.Load()
	if s.seq.Load() != want {
		return 0, 0, false
	}
	return deadline, wake, true
}

// firstGrid returns the first grid deadline at or after t.
func (r *ring) firstGrid(t int64) int64 {
	first := r.start + r.period
	if t <= first {
		return first
	}
	g := first + (t-first)/r.period*r.period
	if g < t {
		g += r.period
	}
	return g
}

// lateAround returns the largest lateness of the grid deadlines in
// [from, to] that the ring knows about, and whether it knows any. now reads
// the clock; it is called once.
//
// The pending deadline (armed, not yet recorded) counts too if it is in the
// window and already past: its lateness is at least now − deadline. A wake
// whose slot is overwritten while it is read is left out, as are the wakes
// before it (they are older still): a reader lapped by the writer answers
// from what it could read.
func (r *ring) lateAround(from, to int64, now func() int64) (maxLate int64, ok bool) {
	if from > to {
		return 0, false
	}
	g0 := r.firstGrid(from) // earliest grid deadline in the window
	if g0 > to {
		return 0, false
	}
	// Order matters: armed, then the clock, then head. If the armed
	// deadline is not among the wakes head counts, it had not been
	// recorded when head was read, which is after now.
	armed := r.armed.Load()
	t := now()
	h := r.head.Load()

	// pending: the armed deadline is not among the recorded wakes. If the
	// newest wake cannot be read (the reader stalled while the writer went
	// round the ring), that is unknown and the armed deadline is left out.
	pending := h == 0 && armed > 0
	for n := h; n > 0 && h-n < ringSize; n-- {
		d, w, live := r.load(n - 1)
		if !live {
			break
		}
		if n == h {
			pending = armed > d
		}
		if w < g0 {
			break // this wake and all older ones precede the window
		}
		if d > to {
			continue
		}
		g := max(d, g0) // earliest deadline in the window this wake served
		if g <= w {
			maxLate = max(maxLate, w-g)
			ok = true
		}
	}
	if pending {
		if g := max(armed, g0); g <= to && g <= t {
			maxLate = max(maxLate, t-g)
			ok = true
		}
	}
	return maxLate, ok
}
