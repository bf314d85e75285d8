package sim

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/grab"
	"github.com/arcadexr/arcade/physics"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/wire"
)

func demo(t testing.TB) *World {
	t.Helper()
	w, err := New(scene.Default())
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// findTag returns the first object of the demo scene with the tag.
func findTag(t testing.TB, tag string) *scene.Object {
	t.Helper()
	sc := scene.Default()
	for i := range sc.Objects {
		if sc.Objects[i].Tag == tag {
			o := sc.Objects[i]
			return &o
		}
	}
	t.Fatalf("no %s in the demo scene", tag)
	return nil
}

func handInput(seq uint32, p geom.Pose, grip float32) *wire.PoseInput {
	in := &wire.PoseInput{InputSeq: seq, Tracking: wire.TrackHead | wire.TrackLeft | wire.TrackRight}
	in.Head.Rot.W = 1
	in.Hands[wire.Left].Rot.W = 1
	in.Hands[wire.Right] = toWire(p)
	in.Grip[wire.Right] = grip
	return in
}

func TestGrabFollowsHandInTheSameCall(t *testing.T) {
	w := demo(t)
	w.AddPlayer(1, 0)
	dart := findTag(t, "dart")
	hand := geom.Pose{Pos: dart.Pose.Pos, Rot: geom.Identity}
	moved := w.ApplyInput(1, handInput(1, hand, 1), 0, nil)
	st, _ := w.Entity(dart.ID)
	if st.Flags&wire.EntityHeld == 0 {
		t.Fatalf("dart not held after a grip at its position: flags %b", st.Flags)
	}
	if !w.Holding(1) {
		t.Fatal("Holding(1) is false")
	}
	// Move the hand 0.3 m: the dart moves in this very call.
	hand.Pos.X += 0.3
	moved = w.ApplyInput(1, handInput(2, hand, 1), int64(11*time.Millisecond), moved[:0])
	if len(moved) != 1 || moved[0] != dart.ID {
		t.Fatalf("moved = %v, want the dart %d", moved, dart.ID)
	}
	st, _ = w.Entity(dart.ID)
	if d := float64(st.Pose.Pos.X) - (dart.Pose.Pos.X + 0.3); math.Abs(d) > 1e-5 {
		t.Fatalf("dart X off by %v m from hand + offset", d)
	}
	// A grip below GripOn on an empty hand grabs nothing.
	w.AddPlayer(2, 0)
	if w.ApplyInput(2, handInput(1, hand, 0.5), 0, nil); w.Holding(2) {
		t.Fatal("a half grip grabbed")
	}
}

// TestReleaseGivesHandVelocity throws a dart: a hand moving at 5 m/s (with
// ±1 mm tracking jitter, sampled at 90 Hz) releases it, and after one
// physics step the dart flies at the hand's velocity within 5 % and 5°.
func TestReleaseGivesHandVelocity(t *testing.T) {
	w := demo(t)
	w.AddPlayer(1, 0)
	dart := findTag(t, "dart")
	start := dart.Pose.Pos
	vel := geom.Vec3{X: 3, Y: 2.4, Z: -3} // |v| ≈ 4.9 m/s
	vel = vel.Scale(5 / vel.Len())
	rng := rand.New(rand.NewPCG(5, 6))
	dt := int64(time.Second / 90)
	var seq uint32
	var now int64
	for i := range 20 {
		seq++
		now = int64(i) * dt
		p := start.Add(vel.Scale(float64(now) / 1e9))
		p = p.Add(geom.Vec3{X: rng.NormFloat64() * 1e-3, Y: rng.NormFloat64() * 1e-3, Z: rng.NormFloat64() * 1e-3})
		w.ApplyInput(1, handInput(seq, geom.Pose{Pos: p, Rot: geom.Identity}, 1), now, nil)
	}
	seq++
	now += dt
	p := start.Add(vel.Scale(float64(now) / 1e9))
	w.ApplyInput(1, handInput(seq, geom.Pose{Pos: p, Rot: geom.Identity}, 0), now, nil)
	if w.Holding(1) {
		t.Fatal("still holding after the grip opened")
	}
	got, _ := w.Physics().Velocity(physics.BodyID(dart.ID))
	speedErr := math.Abs(got.Len()-vel.Len()) / vel.Len()
	angle := math.Acos(math.Min(1, got.Norm().Dot(vel.Norm()))) * 180 / math.Pi
	if speedErr > 0.05 || angle > 5 {
		t.Fatalf("released at %v (|v| %.3f), want %v: speed error %.1f%%, angle %.1f°", got, got.Len(), vel, speedErr*100, angle)
	}
	t.Logf("release velocity error: speed %.2f%%, direction %.2f°", speedErr*100, angle)
}

// TestChainMovesWithRootInput: an object held by an object held by a hand
// moves in the ApplyInput of the hand's pose, for chains of depth 1..8.
func TestChainMovesWithRootInput(t *testing.T) {
	for depth := 1; depth <= 8; depth++ {
		w := demo(t)
		w.AddPlayer(1, 0)
		g := w.Graph()
		// Build the chain out of fresh grabber objects near the origin.
		hand := HandNode(1, wire.Right)
		g.SetPose(hand, geom.IdentityPose, 0)
		prev := hand
		var ids []uint16
		for i := range depth {
			id := uint16(30000 + i)
			p := geom.Pose{Pos: geom.Vec3{X: 0.05 * float64(i+1)}, Rot: geom.Identity}
			if err := g.Add(grab.NodeID(id), grab.Rules{Grabbable: true, Grabber: true}, p); err != nil {
				t.Fatal(err)
			}
			if _, _, err := g.Grab(prev, grab.NodeID(id)); err != nil {
				t.Fatal(err)
			}
			prev = grab.NodeID(id)
			ids = append(ids, id)
		}
		moved := w.ApplyInput(1, handInput(1, geom.Pose{Pos: geom.Vec3{Y: 1}, Rot: geom.Identity}, 0), 1, nil)
		if len(moved) != depth {
			t.Fatalf("depth %d: %d entities moved in the root's call, want %d", depth, len(moved), depth)
		}
		for i, id := range ids {
			got := g.Pose(grab.NodeID(id)).Pos
			want := geom.Vec3{X: 0.05 * float64(i+1), Y: 1}
			if got.Sub(want).Len() > 1e-9 {
				t.Fatalf("depth %d link %d at %v, want %v", depth, i, got, want)
			}
		}
	}
}

func TestEntitiesAndDeterminism(t *testing.T) {
	run := func() []wire.EntityState {
		w := demo(t)
		w.AddPlayer(1, 0)
		ball := findTag(t, "ball")
		var seq uint32
		for i := range 240 {
			seq++
			now := int64(i) * int64(time.Second/120)
			p := geom.Pose{Pos: ball.Pose.Pos.Add(geom.Vec3{Y: 0.2 * math.Sin(float64(i)/10)}), Rot: geom.Identity}
			grip := float32(1)
			if i > 100 {
				grip = 0
			}
			w.ApplyInput(1, handInput(seq, p, grip), now, nil)
			w.Propagate(now)
			w.Step(now, 1.0/120)
		}
		return w.Entities(nil)
	}
	a, b := run(), run()
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("entities %d vs %d", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("entity %d differs between identical runs: %+v vs %+v", a[i].ID, a[i], b[i])
		}
		if i > 0 && a[i].ID <= a[i-1].ID {
			t.Fatal("entities not sorted by id")
		}
	}
}

