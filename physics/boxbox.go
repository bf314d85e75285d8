package physics

import (
	"math"

	"github.com/arcadexr/arcade/geom"
)

// boxBox finds the contact of two oriented boxes: the separating axis test
// over the 15 candidate axes picks the axis of least penetration; a face
// axis gives up to four points by clipping the incident face against the
// reference face, an edge pair gives the closest points of the two edges.
// The normal points from A to B.
func boxBox(pa geom.Pose, ha geom.Vec3, pb geom.Pose, hb geom.Vec3, margin float64, out *[maxClip]point) (geom.Vec3, int) {
	ma, mb := quatMat(pa.Rot), quatMat(pb.Rot)
	a := [3]geom.Vec3{ma.col(0), ma.col(1), ma.col(2)}
	b := [3]geom.Vec3{mb.col(0), mb.col(1), mb.col(2)}
	ea := [3]float64{ha.X, ha.Y, ha.Z}
	eb := [3]float64{hb.X, hb.Y, hb.Z}
	d := pb.Pos.Sub(pa.Pos)

	var c, ac [3][3]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			c[i][j] = a[i].Dot(b[j])
			ac[i][j] = math.Abs(c[i][j]) + 1e-9
		}
	}

	sepA, axA := math.Inf(-1), 0
	for i := 0; i < 3; i++ {
		s := math.Abs(d.Dot(a[i])) - (ea[i] + eb[0]*ac[i][0] + eb[1]*ac[i][1] + eb[2]*ac[i][2])
		if s > margin {
			return geom.Vec3{}, 0
		}
		if s > sepA {
			sepA, axA = s, i
		}
	}
	sepB, axB := math.Inf(-1), 0
	for j := 0; j < 3; j++ {
		s := math.Abs(d.Dot(b[j])) - (eb[j] + ea[0]*ac[0][j] + ea[1]*ac[1][j] + ea[2]*ac[2][j])
		if s > margin {
			return geom.Vec3{}, 0
		}
		if s > sepB {
			sepB, axB = s, j
		}
	}
	sepE, eI, eJ := math.Inf(-1), -1, -1
	var nE geom.Vec3
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
			s := math.Abs(d.Dot(n)) - ra - rb
			if s > margin {
				return geom.Vec3{}, 0
			}
			if s > sepE {
				sepE, eI, eJ, nE = s, i, j, n
			}
		}
	}

	// Prefer faces, and A's face over B's, unless clearly worse: the choice
	// then stays put from one sub-step to the next.
	const relTol, absTol = 0.95, 1e-4
	faceSep, useB := sepA, false
	if sepB > relTol*sepA+absTol {
		faceSep, useB = sepB, true
	}
	if eI >= 0 && sepE > relTol*faceSep+absTol {
		return boxEdges(pa.Pos, a, ea, eI, pb.Pos, b, eb, eJ, nE, d, out)
	}
	if useB {
		n, cnt := boxFace(pb.Pos, b, eb, axB, pa.Pos, a, ea, margin, out)
		for i := 0; i < cnt; i++ {
			out[i].pA, out[i].pB = out[i].pB, out[i].pA
		}
		return n.Neg(), cnt
	}
	return boxFace(pa.Pos, a, ea, axA, pb.Pos, b, eb, margin, out)
}

