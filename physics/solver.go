package physics

import (
	"math"

	"github.com/arcadexr/arcade/geom"
)

// manifold is the contact of one pair in one sub-step.
type manifold struct {
	a, b         int32  // body indices
	key          uint64 // a's id << 32 | b's id
	first, count int32  // its points in World.contacts
	n            geom.Vec3
	impact       bool // some point bounces this sub-step

	restitution float64
	muDynamic   float64
	muStatic    float64
	rolling     float64   // rolling resistance coefficient × sphere radius, m
	rollMass    float64   // effective mass for relative rotation
	jr          geom.Vec3 // accumulated rolling impulse
	island      int32     // a body index of its island, for the solver
}

// contact is one point of a manifold with its solver state.
type contact struct {
	point
	lA, lB       geom.Vec3 // witness points in the bodies' frames
	rA, rB       geom.Vec3 // from the body centres to the contact point
	t1, t2       geom.Vec3 // tangent basis
	jN, jT1, jT2 row       // constraint rows along n, t1, t2
	target       float64   // least normal relative velocity, m/s
	bounce       bool      // approaching fast enough to bounce
	mu           float64
	jn, jt1, jt2 float64 // accumulated impulses
	ji           float64 // impact impulse of this sub-step, compression and restitution
}

// row is one constraint direction d at a contact, precomputed: the lever
// arms rA×d and rB×d, their images under the inverse inertias, and the
// effective mass.
type row struct {
	xA, xB geom.Vec3 // rA×d, rB×d
	iA, iB geom.Vec3 // Ia⁻¹·(rA×d), Ib⁻¹·(rB×d)
	mass   float64
}

// makeRow returns the row of direction d at offsets rA, rB. A body without
// mass (static or kinematic) has no inverse inertia: its side is left
// zero, which adds nothing to the effective mass of the other.
func makeRow(a, b *body, rA, rB, d geom.Vec3) row {
	r := row{xA: rA.Cross(d), xB: rB.Cross(d)}
	k := a.invMass + b.invMass
	if a.invMass > 0 {
		r.iA = a.invI.mulVec(r.xA)
		k += r.xA.Dot(r.iA)
	}
	if b.invMass > 0 {
		r.iB = b.invI.mulVec(r.xB)
		k += r.xB.Dot(r.iB)
	}
	if k > 0 {
		r.mass = 1 / k
	}
	return r
}

// speed returns the relative velocity of the contact along d.
func (r *row) speed(a, b *body, d geom.Vec3) float64 {
	return d.Dot(b.vel.Sub(a.vel)) + r.xB.Dot(b.angVel) - r.xA.Dot(a.angVel)
}

// apply applies the impulse j·d to b and −j·d to a.
func (r *row) apply(a, b *body, d geom.Vec3, j float64) {
	if a.invMass > 0 {
		a.vel = a.vel.Sub(d.Scale(j * a.invMass))
		a.angVel = a.angVel.Sub(r.iA.Scale(j))
	}
	if b.invMass > 0 {
		b.vel = b.vel.Add(d.Scale(j * b.invMass))
		b.angVel = b.angVel.Add(r.iB.Scale(j))
	}
}

// effMass returns the effective mass of the pair for an impulse along d
// at offsets rA, rB.
func effMass(a, b *body, rA, rB, d geom.Vec3) float64 {
	k := a.invMass + b.invMass
	switch {
	case a.invMass > 0 && b.invMass > 0:
		ra, rb := rA.Cross(d), rB.Cross(d)
		k += ra.Dot(a.invI.mulVec(ra)) + rb.Dot(b.invI.mulVec(rb))
	case a.invMass > 0: // b has no inverse inertia (makeRow)
		ra := rA.Cross(d)
		k += ra.Dot(a.invI.mulVec(ra))
	case b.invMass > 0:
		rb := rB.Cross(d)
		k += rb.Dot(b.invI.mulVec(rb))
	}
	if k <= 0 {
		return 0
	}
	return 1 / k
}

