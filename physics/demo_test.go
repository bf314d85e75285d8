package physics

import (
	"math"
	"testing"

	"github.com/arcadexr/arcade/geom"
)

// demo is an Arcade-sized scene: table tennis (table, net, 4 balls, 2
// kinematic paddles), darts (board, 8 thin boxes), 13 blocks, air hockey
// (table, 4 rails, puck, 2 kinematic mallets), floor and a wall: 40 bodies.
type demo struct {
	w     *World
	frame int
	start []BodyDef // the dynamic bodies as added, for reset
	ids   []BodyID
}

const (
	paddleA, paddleB BodyID = 20, 21
	malletA, malletB BodyID = 60, 61
)

func newDemo(t testing.TB, cfg Config) *demo {
	w := newWorld(t, cfg)
	d := &demo{w: w}
	wood := Material{Restitution: 0.3, Friction: 0.6}
	mustAdd(t, w, 1, BodyDef{Shape: Plane(v3(0, 1, 0), 0), Kind: Static, Material: wood})
	mustAdd(t, w, 2, BodyDef{Shape: Plane(v3(0, 0, 1), -3), Kind: Static, Material: wood})
	mustAdd(t, w, 3, table(0.9))
	mustAdd(t, w, 4, BodyDef{Shape: Box(v3(0.005, 0.0763, 0.915)), Kind: Static, Pose: at(0, tableTop+0.0763, 0)})
	// Balls in play over the table.
	for i := 0; i < 4; i++ {
		b := ball(v3(-1+0.6*float64(i), tableTop+0.3+0.1*float64(i), 0.3*float64(i%2)), v3(3-2*float64(i%2), 1, 0.5), 0.9)
		b.AngVel = v3(0, 0, 50*float64(i%3-1))
		b.Material.Rolling = 0.02
		d.add(t, BodyID(10+i), b)
	}
	mustAdd(t, w, paddleA, BodyDef{Shape: Box(paddleHalfExt), Kind: Kinematic, Mass: 0.1, Pose: d.paddlePose(0, 0), Material: Material{Restitution: 0.8, Friction: 0.6}})
	mustAdd(t, w, paddleB, BodyDef{Shape: Box(paddleHalfExt), Kind: Kinematic, Mass: 0.1, Pose: d.paddlePose(1, 0), Material: Material{Restitution: 0.8, Friction: 0.6}})
	// Dart board on the wall, darts in flight and on the floor.
	mustAdd(t, w, 30, BodyDef{Shape: Box(v3(0.23, 0.23, 0.02)), Kind: Static, Pose: at(2.5, 1.73, -2.98)})
	for i := 0; i < 8; i++ {
		p := geom.Pose{Pos: v3(2.2+0.08*float64(i), 1.5+0.05*float64(i%3), -0.5), Rot: geom.AxisAngle(v3(1, 0, 0), 0.1*float64(i))}
		d.add(t, BodyID(40+i), BodyDef{Shape: Box(v3(0.004, 0.004, 0.075)), Mass: 0.022, Pose: p, Vel: v3(0, 1, -8),
			Material: Material{Restitution: 0.2, Friction: 0.5}})
	}
	// Blocks: a tower and a pile.
	for i := 0; i < 13; i++ {
		var p geom.Pose
		if i < 6 {
			p = at(-2, 0.05+0.1*float64(i)+0.002*float64(i), 1.5)
		} else {
			p = geom.Pose{Pos: v3(-2.5+0.12*float64(i-6), 0.06+0.15*float64(i%2), 1.0), Rot: geom.AxisAngle(v3(1, 1, 0), 0.3*float64(i))}
		}
		d.add(t, BodyID(70+i), BodyDef{Shape: Box(v3(0.05, 0.05, 0.05)), Mass: 0.5, Pose: p, Material: Material{Friction: 0.6, Restitution: 0.1}})
	}
	// Air hockey: table top at 0.8 m, rails, puck (flat box), mallets.
	mustAdd(t, w, 50, BodyDef{Shape: Box(v3(0.6, 0.4, 1.1)), Kind: Static, Pose: at(2.5, 0.4, 1.5), Material: Material{Friction: 0.02, Restitution: 0.9}})
	rail := Material{Restitution: 0.9, Friction: 0.05}
	mustAdd(t, w, 51, BodyDef{Shape: Box(v3(0.02, 0.03, 1.1)), Kind: Static, Pose: at(1.92, 0.83, 1.5), Material: rail})
	mustAdd(t, w, 52, BodyDef{Shape: Box(v3(0.02, 0.03, 1.1)), Kind: Static, Pose: at(3.08, 0.83, 1.5), Material: rail})
	mustAdd(t, w, 53, BodyDef{Shape: Box(v3(0.6, 0.03, 0.02)), Kind: Static, Pose: at(2.5, 0.83, 0.42), Material: rail})
	mustAdd(t, w, 54, BodyDef{Shape: Box(v3(0.6, 0.03, 0.02)), Kind: Static, Pose: at(2.5, 0.83, 2.58), Material: rail})
	d.add(t, 55, BodyDef{Shape: Box(v3(0.04, 0.003, 0.04)), Mass: 0.02, Pose: at(2.5, 0.8031, 1.5), Vel: v3(1.5, 0, 2),
		Material: Material{Restitution: 0.9, Friction: 0.02}})
	mustAdd(t, w, malletA, BodyDef{Shape: Box(v3(0.045, 0.03, 0.045)), Kind: Kinematic, Mass: 0.15, Pose: d.malletPose(0, 0)})
	mustAdd(t, w, malletB, BodyDef{Shape: Box(v3(0.045, 0.03, 0.045)), Kind: Kinematic, Mass: 0.15, Pose: d.malletPose(1, 0)})
	return d
}

