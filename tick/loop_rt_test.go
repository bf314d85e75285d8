package tick

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// virtualWaiter is a Waiter on virtual time: a timer wake comes late by
// late(deadline) after its deadline, arrivals make descriptor 0 readable
// at their times, and every Now call costs spinCost (a spinning loop's
// iteration). It stops after stopAt.
type virtualWaiter struct {
	now      int64
	spinCost int64
	late     func(deadline int64) int64
	arrivals []int64 // ascending; consumed when read by a step
	stopAt   int64
	waits    int
	polls    int
}

func (v *virtualWaiter) Now() int64 { v.now += v.spinCost; return v.now }

func (v *virtualWaiter) pending() bool { return len(v.arrivals) > 0 && v.arrivals[0] <= v.now }

func (v *virtualWaiter) Wait(deadline int64) (Wake, error) {
	v.waits++
	if v.pending() {
		return Wake{Ready: 1}, nil
	}
	wake := int64(Never)
	if deadline != Never {
		wake = max(deadline+v.late(deadline), v.now)
	}
	if len(v.arrivals) > 0 && v.arrivals[0] < wake {
		v.now = max(v.now, v.arrivals[0])
		return Wake{Ready: 1}, nil
	}
	if wake >= v.stopAt {
		v.now = v.stopAt
		return Wake{Stop: true}, nil
	}
	v.now = wake
	return Wake{Timer: true}, nil
}

func (v *virtualWaiter) Poll() (Wake, error) {
	v.polls++
	if v.pending() {
		return Wake{Ready: 1}, nil
	}
	return Wake{}, nil
}

// ticker is a step that runs a tick every tickPeriod and serves arrivals,
// recording how late each tick ran and how long each arrival waited.
type ticker struct {
	v        *virtualWaiter
	period   int64
	next     int64
	spin     bool
	lateness []int64
	served   []int64
}

func (k *ticker) step(now int64, ready uint64) (int64, bool) {
	if ready&1 != 0 {
		for k.v.pending() {
			k.served = append(k.served, now-k.v.arrivals[0])
			k.v.arrivals = k.v.arrivals[1:]
		}
	}
	if now >= k.next {
		k.lateness = append(k.lateness, now-k.next)
		for k.next <= now {
			k.next += k.period
		}
	}
	return k.next, k.spin
}

