package physics

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/arcadexr/arcade/geom"
)

// Errors returned by World methods.
var (
	// ErrUnknownBody: an id that was never added, or was removed.
	ErrUnknownBody = errors.New("physics: unknown body")
	// ErrExists: Add of an id already in the world.
	ErrExists = errors.New("physics: body already exists")
	// ErrKind: the call does not apply to the body's kind (SetKinematicPose
	// on a non-kinematic body, SetDynamic on a static body or one without
	// mass, any kind change of a plane).
	ErrKind = errors.New("physics: wrong body kind")
)

// Config sets up a World. Zero fields mean the documented default.
type Config struct {
	// Gravity is the initial World.Gravity; zero means (0, −9.81, 0). Set
	// World.Gravity after NewWorld for weightlessness.
	Gravity geom.Vec3
	// SubSteps is the number of equal sub-steps per Step; default 4.
	SubSteps int
	// Iterations is the number of velocity solver passes per sub-step;
	// default 10. An island of bodies whose contacts have converged stops
	// earlier.
	Iterations int
	// PositionIterations is the number of penetration projection passes per
	// sub-step; default 3.
	PositionIterations int
	// SleepTime is how long an island must stay below the sleep speeds
	// before it sleeps, s; default 0.5.
	SleepTime float64
	// SleepLinear and SleepAngular are the speeds below which a body counts
	// as resting; defaults 0.02 m/s and 0.05 rad/s.
	SleepLinear, SleepAngular float64
	// NoSleep disables sleeping.
	NoSleep bool
	// BounceThreshold is the approach speed below which contacts do not
	// bounce, m/s; default 0.2.
	BounceThreshold float64
}

// Defaults.
const (
	defaultSubSteps           = 4
	defaultIterations         = 10
	defaultPositionIterations = 3
	defaultSleepTime          = 0.5
	defaultSleepLinear        = 0.02
	defaultSleepAngular       = 0.05
	defaultBounceThreshold    = 0.2
)

// Tuning constants, in metres unless stated.
const (
	// margin: contacts are generated this far before touching.
	margin = 0.002
	// slop: penetration left alone by the position projection.
	slop = 0.0005
	// baumgarte: fraction of the penetration beyond slop removed per pass.
	baumgarte = 0.3
	// maxCorrection bounds one projection step.
	maxCorrection = 0.02
	// matchDist: a new contact point within this of an old one of the same
	// pair inherits its impulses.
	matchDist = 0.01
	// stickSpeed: below this tangential speed, m/s, StaticFriction applies.
	stickSpeed = 0.05
	// ccdFraction: spheres moving more than this fraction of their radius,
	// boxes more than this fraction of their smallest half extent, relative
	// to another body in a sub-step are swept against it.
	ccdFraction = 0.25
	// ccdGap is the separation left by a swept sphere or box at its time of
	// impact, ccdTouch the initial separation below which a sphere is not
	// swept (the contact is already there) and a box only against sinking
	// ccdSink deeper.
	ccdGap   = 0.0002
	ccdTouch = 0.001
	// ccdSink: a swept box already touching another body stops when it
	// would sink this much deeper into it.
	ccdSink = 0.001
	// ccdIterations bounds the conservative advancement of a swept box.
	ccdIterations = 24
)

// World is a set of bodies and the state to step them.
type World struct {
	// Gravity is the acceleration applied to dynamic bodies, m/s².
	Gravity geom.Vec3

	subSteps, iterations, posIterations int
	// The step Begin started: sub-step length, count and the next to run.
	stepH                         float64
	stepN, stepNext               int
	sleepTime, sleepLin, sleepAng float64
	noSleep                       bool
	bounce                        float64

	bodies []body   // sorted by id
	ids    []BodyID // the bodies' ids, for finding one: dense, as the bodies are not
	live   []int32  // in a sub-step: the dynamic and kinematic bodies not asleep, by index

	manifolds, prevManifolds []manifold
	contacts, prevContacts   []contact
	reports, reportsTmp      []report  // sorted by key
	parent                   []int32   // island union-find, by body index
	islandMin                []float64 // per island root: least sleep time
	islandState              []int8    // per island root: solver state
	islands                  []int32   // the roots of the sub-step's islands
	solves                   int       // manifold solves since Begin (tests)
	scratch                  [maxClip]point

	bp    broad // broad phase
	brute bool  // test all pairs instead (tests, comparison)
}

