package server

import (
	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/seal"
	"github.com/arcadexr/arcade/statesync"
	"github.com/arcadexr/arcade/wire"
	"net/netip"
)

const (
	batchSize = 64
	// recvBudget bounds the batches one receive reads, so a flood cannot
	// hold off a tick: what is left waits for the next Step.
	recvBudget = 8
	// tickRecvBudget bounds the batches each receive inside a tick reads
	// (between physics sub-steps, and before the broadcast): those serve
	// what arrives while the tick runs, and a backlog (a host stall leaves
	// one: 2000 headsets send 1500 poses a tick) is the Steps' to drain,
	// not the tick's to hold its snapshot for. With recvBudget each of
	// them read up to 512 datagrams, a millisecond each of a tick already
	// late.
	tickRecvBudget = 1
)

// receive reads what is waiting on the transport, at most budget batches,
// and handles each datagram: handshakes and pings are answered, poses
// applied (eagerly) or kept for the tick. It reports whether the budget
// ran out with datagrams possibly still waiting.
func (s *Server) receive(now int64, budget int) (more bool) {
	for range budget {
		n, err := s.tr.ReadBatch(s.in)
		if err != nil || n == 0 {
			return false
		}
		wall := s.cfg.WallClock()
		for i := range n {
			m := &s.in.Msgs[i]
			if m.RxTime != 0 {
				s.stats.RxDelay.Record(wall - m.RxTime)
			}
			if s.cfg.Tap != nil {
				s.cfg.Tap.Received(m)
			}
			s.handle(now, m)
		}
		if n < len(s.in.Msgs) {
			return false
		}
	}
	return true
}

// handle acts on one received datagram or drops it with a counted reason.
func (s *Server) handle(now int64, m *udp.Message) {
	s.stats.RxPackets.Inc()
	if m.Truncated || m.N > wire.MaxDatagramSize {
		s.stats.drop(DropTooLarge)
		return
	}
	if from := m.Addr.Addr(); len(s.denyList) > 0 && s.denyList.contains(from) || len(s.allowList) > 0 && !s.allowList.contains(from) {
		s.stats.drop(DropDenied)
		return
	}
	b := m.Buf[:m.N]
	h := &s.hdr
	n, err := h.Parse(b)
	if t := h.Type; err == nil && t <= wire.MaxType {
		s.stats.Rx[t].Inc()
		s.stats.RxBytes[t].Add(uint64(len(b)))
	} else {
		s.stats.Rx[0].Inc()
		s.stats.RxBytes[0].Add(uint64(len(b)))
	}
	if err != nil {
		if err == wire.ErrVersion && h.Type == wire.TypeConnectRequest && len(b) >= wire.MinConnectRequestSize {
			s.denyVersion(m.Addr, b[wire.HeaderSize:])
		}
		s.stats.drop(dropReasonFor(err))
		return
	}
	body := b[n:]
	switch h.Type {
	case wire.TypeConnectRequest, wire.TypeChallengeResponse:
		if !s.handshakes.allow(m.Addr.Addr(), now) {
			s.stats.drop(DropRateLimited)
			return
		}
		// On top of each source's budget, one for all: many spoofed
		// sources cannot make the server answer more than this.
		if s.handshakeAll.rate > 0 && !s.handshakeAll.spend(&s.handshakeSlot, now) {
			s.stats.drop(DropHandshakeBudget)
			return
		}
		if h.Type == wire.TypeConnectRequest {
			s.onConnectRequest(now, m.Addr, body)
		} else {
			s.onChallengeResponse(now, m.Addr, body)
		}
	case wire.TypePoseInput, wire.TypePing, wire.TypeDisconnect, wire.TypeDeliveryReport, wire.TypeMessage:
		c := s.sess.byToken[h.Token]
		if c == nil {
			s.stats.drop(DropUnknownToken)
			s.tellUnknown(now, m.Addr, h, len(b))
			return
		}
		if c.addr != m.Addr {
			s.stats.drop(DropWrongSource)
			return
		}
		// Sealed, a datagram is authenticated before it spends the
		// session's budget: junk carrying a victim's address and token
		// (both in clear) costs one failed open, never the victim's
		// allowance. Open, nothing tells the victim's datagrams from
		// forged ones, and both spend it.
		if c.seal != nil {
			if body = s.open(c.seal, h, b); body == nil {
				return
			}
			if !c.confirmed {
				s.confirm(now, c)
			}
		}
		if s.sessionLimit.rate > 0 && !s.sessionLimit.spend(&c.limit, now) {
			s.stats.drop(DropRateLimited)
			return
		}
		c.rtt.acked(h.Ack, now)
		c.up.observe(h.Seq)
		s.onSession(now, c, h, body, m.RxTime)
	default:
		s.stats.drop(DropUnexpected)
	}
}

// open checks and decrypts the sealed datagram b of a session whose
// sealer is sl and returns its body (in s.openBuf), or nil after counting
// the drop.
func (s *Server) open(sl *seal.Session, h *wire.Header, b []byte) []byte {
	if h.Flags&wire.FlagSealed == 0 {
		s.stats.drop(DropUnsealed)
		return nil
	}
	body, err := sl.Open(s.openBuf[:0], b[:wire.HeaderSize], b[wire.HeaderSize:])
	switch err {
	case nil:
		return body[:len(body):len(body)]
	case seal.ErrReplay:
		s.stats.drop(DropReplayed)
	default:
		s.stats.drop(DropBadSeal)
	}
	return nil
}

