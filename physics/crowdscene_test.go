package physics

import (
	"hash/fnv"
	"math"
	"runtime"
	"testing"

	"github.com/arcadexr/arcade/scene"
)

// crowdScene returns a world of the server's capacity scene
// (scene.Crowd, as make physicsbench runs it: 420 resting and 580 moving
// objects), its objects added as sim adds them, stepped settle ticks at
// 120 Hz from the start in subSteps sub-steps a tick (zero: the default).
func crowdScene(t testing.TB, resting, moving, settle, subSteps int) *World {
	sc := scene.Crowd(resting, moving, 1)
	w := newWorld(t, Config{Gravity: sc.Gravity, SubSteps: subSteps})
	for i := range sc.Objects {
		o := &sc.Objects[i]
		def := BodyDef{Mass: o.Mass, Pose: o.Pose, Material: Material{Restitution: o.Restitution, Friction: o.Friction}}
		switch o.Shape {
		case scene.ShapeSphere:
			def.Shape = Sphere(o.Radius)
		case scene.ShapeBox:
			def.Shape = Box(o.Half)
		case scene.ShapePlane:
			def.Shape = Plane(o.Normal, o.Offset)
		}
		switch o.Kind {
		case scene.Kinematic:
			def.Kind = Kinematic
		case scene.Static:
			def.Kind = Static
		}
		mustAdd(t, w, BodyID(o.ID), def)
	}
	for range settle {
		w.Step(tick)
	}
	return w
}

// fingerprint hashes every body's pose, velocities and sleep, bit for bit.
func fingerprint(w *World) uint64 {
	h := fnv.New64a()
	var buf [8]byte
	put := func(x float64) {
		u := math.Float64bits(x)
		for k := range buf {
			buf[k] = byte(u >> (8 * k))
		}
		h.Write(buf[:])
	}
	for i := range w.bodies {
		b := &w.bodies[i]
		p := b.pose
		for _, x := range []float64{p.Pos.X, p.Pos.Y, p.Pos.Z, p.Rot.X, p.Rot.Y, p.Rot.Z, p.Rot.W,
			b.vel.X, b.vel.Y, b.vel.Z, b.angVel.X, b.angVel.Y, b.angVel.Z, b.sleepTime} {
			put(x)
		}
		if b.sleeping {
			h.Write([]byte{1})
		}
	}
	for _, r := range w.reports {
		put(float64(r.key))
		put(r.impulse)
		put(r.point.X)
		put(r.point.Y)
		put(r.point.Z)
	}
	return h.Sum64()
}

// serverSubSteps is the server's sub-steps a tick (sim.SubSteps, which
// this package cannot import).
const serverSubSteps = 3

// crowdSettled is the world of BenchmarkCrowdScene, built once per
// process: the benchmark runs first for one op, then for b.N, and goes on
// from where the first left it.
var crowdSettled *World

// BenchmarkCrowdScene steps the server's capacity scene from the state
// make physicsbench measures in (its 10 s warm-up over), one Step of
// 1/120 s in the server's sub-steps per op. It reports how many bodies are awake.
func BenchmarkCrowdScene(b *testing.B) {
	if crowdSettled == nil {
		crowdSettled = crowdScene(b, 420, 580, 1200, serverSubSteps)
	}
	w := crowdSettled
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	crowdSteps(w, b.N)
	b.StopTimer()
	awake := 0
	for i := range w.bodies {
		if w.bodies[i].active() {
			awake++
		}
	}
	b.ReportMetric(float64(awake), "awake")
}

// crowdSteps steps w n ticks: apart, so that an instruction count can be
// limited to it. Dump the counts as it is entered and read the last part,
// the b.N steps alone:
//
//	GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 valgrind --tool=callgrind \
//	  --dump-before='*crowdSteps' ./physics.test -test.run '^$' \
//	  -test.bench BenchmarkCrowdScene -test.benchtime 60x
//
// (without asyncpreemptoff callgrind stops on the runtime's preemption
// signals). --toggle-collect='*crowdSteps' undercounts it: 7.1 M
// instructions for 61 steps where the dumps give 458 M for the last 60.
//
//go:noinline
func crowdSteps(w *World, n int) {
	for range n {
		w.Step(tick)
	}
}
