package server

import (
	"fmt"
	"time"

	"arcade/wire"
)

// Delivery-mode thresholds. A client on multicast is switched to unicast
// when one report shows any of: multicast loss above fallbackLoss (with at
// least minExpected datagrams), a 90th-percentile excess delay over unicast
// above fallbackDelay (with at least minSamples pairs), nothing received by
// multicast, or a group it could not join. It goes back to multicast after
// recoverAfter of reports within the recovery thresholds.
const (
	fallbackLoss  = 0.02
	fallbackDelay = 4000 // µs
	recoverLoss   = 0.005
	recoverDelay  = 2000 // µs
	recoverAfter  = 5 * time.Second
	minExpected   = 20
	minSamples    = 3
)

// Delivery reasons shown in /api/stats.
const (
	reasonMulticast   = "multicast"
	reasonAsked       = "client asked for unicast"
	reasonNoMulticast = "multicast disabled on the server"
	reasonNotJoined   = "client could not join the multicast group"
	reasonSilent      = "no multicast received while unicast probes arrived"
	reasonRecovered   = "multicast recovered"
)

// deliveryState is what the server knows of one client's multicast path.
type deliveryState struct {
	reason    string
	last      wire.DeliveryReport
	reports   uint64
	goodSince int64 // mono ns; 0 = not currently within recovery thresholds
}

// sendProbes sends every client on multicast a DeliveryProbe for this tick,
// every ProbeEvery ticks, naming the group sequence of the tick's first
// multicast datagram.
func (s *Server) sendProbes(firstGroupSeq uint16) {
	if s.cfg.NoUnicastFallback || s.multicastN == 0 || s.tickNo%uint64(s.cfg.ProbeEvery) != 0 {
		return
	}
	p := wire.DeliveryProbe{Tick: s.snap.Tick, ServerTime: s.snap.ServerTime, GroupSeq: firstGroupSeq}
	for _, c := range s.order {
		if !c.unicast {
			s.finish(p.Append(s.beginConn(c, wire.TypeDeliveryProbe)))
		}
	}
}

// onDeliveryReport applies a client's report: switch to unicast at the
// first bad one, back to multicast after recoverAfter of good ones.
func (s *Server) onDeliveryReport(now int64, c *conn, r *wire.DeliveryReport) {
	c.delivery.last = *r
	c.delivery.reports++
	if c.fixedUnicast || s.cfg.NoUnicastFallback {
		return
	}
	expected := int(r.McastReceived) + int(r.McastLost)
	loss := 0.0
	if expected > 0 {
		loss = float64(r.McastLost) / float64(expected)
	}
	var bad string
	switch {
	case r.Flags&wire.DeliveryNotJoined != 0:
		bad = reasonNotJoined
	case r.McastReceived == 0:
		bad = reasonSilent
	case expected >= minExpected && loss > fallbackLoss:
		bad = fmt.Sprintf("multicast loss %.1f%% (over %.0f%%)", 100*loss, 100*fallbackLoss)
	case r.Samples >= minSamples && r.ExcessP90 > fallbackDelay:
		bad = fmt.Sprintf("multicast %.1f ms behind unicast at p90 (over %d ms)", float64(r.ExcessP90)/1e3, fallbackDelay/1000)
	}
	if !c.unicast {
		if bad != "" {
			s.setDelivery(c, true, bad)
		}
		return
	}
	good := bad == "" && (expected < minExpected || loss <= recoverLoss) &&
		(r.Samples < minSamples || r.ExcessP90 <= recoverDelay)
	switch {
	case !good:
		c.delivery.goodSince = 0
	case c.delivery.goodSince == 0:
		c.delivery.goodSince = now
	case now-c.delivery.goodSince >= int64(recoverAfter):
		s.setDelivery(c, false, reasonRecovered)
	}
}

func (s *Server) setDelivery(c *conn, unicast bool, reason string) {
	c.unicast = unicast
	c.delivery.reason = reason
	c.delivery.goodSince = 0
	s.stats.DeliverySwitches.Inc()
}
