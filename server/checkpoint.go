package server

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/record"
	"github.com/arcadexr/arcade/seal"
	"github.com/arcadexr/arcade/tick"
	"github.com/arcadexr/arcade/wire"
)

// finalWait bounds how long Shutdown waits for the checkpoint writer.
const finalWait = 2 * time.Second

// DefaultCheckpointEvery is the default of Persist.Every: at most a second
// of the world's changes is lost to a crash.
const DefaultCheckpointEvery = time.Second

// Persist is what a server keeps of its world across a restart, in
// Config.Persist. The zero value keeps nothing.
type Persist struct {
	// Checkpoint, if set, is given the world every Every and at Shutdown.
	// The tick only copies the world into one of the Writer's States; the
	// Writer's goroutine writes the file.
	Checkpoint *checkpoint.Writer
	// Every is the checkpoint period, rounded to whole ticks. Default
	// DefaultCheckpointEvery; at most an hour.
	Every time.Duration
	// Resume, if set, is the state the server starts from (a checkpoint it
	// or another run of it wrote, for the same scene): the objects where
	// they were, holds held, the tick numbers and server time continuing.
	// Each player in it with a player identity gets its client id, avatar
	// and held objects back when it joins within ResumeWindow of New;
	// until then its hands stay in the world, holding. A player without
	// one (anonymous) lets go at once.
	Resume *checkpoint.State
	// Record, if set, records the session (record.go): every call into the
	// world, the sessions joining and leaving, each tick's state hash and
	// changed entities, and keyframes. The tick only encodes into the
	// Writer's chunks. The caller closes it after Run.
	Record *record.Writer
	// Sessions, with Resume, are the sessions of the server the state
	// was copied from (a standby taking over, pair.go): each goes on
	// without a handshake, its client id, player and hands as they were.
	Sessions []SessionCopy
	// Applied, with Sessions, are the calls the copied server made into
	// the world after the copy: made again, in order, on the restored
	// world.
	Applied []Applied
	// Group, with Sessions of a sealed server's copy (Replica.Sealed),
	// is its group's copy: a server with a Passphrase resumes the group
	// from it (the same keys and signer), and each session from its
	// SessionCopy.Seal, so that headsets go on without a handshake.
	Group *seal.GroupCopy
}

func (p *Persist) validate() error {
	if p.Every == 0 {
		p.Every = DefaultCheckpointEvery
	}
	if p.Every < 0 || p.Every > time.Hour {
		return fmt.Errorf("server: Persist.Every %v out of range (0, 1h]", p.Every)
	}
	return nil
}

// Checkpointer is a World whose state can be saved and restored
// (sim.World). The server fills in the players' identities and avatars.
type Checkpointer interface {
	// SaveState appends the world's objects, players (client id, grips,
	// hands) and holds to st, which was reset; it must not allocate once
	// st has room.
	SaveState(st *checkpoint.State)
	// RestoreState puts a world without players in state st.
	RestoreState(st *checkpoint.State, now int64) error
}

// persistState is the server's side of Persist.
type persistState struct {
	ckpt     *checkpoint.Writer
	every    uint64 // ticks between checkpoints
	cw       Checkpointer
	tickBase uint64 // the resumed state's tick + 1: tick numbers continue
	last     uint64 // tick of the last checkpoint
}

// initPersist sets up checkpoints and, with Persist.Resume, restores the
// world and the departed players it names.
func (s *Server) initPersist(now int64) error {
	p := &s.cfg.Persist
	if p.Checkpoint == nil && p.Resume == nil && p.Record == nil {
		return nil
	}
	cw, ok := s.world.(Checkpointer)
	if !ok {
		return errors.New("server: Persist needs a World that implements Checkpointer (sim.World does)")
	}
	s.persist.cw = cw
	s.persist.ckpt = p.Checkpoint
	s.persist.every = uint64(max(1, (p.Every*time.Duration(s.cfg.TickRate)+time.Second/2)/time.Second))
	if p.Resume == nil {
		return nil
	}
	return s.restore(now, p.Resume)
}

