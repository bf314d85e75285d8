package scene

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/wire"
)

func parseString(t *testing.T, src string) *Scene {
	t.Helper()
	s, err := Parse("t.scene", strings.NewReader(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return s
}

func TestParseExample(t *testing.T) {
	src := `# A table with a ball on it.
name  Ball   table   # trailing comment
gravity 0,-9.81,0

object floor shape=plane normal=0,2,0 kind=static tag=floor
object table shape=box half=0.5,0.02,0.5 pos=0,0.74,0 kind=static friction=0.3 tag=table
object ball  shape=sphere radius=0.02 mass=0.0027 restitution=0.9 pos=0,0.78,0 grab=exclusive tag=ball
object bat id=1 shape=box	half=0.1,0.1,0.1 mass=1 euler=90,0,0 grab=shared handoff=refuse reach=0.3 grabber=true bullet=true
object pad shape=sphere radius=0.5 kind=kinematic quat=0,0,0,2 grab=exclusive
`
	s := parseString(t, strings.ReplaceAll(src, "\n", "\r\n"))
	if s.Name != "Ball   table" {
		t.Errorf("Name = %q", s.Name)
	}
	if s.Gravity != (geom.Vec3{Y: -9.81}) {
		t.Errorf("Gravity = %v", s.Gravity)
	}
	if len(s.Objects) != 5 {
		t.Fatalf("%d objects", len(s.Objects))
	}
	floor, _ := s.Object("floor")
	if floor.ID != 2 || floor.Shape != ShapePlane || floor.Normal != (geom.Vec3{Y: 1}) || floor.Kind != Static ||
		floor.Restitution != DefaultRestitution || floor.Friction != DefaultFriction || floor.Line != 5 ||
		floor.Pose != geom.IdentityPose || floor.Reach != 0 || floor.Bullet {
		t.Errorf("floor = %+v", *floor)
	}
	ball, _ := s.Object("ball")
	if ball.ID != 4 || ball.Radius != 0.02 || ball.Mass != 0.0027 || ball.Kind != Dynamic || ball.Grab != GrabExclusive ||
		ball.HandOff != HandOffTakeover || ball.Reach != DefaultReach || !ball.Bullet || ball.Tag != "ball" ||
		ball.Pose.Pos != (geom.Vec3{Y: 0.78}) {
		t.Errorf("ball = %+v", *ball)
	}
	bat, _ := s.Object("bat")
	if bat.ID != 1 || bat.Grab != GrabShared || bat.HandOff != HandOffRefuse || bat.Reach != 0.3 || !bat.Grabber || !bat.Bullet {
		t.Errorf("bat = %+v", *bat)
	}
	// Yaw 90° turns +Z towards +X.
	if got := bat.Pose.Rot.Rotate(geom.Vec3{Z: 1}); got.Sub(geom.Vec3{X: 1}).Len() > 1e-12 {
		t.Errorf("euler=90,0,0 maps +Z to %v", got)
	}
	pad, _ := s.Object("pad")
	if pad.ID != 5 || pad.Pose.Rot != geom.Identity || pad.Bullet || pad.Kind != Kinematic {
		t.Errorf("pad = %+v", *pad)
	}
	if _, ok := s.Object("nope"); ok {
		t.Error("Object found a missing name")
	}
}

func TestEulerOrder(t *testing.T) {
	// Roll about Z first, then pitch about X, then yaw about Y.
	q := euler(30, 40, 50)
	const rad = math.Pi / 180
	want := geom.AxisAngle(geom.Vec3{Y: 1}, 30*rad).Mul(geom.AxisAngle(geom.Vec3{X: 1}, 40*rad)).Mul(geom.AxisAngle(geom.Vec3{Z: 1}, 50*rad))
	if q.Angle(want) > 1e-9 {
		t.Errorf("euler(30,40,50) = %v, want %v", q, want)
	}
	// Pitch 90° turns +Z to -Y (right-hand rule about X).
	if got := euler(0, 90, 0).Rotate(geom.Vec3{Z: 1}); got.Sub(geom.Vec3{Y: -1}).Len() > 1e-12 {
		t.Errorf("pitch 90 maps +Z to %v", got)
	}
	if q := euler(1e300, -1e300, 720); math.IsNaN(q.W) || math.Abs(q.Dot(q)-1) > 1e-12 {
		t.Errorf("huge angles give %v", q)
	}
}

func TestAutoIDs(t *testing.T) {
	s := parseString(t, `name ids
object a shape=sphere radius=1 mass=1
object b id=2 shape=sphere radius=1 mass=1
object c shape=sphere radius=1 mass=1
object d id=1 shape=sphere radius=1 mass=1
object e shape=sphere radius=1 mass=1
object f id=32767 shape=sphere radius=1 mass=1
`)
	want := map[string]uint16{"a": 3, "b": 2, "c": 4, "d": 1, "e": 5, "f": 32767}
	for _, o := range s.Objects {
		if o.ID != want[o.Name] {
			t.Errorf("%s: id %d, want %d", o.Name, o.ID, want[o.Name])
		}
	}
}

func TestNormalization(t *testing.T) {
	s := parseString(t, `name n
object p shape=plane normal=1e-300,0,1e-300 offset=-2 kind=static
object q shape=sphere radius=1 mass=1 quat=1e200,0,0,1e200
`)
	n := s.Objects[0].Normal
	if math.Abs(n.Len()-1) > 1e-15 || math.Abs(n.X-n.Z) > 1e-15 {
		t.Errorf("normal = %v", n)
	}
	q := s.Objects[1].Pose.Rot
	if math.Abs(q.Dot(q)-1) > 1e-15 || math.Abs(q.X-q.W) > 1e-15 {
		t.Errorf("quat = %v", q)
	}
}

// TestParseErrors checks that every kind of mistake is reported with the
// file, line, object and field.
func TestParseErrors(t *testing.T) {
	const ball = "object b shape=sphere radius=0.02 mass=0.0027 "
	tests := []struct {
		src    string // after a "name t" line, so line 2 is the first here
		line   int
		object string
		field  string
		msg    string
	}{
		// Records.
		{"bogus 1", 2, "", "", `unknown record "bogus"`},
		{"name again", 2, "", "name", "given twice (first on line 1)"},
		{"gravity 0,1", 2, "", "gravity", `want 3 comma-separated numbers, got "0,1"`},
		{"gravity 0,1,2,3", 2, "", "gravity", "want 3 comma-separated numbers"},
		{"gravity 0,-9.8,0\ngravity 0,0,0", 3, "", "gravity", "given twice (first on line 2)"},
		{"gravity 0, -9.8, 0", 2, "", "gravity", "want one value x,y,z, got 3"},
		{"gravity 0,inf,0", 2, "", "gravity", "finite"},
		{"object", 2, "", "", "object record needs a name"},
		{"object a=b shape=box", 2, "", "", `object name "a=b"`},
		{"object " + strings.Repeat("x", 65) + " shape=box", 2, "", "", "want 1 to 64"},
		{"object b\x01 shape=box", 2, "", "", "control character"},
		{"object b\xff shape=box", 2, "", "", "not valid UTF-8"},
		{"\n\n# comment\n" + ball + "\n" + ball, 6, "b", "", "name already used on line 5"},
		// Key syntax.
		{ball + "radius", 2, "b", "", `want key=value, got "radius"`},
		{ball + "=3", 2, "b", "", `want key=value, got "=3"`},
		{ball + "colour=red", 2, "b", "colour", "unknown key"},
		{ball + "Mass=1", 2, "b", "Mass", "unknown key"},
		{ball + "radius=0.03", 2, "b", "radius", "given twice"},
		{ball + "tag=a tag=b", 2, "b", "tag", "given twice"},
		// id.
		{ball + "id=0", 2, "b", "id", `want an integer 1..32767, got "0"`},
		{ball + "id=32768", 2, "b", "id", "want an integer 1..32767"},
		{ball + "id=-1", 2, "b", "id", "want an integer"},
		{ball + "id=1.5", 2, "b", "id", "want an integer"},
		{ball + "id=7\nobject c shape=sphere radius=1 mass=1 id=7", 3, "c", "id", `id 7 already used by object "b"`},
		// shape and its fields.
		{"object b radius=1 mass=1", 2, "b", "shape", "missing"},
		{"object b shape=cone mass=1", 2, "b", "shape", `want sphere, box or plane, got "cone"`},
		{"object b shape=sphere mass=1", 2, "b", "radius", "missing, required for shape sphere"},
		{"object b shape=box mass=1", 2, "b", "half", "missing, required for shape box"},
		{"object b shape=plane kind=static", 2, "b", "normal", "missing, required for shape plane"},
		{ball + "half=1,1,1", 2, "b", "half", "not allowed for shape sphere"},
		{ball + "offset=1", 2, "b", "offset", "not allowed for shape sphere"},
		{"object b shape=box half=1,1,1 mass=1 radius=1", 2, "b", "radius", "not allowed for shape box"},
		{"object b shape=box half=1,1,1 mass=1 normal=0,1,0", 2, "b", "normal", "not allowed for shape box"},
		{"object b shape=plane normal=0,1,0 kind=static radius=1", 2, "b", "radius", "not allowed for shape plane"},
		{"object b shape=plane normal=0,1,0 kind=static pos=0,1,0", 2, "b", "pos", "not allowed for shape plane"},
		{"object b shape=plane normal=0,1,0 kind=static euler=0,1,0", 2, "b", "euler", "not allowed for shape plane"},
		{"object b shape=sphere radius=0 mass=1", 2, "b", "radius", "must be > 0, got 0"},
		{"object b shape=sphere radius=-1 mass=1", 2, "b", "radius", "must be > 0"},
		{"object b shape=sphere radius=abc mass=1", 2, "b", "radius", `want a number, got "abc"`},
		{"object b shape=sphere radius=NaN mass=1", 2, "b", "radius", `want a finite number, got "NaN"`},
		{"object b shape=sphere radius=1e999 mass=1", 2, "b", "radius", "want a finite number"},
		{"object b shape=sphere radius= mass=1", 2, "b", "radius", `want a number, got ""`},
		{"object paddle-1 shape=box half=0.1,0.2 mass=1", 2, "paddle-1", "half", `want 3 comma-separated numbers, got "0.1,0.2"`},
		{"object b shape=box half=0.1,0.2,x mass=1", 2, "b", "half", "want 3 comma-separated finite numbers"},
		{"object b shape=box half=0.1,0.2,0.3, mass=1", 2, "b", "half", "want 3 comma-separated numbers"},
		{"object b shape=box half=0.1,0,0.3 mass=1", 2, "b", "half", "each component must be > 0"},
		{"object b shape=plane normal=0,0,0 kind=static", 2, "b", "normal", "must not be zero"},
		{"object b shape=plane normal=0,1,0 offset=x kind=static", 2, "b", "offset", "want a number"},
		// kind.
		{"object b shape=plane normal=0,1,0", 2, "b", "kind", "a plane must be kind=static"},
		{"object b shape=plane normal=0,1,0 kind=kinematic", 2, "b", "kind", "a plane must be static, got kinematic"},
		{"object b shape=box half=1,1,1 kind=solid", 2, "b", "kind", "want dynamic, kinematic or static"},
		// mass.
		{"object b shape=box half=1,1,1", 2, "b", "mass", "missing, required for dynamic bodies"},
		{"object b shape=box half=1,1,1 mass=0", 2, "b", "mass", "must be > 0"},
		{"object b shape=box half=1,1,1 mass=-2", 2, "b", "mass", "must be > 0"},
		{"object b shape=box half=1,1,1 kind=static mass=1", 2, "b", "mass", "not allowed for static bodies"},
		{"object b shape=box half=1,1,1 kind=kinematic mass=1", 2, "b", "mass", "not allowed for kinematic bodies"},
		// restitution, friction.
		{ball + "restitution=1.5", 2, "b", "restitution", "must be in 0..1, got 1.5"},
		{ball + "restitution=-0.1", 2, "b", "restitution", "must be in 0..1"},
		{ball + "friction=-1", 2, "b", "friction", "must be >= 0"},
		{ball + "friction=lots", 2, "b", "friction", "want a number"},
		// pose.
		{ball + "pos=1,2", 2, "b", "pos", "want 3 comma-separated numbers"},
		{ball + "pos=1,2,-inf", 2, "b", "pos", "finite"},
		{ball + "euler=1,2", 2, "b", "euler", "want 3 comma-separated numbers"},
		{ball + "quat=0,0,0", 2, "b", "quat", "want 4 comma-separated numbers"},
		{ball + "quat=0,0,0,0", 2, "b", "quat", "must not be the zero quaternion"},
		{ball + "quat=0,0,0,1 euler=0,0,0", 2, "b", "quat", "not allowed with euler"},
		// grab rules.
		{ball + "grab=always", 2, "b", "grab", "want none, exclusive or shared"},
		{"object b shape=box half=1,1,1 kind=static grab=shared", 2, "b", "grab", "a static body cannot be grabbed"},
		{ball + "grab=exclusive handoff=steal", 2, "b", "handoff", "want takeover or refuse"},
		{ball + "handoff=refuse", 2, "b", "handoff", "not allowed with grab=none"},
		{ball + "reach=0.2", 2, "b", "reach", "not allowed with grab=none"},
		{ball + "grabber=true", 2, "b", "grabber", "not allowed with grab=none"},
		{ball + "grab=shared reach=0", 2, "b", "reach", "must be > 0 and <= 2"},
		{ball + "grab=shared reach=3", 2, "b", "reach", "must be > 0 and <= 2"},
		{ball + "grab=shared grabber=yes", 2, "b", "grabber", "want true or false"},
		// bullet, tag.
		{ball + "bullet=1", 2, "b", "bullet", `want true or false, got "1"`},
		{"object b shape=box half=1,1,1 kind=kinematic bullet=true", 2, "b", "bullet", "not allowed for kinematic bodies"},
		{ball + "tag=", 2, "b", "tag", "want 1 to 64"},
		{ball + "tag=a/b", 2, "b", "tag", "want 1 to 64"},
	}
	for _, tt := range tests {
		_, err := Parse("t.scene", strings.NewReader("name t\n"+tt.src+"\n"))
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: error %v, want *Error", tt.src, err)
			continue
		}
		if e.File != "t.scene" || e.Line != tt.line || e.Object != tt.object || e.Field != tt.field || !strings.Contains(e.Msg, tt.msg) {
			t.Errorf("%q:\n got %+v\nwant line %d object %q field %q msg containing %q", tt.src, *e, tt.line, tt.object, tt.field, tt.msg)
		}
		s := e.Error()
		wantPrefix := "t.scene:" + strconv.Itoa(tt.line) + ": "
		if !strings.HasPrefix(s, wantPrefix) || (tt.field != "" && !strings.Contains(s, "field "+tt.field+": ")) ||
			(tt.object != "" && !strings.Contains(s, `object "`+tt.object+`": `)) {
			t.Errorf("%q: message %q does not name the line, object and field", tt.src, s)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := Parse("arena.scene", strings.NewReader("name a\n\n\n\n\n\n\n\n\n\n\nobject paddle-1 shape=box half=0.1,0.2 mass=1\n"))
	const want = `arena.scene:12: object "paddle-1": field half: want 3 comma-separated numbers, got "0.1,0.2"`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestFileErrors(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{"", `t.scene: field name: missing: the file needs a "name" record`},
		{"# only\n\ngravity 0,0,0\n", `t.scene: field name: missing`},
		{"name\n", `t.scene:1: field name: missing text`},
		{"name a\n" + strings.Repeat("#", MaxLineLen+1) + "\n", "t.scene:2: line longer than 65536 bytes"},
	} {
		_, err := Parse("t.scene", strings.NewReader(tt.src))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%.40q: got %v, want %s", tt.src, err, tt.want)
		}
	}
}

func TestIDsExhausted(t *testing.T) {
	var b strings.Builder
	b.WriteString("name many\n")
	for i := range MaxID + 1 {
		b.WriteString("object o")
		b.WriteString(strconv.Itoa(i))
		b.WriteString(" shape=sphere radius=1 mass=1\n")
	}
	_, err := Parse("t.scene", strings.NewReader(b.String()))
	var e *Error
	if !errors.As(err, &e) || e.Line != MaxID+2 || e.Field != "id" || !strings.Contains(e.Msg, "no free id") {
		t.Errorf("got %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.scene")
	if err := os.WriteFile(good, demoSource, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Objects) != len(Default().Objects) {
		t.Error("Load and Default differ")
	}
	bad := filepath.Join(dir, "bad.scene")
	if err := os.WriteFile(bad, []byte("name x\nobject y shape=box\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.HasPrefix(err.Error(), bad+":2: ") {
		t.Errorf("Load(bad) = %v, want the path and line", err)
	}
	missing := filepath.Join(dir, "missing.scene")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load(missing) = %v, want the path", err)
	}
}

// TestPositionRange: an object must lie within the positions the wire
// format carries (wire.PosMin..wire.PosMax on each axis): its pos, the
// sphere or rotated box around it, a plane's point nearest the origin.
// Each error names the object, the field and the axis.
func TestPositionRange(t *testing.T) {
	max := strconv.FormatFloat(wire.PosMax, 'g', -1, 64) // 31.9990234375
	const rangeMsg = "outside the wire format's position range -32..31.9990234375 m"
	for _, tt := range []struct {
		src, object, field, msg string
	}{
		{"object far shape=sphere radius=0.1 mass=1 pos=40,0,0", "far", "pos", "x = 40 is " + rangeMsg},
		{"object far shape=sphere radius=0.1 mass=1 pos=0,-32.5,0", "far", "pos", "y = -32.5 is " + rangeMsg},
		{"object far shape=box half=1,1,1 kind=static pos=0,0,1e300", "far", "pos", "z = 1e+300 is " + rangeMsg},
		{"object far shape=box half=1,1,1 kind=static pos=0,0," + max + "1", "far", "pos", "z = " + max + "1 is " + rangeMsg},
		{"object edge shape=sphere radius=0.5 mass=1 pos=31.6,0,0", "edge", "radius", "the sphere reaches x = 32.1 at its starting pose, " + rangeMsg},
		{"object edge shape=sphere radius=0.5 mass=1 pos=0,0,-31.8", "edge", "radius", "reaches z = -32.3"},
		{"object wall shape=box half=40,1,0.1 kind=static", "wall", "half", "the box reaches x = -40 at its starting pose, " + rangeMsg},
		// A box 2 m long along x, turned 90° about y: it reaches 2 m along z.
		{"object bar shape=box half=2,0.1,0.1 mass=1 pos=0,0,30.5 euler=90,0,0", "bar", "half", "reaches z = 32.5"},
		{"object sky shape=plane normal=0,-1,0 offset=-40 kind=static", "sky", "offset", "the plane's point nearest the origin has y = 40, " + rangeMsg},
		{"object pit shape=plane normal=0,3,0 offset=-33 kind=static", "pit", "offset", "y = -33"},
	} {
		_, err := Parse("t.scene", strings.NewReader("name t\n"+tt.src+"\n"))
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: error %v, want *Error", tt.src, err)
			continue
		}
		if e.Line != 2 || e.Object != tt.object || e.Field != tt.field || !strings.Contains(e.Msg, tt.msg) {
			t.Errorf("%q:\n got %+v\nwant object %q field %q msg containing %q", tt.src, *e, tt.object, tt.field, tt.msg)
		}
		if s := e.Error(); !strings.Contains(s, `object "`+tt.object+`": field `+tt.field+": ") {
			t.Errorf("%q: message %q does not name the object and field", tt.src, s)
		}
	}
	// The range's own ends are inside it.
	for _, src := range []string{
		"object a shape=sphere radius=0.5 mass=1 pos=-31.5,0,31.4990234375",
		"object b shape=sphere radius=0.0009765625 mass=1 pos=30,-31.9990234375,0",
		"object g shape=box half=0.5,0.5,0.5 kind=static pos=31.4990234375,-31.5,0",
		"object c shape=box half=1,1,1 kind=static pos=30.9990234375,-31,0 euler=0,0,0",
		"object floor shape=box half=31.99951171875,0.5,31.99951171875 kind=static pos=-0.00048828125,0.5,-0.00048828125",
		"object d shape=box half=2,0.1,0.1 mass=1 pos=0,0,29.5 euler=90,0,0",
		"object e shape=plane normal=0,1,0 offset=-32 kind=static",
		"object f shape=plane normal=1,1,0 offset=45 kind=static", // nearest point (31.8, 31.8, 0)
	} {
		if _, err := Parse("t.scene", strings.NewReader("name t\n"+src+"\n")); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
}