// relVel returns the velocity of b's point rB relative to a's point rA.
func relVel(a, b *body, rA, rB geom.Vec3) geom.Vec3 {
	return b.vel.Add(b.angVel.Cross(rB)).Sub(a.vel).Sub(a.angVel.Cross(rA))
}

// angImpulse applies the angular impulse l to b and −l to a.
func angImpulse(a, b *body, l geom.Vec3) {
	if a.invMass > 0 {
		a.angVel = a.angVel.Sub(a.invI.mulVec(l))
	}
	if b.invMass > 0 {
		b.angVel = b.angVel.Add(b.invI.mulVec(l))
	}
}

// prepare computes the per-point solver constants and finds the bouncing
// points, from the velocities before gravity.
func (w *World) prepare(h float64) {
	for mi := range w.manifolds {
		m := &w.manifolds[mi]
		a, b := &w.bodies[m.a], &w.bodies[m.b]
		m.impact = false
		for ci := m.first; ci < m.first+m.count; ci++ {
			c := &w.contacts[ci]
			p := c.pA.Add(c.pB).Scale(0.5)
			c.rA, c.rB = p.Sub(a.pose.Pos), p.Sub(b.pose.Pos)
			c.jN = makeRow(a, b, c.rA, c.rB, m.n)
			c.jT1 = makeRow(a, b, c.rA, c.rB, c.t1)
			c.jT2 = makeRow(a, b, c.rA, c.rB, c.t2)
			v := relVel(a, b, c.rA, c.rB)
			vn := v.Dot(m.n)
			c.bounce = m.restitution > 0 && vn < -w.bounce && c.sep+vn*h < 0
			m.impact = m.impact || c.bounce
			c.target = 0
			if c.sep > 0 && !c.bounce {
				c.target = -c.sep / h
			}
			c.ji = 0
			c.mu = m.muDynamic
			if v.Sub(m.n.Scale(vn)).Len2() < stickSpeed*stickSpeed {
				c.mu = m.muStatic
			}
		}
		if m.rolling > 0 {
			k := (a.invI[0][0] + a.invI[1][1] + a.invI[2][2] + b.invI[0][0] + b.invI[1][1] + b.invI[2][2]) / 3
			m.rollMass = 0
			if k > 0 {
				m.rollMass = 1 / k
			}
		}
		if m.impact {
			for ci := m.first; ci < m.first+m.count; ci++ {
				c := &w.contacts[ci]
				c.jn, c.jt1, c.jt2 = 0, 0, 0
			}
			m.jr = geom.Vec3{}
		}
	}
}

// impacts resolves the bouncing manifolds before gravity, Poisson style:
// an inelastic frictionless solve gives each point's compression impulse
// P, then e·P more is applied along the normal. That never adds energy,
// however many points bounce at once: the inelastic result is the
// energy-norm projection of the velocities onto the non-approaching set,
// and the restitution impulse is orthogonal to it. Friction acts in the
// main solve, bounded by the whole normal impulse, where it only removes
// sliding. The impact impulse is kept apart from the main solve's
// accumulated impulse, which therefore cannot take the bounce back.
func (w *World) impacts() {
	any := false
	for mi := range w.manifolds {
		any = any || w.manifolds[mi].impact
	}
	if !any {
		return
	}
	for it := 0; it < w.iterations; it++ {
		for mi := range w.manifolds {
			if m := &w.manifolds[mi]; m.impact {
				w.solveNormals(m)
			}
		}
	}
	for mi := range w.manifolds {
		m := &w.manifolds[mi]
		if !m.impact {
			continue
		}
		a, b := &w.bodies[m.a], &w.bodies[m.b]
		for ci := m.first; ci < m.first+m.count; ci++ {
			c := &w.contacts[ci]
			if c.bounce {
				d := m.restitution * c.jn
				c.jN.apply(a, b, m.n, d)
				c.jn += d
			}
			c.ji, c.jn = c.jn, 0
		}
	}
}

