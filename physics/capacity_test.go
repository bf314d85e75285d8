package physics

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/arcadexr/arcade/geom"
)

// crowd is a capacity scene: a floor and four walls, resting bodies in
// stacks of cubes and rows of balls, and falling bodies dropped from up to
// 3 m over another part of the floor and dropped again every second, so
// that they keep falling, bouncing and piling up.
type crowd struct {
	w       *World
	frame   int
	ids     []BodyID // the falling bodies
	start   []BodyDef
	resting int
}

// newCrowd builds a crowd of resting plus falling bodies and lets it run
// for settle steps (the resting ones fall asleep).
func newCrowd(t testing.TB, resting, falling, settle int) *crowd {
	w := newWorld(t, Config{})
	c := &crowd{w: w, resting: resting}
	m := Material{Restitution: 0.3, Friction: 0.6}
	mustAdd(t, w, 1, BodyDef{Shape: Plane(v3(0, 1, 0), 0), Kind: Static, Material: m})
	mustAdd(t, w, 2, BodyDef{Shape: Plane(v3(1, 0, 0), -6), Kind: Static, Material: m})
	mustAdd(t, w, 3, BodyDef{Shape: Plane(v3(-1, 0, 0), -6), Kind: Static, Material: m})
	mustAdd(t, w, 4, BodyDef{Shape: Plane(v3(0, 0, 1), -6), Kind: Static, Material: m})
	mustAdd(t, w, 5, BodyDef{Shape: Plane(v3(0, 0, -1), -6), Kind: Static, Material: m})
	id := BodyID(100)
	// Resting: stacks of five 0.1 m cubes and balls on the floor, on a grid
	// over x < 0.
	for k := 0; k < resting; {
		cell := k / 5
		gx, gz := cell%20, cell/20
		x, z := -5.6+0.25*float64(gx), -5.6+0.25*float64(gz)
		if cell%2 == 0 {
			for l := 0; l < 5 && k < resting; l++ {
				y := blockHalf + float64(l)*(2*blockHalf+0.002) + 0.001
				mustAdd(t, w, id, BodyDef{Shape: Box(v3(blockHalf, blockHalf, blockHalf)), Mass: 0.5, Pose: at(x, y, z), Material: m})
				id++
				k++
			}
			continue
		}
		for l := 0; l < 5 && k < resting; l++ {
			mustAdd(t, w, id, BodyDef{Shape: Sphere(0.04), Mass: 0.2, Pose: at(x-0.1+0.05*float64(l), 0.04, z), Material: m})
			id++
			k++
		}
	}
	// Falling: balls and cubes over x > 0.
	r := rand.New(rand.NewPCG(1, 2))
	for k := 0; k < falling; k++ {
		p := geom.Pose{
			Pos: v3(0.5+5*r.Float64(), 0.3+3*r.Float64(), -5.5+11*r.Float64()),
			Rot: geom.AxisAngle(v3(r.Float64(), r.Float64(), r.Float64()).Add(v3(0.1, 0, 0)), r.Float64()*3),
		}
		def := BodyDef{Pose: p, Vel: v3(r.Float64()-0.5, 0, r.Float64()-0.5), AngVel: v3(r.Float64(), r.Float64(), r.Float64()), Material: m}
		if k%2 == 0 {
			def.Shape, def.Mass = Sphere(0.03+0.03*r.Float64()), 0.2
		} else {
			def.Shape, def.Mass = Box(v3(0.03+0.03*r.Float64(), 0.03+0.03*r.Float64(), 0.03+0.03*r.Float64())), 0.4
		}
		mustAdd(t, w, id, def)
		c.ids = append(c.ids, id)
		c.start = append(c.start, def)
		id++
	}
	for i := 0; i < settle; i++ {
		c.step()
	}
	return c
}

// step drops the falling bodies again every second, then steps one tick.
func (c *crowd) step() {
	c.prepare()
	c.w.Step(tick)
}

// prepare does what step does before Step.
func (c *crowd) prepare() {
	if c.frame%120 == 0 {
		for i, id := range c.ids {
			c.w.SetPose(id, c.start[i].Pose)
			c.w.SetVelocity(id, c.start[i].Vel, c.start[i].AngVel)
		}
	}
	c.frame++
}

func quantile(ts []time.Duration, q float64) time.Duration {
	return ts[int(math.Min(float64(len(ts)-1), q*float64(len(ts))))]
}

// BenchmarkCapacity steps crowds with the broad phase ("sap") and with the
// all-pairs loops ("brute") from the same settled state, so both run the
// same simulation: "rest300" is 300 bodies asleep, "mix1000" 500 asleep
// and 500 falling, dropped again every second, "mix2000" 1 000 and 1 000.
// Besides ns/op (which includes dropping the bodies again), it reports the
// mean, median and 99th percentile of the time of Step alone, on the wall
// clock and, where it can be read, in the CPU time of the benchmark's
// thread ("cpu-"), which leaves out other processes on a shared machine.
func BenchmarkCapacity(b *testing.B) {
	for _, sc := range []struct {
		name             string
		resting, falling int
	}{{"rest300", 300, 0}, {"mix1000", 500, 500}, {"mix2000", 1000, 1000}} {
		for _, brute := range []bool{false, true} {
			name := sc.name + "/sap"
			if brute {
				name = sc.name + "/brute"
			}
			b.Run(name, func(b *testing.B) {
				c := newCrowd(b, sc.resting, sc.falling, 120)
				c.w.brute = brute
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				ts, cpu := make([]time.Duration, b.N), make([]time.Duration, b.N)
				_, cpuOK := threadCPU()
				b.ReportAllocs()
				b.ResetTimer()
				for i := range ts {
					c.prepare()
					c0, _ := threadCPU()
					t0 := time.Now()
					c.w.Step(tick)
					ts[i] = time.Since(t0)
					c1, _ := threadCPU()
					cpu[i] = c1 - c0
				}
				b.StopTimer()
				report := func(ts []time.Duration, prefix string) {
					var sum time.Duration
					for _, t := range ts {
						sum += t
					}
					slices.Sort(ts)
					b.ReportMetric(float64(sum.Nanoseconds())/float64(len(ts)), prefix+"ns/step")
					b.ReportMetric(float64(quantile(ts, 0.5).Nanoseconds()), prefix+"p50-ns/step")
					b.ReportMetric(float64(quantile(ts, 0.99).Nanoseconds()), prefix+"p99-ns/step")
				}
				report(ts, "")
				if cpuOK {
					report(cpu, "cpu-")
				}
			})
		}
	}
}
