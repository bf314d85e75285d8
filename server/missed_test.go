package server_test

import (
	"testing"
	"time"

	"github.com/arcadexr/arcade/internal/metrics"
	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/server"
)

// fakeProbe is a reference probe whose wakes were late by late ns, or of
// which none fell in the window asked about (none).
type fakeProbe struct {
	late int64
	none bool
	h    metrics.Histogram
}

func (p *fakeProbe) LateAround(from, to int64) (int64, bool) { return p.late, !p.none }
func (p *fakeProbe) Lateness() *metrics.Histogram            { return &p.h }
func (p *fakeProbe) Reset()                                  {}
func (p *fakeProbe) StealPct() float64                       { return 0 }

// TestMissedTicksByCause: a tick run late enough to skip deadlines counts
// them under the fault of its lateness from the first deadline skipped
// (the deadline it serves, the latest passed, may be only just passed):
// the host's when the probe woke as late then, Arcade's when the probe was
// on time, unknown when the probe knows of no wake then; they add up to
// MissedTicks (a Step driven without the real-time loop has no wait to
// judge, so none is the wake's: TestMissedTicksSleptThrough).
func TestMissedTicksByCause(t *testing.T) {
	probe := &fakeProbe{}
	r := newRig(t, netsim.Config{}, server.Config{TickRate: 100, HostProbe: probe})
	st := r.srv.Stats()
	period := r.cfg.Period()
	// late runs the server's Step only once its next deadline has passed
	// by 3 periods and 20 µs: three deadlines skipped, the one served
	// passed by 20 µs, under the bar for a late tick.
	late := func() {
		r.srv.Step(r.net.Now())
		at := r.srv.NextTick() + 3*period + 20_000
		r.net.SetNow(at)
		r.srv.Step(at)
	}
	for _, c := range []struct {
		name                  string
		probeLate             int64
		none                  bool
		host, arcade, unknown uint64
	}{
		{"the host's", 4 * period, false, 3, 0, 0},
		{"Arcade's", 10 * int64(time.Microsecond), false, 3, 3, 0},
		{"unknown", 0, true, 3, 3, 3},
	} {
		probe.late, probe.none = c.probeLate, c.none
		late()
		got := [3]uint64{st.MissedTicksHost.Load(), st.MissedTicksArcade.Load(), st.MissedTicksUnknown.Load()}
		if want := [3]uint64{c.host, c.arcade, c.unknown}; got != want {
			t.Errorf("after a late tick %s: missed host/Arcade/unknown %v, want %v", c.name, got, want)
		}
		if sum := got[0] + got[1] + got[2]; st.MissedTicks.Load() != sum {
			t.Errorf("after a late tick %s: MissedTicks %d, the causes add up to %d", c.name, st.MissedTicks.Load(), sum)
		}
		r.advance(5*time.Millisecond, nil) // on time again
	}
	rep := r.srv.Report()
	if rep.MissedTicksHost != 3 || rep.MissedTicksArcade != 3 || rep.MissedTicksUnknown != 3 {
		t.Errorf("report: missed host/Arcade/unknown %d/%d/%d, want 3/3/3", rep.MissedTicksHost, rep.MissedTicksArcade, rep.MissedTicksUnknown)
	}
}

// TestBacklogDoesNotHoldTheTick: with more datagrams waiting than a Step
// reads when the tick falls due (a host stall leaves such a backlog), the
// Step runs the tick after its own bounded read, and the tick's reads
// (between sub-steps and before the broadcast) take a batch each, not a
// Step's budget: the snapshot goes out with the rest left for the Steps
// after it. Each receive inside the tick reading a Step's budget, this
// Step read all 1000 before its snapshot.
func TestBacklogDoesNotHoldTheTick(t *testing.T) {
	r := newRig(t, netsim.Config{}, server.Config{TickRate: 100})
	c := r.client("10.0.0.2:5000")
	r.connect(c, 0)
	r.advance(20*time.Millisecond, nil)
	st := r.srv.Stats()
	// Just before the next deadline, 1000 poses queue up unread.
	due := r.srv.NextTick()
	r.net.SetNow(due - 1)
	for i := range 1000 {
		c.pose(uint32(100+i), float32(i)/1000)
	}
	rx0, ticks0 := st.RxPackets.Load(), st.Ticks.Load()
	r.net.SetNow(due)
	r.srv.Step(due)
	read := st.RxPackets.Load() - rx0
	if st.Ticks.Load() != ticks0+1 {
		t.Fatalf("the Step at the deadline ran %d ticks, want 1", st.Ticks.Load()-ticks0)
	}
	if max := uint64(8*64 + 3*64); read > max || read < 8*64 {
		t.Errorf("the Step that ran the tick read %d of 1000 waiting datagrams, want its own 512 and at most a batch for each of the tick's reads (%d in all)", read, max)
	}
	r.advance(10*time.Millisecond, nil)
	if got := st.RxPackets.Load() - rx0; got != 1000 {
		t.Errorf("after the Steps that followed, %d of 1000 read", got)
	}
}
