package client

import (
	"encoding/binary"

	"github.com/arcadexr/arcade/wire"
)

// FenceLease is how long a session keeps refusing lower epochs after the
// last datagram under its own (PROTOCOL §18.4): then the server of that
// epoch no longer writes to it, and the next epoch seen is taken.
const FenceLease = 250_000_000 // ns

// epochFence is a session's view of a standby pair (PROTOCOL §18.4): the
// highest epoch accepted and when a datagram under it last arrived. Zero:
// no server has sent an epoch, nothing is fenced.
type epochFence struct {
	epoch uint32
	seen  bool  // an epoch was accepted (the pair's epochs start above 0)
	at    int64 // last datagram under epoch, client clock (ns)
	moved bool  // the epoch rose since Moved was last called
	// pending: the epoch of the Accepted being handled, taken when it
	// connects the session.
	pending uint32
}

// fence splits the epoch trailer off body (the body in clear, sealed ones
// opened) and applies the fencing rule of PROTOCOL §18.4. It returns the
// body without the trailer, or nil after counting the drop. A higher epoch
// is taken at once: the session forgets the per-server sequence windows
// (§18.5) and Moved reports it, so that the caller sends to the datagram's
// source from then on.
func (s *Session) fence(now int64, h *wire.Header, body []byte) []byte {
	f := &s.epoch
	if h.Flags&wire.FlagEpoch == 0 {
		if f.seen && s.state == Connected && (h.Token == s.token || h.Token == s.accepted.GroupToken && h.Token != 0) {
			s.drop(DropStaleEpoch) // a server that is not of the pair, or one that forgot it
			return nil
		}
		return body
	}
	if len(body) < wire.EpochSize {
		s.drop(DropShort)
		return nil
	}
	n := len(body) - wire.EpochSize
	e := binary.LittleEndian.Uint32(body[n:])
	body = body[:n:n]
	switch {
	case s.state == Connected && h.Token != s.token && (h.Token != s.accepted.GroupToken || h.Token == 0):
		// Not this session's: the token check drops it, it moves nothing.
		return body
	case s.state == Connecting:
		// Handshake replies come from the server the headset asked: the
		// Accepted's epoch is the one it starts at (handled when it is).
		if h.Type == wire.TypeAccepted {
			f.pending = e
		}
		return body
	case !f.seen || e == f.epoch:
	case wire.EpochNewer(e, f.epoch) || now-f.at > FenceLease:
		s.moveEpoch(now, e)
	default:
		s.drop(DropStaleEpoch)
		return nil
	}
	f.epoch, f.seen, f.at = e, true, now
	return body
}

// startEpoch takes the epoch of the Accepted that connected the session,
// if it carried one.
func (s *Session) startEpoch(now int64, h *wire.Header) {
	if h.Flags&wire.FlagEpoch != 0 {
		s.epoch.epoch, s.epoch.seen, s.epoch.at = s.epoch.pending, true, now
	}
}

// moveEpoch goes over to the server of epoch e, higher than the session's
// (or taken after the lease ran out), and opens its Takeover record.
func (s *Session) moveEpoch(now int64, e uint32) {
	s.stats.EpochChanges++
	s.uni = seqWindow{}
	s.multi = seqWindow{}
	s.epoch.moved = true
	tk := &s.takeovers.log
	tk[s.takeovers.n%TakeoverHistory] = Takeover{From: s.epoch.epoch, To: e, LastOld: s.takeovers.lastRx,
		OldAcked: s.takeovers.acked, HasOldAcked: s.takeovers.hasAcked}
	s.takeovers.n++
	s.takeovers.hasAcked = false
	s.restartReliable(now)
}

// restartReliable gives the session a new reliable channel, as the new
// server's is (PROTOCOL §18.5): message ids from 0 on each stream, and
// the messages the old server did not acknowledge queued on it again, in
// order. The old channel's packet numbers mean nothing to the new server.
func (s *Session) restartReliable(now int64) {
	old := s.ep
	s.ep = newReliable(old.Config().MTU)
	old.Unacked(func(stream int, msg []byte) {
		if s.ep.Send(now, stream, msg) != nil {
			s.stats.RPCsLostAtMove++
		}
	})
	old.Close()
}

// TakeoverHistory is how many epoch changes a session remembers for
// Takeovers: a venue sees a takeover in hours, a lab test a few dozen.
const TakeoverHistory = 32

// Takeover is one epoch change as the session saw it (PROTOCOL §18.5):
// the gap in state a headset showed while the room changed server, and
// what each server's state said of the session's own inputs.
type Takeover struct {
	From, To uint32 // the epochs: the session's before, the one it took
	// LastOld is the receive time (client clock, ns) of the last state
	// datagram delivered before the change (under From, or an older
	// epoch if none came under From), 0 if none; FirstNew that of the
	// first delivered under To, 0 until one is.
	LastOld, FirstNew int64
	// OldAcked is the newest of the session's own input seqs that the
	// state before the change showed applied (its player record's
	// LastInputSeq in a Snapshot or EntityUpdate, or a cause of an
	// EntityUpdate naming it); NewAcked the one shown by the first
	// state under To that showed any. HasOldAcked, HasNewAcked: shown.
	OldAcked, NewAcked       uint32
	HasOldAcked, HasNewAcked bool
}

