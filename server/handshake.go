package server

import (
	"encoding/binary"
	"net/netip"

	"arcade/reliable"
	"arcade/seal"
	"arcade/wire"
)

// The stateless handshake (docs/PROTOCOL.md §7): a ConnectRequest gets a
// cookie and nothing is kept; a ChallengeResponse with a valid cookie
// (and, with a passphrase, a valid proof) creates the session.

func (s *Server) onConnectRequest(now int64, from netip.AddrPort, body []byte) {
	m := &s.mConnect
	if _, err := m.Parse(body); err != nil {
		s.stats.drop(dropReasonFor(err))
		return
	}
	// Stateless: the reply is a cookie, far smaller than the padded request.
	var ch wire.Challenge
	ch.ClientNonce = m.ClientNonce
	s.cookies.issue(&ch.Cookie, s.micros(now), from, m.ClientNonce)
	b := s.begin(from, wire.Header{Type: wire.TypeChallenge})
	s.finish(ch.Append(b))
}

func (s *Server) onChallengeResponse(now int64, from netip.AddrPort, body []byte) {
	m := &s.mResponse
	if _, err := m.Parse(body); err != nil {
		s.stats.drop(dropReasonFor(err))
		return
	}
	if !s.cookies.check(&m.Cookie, s.micros(now), from, m.ClientNonce) {
		s.stats.drop(DropBadCookie)
		s.deny(from, m.ClientNonce, wire.DenyBadCookie)
		return
	}
	if s.sealed && (m.Flags&wire.ConnectHasProof == 0 || !seal.CheckProof(&s.passKey, m.ClientNonce, m.Cookie[:], m.Proof)) {
		s.stats.drop(DropBadPassphrase)
		s.deny(from, m.ClientNonce, wire.DenyBadPassphrase)
		return
	}
	if c := s.sess.byAddr[from]; c != nil {
		if c.nonce == m.ClientNonce {
			// Our Accepted was lost; say it again.
			c.lastHeard = now
			s.sendAccepted(now, c)
			return
		}
		// The same source started a new session: the old one is over.
		s.remove(now, c, wire.DisconnectClientLeft, false)
	}
	if s.usedCookies.seen(&m.Cookie, s.micros(now)) {
		// This very response made a session that is gone: a replay.
		s.stats.drop(DropReplayedHandshake)
		return
	}
	// The same player from elsewhere (a headset that roamed to another
	// address): its old session ends as if it had left, and this one
	// resumes it.
	if old := s.liveByPlayer(m.PlayerID); old != nil {
		s.remove(now, old, wire.DisconnectClientLeft, true)
	}
	prev, resume := s.resumable(now, m.PlayerID)
	id := prev.id
	if !resume {
		id = s.sess.freeID(now, s.cfg.MaxClients)
	}
	if id == 0 {
		s.stats.drop(DropServerFull)
		s.deny(from, m.ClientNonce, wire.DenyServerFull)
		return
	}
	var sl *seal.Session
	if s.sealed {
		var err error
		if sl, err = seal.NewSession(&s.passKey, m.ClientNonce, m.Cookie[:], true); err != nil {
			s.stats.drop(DropBadPassphrase) // cannot happen: the key sizes are fixed
			return
		}
	}
	c := &session{
		seal:      sl,
		id:        id,
		token:     s.newToken(),
		nonce:     m.ClientNonce,
		addr:      from,
		addrStr:   from.String(),
		name:      string(m.Name[:m.NameLen]),
		unicast:   m.Flags&wire.ConnectWantUnicast != 0 || s.cfg.NoMulticast,
		lastHeard: now,
		limit:     limitSlot{tokens: s.sessionLimit.burst, last: now},
		playerID:  m.PlayerID,
		resumed:   resume,
		ep:        s.newEndpoint(),
		due:       -1,
		relAt:     reliable.Never,
	}
	if resume && prev.has {
		// The avatar stays where it was until the first new input.
		c.applied, c.hasApplied = prev.avatar, true
	}
	s.sess.add(c)
	s.usedCookies.add(&m.Cookie)
	c.fixedUnicast = c.unicast
	c.delivery.reason = reasonMulticast
	if c.fixedUnicast {
		c.delivery.reason = reasonAsked
		if s.cfg.NoMulticast {
			c.delivery.reason = reasonNoMulticast
		}
	} else {
		s.multicastN++
	}
	s.stats.Clients.Store(int64(len(s.sess.order)))
	if s.world != nil {
		s.world.AddPlayer(id, now)
	}
	s.sendAccepted(now, c)
}

func (s *Server) sendAccepted(now int64, c *session) {
	a := wire.Accepted{
		ClientNonce: c.nonce,
		ClientID:    c.id,
		TickRate:    uint16(s.cfg.TickRate),
		ServerTime:  s.micros(now),
		GroupToken:  s.groupToken,
	}
	if !s.cfg.NoMulticast {
		a.Multicast = s.cfg.Multicast
	}
	if c.unicast {
		a.Flags |= wire.AcceptedUnicast
	}
	if c.resumed {
		a.Flags |= wire.AcceptedResumed
	}
	if c.seal != nil {
		a.Flags |= wire.AcceptedSealed
	}
	// The Accepted is the last datagram in clear: beginConn does not seal it.
	s.finish(a.Append(s.beginConn(now, c, wire.TypeAccepted)))
}

func (s *Server) deny(to netip.AddrPort, nonce uint64, r wire.DenyReason) {
	d := wire.Denied{ClientNonce: nonce, Reason: r}
	s.finish(d.Append(s.begin(to, wire.Header{Type: wire.TypeDenied})))
}

// denyVersion answers a padded connect request of another protocol version.
// Every version's connect request body starts with the client nonce.
func (s *Server) denyVersion(to netip.AddrPort, body []byte) {
	if len(body) < 8 {
		return
	}
	s.deny(to, binary.LittleEndian.Uint64(body), wire.DenyVersionMismatch)
}
