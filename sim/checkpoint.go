package sim

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/grab"
	"github.com/arcadexr/arcade/physics"
)

// Fingerprint is the scene's checkpoint.SceneFingerprint: a checkpoint
// restores only into a world of the same scene.
func (w *World) Fingerprint() uint64 { return w.fingerprint }

// SaveState copies the world into st: every non-static object (its pose
// as the headsets see it, its physics state), every player's hands and
// grips, and every hold, in the grab graph's order. The server fills in
// what only it knows of the players (identities, avatars). It does not
// allocate once st's slices have room.
func (w *World) SaveState(st *checkpoint.State) {
	st.Scene = w.fingerprint
	for i := range w.objs {
		o := &w.objs[i]
		bs, _ := w.phys.BodyState(o.body)
		st.Entities = append(st.Entities, checkpoint.Entity{
			ID:        o.id,
			Kind:      uint8(bs.Kind),
			Sleeping:  bs.Sleeping,
			Pose:      w.graph.Pose(o.node),
			Vel:       bs.Vel,
			AngVel:    bs.AngVel,
			SleepTime: bs.SleepTime,
			Island:    uint32(bs.Island),
		})
	}
	first := len(st.Players)
	for id, p := range w.players {
		st.Players = append(st.Players, checkpoint.Player{
			ClientID: id,
			Grip:     p.gripDown,
			Hands:    [2]geom.Pose{w.graph.Pose(HandNode(id, 0)), w.graph.Pose(HandNode(id, 1))},
		})
	}
	slices.SortFunc(st.Players[first:], func(a, b checkpoint.Player) int { return cmp.Compare(a.ClientID, b.ClientID) })
	for _, n := range w.graph.Order() {
		w.holders = w.graph.Holders(w.holders[:0], n)
		for _, h := range w.holders {
			st.Holds = append(st.Holds, checkpoint.Hold{Holder: uint32(h), Target: uint32(n)})
		}
	}
}

// RestoreState puts a world just built from its scene in state st, as
// SaveState took it: objects where they were, moving as they moved, asleep
// or awake; the players' hands, grips and holds (players Away have none). now is the time (ns) the
// restored poses are stamped with. It fails, naming what, on a state of
// another scene, an object the scene does not have, a body state physics
// refuses or a hold the grab graph refuses; the world is then unusable.
func (w *World) RestoreState(st *checkpoint.State, now int64) error {
	if st.Scene != w.fingerprint {
		return fmt.Errorf("sim: state of scene %016x, this world's is %016x: %w", st.Scene, w.fingerprint, checkpoint.ErrScene)
	}
	if len(w.players) > 0 {
		return fmt.Errorf("sim: restore into a world that has players")
	}
	for i := range st.Entities {
		e := &st.Entities[i]
		if int(e.ID) >= len(w.byID) || w.byID[e.ID] < 0 {
			return fmt.Errorf("sim: state: entity %d is not a non-static object of scene %q", e.ID, w.scene.Name)
		}
		o := &w.objs[w.byID[e.ID]]
		kind := physics.BodyKind(e.Kind)
		if kind == physics.Dynamic && !o.dynamic {
			return fmt.Errorf("sim: state: entity %d is dynamic, the scene's is kinematic", e.ID)
		}
		err := w.phys.SetBodyState(o.body, physics.BodyState{
			Kind: kind, Pose: e.Pose, Vel: e.Vel, AngVel: e.AngVel,
			Sleeping: e.Sleeping, SleepTime: e.SleepTime, Island: physics.BodyID(e.Island),
		})
		if err != nil {
			return fmt.Errorf("sim: state: entity %d: %w", e.ID, err)
		}
		w.graph.SetPose(o.node, w.phys.Pose(o.body), now)
	}
	for i := range st.Players {
		p := &st.Players[i]
		if p.Away {
			continue // no hands in the world: the server keeps its slot
		}
		if _, ok := w.players[p.ClientID]; ok {
			return fmt.Errorf("sim: state: player %d twice", p.ClientID)
		}
		w.AddPlayer(p.ClientID, now)
		w.players[p.ClientID].gripDown = p.Grip
		for h := range 2 {
			w.graph.SetPose(HandNode(p.ClientID, h), p.Hands[h], now)
		}
	}
	for _, h := range st.Holds {
		// The poses are those of the moment the state was taken, so the
		// grab captures the same offset (holder⁻¹·target) as the original.
		if _, _, err := w.graph.Grab(grab.NodeID(h.Holder), grab.NodeID(h.Target)); err != nil {
			return fmt.Errorf("sim: state: hold of %d by %d: %w", h.Target, h.Holder, err)
		}
	}
	w.graph.PropagateAll(nil)
	return nil
}
