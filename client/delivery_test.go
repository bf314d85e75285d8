package client

import (
	"testing"
	"time"

	"github.com/arcadexr/arcade/wire"
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
	d.report(250*ms, PathStats{Received: 45, Lost: 5}, PathStats{Received: 23, Lost: 1}, &r)
	if r.Samples != 40 || r.ExcessP50 != 3000 || r.ExcessP90 != 3000 {
		t.Fatalf("report %+v, want 40 samples of +3 ms", r)
	}
	if r.McastReceived != 45 || r.McastLost != 5 || r.WindowMs != 250 || r.Flags != 0 || r.UnicastLoss != 417 {
		t.Fatalf("report %+v", r)
	}
	// The next window counts from here; lost counters that shrink (a late
	// arrival filled a gap) do not wrap.
	d.arrival(42, 600*ms, false)
	d.arrival(42, 590*ms, true) // multicast first: negative excess
	d.joined = false
	d.report(500*ms, PathStats{Received: 50, Lost: 4}, PathStats{Received: 43, Lost: 1}, &r)
	if r.Samples != 1 || r.ExcessP50 != -10000 || r.McastReceived != 5 || r.McastLost != 0 || r.Flags&wire.DeliveryNotJoined == 0 {
		t.Fatalf("second report %+v", r)
	}
	if r.UnicastLoss != 0 { // 20 received, none lost since the first report
		t.Fatalf("second report: unicast loss %d, want 0", r.UnicastLoss)
	}
	now := 500 * ms
	if a := testing.AllocsPerRun(100, func() {
		now += 250 * ms
		d.arrival(uint32(now/ms), now, false)
		d.arrival(uint32(now/ms), now+ms, true)
		d.report(now, PathStats{Received: 60, Lost: 4}, PathStats{Received: 80, Lost: 3}, &r)
	}); a != 0 {
		t.Errorf("arrival+report: %v allocs, want 0", a)
	}
}

// TestUnicastLoss checks the unicast loss of a report from the counters at
// the start and end of its window.
func TestUnicastLoss(t *testing.T) {
	base := PathStats{Received: 1000, Lost: 50, Late: 3, Duplicates: 7}
	for _, tc := range []struct {
		received, lost uint64 // counters at the end of the window
		want           uint16
	}{
		{1000, 50, wire.UnicastLossUnknown}, // nothing expected
		{1019, 50, wire.UnicastLossUnknown}, // 19 expected
		{1018, 51, wire.UnicastLossUnknown}, // 19 expected, 1 lost
		{1020, 50, 0},                       // 20 expected: known
		{1019, 51, 500},                     // 1 of 20 lost
		{1023, 51, 417},                     // 1 of 24: 416.67 rounds up
		{1000, 70, wire.MaxUnicastLoss},     // everything lost
		{1000 + 9999, 51, 1},                // 1 of 10000
		{1000 + 19999, 51, 1},               // 1 of 20000: 0.5 rounds up
		{1000 + 29999, 51, 0},               // 1 of 30000: 0.33 rounds down
		{1030, 45, 0},                       // late arrivals filled old gaps
		{1010, 45, wire.UnicastLossUnknown}, // ... and fewer than 20 arrived
		{1000 + 1<<40, 50 + 1<<40, 5000},    // huge counts do not overflow
	} {
		got := unicastLoss(PathStats{Received: tc.received, Lost: tc.lost}, base)
		if got != tc.want {
			t.Errorf("received %d, lost %d since %+v: unicast loss %d, want %d", tc.received, tc.lost, base, got, tc.want)
		}
	}
}

