package physics

import (
	"fmt"
	"math"

	"github.com/arcadexr/arcade/geom"
)

// report is the impulse of one pair in one sub-step, merged per Step.
type report struct {
	key     uint64
	point   geom.Vec3
	impulse float64 // total normal impulse
	peak    float64 // largest single sub-step impulse, for point
}

// Step advances the world by dt seconds. A non-positive dt does nothing.
func (w *World) Step(dt float64) {
	for i := range w.Begin(dt) {
		w.SubStep(i)
	}
	w.End()
}

// Begin starts a step of dt seconds run in parts, so that a caller can do
// other work (serve the network) between sub-steps: Begin, then SubStep(i)
// for every i below the count it returns, in order, then End. Between the
// parts, a caller may change bodies' kinds, poses and velocities as between
// two Steps; a kinematic target it sets applies from the next step. Begin
// returns 0 for a dt that is not positive and finite; End is still called.
func (w *World) Begin(dt float64) int {
	w.stepN, w.stepNext = 0, 0
	if !(dt > 0) || math.IsInf(dt, 1) {
		return 0
	}
	w.reports = w.reports[:0]
	w.solves = 0
	for i := range w.bodies {
		b := &w.bodies[i]
		if b.kind != Kinematic {
			continue
		}
		if b.hasTarget {
			b.vel = b.target.Pos.Sub(b.pose.Pos).Scale(1 / dt)
			b.angVel = angularVelocity(b.pose.Rot, b.target.Rot, dt)
		} else {
			b.vel, b.angVel = geom.Vec3{}, geom.Vec3{}
		}
		if b.moving() && !w.tracked(i) {
			// The candidates hold it standing still.
			w.dropCandidates()
		}
	}
	w.chooseAxis()
	w.stepH = dt / float64(w.subSteps)
	w.stepN = w.subSteps
	return w.stepN
}

// SubStep runs sub-step i of the step Begin started. Sub-steps run once
// each, in order; anything else is a programming error and panics.
func (w *World) SubStep(i int) {
	if i != w.stepNext || i >= w.stepN {
		panic(fmt.Sprintf("physics: SubStep(%d) out of order (next %d of %d)", i, w.stepNext, w.stepN))
	}
	w.stepNext++
	w.substep(w.stepH, i == w.stepN-1)
}

// End finishes the step Begin started: kinematic targets are consumed. A
// step whose sub-steps did not all run
// is a programming error and panics.
func (w *World) End() {
	if w.stepNext != w.stepN {
		panic(fmt.Sprintf("physics: End after %d of %d sub-steps", w.stepNext, w.stepN))
	}
	if w.stepN == 0 {
		return
	}
	for i := range w.bodies {
		w.bodies[i].hasTarget = false
	}
	w.stepN, w.stepNext = 0, 0
}

func (w *World) substep(h float64, last bool) {
	w.bp.sorted = false
	w.wakeTouched()
	// The bodies that may move in the sub-step, those integrate moves: no
	// body wakes, sleeps or changes kind until updateSleep.
	live := w.live[:0]
	for i := range w.bodies {
		if b := &w.bodies[i]; !b.sleeping && (b.kind == Dynamic || b.kind == Kinematic) {
			live = append(live, int32(i))
		}
	}
	w.live = live
	w.collide(h)
	w.prepare(h)
	w.impacts()
	g := w.Gravity.Scale(h)
	for _, i := range live {
		if b := &w.bodies[i]; b.active() {
			b.vel = b.vel.Add(g)
		}
	}
	w.warmStart()
	w.solverIslands()
	for it := 0; it < w.iterations; it++ {
		w.solveVelocities()
	}
	w.integrate(h, last)
	w.sweep(h)
	w.projectPositions(w.posIterations)
	for _, i := range live {
		b := &w.bodies[i]
		if b.active() {
			b.invIStale = true
		}
		b.box = bounds(&b.shape, b.pose)
	}
	w.record()
	w.updateSleep(h)
	w.bp.serial++ // the bounds moved
}

