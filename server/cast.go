package server

import (
	"errors"
	"math"

	"github.com/arcadexr/arcade/wire"
)

// Cast is a World whose players are not the server's sessions: a recorded
// session played back to spectators (replay.Show). The state the server
// sends carries the cast's players in place of the connected sessions',
// and the sessions, spectators, are not in the world: the cast's World
// methods for them (AddPlayer, ApplyInput, Grab…) may do nothing, or
// refuse.
type Cast interface {
	World
	// CastPlayers appends the players of the state being shown, sorted by
	// client id, to dst. Tick thread only, like World's methods.
	CastPlayers(dst []wire.PlayerState) []wire.PlayerState
	// CastIDs lists every client id the cast's players use: no spectator
	// is given one, so that a headset never sees its own id on another
	// player.
	CastIDs() []uint16
}

// initCast keeps the cast's client ids from the sessions.
func (s *Server) initCast() error {
	c, ok := s.world.(Cast)
	if !ok {
		return nil
	}
	p := &s.cfg.Persist
	if p.Checkpoint != nil || p.Resume != nil || p.Record != nil {
		return errors.New("server: a Cast World (a replay shown to spectators) is not checkpointed, resumed or recorded: Persist must be empty")
	}
	s.cast = c
	for _, id := range c.CastIDs() {
		if id != 0 && int(id) < len(s.sess.reservedUntil) {
			s.sess.reservedUntil[id] = math.MaxInt64
		}
	}
	return nil
}

// statePlayers puts the tick's players in s.players: the confirmed
// sessions, or the cast's.
func (s *Server) statePlayers() {
	s.players = s.players[:0]
	if s.cast != nil {
		s.players = s.cast.CastPlayers(s.players)
		return
	}
	for _, c := range s.sess.order {
		if c.confirmed {
			s.players = append(s.players, playerState(c))
		}
	}
}