func run(t *testing.T, cfg LoopConfig, v *virtualWaiter, k *ticker) *Loop {
	t.Helper()
	l, err := NewLoop(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k.v = v
	if err := l.Run(v, k.step); !errors.Is(err, ErrStopped) {
		t.Fatalf("Run = %v, want ErrStopped", err)
	}
	return l
}

const tickPeriod = int64(time.Second / 120)

func constLate(d time.Duration) func(int64) int64 { return func(int64) int64 { return int64(d) } }

// TestLoopWithoutSpinIsLateByTheHost: with no spin, every tick runs as
// late as the timer wakes, and nothing is polled.
func TestLoopWithoutSpinIsLateByTheHost(t *testing.T) {
	v := &virtualWaiter{spinCost: 100, late: constLate(300 * time.Microsecond), stopAt: 2 * int64(time.Second)}
	k := &ticker{period: tickPeriod, next: tickPeriod}
	l := run(t, LoopConfig{SpinMax: 500 * time.Microsecond}, v, k)
	if len(k.lateness) < 230 {
		t.Fatalf("%d ticks in 2 s", len(k.lateness))
	}
	for i, late := range k.lateness {
		if late < int64(300*time.Microsecond) || late > int64(301*time.Microsecond) {
			t.Fatalf("tick %d late by %d ns, want the host's 300 µs", i, late)
		}
	}
	if v.polls != 0 || l.Polls.Load() != 0 || l.Spin.Count() != 0 {
		t.Fatalf("%d polls, %d spins without spin asked", v.polls, l.Spin.Count())
	}
}

// TestLoopSpinMeetsTheDeadline: once the loop has seen the host's
// lateness, it arms early by it and spins the rest: ticks run within a
// spin iteration of their deadline, and the spin polls at most once per
// PollEvery.
func TestLoopSpinMeetsTheDeadline(t *testing.T) {
	v := &virtualWaiter{spinCost: 100, late: constLate(300 * time.Microsecond), stopAt: 2 * int64(time.Second)}
	k := &ticker{period: tickPeriod, next: tickPeriod, spin: true}
	l := run(t, LoopConfig{SpinMax: 500 * time.Microsecond}, v, k)
	for i, late := range k.lateness[1:] {
		if late > 200 {
			t.Fatalf("tick %d late by %d ns after the lead was learnt", i+1, late)
		}
	}
	// The lead is the lateness plus the margin: 20 µs spun per tick, one
	// poll per 20 µs.
	if lead := l.Lead(); lead < int64(300*time.Microsecond) || lead > int64(321*time.Microsecond) {
		t.Fatalf("lead %d ns, want 300-321 µs", lead)
	}
	if n := len(k.lateness); v.polls > 2*n {
		t.Fatalf("%d polls for %d ticks: the spin polls too often", v.polls, n)
	}
	if p := l.Spin.Quantile(0.5); p > int64(40*time.Microsecond) {
		t.Fatalf("spin p50 %d ns, want about the margin", p)
	}
}

// TestLoopSpinIsCapped: a host later than SpinMax costs at most SpinMax of
// spinning per tick, and the tick is late by the rest.
func TestLoopSpinIsCapped(t *testing.T) {
	v := &virtualWaiter{spinCost: 100, late: constLate(2 * time.Millisecond), stopAt: int64(time.Second)}
	k := &ticker{period: tickPeriod, next: tickPeriod, spin: true}
	l := run(t, LoopConfig{SpinMax: 500 * time.Microsecond}, v, k)
	if lead := l.Lead(); lead != int64(500*time.Microsecond) {
		t.Fatalf("lead %d, want the cap", lead)
	}
	for i, late := range k.lateness[1:] {
		if want := int64(1500 * time.Microsecond); late < want-200 || late > want+200 {
			t.Fatalf("tick %d late by %d ns, want the host's lateness less the cap", i+1, late)
		}
	}
}

// TestLoopServesArrivalsWhileSpinning: a datagram arriving during a spin
// waits at most one poll interval, and one arriving while the loop sleeps
// is served at once.
func TestLoopServesArrivalsWhileSpinning(t *testing.T) {
	v := &virtualWaiter{spinCost: 100, late: constLate(300 * time.Microsecond), stopAt: int64(time.Second)}
	for i := range int64(100) {
		// Alternately inside a tick's spin window (just before a
		// deadline) and in the middle of a tickPeriod.
		at := (i+2)*tickPeriod - int64(10*time.Microsecond)
		if i%2 == 1 {
			at = (i+2)*tickPeriod - tickPeriod/2
		}
		v.arrivals = append(v.arrivals, at)
	}
	k := &ticker{period: tickPeriod, next: tickPeriod, spin: true}
	run(t, LoopConfig{SpinMax: 500 * time.Microsecond, PollEvery: 20 * time.Microsecond}, v, k)
	if len(k.served) != 100 {
		t.Fatalf("%d of 100 arrivals served", len(k.served))
	}
	for i, w := range k.served {
		if w > int64(21*time.Microsecond) {
			t.Fatalf("arrival %d waited %d ns", i, w)
		}
	}
}

// TestLoopDoesNotSpinForAPromptHost: a host that wakes within a few µs is
// not worth spinning for: no spin, no poll, and ticks as late as it is.
func TestLoopDoesNotSpinForAPromptHost(t *testing.T) {
	v := &virtualWaiter{spinCost: 100, late: constLate(5 * time.Microsecond), stopAt: int64(time.Second)}
	k := &ticker{period: tickPeriod, next: tickPeriod, spin: true}
	l := run(t, LoopConfig{SpinMax: 500 * time.Microsecond}, v, k)
	if v.polls != 0 || l.Spin.Count() != 0 || l.Lead() != 0 {
		t.Fatalf("%d polls, %d spins, lead %d for a host 5 µs late", v.polls, l.Spin.Count(), l.Lead())
	}
}

func TestLoopConfigValidate(t *testing.T) {
	if _, err := NewLoop(LoopConfig{PollEvery: -1}); err == nil {
		t.Fatal("negative PollEvery accepted")
	}
}

// TestEpollWaiter: the real waiter reports the timer, a readable
// descriptor and Stop, and Poll does not block.
func TestEpollWaiter(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	w, err := NewEpollWaiter(p[0])
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if wk, err := w.Poll(); err != nil || wk != (Wake{}) {
		t.Fatalf("Poll on nothing = %+v, %v", wk, err)
	}
	deadline := w.Now() + int64(time.Millisecond)
	wk, err := w.Wait(deadline)
	if err != nil || !wk.Timer || w.Now() < deadline {
		t.Fatalf("Wait(deadline) = %+v, %v at %d (deadline %d)", wk, err, w.Now(), deadline)
	}
	unix.Write(p[1], []byte{1})
	if wk, err := w.Wait(Never); err != nil || wk.Ready != 1 || wk.Timer {
		t.Fatalf("Wait with a readable pipe = %+v, %v", wk, err)
	}
	if wk, err := w.Poll(); err != nil || wk.Ready != 1 {
		t.Fatalf("Poll with a readable pipe = %+v, %v", wk, err)
	}
	var b [1]byte
	unix.Read(p[0], b[:])
	w.Stop()
	if wk, err := w.Wait(w.Now() + int64(time.Hour)); err != nil || !wk.Stop {
		t.Fatalf("Wait after Stop = %+v, %v", wk, err)
	}
}

// TestRunRealtimeStopsWithContext: RunRealtime steps on its deadlines and
// returns nil once its context is done.
func TestRunRealtimeStopsWithContext(t *testing.T) {
	l, err := NewLoop(LoopConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	steps := 0
	var setup error
	err = RunRealtime(ctx, l, ThreadConfig{CPU: -1}, nil, func(e error) { setup = e }, func(now int64, _ uint64) (int64, bool) {
		if steps++; steps == 5 {
			cancel()
		}
		return now + int64(time.Millisecond), false
	})
	if err != nil || steps < 5 || setup != nil {
		t.Fatalf("RunRealtime = %v after %d steps (setup %v)", err, steps, setup)
	}
}

// TestLoopYieldsJustAfterEachTick: Yield is called once after each tick
// the loop spins for, never when the next deadline is closer than
// YieldSlack and never for deadlines nobody waits on; the time it takes is
// recorded.
func TestLoopYieldsJustAfterEachTick(t *testing.T) {
	for _, c := range []struct {
		name  string
		spin  bool
		slack time.Duration
		want  bool
	}{
		{"spun ticks", true, 0, true},
		{"slack beyond a tick", true, 9 * time.Millisecond, false},
		{"unspun ticks", false, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := &virtualWaiter{spinCost: 100, late: constLate(300 * time.Microsecond), stopAt: int64(time.Second)}
			k := &ticker{period: tickPeriod, next: tickPeriod, spin: c.spin}
			var gaps []int64
			yield := func() {
				gaps = append(gaps, k.next-v.now)
				v.now += int64(50 * time.Microsecond) // the scheduler's round trip
			}
			l := run(t, LoopConfig{SpinMax: 500 * time.Microsecond, Yield: yield, YieldSlack: c.slack}, v, k)
			if !c.want {
				if len(gaps) != 0 {
					t.Fatalf("%d yields, want none", len(gaps))
				}
				return
			}
			if n := len(k.lateness); len(gaps) < n-1 || len(gaps) > n {
				t.Fatalf("%d yields for %d ticks, want one per tick", len(gaps), n)
			}
			for i, g := range gaps {
				if g < int64(DefaultYieldSlack) {
					t.Fatalf("yield %d with the next deadline %d ns away, under the slack", i, g)
				}
			}
			if l.Yield.Count() != uint64(len(gaps)) || l.Yield.Quantile(0.5) < int64(49*time.Microsecond) {
				t.Fatalf("Yield histogram: %d samples, p50 %d ns; want %d of 50 µs", l.Yield.Count(), l.Yield.Quantile(0.5), len(gaps))
			}
			for i, late := range k.lateness[1:] {
				if late > 200 {
					t.Fatalf("tick %d late by %d ns: yielding delayed it", i+1, late)
				}
			}
		})
	}
	if err := (&LoopConfig{YieldSlack: -1}).Validate(); err == nil {
		t.Fatal("a negative YieldSlack validated")
	}
}
