package server

import (
	"fmt"
	"time"

	"github.com/arcadexr/arcade/wire"
)

// Delivery-mode thresholds. Loss is judged over the last lossWindow
// reports (about 2 s), not one 250 ms report: on a WiFi link with 0.5 %
// loss one lost datagram in 30 is noise, not a reason to switch; and it is
// multicast loss beyond the unicast loss the client reports, since loss
// both paths share is no reason to switch either. Delay is
// the median of multicast arrival minus unicast arrival for the same tick,
// so jitter that both paths share cancels out and only a multicast-specific
// delay (an access point holding multicast for dozing stations) counts.
//
// A client on multicast switches to unicast when: the group could not be
// joined; a report shows no multicast at all; the median excess of
// lateReports consecutive reports (each with at least minSamples pairs)
// exceeds fallbackDelay; or the windowed multicast loss beyond unicast's
// (with at least minExpected datagrams) exceeds fallbackLoss.
// It returns to multicast after recoverAfter of reports within the recovery
// thresholds.
const (
	lossWindow    = 8
	fallbackLoss  = 0.05
	fallbackDelay = 3000 // µs, median excess
	recoverLoss   = 0.02
	recoverDelay  = 1500 // µs
	recoverAfter  = 5 * time.Second
	minExpected   = 100
	lateReports   = 2
	minSamples    = 3
)

// Delivery reasons shown in /api/stats.
const (
	reasonMulticast = "multicast"
	reasonAsked     = "client asked for unicast"
	// reasonStarved: the headset's own reader is late, and its report
	// says so: overload is not blamed on multicast.
	reasonStarved = "the headset reads late: its losses are its own"
	// reasonFallbackFull prefixes why a client would have been moved.
	reasonFallbackFull = "the unicast fallback is at its limit: "
	reasonNoMulticast  = "multicast disabled on the server"
	reasonNotJoined    = "client could not join the multicast group"
	reasonSilent       = "no multicast received while unicast probes arrived"
	reasonRecovered    = "multicast recovered"
)

// deliveryState is what the server knows of one client's multicast path.
type deliveryState struct {
	reason    string
	last      wire.DeliveryReport
	reports   uint64
	goodSince int64 // mono ns; 0 = not currently within recovery thresholds
	// The multicast counts and the unicast loss (1/10000, or
	// wire.UnicastLossUnknown) of the last lossWindow reports.
	recv, lost [lossWindow]uint16
	ucLoss     [lossWindow]uint16
	// lateRuns counts consecutive reports whose median excess is over
	// fallbackDelay: one can be chance when both paths jitter.
	lateRuns int
}

// windowLoss returns the multicast datagrams expected over the last
// lossWindow reports and how much more multicast lost than the headset's
// other paths there: the multicast loss ratio minus the larger of the mean
// unicast loss the client reported and pathLoss, the loss of its own
// datagrams to the server (the same radio link the other way, measured by
// the server from many more datagrams than the unicast it receives). Loss
// that every path to the headset suffers is not multicast's: moving the
// headset to unicast would only add datagrams to a lossy link.
func (d *deliveryState) windowLoss(pathLoss float64) (expected int, excessLoss float64) {
	lost, uc, ucN := 0, 0.0, 0
	for i := range lossWindow {
		expected += int(d.recv[i]) + int(d.lost[i])
		lost += int(d.lost[i])
		if d.ucLoss[i] != wire.UnicastLossUnknown {
			uc += float64(d.ucLoss[i]) / 10000
			ucN++
		}
	}
	if expected > 0 {
		excessLoss = float64(lost) / float64(expected)
	}
	other := pathLoss
	if ucN > 0 {
		other = max(other, uc/float64(ucN))
	}
	return expected, excessLoss - other
}

// recentMcastLossPct is the multicast loss over the last lossWindow
// reports (about 2 s; starved reports count as no data), in percent.
func (d *deliveryState) recentMcastLossPct() float64 {
	expected, lost := 0, 0
	for i := range lossWindow {
		expected += int(d.recv[i]) + int(d.lost[i])
		lost += int(d.lost[i])
	}
	if expected == 0 {
		return 0
	}
	return 100 * float64(lost) / float64(expected)
}

