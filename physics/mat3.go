package physics

import (
	"math"

	"github.com/arcadexr/arcade/geom"
)

// mat3 is a 3×3 matrix, row-major: m[row][col].
type mat3 [3][3]float64

// quatMat returns the rotation matrix of the unit quaternion q. Its columns
// are the rotated X, Y and Z axes.
func quatMat(q geom.Quat) mat3 {
	x, y, z, w := q.X, q.Y, q.Z, q.W
	return mat3{
		{1 - 2*(y*y+z*z), 2 * (x*y - z*w), 2 * (x*z + y*w)},
		{2 * (x*y + z*w), 1 - 2*(x*x+z*z), 2 * (y*z - x*w)},
		{2 * (x*z - y*w), 2 * (y*z + x*w), 1 - 2*(x*x+y*y)},
	}
}

// col returns column i.
func (m *mat3) col(i int) geom.Vec3 { return geom.Vec3{X: m[0][i], Y: m[1][i], Z: m[2][i]} }

// mulVec returns m·v.
func (m *mat3) mulVec(v geom.Vec3) geom.Vec3 {
	return geom.Vec3{
		X: m[0][0]*v.X + m[0][1]*v.Y + m[0][2]*v.Z,
		Y: m[1][0]*v.X + m[1][1]*v.Y + m[1][2]*v.Z,
		Z: m[2][0]*v.X + m[2][1]*v.Y + m[2][2]*v.Z,
	}
}

// rotDiag returns R·diag(d)·Rᵀ for the rotation q.
func rotDiag(q geom.Quat, d geom.Vec3) mat3 {
	r := quatMat(q)
	dd := [3]float64{d.X, d.Y, d.Z}
	var m mat3
	for i := 0; i < 3; i++ {
		for j := i; j < 3; j++ {
			s := r[i][0]*dd[0]*r[j][0] + r[i][1]*dd[1]*r[j][1] + r[i][2]*dd[2]*r[j][2]
			m[i][j], m[j][i] = s, s
		}
	}
	return m
}

// comp returns component i of v.
func comp(v geom.Vec3, i int) float64 {
	switch i {
	case 0:
		return v.X
	case 1:
		return v.Y
	}
	return v.Z
}

// rotateSmall returns q turned by the small world-frame rotation vector dθ,
// to first order, normalized.
func rotateSmall(q geom.Quat, d geom.Vec3) geom.Quat {
	dq := geom.Quat{X: d.X, Y: d.Y, Z: d.Z}.Mul(q)
	return geom.Quat{X: q.X + 0.5*dq.X, Y: q.Y + 0.5*dq.Y, Z: q.Z + 0.5*dq.Z, W: q.W + 0.5*dq.W}.Norm()
}

// angularVelocity returns the constant world-frame angular velocity that
// turns from to to in dt.
func angularVelocity(from, to geom.Quat, dt float64) geom.Vec3 {
	dq := to.Mul(from.Conj())
	if dq.W < 0 {
		dq = geom.Quat{X: -dq.X, Y: -dq.Y, Z: -dq.Z, W: -dq.W}
	}
	v := geom.Vec3{X: dq.X, Y: dq.Y, Z: dq.Z}
	s := v.Len()
	if s < 1e-12 {
		return v.Scale(2 / dt)
	}
	angle := 2 * math.Atan2(s, dq.W)
	return v.Scale(angle / (s * dt))
}

// tangents returns two unit vectors that complete the unit vector n to a
// right-handed orthonormal basis.
func tangents(n geom.Vec3) (geom.Vec3, geom.Vec3) {
	var t geom.Vec3
	if math.Abs(n.X) >= 0.57735 {
		t = geom.Vec3{X: n.Y, Y: -n.X}
	} else {
		t = geom.Vec3{Y: n.Z, Z: -n.Y}
	}
	t = t.Norm()
	return t, n.Cross(t)
}
