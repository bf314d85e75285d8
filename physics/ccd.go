package physics

import (
	"math"

	"github.com/arcadexr/arcade/geom"
)

// sweep moves every awake dynamic sphere or box that would have passed
// into or through another body during the sub-step back to its first
// touch.
func (w *World) sweep(h float64) {
	if !w.brute {
		w.sweepPairs(h)
	}
	w.bp.moved = w.bp.moved[:0]
	pairs := w.bp.pairs
	for _, k := range w.live {
		i := int(k)
		b := &w.bodies[i]
		if !b.active() {
			continue
		}
		var mine []uint64
		if !w.brute {
			n := 0
			for n < len(pairs) && pairs[n]>>32 == uint64(i) {
				n++
			}
			mine, pairs = pairs[:n], pairs[n:]
		}
		// Without candidates (a sphere: nor bodies moved by the sweeps so
		// far), there is nothing to sweep against.
		hit := false
		switch b.shape.Kind {
		case ShapeSphere:
			if w.brute || len(mine) > 0 || len(w.bp.moved) > 0 {
				hit = w.sweepBall(i, h, mine)
			}
		case ShapeBox:
			if w.brute || len(mine) > 0 {
				hit = w.sweepBoxBody(i, h, mine)
			}
		}
		if hit {
			w.bp.moved = append(w.bp.moved, int32(i))
		}
	}
}

