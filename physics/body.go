package physics

import (
	"math"

	"github.com/arcadexr/arcade/geom"
)

// BodyID names a body. Bodies are kept and visited in increasing id order.
type BodyID uint32

// ShapeKind says which fields of a Shape are used.
type ShapeKind uint8

// The shapes. The zero ShapeKind is invalid, so a zero Shape is rejected.
const (
	_ ShapeKind = iota
	// ShapeSphere: a ball of Radius about the body's position.
	ShapeSphere
	// ShapeBox: a box of half extents Half in the body's frame.
	ShapeBox
	// ShapePlane: the half-space below {p : Normal·p = Offset} in world
	// coordinates (the body's pose is ignored). Static bodies only.
	ShapePlane
)

// Shape is a collision shape. Build one with Sphere, Box or Plane.
type Shape struct {
	Kind   ShapeKind
	Radius float64   // sphere radius, m
	Half   geom.Vec3 // box half extents, m
	Normal geom.Vec3 // plane normal (normalized by Add), pointing out of the solid
	Offset float64   // plane: Normal·p = Offset on the surface
	Shell  bool      // sphere: thin shell inertia (2/3·m·r²) instead of solid (2/5·m·r²)
}

// Sphere returns a solid sphere shape.
func Sphere(r float64) Shape { return Shape{Kind: ShapeSphere, Radius: r} }

// Box returns a box shape with half extents half.
func Box(half geom.Vec3) Shape { return Shape{Kind: ShapeBox, Half: half} }

// Plane returns the plane n·p = d, solid on the side opposite n.
func Plane(n geom.Vec3, d float64) Shape { return Shape{Kind: ShapePlane, Normal: n, Offset: d} }

// Material holds the surface coefficients of a body. For a contact, the
// restitution is the larger of the two bodies', the friction coefficients
// the geometric means, the rolling resistance the larger.
type Material struct {
	// Restitution is the ratio of separation to approach speed along the
	// normal, in [0, 1].
	Restitution float64
	// Friction is the dynamic (sliding) Coulomb coefficient.
	Friction float64
	// StaticFriction is the coefficient while the contact is not sliding;
	// zero means Friction.
	StaticFriction float64
	// Rolling is the rolling resistance of a sphere: the resisting torque is
	// at most Rolling·N·radius for a normal force N. Zero means none.
	Rolling float64
}

// BodyKind says how a body moves.
type BodyKind uint8

// The body kinds.
const (
	// Dynamic bodies move under gravity and contacts.
	Dynamic BodyKind = iota
	// Kinematic bodies follow SetKinematicPose and push dynamic bodies as
	// if infinitely heavy.
	Kinematic
	// Static bodies never move.
	Static
)

// BodyDef describes a body for World.Add.
type BodyDef struct {
	Shape    Shape
	Mass     float64 // kg; required for Dynamic, and for a Kinematic body to be released with SetDynamic
	Pose     geom.Pose
	Vel      geom.Vec3 // initial linear velocity of a Dynamic body, m/s
	AngVel   geom.Vec3 // initial angular velocity of a Dynamic body, rad/s, world frame
	Material Material
	Kind     BodyKind
}

// body is the simulation state of one body. The fields most loops read
// come first, so that a pass over the bodies that skips most of them reads
// one cache line of each.
type body struct {
	id        BodyID
	kind      BodyKind
	sleeping  bool
	hasTarget bool // kinematic: target is set for the Step
	// invIStale: the body turned since invI was computed. collide
	// computes it for the bodies of a contact only (nothing else reads
	// it), from the pose the body turned to, which is where it still is.
	invIStale bool

	vel, angVel geom.Vec3
	invMass     float64 // 0 unless Dynamic
	box         aabb    // world bounds at the current pose
	pose        geom.Pose
	start       geom.Vec3 // position at the start of the sub-step
	startRot    geom.Quat // rotation at the start of the sub-step
	turn        float64   // box: how far its points moved by turning in the sub-step
	reach       float64   // box: how far its points moved in the sub-step, at most

	shape      Shape
	mat        Material
	mass       float64
	invInertia geom.Vec3 // local principal inverse inertia; valid when mass > 0
	invI       mat3      // world inverse inertia; zero unless Dynamic

	target    geom.Pose // kinematic: pose to reach at the end of the Step
	sleepTime float64   // how long the body has been slow, s
	island    BodyID    // while sleeping: the island it sleeps with
}

