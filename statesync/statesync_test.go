package statesync

import (
	"math/rand/v2"
	"testing"

	"github.com/arcadexr/arcade/wire"
)

func TestHeld(t *testing.T) {
	h := Held{Newest: 100, Mask: 0b1011, At: 1}
	for tick, want := range map[uint32]bool{100: true, 99: true, 98: false, 97: true, 96: false, 101: false, 36: false} {
		if h.Has(tick) != want {
			t.Errorf("Has(%d) = %v", tick, !want)
		}
	}
	if got := h.aligned(102); got != 0b1011<<2 {
		t.Errorf("aligned(102) = %b", got)
	}
	if got := h.aligned(99); got != 0b101 {
		t.Errorf("aligned(99) = %b", got)
	}
	if got, ok := h.NewestIn(func(t uint32) bool { return t < 100 }); !ok || got != 99 {
		t.Errorf("NewestIn = %d %v", got, ok)
	}
	// Wraparound.
	w := Held{Newest: 1, Mask: 0b11, At: 1}
	if !w.Has(0) || !w.Has(1) || w.Has(^uint32(0)) {
		t.Error("wraparound")
	}
	if (&Held{}).Has(0) {
		t.Error("an empty report holds a tick")
	}
}

// receiver simulates one headset: the complete ticks it holds, and the
// reports it sends.
type receiver struct {
	m        Member
	held     map[uint32]bool
	newest   uint32
	has      bool
	lastGood int64 // when it last decoded a tick of the group
	worstGap int64
}

func (r *receiver) hold(t uint32) {
	r.held[t] = true
	if !r.has || int32(t-r.newest) > 0 {
		r.newest, r.has = t, true
	}
}

func (r *receiver) report(at int64) Held {
	h := Held{Newest: r.newest, At: at}
	for i := range uint32(Window) {
		if r.held[r.newest-i] {
			h.Mask |= 1 << i
		}
	}
	return h
}

type delivery struct {
	at   int64
	r    *receiver
	tick uint32 // held when it arrives, if base is held then
	base uint32
	kf   bool
	rep  *Held // a report instead
}

// simulate runs n receivers for d ticks at rate Hz, each datagram (the
// group's, a repair, a report) lost with probability loss, one way delay
// half of rtt, and returns the receivers, the repairs sent and the oldest
// baseline used.
func simulate(t *testing.T, n int, loss float64, rate int, ticks int, rtt int64) ([]*receiver, int, uint32) {
	rng := rand.New(rand.NewPCG(uint64(n), uint64(loss*1000)))
	g := Group{Settings: DefaultSettings(rate)}
	var hist History
	rs := make([]*receiver, n)
	members := make([]*Member, n)
	for i := range rs {
		rs[i] = &receiver{held: map[uint32]bool{}}
		members[i] = &rs[i].m
	}
	var queue []delivery
	period := int64(1e9) / int64(rate)
	repairs := 0
	oldest := uint32(0)
	for k := 1; k <= ticks; k++ {
		now := int64(k) * period
		tick := uint32(k)
		// Deliver what arrived by now.
		rest := queue[:0]
		for _, d := range queue {
			if d.at > now {
				rest = append(rest, d)
				continue
			}
			switch {
			case d.rep != nil:
				d.r.m.Held = *d.rep
			case d.kf || d.r.held[d.base]:
				d.r.hold(d.tick)
			}
		}
		queue = rest
		base, ok := g.Plan(now, tick, &hist, members, func(m *Member, target uint32) {
			repairs++
			for _, r := range rs {
				if &r.m == m {
					if rng.Float64() >= loss {
						queue = append(queue, delivery{at: now + rtt/2, r: r, tick: target, kf: true})
					}
				}
			}
		})
		if ok {
			oldest = max(oldest, tick-base)
		}
		hist.Put(&wire.State{Tick: tick})
		for _, r := range rs {
			if rng.Float64() < loss {
				continue
			}
			if ok && r.held[base] || !ok {
				// Decodable on arrival (the baseline cannot leave the
				// receiver's window in half a round trip).
				if r.lastGood != 0 {
					r.worstGap = max(r.worstGap, now-r.lastGood)
				}
				r.lastGood = now
			}
			queue = append(queue, delivery{at: now + rtt/2, r: r, tick: tick, base: base, kf: !ok})
		}
		// Each receiver reports with its poses, about every tick.
		for _, r := range rs {
			if r.has && rng.Float64() >= loss {
				h := r.report(now + rtt/2)
				queue = append(queue, delivery{at: now + rtt/2, r: r, rep: &h})
			}
		}
	}
	return rs, repairs, oldest
}

