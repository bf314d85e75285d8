package client

import (
	"testing"

	"arcade/wire"
)

// withoutReports drops DeliveryReports from a drained batch, for tests about
// other traffic.
func withoutReports(in []received) []received {
	out := in[:0]
	for _, r := range in {
		if r.h.Type != wire.TypeDeliveryReport {
			out = append(out, r)
		}
	}
	return out
}

func TestDeliveryTrackerPairsAndReports(t *testing.T) {
	var d deliveryTracker
	d.joined = true
	const ms = int64(1e6)
	// Ticks 1..40: unicast reference at t, multicast 3 ms later; tick 41
	// only by multicast (no pair); tick 3's multicast copy repeated.
	for tick := uint32(1); tick <= 40; tick++ {
		at := int64(tick) * 8 * ms
		d.arrival(tick, at, false)
		d.arrival(tick, at+3*ms, true)
	}
	d.arrival(3, 400*ms, true)
	d.arrival(41, 500*ms, true)
	var r wire.DeliveryReport
	d.report(250*ms, PathStats{Received: 45, Lost: 5}, &r)
	if r.Samples != 40 || r.ExcessP50 != 3000 || r.ExcessP90 != 3000 {
		t.Fatalf("report %+v, want 40 samples of +3 ms", r)
	}
	if r.McastReceived != 45 || r.McastLost != 5 || r.WindowMs != 250 || r.Flags != 0 {
		t.Fatalf("report %+v", r)
	}
	// The next window counts from here; lost counters that shrink (a late
	// arrival filled a gap) do not wrap.
	d.arrival(42, 600*ms, false)
	d.arrival(42, 590*ms, true) // multicast first: negative excess
	d.joined = false
	d.report(500*ms, PathStats{Received: 50, Lost: 4}, &r)
	if r.Samples != 1 || r.ExcessP50 != -10000 || r.McastReceived != 5 || r.McastLost != 0 || r.Flags&wire.DeliveryNotJoined == 0 {
		t.Fatalf("second report %+v", r)
	}
}

func TestReportsOnlyForMulticastSessions(t *testing.T) {
	for _, unicast := range []bool{false, true} {
		f := newFakeServer(t)
		s := newTestSession(SessionConfig{Unicast: unicast})
		f.connect(s, t0)
		reports := 0
		now := t0
		for range 20 {
			now += 100 * 1e6
			s.Update(now)
			for _, r := range f.drain(s) {
				if r.h.Type == wire.TypeDeliveryReport {
					var rep wire.DeliveryReport
					if _, err := rep.Parse(r.body); err != nil {
						t.Fatal(err)
					}
					reports++
				}
			}
		}
		if unicast && reports != 0 {
			t.Errorf("unicast session sent %d delivery reports", reports)
		}
		if !unicast && (reports < 6 || reports > 9) {
			t.Errorf("multicast session sent %d reports in 2 s, want one per 250 ms", reports)
		}
	}
}
