package main

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/physics"
	"github.com/arcadexr/arcade/wire"
)

// The cubes scene, after Glenn Fiedler's snapshot compression demo: a 1 m
// player cube driving through a 30 × 30 grid of small cubes that were
// dropped onto the floor.
const (
	cubeCount    = 900
	cubeSpacing  = 0.55 // m between grid points
	cubeMinHalf  = 0.1  // half extent, m: cubes are 0.2–0.4 m
	cubeMaxHalf  = 0.2
	cubeDensity  = 500 // kg/m³, wood
	playerHalf   = 0.5 // the player cube is 1 m
	cubesRate    = 120 // the physics runs at 120 Hz; 60 Hz takes every other tick
	playerStart  = 2.0 // s: the player cube starts driving
	loopPeriod   = 24.0
	jumpEvery    = 5.0 // s between the player's jumps
	jumpLength   = 0.8 // s in the air
	jumpHeight   = 1.2 // m
	cubesBodyOff = 10  // body id = entity id + cubesBodyOff; 1 is the floor
)

// cubesTrace is the cubes scene simulated at 120 Hz; at 60 Hz every other
// tick is sent.
type cubesTrace struct {
	rate, step int // sent rate, and recorded ticks per sent tick
	n          int // sent ticks
	per        int // entities per tick
	ents       []wire.EntityState
}

func (c *cubesTrace) Name() string { return "cubes" }
func (c *cubesTrace) Rate() int    { return c.rate }
func (c *cubesTrace) Len() int     { return c.n }
func (c *cubesTrace) State(t int, s *State) {
	s.Players = s.Players[:0]
	k := t * c.step * c.per
	s.Entities = append(s.Entities[:0], c.ents[k:k+c.per]...)
}

// cubeRecording is the 120 Hz simulation, shared by both rates.
type cubeRecording struct {
	ticks, cubes int
	ents         []wire.EntityState // cubes+1 per tick, ids 1..cubes+1 (the player cube last)
}

// at returns the trace of the recording at rate 120 or 60.
func (r *cubeRecording) at(rate int) *cubesTrace {
	step := cubesRate / rate
	return &cubesTrace{rate: rate, step: step, n: r.ticks / step, per: r.cubes + 1, ents: r.ents}
}

// cubePlayerPose is where the player cube is at time t: still until
// playerStart, then driving a figure eight through the grid at about
// 2.5 m/s, turned along its path, hopping jumpHeight every jumpEvery
// seconds and landing on whatever is there.
func cubePlayerPose(t float64) geom.Pose {
	y := playerHalf + 0.001
	if t < playerStart {
		return geom.Pose{Pos: geom.Vec3{X: -10, Y: y, Z: 0}, Rot: geom.Identity}
	}
	u := t - playerStart
	w := 2 * math.Pi / loopPeriod
	// x from -10 to 10 and back; z swings ±6 twice per loop.
	x := -10 * math.Cos(w*u)
	z := 6 * math.Sin(2*w*u)
	dx := 10 * w * math.Sin(w*u)
	dz := 12 * w * math.Cos(2*w*u)
	if j := math.Mod(u, jumpEvery); u > jumpEvery/2 && j < jumpLength {
		s := j / jumpLength
		y += jumpHeight * 4 * s * (1 - s)
	}
	yaw := math.Atan2(dx, dz)
	return geom.Pose{Pos: geom.Vec3{X: x, Y: y, Z: z}, Rot: geom.AxisAngle(geom.Vec3{Y: 1}, yaw)}
}

// recordCubes simulates the cubes scene with n small cubes (900; tests use
// fewer) for the given seconds at 120 Hz.
func recordCubes(seed uint64, n int, seconds float64) (*cubeRecording, error) {
	grid := int(math.Ceil(math.Sqrt(float64(n))))
	w, err := physics.NewWorld(physics.Config{})
	if err != nil {
		return nil, err
	}
	wood := physics.Material{Restitution: 0.2, Friction: 0.6}
	if err := w.Add(1, physics.BodyDef{Shape: physics.Plane(geom.Vec3{Y: 1}, 0), Kind: physics.Static, Material: wood}); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0xc0be5))
	for i := range n {
		h := cubeMinHalf + (cubeMaxHalf-cubeMinHalf)*rng.Float64()
		gx, gz := i%grid, i/grid
		pos := geom.Vec3{
			X: (float64(gx) - float64(grid-1)/2) * cubeSpacing,
			Y: 0.4 + 1.2*rng.Float64(),
			Z: (float64(gz) - float64(grid-1)/2) * cubeSpacing,
		}
		rot := geom.Quat{X: rng.NormFloat64(), Y: rng.NormFloat64(), Z: rng.NormFloat64(), W: rng.NormFloat64()}.Norm()
		def := physics.BodyDef{
			Shape: physics.Box(geom.Vec3{X: h, Y: h, Z: h}), Mass: cubeDensity * 8 * h * h * h,
			Pose: geom.Pose{Pos: pos, Rot: rot}, Material: wood,
			AngVel: geom.Vec3{X: rng.NormFloat64(), Y: rng.NormFloat64(), Z: rng.NormFloat64()},
		}
		if err := w.Add(physics.BodyID(i+1+cubesBodyOff), def); err != nil {
			return nil, err
		}
	}
	player := physics.BodyID(n + 1 + cubesBodyOff)
	if err := w.Add(player, physics.BodyDef{
		Shape: physics.Box(geom.Vec3{X: playerHalf, Y: playerHalf, Z: playerHalf}), Kind: physics.Kinematic,
		Pose: cubePlayerPose(0), Material: wood,
	}); err != nil {
		return nil, err
	}
	ticks := int(math.Round(seconds * cubesRate))
	rec := &cubeRecording{ticks: ticks, cubes: n, ents: make([]wire.EntityState, 0, ticks*(n+1))}
	dt := 1.0 / cubesRate
	for tk := range ticks {
		if err := w.SetKinematicPose(player, cubePlayerPose(float64(tk+1)*dt)); err != nil {
			return nil, err
		}
		w.Step(dt)
		var bad error
		w.Bodies(func(id physics.BodyID, p geom.Pose, sleeping bool) {
			if id <= cubesBodyOff {
				return
			}
			e := wire.EntityState{ID: uint16(id - cubesBodyOff), Pose: toWire(p)}
			if sleeping {
				e.Flags |= wire.EntitySleeping
			}
			if !inRange(p.Pos) && bad == nil {
				bad = fmt.Errorf("cubes: tick %d: body %d at %+v, outside the wire's range", tk, id, p.Pos)
			}
			rec.ents = append(rec.ents, e)
		})
		if bad != nil {
			return nil, bad
		}
	}
	return rec, nil
}

// inRange reports whether p is within the wire's position range.
func inRange(p geom.Vec3) bool {
	ok := func(v float64) bool { return v >= wire.PosMin && v <= wire.PosMax }
	return ok(p.X) && ok(p.Y) && ok(p.Z)
}

func toWire(p geom.Pose) wire.Pose {
	return wire.Pose{
		Pos: wire.Vec3{X: float32(p.Pos.X), Y: float32(p.Pos.Y), Z: float32(p.Pos.Z)},
		Rot: wire.Quat{X: float32(p.Rot.X), Y: float32(p.Rot.Y), Z: float32(p.Rot.Z), W: float32(p.Rot.W)},
	}
}
