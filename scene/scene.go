package scene

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"strconv"
	"sync"

	"github.com/arcadexr/arcade/geom"
)

// Limits and defaults of the file format.
const (
	MaxID              = 0x7fff // largest entity id
	MaxLineLen         = 64 << 10
	MaxNameLen         = 64 // longest object name or tag
	MaxReach           = 2.0
	DefaultRestitution = 0.5
	DefaultFriction    = 0.5
	DefaultReach       = 0.15
	// AutoBulletRadius: a dynamic sphere with a smaller radius gets
	// Bullet=true unless the file says bullet=false.
	AutoBulletRadius = 0.05
)

// DefaultGravity is the gravity of a scene without a gravity record.
var DefaultGravity = geom.Vec3{Y: -9.81}

// Scene is a parsed scene file.
type Scene struct {
	Name    string
	Gravity geom.Vec3
	Objects []Object // in file order
}

// Object is one rigid object of a scene. Fields a shape or kind does not use
// are zero.
type Object struct {
	ID          uint16 // entity id, 1..MaxID
	Name        string
	Tag         string
	Shape       ShapeKind
	Radius      float64   // sphere
	Half        geom.Vec3 // box half-extents
	Normal      geom.Vec3 // plane, unit length
	Offset      float64   // plane
	Kind        BodyKind
	Mass        float64 // kg, dynamic bodies
	Restitution float64
	Friction    float64
	Pose        geom.Pose // starting pose; identity for planes
	Grab        GrabMode
	HandOff     HandOff
	Reach       float64 // metres; 0 when Grab is GrabNone
	Grabber     bool
	Bullet      bool
	Line        int // line of the object record in the file, 1-based
}

// ShapeKind is an object's collision shape.
type ShapeKind uint8

// Shapes. The zero value is no shape and is never valid.
const (
	ShapeSphere ShapeKind = iota + 1
	ShapeBox
	ShapePlane
)

var shapeNames = []string{ShapeSphere: "sphere", ShapeBox: "box", ShapePlane: "plane"}

func (k ShapeKind) String() string { return enumString(shapeNames, int(k), "ShapeKind") }

// BodyKind says how physics moves an object.
type BodyKind uint8

// Body kinds. Dynamic bodies are moved by forces; kinematic bodies only by
// being set (by a holder, for example); static bodies never move.
const (
	Dynamic BodyKind = iota
	Kinematic
	Static
)

var kindNames = []string{Dynamic: "dynamic", Kinematic: "kinematic", Static: "static"}

func (k BodyKind) String() string { return enumString(kindNames, int(k), "BodyKind") }

// GrabMode says whether and how an object can be held.
type GrabMode uint8

// Grab modes.
const (
	GrabNone      GrabMode = iota // cannot be grabbed
	GrabExclusive                 // one holder at a time
	GrabShared                    // several holders at once
)

var grabNames = []string{GrabNone: "none", GrabExclusive: "exclusive", GrabShared: "shared"}

func (g GrabMode) String() string { return enumString(grabNames, int(g), "GrabMode") }

// HandOff says what a grab of an exclusive object that is already held does.
type HandOff uint8

// Hand-off rules.
const (
	HandOffTakeover HandOff = iota // the new holder takes the object
	HandOffRefuse                  // the grab fails; the first holder keeps it
)

var handOffNames = []string{HandOffTakeover: "takeover", HandOffRefuse: "refuse"}

func (h HandOff) String() string { return enumString(handOffNames, int(h), "HandOff") }

func enumString(names []string, i int, typ string) string {
	if i >= 0 && i < len(names) && names[i] != "" {
		return names[i]
	}
	return typ + "(" + strconv.Itoa(i) + ")"
}

// Object returns the object with the given name.
func (s *Scene) Object(name string) (*Object, bool) {
	for i := range s.Objects {
		if s.Objects[i].Name == name {
			return &s.Objects[i], true
		}
	}
	return nil, false
}

// Clone returns a copy of s that shares nothing with it.
func (s *Scene) Clone() *Scene {
	c := *s
	if s.Objects != nil {
		c.Objects = append([]Object(nil), s.Objects...)
	}
	return &c
}

// Load reads and parses the scene file at path. Errors name the path.
func Load(path string) (*Scene, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("scene: %w", err)
	}
	defer f.Close()
	return Parse(path, f)
}

// DemoFile is the name parse errors of the embedded demo scene would carry.
const DemoFile = "demo.scene"

//go:embed demo.scene
var demoSource []byte

var demo = sync.OnceValue(func() *Scene {
	s, err := Parse(DemoFile, bytes.NewReader(demoSource))
	if err != nil {
		panic("scene: embedded demo is broken: " + err.Error())
	}
	return s
})

// Default returns the demo arcade embedded in the binary, parsed once. Each
// call returns a fresh copy the caller may change.
func Default() *Scene { return demo().Clone() }
