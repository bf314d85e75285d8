package grab

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/arcadexr/arcade/geom"
)

const frame90Hz = int64(1_000_000_000) / 90

func angleBetween(a, b geom.Vec3) float64 {
	c := a.Dot(b) / (a.Len() * b.Len())
	return math.Acos(math.Max(-1, math.Min(1, c)))
}

// TestReleaseVelocityJitter: a hand moving at 5 m/s in a straight line,
// tracked at 90 Hz with 1 mm (σ, per axis) Gaussian jitter, releases a dart
// it holds; the dart's velocity must be within 5 % in magnitude and 5° in
// direction, over many throws.
func TestReleaseVelocityJitter(t *testing.T) {
	const speed, sigma = 5.0, 0.001
	r := rand.New(rand.NewPCG(3, 4))
	worstMag, worstDir := 0.0, 0.0
	for throw := range 500 {
		g := New(4)
		dir := geom.Vec3{X: r.NormFloat64(), Y: r.NormFloat64(), Z: r.NormFloat64()}.Norm()
		rot := randPose(r).Rot
		start := geom.Vec3{X: r.Float64(), Y: 1 + r.Float64(), Z: r.Float64()}
		mustAdd(t, g, 1, hand, geom.Pose{Pos: start, Rot: rot})
		// The dart sits a few centimetres off the hand's centre.
		mustAdd(t, g, 2, object, geom.Pose{Pos: start.Add(rot.Rotate(geom.Vec3{Z: -0.08, Y: 0.02})), Rot: rot})
		mustGrab(t, g, 1, 2)
		now := int64(1_000_000_000) + r.Int64N(frame90Hz)
		for i := range 30 {
			now += frame90Hz
			jitter := geom.Vec3{X: r.NormFloat64(), Y: r.NormFloat64(), Z: r.NormFloat64()}.Scale(sigma)
			pos := start.Add(dir.Scale(speed * float64(i) / 90)).Add(jitter)
			g.SetPose(1, geom.Pose{Pos: pos, Rot: rot}, now)
			g.Propagate(1, nil)
		}
		rel, err := g.Release(1, 2, now)
		if err != nil || !rel.Free {
			t.Fatalf("release: %+v %v", rel, err)
		}
		mag := math.Abs(rel.Linear.Len()-speed) / speed
		ang := angleBetween(rel.Linear, dir) * 180 / math.Pi
		worstMag, worstDir = max(worstMag, mag), max(worstDir, ang)
		if mag > 0.05 || ang > 5 {
			t.Fatalf("throw %d: velocity %v (|v| %.3f, %.1f%% off, %.2f° off), want %v×%v",
				throw, rel.Linear, rel.Linear.Len(), 100*mag, ang, speed, dir)
		}
		if rel.Angular.Len() > 1e-9 {
			t.Fatalf("throw %d: angular %v for a hand that does not turn", throw, rel.Angular)
		}
	}
	t.Logf("worst of 500 throws: %.2f%% in magnitude, %.2f° in direction", 100*worstMag, worstDir)
}

// TestReleaseAngularVelocity: a held object spun at a known rate about a
// fixed axis, with and without orientation jitter, is released with that
// angular velocity within 5 %.
func TestReleaseAngularVelocity(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, jitterDeg := range []float64{0, 0.2} {
		for trial := range 200 {
			rate := 2 + r.Float64()*40 // rad/s
			axis := geom.Vec3{X: r.NormFloat64(), Y: r.NormFloat64(), Z: r.NormFloat64()}.Norm()
			w := axis.Scale(rate)
			g := New(4)
			base := randPose(r)
			mustAdd(t, g, 1, hand, base)
			mustAdd(t, g, 2, object, base.Mul(geom.Pose{Pos: geom.Vec3{X: 0.3}, Rot: geom.AxisAngle(geom.Vec3{Y: 1}, 1)}))
			mustGrab(t, g, 1, 2)
			now := int64(5_000_000_000)
			for i := range 20 {
				now += frame90Hz
				q := geom.AxisAngle(axis, rate*float64(i)/90).Mul(base.Rot)
				if jitterDeg > 0 {
					ja := geom.Vec3{X: r.NormFloat64(), Y: r.NormFloat64(), Z: r.NormFloat64()}
					q = geom.AxisAngle(ja, jitterDeg*math.Pi/180*r.NormFloat64()).Mul(q)
				}
				g.SetPose(1, geom.Pose{Pos: base.Pos, Rot: q}, now)
				g.PropagateAll(nil)
			}
			rel, err := g.Release(1, 2, now)
			if err != nil {
				t.Fatal(err)
			}
			if e := rel.Angular.Sub(w).Len() / rate; e > 0.05 {
				t.Fatalf("jitter %.1f° trial %d: angular %v, want %v (%.1f%% off)", jitterDeg, trial, rel.Angular, w, 100*e)
			}
		}
	}
}