// boxFace clips the face of the incident box (ci, ai, ei) most opposed to
// the reference face axis ax of the reference box (cr, ar, er). It returns
// the reference normal (toward the incident box) and points with pA on the
// reference face and pB on the incident box.
func boxFace(cr geom.Vec3, ar [3]geom.Vec3, er [3]float64, ax int,
	ci geom.Vec3, ai [3]geom.Vec3, ei [3]float64, margin float64, out *[maxClip]point) (geom.Vec3, int) {
	n := ar[ax]
	if ci.Sub(cr).Dot(n) < 0 {
		n = n.Neg()
	}
	// Incident face: the one whose normal is most anti-parallel to n.
	k, best := 0, -1.0
	for j := 0; j < 3; j++ {
		if v := math.Abs(ai[j].Dot(n)); v > best {
			k, best = j, v
		}
	}
	ni := ai[k]
	if ni.Dot(n) > 0 {
		ni = ni.Neg()
	}
	u, v := (k+1)%3, (k+2)%3
	fc := ci.Add(ni.Scale(ei[k]))
	du, dv := ai[u].Scale(ei[u]), ai[v].Scale(ei[v])
	var poly, tmp [maxClip]geom.Vec3
	poly[0] = fc.Add(du).Add(dv)
	poly[1] = fc.Sub(du).Add(dv)
	poly[2] = fc.Sub(du).Sub(dv)
	poly[3] = fc.Add(du).Sub(dv)
	cnt := 4

	// Clip against the four side planes of the reference face.
	s1, s2 := (ax+1)%3, (ax+2)%3
	cnt = clipPlane(&poly, cnt, &tmp, ar[s1], ar[s1].Dot(cr)+er[s1])
	cnt = clipPlane(&tmp, cnt, &poly, ar[s1].Neg(), -ar[s1].Dot(cr)+er[s1])
	cnt = clipPlane(&poly, cnt, &tmp, ar[s2], ar[s2].Dot(cr)+er[s2])
	cnt = clipPlane(&tmp, cnt, &poly, ar[s2].Neg(), -ar[s2].Dot(cr)+er[s2])

	off := n.Dot(cr) + er[ax]
	c := 0
	for i := 0; i < cnt; i++ {
		p := poly[i]
		s := n.Dot(p) - off
		if s > margin {
			continue
		}
		out[c] = point{pA: p.Sub(n.Scale(s)), pB: p, sep: s}
		c++
	}
	return n, reduce(out, c, n)
}

// clipPlane keeps the part of the polygon in (count vertices) with
// n·p ≤ off, writing it to dst, and returns its vertex count.
func clipPlane(in *[maxClip]geom.Vec3, count int, dst *[maxClip]geom.Vec3, n geom.Vec3, off float64) int {
	c := 0
	if count == 0 {
		return 0
	}
	prev := in[count-1]
	dp := n.Dot(prev) - off
	for i := 0; i < count; i++ {
		cur := in[i]
		dc := n.Dot(cur) - off
		if (dp <= 0) != (dc <= 0) && c < maxClip {
			t := dp / (dp - dc)
			dst[c] = prev.Add(cur.Sub(prev).Scale(t))
			c++
		}
		if dc <= 0 && c < maxClip {
			dst[c] = cur
			c++
		}
		prev, dp = cur, dc
	}
	return c
}

// boxEdges returns the single contact of edge i of A against edge j of B
// along the axis n = aᵢ×bⱼ, oriented from A to B.
func boxEdges(ca geom.Vec3, a [3]geom.Vec3, ea [3]float64, i int,
	cb geom.Vec3, b [3]geom.Vec3, eb [3]float64, j int, n, d geom.Vec3, out *[maxClip]point) (geom.Vec3, int) {
	if n.Dot(d) < 0 {
		n = n.Neg()
	}
	// The edge of A furthest along n and the edge of B furthest along −n.
	pa := ca
	for k := 0; k < 3; k++ {
		if k != i {
			pa = pa.Add(a[k].Scale(sign(a[k].Dot(n)) * ea[k]))
		}
	}
	pb := cb
	for k := 0; k < 3; k++ {
		if k != j {
			pb = pb.Sub(b[k].Scale(sign(b[k].Dot(n)) * eb[k]))
		}
	}
	// Closest points of the lines pa + s·a[i] and pb + t·b[j], clamped to
	// the edges.
	da, db := a[i], b[j]
	r := pa.Sub(pb)
	bb := da.Dot(db)
	c, f := da.Dot(r), db.Dot(r)
	den := 1 - bb*bb
	var s float64
	if den > 1e-12 {
		s = (bb*f - c) / den
	}
	s = clamp(s, -ea[i], ea[i])
	t := clamp(bb*s+f, -eb[j], eb[j])
	s = clamp(bb*t-c, -ea[i], ea[i])
	wa := pa.Add(da.Scale(s))
	wb := pb.Add(db.Scale(t))
	out[0] = point{pA: wa, pB: wb, sep: wb.Sub(wa).Dot(n)}
	return n, 1
}