// TestReportUnicastLoss checks that a session's reports give the unicast
// path's loss over each window from the gaps in the server's unicast
// sequence, and that too few unicast datagrams make it unknown.
func TestReportUnicastLoss(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{})
	f.connect(s, t0)
	report := func(now int64) wire.DeliveryReport {
		t.Helper()
		s.Update(now)
		var rep wire.DeliveryReport
		n := 0
		for _, r := range f.drain(s) {
			if r.h.Type == wire.TypeDeliveryReport {
				if _, err := rep.Parse(r.body); err != nil {
					t.Fatal(err)
				}
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d reports at %d ms, want 1", n, (now-t0)/ms)
		}
		return rep
	}
	// First window: 40 unicast snapshots, with 4 server seqs skipped
	// between them (lost), and 30 multicast ones with 3 skipped.
	now := t0
	for i := range 44 {
		now += 5 * ms
		snap := f.unicastSnapshot(testSnapshot(uint32(10 + i)))
		if i%11 == 5 {
			continue // sent, lost
		}
		s.Handle(now, snap, now, false)
	}
	for i := range 33 {
		snap := f.multicastSnapshot(testSnapshot(uint32(100 + i)))
		if i%11 == 5 {
			continue
		}
		s.Handle(now, snap, now, true)
	}
	rep := report(t0 + ReportInterval)
	if rep.UnicastLoss != 909 || rep.McastReceived != 30 || rep.McastLost != 3 {
		t.Errorf("first report %+v, want unicast loss 909 (4 of 44), multicast 30 received, 3 lost", rep)
	}
	// The unicast loss spans the last unicastWindows windows: a second
	// window with 5 more (none lost) gives 4 of 49.
	now = t0 + ReportInterval
	for i := range 5 {
		now += 5 * ms
		s.Handle(now, f.unicastSnapshot(testSnapshot(uint32(200+i))), now, false)
	}
	if rep = report(t0 + 2*ReportInterval); rep.UnicastLoss != 816 {
		t.Errorf("second report %+v, want unicast loss 816 (4 of 49 over two windows)", rep)
	}
	// After unicastWindows clean windows of 25 datagrams the early loss
	// has left the span.
	tick := uint32(300)
	for w := 2; w < 2+unicastWindows; w++ {
		now = t0 + int64(w)*ReportInterval
		for range 25 {
			now += 5 * ms
			tick++
			s.Handle(now, f.unicastSnapshot(testSnapshot(tick)), now, false)
		}
		rep = report(t0 + int64(w+1)*ReportInterval)
	}
	if rep.UnicastLoss != 0 {
		t.Errorf("after %d clean windows: %+v, want unicast loss 0", unicastWindows, rep)
	}
}

func TestUnicastLossUnknownWithFewDatagrams(t *testing.T) {
	var d deliveryTracker
	d.begin(0, PathStats{}, PathStats{})
	var r wire.DeliveryReport
	d.report(ReportInterval, PathStats{}, PathStats{Received: 5}, &r)
	if r.UnicastLoss != wire.UnicastLossUnknown {
		t.Fatalf("unicast loss %d from 5 datagrams, want unknown", r.UnicastLoss)
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

// TestReportStarved: a window in which more than a tenth of the datagrams
// were read more than StarvedLag late is reported DeliveryStarved; one
// that kept up is not.
func TestReportStarved(t *testing.T) {
	var d deliveryTracker
	d.joined = true
	var r wire.DeliveryReport
	for i := range 100 {
		lag := int64(time.Millisecond)
		if i%8 == 0 { // 13 of 100 late
			lag = int64(StarvedLag) + 1
		}
		d.readAt(lag)
	}
	d.report(250e6, PathStats{}, PathStats{}, &r)
	if r.Flags&wire.DeliveryStarved == 0 {
		t.Fatalf("13 %% read late: flags %#x", r.Flags)
	}
	for i := range 100 {
		lag := int64(0)
		if i%20 == 0 { // 5 of 100 late
			lag = int64(StarvedLag) * 2
		}
		d.readAt(lag)
	}
	d.report(500e6, PathStats{}, PathStats{}, &r)
	if r.Flags&wire.DeliveryStarved != 0 {
		t.Fatalf("5 %% read late: flags %#x", r.Flags)
	}
}
