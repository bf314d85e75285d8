package server

import (
	"time"

	"github.com/arcadexr/arcade/wire"
)

// ResumeWindow is how long after a session ends the same player identity
// gets its client id and avatar back.
const ResumeWindow = 10 * time.Second

// departed is what the server keeps of a player whose session ended, for
// ResumeWindow: the client id (reserved meanwhile) and the avatar.
type departed struct {
	id     uint16
	avatar wire.PoseInput
	has    bool // avatar is valid
	at     int64
	// inWorld: the player's hands are still in the world, holding what
	// they held (a player restored from a checkpoint); they let go when
	// the slot is forgotten.
	inWorld bool
}

// noteDeparture keeps c's slot and avatar for its player identity.
func (s *Server) noteDeparture(now int64, c *session) {
	if c.playerID == ([wire.PlayerIDSize]byte{}) {
		return
	}
	if _, ok := s.sess.departed[c.playerID]; !ok && len(s.sess.departed) >= s.maxDeparted() {
		s.forgetOldestDeparted(now)
	}
	s.sess.departed[c.playerID] = departed{id: c.id, avatar: c.applied, has: c.hasApplied, at: now}
	s.sess.reservedUntil[c.id] = now + int64(ResumeWindow)
}

// maxDeparted bounds the departed table: four times MaxClients, so that
// joining and leaving under fresh player ids (each join costs a handshake,
// and a proof of the passphrase on a sealed server) cannot grow it.
func (s *Server) maxDeparted() int { return 4 * max(s.cfg.MaxClients, 16) }

// forgetOldestDeparted drops the departure that ended first. The table is
// full only under churn, so a scan is fine.
func (s *Server) forgetOldestDeparted(now int64) {
	var oldest [wire.PlayerIDSize]byte
	at, found := int64(0), false
	for p, d := range s.sess.departed {
		if !found || d.at < at {
			oldest, at, found = p, d.at, true
		}
	}
	if found {
		d := s.sess.departed[oldest]
		delete(s.sess.departed, oldest)
		s.letGo(now, d)
		if s.sess.reservedUntil[d.id] == d.at+int64(ResumeWindow) {
			s.sess.reservedUntil[d.id] = 0
		}
		s.stats.DepartedEvicted.Inc()
	}
}

// resumable returns the departed slot of a player identity, if it ended
// within ResumeWindow and no session holds its id. The slot is kept until
// the session that resumes it joins (resumed): a sealed session that never
// proves the passphrase (an outsider who read the player id off the LAN)
// leaves it to its player.
func (s *Server) resumable(now int64, player [wire.PlayerIDSize]byte) (departed, bool) {
	if player == ([wire.PlayerIDSize]byte{}) {
		return departed{}, false
	}
	d, ok := s.sess.departed[player]
	if !ok {
		return departed{}, false
	}
	if now-d.at >= int64(ResumeWindow) {
		delete(s.sess.departed, player)
		s.letGo(now, d)
		return departed{}, false
	}
	if s.sess.usedIDs[d.id] {
		return departed{}, false
	}
	return d, true
}

// resumed forgets the departed slot c took over, now that it joined.
func (s *Server) resumed(c *session) {
	if d, ok := s.sess.departed[c.playerID]; ok && d.id == c.id {
		delete(s.sess.departed, c.playerID)
		s.sess.reservedUntil[c.id] = 0
	}
}

// forgetDeparted drops departures older than ResumeWindow.
func (s *Server) forgetDeparted(now int64) {
	for p, d := range s.sess.departed {
		if now-d.at >= int64(ResumeWindow) {
			delete(s.sess.departed, p)
			s.letGo(now, d)
		}
	}
}

// liveByPlayer finds a connected session of a player identity (one that
// proved the passphrase, on a sealed server).
func (s *Server) liveByPlayer(player [wire.PlayerIDSize]byte) *session {
	if player == ([wire.PlayerIDSize]byte{}) {
		return nil
	}
	for _, c := range s.sess.order {
		if c.playerID == player && c.confirmed {
			return c
		}
	}
	return nil
}