// TestGroupConverges: with 16 and with 2 000 receivers losing 5 % of
// datagrams, every receiver decodes the group's state again within 100 ms
// of a loss, the baseline stays within MaxAge, and repairs stay a small
// share of the datagrams (a repair for each tick lost, and the retries of
// repairs lost, at most).
func TestGroupConverges(t *testing.T) {
	for _, tc := range []struct {
		n     int
		loss  float64
		ticks int
	}{{16, 0, 600}, {16, 0.05, 600}, {2000, 0.05, 240}} {
		rs, repairs, oldest := simulate(t, tc.n, tc.loss, 120, tc.ticks, 4e6)
		worst := int64(0)
		for _, r := range rs {
			if r.lastGood == 0 {
				t.Fatalf("n=%d loss=%v: a receiver never decoded the group's state", tc.n, tc.loss)
			}
			worst = max(worst, r.worstGap)
		}
		perSecond := float64(repairs) / (float64(tc.ticks) / 120)
		t.Logf("n=%d loss=%.0f%%: worst gap %.1f ms, repairs %.0f/s (%.2f per receiver per second), oldest baseline %d ticks",
			tc.n, 100*tc.loss, float64(worst)/1e6, perSecond, perSecond/float64(tc.n), oldest)
		if worst > 100e6 {
			t.Errorf("n=%d loss=%v: a receiver went %.1f ms without decodable state", tc.n, tc.loss, float64(worst)/1e6)
		}
		if oldest > DefaultSettings(120).MaxAge+1 {
			t.Errorf("baseline %d ticks old, max %d", oldest, DefaultSettings(120).MaxAge)
		}
		if tc.loss == 0 && repairs > tc.n {
			t.Errorf("no loss, yet %d repairs for %d receivers", repairs, tc.n)
		}
		// A receiver left behind (Tolerate) is sent each tick it lacks
		// that becomes the baseline, and again when that repair is
		// lost: about the loss rate times the tick rate.
		if perSecond/float64(tc.n) > 2*tc.loss*120+4 {
			t.Errorf("%.1f repairs per receiver per second", perSecond/float64(tc.n))
		}
	}
}

// TestSilentReceiverBackoff: a receiver that never reports is sent the
// baseline again and again, each time after twice the wait, not every
// Retry: about a dozen repairs in five seconds, not 250.
func TestSilentReceiverBackoff(t *testing.T) {
	g := Group{Settings: DefaultSettings(120)}
	var hist History
	silent, talker := &Member{}, &Member{}
	repairs := 0
	period := int64(1e9) / 120
	for k := 1; k <= 600; k++ {
		now := int64(k) * period
		tick := uint32(k)
		talker.Held = Held{Newest: tick - 1, Mask: ^uint64(0), At: now}
		g.Plan(now, tick, &hist, []*Member{silent, talker}, func(m *Member, target uint32) {
			if m == silent {
				repairs++
			}
		})
		hist.Put(&wire.State{Tick: tick})
	}
	if repairs < 3 || repairs > 20 {
		t.Errorf("%d repairs to a silent receiver in 5 s", repairs)
	}
	t.Logf("%d repairs to a silent receiver in 5 s", repairs)
}

// TestGroupPrior: the group's prior is held by every fresh member that
// holds the baseline, is at least PriorGap ticks older than it and no
// less than half as far from it as the baseline is from the tick; a
// member that lacks a tick keeps it from being the prior.
func TestGroupPrior(t *testing.T) {
	g := Group{Settings: DefaultSettings(120)}
	if g.PriorGap != 4 {
		t.Fatalf("PriorGap %d at 120 Hz", g.PriorGap)
	}
	var hist History
	a, b := &Member{}, &Member{}
	for tick := uint32(1); tick <= 40; tick++ {
		hist.Put(&wire.State{Tick: tick})
	}
	now := int64(1e9)
	a.Held = Held{Newest: 40, Mask: ^uint64(0), At: now}
	b.Held = Held{Newest: 40, Mask: ^uint64(0) &^ (1 << 4), At: now} // lacks 36
	base, ok := g.Plan(now, 41, &hist, []*Member{a, b}, func(*Member, uint32) {})
	p, hasPrior := g.Prior()
	if !ok || base != 40 || !hasPrior || p != 35 {
		t.Fatalf("base %d %v, prior %d %v; want 40, 35", base, ok, p, hasPrior)
	}
	if got, ok := a.Held.PriorFor(40, 41, 4, hist.Has); !ok || got != 36 {
		t.Fatalf("PriorFor = %d %v, want 36", got, ok)
	}
	// A tick far ahead of its baseline needs a prior at least half as far.
	if got, ok := a.Held.PriorFor(30, 50, 4, hist.Has); !ok || got != 20 {
		t.Fatalf("PriorFor(30, 50) = %d %v, want 20", got, ok)
	}
}