// warmStart applies the impulses inherited from the previous sub-step to
// the manifolds without impacts.
func (w *World) warmStart() {
	for mi := range w.manifolds {
		m := &w.manifolds[mi]
		if m.impact {
			continue
		}
		a, b := &w.bodies[m.a], &w.bodies[m.b]
		for ci := m.first; ci < m.first+m.count; ci++ {
			c := &w.contacts[ci]
			c.jN.apply(a, b, m.n, c.jn)
			c.jT1.apply(a, b, c.t1, c.jt1)
			c.jT2.apply(a, b, c.t2, c.jt2)
		}
		if m.rolling > 0 {
			angImpulse(a, b, m.jr)
		}
	}
}

// solveTol: an island whose impulses all changed by less than this
// fraction of their point's normal impulse (or than solveTiny) in a solver
// pass has converged and is not solved again in the sub-step.
const (
	solveTol  = 1e-4
	solveTiny = 1e-9 // N·s
)

// solverIslands sets each manifold's island (the awake dynamic bodies it
// joins with others through contacts) and marks every island unsolved.
func (w *World) solverIslands() {
	n := len(w.bodies)
	if cap(w.parent) < n {
		w.parent = make([]int32, n)
		w.islandMin = make([]float64, n)
	}
	if cap(w.islandState) < n {
		w.islandState = make([]int8, n)
	}
	w.parent, w.islandState = w.parent[:n], w.islandState[:n]
	for mi := range w.manifolds {
		m := &w.manifolds[mi]
		w.parent[m.a], w.parent[m.b] = m.a, m.b
	}
	for mi := range w.manifolds {
		m := &w.manifolds[mi]
		if w.bodies[m.a].active() && w.bodies[m.b].active() {
			w.union(m.a, m.b)
		}
	}
	for mi := range w.manifolds {
		m := &w.manifolds[mi]
		r := m.a
		if !w.bodies[r].active() {
			r = m.b
		}
		m.island = w.root(r)
		w.islandState[m.island] = islandUnseen
	}
	w.islands = w.islands[:0]
	for mi := range w.manifolds {
		if r := w.manifolds[mi].island; w.islandState[r] == islandUnseen {
			w.islandState[r] = islandOpen
			w.islands = append(w.islands, r)
		}
	}
}

// Solver states of an island, by the body index of its root.
const (
	islandOpen      = iota // not converged yet
	islandConverged        // in this pass so far
	islandDone             // converged in an earlier pass: not solved
	islandFailed           // not converged in this pass
	islandUnseen           // solverIslands' mark
)

// solveVelocities runs one sequential-impulse pass over the contacts of
// the islands that have not converged.
func (w *World) solveVelocities() {
	st := w.islandState
	for mi := range w.manifolds {
		m := &w.manifolds[mi]
		if st[m.island] == islandDone {
			continue
		}
		w.solves++
		if w.solveManifold(m) {
			if st[m.island] == islandOpen {
				st[m.island] = islandConverged
			}
		} else {
			st[m.island] = islandFailed
		}
	}
	for _, r := range w.islands {
		switch st[r] {
		case islandConverged:
			st[r] = islandDone
		case islandFailed:
			st[r] = islandOpen
		}
	}
}

// solveNormals runs one frictionless pass over m's points.
func (w *World) solveNormals(m *manifold) {
	a, b := &w.bodies[m.a], &w.bodies[m.b]
	for ci := m.first; ci < m.first+m.count; ci++ {
		c := &w.contacts[ci]
		jn := max(c.jn+(c.target-c.jN.speed(a, b, m.n))*c.jN.mass, 0)
		c.jN.apply(a, b, m.n, jn-c.jn)
		c.jn = jn
	}
}

