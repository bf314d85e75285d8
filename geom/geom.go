// Package geom holds the small 3D value types the simulation shares: Vec3,
// Quat and Pose in float64, with the handful of operations grabbing and
// physics need. Values, not pointers; no allocation.
package geom

import "math"

// Vec3 is a 3D vector in metres (or m/s, rad/s) in the venue frame, Y up.
type Vec3 struct{ X, Y, Z float64 }

// Add returns a+b.
func (a Vec3) Add(b Vec3) Vec3 { return Vec3{a.X + b.X, a.Y + b.Y, a.Z + b.Z} }

// Sub returns a-b.
func (a Vec3) Sub(b Vec3) Vec3 { return Vec3{a.X - b.X, a.Y - b.Y, a.Z - b.Z} }

// Scale returns a*s.
func (a Vec3) Scale(s float64) Vec3 { return Vec3{a.X * s, a.Y * s, a.Z * s} }

// Dot returns a·b.
func (a Vec3) Dot(b Vec3) float64 { return a.X*b.X + a.Y*b.Y + a.Z*b.Z }

// Cross returns a×b.
func (a Vec3) Cross(b Vec3) Vec3 {
	return Vec3{a.Y*b.Z - a.Z*b.Y, a.Z*b.X - a.X*b.Z, a.X*b.Y - a.Y*b.X}
}

// Len returns |a|.
func (a Vec3) Len() float64 { return math.Sqrt(a.Dot(a)) }

// Len2 returns |a|².
func (a Vec3) Len2() float64 { return a.Dot(a) }

// Neg returns -a.
func (a Vec3) Neg() Vec3 { return Vec3{-a.X, -a.Y, -a.Z} }

// Mul returns the component-wise product.
func (a Vec3) Mul(b Vec3) Vec3 { return Vec3{a.X * b.X, a.Y * b.Y, a.Z * b.Z} }

// Norm returns a/|a|, or the zero vector for a zero vector.
func (a Vec3) Norm() Vec3 {
	l := a.Len()
	if l == 0 {
		return Vec3{}
	}
	return a.Scale(1 / l)
}

// Quat is a rotation quaternion (X, Y, Z vector part, W scalar part).
type Quat struct{ X, Y, Z, W float64 }

// Identity is the rotation that does nothing.
var Identity = Quat{W: 1}

// Mul returns the Hamilton product q*r: the rotation that applies r first,
// then q.
func (q Quat) Mul(r Quat) Quat {
	return Quat{
		X: q.W*r.X + q.X*r.W + q.Y*r.Z - q.Z*r.Y,
		Y: q.W*r.Y - q.X*r.Z + q.Y*r.W + q.Z*r.X,
		Z: q.W*r.Z + q.X*r.Y - q.Y*r.X + q.Z*r.W,
		W: q.W*r.W - q.X*r.X - q.Y*r.Y - q.Z*r.Z,
	}
}

// Conj returns the conjugate, the inverse of a unit quaternion.
func (q Quat) Conj() Quat { return Quat{-q.X, -q.Y, -q.Z, q.W} }

// Dot returns the 4D dot product.
func (q Quat) Dot(r Quat) float64 { return q.X*r.X + q.Y*r.Y + q.Z*r.Z + q.W*r.W }

// Norm returns q scaled to unit length; a zero quaternion becomes Identity.
func (q Quat) Norm() Quat {
	l := math.Sqrt(q.Dot(q))
	if l == 0 || math.IsNaN(l) {
		return Identity
	}
	return Quat{q.X / l, q.Y / l, q.Z / l, q.W / l}
}

// Rotate returns v rotated by the unit quaternion q.
func (q Quat) Rotate(v Vec3) Vec3 {
	u := Vec3{q.X, q.Y, q.Z}
	t := u.Cross(v).Scale(2)
	return v.Add(t.Scale(q.W)).Add(u.Cross(t))
}

// AxisAngle returns the rotation by angle radians about the unit axis.
func AxisAngle(axis Vec3, angle float64) Quat {
	s, c := math.Sincos(angle / 2)
	a := axis.Norm()
	return Quat{a.X * s, a.Y * s, a.Z * s, c}
}

// Integrate returns q advanced by angular velocity w (rad/s, world frame)
// over dt seconds, normalized.
func (q Quat) Integrate(w Vec3, dt float64) Quat {
	angle := w.Len() * dt
	if angle == 0 {
		return q
	}
	return AxisAngle(w, angle).Mul(q).Norm()
}

// Angle returns the angle in radians of the rotation from q to r.
func (q Quat) Angle(r Quat) float64 {
	d := math.Abs(q.Dot(r))
	if d > 1 {
		d = 1
	}
	return 2 * math.Acos(d)
}

// Pose is a rigid transform: rotate by Rot, then translate by Pos.
type Pose struct {
	Pos Vec3
	Rot Quat
}

// IdentityPose leaves points where they are.
var IdentityPose = Pose{Rot: Identity}

// Mul returns the pose p∘r: r expressed in p's frame, made world.
func (p Pose) Mul(r Pose) Pose {
	return Pose{Pos: p.Pos.Add(p.Rot.Rotate(r.Pos)), Rot: p.Rot.Mul(r.Rot).Norm()}
}

// Inverse returns the pose that undoes p.
func (p Pose) Inverse() Pose {
	inv := p.Rot.Conj()
	return Pose{Pos: inv.Rotate(p.Pos.Neg()), Rot: inv}
}

// Apply returns the point v transformed by p.
func (p Pose) Apply(v Vec3) Vec3 { return p.Pos.Add(p.Rot.Rotate(v)) }
