package physics

import (
	"math"
	"slices"

	"github.com/arcadexr/arcade/geom"
)

// The step's candidate pairs. Rather than sweep the bodies three times a
// sub-step (waking, contact finding, the sweep), the broad phase sweeps
// them once into candidate pairs that hold for the rest of the Step: each
// awake dynamic or moving kinematic body (a tracked one) is given fat
// bounds, a cube about its centre that holds its shape however it turns,
// grown by how far it could move until the Step ends (its speed, and
// gravity's, over that time, with a quarter more) and by what the sweep
// adds to its bounds in a sub-step; every other body near them (asleep,
// static or standing still, planes apart) its bounds grown by margin and
// sweepSlack. The candidates are the pairs of fat bounds that overlap, of
// which one is tracked.
//
// They are used only while every bound a sub-step's tests ask about lies
// within its body's fat bounds: each sub-step checks, before waking and
// contact finding, that every tracked body's bounds grown by margin do,
// and the sweep that every awake or moving body's query and target do.
// The other bodies do not move unless a World method moves them, which
// drops the candidates, as does the first body a sub-step wakes, a Begin
// and a bound found outside. Then they are swept anew, from the
// sub-step's bounds with the time left to the Step's end. A pair one of
// whose tests could pass has then overlapping fat bounds, and each use
// filters the candidates by that test: the same pairs as the sweeps of a
// sub-step, as the all-pairs loops. A bounce turns a velocity about, not
// its length, so the cube holds the body after it too; a collision that
// speeds a body up, or a push, may take it out, and costs a sweep more.

// Body roles in the candidates' sweep (broad.role, by body index).
const (
	roleNone    = iota // not swept: a plane, or out of reach of every tracked body
	roleFixed          // asleep, static or standing still at the sweep: its bounds stand
	roleTracked        // awake or moving at the sweep: it has fat bounds
)

// fatSlack pads the fat bounds beyond the bounds a sub-step asks about,
// so that rounding never takes one out.
const fatSlack = 0.002

// dropCandidates makes the next use of the candidates sweep them anew.
func (w *World) dropCandidates() { w.bp.candOK = false }

