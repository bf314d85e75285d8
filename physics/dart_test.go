package physics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/arcadexr/arcade/geom"
)

// A dart: a 1 cm square, 15 cm long box along its local Z.
var dartHalf = v3(0.005, 0.005, 0.075)

const dartMass = 0.02

// The dart board hangs on the wall: the board's front face is at z = −5.96,
// its back on the wall's front face at z = −6.
var (
	boardHalf = v3(0.2255, 0.2255, 0.02)
	boardPose = at(0, 1.73, -5.98)
	wallHalf  = v3(1.5, 1.25, 0.05)
	wallPose  = at(0, 1.25, -6.05)
)

// fromTo returns a rotation taking the unit vector u to the unit vector v.
func fromTo(u, v geom.Vec3) geom.Quat {
	c := u.Dot(v)
	if c < -0.999999 {
		t, _ := tangents(u)
		return geom.AxisAngle(t, math.Pi)
	}
	x := u.Cross(v)
	return geom.Quat{X: x.X, Y: x.Y, Z: x.Z, W: 1 + c}.Norm()
}

// dartRot returns a dart orientation for travel along dir toward a surface
// of normal n: tip first (axis along dir), flat (axis in the surface's
// plane) or anything, by mode 0, 1, 2, turned at random about its axis.
func dartRot(r *rand.Rand, mode int, n, dir geom.Vec3) geom.Quat {
	roll := geom.AxisAngle(v3(0, 0, 1), 2*math.Pi*r.Float64())
	switch mode {
	case 0:
		return fromTo(v3(0, 0, 1), dir).Mul(roll)
	case 1:
		t1, t2 := tangents(n)
		s, c := math.Sincos(2 * math.Pi * r.Float64())
		return fromTo(v3(0, 0, 1), t1.Scale(c).Add(t2.Scale(s))).Mul(roll)
	}
	return randRot(r)
}

// lowest returns the offset from the centre of the box (half extents h,
// rotation q) to its vertex furthest along −n.
func lowest(q geom.Quat, h, n geom.Vec3) geom.Vec3 {
	best, low := math.Inf(1), geom.Vec3{}
	for i := 0; i < 8; i++ {
		v := q.Rotate(v3(h.X*float64(1-2*(i&1)), h.Y*float64(1-(i&2)), h.Z*float64(1-(i&4)/2)))
		if d := v.Dot(n); d < best {
			best, low = d, v
		}
	}
	return low
}

// dartThrow is one case of TestCCDDarts.
type dartThrow struct {
	w      *World
	target string
	desc   string
	ticks  int
	n      geom.Vec3 // surface normal
	paddle geom.Pose // kinematic paddle pose, moving at vp
	vp     geom.Vec3
}

