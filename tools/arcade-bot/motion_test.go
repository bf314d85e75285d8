package main

import (
	"math"
	"testing"

	"github.com/arcadexr/arcade/wire"
)

func TestMotion(t *testing.T) {
	const n, rate = 16, 90
	inRoom := func(p wire.Vec3) bool {
		return math.Abs(float64(p.X)) <= roomHalf && math.Abs(float64(p.Z)) <= roomHalf && p.Y >= 0 && p.Y <= roomHeight
	}
	unit := func(q wire.Quat) bool {
		return math.Abs(float64(q.X*q.X+q.Y*q.Y+q.Z*q.Z+q.W*q.W)-1) < 1e-5
	}
	dist := func(a, b wire.Vec3) float64 {
		return math.Sqrt(float64((a.X-b.X)*(a.X-b.X) + (a.Y-b.Y)*(a.Y-b.Y) + (a.Z-b.Z)*(a.Z-b.Z)))
	}
	const frames = 30 * rate
	heads := make([][frames]wire.Vec3, n)
	for i := range n {
		p := newPath(i, n)
		var prev, in wire.PoseInput
		for k := range frames {
			tm := float64(k) / rate
			p.sample(tm, &in)
			poses := []wire.Pose{in.Head, in.Hands[0], in.Hands[1]}
			for j, ps := range poses {
				if !inRoom(ps.Pos) || !unit(ps.Rot) {
					t.Fatalf("bot %d t=%.2f pose %d: %+v outside the room or not a unit rotation", i, tm, j, ps)
				}
				if k > 0 {
					if d := dist(ps.Pos, []wire.Pose{prev.Head, prev.Hands[0], prev.Hands[1]}[j].Pos); d > 0.05 {
						t.Fatalf("bot %d t=%.2f pose %d jumped %.3f m in one frame", i, tm, j, d)
					}
				}
			}
			if in.Tracking != wire.TrackHead|wire.TrackLeft|wire.TrackRight {
				t.Fatalf("tracking %b", in.Tracking)
			}
			prev = in
			heads[i][k] = in.Head.Pos
		}
	}
	// Distinct paths: two heads may cross, but are apart on average.
	for i := range n {
		for j := range i {
			var sum float64
			for k := range frames {
				sum += dist(heads[i][k], heads[j][k])
			}
			if mean := sum / frames; mean < 0.3 {
				t.Errorf("bots %d and %d are %.2f m apart on average", i, j, mean)
			}
		}
	}
	// Sampling does not allocate.
	p := newPath(0, 1)
	var in wire.PoseInput
	if a := testing.AllocsPerRun(100, func() { p.sample(1.5, &in) }); a != 0 {
		t.Errorf("sample allocates %v", a)
	}
}
