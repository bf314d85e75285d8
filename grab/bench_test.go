package grab

import (
	"math/rand/v2"
	"testing"

	"github.com/arcadexr/arcade/geom"
)

// demoScene builds the venue at demo size: 16 players with two hands each
// (ids 1..32) and 40 objects (ids 100..139). Half the players hold
// something in one hand: darts, a racket carrying a ball, tongs holding a
// ball, and a shared table carried by two hands.
func demoScene(tb testing.TB) *Graph {
	r := rand.New(rand.NewPCG(11, 12))
	g := New(96)
	for h := NodeID(1); h <= 32; h++ {
		mustAdd(tb, g, h, hand, randPose(r))
	}
	for o := NodeID(100); o < 140; o++ {
		rules := object
		switch {
		case o < 104: // rackets and tongs
			rules = holder
		case o == 139: // a table two people carry
			rules = Rules{Grabbable: true, Shared: true}
		}
		mustAdd(tb, g, o, rules, randPose(r))
	}
	for i := NodeID(0); i < 4; i++ {
		mustGrab(tb, g, 1+2*i, 100+i) // hand → racket/tongs
		mustGrab(tb, g, 100+i, 110+i) // → ball
	}
	for i := NodeID(4); i < 8; i++ {
		mustGrab(tb, g, 1+2*i, 120+i) // hand → dart
	}
	mustGrab(tb, g, 17, 139)
	mustGrab(tb, g, 19, 139)
	return g
}

// chain builds hand 1 → 2 → … → depth+1.
func chain(tb testing.TB, depth int) *Graph {
	r := rand.New(rand.NewPCG(13, 14))
	g := New(depth + 1)
	mustAdd(tb, g, 1, hand, randPose(r))
	for i := 2; i <= depth+1; i++ {
		mustAdd(tb, g, NodeID(i), holder, randPose(r))
		mustGrab(tb, g, NodeID(i-1), NodeID(i))
	}
	return g
}

func TestZeroAllocs(t *testing.T) {
	g := demoScene(t)
	var sink geom.Pose
	var relBuf []Release
	moved := func(_ NodeID, p geom.Pose) { sink = p }
	p := geom.Pose{Pos: geom.Vec3{Y: 1}, Rot: geom.Identity}
	now := int64(0)
	checks := []struct {
		name string
		f    func()
	}{
		{"SetPose", func() { now += frame90Hz; g.SetPose(1, p, now) }},
		{"SetPose+Propagate", func() { now += frame90Hz; g.SetPose(1, p, now); g.Propagate(1, moved) }},
		{"PropagateAll", func() { now += frame90Hz; g.SetPose(3, p, now); g.PropagateAll(moved) }},
		{"Velocity", func() { g.Velocity(110, now) }},
		{"Grab+Release", func() {
			if _, _, err := g.Grab(31, 130); err != nil {
				t.Fatal(err)
			}
			if _, err := g.Release(31, 130, now); err != nil {
				t.Fatal(err)
			}
		}},
		{"TakeOver+ReleaseAll", func() {
			g.Grab(31, 130)
			g.Grab(32, 130)
			relBuf, _ = g.ReleaseAll(relBuf[:0], 32, now)
		}},
	}
	for _, c := range checks {
		c.f() // let slices grow once
		if a := testing.AllocsPerRun(200, c.f); a != 0 {
			t.Errorf("%s: %v allocs/op, want 0", c.name, a)
		}
	}
	_ = sink
	checkInvariants(t, g)
}

func BenchmarkPropagateChain8(b *testing.B) {
	g := chain(b, 8)
	p := geom.Pose{Pos: geom.Vec3{Y: 1}, Rot: geom.Identity}
	b.ReportAllocs()
	now := int64(0)
	for b.Loop() {
		now += frame90Hz
		g.SetPose(1, p, now)
		g.Propagate(1, nil)
	}
}

func BenchmarkPropagateAllDemo(b *testing.B) {
	g := demoScene(b)
	b.ReportAllocs()
	n := 0
	moved := func(NodeID, geom.Pose) { n++ }
	for b.Loop() {
		g.PropagateAll(moved)
	}
}

// BenchmarkTickDemo is one tick's grab work at demo size: 32 hand poses set
// and propagated eagerly as they arrive, then PropagateAll.
func BenchmarkTickDemo(b *testing.B) {
	g := demoScene(b)
	r := rand.New(rand.NewPCG(1, 1))
	poses := make([]geom.Pose, 32)
	for i := range poses {
		poses[i] = randPose(r)
	}
	b.ReportAllocs()
	now := int64(0)
	for b.Loop() {
		now += frame90Hz
		for h := NodeID(1); h <= 32; h++ {
			g.SetPose(h, poses[h-1], now)
			g.Propagate(h, nil)
		}
		g.PropagateAll(nil)
	}
}

func BenchmarkGrabRelease(b *testing.B) {
	g := demoScene(b)
	b.ReportAllocs()
	for b.Loop() {
		g.Grab(31, 130)
		g.Release(31, 130, 0)
	}
}

// BenchmarkGrabReleaseChain moves a subtree: a free racket holding a ball
// (a two-node block) grabbed by a hand and released again.
func BenchmarkGrabReleaseChain(b *testing.B) {
	g := demoScene(b)
	g.Release(7, 103, 0) // hand 7 puts tongs 103 (holding ball 113) down
	b.ReportAllocs()
	for b.Loop() {
		g.Grab(31, 103)
		g.Release(31, 103, 0)
	}
}