// sendProbes sends a DeliveryProbe for this tick, naming the group
// sequence of the tick's first multicast datagram, to the clients on
// multicast whose turn it is: each every ProbeEvery ticks, or less often
// when that would exceed ProbeBudget probes a second, spread over the
// ticks by client id so that no tick sends them all.
func (s *Server) sendProbes(now int64, firstGroupSeq uint16) {
	if s.cfg.NoUnicastFallback || s.multicastN == 0 {
		return
	}
	every := max(uint64(s.cfg.ProbeEvery), (uint64(s.multicastN)*uint64(s.cfg.TickRate)+uint64(s.cfg.ProbeBudget)-1)/uint64(s.cfg.ProbeBudget))
	p := wire.DeliveryProbe{Tick: s.snap.Tick, ServerTime: s.snap.ServerTime, GroupSeq: firstGroupSeq}
	for _, c := range s.sess.order {
		if !c.unicast && c.confirmed && (s.tickNo+uint64(c.id))%every == 0 {
			s.finish(p.Append(s.beginConn(now, c, wire.TypeDeliveryProbe)))
		}
	}
}

// fallbackAllowed reports whether the unicast fallback may move one more
// client to unicast now (MaxFallback, FallbackBudget, FallbackRate), and
// takes its turn. A moved client costs the tick's state parts (as the
// last tick's Snapshot needed) every tick.
func (s *Server) fallbackAllowed(now int64) bool {
	n := 0
	for _, c := range s.sess.uni {
		if !c.fixedUnicast {
			n++
		}
	}
	cost := float64(max(s.snap.Parts, 1)) * float64(s.cfg.TickRate)
	if n >= s.cfg.MaxFallback || float64(n+1)*cost > s.cfg.FallbackBudget || !s.fallbackLimit.spend(&s.fallbackSlot, now) {
		s.stats.FallbackDeferred.Inc()
		return false
	}
	return true
}

// onDeliveryReport applies a client's report: switch to unicast at the
// first bad one, back to multicast after recoverAfter of good ones.
func (s *Server) onDeliveryReport(now int64, c *session, r *wire.DeliveryReport) {
	d := &c.delivery
	d.last = *r
	i := d.reports % lossWindow
	d.recv[i], d.lost[i], d.ucLoss[i] = r.McastReceived, r.McastLost, r.UnicastLoss
	starved := r.Flags&wire.DeliveryStarved != 0
	if starved {
		// The headset read late: what it lost is its own, not the
		// path's. The window counts as no data, and it is not moved.
		d.recv[i], d.lost[i] = 0, 0
		s.stats.ReportsStarved.Inc()
	}
	d.reports++
	if c.fixedUnicast || s.cfg.NoUnicastFallback {
		return
	}
	if starved && !c.unicast && r.Flags&wire.DeliveryNotJoined == 0 {
		c.delivery.reason = reasonStarved
		return
	}
	expected, loss := d.windowLoss(c.up.recentLossPct() / 100)
	late := r.Samples >= minSamples && r.ExcessP50 > fallbackDelay
	if late {
		d.lateRuns++
	} else {
		d.lateRuns = 0
	}
	var bad string
	switch {
	case r.Flags&wire.DeliveryNotJoined != 0:
		bad = reasonNotJoined
	case r.McastReceived == 0:
		bad = reasonSilent
	case late && d.lateRuns >= lateReports:
		bad = fmt.Sprintf("multicast %.1f ms behind unicast (median, over %.0f ms)", float64(r.ExcessP50)/1e3, float64(fallbackDelay)/1e3)
	case expected >= minExpected && loss > fallbackLoss:
		bad = fmt.Sprintf("multicast loss %.1f%% above unicast's over %d datagrams (over %.0f%%)", 100*loss, expected, 100*fallbackLoss)
	}
	if !c.unicast {
		switch {
		case bad == "":
		case s.fallbackAllowed(now):
			s.setDelivery(now, c, true, bad)
		default:
			// Over the fallback's budget: stays, and says why.
			c.delivery.reason = reasonFallbackFull + bad
		}
		return
	}
	good := bad == "" && (expected < minExpected || loss <= recoverLoss) &&
		(r.Samples < minSamples || r.ExcessP50 <= recoverDelay)
	switch {
	case !good:
		d.goodSince = 0
	case d.goodSince == 0:
		d.goodSince = now
	case now-d.goodSince >= int64(recoverAfter):
		s.setDelivery(now, c, false, reasonRecovered)
	}
}

func (s *Server) setDelivery(now int64, c *session, unicast bool, reason string) {
	s.sess.setUnicast(c, unicast)
	c.delivery.reason = reason
	c.delivery.goodSince = 0
	s.stats.DeliverySwitches.Inc()
	d := "multicast"
	if unicast {
		d = "unicast"
	}
	s.emit(Event{ID: c.id, Name: c.name, Addr: c.addrStr, Delivery: d, DeliveryReason: reason, At: now})
}
