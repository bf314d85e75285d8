package server

import (
	"net/netip"
	"slices"

	"github.com/arcadexr/arcade/reliable"
	"github.com/arcadexr/arcade/seal"
	"github.com/arcadexr/arcade/statesync"
	"github.com/arcadexr/arcade/wire"
)

// session is one connected headset. The tick thread owns it.
type session struct {
	id      uint16
	token   uint64
	nonce   uint64
	addr    netip.AddrPort
	addrStr string
	name    string
	unicast bool // snapshots go to this client by unicast now
	// playerID identifies the player across sessions (zero: anonymous);
	// resumed says this session took over a departed one.
	playerID [wire.PlayerIDSize]byte
	resumed  bool
	// fixedUnicast: asked for unicast at connect, or multicast is off. Such
	// a client is never probed or switched.
	fixedUnicast bool
	delivery     deliveryState
	lastHeard    int64 // mono ns

	// ep is the session's reliable channel. It owns the packet sequence of
	// every datagram on the session (the header's Seq) and the
	// acknowledgements of the client's (Ack, AckBits).
	ep *reliable.Endpoint
	// due is the session's place in the server's reliable-deadline heap
	// (-1: not in it); relDirty says ep took a datagram or a message since
	// its deadline was last asked, and the session is on s.relDirty.
	due      int
	relAt    int64
	relDirty bool
	limit    limitSlot // this session's datagram budget
	// seal seals and opens every datagram after the handshake when the
	// server has a passphrase; nil otherwise. accept is what the sealed
	// Accepted carries (for a resend); confirmed, that the client sealed a
	// datagram that opened (always true without a passphrase): only then
	// is it a player. created is when the session was made.
	seal      *seal.Session
	accept    *seal.Accept
	confirmed bool
	created   int64
	rtt       rttTracker
	up        upstream // loss on the client's path to the server
	lat       latRing  // server-added latency of this client's inputs (its avatar)
	grabLat   latRing  // the same, for the objects its hands hold

	// applied is the avatar: the newest input applied (eagerly, or at the
	// tick when eager is off). pending, when hasPending, is the newest
	// input received since the last tick that the tick has yet to apply
	// (eager off only).
	applied    wire.PoseInput
	hasApplied bool
	// inputApplied: an input of this session was applied (a resumed
	// session's kept avatar is applied without one).
	inputApplied bool
	pending      wire.PoseInput
	hasPending   bool
	inputs       uint64
	// A run of old inputs, each following the one before (inputInOrder):
	// the newest of it and its length.
	oldNewest uint32
	oldRun    int
	// stamp is the eager update generation that last listed this
	// session's avatar.
	stamp uint32
	// delta: the client takes the tick's state as StateDelta; sync is
	// what it reported holding, and its repairs (§10.4).
	delta bool
	// coded: it also decodes coded StateDelta payloads (wire.DeltaCoded).
	coded bool
	sync  statesync.Member
	// desync is what the client reported of its state hash checks
	// (desync.go).
	desync desyncState
}

// newest returns the newest input received from c, applied or not, and
// whether there is one.
func (c *session) newest() (*wire.PoseInput, bool) {
	if c.hasPending {
		return &c.pending, true
	}
	return &c.applied, c.hasApplied
}

// sessions is the connection table.
type sessions struct {
	byToken map[uint64]*session
	byAddr  map[netip.AddrPort]*session
	order   []*session // connected, sorted by id
	// uni is the sessions of order on unicast now (session.unicast),
	// sorted by id: what only concerns them (a unicast copy of every
	// state datagram) walks this list, not every session.
	uni     []*session
	usedIDs []bool // index = client id
	// Players whose session ended within ResumeWindow, and the ids kept
	// for them meanwhile.
	departed      map[[wire.PlayerIDSize]byte]departed
	reservedUntil []int64
}

func newSessions(maxClients int) sessions {
	return sessions{
		byToken:       make(map[uint64]*session, maxClients),
		byAddr:        make(map[netip.AddrPort]*session, maxClients),
		order:         make([]*session, 0, maxClients),
		uni:           make([]*session, 0, maxClients),
		usedIDs:       make([]bool, maxClients+1),
		departed:      make(map[[wire.PlayerIDSize]byte]departed),
		reservedUntil: make([]int64, maxClients+1),
	}
}

// add puts c in the table.
func (t *sessions) add(c *session) {
	t.usedIDs[c.id] = true
	t.byToken[c.token] = c
	t.byAddr[c.addr] = c
	i, _ := slices.BinarySearchFunc(t.order, c.id, byID)
	t.order = slices.Insert(t.order, i, c)
	if c.unicast {
		t.setUnicast(c, true)
	}
}

