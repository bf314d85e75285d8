package physics

import (
	"math"

	"github.com/arcadexr/arcade/geom"
)

// maxClip bounds the points a narrow-phase test produces before reduction.
const maxClip = 8

// maxManifold is the most contact points kept per pair.
const maxManifold = 4

// point is one contact point from the narrow phase: witness points on the
// surfaces of A and B and their separation along the normal (negative when
// penetrating).
type point struct {
	pA, pB geom.Vec3
	sep    float64
}

// collide finds the contact points of a and b closer than margin. It
// returns the unit normal from a to b and the number of points in out.
func collide(a, b *body, margin float64, out *[maxClip]point) (geom.Vec3, int) {
	if a.shape.Kind > b.shape.Kind {
		n, c := collide(b, a, margin, out)
		for i := 0; i < c; i++ {
			out[i].pA, out[i].pB = out[i].pB, out[i].pA
		}
		return n.Neg(), c
	}
	switch a.shape.Kind {
	case ShapeSphere:
		switch b.shape.Kind {
		case ShapeSphere:
			return sphereSphere(a.pose.Pos, a.shape.Radius, b.pose.Pos, b.shape.Radius, margin, out)
		case ShapeBox:
			return sphereBox(a.pose.Pos, a.shape.Radius, b.pose, b.shape.Half, margin, out)
		case ShapePlane:
			return spherePlane(a.pose.Pos, a.shape.Radius, b.shape.Normal, b.shape.Offset, margin, out)
		}
	case ShapeBox:
		switch b.shape.Kind {
		case ShapeBox:
			return boxBox(a.pose, a.shape.Half, b.pose, b.shape.Half, margin, out)
		case ShapePlane:
			return boxPlane(a.pose, a.shape.Half, b.shape.Normal, b.shape.Offset, margin, out)
		}
	}
	return geom.Vec3{}, 0
}

func sphereSphere(ca geom.Vec3, ra float64, cb geom.Vec3, rb float64, margin float64, out *[maxClip]point) (geom.Vec3, int) {
	d := cb.Sub(ca)
	dist := d.Len()
	sep := dist - ra - rb
	if sep > margin {
		return geom.Vec3{}, 0
	}
	n := geom.Vec3{Y: 1}
	if dist > 1e-12 {
		n = d.Scale(1 / dist)
	}
	out[0] = point{pA: ca.Add(n.Scale(ra)), pB: cb.Sub(n.Scale(rb)), sep: sep}
	return n, 1
}

// sphereBox returns the normal from the sphere to the box.
func sphereBox(c geom.Vec3, r float64, bp geom.Pose, h geom.Vec3, margin float64, out *[maxClip]point) (geom.Vec3, int) {
	inv := bp.Rot.Conj()
	l := inv.Rotate(c.Sub(bp.Pos))
	q := geom.Vec3{X: clamp(l.X, -h.X, h.X), Y: clamp(l.Y, -h.Y, h.Y), Z: clamp(l.Z, -h.Z, h.Z)}
	var nl geom.Vec3 // local normal from box to sphere
	var sep float64
	if q == l {
		// Centre inside: leave through the nearest face.
		dx, dy, dz := h.X-math.Abs(l.X), h.Y-math.Abs(l.Y), h.Z-math.Abs(l.Z)
		switch {
		case dx <= dy && dx <= dz:
			nl, q.X, sep = geom.Vec3{X: sign(l.X)}, sign(l.X)*h.X, -dx-r
		case dy <= dz:
			nl, q.Y, sep = geom.Vec3{Y: sign(l.Y)}, sign(l.Y)*h.Y, -dy-r
		default:
			nl, q.Z, sep = geom.Vec3{Z: sign(l.Z)}, sign(l.Z)*h.Z, -dz-r
		}
	} else {
		d := l.Sub(q)
		dist := d.Len()
		sep = dist - r
		if sep > margin {
			return geom.Vec3{}, 0
		}
		nl = d.Scale(1 / dist)
	}
	n := bp.Rot.Rotate(nl)
	out[0] = point{pA: c.Sub(n.Scale(r)), pB: bp.Apply(q), sep: sep}
	return n.Neg(), 1
}

// spherePlane returns the normal from the sphere to the plane (−n).
func spherePlane(c geom.Vec3, r float64, n geom.Vec3, off float64, margin float64, out *[maxClip]point) (geom.Vec3, int) {
	d := n.Dot(c) - off
	sep := d - r
	if sep > margin {
		return geom.Vec3{}, 0
	}
	out[0] = point{pA: c.Sub(n.Scale(r)), pB: c.Sub(n.Scale(d)), sep: sep}
	return n.Neg(), 1
}

// boxPlane returns the normal from the box to the plane (−n): the
// vertices within margin of the box face most opposed to n (the others are
// further by at least the box's thickness along n).
func boxPlane(bp geom.Pose, h geom.Vec3, n geom.Vec3, off float64, margin float64, out *[maxClip]point) (geom.Vec3, int) {
	m := quatMat(bp.Rot)
	ax := [3]geom.Vec3{m.col(0).Scale(h.X), m.col(1).Scale(h.Y), m.col(2).Scale(h.Z)}
	k, best := 0, -1.0
	for j := 0; j < 3; j++ {
		if v := math.Abs(m.col(j).Dot(n)); v > best {
			k, best = j, v
		}
	}
	fc := bp.Pos.Sub(ax[k].Scale(sign(ax[k].Dot(n))))
	du, dv := ax[(k+1)%3], ax[(k+2)%3]
	c := 0
	for i := 0; i < 4; i++ {
		v := fc.Add(du.Scale(float64(1 - 2*(i&1)))).Add(dv.Scale(float64(1 - (i & 2))))
		d := n.Dot(v) - off
		if d > margin {
			continue
		}
		out[c] = point{pA: v, pB: v.Sub(n.Scale(d)), sep: d}
		c++
	}
	return n.Neg(), c
}

// reduce keeps at most maxManifold of the count points: the deepest, the
// one farthest from it, and the two spanning the largest area on either
// side of that pair. It returns the new count.
func reduce(pts *[maxClip]point, count int, n geom.Vec3) int {
	if count <= maxManifold {
		return count
	}
	at := func(i int) geom.Vec3 { return pts[i].pB }
	i0 := 0
	for i := 1; i < count; i++ {
		if pts[i].sep < pts[i0].sep {
			i0 = i
		}
	}
	i1, best := -1, -1.0
	for i := 0; i < count; i++ {
		if d := at(i).Sub(at(i0)).Len2(); i != i0 && d > best {
			i1, best = i, d
		}
	}
	e := at(i1).Sub(at(i0))
	i2, i3 := -1, -1
	hi, lo := 0.0, 0.0
	for i := 0; i < count; i++ {
		if i == i0 || i == i1 {
			continue
		}
		a := e.Cross(at(i).Sub(at(i0))).Dot(n)
		if a > hi {
			i2, hi = i, a
		}
		if a < lo {
			i3, lo = i, a
		}
	}
	keep := [maxManifold]point{pts[i0], pts[i1]}
	c := 2
	if i2 >= 0 {
		keep[c] = pts[i2]
		c++
	}
	if i3 >= 0 {
		keep[c] = pts[i3]
		c++
	}
	for i := 0; i < c; i++ {
		pts[i] = keep[i]
	}
	return c
}

func clamp(x, lo, hi float64) float64 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

// sign returns 1 for x ≥ 0, else −1.
func sign(x float64) float64 {
	if x < 0 {
		return -1
	}
	return 1
}