// candidates reports whether the step's candidates hold for the
// sub-step's waking and contact finding, sweeping them anew if they do
// not. Outside a step, and for the all-pairs loops, there are none.
func (w *World) candidates() bool {
	bp := &w.bp
	if w.brute || w.stepN == 0 {
		return false
	}
	if bp.candOK && len(bp.role) == len(w.bodies) {
		ok := true
		for _, i := range bp.tracked {
			if !contains(bp.fat[i], w.bodies[i].box.grow(margin)) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	w.buildCandidates()
	return true
}

// contains reports whether b lies within a.
func contains(a, b aabb) bool {
	return a.min.X <= b.min.X && a.min.Y <= b.min.Y && a.min.Z <= b.min.Z &&
		b.max.X <= a.max.X && b.max.Y <= a.max.Y && b.max.Z <= a.max.Z
}

// buildCandidates sweeps the bodies into bp.cand, sorted by body
// index pair, with the fat bounds of the time left in the step.
func (w *World) buildCandidates() {
	bp := &w.bp
	n := len(w.bodies)
	if cap(bp.role) < n {
		bp.role = make([]uint8, n)
		bp.fat = make([]aabb, n)
		bp.swOf = make([]int32, n)
		for i := range bp.swOf {
			bp.swOf[i] = -1
		}
	}
	bp.role, bp.fat, bp.swOf = bp.role[:n], bp.fat[:n], bp.swOf[:n]
	clear(bp.role)
	h := w.stepH
	left := float64(w.stepN-w.stepNext+1) * h // this sub-step's and the rest's
	g := w.Gravity.Len()
	tracked, live, near, planes := bp.tracked[:0], bp.live[:0], bp.near[:0], bp.candPlanes[:0]
	var reach aabb // of the fat bounds of the tracked bodies
	for _, i := range bp.order {
		b := &w.bodies[i]
		switch {
		case b.shape.Kind == ShapePlane:
			planes = append(planes, i)
			continue
		case !b.active() && !b.moving():
			continue
		}
		f := fatBounds(b, left, h, g)
		bp.fat[i], bp.role[i] = f, roleTracked
		if len(tracked) == 0 {
			reach = f
		}
		reach = reach.union(f)
		tracked = append(tracked, i)
		live = append(live, w.mkspan(i, f))
	}
	if len(tracked) > 0 {
		for _, i := range bp.order {
			b := &w.bodies[i]
			if bp.role[i] != roleNone || b.shape.Kind == ShapePlane {
				continue
			}
			f := b.box.grow(margin + sweepSlack)
			if !f.overlaps(reach) {
				continue
			}
			bp.fat[i], bp.role[i] = f, roleFixed
			near = append(near, w.mkspan(i, f))
		}
	}
	sortSpans(live)
	sortSpans(near)
	cand := selfPairs(live, bp.cand[:0])
	k := len(cand)
	cand = crossPairs(live, near, cand)
	for m := k; m < len(cand); m++ {
		cand[m] = pairKey(int32(cand[m]>>32), int32(uint32(cand[m])))
	}
	bp.pairs, cand = cand, bp.pairs
	bp.sortPairs(n)
	bp.pairs, cand = cand, bp.pairs
	bp.cand, bp.tracked, bp.live, bp.near, bp.candPlanes = cand, tracked, live, near, planes
	bp.candOK = true
	bp.candSweeps++
}

// fatBounds returns the fat bounds of a tracked body b for the next left
// seconds in sub-steps of h, under gravity g: about its centre, its
// radius (a box's half diagonal) plus how far it goes at its speed and
// gravity's, plus what sweepPairs adds in a sub-step to the bounds it
// sweeps the body in and against (its path and carry, a box's reach),
// with a quarter more. A body spinning so fast that sweepPairs gives its
// carry no bound has the fat bounds of waking and contact finding only:
// the sweep cannot use the candidates while it spins so.
func fatBounds(b *body, left, h, g float64) aabb {
	r := b.shape.Radius
	if b.shape.Kind == ShapeBox {
		r = b.shape.Half.Len()
	}
	v, turn := b.vel.Len(), b.angVel.Len()*h
	d := v*left + g*left*left
	sub := (v + g*left) * h
	extra := margin + ccdGap + 4*sweepSlack + 2*sub + turn*r
	if turn < 0.4 {
		extra += turn * (1 + r + 2*sub) / (1 - turn)
	}
	e := r + 1.25*(d+extra) + fatSlack
	if math.IsInf(e, 0) || math.IsNaN(e) {
		return infinite
	}
	p := b.pose.Pos
	c := geom.Vec3{X: e, Y: e, Z: e}
	return aabb{min: p.Sub(c), max: p.Add(c)}
}

// wakeCandidates is the first round of wakeTouched over the candidates:
// it appends to bp.islands the islands of the sleeping bodies that an
// awake or moving body touches.
func (w *World) wakeCandidates() {
	bp := &w.bp
	bp.islands = bp.islands[:0]
	listed := bp.listedOf[:0]
	for _, p := range bp.cand {
		i, j := int32(p>>32), int32(uint32(p))
		a, b := &w.bodies[i], &w.bodies[j]
		switch {
		case b.sleeping && (a.active() || a.moving()):
		case a.sleeping && (b.active() || b.moving()):
			a, b, j = b, a, i
		default:
			continue
		}
		listed = append(listed, j)
		if !a.box.grow(margin).overlaps(b.box) {
			continue
		}
		if _, c := collide(a, b, margin, &w.scratch); c > 0 {
			bp.islands = append(bp.islands, b.island)
		}
	}
	slices.Sort(listed)
	bp.listedOf = listed
	bp.listed = len(slices.Compact(listed))
}

// contactCandidatePairs is contactPairs over the candidates, planes
// apart: the pairs of bodies not asleep, one of them awake, that
// contactCandidate accepts, in order.
func (w *World) contactCandidatePairs(h float64) {
	bp := &w.bp
	for _, p := range bp.cand {
		a, b := &w.bodies[p>>32], &w.bodies[uint32(p)]
		if a.sleeping || b.sleeping || (!a.active() && !b.active()) {
			continue
		}
		if contactCandidate(a, b, h) {
			bp.pairs = append(bp.pairs, p)
		}
	}
}

// sweepFromCandidates appends the sweep's pairs over the candidates:
// sw holds the awake and moving bodies' ends, bp.swOf their place in it
// by body index. Both of a pair awake or moving: each way, as sweepPair
// accepts it; else the awake one's query against the other's bounds (a
// body that stands), if it is swept against fixed bodies and, a box, the
// other is not a sphere.
func (w *World) sweepFromCandidates(sw []sweepEnd) {
	bp := &w.bp
	for _, p := range bp.cand {
		i, j := int32(p>>32), int32(uint32(p))
		si, sj := bp.swOf[i], bp.swOf[j]
		switch {
		case si >= 0 && sj >= 0:
			bp.sweepPair(&sw[si], &sw[sj])
			bp.sweepPair(&sw[sj], &sw[si])
		case si >= 0:
			w.sweepFixedPair(&sw[si], j)
		case sj >= 0:
			w.sweepFixedPair(&sw[sj], i)
		}
	}
}

// sweepFixedPair appends (a, j) if a is swept against fixed bodies and
// its query meets j's bounds, as sweepPairs' crossPairs of the queries
// and the fixed bodies do.
func (w *World) sweepFixedPair(a *sweepEnd, j int32) {
	o := &w.bodies[j]
	switch a.fixed {
	case fixedNone:
		return
	case fixedBox:
		if o.shape.Kind == ShapeSphere {
			return
		}
	}
	if a.q.overlaps(o.box.grow(sweepSlack)) {
		w.bp.pairs = append(w.bp.pairs, uint64(a.body)<<32|uint64(j))
	}
}

// The kinds of sweepEnd.fixed: whether the body is swept against fixed
// bodies, and which.
const (
	fixedNone   = iota
	fixedSphere // a sphere: against every fixed body
	fixedBox    // a box: against fixed boxes
)
