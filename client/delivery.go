package client

import (
	"slices"
	"time"

	"github.com/arcadexr/arcade/wire"
)

// ReportInterval is how often a client on multicast tells the server how its
// multicast path compares with unicast.
const ReportInterval = 250_000_000 // ns

// pairSlots is how many recent ticks the delivery tracker remembers.
const pairSlots = 64

// maxSamples bounds the excess-delay samples of one report window.
const maxSamples = 256

// minUnicastExpected is the fewest unicast datagrams the unicast window
// must expect (received + lost) for a report to give a unicast loss.
const minUnicastExpected = 20

// unicastWindows is how many report windows (about 4 s) the unicast loss
// spans: a client on multicast gets only a few unicast datagrams (probes,
// pongs) per 250 ms window, far too few for a loss figure of its own.
const unicastWindows = 16

// deliveryTracker pairs the arrival of each tick's multicast snapshot with a
// unicast reference for the same tick (a DeliveryProbe, or the unicast
// snapshot when the server has switched this client to unicast) and keeps
// the report window's statistics. It never allocates.
type deliveryTracker struct {
	slots   [pairSlots]pairSlot
	samples [maxSamples]int32 // µs, multicast minus unicast
	n       int
	start   int64                     // window start, ns
	base    PathStats                 // multicast path counters at window start
	ubase   PathStats                 // unicast path counters at the start of the unicast span
	uring   [unicastWindows]PathStats // unicast counters at the last window starts
	uwin    int                       // windows begun
	joined  bool                      // the multicast group could be joined
	on      bool                      // reports are due: connected with a multicast group
	// Datagrams read this window, and those read more than StarvedLag
	// after the kernel had them.
	read, late int
}

// StarvedLag is how long after the kernel received a datagram the client
// may read it and still count as keeping up: half a tick at 120 Hz. A
// client that reads more than a tenth of a report window's datagrams later
// than that says so (wire.DeliveryStarved): its reader is starved (its
// CPU, its app), and the losses it sees are its own.
const StarvedLag = 4 * time.Millisecond

// readAt records a datagram read lag after the kernel received it.
func (d *deliveryTracker) readAt(lag int64) {
	d.read++
	if lag > int64(StarvedLag) {
		d.late++
	}
}

type pairSlot struct {
	tick   uint32
	uc, mc int64 // arrival times, ns; 0 = not yet
}

// arrival records that tick's datagram arrived at t on one path.
func (d *deliveryTracker) arrival(tick uint32, t int64, viaMulticast bool) {
	sl := &d.slots[tick%pairSlots]
	if sl.tick != tick || (sl.uc == 0 && sl.mc == 0) {
		*sl = pairSlot{tick: tick}
	}
	if viaMulticast {
		if sl.mc != 0 {
			return
		}
		sl.mc = t
	} else {
		if sl.uc != 0 {
			return
		}
		sl.uc = t
	}
	if sl.uc != 0 && sl.mc != 0 && d.n < maxSamples {
		d.samples[d.n] = int32(max(min((sl.mc-sl.uc)/1000, 1<<30), -(1 << 30)))
		d.n++
	}
}

// begin starts a window at now, with the paths' counters then. The unicast
// loss is measured from the start of the window unicastWindows ago.
func (d *deliveryTracker) begin(now int64, mc, uc PathStats) {
	d.start, d.base = now, mc
	d.uring[d.uwin%unicastWindows] = uc
	// The report at the end of this window covers it and the
	// unicastWindows-1 before it (all of them, at first).
	d.ubase = d.uring[(d.uwin+1)%unicastWindows]
	if d.uwin < unicastWindows-1 {
		d.ubase = d.uring[0]
	}
	d.uwin++
}

// report fills r with the window that ends at now and starts a new one; mc
// and uc are the multicast and unicast path counters now.
func (d *deliveryTracker) report(now int64, mc, uc PathStats, r *wire.DeliveryReport) {
	*r = wire.DeliveryReport{WindowMs: uint16(max(1, min((now-d.start)/1e6, 65535)))}
	r.McastReceived = uint16(min(mc.Received-d.base.Received, 65535))
	if mc.Lost > d.base.Lost { // late arrivals can fill earlier gaps
		r.McastLost = uint16(min(mc.Lost-d.base.Lost, 65535))
	}
	r.Samples = uint16(d.n)
	if d.n > 0 {
		s := d.samples[:d.n]
		slices.Sort(s)
		r.ExcessP50 = s[(d.n-1)/2]
		r.ExcessP90 = s[(d.n-1)*9/10]
	}
	if !d.joined {
		r.Flags |= wire.DeliveryNotJoined
	}
	if d.read > 0 && d.late*10 > d.read {
		r.Flags |= wire.DeliveryStarved
	}
	r.UnicastLoss = unicastLoss(uc, d.ubase)
	d.n, d.read, d.late = 0, 0, 0
	d.begin(now, mc, uc)
}

// unicastLoss returns the loss between the unicast counters base and now,
// lost/(received+lost) rounded to the nearest 1/wire.MaxUnicastLoss, or
// wire.UnicastLossUnknown when fewer than minUnicastExpected datagrams were
// expected. The counts are taken as for multicast: a lost counter that
// shrank (late arrivals filled gaps) counts as no loss.
func unicastLoss(now, base PathStats) uint16 {
	var lost uint64
	if now.Lost > base.Lost {
		lost = now.Lost - base.Lost
	}
	expected := now.Received - base.Received + lost
	if expected < minUnicastExpected {
		return wire.UnicastLossUnknown
	}
	return uint16((lost*wire.MaxUnicastLoss + expected/2) / expected)
}
