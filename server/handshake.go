package server

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/arcadexr/arcade/reliable"
	"github.com/arcadexr/arcade/seal"
	"github.com/arcadexr/arcade/wire"
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
	if s.sealed && m.Flags&wire.ConnectHasPAKE == 0 {
		// No CPace message: a client without the passphrase (or one that
		// would prove it the old, offline-guessable way).
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
	// address, whose old one went silent): its old session ends as if it
	// had left, and this one resumes it. A player id is in clear on the
	// LAN: one whose session still speaks is not taken over, or anyone
	// could kick a player off; the newcomer is then a player of its own.
	player := m.PlayerID
	if old := s.liveByPlayer(player); old != nil {
		if now-old.lastHeard < int64(roamSilence) {
			player = [wire.PlayerIDSize]byte{}
			s.stats.PlayerIDInUse.Inc()
		} else {
			s.remove(now, old, wire.DisconnectClientLeft, true)
		}
	}
	prev, resume := s.resumable(now, player)
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
	var acc *seal.Accept
	if s.sealed {
		// Sessions whose client has not yet shown it derived the same
		// keys are few and short-lived; and the exchange itself, the
		// costly part, has a server-wide budget.
		if s.unconfirmed >= maxUnconfirmed || !s.pakeAll.spend(&s.pakeSlot, now) {
			s.stats.drop(DropHandshakeBudget)
			return
		}
		var err error
		if acc, sl, err = seal.ServerHandshake(s.passphrase, m.ClientNonce, m.Cookie[:], m.PAKE[:], s.group, nil); err != nil {
			s.stats.drop(DropBadPassphrase) // not a valid CPace message
			s.deny(from, m.ClientNonce, wire.DenyBadPassphrase)
			return
		}
	}
	c := s.newSession(now, SessionCopy{
		Token: s.newToken(), Nonce: m.ClientNonce, ID: id, PlayerID: player, Addr: from, Name: string(m.Name[:m.NameLen]),
		Unicast: m.Flags&wire.ConnectWantUnicast != 0,
		Delta:   m.Flags&wire.ConnectDeltaState != 0,
		Coded:   m.Flags&wire.ConnectCodedState != 0,
	})
	c.seal, c.accept, c.confirmed, c.resumed = sl, acc, !s.sealed, resume
	if resume && prev.has {
		// The avatar stays where it was until the first new input.
		c.applied, c.hasApplied = prev.avatar, true
	}
	s.addSession(c, c.unicast)
	s.logSessionKeys(c)
	s.usedCookies.add(&m.Cookie)
	if c.confirmed {
		s.joined(now, c)
	} else {
		s.unconfirmed++
	}
	s.stats.Clients.Store(int64(len(s.sess.order) - s.unconfirmed))
	s.sendAccepted(now, c)
}

// newSession is the session sc describes, new to this server: its
// reliable channel and budgets fresh, heard from now. The server's
// settings override the client's asks (NoMulticast, NoDeltaState).
func (s *Server) newSession(now int64, sc SessionCopy) *session {
	return &session{
		created:   now,
		id:        sc.ID,
		token:     sc.Token,
		nonce:     sc.Nonce,
		addr:      sc.Addr,
		addrStr:   sc.Addr.String(),
		name:      sc.Name,
		unicast:   sc.Unicast || s.cfg.NoMulticast,
		delta:     sc.Delta && !s.cfg.NoDeltaState,
		coded:     sc.Delta && sc.Coded && !s.cfg.NoDeltaState,
		lastHeard: now,
		limit:     limitSlot{tokens: s.sessionLimit.burst, last: now},
		playerID:  sc.PlayerID,
		ep:        s.newEndpoint(),
		due:       -1,
		relAt:     reliable.Never,
	}
}

// addSession puts c in the table with its delivery mode: fixed on
// unicast (it asked, or multicast is off), or on multicast and probed.
func (s *Server) addSession(c *session, fixedUnicast bool) {
	s.sess.add(c)
	c.fixedUnicast = fixedUnicast || s.cfg.NoMulticast
	switch {
	case s.cfg.NoMulticast:
		c.delivery.reason = reasonNoMulticast
	case c.fixedUnicast:
		c.delivery.reason = reasonAsked
	default:
		c.delivery.reason = reasonMulticast
		s.multicastN++
	}
}

// roamSilence is how long a session must have been silent before a
// handshake with its player id takes it over.
const roamSilence = 500 * time.Millisecond

// maxUnconfirmed bounds the sessions of a sealed server whose client has
// not yet sealed a datagram that opens, and unconfirmedLife how long one
// of them may wait for it (a client that cannot is a failed guess of the
// passphrase).
const (
	maxUnconfirmed  = 32
	unconfirmedLife = 1_000_000_000 // ns
)

// joined makes c a player: in the world and in snapshots. A sealed session
// joins when its client's first sealed datagram opens (confirm).
func (s *Server) joined(now int64, c *session) {
	if c.resumed {
		s.resumed(c)
	}
	s.emit(Event{Join: true, ID: c.id, Name: c.name, Addr: c.addrStr, Resumed: c.resumed, At: now})
	if s.world != nil {
		s.claimID(now, c)
		s.recordJoin(now, c)
		s.world.AddPlayer(c.id, now)
	}
}

// confirm marks c's keys as shared: its client sealed a datagram that
// opened with them, so it ran the exchange with the passphrase.
func (s *Server) confirm(now int64, c *session) {
	c.confirmed = true
	s.unconfirmed--
	s.stats.Clients.Store(int64(len(s.sess.order) - s.unconfirmed))
	s.joined(now, c)
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
	if c.delta {
		a.Flags |= wire.AcceptedDeltaState
	}
	if c.coded {
		a.Flags |= wire.AcceptedCodedState
	}
	if c.accept != nil {
		a.Flags |= wire.AcceptedSealed
		a.PAKE, a.ServerKey, a.GroupKey, a.Confirm = c.accept.PAKE, c.accept.ServerKey, c.accept.GroupKey, c.accept.Confirm
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
