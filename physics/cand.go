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
// drops the candidates, as does a Begin (of a kinematic body that starts
// moving) and a bound found outside; a body a sub-step wakes is tracked
// from then on (trackWoken), the others keeping their fat bounds. Then they are swept anew, from the
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
	if bp.candOK && bp.checked == bp.serial && len(bp.role) == len(w.bodies) {
		return true
	}
	bp.checked = bp.serial
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

// tracked reports whether the candidates hold body i as tracked.
func (w *World) tracked(i int) bool {
	return len(w.bp.role) == len(w.bodies) && w.bp.role[i] == roleTracked
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
		bp.lone = make([]bool, n)
		bp.planeGap = make([]float64, n)
		bp.swOf = make([]int32, n)
		for i := range bp.swOf {
			bp.swOf[i] = -1
		}
	}
	bp.role, bp.fat, bp.lone, bp.planeGap, bp.swOf = bp.role[:n], bp.fat[:n], bp.lone[:n], bp.planeGap[:n], bp.swOf[:n]
	clear(bp.role)
	w.ensureOrder()
	h := w.stepH
	// This sub-step's, the rest's and two more: the candidates may hold
	// across Steps (a longer time makes more pairs, a shorter more sweeps).
	left := float64(w.stepN-w.stepNext+3) * h
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
	// What each tracked body's fat bounds meet: other bodies, and how
	// near the nearest plane (below it, if negative).
	pl := w.planeRefs(planes)
	for _, i := range tracked {
		bp.lone[i] = true
		c, e := boxCentre(bp.fat[i])
		gap := math.Inf(1)
		for k := range pl {
			p := &pl[k]
			gap = min(gap, p.n.Dot(c)-p.abs.X*e.X-p.abs.Y*e.Y-p.abs.Z*e.Z-p.off)
		}
		bp.planeGap[i] = gap
	}
	for _, p := range cand {
		bp.lone[p>>32], bp.lone[uint32(p)] = false, false
	}
	bp.cand, bp.tracked, bp.live, bp.near, bp.candPlanes = cand, tracked, live, near, planes
	bp.candOK = true
	bp.candSweeps++
}