// newDartThrow draws a throw at target from r: the dart (body 3) at
// 5–20 m/s within 75° of the surface normal, tip first, flat or at any
// orientation by k mod 3, spinning at up to 10 rad/s, its start chosen so
// that, unhindered and unturned, its vertex nearest the surface would reach
// the surface at a random aim point at a random time T.
func newDartThrow(t testing.TB, r *rand.Rand, target string, k int) *dartThrow {
	d := &dartThrow{w: newWorld(t, Config{}), target: target}
	w := d.w
	T := 0.01 + 0.03*r.Float64()
	u, v := 0.8*(2*r.Float64()-1), 0.8*(2*r.Float64()-1)
	var aim geom.Vec3 // on the surface, at T
	switch target {
	case "board":
		mustAdd(t, w, 1, BodyDef{Shape: Box(wallHalf), Kind: Static, Pose: wallPose, Material: Material{Restitution: 0.3, Friction: 0.6}})
		mustAdd(t, w, 2, BodyDef{Shape: Box(boardHalf), Kind: Static, Pose: boardPose, Material: Material{Restitution: 0.1, Friction: 0.8}})
		d.n = v3(0, 0, 1)
		aim = boardPose.Apply(v3(u*boardHalf.X, v*boardHalf.Y, boardHalf.Z))
	case "paddle":
		w.Gravity = geom.Vec3{}
		rot := randRot(r)
		d.n = rot.Rotate(v3(0, 1, 0))
		d.vp = d.n.Scale(5 * r.Float64())
		d.paddle = geom.Pose{Pos: v3(0, 1.2, 0), Rot: rot}
		mustAdd(t, w, 1, BodyDef{Shape: Box(paddleHalfExt), Kind: Kinematic, Mass: 0.1, Pose: d.paddle,
			Material: Material{Restitution: 0.8, Friction: 0.4}})
		aim = d.paddle.Pos.Add(d.vp.Scale(T)).Add(rot.Rotate(v3(u*paddleHalfExt.X, paddleHalfExt.Y, v*paddleHalfExt.Z)))
	case "floor":
		mustAdd(t, w, 1, BodyDef{Shape: Plane(v3(0, 1, 0), 0), Kind: Static, Material: Material{Restitution: 0.3, Friction: 0.6}})
		d.n = v3(0, 1, 0)
		aim = v3(u, 0, v)
	}
	dir := randIncoming(r, d.n, 75*math.Pi/180)
	speed := 5 + 15*r.Float64()
	vel := dir.Scale(speed)
	mode := k % 3
	rot := dartRot(r, mode, d.n, dir)
	spin := randUnit(r).Scale(10 * r.Float64())
	start := aim.Sub(lowest(rot, dartHalf, d.n)).Sub(vel.Scale(T))
	mustAdd(t, w, 3, BodyDef{Shape: Box(dartHalf), Mass: dartMass, Pose: geom.Pose{Pos: start, Rot: rot},
		Vel: vel, AngVel: spin, Material: Material{Restitution: 0.2, Friction: 0.5}})
	d.ticks = int((T + 0.05) / tick)
	d.desc = fmt.Sprintf("case %d (%s, %.1f m/s, incidence %.0f°, spin %.1f rad/s, paddle %.1f m/s)",
		k, [3]string{"tip first", "flat", "any"}[mode], speed, math.Acos(-dir.Dot(d.n))*180/math.Pi, spin.Len(), d.vp.Len())
	return d
}

// step moves the paddle and steps a tick.
func (d *dartThrow) step(t testing.TB) {
	if d.target == "paddle" {
		d.paddle.Pos = d.paddle.Pos.Add(d.vp.Scale(tick))
		if err := d.w.SetKinematicPose(1, d.paddle); err != nil {
			t.Fatal(err)
		}
	}
	d.w.Step(tick)
}

// check returns how deep the dart is in the target (the least overlap of
// the separating axis test, the depth of its lowest vertex under the
// floor) and whether its centre is on the far side of the surface.
func (d *dartThrow) check() (depth float64, far bool) {
	p := d.w.Pose(3)
	c := p.Pos
	switch d.target {
	case "board":
		depth = math.Max(naiveDepth(p, dartHalf, boardPose, boardHalf), naiveDepth(p, dartHalf, wallPose, wallHalf))
		l := boardPose.Inverse().Apply(c)
		far = c.Z < wallPose.Pos.Z+wallHalf.Z ||
			(l.Z < boardHalf.Z && math.Abs(l.X) < boardHalf.X && math.Abs(l.Y) < boardHalf.Y)
	case "paddle":
		pp := d.w.Pose(1)
		depth = naiveDepth(p, dartHalf, pp, paddleHalfExt)
		l := pp.Inverse().Apply(c)
		far = l.Y < paddleHalfExt.Y && math.Abs(l.X) < paddleHalfExt.X && math.Abs(l.Z) < paddleHalfExt.Z
	case "floor":
		depth = -lowest(p.Rot, dartHalf, d.n).Add(c).Y
		far = c.Y < 0
	}
	return depth, far
}

