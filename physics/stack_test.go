package physics

import (
	"math"
	"testing"

	"github.com/arcadexr/arcade/geom"
)

const blockHalf = 0.05

// stackWorld drops five 0.1 m, 0.5 kg cubes, each 1 cm above the one
// below, a few millimetres off centre and slightly turned, onto the floor.
func stackWorld(t testing.TB, cfg Config) *World {
	w := newWorld(t, cfg)
	mustAdd(t, w, 1, BodyDef{Shape: Plane(v3(0, 1, 0), 0), Kind: Static, Material: Material{Friction: 0.6}})
	for i := 0; i < 5; i++ {
		y := blockHalf + float64(i)*(2*blockHalf+0.01) + 0.005
		p := geom.Pose{
			Pos: v3(0.003*math.Sin(float64(i)*1.7), y, 0.003*math.Cos(float64(i)*2.3)),
			Rot: geom.AxisAngle(v3(0, 1, 0), 0.05*float64(i%3-1)),
		}
		mustAdd(t, w, BodyID(10+i), BodyDef{Shape: Box(v3(blockHalf, blockHalf, blockHalf)), Mass: 0.5, Pose: p,
			Material: Material{Friction: 0.6}})
	}
	return w
}

func stackPositions(w *World) []geom.Vec3 {
	var ps []geom.Vec3
	for i := 0; i < 5; i++ {
		ps = append(ps, w.Pose(BodyID(10+i)).Pos)
	}
	return ps
}

func maxDrift(a, b []geom.Vec3) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, a[i].Sub(b[i]).Len())
	}
	return d
}

// TestStackSleeps: the stack comes to rest and sleeps, then nothing moves
// by a millimetre over 5 s.
func TestStackSleeps(t *testing.T) {
	w := stackWorld(t, Config{})
	slept := -1
	for i := 0; i < 10*120; i++ {
		w.Step(tick)
		all := true
		for k := 0; k < 5; k++ {
			all = all && w.Sleeping(BodyID(10+k))
		}
		if all {
			slept = i
			break
		}
	}
	if slept < 0 {
		for k := 0; k < 5; k++ {
			lin, ang := w.Velocity(BodyID(10 + k))
			t.Logf("box %d: %+v lin %.4f ang %.4f", k, w.Pose(BodyID(10+k)).Pos, lin.Len(), ang.Len())
		}
		t.Fatal("stack not asleep after 10 s")
	}
	before := stackPositions(w)
	top := before[4].Y
	for i := 0; i < 5*120; i++ {
		w.Step(tick)
	}
	drift := maxDrift(before, stackPositions(w))
	t.Logf("asleep after %.2f s, top box centre at %.4f m (ideal %.4f); drift over the next 5 s %.3g mm",
		float64(slept+1)*tick, top, 9*blockHalf, drift*1000)
	if drift >= 0.001 {
		t.Errorf("drift %.3f mm, want < 1 mm", drift*1000)
	}
	if math.Abs(top-9*blockHalf) > 0.005 {
		t.Errorf("top box at %.4f m, want %.4f ± 5 mm: the stack fell", top, 9*blockHalf)
	}
}

// TestStackHoldsAwake measures the solver alone: with sleeping off, the
// settled stack must drift by less than a millimetre over 5 s.
func TestStackHoldsAwake(t *testing.T) {
	w := stackWorld(t, Config{NoSleep: true})
	for i := 0; i < 3*120; i++ {
		w.Step(tick)
	}
	before := stackPositions(w)
	for i := 0; i < 5*120; i++ {
		w.Step(tick)
	}
	drift := maxDrift(before, stackPositions(w))
	t.Logf("no sleep: drift from 3 s to 8 s %.3g mm", drift*1000)
	if drift >= 0.001 {
		t.Errorf("drift %.3f mm, want < 1 mm", drift*1000)
	}
}

// TestConvergedIslandsStop: a settled stack kept awake converges in a few
// of the solver's passes and is not solved again in the sub-step, while
// it stays put (TestStackHoldsAwake); and islands are solved on their
// own: the stack's bodies end bit-identical whether or not a ball bounces
// elsewhere in the world all along.
func TestConvergedIslandsStop(t *testing.T) {
	alone := stackWorld(t, Config{NoSleep: true})
	busy := stackWorld(t, Config{NoSleep: true})
	mustAdd(t, busy, 99, BodyDef{Shape: Sphere(0.1), Mass: 1, Pose: at(3, 1, 3), Vel: v3(0.5, 0, 0),
		Material: Material{Restitution: 0.9, Friction: 0.5}})
	for i := 0; i < 3*120; i++ {
		alone.Step(tick)
		busy.Step(tick)
		if i%60 == 0 { // throw the ball up again
			busy.SetVelocity(99, v3(0.5, 3, 0), v3(0, 0, 2))
		}
	}
	alone.Step(tick)
	full := defaultIterations * defaultSubSteps * len(alone.manifolds)
	if alone.solves >= full/2 {
		t.Errorf("settled stack: %d manifold solves in a step, want fewer than half of %d", alone.solves, full)
	}
	t.Logf("settled stack: %d manifold solves in a step of at most %d", alone.solves, full)
	busy.Step(tick)
	for k := 0; k < 5; k++ {
		id := BodyID(10 + k)
		la, aa := alone.Velocity(id)
		lb, ab := busy.Velocity(id)
		if alone.Pose(id) != busy.Pose(id) || la != lb || aa != ab {
			t.Fatalf("box %d: %+v %v %v alone, %+v %v %v beside the ball", id, alone.Pose(id), la, aa, busy.Pose(id), lb, ab)
		}
	}
}