// Gap returns how long the headset showed no new state across the change,
// FirstNew − LastOld (ns), or -1 while either is unknown.
func (t *Takeover) Gap() int64 {
	if t.LastOld == 0 || t.FirstNew == 0 {
		return -1
	}
	return t.FirstNew - t.LastOld
}

// AckedLost returns how many of the session's inputs the old server's
// state showed applied and the new server's first state does not:
// OldAcked − NewAcked when NewAcked is the older, else 0 (also while
// either is unknown). Inputs the old server applied after the last copy
// it gave the standby are lost this way.
func (t *Takeover) AckedLost() uint32 {
	if !t.HasOldAcked || !t.HasNewAcked || !wire.InputSeqNewer(t.OldAcked, t.NewAcked) {
		return 0
	}
	return t.OldAcked - t.NewAcked
}

// takeoverLog is a session's record of epoch changes: a ring of the last
// TakeoverHistory, and what the state delivered so far showed.
type takeoverLog struct {
	log      [TakeoverHistory]Takeover
	n        uint64 // changes recorded; log[(n-1)%TakeoverHistory] is the newest
	lastRx   int64  // receive time of the last state delivered
	acked    uint32 // newest own input seq shown applied since the last change
	hasAcked bool
	onFirst  func(t *Takeover) // OnTakeover
}

// noteState records a state datagram about to be delivered at rx: players
// and causes are its player records and EntityUpdate causes. The first
// under a new epoch completes the change's FirstNew and calls OnTakeover.
func (s *Session) noteState(rx int64, players []wire.PlayerState, causes []wire.UpdateCause) {
	tl := &s.takeovers
	id := s.accepted.ClientID
	seq, shown := uint32(0), false
	for i := range players {
		if p := &players[i]; p.ClientID == id && p.Tracking&wire.TrackNoInput == 0 && (!shown || wire.InputSeqNewer(p.LastInputSeq, seq)) {
			seq, shown = p.LastInputSeq, true
		}
	}
	for i := range causes {
		if c := &causes[i]; c.Client == id && (!shown || wire.InputSeqNewer(c.Input, seq)) {
			seq, shown = c.Input, true
		}
	}
	if shown && (!tl.hasAcked || wire.InputSeqNewer(seq, tl.acked)) {
		tl.acked, tl.hasAcked = seq, true
	}
	tl.lastRx = rx
	if tl.n == 0 {
		return
	}
	t := &tl.log[(tl.n-1)%TakeoverHistory]
	if shown && !t.HasNewAcked {
		t.NewAcked, t.HasNewAcked = seq, true
	}
	if t.FirstNew == 0 {
		t.FirstNew = rx
		if tl.onFirst != nil {
			tl.onFirst(t)
		}
	}
}

// Takeovers appends the session's remembered epoch changes to dst, oldest
// first, and returns it with the number of changes ever recorded (more
// than it appended once over TakeoverHistory). A change's NewAcked may
// still be unknown when its server's first state did not show the
// session's player.
func (s *Session) Takeovers(dst []Takeover) ([]Takeover, uint64) {
	tl := &s.takeovers
	from := tl.n - min(tl.n, TakeoverHistory)
	for i := from; i < tl.n; i++ {
		dst = append(dst, tl.log[i%TakeoverHistory])
	}
	return dst, tl.n
}

// OnTakeover sets the function called when the first state under a new
// epoch arrives, before that state's OnSnapshot or OnEntityUpdate, with
// the change's record (FirstNew set; NewAcked if that state showed it).
// It runs with the same constraints as OnSnapshot; t is valid only during
// the call.
func (s *Session) OnTakeover(fn func(t *Takeover)) { s.takeovers.onFirst = fn }

// Epoch returns the highest epoch the session accepted from a standby
// pair's servers, and false if no server sent one (PROTOCOL §18).
func (s *Session) Epoch() (uint32, bool) { return s.epoch.epoch, s.epoch.seen }

// Moved reports, once, that the epoch rose since the last call: a standby
// took over, and the datagram just handled came from it; a caller that
// owns the socket sends to that datagram's source from now on.
func (s *Session) Moved() bool {
	m := s.epoch.moved
	s.epoch.moved = false
	return m
}

// takeoverCandidate reports whether datagram b, from an address other than
// the server's, may be a standby pair's new active server: the session
// follows a pair and b carries an epoch. The session then decides (its
// token, seal and fence checks); nothing else from another address is
// read. Called with c.mu held.
func (c *Client) takeoverCandidate(b []byte) bool {
	_, pair := c.s.Epoch()
	var h wire.Header
	_, err := h.Parse(b)
	return pair && err == nil && h.Flags&wire.FlagEpoch != 0
}

// Takeovers appends the session's remembered epoch changes to dst; see
// Session.Takeovers.
func (c *Client) Takeovers(dst []Takeover) ([]Takeover, uint64) {
	defer c.unlock(c.lock())
	return c.s.Takeovers(dst)
}

// OnTakeover sets the function called at the first state under a new
// epoch; see Session.OnTakeover and the Client doc for the constraints.
func (c *Client) OnTakeover(fn func(t *Takeover)) {
	defer c.unlock(c.lock())
	c.s.OnTakeover(fn)
}

// Epoch returns the highest epoch the client's session accepted from a
// standby pair's servers, and false if its server sent none.
func (c *Client) Epoch() (uint32, bool) {
	defer c.unlock(c.lock())
	return c.s.Epoch()
}