// TestLostReportHoldsNoBaseline: a member whose latest report arrived
// before the newest tick could reach it (within its Lag) does not hold
// the group's baseline back; with Lag 0 it does, as a report that shows
// the tick missing does. A member that turns out to lack the baseline so
// chosen is repaired once a report shows it, not before.
func TestLostReportHoldsNoBaseline(t *testing.T) {
	period := int64(1e9) / 120
	lag := 4 * int64(1e6) // a 4 ms round trip: one tick
	for _, tc := range []struct {
		name     string
		lag      int64
		mask     uint64 // b's report at tick 40: bit 0 is tick 39
		newest   uint32
		wantBase uint32
	}{
		{"report before tick 40 reached it", lag, ^uint64(0), 39, 40},
		{"no lag: the report speaks for every tick sent", 0, ^uint64(0), 39, 39},
		{"report shows tick 40 missing", lag, ^uint64(0), 39, 39},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := Group{Settings: DefaultSettings(120)}
			var hist History
			a, b := &Member{Lag: tc.lag}, &Member{Lag: tc.lag}
			repaired := 0
			plan := func(tick uint32) uint32 {
				now := int64(tick) * period
				base, _ := g.Plan(now, tick, &hist, []*Member{a, b}, func(m *Member, target uint32) {
					if m == b {
						repaired++
					}
				})
				hist.Put(&wire.State{Tick: tick})
				return base
			}
			for tick := uint32(1); tick <= 40; tick++ {
				// Both hold every tick before, and report it one tick later.
				a.Held = Held{Newest: tick - 1, Mask: ^uint64(0), At: int64(tick) * period}
				b.Held = a.Held
				plan(tick)
			}
			// At 41, a reports 40; b's report that would show 40 was lost:
			// its newest report is the one that arrived at tick 40, sent
			// before 40 reached b (or, in the third case, arrived after 40
			// was sent by more than the round trip: it shows 40 missing).
			now := int64(41) * period
			a.Held = Held{Newest: 40, Mask: ^uint64(0), At: now}
			b.Held = Held{Newest: tc.newest, Mask: tc.mask, At: int64(40) * period}
			if tc.name == "report shows tick 40 missing" {
				b.Held.At = now
			}
			repaired = 0
			if base := plan(41); base != tc.wantBase {
				t.Fatalf("base %d, want %d", base, tc.wantBase)
			}
			if repaired != 0 {
				t.Fatalf("%d repairs to b, which no report shows lacking the baseline", repaired)
			}
			if tc.wantBase != 40 {
				return
			}
			// b's next report shows 40 missing after all (and 41, coded
			// against it): it is repaired.
			b.Held = Held{Newest: 39, Mask: ^uint64(0), At: int64(42) * period}
			a.Held = Held{Newest: 41, Mask: ^uint64(0), At: int64(42) * period}
			plan(42)
			if repaired == 0 {
				t.Fatal("b lacks the baseline and was not repaired")
			}
		})
	}
}

// TestTolerate: of eight members one known to lack the newest tick (sent
// with repair parts) does not keep it from being the baseline (it is
// repaired with it); two do, and of three members one does (fewer than a
// quarter may lack it).
func TestTolerate(t *testing.T) {
	period := int64(1e9) / 120
	for _, tc := range []struct {
		members, lacking int
		wantBase         uint32
	}{{8, 1, 40}, {8, 2, 39}, {3, 1, 39}, {8, 0, 40}} {
		g := Group{Settings: DefaultSettings(120)}
		g.Tolerate = 1
		var hist History
		ms := make([]*Member, tc.members)
		for i := range ms {
			ms[i] = &Member{Lag: 4e6}
		}
		repaired := map[*Member]uint32{}
		for tick := uint32(1); tick <= 41; tick++ {
			now := int64(tick) * period
			for i, m := range ms {
				m.Held = Held{Newest: tick - 1, Mask: ^uint64(0), At: now}
				if tick == 41 && i < tc.lacking {
					m.Held = Held{Newest: 39, Mask: ^uint64(0), At: now} // lost 40
				}
			}
			base, _ := g.Plan(now, tick, &hist, ms, func(m *Member, target uint32) { repaired[m] = target })
			hist.Put(&wire.State{Tick: tick})
			g.SentRepairs(tick)
			if tick < 41 {
				clear(repaired)
				continue
			}
			if base != tc.wantBase {
				t.Errorf("%d members, %d lacking 40: base %d, want %d", tc.members, tc.lacking, base, tc.wantBase)
			}
			for i, m := range ms {
				if target, ok := repaired[m]; ok != (base == 40 && i < tc.lacking) || ok && target != 40 {
					t.Errorf("%d members, %d lacking 40: member %d repaired %v (tick %d)", tc.members, tc.lacking, i, ok, target)
				}
			}
		}
	}
}