// onSession handles a datagram from a verified session.
func (s *Server) onSession(now int64, c *session, h *wire.Header, body []byte, rx int64) {
	s.stats.SessionRx.Inc()
	switch h.Type {
	case wire.TypePoseInput:
		m := &s.mPose
		if _, err := m.Parse(body); err != nil {
			s.stats.drop(dropReasonFor(err))
			return
		}
		c.lastHeard = now
		s.recordSeq(now, c, h)
		if !s.inputInOrder(c, m.InputSeq) {
			return
		}
		if m.HasStateAck && c.delta {
			// The newest input's report replaces the last: a forged one
			// lasts until the client's next input.
			c.sync.Held = statesync.Held{Newest: m.StateTick, Mask: m.StateHeld, At: now}
			c.sync.Lag = c.rtt.estimate() // the ticks sent since are not in it yet
		}
		c.inputs++
		s.onPose(now, c, m, rx)
	case wire.TypePing:
		m := &s.mPing
		if _, err := m.Parse(body); err != nil {
			s.stats.drop(dropReasonFor(err))
			return
		}
		c.lastHeard = now
		s.recordSeq(now, c, h)
		p := wire.Pong{PingID: m.PingID, ClientTime: m.ClientTime, ServerRecvTime: s.micros(now), ServerSendTime: s.micros(now)}
		s.finish(p.Append(s.beginConn(now, c, wire.TypePong)))
	case wire.TypeDeliveryReport:
		if _, err := s.mReport.Parse(body); err != nil {
			s.stats.drop(dropReasonFor(err))
			return
		}
		c.lastHeard = now
		s.recordSeq(now, c, h)
		s.onDeliveryReport(now, c, &s.mReport)
	case wire.TypeMessage:
		if _, err := s.mMessage.Parse(body); err != nil {
			s.stats.drop(dropReasonFor(err))
			return
		}
		s.onMessage(now, c, h, s.mMessage.Payload)
	case wire.TypeDisconnect:
		if _, err := s.mDisc.Parse(body); err != nil {
			s.stats.drop(dropReasonFor(err))
			return
		}
		s.remove(now, c, wire.DisconnectClientLeft, false)
	}
}

// Input sequence rules. An input must be newer than the newest one of its
// session, by at most maxInputJump: a client numbers the inputs it sends,
// and more than that lost in a row outlasts the idle timeout, so a bigger
// jump is a forgery meant to make the real inputs look old. Old inputs are
// dropped, but inputResync of them in a row, each following the one
// before, are the client's own sequence: the newest is moved back to them,
// so a forged jump that got in freezes an avatar for a few inputs at most.
const (
	maxInputJump = 1024
	inputResync  = 8
)

// inputInOrder applies the input sequence rules to an input numbered seq
// from c and reports whether to take it.
func (s *Server) inputInOrder(c *session, seq uint32) bool {
	newest, ok := c.newest()
	if !ok {
		return true
	}
	d := int32(seq - newest.InputSeq)
	switch {
	case d > maxInputJump:
		s.stats.drop(DropImplausibleInput)
		return false
	case d > 0:
		c.oldRun = 0
		return true
	}
	if e := int32(seq - c.oldNewest); c.oldRun > 0 && e > 0 && e <= maxInputJump {
		c.oldRun++
	} else {
		c.oldRun = 1
	}
	c.oldNewest = seq
	if c.oldRun >= inputResync {
		c.oldRun = 0
		s.stats.InputResyncs.Inc()
		return true
	}
	s.stats.drop(DropStaleInput)
	return false
}

// tellUnknown answers a session message whose token no session has with
// Disconnect(UnknownSession), so that a headset of a server that restarted
// starts a new handshake at once instead of waiting for its timeout. In
// clear (no key is held for the token), 23 bytes, never more than the
// datagram answered, at most 2 a second per source address and port (the
// headsets of a venue behind one address each get theirs) and 200 in all:
// no amplification and no flood of answers to spoofed sources.
func (s *Server) tellUnknown(now int64, to netip.AddrPort, h *wire.Header, size int) {
	const replySize = wire.HeaderSize + wire.DisconnectSize
	if h.Type == wire.TypeDisconnect || size < replySize ||
		!s.unknownAll.spend(&s.unknownSlot, now) || !s.unknownBySource.allow(portKey(to), now) {
		return
	}
	r := wire.Header{Type: wire.TypeDisconnect, Token: h.Token}
	d := wire.Disconnect{Reason: wire.DisconnectUnknownSession}
	s.finish(d.Append(s.begin(to, r)))
	s.stats.UnknownSessionNotices.Inc()
}

// portKey is a limiter key for an address and port: the address with the
// port folded into bytes 8–9 (zero in every IPv4 address's 16-byte form).
func portKey(ap netip.AddrPort) netip.Addr {
	b := ap.Addr().As16()
	b[8], b[9] = byte(ap.Port()>>8), byte(ap.Port())
	return netip.AddrFrom16(b)
}