// sweepBall sweeps sphere i: at the earliest time of impact t it is placed
// where it touches the other body's end pose, carried by that body's motion
// for the rest of the sub-step. It reports whether it moved the sphere;
// pairs are the candidates of sweepPairs.
func (w *World) sweepBall(i int, h float64, pairs []uint64) bool {
	s := &w.bodies[i]
	r := s.shape.Radius
	ds := s.pose.Pos.Sub(s.start)
	best, hit := 1.0, false
	var carry geom.Vec3
	w.sweepCandidates(i, pairs, true, func(j int) {
		o := &w.bodies[j]
		// Displacement of o's material point under the sphere.
		do := o.vel.Add(o.angVel.Cross(s.start.Sub(o.start))).Scale(h)
		if !o.active() && !o.moving() {
			do = geom.Vec3{}
		}
		p0, p1 := s.start.Add(do), s.pose.Pos
		if p1.Sub(p0).Len2() <= (ccdFraction*r)*(ccdFraction*r) {
			return
		}
		path := aabb{min: p0, max: p0}.union(aabb{min: p1, max: p1}).grow(r + ccdGap)
		ob := o.box
		if o.active() || o.moving() {
			ob = bounds(&o.shape, o.pose)
		}
		if !path.overlaps(ob) {
			return
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
	})
	if hit {
		s.pose.Pos = s.start.Add(ds.Scale(best)).Add(carry.Scale(1 - best))
	}
	return hit
}

// motion is a body's path over a sub-step as a function of the fraction
// t ∈ [0, 1] of it: translating from its start pose by d, turning by the
// world rotation vector rot at a constant rate, and at t = 1 exactly on its
// end pose.
type motion struct {
	start, end geom.Pose
	d, rot     geom.Vec3
	turn       float64 // |rot|, rad
}

// motionOf returns b's path over the sub-step of h seconds that has just
// been integrated; a body that did not move stands still.
func motionOf(b *body, h float64) motion {
	if !b.active() && !b.moving() {
		return motion{start: b.pose, end: b.pose}
	}
	m := motion{start: geom.Pose{Pos: b.start, Rot: b.startRot}, end: b.pose, rot: b.angVel.Scale(h)}
	m.d = b.pose.Pos.Sub(b.start)
	m.turn = m.rot.Len()
	return m
}

// at returns the pose at fraction t.
func (m *motion) at(t float64) geom.Pose {
	switch {
	case t <= 0:
		return m.start
	case t >= 1:
		return m.end
	}
	return geom.Pose{Pos: m.start.Pos.Add(m.d.Scale(t)), Rot: m.start.Rot.Integrate(m.rot, t)}
}

// sweepBoxBody sweeps box i, if it moved more than ccdFraction of its
// smallest half extent relative to another box or a plane (spheres sweep
// themselves against boxes), against that body by conservative advancement
// (toi). At the earliest time of impact t the box is placed at its pose at
// t, carried by the other body's motion from t to the end of the
// sub-step: the pose relative to the other body at t, on the other body's
// end pose. It keeps its velocity, so the next sub-step's contact bounces
// it. It reports whether it moved the box; pairs are the candidates of
// sweepPairs.
func (w *World) sweepBoxBody(i int, h float64, pairs []uint64) bool {
	a := &w.bodies[i]
	ha := a.shape.Half
	fast := ccdFraction * min(ha.X, min(ha.Y, ha.Z))
	da := a.pose.Pos.Sub(a.start)
	var ma motion
	var path aabb
	prepared := false
	best, hit := 1.0, -1
	var mhit motion
	w.sweepCandidates(i, pairs, false, func(j int) {
		o := &w.bodies[j]
		if o.shape.Kind == ShapeSphere || a.reach+o.reach <= fast {
			return
		}
		if !prepared {
			ma = motionOf(a, h)
			path = a.box.union(bounds(&a.shape, a.pose)).grow(ccdGap)
			prepared = true
		}
		rel, spin := da.Neg(), a.turn+o.turn
		var mo motion
		if o.reach > 0 {
			if !path.overlaps(o.box.grow(o.reach)) {
				return
			}
			mo = motionOf(o, h)
			rel = mo.d.Sub(da)
		} else {
			if !path.overlaps(o.box) {
				return
			}
			mo = motion{start: o.pose, end: o.pose}
		}
		if rel.Len()+spin <= fast {
			return
		}
		if t, ok := toi(ha, &ma, o, &mo, rel, spin); ok && t < best {
			best, hit, mhit = t, j, mo
		}
	})
	if hit < 0 {
		return false
	}
	p := ma.at(best)
	if mhit.d != (geom.Vec3{}) || mhit.turn > 0 {
		p = mhit.end.Mul(mhit.at(best).Inverse().Mul(p))
	}
	a.pose = p
	return true
}

// toi returns the earliest fraction t of the sub-step at which box a
// (half extents ha, path ma) comes within ccdGap of body o (a box or a
// plane, path mo), or, if they are already within ccdTouch at the start,
// at which a sinks ccdSink deeper into o than it started; false if it does
// not. rel is o's displacement relative to a over the sub-step, spin bounds
// how far any point of either moves by turning.
//
// Conservative advancement: for each candidate separating axis at the
// current t (the 15 of the separating axis test, or the plane normal), the
// separation along that axis, fixed in the world, shrinks by at most
// (spin − rel·n) per unit t, and the least overlap over all directions is
// no more than the overlap along it. So t may advance by the largest step
// over the axes before some axis's separation could fall ccdGap/2 below
// the target; it stops when the separation of the test is within the
// target, or passes 1.
func toi(ha geom.Vec3, ma *motion, o *body, mo *motion, rel geom.Vec3, spin float64) (float64, bool) {
	advance := func(t, keep float64) (float64, float64) {
		if o.shape.Kind == ShapePlane {
			return advancePlane(ma.at(t), ha, o.shape.Normal, o.shape.Offset, rel, spin, keep)
		}
		return advanceBox(ma.at(t), ha, mo.at(t), o.shape.Half, rel, spin, keep)
	}
	stop := ccdGap
	sep, step := advance(0, stop-ccdGap/2)
	if sep < ccdTouch {
		stop = min(sep, 0) - ccdSink
		sep, step = advance(0, stop-ccdGap/2)
	}
	t := 0.0
	for it := 0; it < ccdIterations; it++ {
		if sep <= stop {
			return t, true
		}
		t += step
		if !(t <= 1) {
			return 0, false
		}
		sep, step = advance(t, stop-ccdGap/2)
	}
	// Not converged (grazing): stop here, where some axis still keeps the
	// separation ccdGap/2 short of the target.
	return t, true
}

// advancePlane returns the separation of the box (pose pa, half extents
// ha) from the plane n·p = off, and the step in t before it could fall
// to keep, the plane moving by rel relative to the box.
func advancePlane(pa geom.Pose, ha geom.Vec3, n geom.Vec3, off float64, rel geom.Vec3, spin, keep float64) (float64, float64) {
	m := quatMat(pa.Rot)
	sep := n.Dot(pa.Pos) - off - ha.X*math.Abs(m.col(0).Dot(n)) - ha.Y*math.Abs(m.col(1).Dot(n)) - ha.Z*math.Abs(m.col(2).Dot(n))
	return sep, advanceStep(sep, spin+rel.Dot(n), keep)
}

// advanceBox returns the largest separation of boxes A (pa, ha) and B
// (pb, hb) over the axes of the separating axis test, and the largest step
// in t over which some axis is sure to keep their separation above keep,
// B moving by rel relative to A.
func advanceBox(pa geom.Pose, ha geom.Vec3, pb geom.Pose, hb geom.Vec3, rel geom.Vec3, spin, keep float64) (float64, float64) {
	ma, mb := quatMat(pa.Rot), quatMat(pb.Rot)
	a := [3]geom.Vec3{ma.col(0), ma.col(1), ma.col(2)}
	b := [3]geom.Vec3{mb.col(0), mb.col(1), mb.col(2)}
	ea := [3]float64{ha.X, ha.Y, ha.Z}
	eb := [3]float64{hb.X, hb.Y, hb.Z}
	d := pb.Pos.Sub(pa.Pos)
	sep, step := math.Inf(-1), 0.0
	axis := func(n geom.Vec3, ra, rb float64) {
		dn := d.Dot(n)
		s := math.Abs(dn) - ra - rb
		sep = max(sep, s)
		// Along n oriented from A to B, B approaches at −rel·n.
		step = max(step, advanceStep(s, spin-sign(dn)*rel.Dot(n), keep))
	}
	for i := 0; i < 3; i++ {
		axis(a[i], ea[i], eb[0]*math.Abs(a[i].Dot(b[0]))+eb[1]*math.Abs(a[i].Dot(b[1]))+eb[2]*math.Abs(a[i].Dot(b[2])))
		axis(b[i], ea[0]*math.Abs(b[i].Dot(a[0]))+ea[1]*math.Abs(b[i].Dot(a[1]))+ea[2]*math.Abs(b[i].Dot(a[2])), eb[i])
	}
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			n := a[i].Cross(b[j])
			l := n.Len()
			if l < 1e-5 {
				continue
			}
			n = n.Scale(1 / l)
			ra := ea[0]*math.Abs(a[0].Dot(n)) + ea[1]*math.Abs(a[1].Dot(n)) + ea[2]*math.Abs(a[2].Dot(n))
			rb := eb[0]*math.Abs(b[0].Dot(n)) + eb[1]*math.Abs(b[1].Dot(n)) + eb[2]*math.Abs(b[2].Dot(n))
			axis(n, ra, rb)
		}
	}
	return sep, step
}