// TestRepairs: the repair parts a tick gets are the fewest that leave a
// receiver at the worst loss lacking it at most RepairMiss of the time.
func TestRepairs(t *testing.T) {
	for _, tc := range []struct {
		parts int
		loss  float64
		want  int
	}{
		{1, 0.05, 0}, {7, 0.01, 0}, {7, 0.05, 1}, {9, 0.05, 1}, {10, 0.05, 2},
		{63, 0.05, 6}, {7, 0.2, 4}, {255, 0.5, 8},
	} {
		if got := Repairs(tc.parts, tc.loss); got != tc.want {
			t.Errorf("%d parts at %.0f %% loss: %d repair parts, want %d", tc.parts, 100*tc.loss, got, tc.want)
		}
	}
	if LossOf(10, 0) != UnknownLoss || LossOf(95, 5) != 0.05 {
		t.Errorf("LossOf: %v %v", LossOf(10, 0), LossOf(95, 5))
	}
}

// TestRepairParts: a receiver that lacks a tick sent with m repair parts
// is sent two new ones, then two more, then the data parts; another tick
// starts over.
func TestRepairParts(t *testing.T) {
	var m Member
	for i, want := range [][2]int{{1, 2}, {3, 2}, {0, 0}, {1, 2}} {
		if from, n := m.RepairParts(10, 7, 1); [2]int{from, n} != want {
			t.Errorf("try %d: repair parts %d+%d, want %d+%d", i, from, n, want[0], want[1])
		}
	}
	if from, n := m.RepairParts(11, 7, 2); from != 2 || n != 2 {
		t.Errorf("another tick: %d+%d", from, n)
	}
	if _, n := m.RepairParts(12, 254, 1); n != 0 {
		t.Errorf("past the tick's repair indices: %d", n)
	}
}

// TestNewReceiverSameTick: a receiver that never reported is sent the
// same tick on every try while the history keeps it, not the baseline of
// the moment, so that the parts of its tries add up.
func TestNewReceiverSameTick(t *testing.T) {
	g := Group{Settings: DefaultSettings(120)}
	var hist History
	talker, fresh := &Member{}, &Member{}
	var targets []uint32
	for tick := uint32(1); tick < 60; tick++ {
		now := int64(tick) * 8_333_333
		talker.Held = Held{Newest: tick - 1, Mask: ^uint64(0), At: now}
		g.Plan(now, tick, &hist, []*Member{talker, fresh}, func(m *Member, target uint32) {
			if m == fresh {
				targets = append(targets, target)
			}
		})
		hist.Put(&wire.State{Tick: tick})
	}
	if len(targets) < 3 {
		t.Fatalf("%d repairs", len(targets))
	}
	for _, tg := range targets[1:] {
		if tg != targets[0] {
			t.Fatalf("repairs of ticks %v", targets)
		}
	}
}

// TestTolerateRepaired: one of 16 members known to lack the newest tick
// holds the baseline back unless that tick went out with repair parts;
// then the baseline moves to it and that member is sent it.
func TestTolerateRepaired(t *testing.T) {
	for _, repaired := range []bool{false, true} {
		g := Group{Settings: DefaultSettings(120)}
		var hist History
		ms := make([]*Member, 16)
		for i := range ms {
			ms[i] = &Member{}
		}
		var base uint32
		var repairs []uint32
		for tick := uint32(1); tick <= 20; tick++ {
			now := int64(tick) * 8_333_333
			for i, m := range ms {
				m.Held = Held{Newest: tick - 1, Mask: ^uint64(0), At: now}
				if i == 0 && tick == 20 {
					m.Held.Mask = ^uint64(1) // lacks 19, holds the rest
				}
			}
			repairs = repairs[:0]
			b, _ := g.Plan(now, tick, &hist, ms, func(m *Member, target uint32) {
				if m == ms[0] {
					repairs = append(repairs, target)
				}
			})
			base = b
			hist.Put(&wire.State{Tick: tick})
			if repaired {
				g.SentRepairs(tick)
			}
		}
		switch {
		case !repaired && base != 18:
			t.Errorf("tick 19 without repair parts, one member lacking it: baseline %d, want 18", base)
		case repaired && (base != 19 || len(repairs) != 1 || repairs[0] != 19):
			t.Errorf("tick 19 with repair parts, one member lacking it: baseline %d, repairs %v; want 19, [19]", base, repairs)
		}
	}
}