// restore puts the world in st and keeps each of its players' slots, as
// if each had left at now.
func (s *Server) restore(now int64, st *checkpoint.State) error {
	for i := range st.Players {
		if id := st.Players[i].ClientID; id == 0 || int(id) > s.cfg.MaxClients {
			return fmt.Errorf("server: Persist.Resume: client id %d is outside 1..MaxClients (%d)", id, s.cfg.MaxClients)
		}
	}
	if err := s.persist.cw.RestoreState(st, now); err != nil {
		return fmt.Errorf("server: Persist.Resume: %w", err)
	}
	// Tick numbers and server time go on from the state's tick, whose
	// successor is due at once (PROTOCOL §18.3: a server taking over sends
	// its first state the moment it starts, not a period later), at the
	// time of its number.
	period := s.cfg.Period()
	s.persist.tickBase = st.Tick + 1 // the schedule's first tick is 0
	s.sched = tick.NewSchedule(period, now-period)
	s.origin = now - period - int64(st.ServerTime)*1e3
	keep := make(map[uint16]bool, len(s.cfg.Persist.Sessions))
	for i := range s.cfg.Persist.Sessions {
		keep[s.cfg.Persist.Sessions[i].ID] = true
	}
	for i := range st.Players {
		p := &st.Players[i]
		_, dup := s.sess.departed[p.PlayerID]
		if keep[p.ClientID] && !p.Away {
			continue // its session goes on (restoreSessions)
		}
		if p.PlayerID == ([wire.PlayerIDSize]byte{}) || dup {
			if !p.Away {
				s.world.RemovePlayer(p.ClientID, now) // nobody can claim it
			}
			continue
		}
		if len(s.sess.departed) >= s.maxDeparted() {
			s.forgetOldestDeparted(now)
		}
		s.sess.departed[p.PlayerID] = departed{id: p.ClientID, avatar: p.Avatar, has: p.HasAvatar, at: now, inWorld: !p.Away}
		s.sess.reservedUntil[p.ClientID] = now + int64(ResumeWindow)
	}
	return nil
}

// afterTick records the tick and takes the periodic checkpoint.
func (s *Server) afterTick(now int64) {
	s.recordTick(now)
	// By ticks since the last one, not tick numbers: a missed tick does
	// not skip a checkpoint.
	if s.persist.ckpt != nil && s.tickNo-s.persist.last >= s.persist.every {
		s.persist.last = s.tickNo
		if st := s.persist.ckpt.Begin(); st != nil {
			s.saveState(now, st)
			s.persist.ckpt.Commit(st)
		}
	}
}

// finalCheckpoint hands the world to the checkpoint writer before the
// sessions end (Shutdown), waiting up to finalWait for a free State: no
// tick waits on it any more, but a disk that hangs must not hang the
// shutdown.
func (s *Server) finalCheckpoint(now int64) {
	if s.persist.ckpt == nil {
		return
	}
	st := s.persist.ckpt.BeginWait(finalWait)
	if st == nil {
		return
	}
	s.saveState(now, st)
	s.persist.ckpt.Commit(st)
}

// saveState fills st with the world and what the server knows of its
// players: for a connected player its identity and avatar, for a restored
// one not yet back what the checkpoint gave it; and the players away whose
// slots are kept (their identity, client id and avatar).
func (s *Server) saveState(now int64, st *checkpoint.State) {
	s.persist.cw.SaveState(st)
	inWorld := len(st.Players)
	for pid, d := range s.sess.departed {
		if !d.inWorld && !s.sess.usedIDs[d.id] && now-d.at < int64(ResumeWindow) {
			st.Players = append(st.Players, checkpoint.Player{ClientID: d.id, PlayerID: pid, HasAvatar: d.has, Avatar: d.avatar, Away: true})
		}
	}
	if len(st.Players) > inWorld {
		slices.SortFunc(st.Players, func(a, b checkpoint.Player) int { return cmp.Compare(a.ClientID, b.ClientID) })
	}
	st.Tick = s.tickNo
	st.ServerTime = s.micros(now)
	st.Wall = s.cfg.WallClock()
	for i := range st.Players {
		p := &st.Players[i]
		if p.Away {
			continue
		}
		if c := s.sess.byID(p.ClientID); c != nil && c.confirmed {
			p.PlayerID, p.Avatar, p.HasAvatar = c.playerID, c.applied, c.hasApplied
			continue
		}
		for pid, d := range s.sess.departed {
			if d.id == p.ClientID && d.inWorld {
				p.PlayerID, p.Avatar, p.HasAvatar = pid, d.avatar, d.has
				break
			}
		}
	}
}

// claimID makes sure a session that joins under a client id whose
// restored player is still away does not inherit that player's hands: the
// absent player lets go of what it held first.
func (s *Server) claimID(now int64, c *session) {
	if c.resumed {
		return
	}
	for pid, d := range s.sess.departed {
		if d.id == c.id && d.inWorld {
			s.world.RemovePlayer(d.id, now)
			d.inWorld = false
			s.sess.departed[pid] = d
		}
	}
}

// letGo removes from the world the hands of a restored player whose slot
// is forgotten without its return.
func (s *Server) letGo(now int64, d departed) {
	if d.inWorld && s.world != nil && !s.sess.usedIDs[d.id] {
		s.world.RemovePlayer(d.id, now)
	}
}