func (d *demo) add(t testing.TB, id BodyID, def BodyDef) {
	mustAdd(t, d.w, id, def)
	d.ids = append(d.ids, id)
	d.start = append(d.start, def)
}

// reset puts every dynamic body back where and how it started, awake.
func (d *demo) reset() {
	for i, id := range d.ids {
		d.w.SetPose(id, d.start[i].Pose)
		d.w.SetVelocity(id, d.start[i].Vel, d.start[i].AngVel)
	}
}

// paddlePose swings paddle side (0 or 1) at the end of the table.
func (d *demo) paddlePose(side int, frame int) geom.Pose {
	s := 1.0 - 2*float64(side)
	ph := float64(frame)*tick*2*math.Pi*0.8 + float64(side)
	return geom.Pose{
		Pos: v3(-s*1.6+0.3*s*math.Sin(ph), tableTop+0.25+0.1*math.Cos(ph), 0.3*math.Sin(2*ph)),
		Rot: geom.AxisAngle(v3(0, 0, 1), math.Pi/2+0.4*math.Sin(ph)),
	}
}

// malletPose moves mallet side over its half of the air-hockey table.
func (d *demo) malletPose(side int, frame int) geom.Pose {
	s := 1.0 - 2*float64(side)
	ph := float64(frame)*tick*2*math.Pi*0.5 + float64(side)
	return at(2.5+0.4*math.Sin(ph), 0.831, 1.5+s*(0.6+0.3*math.Cos(1.3*ph)))
}

// step drives the kinematic bodies and steps one tick.
func (d *demo) step() {
	d.frame++
	d.w.SetKinematicPose(paddleA, d.paddlePose(0, d.frame))
	d.w.SetKinematicPose(paddleB, d.paddlePose(1, d.frame))
	d.w.SetKinematicPose(malletA, d.malletPose(0, d.frame))
	d.w.SetKinematicPose(malletB, d.malletPose(1, d.frame))
	d.w.Step(tick)
}

// TestDeterminism: two worlds fed the same calls give bit-identical poses,
// velocities and contact reports after 10 s.
func TestDeterminism(t *testing.T) {
	a, b := newDemo(t, Config{}), newDemo(t, Config{})
	for i := 0; i < 10*120; i++ {
		a.step()
		b.step()
	}
	type state struct {
		id BodyID
		p  geom.Pose
		s  bool
	}
	var sa, sb []state
	a.w.Bodies(func(id BodyID, p geom.Pose, s bool) { sa = append(sa, state{id, p, s}) })
	b.w.Bodies(func(id BodyID, p geom.Pose, s bool) { sb = append(sb, state{id, p, s}) })
	if len(sa) != len(sb) {
		t.Fatalf("%d bodies vs %d", len(sa), len(sb))
	}
	for i := range sa {
		// == on float64 is bit equality here: no NaNs in a healthy world.
		if sa[i] != sb[i] {
			t.Fatalf("body %d: %+v vs %+v", sa[i].id, sa[i], sb[i])
		}
	}
	ea, eb := a.w.Energy(), b.w.Energy()
	if math.Float64bits(ea) != math.Float64bits(eb) {
		t.Fatalf("energy %v vs %v", ea, eb)
	}
	t.Logf("%d bodies bit-identical after 10 s", len(sa))
}

// TestDemoSane: after 10 s of the demo scene nothing has left the room or
// fallen through the floor.
func TestDemoSane(t *testing.T) {
	d := newDemo(t, Config{})
	for i := 0; i < 10*120; i++ {
		d.step()
	}
	asleep := 0
	d.w.Bodies(func(id BodyID, p geom.Pose, s bool) {
		if s {
			asleep++
		}
		if p.Pos.Y < -0.01 || p.Pos.Len() > 50 || math.IsNaN(p.Pos.X) {
			t.Errorf("body %d at %+v", id, p.Pos)
		}
	})
	t.Logf("after 10 s: %d of %d bodies asleep", asleep, len(d.w.bodies))
}

// TestStepAllocs: once its buffers have grown over one run of the scene,
// Step allocates nothing, through the same run again.
func TestStepAllocs(t *testing.T) {
	d := newDemo(t, Config{})
	for i := 0; i < 240; i++ {
		d.step()
	}
	d.reset()
	if n := testing.AllocsPerRun(240, d.step); n != 0 {
		t.Errorf("Step allocates %v times per call, want 0", n)
	}
}

// BenchmarkStep steps the demo scene. "active" puts every dynamic body back
// to its start every second, so balls and darts fly and blocks fall
// throughout; "settled" times it after 5 s, with most bodies asleep.
func BenchmarkStep(b *testing.B) {
	b.Run("active", func(b *testing.B) {
		d := newDemo(b, Config{})
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if d.frame%120 == 0 {
				d.reset()
			}
			d.step()
		}
	})
	b.Run("settled", func(b *testing.B) {
		d := newDemo(b, Config{})
		for i := 0; i < 5*120; i++ {
			d.step()
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			d.step()
		}
	})
}
