package scene

import (
	"math"
	"testing"

	"github.com/arcadexr/arcade/geom"
)

// eps is the overlap allowed between touching objects: rounding only.
const eps = 1e-9

func TestDefaultParses(t *testing.T) {
	s := Default()
	if s.Name == "" || s.Gravity != DefaultGravity {
		t.Errorf("name %q gravity %v", s.Name, s.Gravity)
	}
	if n := len(s.Objects); n < 30 || n > 48 {
		t.Errorf("%d objects, want about 40", n)
	}
	// Default hands out copies.
	s.Objects[0].Name = "changed"
	if Default().Objects[0].Name == "changed" {
		t.Error("Default shares its objects between calls")
	}
}

func TestDefaultContents(t *testing.T) {
	s := Default()
	grabbable, grabbers := 0, 0
	tags := map[string]int{}
	ids := map[uint16]bool{}
	for _, o := range s.Objects {
		tags[o.Tag]++
		if o.ID < 1 || o.ID > MaxID || ids[o.ID] {
			t.Errorf("%s: bad or repeated id %d", o.Name, o.ID)
		}
		ids[o.ID] = true
		if o.Grab != GrabNone {
			grabbable++
		}
		if o.Grabber {
			grabbers++
		}
		p := o.Pose.Pos
		if math.Abs(p.X) > 8 || math.Abs(p.Y) > 8 || math.Abs(p.Z) > 8 {
			t.Errorf("%s at %v, outside ±8 m", o.Name, p)
		}
		if o.Shape == ShapePlane && (o.Normal != geom.Vec3{Y: 1} || o.Offset != 0) {
			t.Errorf("%s: the only plane should be the floor", o.Name)
		}
	}
	if grabbable < 16 {
		t.Errorf("%d grabbable objects, want at least 16 (one per load-test bot)", grabbable)
	}
	if grabbers < 1 {
		t.Error("no grabber object")
	}
	for tag, n := range map[string]int{"ball": 3, "paddle": 2, "dart": 6, "block": 6, "puck": 1, "mallet": 2, "board": 1, "net": 1, "rail": 4} {
		if tags[tag] < n {
			t.Errorf("%d objects tagged %s, want at least %d", tags[tag], tag, n)
		}
	}
	for _, o := range s.Objects {
		switch o.Tag {
		case "ball":
			wantRule(t, o, o.Shape == ShapeSphere && o.Radius == 0.02 && o.Mass == 0.0027 && o.Restitution == 0.9 && o.Grab == GrabExclusive && o.Bullet)
		case "paddle":
			wantRule(t, o, o.Shape == ShapeBox && o.Kind == Dynamic && o.Mass == 0.09 && o.Grab == GrabExclusive && o.HandOff == HandOffTakeover)
		case "dart":
			wantRule(t, o, o.Shape == ShapeBox && o.Half == geom.Vec3{X: 0.005, Y: 0.005, Z: 0.075} && o.Mass == 0.02 && o.Grab == GrabExclusive && o.Bullet)
		case "block":
			wantRule(t, o, o.Half == geom.Vec3{X: 0.05, Y: 0.05, Z: 0.05} && o.Mass == 0.5 && o.Friction == 0.6 && o.Grab == GrabShared && o.HandOff == HandOffTakeover)
		case "mallet", "puck":
			wantRule(t, o, o.Kind == Dynamic && o.Grab == GrabExclusive)
		}
	}
	tt, _ := s.Object("tt-table")
	if top := tt.Pose.Pos.Y + tt.Half.Y; math.Abs(top-0.76) > eps || tt.Half.X*2 != 2.74 || tt.Half.Z*2 != 1.525 || tt.Kind != Static {
		t.Errorf("table tennis table %+v: want 2.74 x 1.525 m, top at 0.76 m", *tt)
	}
	net, _ := s.Object("tt-net")
	if math.Abs(net.Half.Y*2-0.1525) > eps || math.Abs(net.Pose.Pos.Y-net.Half.Y-0.76) > eps {
		t.Errorf("net %+v: want 0.1525 m high, standing on the table", *net)
	}
	board, _ := s.Object("dartboard")
	if board.Pose.Pos.Y != 1.73 || board.Kind != Static {
		t.Errorf("dart board %+v: want its centre at 1.73 m", *board)
	}
	hockey, _ := s.Object("hockey-table")
	if top := hockey.Pose.Pos.Y + hockey.Half.Y; math.Abs(top-0.8) > eps || hockey.Friction > 0.1 {
		t.Errorf("air hockey table %+v: want top at 0.8 m, low friction", *hockey)
	}
}

func wantRule(t *testing.T, o Object, ok bool) {
	t.Helper()
	if !ok {
		t.Errorf("%s (tag %s) does not match the demo's rules: %+v", o.Name, o.Tag, o)
	}
}

// TestDefaultNoOverlap checks the starting layout: no two movable objects'
// bounding spheres intersect, no movable object penetrates a static box or
// the floor, and static boxes at most touch each other.
func TestDefaultNoOverlap(t *testing.T) {
	objs := Default().Objects
	for i, a := range objs {
		for _, b := range objs[i+1:] {
			switch {
			case a.Kind != Static && b.Kind != Static:
				if d := a.Pose.Pos.Sub(b.Pose.Pos).Len(); d < boundingRadius(a)+boundingRadius(b) {
					t.Errorf("%s and %s: bounding spheres intersect (centres %.3f m apart)", a.Name, b.Name, d)
				}
			case a.Kind == Static && b.Kind == Static:
				if a.Shape == ShapeBox && b.Shape == ShapeBox && boxesOverlap(a, b) {
					t.Errorf("static boxes %s and %s overlap", a.Name, b.Name)
				}
			default:
				s, m := a, b
				if m.Kind == Static {
					s, m = m, s
				}
				if penetrates(m, s) {
					t.Errorf("%s penetrates static %s", m.Name, s.Name)
				}
			}
		}
	}
}

