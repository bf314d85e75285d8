package hostprobe

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

const testPeriod = 1000 // ns; the grid is 1000, 2000, 3000, ...

// clock returns a now function for lateAround that reads t.
func clock(t int64) func() int64 { return func() int64 { return t } }

// never is a clock so early that no pending deadline is past.
func never() int64 { return math.MinInt64 }

func TestRingLateAround(t *testing.T) {
	var r ring
	r.init(0, testPeriod)
	r.record(1000, 1050)
	r.record(2000, 2300)
	r.record(3000, 6500) // overslept 4000, 5000 and 6000
	r.record(7000, 7010)
	r.arm(8000) // pending

	tests := []struct {
		name     string
		from, to int64
		now      int64
		want     int64
		ok       bool
	}{
		{"before the first deadline", 0, 999, 9500, 0, false},
		{"reversed window", 2000, 1000, 9500, 0, false},
		{"one deadline", 1000, 1000, 9500, 50, true},
		{"between deadlines", 1001, 1999, 9500, 0, false},
		{"two deadlines", 1000, 2000, 9500, 300, true},
		{"not on the grid", 500, 2500, 9500, 300, true},
		{"late wake", 3000, 3000, 9500, 3500, true},
		{"overslept deadline", 4000, 4000, 9500, 2500, true},
		{"inside the oversleep", 3500, 5500, 9500, 2500, true},
		{"end of the oversleep", 6000, 7000, 9500, 500, true},
		{"after the oversleep", 6501, 7000, 9500, 10, true},
		{"after the last wake", 7001, 7999, 9500, 0, false},
		{"pending deadline", 8000, 8000, 9500, 1500, true},
		{"pending, overslept", 9000, 9000, 9500, 500, true},
		{"pending, from a recorded wake", 7000, 8000, 9500, 1500, true},
		{"pending, not yet due", 8000, 8000, 7990, 0, false},
		{"future", 10000, 20000, 9500, 0, false},
		{"whole history", math.MinInt64, math.MaxInt64 - testPeriod, 9500, 3500, true},
	}
	for _, tt := range tests {
		got, ok := r.lateAround(tt.from, tt.to, clock(tt.now))
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: lateAround(%d, %d) at %d = %d, %v; want %d, %v",
				tt.name, tt.from, tt.to, tt.now, got, ok, tt.want, tt.ok)
		}
	}

	// Once the pending deadline is recorded (and the next one armed), its
	// recorded lateness replaces the lower bound.
	r.record(8000, 8200)
	if got, ok := r.lateAround(8000, 8000, clock(9500)); got != 200 || !ok {
		t.Errorf("after recording 8000: lateAround = %d, %v; want 200, true", got, ok)
	}
	// armed still says 8000, which is recorded: not pending.
	if got, ok := r.lateAround(9000, 9000, clock(9500)); ok {
		t.Errorf("armed deadline already recorded: lateAround(9000, 9000) = %d, true; want ok false", got)
	}
}

func TestRingEmpty(t *testing.T) {
	var r ring
	r.init(5000, testPeriod)
	if got, ok := r.lateAround(0, math.MaxInt32, clock(1e9)); ok {
		t.Errorf("empty ring, nothing armed: lateAround = %d, true", got)
	}
	r.arm(6000)
	if got, ok := r.lateAround(6000, 6000, clock(6400)); got != 400 || !ok {
		t.Errorf("empty ring, 6000 armed: lateAround at 6400 = %d, %v; want 400, true", got, ok)
	}
	// The grid starts at start+period: 5500 is not a deadline.
	if got, ok := r.lateAround(5001, 5999, clock(6400)); ok {
		t.Errorf("before the first deadline: lateAround = %d, true", got)
	}
}

// late is the lateness recorded for wake k in the wraparound and
// concurrency tests, always below one period so that every wake serves
// exactly one deadline.
func late(k int64) int64 { return (k * 7919) % testPeriod }

func TestRingWraparound(t *testing.T) {
	var r ring
	r.init(0, testPeriod)
	const n = 3*ringSize + 17
	for k := int64(1); k <= n; k++ {
		r.record(k*testPeriod, k*testPeriod+late(k))
	}
	oldest := int64(n - ringSize + 1) // the oldest wake still in the ring
	for _, k := range []int64{1, ringSize, oldest - 1} {
		if got, ok := r.lateAround(k*testPeriod, k*testPeriod, never); ok {
			t.Errorf("wake %d is overwritten, but lateAround found %d", k, got)
		}
	}
	for _, k := range []int64{oldest, oldest + 1, n - ringSize/2, n} {
		if got, ok := r.lateAround(k*testPeriod, k*testPeriod, never); got != late(k) || !ok {
			t.Errorf("wake %d: lateAround = %d, %v; want %d, true", k, got, ok, late(k))
		}
	}
	// A window reaching back past the oldest wake answers from the live
	// ones.
	var want int64
	for k := oldest; k < oldest+10; k++ {
		want = max(want, late(k))
	}
	if got, ok := r.lateAround((oldest-50)*testPeriod, (oldest+9)*testPeriod, never); got != want || !ok {
		t.Errorf("window across the oldest wake: lateAround = %d, %v; want %d, true", got, ok, want)
	}
}

