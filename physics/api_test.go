package physics

import (
	"errors"
	"math"
	"testing"

	"github.com/arcadexr/arcade/geom"
)

func TestConfigAndAddErrors(t *testing.T) {
	if _, err := NewWorld(Config{SubSteps: -1}); err == nil {
		t.Error("negative SubSteps accepted")
	}
	w := newWorld(t, Config{})
	for name, def := range map[string]BodyDef{
		"zero shape":       {Mass: 1},
		"zero radius":      {Shape: Sphere(0), Mass: 1},
		"flat box":         {Shape: Box(v3(1, 0, 1)), Mass: 1},
		"dynamic massless": {Shape: Sphere(1)},
		"dynamic plane":    {Shape: Plane(v3(0, 1, 0), 0), Mass: 1},
		"zero normal":      {Shape: Plane(geom.Vec3{}, 0), Kind: Static},
	} {
		if err := w.Add(1, def); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	mustAdd(t, w, 1, BodyDef{Shape: Sphere(1), Mass: 1})
	if err := w.Add(1, BodyDef{Shape: Sphere(1), Mass: 1}); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate: %v", err)
	}
	if err := w.SetKinematicPose(1, geom.IdentityPose); !errors.Is(err, ErrKind) {
		t.Errorf("SetKinematicPose on dynamic: %v", err)
	}
	if err := w.SetKinematicPose(9, geom.IdentityPose); !errors.Is(err, ErrUnknownBody) {
		t.Errorf("SetKinematicPose on unknown: %v", err)
	}
}

// TestBodiesOrder: Bodies visits by id whatever the insertion order.
func TestBodiesOrder(t *testing.T) {
	w := newWorld(t, Config{})
	for _, id := range []BodyID{7, 3, 9, 1, 5} {
		mustAdd(t, w, id, BodyDef{Shape: Sphere(0.1), Mass: 1, Pose: at(float64(id), 1, 0)})
	}
	w.Remove(9)
	var got []BodyID
	w.Bodies(func(id BodyID, p geom.Pose, _ bool) {
		got = append(got, id)
		if p.Pos.X != float64(id) {
			t.Errorf("body %d at %+v", id, p.Pos)
		}
	})
	if want := []BodyID{1, 3, 5, 7}; len(got) != len(want) || got[0] != 1 || got[1] != 3 || got[2] != 5 || got[3] != 7 {
		t.Errorf("order %v, want %v", got, want)
	}
}

// TestHoldAndRelease: a block held kinematically follows its poses with
// the velocity of the pose change, and on SetDynamic flies off with the
// given velocity, then lands and sleeps.
func TestHoldAndRelease(t *testing.T) {
	w := newWorld(t, Config{})
	mustAdd(t, w, 1, BodyDef{Shape: Plane(v3(0, 1, 0), 0), Kind: Static, Material: Material{Friction: 0.6}})
	mustAdd(t, w, 2, BodyDef{Shape: Box(v3(0.05, 0.05, 0.05)), Mass: 0.5, Pose: at(0, 0.05, 0), Material: Material{Friction: 0.6}})
	if err := w.SetKinematic(2); err != nil {
		t.Fatal(err)
	}
	p := at(0, 1, 0)
	for i := 0; i < 30; i++ {
		p.Pos.X += 2 * tick
		p.Rot = geom.AxisAngle(v3(0, 1, 0), 3*tick*float64(i+1))
		w.SetKinematicPose(2, p)
		w.Step(tick)
	}
	if got := w.Pose(2); got.Pos.Sub(p.Pos).Len() > 1e-12 || got.Rot.Angle(p.Rot) > 1e-9 {
		t.Errorf("held pose %+v, want %+v", got, p)
	}
	lin, ang := w.Velocity(2)
	if lin.Sub(v3(2, 0, 0)).Len() > 1e-6 || ang.Sub(v3(0, 3, 0)).Len() > 1e-6 {
		t.Errorf("held velocity %+v %+v, want (2,0,0) (0,3,0)", lin, ang)
	}
	if err := w.SetDynamic(2, lin, ang); err != nil {
		t.Fatal(err)
	}
	w.Step(tick)
	if x := w.Pose(2).Pos.X; math.Abs(x-(p.Pos.X+2*tick)) > 1e-9 {
		t.Errorf("released block at x %.6f, want %.6f", x, p.Pos.X+2*tick)
	}
	for i := 0; i < 5*120 && !w.Sleeping(2); i++ {
		w.Step(tick)
	}
	if !w.Sleeping(2) || math.Abs(w.Pose(2).Pos.Y-0.05) > 0.002 {
		t.Errorf("after release: sleeping %v at %+v", w.Sleeping(2), w.Pose(2).Pos)
	}
}

