package main

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/sim"
	"github.com/arcadexr/arcade/wire"
)

// arcadeHolders are the demo scene's objects held from the start, one per
// holding headset's right hand.
var arcadeHolders = []string{"paddle-1", "paddle-2", "mallet-1", "mallet-2", "block-1", "dart-1"}

// arcadeHeadsets is the number of headsets in the arcade scene.
const arcadeHeadsets = 16

// arcadeTrace is the demo arcade run through arcade/sim at the trace's own
// rate, recorded.
type arcadeTrace struct {
	rate   int
	states []State
}

func (a *arcadeTrace) Name() string { return "arcade" }
func (a *arcadeTrace) Rate() int    { return a.rate }
func (a *arcadeTrace) Len() int     { return len(a.states) }
func (a *arcadeTrace) State(t int, s *State) {
	s.Players = append(s.Players[:0], a.states[t].Players...)
	s.Entities = append(s.Entities[:0], a.states[t].Entities...)
}

// recordArcade runs the demo scene (scene.Default) in arcade/sim with 16
// headsets: the first len(arcadeHolders) stand at an object and hold it in
// the right hand from the start (grabbed by request, as the GrabRequest RPC
// does), so it follows that hand; the others walk about the room. Inputs
// are applied as they are sent, at 90 Hz each, before the tick that
// follows; the world steps at rate.
func recordArcade(seed uint64, rate int, seconds float64) (*arcadeTrace, error) {
	sc := scene.Default()
	w, err := sim.New(sc)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, 0xa2cade))
	var ms []*mover
	for i := range arcadeHeadsets {
		id := uint16(i + 1)
		if i < len(arcadeHolders) {
			o, ok := sc.Object(arcadeHolders[i])
			if !ok {
				return nil, fmt.Errorf("arcade: no object %q in the demo scene", arcadeHolders[i])
			}
			m := newMover(r, id, o.Pose.Pos, false, 0)
			// Move the headset so that its right hand starts on the object.
			m.shift = o.Pose.Pos.Sub(wireToGeom(m.state(0).Hands[wire.Right]).Pos)
			ms = append(ms, m)
			continue
		}
		base := geom.Vec3{X: 8*r.Float64() - 4, Z: 8*r.Float64() - 4}
		ms = append(ms, newMover(r, id, base, r.Float64() < 0.7, 1.5))
	}
	applied := make([]int, len(ms))
	in := wire.PoseInput{Tracking: allTracked}
	apply := func(i, k int, now int64) {
		st := ms[i].state(k)
		in.InputSeq, in.Head, in.Hands = st.LastInputSeq, st.Head, st.Hands
		w.ApplyInput(st.ClientID, &in, now, nil)
		applied[i] = k
	}
	for i, m := range ms {
		w.AddPlayer(m.id, 0)
		apply(i, 0, 0)
		if i < len(arcadeHolders) {
			o, _ := sc.Object(arcadeHolders[i])
			if err := w.Grab(m.id, wire.Right, o.ID, 0); err != nil {
				return nil, fmt.Errorf("arcade: headset %d cannot grab %s: %w", m.id, o.Name, err)
			}
		}
	}
	n := int(math.Round(seconds * float64(rate)))
	a := &arcadeTrace{rate: rate, states: make([]State, n)}
	dt := 1 / float64(rate)
	for t := range n {
		now := float64(t) / float64(rate)
		us := int64(now * 1e6)
		for i, m := range ms {
			for k := applied[i] + 1; k <= m.sample(now); k++ {
				apply(i, k, us)
			}
		}
		w.Step(us, dt)
		st := &a.states[t]
		for i, m := range ms {
			st.Players = append(st.Players, m.state(applied[i]))
		}
		st.Entities = w.Entities(nil)
		for _, e := range st.Entities {
			if !inRange(wireToGeom(e.Pose).Pos) {
				return nil, fmt.Errorf("arcade: tick %d: entity %d at %+v, outside the wire's range", t, e.ID, e.Pose.Pos)
			}
		}
	}
	return a, nil
}

func wireToGeom(p wire.Pose) geom.Pose {
	return geom.Pose{
		Pos: geom.Vec3{X: float64(p.Pos.X), Y: float64(p.Pos.Y), Z: float64(p.Pos.Z)},
		Rot: geom.Quat{X: float64(p.Rot.X), Y: float64(p.Rot.Y), Z: float64(p.Rot.Z), W: float64(p.Rot.W)}.Norm(),
	}
}
