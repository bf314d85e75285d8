package physics

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/arcadexr/arcade/geom"
)

// naiveDepth is the reference for the separating axis test: it projects
// all 16 vertices on each of the 15 axes and returns the least overlap.
func naiveDepth(pa geom.Pose, ha geom.Vec3, pb geom.Pose, hb geom.Vec3) float64 {
	verts := func(p geom.Pose, h geom.Vec3) (vs [8]geom.Vec3) {
		for i := range vs {
			vs[i] = p.Apply(v3(h.X*float64(1-2*(i&1)), h.Y*float64(1-(i&2)), h.Z*float64(1-(i&4)/2)))
		}
		return vs
	}
	va, vb := verts(pa, ha), verts(pb, hb)
	ma, mb := quatMat(pa.Rot), quatMat(pb.Rot)
	var axes []geom.Vec3
	for i := 0; i < 3; i++ {
		axes = append(axes, ma.col(i), mb.col(i))
	}
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			if n := ma.col(i).Cross(mb.col(j)); n.Len() > 1e-5 {
				axes = append(axes, n.Norm())
			}
		}
	}
	best := math.Inf(1)
	for _, n := range axes {
		loA, hiA, loB, hiB := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		for k := 0; k < 8; k++ {
			a, b := va[k].Dot(n), vb[k].Dot(n)
			loA, hiA, loB, hiB = math.Min(loA, a), math.Max(hiA, a), math.Min(loB, b), math.Max(hiB, b)
		}
		best = math.Min(best, math.Min(hiA-loB, hiB-loA))
	}
	return best
}

// TestBoxBoxAgainstNaive: for random box pairs, boxBox finds a contact
// exactly when the naive test sees overlap, its normal is unit, its
// witness points lie on the boxes' surfaces, and its deepest point is no
// deeper than the least overlap.
func TestBoxBoxAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	var out [maxClip]point
	hits := 0
	for k := 0; k < 5000; k++ {
		ha := v3(0.02+0.1*r.Float64(), 0.005+0.1*r.Float64(), 0.02+0.1*r.Float64())
		hb := v3(0.02+0.1*r.Float64(), 0.005+0.1*r.Float64(), 0.02+0.1*r.Float64())
		pa := geom.Pose{Pos: v3(0, 0, 0), Rot: randRot(r)}
		pb := geom.Pose{Pos: randUnit(r).Scale(0.3 * r.Float64()), Rot: randRot(r)}
		if k%4 == 0 { // aligned faces, as in stacks
			pb.Rot = pa.Rot
		}
		depth := naiveDepth(pa, ha, pb, hb)
		n, c := boxBox(pa, ha, pb, hb, 0, &out)
		if (c > 0) != (depth >= 0) && math.Abs(depth) > 1e-9 {
			t.Fatalf("case %d: %d points, naive depth %.6f", k, c, depth)
		}
		if c == 0 {
			continue
		}
		hits++
		if math.Abs(n.Len()-1) > 1e-9 || n.Dot(pb.Pos.Sub(pa.Pos)) < -1e-9 {
			t.Fatalf("case %d: normal %+v", k, n)
		}
		minSep := math.Inf(1)
		for i := 0; i < c; i++ {
			p := out[i]
			da := boxDist(pa.Inverse().Apply(p.pA), ha)
			db := boxDist(pb.Inverse().Apply(p.pB), hb)
			if math.Abs(da) > 1e-6 || math.Abs(db) > 1e-6 {
				t.Fatalf("case %d: witness points %.2g, %.2g off the surfaces", k, da, db)
			}
			if math.Abs(p.pB.Sub(p.pA).Dot(n)-p.sep) > 1e-9 {
				t.Fatalf("case %d: sep %.6f disagrees with the witness points", k, p.sep)
			}
			minSep = math.Min(minSep, p.sep)
		}
		// Faces are preferred over slightly shallower axes (5 % and 0.1 mm,
		// twice: B's face over A's, an edge pair over a face).
		if minSep < -(depth/(0.95*0.95) + 2e-4) {
			t.Fatalf("case %d: deepest point %.6f, least overlap %.6f", k, minSep, depth)
		}
	}
	t.Logf("%d of 5000 pairs in contact", hits)
}