// TestKinematicWakesSleepers: a sleeping block is woken and pushed by a
// kinematic body moved into it, and not by one standing still.
func TestKinematicWakesSleepers(t *testing.T) {
	w := newWorld(t, Config{})
	mustAdd(t, w, 1, BodyDef{Shape: Plane(v3(0, 1, 0), 0), Kind: Static, Material: Material{Friction: 0.5}})
	mustAdd(t, w, 2, BodyDef{Shape: Box(v3(0.05, 0.05, 0.05)), Mass: 0.5, Pose: at(0, 0.05, 0), Material: Material{Friction: 0.5}})
	hand := at(-0.2, 0.05, 0)
	mustAdd(t, w, 3, BodyDef{Shape: Sphere(0.04), Kind: Kinematic, Mass: 0.3, Pose: hand})
	for i := 0; i < 120; i++ {
		w.SetKinematicPose(3, hand)
		w.Step(tick)
	}
	if !w.Sleeping(2) {
		t.Fatal("block not asleep")
	}
	for i := 0; i < 60; i++ {
		hand.Pos.X += 0.5 * tick
		w.SetKinematicPose(3, hand)
		w.Step(tick)
	}
	if x := w.Pose(2).Pos.X; x < 0.1 {
		t.Errorf("block at x %.3f: not pushed", x)
	}
	if w.Sleeping(2) {
		t.Error("pushed block asleep")
	}
}

// TestRemoveWakesStack: removing the bottom of a sleeping stack lets the
// rest fall.
func TestRemoveWakesStack(t *testing.T) {
	w := stackWorld(t, Config{})
	for i := 0; i < 2*120; i++ {
		w.Step(tick)
	}
	if !w.Sleeping(14) {
		t.Fatal("stack not asleep")
	}
	w.Remove(10)
	for i := 0; i < 60; i++ {
		w.Step(tick)
	}
	if y := w.Pose(14).Pos.Y; y > 8*blockHalf-0.01 {
		t.Errorf("top box at %.3f after removing the bottom one", y)
	}
}

// TestContactsReport: a ball's bounce is reported once per Step with an
// impulse near m·(1+e)·v, at the contact point, with ids in order.
func TestContactsReport(t *testing.T) {
	w := newWorld(t, Config{})
	mustAdd(t, w, 5, BodyDef{Shape: Plane(v3(0, 1, 0), 0), Kind: Static, Material: Material{Restitution: 0.8}})
	mustAdd(t, w, 2, ball(v3(0.3, 0.5, 0), geom.Vec3{}, 0.8))
	for i := 0; i < 120; i++ {
		lin, _ := w.Velocity(2)
		w.Step(tick)
		n := 0
		w.Contacts(func(a, b BodyID, p geom.Vec3, j float64) {
			n++
			if a != 2 || b != 5 {
				t.Errorf("pair %d, %d", a, b)
			}
			want := ballMass * 1.8 * -lin.Y
			if math.Abs(j-want) > 0.05*want || math.Abs(p.X-0.3) > 1e-6 || math.Abs(p.Y) > 0.003 {
				t.Errorf("impulse %.5f at %+v, want %.5f at (0.3, 0, 0)", j, p, want)
			}
		})
		if n > 0 {
			return
		}
	}
	t.Error("no contact reported")
}

// TestStepInParts: Begin, SubStep and End move bodies exactly as Step
// does, and running the parts out of order panics.
func TestStepInParts(t *testing.T) {
	mk := func() *World {
		w, err := NewWorld(Config{SubSteps: 4})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Add(1, BodyDef{Shape: Sphere(0.02), Mass: 0.0027, Pose: geom.Pose{Pos: geom.Vec3{Y: 1}, Rot: geom.Identity}, Vel: geom.Vec3{X: 2}}); err != nil {
			t.Fatal(err)
		}
		return w
	}
	a, b := mk(), mk()
	parts := 0
	for range 30 {
		a.Step(1.0 / 120)
		n := b.Begin(1.0 / 120)
		for i := range n {
			b.SubStep(i)
			parts++
		}
		b.End()
	}
	if parts != 30*4 {
		t.Fatalf("%d sub-steps run, want %d", parts, 30*4)
	}
	if a.Pose(1) != b.Pose(1) {
		t.Fatalf("the parts moved the body to %v, Step to %v", b.Pose(1), a.Pose(1))
	}
	if n := b.Begin(0); n != 0 {
		t.Fatalf("Begin(0) = %d sub-steps", n)
	}
	b.End()
	for name, f := range map[string]func(){
		"skip":      func() { b.Begin(1.0 / 120); b.SubStep(1) },
		"early end": func() { b.Begin(1.0 / 120); b.SubStep(0); b.End() },
		"too many": func() {
			n := b.Begin(1.0 / 120)
			for i := range n + 1 {
				b.SubStep(i)
			}
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