// active reports whether the body is integrated and solved as dynamic.
func (b *body) active() bool { return b.kind == Dynamic && !b.sleeping }

// moving reports whether the body is a kinematic body in motion this Step.
func (b *body) moving() bool {
	return b.kind == Kinematic && (b.vel != geom.Vec3{} || b.angVel != geom.Vec3{})
}

// setMassProps derives the inverse mass and inertia from mass and shape.
func (b *body) setMassProps() {
	b.invInertia = geom.Vec3{}
	if b.mass > 0 {
		switch b.shape.Kind {
		case ShapeSphere:
			k := 2.0 / 5
			if b.shape.Shell {
				k = 2.0 / 3
			}
			i := 1 / (k * b.mass * b.shape.Radius * b.shape.Radius)
			b.invInertia = geom.Vec3{X: i, Y: i, Z: i}
		case ShapeBox:
			x, y, z := 2*b.shape.Half.X, 2*b.shape.Half.Y, 2*b.shape.Half.Z
			m := b.mass / 12
			b.invInertia = geom.Vec3{X: 1 / (m * (y*y + z*z)), Y: 1 / (m * (x*x + z*z)), Z: 1 / (m * (x*x + y*y))}
		}
	}
	b.updateInertia()
}

// updateInertia refreshes the world inverse inertia after a rotation or a
// change of kind.
func (b *body) updateInertia() {
	if b.kind != Dynamic {
		b.invMass = 0
		b.invI = mat3{}
		b.invIStale = false
		return
	}
	b.invMass = 1 / b.mass
	b.invI = rotDiag(b.pose.Rot, b.invInertia)
	b.invIStale = false
}

// kineticEnergy returns ½mv² + ½ωᵀIω.
func (b *body) kineticEnergy() float64 {
	e := 0.5 * b.mass * b.vel.Len2()
	w := b.pose.Rot.Conj().Rotate(b.angVel)
	inv := b.invInertia
	if inv.X > 0 {
		e += 0.5 * (w.X*w.X/inv.X + w.Y*w.Y/inv.Y + w.Z*w.Z/inv.Z)
	}
	return e
}

// aabb is an axis-aligned bounding box.
type aabb struct{ min, max geom.Vec3 }

func (a aabb) overlaps(b aabb) bool {
	return a.min.X <= b.max.X && b.min.X <= a.max.X &&
		a.min.Y <= b.max.Y && b.min.Y <= a.max.Y &&
		a.min.Z <= b.max.Z && b.min.Z <= a.max.Z
}

func (a aabb) union(b aabb) aabb {
	return aabb{
		min: geom.Vec3{X: min(a.min.X, b.min.X), Y: min(a.min.Y, b.min.Y), Z: min(a.min.Z, b.min.Z)},
		max: geom.Vec3{X: max(a.max.X, b.max.X), Y: max(a.max.Y, b.max.Y), Z: max(a.max.Z, b.max.Z)},
	}
}

func (a aabb) grow(m float64) aabb {
	d := geom.Vec3{X: m, Y: m, Z: m}
	return aabb{min: a.min.Sub(d), max: a.max.Add(d)}
}

// infinite bounds a plane.
var infinite = aabb{
	min: geom.Vec3{X: math.Inf(-1), Y: math.Inf(-1), Z: math.Inf(-1)},
	max: geom.Vec3{X: math.Inf(1), Y: math.Inf(1), Z: math.Inf(1)},
}

// bounds returns the world bounds of shape s at pose p.
func bounds(s *Shape, p geom.Pose) aabb {
	switch s.Kind {
	case ShapeSphere:
		r := geom.Vec3{X: s.Radius, Y: s.Radius, Z: s.Radius}
		return aabb{min: p.Pos.Sub(r), max: p.Pos.Add(r)}
	case ShapeBox:
		m := quatMat(p.Rot)
		h := s.Half
		e := geom.Vec3{
			X: math.Abs(m[0][0])*h.X + math.Abs(m[0][1])*h.Y + math.Abs(m[0][2])*h.Z,
			Y: math.Abs(m[1][0])*h.X + math.Abs(m[1][1])*h.Y + math.Abs(m[1][2])*h.Z,
			Z: math.Abs(m[2][0])*h.X + math.Abs(m[2][1])*h.Y + math.Abs(m[2][2])*h.Z,
		}
		return aabb{min: p.Pos.Sub(e), max: p.Pos.Add(e)}
	}
	return infinite
}
