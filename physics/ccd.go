package physics

import (
	"math"

	"arcade/geom"
)

// sweep moves every awake dynamic sphere that would have passed into or
// through another body during the sub-step back to its first touch: at the
// earliest time of impact t it is placed where it touches the other body's
// end pose, carried by that body's motion for the rest of the sub-step.
func (w *World) sweep(h float64) {
	for i := range w.bodies {
		s := &w.bodies[i]
		if !s.active() || s.shape.Kind != ShapeSphere {
			continue
		}
		r := s.shape.Radius
		ds := s.pose.Pos.Sub(s.start)
		best, hit := 1.0, false
		var carry geom.Vec3
		for j := range w.bodies {
			if j == i {
				continue
			}
			o := &w.bodies[j]
			// Displacement of o's material point under the sphere.
			do := o.vel.Add(o.angVel.Cross(s.start.Sub(o.start))).Scale(h)
			if !o.active() && !o.moving() {
				do = geom.Vec3{}
			}
			p0, p1 := s.start.Add(do), s.pose.Pos
			if p1.Sub(p0).Len2() <= (ccdFraction*r)*(ccdFraction*r) {
				continue
			}
			path := aabb{min: p0, max: p0}.union(aabb{min: p1, max: p1}).grow(r + ccdGap)
			ob := o.box
			if o.active() || o.moving() {
				ob = bounds(&o.shape, o.pose)
			}
			if !path.overlaps(ob) {
				continue
			}
			var t float64
			var ok bool
			switch o.shape.Kind {
			case ShapePlane:
				t, ok = sweepPlane(p0, p1, r, o.shape.Normal, o.shape.Offset)
			case ShapeSphere:
				t, ok = sweepSphere(p0.Sub(o.pose.Pos), p1.Sub(o.pose.Pos), r+o.shape.Radius)
			case ShapeBox:
				inv := o.pose.Inverse()
				t, ok = sweepBox(inv.Apply(p0), inv.Apply(p1), r, o.shape.Half)
			}
			if ok && t < best {
				best, hit, carry = t, true, do
			}
		}
		if hit {
			s.pose.Pos = s.start.Add(ds.Scale(best)).Add(carry.Scale(1 - best))
		}
	}
}

// sweepPlane returns the time in [0, 1] at which a sphere moving from p0 to
// p1 comes within ccdGap of the plane n·p = off.
func sweepPlane(p0, p1 geom.Vec3, r float64, n geom.Vec3, off float64) (float64, bool) {
	s0 := n.Dot(p0) - off - r
	s1 := n.Dot(p1) - off - r
	if s0 < ccdTouch || s1 >= ccdGap {
		return 0, false
	}
	return (s0 - ccdGap) / (s0 - s1), true
}

// sweepSphere returns the time in [0, 1] at which the point moving from q0
// to q1 comes within rr + ccdGap of the origin.
func sweepSphere(q0, q1 geom.Vec3, rr float64) (float64, bool) {
	if q0.Len()-rr < ccdTouch {
		return 0, false
	}
	d := q1.Sub(q0)
	R := rr + ccdGap
	a := d.Dot(d)
	b := q0.Dot(d)
	c := q0.Dot(q0) - R*R
	disc := b*b - a*c
	if a == 0 || b >= 0 || disc < 0 {
		return 0, false
	}
	t := (-b - math.Sqrt(disc)) / a
	if t > 1 {
		return 0, false
	}
	return math.Max(t, 0), true
}

// sweepBox returns the time in [0, 1] at which a sphere of radius r moving
// from l0 to l1 (box frame) comes within ccdGap of the box of half extents
// h: a slab test against the box grown by r bounds it from below, then
// conservative advancement on the exact distance finds it.
func sweepBox(l0, l1 geom.Vec3, r float64, h geom.Vec3) (float64, bool) {
	if boxDist(l0, h)-r < ccdTouch {
		return 0, false
	}
	d := l1.Sub(l0)
	g := r + ccdGap
	t0, t1 := 0.0, 1.0
	for k := 0; k < 3; k++ {
		o, v, e := comp(l0, k), comp(d, k), comp(h, k)+g
		if math.Abs(v) < 1e-15 {
			if o < -e || o > e {
				return 0, false
			}
			continue
		}
		ta, tb := (-e-o)/v, (e-o)/v
		if ta > tb {
			ta, tb = tb, ta
		}
		t0, t1 = math.Max(t0, ta), math.Min(t1, tb)
		if t0 > t1 {
			return 0, false
		}
	}
	speed := d.Len()
	f := func(t float64) float64 { return boxDist(l0.Add(d.Scale(t)), h) - r - ccdGap }
	t := t0
	for it := 0; it < 16; it++ {
		dist := f(t)
		if dist <= 1e-6 {
			return t, true
		}
		t += dist / speed
		if t > 1 {
			return 0, false
		}
	}
	// Grazing: advancement converges slowly. The distance to a convex set
	// along a line is convex in t, so find its minimum on [t, 1] by golden
	// section, then the crossing before it by bisection.
	const phi = 0.6180339887498949
	lo, hi := t, 1.0
	for it := 0; it < 60 && hi-lo > 1e-9; it++ {
		m1, m2 := hi-phi*(hi-lo), lo+phi*(hi-lo)
		if f(m1) < f(m2) {
			hi = m2
		} else {
			lo = m1
		}
	}
	tm := 0.5 * (lo + hi)
	if f(tm) > 1e-6 {
		return 0, false
	}
	lo, hi = t, tm
	for it := 0; it < 60 && hi-lo > 1e-9; it++ {
		mid := 0.5 * (lo + hi)
		if f(mid) > 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, true
}

// boxDist returns the signed distance from p to the box of half extents h
// centred at the origin (negative inside).
func boxDist(p, h geom.Vec3) float64 {
	qx, qy, qz := math.Abs(p.X)-h.X, math.Abs(p.Y)-h.Y, math.Abs(p.Z)-h.Z
	out := geom.Vec3{X: math.Max(qx, 0), Y: math.Max(qy, 0), Z: math.Max(qz, 0)}.Len()
	return out + math.Min(math.Max(qx, math.Max(qy, qz)), 0)
}