func byID(c *session, id uint16) int { return int(c.id) - int(id) }

// setUnicast sets c.unicast, keeping t.uni in step.
func (t *sessions) setUnicast(c *session, unicast bool) {
	i, in := slices.BinarySearchFunc(t.uni, c.id, byID)
	in = in && t.uni[i] == c
	switch {
	case unicast && !in:
		t.uni = slices.Insert(t.uni, i, c)
	case !unicast && in:
		t.uni = slices.Delete(t.uni, i, i+1)
	}
	c.unicast = unicast
}

// delete takes c out of the table.
func (t *sessions) delete(c *session) {
	delete(t.byToken, c.token)
	delete(t.byAddr, c.addr)
	t.usedIDs[c.id] = false
	if i, ok := slices.BinarySearchFunc(t.order, c.id, byID); ok {
		t.order = slices.Delete(t.order, i, i+1)
	}
	if i, ok := slices.BinarySearchFunc(t.uni, c.id, byID); ok && t.uni[i] == c {
		t.uni = slices.Delete(t.uni, i, i+1)
	}
}

// byID returns the connected client with id, or nil.
func (t *sessions) byID(id uint16) *session {
	if i, ok := slices.BinarySearchFunc(t.order, id, byID); ok {
		return t.order[i]
	}
	return nil
}

// freeID returns the lowest client id neither in use nor reserved for a
// departed player who may come back, or 0 when the table holds max.
func (t *sessions) freeID(now int64, max int) uint16 {
	if len(t.order) >= max {
		return 0
	}
	for id := 1; id < len(t.usedIDs); id++ {
		if !t.usedIDs[id] && t.reservedUntil[id] <= now {
			return uint16(id)
		}
	}
	// Every free id is reserved: the newest arrival is served before a
	// player who may never return.
	for id := 1; id < len(t.usedIDs); id++ {
		if !t.usedIDs[id] {
			return uint16(id)
		}
	}
	return 0
}

// newToken returns a random session token no session has and that is
// neither 0 nor the group token.
func (s *Server) newToken() uint64 {
	for {
		t := s.rng.Uint64()
		if t != 0 && t != s.groupToken && s.sess.byToken[t] == nil {
			return t
		}
	}
}

// remove ends a session. When notify is set the client is told why.
func (s *Server) remove(now int64, c *session, why wire.DisconnectReason, notify bool) {
	if notify {
		d := wire.Disconnect{Reason: why}
		s.finish(d.Append(s.beginConn(now, c, wire.TypeDisconnect)))
	}
	s.recordLeave(now, c)
	if s.world != nil && c.confirmed {
		s.world.RemovePlayer(c.id, now)
	}
	if c.confirmed {
		s.emit(Event{ID: c.id, Name: c.name, Addr: c.addrStr, Reason: why, At: now})
	} else {
		s.unconfirmed--
	}
	if why != wire.DisconnectServerShutdown && why != wire.DisconnectKicked && c.confirmed {
		s.noteDeparture(now, c)
	}
	s.sess.delete(c)
	s.logSessionEnded(c)
	c.ep.Close() // its receive buffers go back to the server's budget now
	s.rel.forget(c)
	s.eager.forget(c)
	s.snapLat.forget(c)
	if !c.fixedUnicast {
		s.multicastN--
	}
	s.stats.Clients.Store(int64(len(s.sess.order) - s.unconfirmed))
}

// expire removes the sessions silent for longer than the idle timeout,
// telling them why.
func (s *Server) expire(now int64) {
	for i := 0; i < len(s.sess.order); i++ {
		c := s.sess.order[i]
		switch {
		case !c.confirmed && now-c.created > unconfirmedLife:
			// Its client never sealed a datagram that opened: it
			// does not know the passphrase.
			s.stats.drop(DropBadPassphrase)
			s.remove(now, c, wire.DisconnectTimeout, false)
			i--
		case now-c.lastHeard > int64(s.cfg.IdleTimeout):
			s.remove(now, c, wire.DisconnectTimeout, true)
			i--
		}
	}
}

// Shutdown tells every client the server is going away and ends all
// sessions.
func (s *Server) Shutdown(now int64) {
	s.finalCheckpoint(now) // before the players let go
	for len(s.sess.order) > 0 {
		c := s.sess.order[len(s.sess.order)-1]
		d := wire.Disconnect{Reason: wire.DisconnectServerShutdown}
		// Twice: a lost goodbye would leave the headset waiting for its timeout.
		s.finish(d.Append(s.beginConn(now, c, wire.TypeDisconnect)))
		s.finish(d.Append(s.beginConn(now, c, wire.TypeDisconnect)))
		s.remove(now, c, wire.DisconnectServerShutdown, false)
	}
	s.flush()
}
