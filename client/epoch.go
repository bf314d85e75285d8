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
		s.moveEpoch(now)
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

// moveEpoch goes over to the server of a higher epoch than the session's
// (or taken after the lease ran out).
func (s *Session) moveEpoch(now int64) {
	s.stats.EpochChanges++
	s.uni = seqWindow{}
	s.multi = seqWindow{}
	s.epoch.moved = true
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

// Epoch returns the highest epoch the client's session accepted from a
// standby pair's servers, and false if its server sent none.
func (c *Client) Epoch() (uint32, bool) {
	defer c.unlock(c.lock())
	return c.s.Epoch()
}
