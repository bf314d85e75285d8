package physics

import (
	"errors"
	"math"

	"github.com/arcadexr/arcade/geom"
)

// ErrState: SetBodyState of a pose or velocity that is not finite, or a
// zero rotation.
var ErrState = errors.New("physics: body state not finite")

// BodyState is what moves of a body: enough to put it back where it was,
// moving as it moved, asleep or awake (a checkpoint). The shape, mass and
// material are the body's definition and are not part of it.
type BodyState struct {
	Kind        BodyKind
	Pose        geom.Pose
	Vel, AngVel geom.Vec3
	Sleeping    bool
	SleepTime   float64 // how long the body has been slow, s
	Island      BodyID  // while sleeping: the island it sleeps with
}

// BodyState returns the state of a body, and false for an unknown id.
func (w *World) BodyState(id BodyID) (BodyState, bool) {
	i := w.find(id)
	if i < 0 {
		return BodyState{}, false
	}
	b := &w.bodies[i]
	return BodyState{
		Kind: b.kind, Pose: b.pose, Vel: b.vel, AngVel: b.angVel,
		Sleeping: b.sleeping, SleepTime: b.sleepTime, Island: b.island,
	}, true
}

// SetBodyState puts a body in state st, as BodyState returned it: its
// kind (a static body stays static; a body without mass cannot become
// dynamic), pose, velocities and sleep. Nothing near it is woken: the
// whole world is being set at once. The contacts the solver carried from
// the last Step are not part of a body's state; they are rebuilt by the
// next Step.
func (w *World) SetBodyState(id BodyID, st BodyState) error {
	i := w.find(id)
	if i < 0 {
		return ErrUnknownBody
	}
	b := &w.bodies[i]
	switch {
	case st.Kind > Static, (b.kind == Static) != (st.Kind == Static):
		return ErrKind
	case st.Kind == Dynamic && b.mass <= 0:
		return ErrKind
	case !finitePose(st.Pose) || !finite(st.Vel) || !finite(st.AngVel) || math.IsNaN(st.SleepTime) || math.IsInf(st.SleepTime, 0):
		return ErrState
	}
	if b.kind == Static {
		return nil
	}
	w.dropCandidates()
	b.kind = st.Kind
	b.pose = geom.Pose{Pos: st.Pose.Pos, Rot: st.Pose.Rot.Norm()}
	b.vel, b.angVel = st.Vel, st.AngVel
	b.hasTarget = false
	b.sleeping, b.sleepTime, b.island = st.Sleeping, st.SleepTime, st.Island
	b.updateInertia()
	b.box = bounds(&b.shape, b.pose)
	return nil
}

func finite(v geom.Vec3) bool {
	return !math.IsNaN(v.X+v.Y+v.Z) && !math.IsInf(v.X+v.Y+v.Z, 0) &&
		!math.IsInf(v.X, 0) && !math.IsInf(v.Y, 0) && !math.IsInf(v.Z, 0)
}

func finitePose(p geom.Pose) bool {
	q := p.Rot
	return finite(p.Pos) && finite(geom.Vec3{X: q.X, Y: q.Y, Z: q.Z}) && !math.IsNaN(q.W) && !math.IsInf(q.W, 0) &&
		q.X*q.X+q.Y*q.Y+q.Z*q.Z+q.W*q.W > 0
}
