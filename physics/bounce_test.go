package physics

import (
	"math"
	"testing"

	"github.com/arcadexr/arcade/geom"
)

// TestBounceHeight drops a ball from h onto a plane and onto the table and
// checks the first rebound height against e²·h.
func TestBounceHeight(t *testing.T) {
	const h = 0.5
	for _, surface := range []string{"plane", "table"} {
		for _, e := range []float64{0.9, 0.7, 0.5} {
			w := newWorld(t, Config{})
			top := 0.0
			if surface == "plane" {
				mustAdd(t, w, 1, BodyDef{Shape: Plane(v3(0, 1, 0), 0), Kind: Static, Material: Material{Restitution: e}})
			} else {
				top = tableTop
				mustAdd(t, w, 1, table(e))
			}
			mustAdd(t, w, 2, ball(v3(0.1, top+ballR+h, 0.05), geom.Vec3{}, e))
			bounced, apex := false, 0.0
			for i := 0; i < 240; i++ {
				w.Step(tick)
				lin, _ := w.Velocity(2)
				y := w.Pose(2).Pos.Y - top - ballR
				if lin.Y > 0 {
					bounced = true
				}
				if bounced {
					if lin.Y < 0 {
						break
					}
					apex = math.Max(apex, y)
				}
			}
			want := e * e * h
			rel := (apex - want) / want
			t.Logf("%s e=%.1f: rebound %.4f m, want %.4f m, error %+.2f%%", surface, e, apex, want, 100*rel)
			if math.Abs(rel) > 0.05 {
				t.Errorf("%s e=%.1f: rebound %.4f m, want %.4f ± 5%%", surface, e, apex, want)
			}
		}
	}
}

// TestSpinChangesBounce launches the same ball with backspin and topspin:
// friction at the contact point must turn spin into horizontal velocity.
func TestSpinChangesBounce(t *testing.T) {
	run := func(spin float64) (vx float64, w geom.Vec3) {
		wd := newWorld(t, Config{})
		mustAdd(t, wd, 1, table(0.9))
		// Moving +X; ω = (0, 0, spin): spin < 0 is topspin, > 0 backspin.
		def := ball(v3(0, tableTop+0.3, 0), v3(3, 0, 0), 0.9)
		def.AngVel = v3(0, 0, spin)
		mustAdd(t, wd, 2, def)
		bounced := false
		for i := 0; i < 120; i++ {
			wd.Step(tick)
			lin, ang := wd.Velocity(2)
			if lin.Y > 0 {
				bounced = true
			}
			if bounced {
				return lin.X, ang
			}
		}
		t.Fatal("no bounce")
		return 0, geom.Vec3{}
	}
	// Ideal impulsive bounce with Coulomb friction μ = 0.3 (ball and table
	// alike), e = 0.9, vertical approach speed vy = √(2g·0.3):
	//  - topspin ω·r = vx: the contact point does not slide, vx stays 3;
	//  - backspin: it slides throughout, vx drops by μ(1+e)·vy;
	//  - no spin: it slides until rolling; for a thin shell (I = 2/3·m·r²)
	//    that leaves vx·(1 − 2/5) = 1.8 (friction capacity μ(1+e)·vy ≈ 1.38
	//    exceeds the 1.2 needed).
	vy := math.Sqrt(2 * 9.81 * 0.3)
	wantTop, wantBack, wantNone := 3.0, 3-0.3*1.9*vy, 1.8
	none, _ := run(0)
	top, _ := run(-150)
	back, backW := run(150)
	t.Logf("post-bounce vx: topspin %.3f (ideal %.3f), no spin %.3f (ideal %.3f), backspin %.3f (ideal %.3f) m/s; backspin left %.1f rad/s",
		top, wantTop, none, wantNone, back, wantBack, backW.Z)
	if top-back < 1 {
		t.Errorf("topspin vx %.3f − backspin vx %.3f < 1 m/s", top, back)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"topspin", top, wantTop}, {"no spin", none, wantNone}, {"backspin", back, wantBack}} {
		if math.Abs(c.got-c.want) > 0.1 {
			t.Errorf("%s: vx %.3f, want %.3f ± 0.1", c.name, c.got, c.want)
		}
	}
}
