package server

import (
	"errors"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/record"
	"github.com/arcadexr/arcade/wire"
)

// recordState is the server's side of Persist.Record: the entities of the
// last tick recorded, to find what changed, and the scratch for it.
type recordState struct {
	w       *record.Writer
	prev    []wire.EntityState
	changed []wire.EntityState
	hashBuf []byte
}

// recWorld is the World with every call recorded before it is made (or,
// for those that answer, with the answer): the stream a replay feeds the
// same code.
type recWorld struct {
	World
	cw Checkpointer
	w  *record.Writer
}

func (r *recWorld) AddPlayer(id uint16, now int64) {
	r.w.AddPlayer(now, id)
	r.World.AddPlayer(id, now)
}

func (r *recWorld) RemovePlayer(id uint16, now int64) {
	r.w.RemovePlayer(now, id)
	r.World.RemovePlayer(id, now)
}

func (r *recWorld) ApplyInput(id uint16, in *wire.PoseInput, now int64, moved []uint16) []uint16 {
	r.w.ApplyInput(now, id, in)
	return r.World.ApplyInput(id, in, now, moved)
}

func (r *recWorld) Grab(client uint16, hand int, entity uint16, now int64) error {
	err := r.World.Grab(client, hand, entity, now)
	r.w.Grab(now, client, hand, entity, err == nil)
	return err
}

func (r *recWorld) Release(client uint16, hand int, now int64) error {
	err := r.World.Release(client, hand, now)
	r.w.Release(now, client, hand, err == nil)
	return err
}

func (r *recWorld) Propagate(now int64) {
	r.w.Propagate(now)
	r.World.Propagate(now)
}

func (r *recWorld) BeginStep(now int64, dt float64) int {
	n := r.World.BeginStep(now, dt)
	r.w.BeginStep(now, dt, n)
	return n
}

func (r *recWorld) SubStep(i int) {
	r.w.SubStep(i)
	r.World.SubStep(i)
}

func (r *recWorld) EndStep(now int64) {
	r.w.EndStep(now)
	r.World.EndStep(now)
}

func (r *recWorld) SaveState(st *checkpoint.State) { r.cw.SaveState(st) }

func (r *recWorld) RestoreState(st *checkpoint.State, now int64) error {
	return r.cw.RestoreState(st, now)
}

// PlayerState is the avatar a state carries for client id whose newest
// applied input is in (zero for a player yet to send one).
func PlayerState(id uint16, in *wire.PoseInput) wire.PlayerState {
	return wire.PlayerState{ClientID: id, LastInputSeq: in.InputSeq, Tracking: in.Tracking, Head: in.Head, Hands: in.Hands}
}

// initRecord starts the recording, if any: the world the server starts
// from (the Resume state, or the scene's) is its first keyframe, and the
// world is wrapped so that every call into it is recorded. It runs before
// initPersist, so that what restoring does to the world is recorded too.
func (s *Server) initRecord(now int64) error {
	w := s.cfg.Persist.Record
	if w == nil {
		return nil
	}
	cw, ok := s.world.(Checkpointer)
	if !ok {
		return errors.New("server: Persist.Record needs a World that implements Checkpointer (sim.World does)")
	}
	k := w.KeyState()
	if k == nil {
		return errors.New("server: Persist.Record: the recording is already in use")
	}
	kind := uint8(record.KeyFresh)
	if st := s.cfg.Persist.Resume; st != nil {
		kind = record.KeyRestored
		k.State.Scene, k.State.Tick, k.State.ServerTime, k.State.Wall = st.Scene, st.Tick, st.ServerTime, st.Wall
		k.State.Entities = append(k.State.Entities, st.Entities...)
		k.State.Players = append(k.State.Players, st.Players...)
		k.State.Holds = append(k.State.Holds, st.Holds...)
	} else {
		cw.SaveState(&k.State)
		k.State.Wall = s.cfg.WallClock()
	}
	w.Keyframe(kind, now, k)
	s.rec = recordState{
		w:       w,
		prev:    make([]wire.EntityState, 0, 1024),
		changed: make([]wire.EntityState, 0, 1024),
		hashBuf: make([]byte, 0, 8+64*record.PlayerSize+1024*record.EntitySize),
	}
	s.world = &recWorld{World: s.world, cw: cw, w: w}
	return nil
}

// recordJoin records a session joining as a player, with its avatar.
func (s *Server) recordJoin(now int64, c *session) {
	if s.rec.w != nil {
		s.rec.w.Join(now, c.id, c.hasApplied, &c.applied)
	}
}

// recordLeave records a player's session ending.
func (s *Server) recordLeave(now int64, c *session) {
	if s.rec.w != nil && c.confirmed {
		s.rec.w.Leave(now, c.id)
	}
}

// recordTick records the end of the tick: its state hash
// (record.StateHash) and the entities whose state changed, then a
// keyframe when one is due.
func (s *Server) recordTick(now int64) {
	r := &s.rec
	if r.w == nil {
		return
	}
	var hash uint64
	hash, r.hashBuf = record.StateHash(r.hashBuf, s.tickNo, s.players, s.entities)
	r.changed = r.changed[:0]
	if len(r.prev) != len(s.entities) {
		r.changed = append(r.changed, s.entities...)
	} else {
		for i := range s.entities {
			if s.entities[i] != r.prev[i] {
				r.changed = append(r.changed, s.entities[i])
			}
		}
	}
	r.prev = append(r.prev[:0], s.entities...)
	r.w.Tick(s.tickNo, now, hash, len(s.players), len(s.entities), r.changed)
	if !r.w.KeyDue(s.tickNo) {
		return
	}
	if k := r.w.KeyState(); k != nil {
		s.saveState(now, &k.State)
		for _, c := range s.sess.order {
			if c.confirmed {
				k.Sessions = append(k.Sessions, c.id)
			}
		}
		r.w.Keyframe(record.KeyPeriodic, now, k)
	}
}