// trackWoken wakes the bodies asleep in bp.islands (sorted) and makes
// them tracked in the step's candidates, as buildCandidates would have:
// fat bounds for the time left in the step, and a candidate pair with
// every body whose fat bounds meet theirs, each body out of reach until
// now given the fixed bounds buildCandidates gives those within it. A
// wake costs a pass over the bodies for each body woken, not a sweep of
// them all.
func (w *World) trackWoken() {
	bp := &w.bp
	h := w.stepH
	left := float64(w.stepN-w.stepNext+3) * h
	g := w.Gravity.Len()
	pl := w.planeRefs(bp.candPlanes)
	k0 := len(bp.cand)
	for i := range w.bodies {
		b := &w.bodies[i]
		if !b.sleeping {
			continue
		}
		if _, found := slices.BinarySearch(bp.islands, b.island); !found {
			continue
		}
		b.sleeping, b.sleepTime = false, 0
		bp.candWoken++
		i := int32(i)
		if bp.role[i] != roleTracked {
			// (A body that fell asleep since the sweep is tracked still.)
			bp.tracked = append(bp.tracked, i)
		}
		f := fatBounds(b, left, h, g)
		bp.fat[i], bp.role[i] = f, roleTracked
		bp.lone[i] = true
		c, e := boxCentre(f)
		gap := math.Inf(1)
		for k := range pl {
			p := &pl[k]
			gap = min(gap, p.n.Dot(c)-p.abs.X*e.X-p.abs.Y*e.Y-p.abs.Z*e.Z-p.off)
		}
		bp.planeGap[i] = gap
		for j := range w.bodies {
			o := &w.bodies[j]
			j := int32(j)
			if j == i || o.shape.Kind == ShapePlane {
				continue
			}
			if bp.role[j] == roleNone {
				of := o.box.grow(margin + sweepSlack)
				if !of.overlaps(f) {
					continue
				}
				bp.fat[j], bp.role[j] = of, roleFixed
			} else if !bp.fat[j].overlaps(f) {
				continue
			}
			bp.cand = append(bp.cand, pairKey(i, j))
			bp.lone[i] = false
			if bp.role[j] == roleTracked {
				bp.lone[j] = false
			}
		}
	}
	if len(bp.cand) > k0 {
		slices.Sort(bp.cand)
		bp.cand = slices.Compact(bp.cand)
	}
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

// candidatesHold reports whether the step's candidates held at this
// sub-step's start (its waking and contact finding swept or checked
// them) and still do: since then, no body woke, none moved but by
// integration.
func (w *World) candidatesHold() bool {
	bp := &w.bp
	return bp.candOK && !w.brute && bp.checked == bp.serial && len(bp.role) == len(w.bodies)
}

// sweepFromCandidates is sweepPairs over the step's candidates, with
// reach the S of sweepPairs: it sets bp.pairs and reports true if they
// hold for the sweep, that is every awake and moving body's query and
// target bounds lie within its fat bounds. A body that has no candidate
// and whose fat bounds keep it from every plane the sweep would pair it
// with is no sweep's candidate: it is only checked to be within them, by
// bounds that hold its query and target, with no sweepEnd. A body out of
// its fat bounds drops the candidates, to be swept anew; one spinning so
// that its carry has no bound would be out of any, and leaves them.
func (w *World) sweepFromCandidates(h, reach float64) bool {
	bp := &w.bp
	if !w.candidatesHold() {
		return false
	}
	sw := bp.sw[:0]
	qfs, qfb := bp.f[:0], bp.g[:0]
	queries := 0
	ok := true
	for _, i := range bp.tracked {
		b := &w.bodies[i]
		if !b.active() && !b.moving() {
			continue
		}
		if bp.lone[i] && w.loneWithin(i, h, reach) {
			bp.loneSkips++
			continue
		}
		sw = growEnds(sw)
		e := &sw[len(sw)-1]
		u := w.sweepEndOf(e, i, h, reach)
		if !contains(bp.fat[i], u) {
			ok = false
			if !math.IsInf(e.carry, 1) {
				w.dropCandidates()
			}
			sw = sw[:len(sw)-1]
			break
		}
		if e.query != queryNone {
			queries++
		}
		if e.fixed != fixedNone && bp.planeGap[i] <= sweepPlaneKeep(b)+planeTol {
			if e.fixed == fixedSphere {
				qfs = append(qfs, span{box: e.q, i: i})
			} else {
				qfb = append(qfb, span{box: e.q, i: i})
			}
		}
		bp.swOf[i] = int32(len(sw) - 1)
	}
	if ok && queries > 0 {
		bp.candUses[2]++
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
		w.sweepPlanePairs(qfs, bp.candPlanes, false)
		w.sweepPlanePairs(qfb, bp.candPlanes, true)
		bp.sortPairs(len(w.bodies))
	}
	for k := range sw {
		bp.swOf[sw[k].body] = -1
	}
	bp.sw, bp.f, bp.g = sw, qfs, qfb
	return ok
}

// planeTol pads the tests of fat bounds against planes, against rounding.
const planeTol = 1e-6

// sweepPlaneKeep is the height above a plane that sweepPlanePairs pairs
// b's query with it within.
func sweepPlaneKeep(b *body) float64 {
	if b.shape.Kind == ShapeBox {
		return b.reach + ccdTouch
	}
	return sweepSlack
}

// loneWithin reports whether the query and target bounds sweepEndOf
// would give awake or moving body b lie within its fat bounds, and its
// fat bounds are further from every plane than sweepPlanePairs pairs it
// within. It tests bounds that hold them: cubes about its start and end
// centres of its radius (a box's half diagonal, which its bounds at any
// turn lie within) plus the most its carry can be, and its start bounds
// grown by its reach, each grown by ccdGap and sweepSlack.
func (w *World) loneWithin(i int32, h, reach float64) bool {
	bp := &w.bp
	b := &w.bodies[i]
	if bp.planeGap[i] <= sweepPlaneKeep(b)+planeTol {
		return false
	}
	vh, turn := b.vel.Len()*h, b.angVel.Len()*h
	if !(turn < 0.5) {
		return false
	}
	r := b.shape.Radius
	if b.shape.Kind == ShapeBox {
		r = b.shape.Half.Len()
	}
	carry := vh + turn*(reach+math.Sqrt(3)*r+b.pose.Pos.Sub(b.start).Len()+vh)/(1-turn)
	pad := ccdGap + sweepSlack + planeTol
	f := &bp.fat[i]
	return contains(*f, cube(b.pose.Pos, r+carry+pad)) &&
		contains(*f, cube(b.start, r+pad)) &&
		contains(*f, b.box.grow(b.reach+pad))
}

// cube returns the bounds of centre c and half extent e.
func cube(c geom.Vec3, e float64) aabb {
	d := geom.Vec3{X: e, Y: e, Z: e}
	return aabb{min: c.Sub(d), max: c.Add(d)}
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