// NewWorld returns an empty world. It fails on negative Config fields,
// naming the field.
func NewWorld(cfg Config) (*World, error) {
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"SubSteps", float64(cfg.SubSteps)},
		{"Iterations", float64(cfg.Iterations)},
		{"PositionIterations", float64(cfg.PositionIterations)},
		{"SleepTime", cfg.SleepTime},
		{"SleepLinear", cfg.SleepLinear},
		{"SleepAngular", cfg.SleepAngular},
		{"BounceThreshold", cfg.BounceThreshold},
	} {
		if f.v < 0 || math.IsNaN(f.v) {
			return nil, fmt.Errorf("physics: Config.%s is %v, want ≥ 0", f.name, f.v)
		}
	}
	w := &World{
		Gravity:       orVec(cfg.Gravity, geom.Vec3{Y: -9.81}),
		subSteps:      orInt(cfg.SubSteps, defaultSubSteps),
		iterations:    orInt(cfg.Iterations, defaultIterations),
		posIterations: orInt(cfg.PositionIterations, defaultPositionIterations),
		sleepTime:     orFloat(cfg.SleepTime, defaultSleepTime),
		sleepLin:      orFloat(cfg.SleepLinear, defaultSleepLinear),
		sleepAng:      orFloat(cfg.SleepAngular, defaultSleepAngular),
		noSleep:       cfg.NoSleep,
		bounce:        orFloat(cfg.BounceThreshold, defaultBounceThreshold),
	}
	return w, nil
}

