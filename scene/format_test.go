package scene

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/arcadexr/arcade/geom"
)

// format returns s in the file format.
func format(t testing.TB, s *Scene) string {
	t.Helper()
	var b bytes.Buffer
	if err := s.Format(&b); err != nil {
		t.Fatalf("Format: %v", err)
	}
	return b.String()
}

// withoutLines returns a copy of s with every Object.Line zero.
func withoutLines(s *Scene) *Scene {
	c := s.Clone()
	for i := range c.Objects {
		c.Objects[i].Line = 0
	}
	return c
}

// roundTrip checks that s, formatted and parsed again, is unchanged.
func roundTrip(t testing.TB, s *Scene) {
	t.Helper()
	text := format(t, s)
	back, err := Parse("round.scene", strings.NewReader(text))
	if err != nil {
		t.Fatalf("formatted scene does not parse: %v\n%s", err, text)
	}
	if !reflect.DeepEqual(withoutLines(s), withoutLines(back)) {
		t.Fatalf("round trip changed the scene:\n%+v\n%+v\n%s", s, back, text)
	}
	if again := format(t, back); again != text {
		t.Fatalf("Format is not stable:\n%s\n%s", text, again)
	}
}

func TestFormatRoundTrip(t *testing.T) {
	roundTrip(t, Default())
	roundTrip(t, parseString(t, `name  odd  values
gravity -0,1e-300,3.5
object p shape=plane normal=3,4,0 offset=-0.25 kind=static restitution=0 friction=0
object s shape=sphere radius=0.01 mass=1 bullet=false euler=10,20,30 grab=shared handoff=refuse reach=2 grabber=true
object b id=9 shape=box half=1,2,3 mass=1e-9 bullet=true quat=1,2,3,4 pos=-1,0.1,7
object k shape=sphere radius=0.01 kind=kinematic grab=exclusive tag=T.x_y-z
`))
}

func TestFormatOutput(t *testing.T) {
	s := parseString(t, `name Ball table
object table shape=box half=0.5,0.02,0.5 pos=0,0.74,0 kind=static friction=0.3 tag=table
object ball  shape=sphere radius=0.02 mass=0.0027 restitution=0.9 pos=0,0.78,0 grab=exclusive handoff=takeover reach=0.15 tag=ball
`)
	const want = `name Ball table
gravity 0,-9.81,0
object table id=1 shape=box half=0.5,0.02,0.5 kind=static friction=0.3 pos=0,0.74,0 tag=table
object ball id=2 shape=sphere radius=0.02 kind=dynamic mass=0.0027 restitution=0.9 pos=0,0.78,0 grab=exclusive tag=ball
`
	if got := format(t, s); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestFormatRejects(t *testing.T) {
	obj := func(o Object) *Scene {
		if o.Shape == 0 {
			o.Shape = ShapeSphere
		}
		if o.Radius == 0 {
			o.Radius = 1
		}
		if o.Mass == 0 {
			o.Mass = 1
		}
		if o.ID == 0 {
			o.ID = 1
		}
		if o.Name == "" {
			o.Name = "o"
		}
		return &Scene{Name: "s", Objects: []Object{o}}
	}
	tests := []struct {
		s     *Scene
		field string
		msg   string
	}{
		{&Scene{Name: ""}, "name", "cannot write"},
		{&Scene{Name: "a # b"}, "name", "cannot write"},
		{&Scene{Name: " a"}, "name", "cannot write"},
		{&Scene{Name: "a\nobject"}, "name", "cannot write"},
		{obj(Object{Name: "a b"}), "", `object name "a b"`},
		{obj(Object{Tag: "x=y"}), "tag", "want 1 to 64"},
		{obj(Object{Restitution: 2}), "restitution", "must be in 0..1"},
		{obj(Object{Radius: -1}), "radius", "must be > 0"},
		{obj(Object{ID: MaxID + 1}), "id", "want an integer"},
		{obj(Object{Shape: 7}), "shape", "want sphere, box or plane"},
		{obj(Object{Shape: ShapePlane, Normal: geom.Vec3{Y: 1}}), "kind", "a plane must be"},
		{&Scene{Name: "s", Objects: []Object{
			{ID: 3, Name: "a", Shape: ShapeSphere, Radius: 1, Mass: 1},
			{ID: 3, Name: "b", Shape: ShapeSphere, Radius: 1, Mass: 1},
		}}, "id", `id 3 already used by object "a"`},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		err := tt.s.Format(&b)
		var e *Error
		if !errors.As(err, &e) || e.Field != tt.field || !strings.Contains(e.Msg, tt.msg) || e.Line != 0 {
			t.Errorf("%+v: got %v, want field %q msg %q", tt.s, err, tt.field, tt.msg)
		}
		if b.Len() != 0 {
			t.Errorf("%+v: Format wrote %q before failing", tt.s, b.String())
		}
	}
}

// FuzzParse checks that Parse never panics, and that every scene it accepts
// formats and parses back equal.
func FuzzParse(f *testing.F) {
	f.Add(string(demoSource))
	f.Add("name x\nobject a shape=sphere radius=0.01 mass=1 euler=1,2,3 grab=shared grabber=true\n")
	f.Add("name y\ngravity 0,0,0\nobject p shape=plane normal=1,1,0 offset=2 kind=static\nobject b id=5 shape=box half=1,1,1 kind=kinematic quat=0,0,1,1\n")
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Parse("fuzz.scene", strings.NewReader(src))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), "fuzz.scene") {
				t.Fatalf("error %v does not name the file", err)
			}
			return
		}
		roundTrip(t, s)
	})
}
