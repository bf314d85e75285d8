package geom

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randPose(r *rand.Rand) Pose {
	q := Quat{r.NormFloat64(), r.NormFloat64(), r.NormFloat64(), r.NormFloat64()}.Norm()
	return Pose{Pos: Vec3{r.Float64()*4 - 2, r.Float64() * 2, r.Float64()*4 - 2}, Rot: q}
}

func near(a, b Vec3) bool { return a.Sub(b).Len() < 1e-9 }

func TestPoseAlgebra(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		a, b := randPose(r), randPose(r)
		v := Vec3{r.Float64(), r.Float64(), r.Float64()}
		if !near(a.Mul(b).Apply(v), a.Apply(b.Apply(v))) {
			t.Fatal("Mul is not composition")
		}
		if !near(a.Inverse().Apply(a.Apply(v)), v) {
			t.Fatal("Inverse does not undo")
		}
		// Rotation preserves length.
		if math.Abs(a.Rot.Rotate(v).Len()-v.Len()) > 1e-12 {
			t.Fatal("rotation changed a length")
		}
	}
}

func TestAxisAngleAndIntegrate(t *testing.T) {
	q := AxisAngle(Vec3{0, 1, 0}, math.Pi/2)
	if got := q.Rotate(Vec3{1, 0, 0}); !near(got, Vec3{0, 0, -1}) {
		t.Fatalf("90° about Y took X to %v", got)
	}
	p := Identity
	for range 100 {
		p = p.Integrate(Vec3{0, math.Pi, 0}, 0.01) // π rad/s for 1 s
	}
	if a := p.Angle(Identity); math.Abs(a-math.Pi) > 1e-9 {
		t.Fatalf("integrated angle %v, want π", a)
	}
}