// TestDefaultResting checks that every dynamic object starts resting on the
// floor or the top of a static box, at most 5 mm above it.
func TestDefaultResting(t *testing.T) {
	objs := Default().Objects
	for _, o := range objs {
		if o.Kind != Dynamic {
			continue
		}
		bottom := o.Pose.Pos.Y - extent(o, geom.Vec3{Y: 1})
		best := math.Inf(1)
		for _, s := range objs {
			if s.Kind != Static {
				continue
			}
			var gap float64
			switch s.Shape {
			case ShapePlane:
				gap = o.Pose.Pos.Dot(s.Normal) - extent(o, s.Normal) - s.Offset
			case ShapeBox:
				local := s.Pose.Rot.Conj().Rotate(o.Pose.Pos.Sub(s.Pose.Pos))
				if math.Abs(local.X) > s.Half.X || math.Abs(local.Z) > s.Half.Z {
					continue // not above this box
				}
				gap = bottom - (s.Pose.Pos.Y + extent(s, geom.Vec3{Y: 1}))
			default:
				continue
			}
			if gap >= -eps && gap < best {
				best = gap
			}
		}
		if best > 0.005 {
			t.Errorf("%s starts %.3f m above the nearest surface below it", o.Name, best)
		}
	}
}

func boundingRadius(o Object) float64 {
	if o.Shape == ShapeSphere {
		return o.Radius
	}
	return o.Half.Len()
}

// axes returns a box's local axes in the venue frame.
func axes(o Object) [3]geom.Vec3 {
	r := o.Pose.Rot
	return [3]geom.Vec3{r.Rotate(geom.Vec3{X: 1}), r.Rotate(geom.Vec3{Y: 1}), r.Rotate(geom.Vec3{Z: 1})}
}

// extent returns how far a sphere or box reaches from its centre along the
// unit direction n.
func extent(o Object, n geom.Vec3) float64 {
	if o.Shape == ShapeSphere {
		return o.Radius
	}
	ax := axes(o)
	return o.Half.X*math.Abs(ax[0].Dot(n)) + o.Half.Y*math.Abs(ax[1].Dot(n)) + o.Half.Z*math.Abs(ax[2].Dot(n))
}

// penetrates reports whether movable m overlaps static s by more than eps.
func penetrates(m, s Object) bool {
	switch s.Shape {
	case ShapePlane:
		return m.Pose.Pos.Dot(s.Normal)-extent(m, s.Normal) < s.Offset-eps
	case ShapeBox:
		if m.Shape == ShapeSphere {
			local := s.Pose.Rot.Conj().Rotate(m.Pose.Pos.Sub(s.Pose.Pos))
			c := geom.Vec3{
				X: math.Max(-s.Half.X, math.Min(s.Half.X, local.X)),
				Y: math.Max(-s.Half.Y, math.Min(s.Half.Y, local.Y)),
				Z: math.Max(-s.Half.Z, math.Min(s.Half.Z, local.Z)),
			}
			return local.Sub(c).Len() < m.Radius-eps
		}
		return boxesOverlap(m, s)
	}
	return false
}

// boxesOverlap is the separating-axis test for two oriented boxes; touching
// boxes do not overlap.
func boxesOverlap(a, b Object) bool {
	aa, ba := axes(a), axes(b)
	cand := append([]geom.Vec3{}, aa[:]...)
	cand = append(cand, ba[:]...)
	for _, x := range aa {
		for _, y := range ba {
			if c := x.Cross(y); c.Len() > 1e-9 {
				cand = append(cand, c.Norm())
			}
		}
	}
	d := b.Pose.Pos.Sub(a.Pose.Pos)
	for _, n := range cand {
		if math.Abs(d.Dot(n))-extent(a, n)-extent(b, n) >= -eps {
			return false
		}
	}
	return true
}

func TestOverlapHelpers(t *testing.T) {
	box := func(x, y float64) Object {
		return Object{Shape: ShapeBox, Half: geom.Vec3{X: 0.5, Y: 0.5, Z: 0.5}, Pose: geom.Pose{Pos: geom.Vec3{X: x, Y: y}, Rot: geom.Identity}}
	}
	if boxesOverlap(box(0, 0), box(1, 0)) || !boxesOverlap(box(0, 0), box(0.99, 0)) {
		t.Error("axis-aligned boxes")
	}
	r := box(1.2, 0)
	r.Pose.Rot = geom.AxisAngle(geom.Vec3{Z: 1}, math.Pi/4) // a corner reaches x=1.2-0.707
	if !boxesOverlap(box(0, 0), r) {
		t.Error("rotated box overlap missed")
	}
	ball := Object{Shape: ShapeSphere, Radius: 0.1, Pose: geom.Pose{Pos: geom.Vec3{Y: 0.6}, Rot: geom.Identity}}
	if penetrates(ball, box(0, 0)) {
		t.Error("resting ball reported as penetrating")
	}
	ball.Pose.Pos.Y = 0.59
	if !penetrates(ball, box(0, 0)) {
		t.Error("sunk ball not reported")
	}
}