// collide rebuilds the manifolds at the current poses, inheriting
// accumulated impulses from the previous sub-step's matching points. A
// fast box already touching (within ccdTouch, so not swept) gets points up
// to sweptMargin further, for the features that can reach the other body
// within the sub-step of h seconds.
func (w *World) collide(h float64) {
	w.manifolds, w.prevManifolds = w.prevManifolds[:0], w.manifolds
	w.contacts, w.prevContacts = w.prevContacts[:0], w.contacts
	w.contactPairs(h)
	prev := 0
	for _, p := range w.bp.pairs {
		i, j := int(p>>32), int(uint32(p))
		a, b := &w.bodies[i], &w.bodies[j]
		ext := sweptMargin(a, b, h) // contactPairs has tested planeApart
		mg := margin
		if ext > 0 && separation(a, b) < ccdTouch {
			mg += ext
		}
		n, cnt := collide(a, b, mg, &w.scratch)
		if cnt == 0 {
			continue
		}
		if a.invIStale {
			a.updateInertia()
		}
		if b.invIStale {
			b.updateInertia()
		}
		m := manifold{
			a: int32(i), b: int32(j),
			key:         uint64(a.id)<<32 | uint64(b.id),
			first:       int32(len(w.contacts)),
			count:       int32(cnt),
			n:           n,
			restitution: max(a.mat.Restitution, b.mat.Restitution),
			muDynamic:   math.Sqrt(a.mat.Friction * b.mat.Friction),
			muStatic:    math.Sqrt(staticFriction(&a.mat) * staticFriction(&b.mat)),
		}
		if r := max(a.mat.Rolling, b.mat.Rolling); r > 0 {
			if a.shape.Kind == ShapeSphere {
				m.rolling = r * a.shape.Radius
			} else if b.shape.Kind == ShapeSphere {
				m.rolling = r * b.shape.Radius
			}
		}
		for prev < len(w.prevManifolds) && w.prevManifolds[prev].key < m.key {
			prev++
		}
		var old *manifold
		if prev < len(w.prevManifolds) && w.prevManifolds[prev].key == m.key {
			old = &w.prevManifolds[prev]
			m.jr = old.jr
		}
		invA, invB := a.pose.Inverse(), b.pose.Inverse()
		t1, t2 := tangents(n)
		for k := 0; k < cnt; k++ {
			p := w.scratch[k]
			w.contacts = append(w.contacts, contact{})
			c := &w.contacts[len(w.contacts)-1]
			c.point, c.lA, c.lB, c.t1, c.t2 = p, invA.Apply(p.pA), invB.Apply(p.pB), t1, t2
			if old != nil {
				w.inherit(c, old)
			}
		}
		w.manifolds = append(w.manifolds, m)
	}
}

// planeApart reports whether one of a and b is a plane and the other's
// bounds are further than mg above it, so that collide finds no point.
func planeApart(a, b *body, mg float64) bool {
	if a.shape.Kind == ShapePlane {
		a, b = b, a
	}
	if b.shape.Kind != ShapePlane || a.shape.Kind == ShapePlane {
		return false
	}
	c, e := boxCentre(a.box)
	return planeLow(c, e, &b.shape) > mg+sweepSlack
}

// boxCentre returns the centre and half extents of box.
func boxCentre(box aabb) (c, e geom.Vec3) {
	return box.min.Add(box.max).Scale(0.5), box.max.Sub(box.min).Scale(0.5)
}

// planeLow returns the height above the plane p of the lowest point of the
// box of centre c and half extents e.
func planeLow(c, e geom.Vec3, p *Shape) float64 {
	n := p.Normal
	return n.Dot(c) - math.Abs(n.X)*e.X - math.Abs(n.Y)*e.Y - math.Abs(n.Z)*e.Z - p.Offset
}

// inherit copies the impulses of the nearest point of old, if close enough,
// re-expressing the friction impulse in c's tangent basis.
func (w *World) inherit(c *contact, old *manifold) {
	mid := c.pA.Add(c.pB)
	best, bi := matchDist*matchDist, int32(-1)
	for k := old.first; k < old.first+old.count; k++ {
		o := &w.prevContacts[k]
		d := mid.Sub(o.pA.Add(o.pB)).Scale(0.5).Len2()
		if d < best {
			best, bi = d, k
		}
	}
	if bi < 0 {
		return
	}
	o := &w.prevContacts[bi]
	f := o.t1.Scale(o.jt1).Add(o.t2.Scale(o.jt2))
	c.jn, c.jt1, c.jt2 = o.jn, f.Dot(c.t1), f.Dot(c.t2)
}

func staticFriction(m *Material) float64 {
	if m.StaticFriction > 0 {
		return m.StaticFriction
	}
	return m.Friction
}