func TestVelocityEdgeCases(t *testing.T) {
	g := New(4)
	mustAdd(t, g, 1, hand, geom.IdentityPose)
	mustAdd(t, g, 2, object, geom.IdentityPose)
	mustGrab(t, g, 1, 2)
	g.SetPose(1, geom.Pose{Pos: geom.Vec3{X: 1}, Rot: geom.Identity}, 100)
	g.Propagate(1, nil)
	if rel, _ := g.Release(1, 2, 100); rel.Linear != (geom.Vec3{}) || rel.Angular != (geom.Vec3{}) {
		t.Fatalf("one sample gave velocity %+v", rel)
	}
	// Two samples: a finite difference.
	g.SetPose(2, geom.Pose{Pos: geom.Vec3{X: 1}, Rot: geom.Identity}, 200_000_000)
	g.SetPose(2, geom.Pose{Pos: geom.Vec3{X: 1.01}, Rot: geom.Identity}, 210_000_000)
	if lin, _ := g.Velocity(2, 210_000_000); math.Abs(lin.X-1) > 1e-9 {
		t.Fatalf("two samples: %v, want 1 m/s along X", lin)
	}
	// Samples older than the window count for nothing.
	if lin, _ := g.Velocity(2, 210_000_000+VelocityWindow+1); lin != (geom.Vec3{}) {
		t.Fatalf("stale history gave %v", lin)
	}
	// A repeated time replaces its sample; an older one is ignored.
	g.SetPose(2, geom.Pose{Pos: geom.Vec3{X: 1.02}, Rot: geom.Identity}, 210_000_000)
	g.SetPose(2, geom.Pose{Pos: geom.Vec3{X: 9}, Rot: geom.Identity}, 205_000_000)
	if lin, _ := g.Velocity(2, 210_000_000); math.Abs(lin.X-2) > 1e-9 {
		t.Fatalf("after replace: %v, want 2 m/s along X", lin)
	}
	// More samples than the ring holds: the oldest go, the fit stays right.
	for i := range 3 * HistoryLen {
		g.SetPose(2, geom.Pose{Pos: geom.Vec3{Y: 0.003 * float64(i)}, Rot: geom.Identity}, 300_000_000+int64(i)*1_000_000)
	}
	if lin, _ := g.Velocity(2, 300_000_000+int64(3*HistoryLen-1)*1_000_000); math.Abs(lin.Y-3) > 1e-9 || math.Abs(lin.X) > 1e-9 {
		t.Fatalf("after wrapping: %v, want 3 m/s along Y", lin)
	}
}

// TestNoHistoryForWhatCannotBeHeld: a node that is not Grabbable (a hand)
// keeps no history, so its velocity is zero however it moves; a grabbable
// one moved the same way has its velocity.
func TestNoHistoryForWhatCannotBeHeld(t *testing.T) {
	g := New(4)
	mustAdd(t, g, 1, hand, geom.IdentityPose)
	mustAdd(t, g, 2, object, geom.IdentityPose)
	for i := range 5 {
		at := int64(i) * 10_000_000
		p := geom.Pose{Pos: geom.Vec3{X: 0.01 * float64(i)}, Rot: geom.Identity}
		g.SetPose(1, p, at)
		g.SetPose(2, p, at)
	}
	if lin, ang := g.Velocity(1, 40_000_000); lin != (geom.Vec3{}) || ang != (geom.Vec3{}) {
		t.Errorf("hand (not grabbable): velocity %v %v, want none kept", lin, ang)
	}
	if lin, _ := g.Velocity(2, 40_000_000); math.Abs(lin.X-1) > 1e-9 {
		t.Errorf("grabbable object: velocity %v, want 1 m/s along X", lin)
	}
}
