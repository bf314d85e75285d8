package server_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/sim"
)

// scaleScene is a floor and n dynamic spheres: a grid of them resting on
// it, a tenth dropped from above.
func scaleScene(n int) *scene.Scene {
	sc := &scene.Scene{Name: "scale", Gravity: geom.Vec3{Y: -9.81}}
	sc.Objects = append(sc.Objects, scene.Object{ID: 1, Name: "floor", Shape: scene.ShapePlane, Normal: geom.Vec3{Y: 1}, Kind: scene.Static,
		Restitution: 0.2, Friction: 0.5, Pose: geom.Pose{Rot: geom.Quat{W: 1}}})
	for i := range n {
		y := 0.1
		if i%10 == 0 {
			y = 2 + float64(i%7)
		}
		sc.Objects = append(sc.Objects, scene.Object{ID: uint16(i + 2), Name: fmt.Sprintf("ball%d", i), Shape: scene.ShapeSphere,
			Radius: 0.1, Kind: scene.Dynamic, Mass: 0.2, Restitution: 0.3, Friction: 0.5,
			Pose: geom.Pose{Pos: geom.Vec3{X: float64(i%20)*0.3 - 3, Y: y, Z: float64(i/20)*0.3 - 3}, Rot: geom.Quat{W: 1}}})
	}
	return sc
}

// BenchmarkScale runs whole ticks with 250 headsets (StateDelta, on the
// group), 300 physics objects (16 headsets), and both, and reports the
// cost of a tick, per headset and per object: a regression shows as a
// ratio against an earlier run. ns/op is per tick.
func BenchmarkScale(b *testing.B) {
	for _, tc := range []struct {
		name              string
		headsets, objects int
	}{{"headsets-250", 250, 0}, {"objects-300", 16, 300}, {"both-250-300", 250, 300}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := server.Config{MaxClients: 512}
			if tc.objects > 0 {
				w, err := sim.New(scaleScene(tc.objects))
				if err != nil {
					b.Fatal(err)
				}
				cfg.World = w
			}
			srv, rp, now := hotPathClients(b, tc.headsets, false, false, true, cfg)
			rp.ack = ackNewest(srv, now)
			for range 120 { // a second to settle delivery and the baseline
				round(srv, rp, now)
			}
			t0 := time.Now()
			for b.Loop() {
				round(srv, rp, now)
			}
			per := float64(time.Since(t0).Nanoseconds()) / float64(b.N)
			// Each figure is the whole tick's cost shared out: with both,
			// both shares of the same tick.
			if tc.objects == 0 || tc.headsets >= 250 {
				b.ReportMetric(per/float64(tc.headsets), "ns/headset")
			}
			if tc.objects > 0 {
				b.ReportMetric(per/float64(tc.objects), "ns/object")
			}
			if missed := srv.Stats().MissedTicks.Load(); missed != 0 {
				b.Logf("%d ticks missed on virtual time", missed)
			}
		})
	}
}

// BenchmarkHeadsets runs receive → tick → send rounds with 1000 headsets
// on the group taking full snapshots, as arcade-load's generator does:
// every headset's pose is read and applied, then the tick. ns/op is per
// round (one pose per headset and one tick); ns/headset is its share.
func BenchmarkHeadsets(b *testing.B) {
	for _, n := range []int{250, 1000} {
		b.Run(fmt.Sprintf("multicast-%d", n), func(b *testing.B) {
			srv, rp, now := hotPathClients(b, n, false, false, false, server.Config{MaxClients: 2048})
			for range 120 { // a second to settle delivery
				round(srv, rp, now)
			}
			b.ReportAllocs()
			t0 := time.Now()
			for b.Loop() {
				round(srv, rp, now)
			}
			b.ReportMetric(float64(time.Since(t0).Nanoseconds())/float64(b.N)/float64(n), "ns/headset")
			b.ReportMetric(float64(rp.sent)/float64(b.N+120), "sent/round")
		})
	}
}