// solveManifold runs one sequential-impulse pass over m's points:
// friction clamped to the cone |jt| ≤ μ·jn, then the normal impulse toward
// the point's target, then rolling resistance. It reports whether no
// impulse changed by more than solveTol of its point's normal impulse.
func (w *World) solveManifold(m *manifold) bool {
	a, b := &w.bodies[m.a], &w.bodies[m.b]
	sumN := 0.0
	conv := true
	for ci := m.first; ci < m.first+m.count; ci++ {
		c := &w.contacts[ci]

		j1 := c.jt1 - c.jT1.speed(a, b, c.t1)*c.jT1.mass
		j2 := c.jt2 - c.jT2.speed(a, b, c.t2)*c.jT2.mass
		limit := c.mu * (c.jn + c.ji)
		if l2 := j1*j1 + j2*j2; l2 > limit*limit {
			s := limit / math.Sqrt(l2)
			j1, j2 = j1*s, j2*s
		}
		d1, d2 := j1-c.jt1, j2-c.jt2
		c.jT1.apply(a, b, c.t1, d1)
		c.jT2.apply(a, b, c.t2, d2)
		c.jt1, c.jt2 = j1, j2

		jn := max(c.jn+(c.target-c.jN.speed(a, b, m.n))*c.jN.mass, 0)
		dn := jn - c.jn
		c.jN.apply(a, b, m.n, dn)
		c.jn = jn
		sumN += jn + c.ji
		tol := solveTol*(jn+c.ji) + solveTiny
		conv = conv && math.Abs(d1) <= tol && math.Abs(d2) <= tol && math.Abs(dn) <= tol
	}
	if m.rolling > 0 && m.rollMass > 0 {
		rel := b.angVel.Sub(a.angVel)
		j := m.jr.Sub(rel.Scale(m.rollMass))
		limit := m.rolling * sumN
		if l := j.Len(); l > limit {
			j = j.Scale(limit / l)
		}
		d := j.Sub(m.jr)
		m.jr = j
		angImpulse(a, b, d)
		conv = conv && d.Len() <= solveTol*limit+solveTiny
	}
	return conv
}

// projectPositions runs passes of moving bodies apart along the contact
// normals to remove penetration beyond slop, without touching velocities.
// An island (solverIslands) none of whose points needed a correction in a
// pass stands as it stood, so it needs none in the next either, and is
// left out of the passes that remain.
func (w *World) projectPositions(passes int) {
	st := w.islandState // reused: posOpen, posMoved, posStill
	for _, r := range w.islands {
		st[r] = posOpen
	}
	for range passes {
		w.projectPass()
		for _, r := range w.islands {
			switch st[r] {
			case posOpen:
				st[r] = posStill
			case posMoved:
				st[r] = posOpen
			}
		}
	}
}

// Island states in projectPositions.
const (
	posOpen  = iota // no correction in this pass so far
	posMoved        // corrected in this pass
	posStill        // none in an earlier pass: left out
)

// projectPass is one pass of projectPositions.
func (w *World) projectPass() {
	st := w.islandState
	for mi := range w.manifolds {
		m := &w.manifolds[mi]
		a, b := &w.bodies[m.a], &w.bodies[m.b]
		if a.invMass == 0 && b.invMass == 0 || st[m.island] == posStill {
			continue
		}
		for ci := m.first; ci < m.first+m.count; ci++ {
			c := &w.contacts[ci]
			pA, pB := a.pose.Apply(c.lA), b.pose.Apply(c.lB)
			sep := pB.Sub(pA).Dot(m.n)
			corr := clamp(baumgarte*(sep+slop), -maxCorrection, 0)
			if corr >= 0 {
				continue
			}
			p := pA.Add(pB).Scale(0.5)
			rA, rB := p.Sub(a.pose.Pos), p.Sub(b.pose.Pos)
			k := effMass(a, b, rA, rB, m.n)
			P := m.n.Scale(-corr * k)
			st[m.island] = posMoved
			if a.invMass > 0 {
				a.pose.Pos = a.pose.Pos.Sub(P.Scale(a.invMass))
				a.pose.Rot = rotateSmall(a.pose.Rot, a.invI.mulVec(rA.Cross(P)).Neg())
			}
			if b.invMass > 0 {
				b.pose.Pos = b.pose.Pos.Add(P.Scale(b.invMass))
				b.pose.Rot = rotateSmall(b.pose.Rot, b.invI.mulVec(rB.Cross(P)))
			}
		}
	}
}
