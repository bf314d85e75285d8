package physics

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/arcadexr/arcade/geom"
)

// closedBox returns a world inside a 2 m cube: floor and ceiling planes,
// four thick static box walls, with balls and boxes thrown about.
func closedBox(t testing.TB, seed uint64, cfg Config) *World {
	w := newWorld(t, cfg)
	wall := Material{Restitution: 1, Friction: 0.3}
	mustAdd(t, w, 1, BodyDef{Shape: Plane(v3(0, 1, 0), 0), Kind: Static, Material: wall})
	mustAdd(t, w, 2, BodyDef{Shape: Plane(v3(0, -1, 0), -2), Kind: Static, Material: wall})
	for i, p := range []geom.Vec3{v3(1.5, 1, 0), v3(-1.5, 1, 0), v3(0, 1, 1.5), v3(0, 1, -1.5)} {
		half := v3(0.5, 1.5, 1.5)
		if p.X == 0 {
			half = v3(1.5, 1.5, 0.5)
		}
		mustAdd(t, w, BodyID(3+i), BodyDef{Shape: Box(half), Kind: Static, Pose: geom.Pose{Pos: p, Rot: geom.Identity}, Material: wall})
	}
	r := rand.New(rand.NewPCG(seed, 7))
	rv := func(s float64) geom.Vec3 {
		return v3((2*r.Float64()-1)*s, (2*r.Float64()-1)*s, (2*r.Float64()-1)*s)
	}
	for i := 0; i < 12; i++ {
		pos := v3(-0.7+0.45*float64(i%4), 0.4+0.5*float64(i/4), 0.3*float64(i%3-1))
		var def BodyDef
		if i%2 == 0 {
			def = ball(pos, rv(4), []float64{1, 0.9, 0.7}[i%3])
			def.AngVel = rv(30)
		} else {
			def = BodyDef{Shape: Box(v3(0.05, 0.03, 0.08)), Mass: 0.3, Vel: rv(3), AngVel: rv(10),
				Pose: geom.Pose{Pos: pos, Rot: geom.AxisAngle(rv(1), 1)}, Material: Material{Restitution: []float64{1, 0.5}[i%4/2], Friction: 0.4}}
		}
		mustAdd(t, w, BodyID(100+i), def)
	}
	return w
}

// TestEnergyNeverGrows: in a closed box with restitution ≤ 1, total energy
// must not rise above its initial value (0.5 % numerical tolerance) over
// 20 s, and no body may leave the box.
func TestEnergyNeverGrows(t *testing.T) {
	worst := 0.0
	for seed := uint64(1); seed <= 3; seed++ {
		w := closedBox(t, seed, Config{})
		e0 := w.Energy()
		maxRatio := 0.0
		for i := 0; i < 20*120; i++ {
			w.Step(tick)
			ratio := w.Energy() / e0
			maxRatio = math.Max(maxRatio, ratio)
			if ratio > 1.005 {
				t.Fatalf("seed %d: tick %d: energy %.4f J is %.4f× the initial %.4f J", seed, i, w.Energy(), ratio, e0)
			}
		}
		w.Bodies(func(id BodyID, p geom.Pose, _ bool) {
			if id >= 100 && (math.Abs(p.Pos.X) > 1 || math.Abs(p.Pos.Z) > 1 || p.Pos.Y < 0 || p.Pos.Y > 2) {
				t.Errorf("seed %d: body %d escaped to %+v", seed, id, p.Pos)
			}
		})
		t.Logf("seed %d: initial %.3f J, max ratio %.6f, final ratio %.4f", seed, e0, maxRatio, w.Energy()/e0)
		worst = math.Max(worst, maxRatio)
	}
	t.Logf("max energy ratio over all runs: %.6f", worst)
}