// integrate moves awake dynamic and kinematic bodies over the sub-step,
// remembering where they started. On the last sub-step kinematic bodies
// land exactly on their target pose. Sleeping and static bodies stand
// still: their motion (turn, reach) is zero, and where they started is
// never asked.
func (w *World) integrate(h float64, last bool) {
	for _, i := range w.live {
		b := &w.bodies[i]
		b.start, b.startRot = b.pose.Pos, b.pose.Rot
		switch {
		case b.active():
			b.pose.Pos = b.pose.Pos.Add(b.vel.Scale(h))
			b.pose.Rot = b.pose.Rot.Integrate(b.angVel, h)
		case b.kind == Kinematic && last && b.hasTarget:
			b.pose = b.target
		case b.moving():
			b.pose.Pos = b.pose.Pos.Add(b.vel.Scale(h))
			b.pose.Rot = b.pose.Rot.Integrate(b.angVel, h)
		}
		b.turn, b.reach = 0, 0
		if b.shape.Kind == ShapeBox && (b.active() || b.moving()) {
			b.turn = b.angVel.Len() * h * b.shape.Half.Len()
			b.reach = b.pose.Pos.Sub(b.start).Len() + b.turn
		}
	}
}

// record adds this sub-step's normal impulses to the reports. The
// manifolds are in pair order, so each sub-step's reports are a sorted run
// of distinct pairs, merged at once into the Step's (sorted, one per pair):
// a pair's impulses add up in sub-step order, and its point is that of the
// first sub-step with the largest impulse.
func (w *World) record() {
	n0 := len(w.reports)
	for mi := range w.manifolds {
		m := &w.manifolds[mi]
		sum := 0.0
		var p geom.Vec3
		for ci := m.first; ci < m.first+m.count; ci++ {
			c := &w.contacts[ci]
			j := c.jn + c.ji
			sum += j
			p = p.Add(c.pA.Add(c.pB).Scale(0.5 * j))
		}
		if sum > 0 {
			w.reports = append(w.reports, report{key: m.key, point: p.Scale(1 / sum), impulse: sum, peak: sum})
		}
	}
	if n0 == 0 || n0 == len(w.reports) {
		return
	}
	old, run := w.reports[:n0], w.reports[n0:]
	out := w.reportsTmp[:0]
	for len(old) > 0 && len(run) > 0 {
		switch o, r := &old[0], &run[0]; {
		case o.key < r.key:
			out = append(out, *o)
			old = old[1:]
		case r.key < o.key:
			out = append(out, *r)
			run = run[1:]
		default:
			m := *o
			m.impulse += r.impulse
			if r.peak > m.peak {
				m.peak, m.point = r.peak, r.point
			}
			out = append(out, m)
			old, run = old[1:], run[1:]
		}
	}
	out = append(append(out, old...), run...)
	w.reports, w.reportsTmp = out, w.reports[:0]
}

// updateSleep puts islands to sleep that have all been slow for the sleep
// time. Islands are the awake dynamic bodies joined by contacts.
func (w *World) updateSleep(h float64) {
	if w.noSleep {
		return
	}
	n := len(w.bodies)
	if cap(w.parent) < n {
		w.parent = make([]int32, n)
		w.islandMin = make([]float64, n)
	}
	w.parent, w.islandMin = w.parent[:n], w.islandMin[:n]
	lin2, ang2 := w.sleepLin*w.sleepLin, w.sleepAng*w.sleepAng
	// Only awake bodies are joined, and only their roots read.
	for _, i := range w.live {
		b := &w.bodies[i]
		w.parent[i] = i
		w.islandMin[i] = math.Inf(1)
		if !b.active() {
			continue
		}
		if b.vel.Len2() > lin2 || b.angVel.Len2() > ang2 {
			b.sleepTime = 0
		} else {
			b.sleepTime += h
		}
	}
	for mi := range w.manifolds {
		m := &w.manifolds[mi]
		a, b := &w.bodies[m.a], &w.bodies[m.b]
		switch {
		case a.active() && b.active():
			w.union(m.a, m.b)
		case a.active() && b.moving():
			a.sleepTime = 0
		case b.active() && a.moving():
			b.sleepTime = 0
		}
	}
	for _, i := range w.live {
		if b := &w.bodies[i]; b.active() {
			r := w.root(i)
			w.islandMin[r] = min(w.islandMin[r], b.sleepTime)
		}
	}
	for _, i := range w.live {
		b := &w.bodies[i]
		if !b.active() {
			continue
		}
		r := w.root(i)
		if w.islandMin[r] >= w.sleepTime {
			b.sleeping = true
			b.island = w.bodies[r].id
			b.vel, b.angVel = geom.Vec3{}, geom.Vec3{}
			b.turn, b.reach = 0, 0 // integrate leaves it so while it sleeps
		}
	}
}

func (w *World) root(i int32) int32 {
	for w.parent[i] != i {
		w.parent[i] = w.parent[w.parent[i]]
		i = w.parent[i]
	}
	return i
}

func (w *World) union(a, b int32) {
	ra, rb := w.root(a), w.root(b)
	if ra < rb {
		w.parent[rb] = ra
	} else if rb < ra {
		w.parent[ra] = rb
	}
}