func orInt(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

func orFloat(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}

func orVec(v, d geom.Vec3) geom.Vec3 {
	if v == (geom.Vec3{}) {
		return d
	}
	return v
}

// find returns the index of id, or −1.
func (w *World) find(id BodyID) int {
	i, ok := slices.BinarySearch(w.ids, id)
	if !ok {
		return -1
	}
	return i
}

// Add adds a body. Planes must be Static; Dynamic bodies need a positive
// Mass; sizes must be positive.
func (w *World) Add(id BodyID, def BodyDef) error {
	s := def.Shape
	switch s.Kind {
	case ShapeSphere:
		if !(s.Radius > 0) {
			return fmt.Errorf("physics: body %d: Shape.Radius is %v, want > 0", id, s.Radius)
		}
	case ShapeBox:
		if !(s.Half.X > 0 && s.Half.Y > 0 && s.Half.Z > 0) {
			return fmt.Errorf("physics: body %d: Shape.Half is %v, want all > 0", id, s.Half)
		}
	case ShapePlane:
		if def.Kind != Static {
			return fmt.Errorf("physics: body %d: plane: %w", id, ErrKind)
		}
		if s.Normal.Len() == 0 {
			return fmt.Errorf("physics: body %d: Shape.Normal is zero", id)
		}
		n := s.Normal.Len()
		s.Normal = s.Normal.Scale(1 / n)
		s.Offset /= n
	default:
		return fmt.Errorf("physics: body %d: Shape.Kind %d is not a shape", id, s.Kind)
	}
	if def.Kind > Static {
		return fmt.Errorf("physics: body %d: Kind %d: %w", id, def.Kind, ErrKind)
	}
	if def.Mass < 0 || math.IsNaN(def.Mass) || (def.Kind == Dynamic && def.Mass == 0) {
		return fmt.Errorf("physics: body %d: Mass is %v, want > 0", id, def.Mass)
	}
	i, found := slices.BinarySearch(w.ids, id)
	if found {
		return fmt.Errorf("physics: body %d: %w", id, ErrExists)
	}
	b := body{id: id, kind: def.Kind, shape: s, mat: def.Material, mass: def.Mass}
	b.pose = geom.Pose{Pos: def.Pose.Pos, Rot: def.Pose.Rot.Norm()}
	if def.Kind == Dynamic {
		b.vel, b.angVel = def.Vel, def.AngVel
	}
	if def.Kind == Static {
		b.mass = 0
	}
	b.setMassProps()
	b.box = bounds(&b.shape, b.pose)
	w.bodies = slices.Insert(w.bodies, i, b)
	w.ids = slices.Insert(w.ids, i, id)
	w.bp.dirty = true
	w.dropCandidates()
	w.wakeNear(b.box)
	return nil
}

// Remove removes a body, waking whatever rested against it.
func (w *World) Remove(id BodyID) {
	i := w.find(id)
	if i < 0 {
		return
	}
	box := w.bodies[i].box
	w.bodies = slices.Delete(w.bodies, i, i+1)
	w.ids = slices.Delete(w.ids, i, i+1)
	w.bp.dirty = true
	w.dropCandidates()
	w.wakeNear(box)
}

// Has reports whether id is in the world.
func (w *World) Has(id BodyID) bool { return w.find(id) >= 0 }

// Pose returns the body's pose, or the zero Pose for an unknown id.
func (w *World) Pose(id BodyID) geom.Pose {
	if i := w.find(id); i >= 0 {
		return w.bodies[i].pose
	}
	return geom.Pose{}
}

// Velocity returns the body's linear and angular velocity (world frame).
// For a kinematic body it is the velocity of its last Step.
func (w *World) Velocity(id BodyID) (lin, ang geom.Vec3) {
	if i := w.find(id); i >= 0 {
		return w.bodies[i].vel, w.bodies[i].angVel
	}
	return geom.Vec3{}, geom.Vec3{}
}

// Sleeping reports whether the body is asleep.
func (w *World) Sleeping(id BodyID) bool {
	if i := w.find(id); i >= 0 {
		return w.bodies[i].sleeping
	}
	return false
}

// SetKinematicPose sets the pose a kinematic body reaches at the end of the
// next Step. The last call before a Step wins.
func (w *World) SetKinematicPose(id BodyID, p geom.Pose) error {
	i := w.find(id)
	if i < 0 {
		return ErrUnknownBody
	}
	w.dropCandidates()
	b := &w.bodies[i]
	if b.kind != Kinematic {
		return ErrKind
	}
	b.target = geom.Pose{Pos: p.Pos, Rot: p.Rot.Norm()}
	b.hasTarget = true
	return nil
}

// SetDynamic makes a kinematic or dynamic body dynamic with the given linear
// and angular velocity (world frame), awake: a release from the hand.
func (w *World) SetDynamic(id BodyID, lin, ang geom.Vec3) error {
	i := w.find(id)
	if i < 0 {
		return ErrUnknownBody
	}
	w.dropCandidates()
	b := &w.bodies[i]
	if b.kind == Static || b.mass <= 0 {
		return ErrKind
	}
	b.kind = Dynamic
	b.vel, b.angVel = lin, ang
	b.hasTarget = false
	b.sleeping, b.sleepTime = false, 0
	b.updateInertia()
	return nil
}

// SetKinematic makes a dynamic body kinematic, standing still until given
// a pose: a grab by the hand.
func (w *World) SetKinematic(id BodyID) error {
	i := w.find(id)
	if i < 0 {
		return ErrUnknownBody
	}
	w.dropCandidates()
	b := &w.bodies[i]
	if b.kind == Static {
		return ErrKind
	}
	if b.sleeping {
		w.wakeIsland(b.island)
	}
	b.kind = Kinematic
	b.vel, b.angVel = geom.Vec3{}, geom.Vec3{}
	b.hasTarget = false
	b.updateInertia()
	return nil
}

// SetPose moves a body at once, without velocity (a teleport), and wakes it
// and whatever it touched or now touches.
func (w *World) SetPose(id BodyID, p geom.Pose) error {
	i := w.find(id)
	if i < 0 {
		return ErrUnknownBody
	}
	w.dropCandidates()
	b := &w.bodies[i]
	old := b.box
	b.pose = geom.Pose{Pos: p.Pos, Rot: p.Rot.Norm()}
	b.hasTarget = false
	b.updateInertia()
	b.box = bounds(&b.shape, b.pose)
	if b.sleeping {
		w.wakeIsland(b.island)
	}
	w.wakeNear(old)
	w.wakeNear(b.box)
	return nil
}

// SetVelocity sets a dynamic body's velocity and wakes it.
func (w *World) SetVelocity(id BodyID, lin, ang geom.Vec3) error {
	i := w.find(id)
	if i < 0 {
		return ErrUnknownBody
	}
	w.dropCandidates()
	b := &w.bodies[i]
	if b.kind != Dynamic {
		return ErrKind
	}
	if b.sleeping {
		w.wakeIsland(b.island)
	}
	b.vel, b.angVel = lin, ang
	return nil
}

// Wake wakes a sleeping body and its island.
func (w *World) Wake(id BodyID) {
	if i := w.find(id); i >= 0 && w.bodies[i].sleeping {
		w.wakeIsland(w.bodies[i].island)
	}
}

// wakeIsland wakes every body sleeping in island.
func (w *World) wakeIsland(island BodyID) {
	w.dropCandidates()
	for i := range w.bodies {
		b := &w.bodies[i]
		if b.sleeping && b.island == island {
			b.sleeping, b.sleepTime = false, 0
		}
	}
}

// wakeNear wakes the islands of sleeping bodies whose bounds meet box.
func (w *World) wakeNear(box aabb) {
	box = box.grow(margin)
	for i := range w.bodies {
		b := &w.bodies[i]
		if b.sleeping && b.box.overlaps(box) {
			w.wakeIsland(b.island)
		}
	}
}

// Bodies calls fn for every body in increasing id order.
func (w *World) Bodies(fn func(id BodyID, p geom.Pose, sleeping bool)) {
	for i := range w.bodies {
		b := &w.bodies[i]
		fn(b.id, b.pose, b.sleeping)
	}
}

// Contacts calls fn for every pair that exchanged a normal impulse during
// the last Step, by increasing (a, b) with a < b: the point of the largest
// impulse and the total normal impulse over the Step, N·s.
func (w *World) Contacts(fn func(a, b BodyID, point geom.Vec3, impulse float64)) {
	for _, r := range w.reports {
		fn(BodyID(r.key>>32), BodyID(r.key), r.point, r.impulse)
	}
}

// Energy returns the kinetic plus gravitational potential energy of the
// dynamic bodies, J, potential measured from the origin.
func (w *World) Energy() float64 {
	e := 0.0
	for i := range w.bodies {
		b := &w.bodies[i]
		if b.kind != Dynamic {
			continue
		}
		e += b.kineticEnergy() - b.mass*w.Gravity.Dot(b.pose.Pos)
	}
	return e
}