// sweptMargin returns, for a pair of boxes or a box and a plane of which
// a dynamic box moves more than ccdFraction of its smallest half extent
// relative to the other within a sub-step of h, a bound on how far any
// point of one moves toward the other in it; otherwise 0.
func sweptMargin(a, b *body, h float64) float64 {
	if a.shape.Kind == ShapeSphere || b.shape.Kind == ShapeSphere {
		return 0
	}
	fast := math.Inf(1)
	for _, x := range [2]*body{a, b} {
		if x.active() {
			e := x.shape.Half
			fast = min(fast, ccdFraction*min(e.X, min(e.Y, e.Z)))
		}
	}
	m := h * (b.vel.Sub(a.vel).Len() + a.angVel.Len()*a.shape.Half.Len() + b.angVel.Len()*b.shape.Half.Len())
	if m <= fast {
		return 0
	}
	return m
}

// separation returns a lower bound on the distance between a and b, boxes
// or a box and a plane, at their current poses: the largest separation
// over the axes of the separating axis test (negative when they overlap).
func separation(a, b *body) float64 {
	switch {
	case a.shape.Kind == ShapePlane:
		a, b = b, a
		fallthrough
	case b.shape.Kind == ShapePlane:
		sep, _ := advancePlane(a.pose, a.shape.Half, b.shape.Normal, b.shape.Offset, geom.Vec3{}, 0, 0)
		return sep
	}
	sep, _ := advanceBox(a.pose, a.shape.Half, b.pose, b.shape.Half, geom.Vec3{}, 0, 0)
	return sep
}

// advanceStep returns the step in t before a separation sep, shrinking at
// most by rate per unit t, could fall to keep: +Inf if it cannot shrink, 0
// if it is already there.
func advanceStep(sep, rate, keep float64) float64 {
	switch {
	case sep <= keep:
		return 0
	case rate <= 0:
		return math.Inf(1)
	}
	return (sep - keep) / rate
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
	return max(t, 0), true
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
		t0, t1 = max(t0, ta), min(t1, tb)
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
	out := geom.Vec3{X: max(qx, 0), Y: max(qy, 0), Z: max(qz, 0)}.Len()
	return out + min(max(qx, max(qy, qz)), 0)
}