func TestRingTornSlot(t *testing.T) {
	var r ring
	r.init(0, testPeriod)
	for k := int64(1); k <= 4; k++ {
		r.record(k*testPeriod, k*testPeriod+late(k))
	}
	// Wake 3 (index 2) half rewritten: the writer is storing a later wake.
	s := &r.slots[2]
	s.seq.Store(2*(2+ringSize) + 1)
	if _, _, ok := r.load(2); ok {
		t.Error("load of a slot being rewritten succeeded")
	}
	s.seq.Store(2*(2+ringSize) + 2)
	if _, _, ok := r.load(2); ok {
		t.Error("load of a slot holding a later wake succeeded")
	}
	// The reader stops at the torn slot: wake 4 is still found, 3 and
	// older are not.
	if got, ok := r.lateAround(4*testPeriod, 4*testPeriod, never); got != late(4) || !ok {
		t.Errorf("wake 4: lateAround = %d, %v; want %d, true", got, ok, late(4))
	}
	if got, ok := r.lateAround(1*testPeriod, 3*testPeriod, never); ok {
		t.Errorf("wakes 1..3 behind a torn slot: lateAround = %d, true", got)
	}
}

// TestRingConcurrent has one writer record wakes as fast as it can while
// readers ask about recent deadlines. Every answer must be the lateness of
// a wake in the window: a torn read would pair one wake's deadline with
// another's time. Run it with -race.
func TestRingConcurrent(t *testing.T) {
	var r ring
	r.init(0, testPeriod)
	queries := 2_000 // per reader
	if testing.Short() || raceEnabled {
		queries = 500
	}
	var writer, readers sync.WaitGroup
	var stop atomic.Bool
	var wakes int64
	writer.Go(func() {
		for k := int64(1); !stop.Load(); k++ {
			r.record(k*testPeriod, k*testPeriod+late(k))
			wakes = k
		}
	})
	var found, missed atomic.Int64
	for range 2 {
		readers.Go(func() {
			for i := int64(0); i < int64(queries); i++ {
				h := int64(r.head.Load())
				if h == 0 {
					i--
					continue
				}
				// A deadline among the newest wakes, some of which
				// the writer overwrites during the call.
				k := max(1, h-(i*31)%(ringSize+64))
				width := i % 4
				got, ok := r.lateAround(k*testPeriod, (k+width)*testPeriod, never)
				if !ok {
					missed.Add(1)
					continue
				}
				found.Add(1)
				var want int64
				match := false
				for j := k; j <= k+width; j++ {
					want = max(want, late(j))
					match = match || got == late(j)
				}
				if !match || got > want {
					t.Errorf("lateAround(%d, %d) = %d: not the lateness of a wake in the window (max %d)",
						k*testPeriod, (k+width)*testPeriod, got, want)
					return
				}
			}
		})
	}
	readers.Wait()
	// Then, alone beside the writer, a reader loads the slot the writer
	// overwrites next, where a torn read is likeliest.
	var loads, torn atomic.Int64
	maxLoads := int64(2_000_000)
	if testing.Short() || raceEnabled {
		maxLoads = 100_000
	}
	readers.Go(func() {
		for loads.Load() < maxLoads {
			h := r.head.Load()
			if h < ringSize {
				runtime.Gosched()
				continue
			}
			n := h - ringSize // the oldest wake
			loads.Add(1)
			d, w, ok := r.load(n)
			if !ok {
				torn.Add(1)
				continue
			}
			k := int64(n) + 1
			if d != k*testPeriod || w != d+late(k) {
				t.Errorf("load(%d) = %d, %d; want %d, %d", n, d, w, k*testPeriod, k*testPeriod+late(k))
				return
			}
		}
	})
	readers.Wait()
	stop.Store(true)
	writer.Wait()
	t.Logf("%d loads of the oldest slot, %d found it rewritten", loads.Load(), torn.Load())
	if found.Load() == 0 {
		t.Error("no query found a wake")
	}
	t.Logf("%d wakes written; %d answers checked, %d windows not found (overwritten or not yet recorded)",
		wakes, found.Load(), missed.Load())
}

func TestRingAllocs(t *testing.T) {
	var r ring
	r.init(0, testPeriod)
	d := int64(testPeriod)
	if a := testing.AllocsPerRun(1000, func() {
		r.record(d, d+10)
		r.arm(d + testPeriod)
		d += testPeriod
	}); a != 0 {
		t.Errorf("record allocates %v times", a)
	}
	now := clock(d)
	if a := testing.AllocsPerRun(1000, func() {
		r.lateAround(d-20*testPeriod, d, now)
	}); a != 0 {
		t.Errorf("lateAround allocates %v times", a)
	}
}

// BenchmarkLateAround asks, on a full ring, about the ten deadlines before
// the newest wake: what the tick thread asks after a late tick.
func BenchmarkLateAround(b *testing.B) {
	var r ring
	r.init(0, testPeriod)
	const n = 2 * ringSize
	for k := int64(1); k <= n; k++ {
		r.record(k*testPeriod, k*testPeriod+late(k))
	}
	r.arm((n + 1) * testPeriod)
	now := clock((n + 1) * testPeriod)
	b.ReportAllocs()
	for b.Loop() {
		r.lateAround((n-10)*testPeriod, n*testPeriod, now)
	}
}