// TestRemovePlayerReleasesGrabs: a player who leaves (or times out) drops
// what they held; the object goes back to physics and can be taken again.
func TestRemovePlayerReleasesGrabs(t *testing.T) {
	w := demo(t)
	w.AddPlayer(1, 0)
	dart := findTag(t, "dart")
	w.ApplyInput(1, handInput(1, geom.Pose{Pos: dart.Pose.Pos, Rot: geom.Identity}, 1), 0, nil)
	if st, _ := w.Entity(dart.ID); st.Flags&wire.EntityHeld == 0 {
		t.Fatal("setup: dart not held")
	}
	w.RemovePlayer(1, int64(time.Second))
	if st, _ := w.Entity(dart.ID); st.Flags&wire.EntityHeld != 0 {
		t.Fatal("dart still held after its holder left")
	}
	// The same client id back (a resumed session) starts with empty hands
	// and can grab it again.
	w.AddPlayer(1, int64(time.Second))
	if w.Holding(1) {
		t.Fatal("a returning player holds something before grabbing")
	}
	w.ApplyInput(1, handInput(2, geom.Pose{Pos: dart.Pose.Pos, Rot: geom.Identity}, 0), int64(time.Second), nil)
	w.ApplyInput(1, handInput(3, geom.Pose{Pos: dart.Pose.Pos, Rot: geom.Identity}, 1), int64(time.Second), nil)
	if !w.Holding(1) {
		t.Fatal("could not grab the dart again")
	}
}