// TestCCDDarts throws darts (newDartThrow) at (board) the dart board on the
// wall, (paddle) a 10 mm kinematic paddle moving toward the dart at up to
// 5 m/s, (floor) a static plane. At every tick end the dart must not be on
// the far side of the surface nor more than maxDepth inside any body.
func TestCCDDarts(t *testing.T) {
	const cases = 300
	const maxDepth = 0.003
	for ti, target := range []string{"board", "paddle", "floor"} {
		t.Run(target, func(t *testing.T) {
			r := rand.New(rand.NewPCG(11, uint64(ti)))
			worst, worstCase := 0.0, -1
			failed, first := 0, ""
			for k := 0; k < cases; k++ {
				d := newDartThrow(t, r, target, k)
				for i := 0; i < d.ticks; i++ {
					d.step(t)
					depth, far := d.check()
					if depth > worst {
						worst, worstCase = depth, k
					}
					if far || depth > maxDepth {
						if failed == 0 {
							first = fmt.Sprintf("%s: tick %d: dart at %+v, %.2f mm deep, far side %v", d.desc, i, d.w.Pose(3).Pos, depth*1000, far)
						}
						failed++
						break
					}
				}
			}
			if failed > 0 {
				t.Errorf("%d of %d cases crossed or sank deeper than %.0f mm; first: %s", failed, cases, maxDepth*1000, first)
			}
			t.Logf("%d cases; deepest dart penetration at a tick end %.2f mm (case %d)", cases, worst*1000, worstCase)
		})
	}
}

// TestTOIAgainstSampling checks the conservative advancement of toi for a
// moving, turning box against a moving, turning box or a plane, both
// starting apart, against a fine march along the paths: nothing touches
// before the reported time, nor at all when no hit is reported, and at the
// reported time the boxes are still apart.
func TestTOIAgainstSampling(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 13))
	hits, stalls := 0, 0
	for k := 0; k < 1000; k++ {
		ha := v3(0.005+0.05*r.Float64(), 0.005+0.05*r.Float64(), 0.01+0.1*r.Float64())
		hb := v3(0.005+0.2*r.Float64(), 0.005+0.2*r.Float64(), 0.005+0.2*r.Float64())
		o := body{shape: Box(hb)}
		if k%4 == 0 {
			o.shape = Plane(randUnit(r), 0)
		}
		pose := func(p geom.Vec3) geom.Pose { return geom.Pose{Pos: p, Rot: randRot(r)} }
		ma := motion{start: pose(randUnit(r).Scale(0.1 + 0.2*r.Float64())), d: randUnit(r).Scale(0.4 * r.Float64()),
			rot: randUnit(r).Scale(0.5 * r.Float64())}
		mo := motion{start: pose(geom.Vec3{}), d: randUnit(r).Scale(0.1 * r.Float64()), rot: randUnit(r).Scale(0.2 * r.Float64())}
		for _, m := range []*motion{&ma, &mo} {
			m.turn = m.rot.Len()
			m.end = geom.Pose{Pos: m.start.Pos.Add(m.d), Rot: m.start.Rot.Integrate(m.rot, 1)}
		}
		if o.shape.Kind == ShapePlane {
			mo = motion{start: geom.IdentityPose, end: geom.IdentityPose}
		}
		depth := func(s float64) float64 {
			pa := ma.at(s)
			if o.shape.Kind == ShapePlane {
				return -lowest(pa.Rot, ha, o.shape.Normal).Add(pa.Pos).Dot(o.shape.Normal)
			}
			return naiveDepth(pa, ha, mo.at(s), hb)
		}
		if depth(0) > -ccdTouch {
			continue
		}
		spin := ma.turn * ha.Len()
		if o.shape.Kind == ShapeBox {
			spin += mo.turn * hb.Len()
		}
		got, ok := toi(ha, &ma, &o, &mo, mo.d.Sub(ma.d), spin)
		end := 1.0
		if ok {
			hits++
			end = got
			if d := depth(got); d > -ccdGap/2+1e-9 {
				t.Fatalf("case %d: at t %.5f the boxes are %.3g m apart, want ≥ %.3g", k, got, -d, ccdGap/2)
			}
			if d := depth(got); d < -ccdGap-0.001 {
				stalls++ // stopped short: conservative, counted
			}
		}
		const steps = 500
		for i := 0; i <= steps; i++ {
			s := end * float64(i) / steps
			if d := depth(s); d >= 0 {
				t.Fatalf("case %d: touching at t %.5f (depth %.3g), before the reported %.5f (hit %v)", k, s, d, got, ok)
			}
		}
	}
	t.Logf("%d hits; %d stopped more than 1 mm short of touching", hits, stalls)
}
