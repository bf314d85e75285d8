package scene

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/wire"
)

// Error is a parse error. Its message names the file, the line, the object
// and the field, the parts that are known:
//
//	arena.scene:12: object "paddle-1": field half: want 3 comma-separated numbers, got "0.1,0.2"
type Error struct {
	File   string
	Line   int    // 1-based; 0 if the error is about the whole file
	Object string // object name, or ""
	Field  string // object key or record keyword, or ""
	Msg    string
	Err    error // underlying read error, or nil
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Object != "" {
		fmt.Fprintf(&b, "object %q: ", e.Object)
	}
	if e.Field != "" {
		b.WriteString("field ")
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// key is an object key.
type key uint8

const (
	kID key = iota
	kShape
	kRadius
	kHalf
	kNormal
	kOffset
	kKind
	kMass
	kRestitution
	kFriction
	kPos
	kEuler
	kQuat
	kGrab
	kHandOff
	kReach
	kGrabber
	kBullet
	kTag
	numKeys
)

var keyNames = [numKeys]string{
	kID: "id", kShape: "shape", kRadius: "radius", kHalf: "half", kNormal: "normal",
	kOffset: "offset", kKind: "kind", kMass: "mass", kRestitution: "restitution",
	kFriction: "friction", kPos: "pos", kEuler: "euler", kQuat: "quat", kGrab: "grab",
	kHandOff: "handoff", kReach: "reach", kGrabber: "grabber", kBullet: "bullet", kTag: "tag",
}

func lookupKey(s string) (key, bool) {
	for k, n := range keyNames {
		if n == s {
			return key(k), true
		}
	}
	return 0, false
}

// keySet records which keys an object record gave.
type keySet uint32

func (s keySet) has(k key) bool { return s&(1<<k) != 0 }

// unitTol is how far |v|² may be from 1 for a normal or quaternion to be kept
// as written rather than normalized.
const unitTol = 1e-12

type parser struct {
	file        string
	line        int
	scene       Scene
	nameLine    int
	gravityLine int
	names       map[string]int // object name → index in scene.Objects
	explicitID  []bool         // per object: the file gave its id
}

// Parse reads a scene file from r. name is the file name used in errors.
func Parse(name string, r io.Reader) (*Scene, error) {
	p := parser{file: name, names: map[string]int{}}
	p.scene.Gravity = DefaultGravity
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLineLen)
	for sc.Scan() {
		p.line++
		if err := p.parseLine(sc.Text()); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &Error{File: name, Line: p.line + 1, Msg: fmt.Sprintf("line longer than %d bytes", MaxLineLen)}
		}
		return nil, &Error{File: name, Msg: "read: " + err.Error(), Err: err}
	}
	if p.nameLine == 0 {
		return nil, &Error{File: name, Field: "name", Msg: `missing: the file needs a "name" record`}
	}
	if err := p.assignIDs(); err != nil {
		return nil, err
	}
	s := p.scene
	return &s, nil
}

func (p *parser) errf(object, field, format string, args ...any) *Error {
	return &Error{File: p.file, Line: p.line, Object: object, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func isBlank(r rune) bool { return r == ' ' || r == '\t' }

func (p *parser) parseLine(s string) error {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	if !utf8.ValidString(s) {
		return p.errf("", "", "not valid UTF-8")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return p.errf("", "", "control character %q in column %d", c, i+1)
		}
	}
	s = strings.Trim(s, " \t")
	f := strings.FieldsFunc(s, isBlank)
	if len(f) == 0 {
		return nil
	}
	switch f[0] {
	case "name":
		if p.nameLine != 0 {
			return p.errf("", "name", "given twice (first on line %d)", p.nameLine)
		}
		text := strings.TrimLeft(s[len("name"):], " \t")
		if text == "" {
			return p.errf("", "name", "missing text")
		}
		p.nameLine = p.line
		p.scene.Name = text
	case "gravity":
		if p.gravityLine != 0 {
			return p.errf("", "gravity", "given twice (first on line %d)", p.gravityLine)
		}
		if len(f) != 2 {
			return p.errf("", "gravity", "want one value x,y,z, got %d", len(f)-1)
		}
		v, msg := parseVec(f[1])
		if msg != "" {
			return p.errf("", "gravity", "%s", msg)
		}
		p.gravityLine = p.line
		p.scene.Gravity = v
	case "object":
		return p.parseObject(f[1:])
	default:
		return p.errf("", "", "unknown record %q (want name, gravity or object)", f[0])
	}
	return nil
}

// validWord reports whether s can be an object name or tag.
func validWord(s string) bool {
	if s == "" || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

const wordRule = "want 1 to 64 letters, digits, '.', '_' or '-'"

func (p *parser) parseObject(f []string) error {
	if len(f) == 0 {
		return p.errf("", "", "object record needs a name")
	}
	name := f[0]
	if !validWord(name) {
		return p.errf("", "", "object name %q: %s", name, wordRule)
	}
	if i, dup := p.names[name]; dup {
		return p.errf(name, "", "name already used on line %d", p.scene.Objects[i].Line)
	}
	o := Object{
		Name:        name,
		Restitution: DefaultRestitution,
		Friction:    DefaultFriction,
		Pose:        geom.IdentityPose,
		Line:        p.line,
	}
	var set keySet
	for _, kv := range f[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return p.errf(name, "", "want key=value, got %q", kv)
		}
		ky, ok := lookupKey(k)
		if !ok {
			return p.errf(name, k, "unknown key")
		}
		if set.has(ky) {
			return p.errf(name, k, "given twice")
		}
		set |= 1 << ky
		if msg := setField(&o, ky, v); msg != "" {
			return p.errf(name, k, "%s", msg)
		}
	}
	if field, msg := check(&o, set); msg != "" {
		return p.errf(name, field, "%s", msg)
	}
	if field, msg := checkRange(&o); msg != "" {
		return p.errf(name, field, "%s", msg)
	}
	p.names[name] = len(p.scene.Objects)
	p.scene.Objects = append(p.scene.Objects, o)
	p.explicitID = append(p.explicitID, set.has(kID))
	return nil
}

// setField parses v into the field of o that k names, returning a message on
// error.
func setField(o *Object, k key, v string) string {
	var msg string
	switch k {
	case kID:
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil || n == 0 || n > MaxID {
			return fmt.Sprintf("want an integer 1..%d, got %q", MaxID, v)
		}
		o.ID = uint16(n)
	case kShape:
		var s uint8
		s, msg = parseEnum(v, shapeNames)
		o.Shape = ShapeKind(s)
	case kRadius:
		o.Radius, msg = parseNum(v)
		if msg == "" && !(o.Radius > 0) {
			msg = "must be > 0, got " + v
		}
	case kHalf:
		o.Half, msg = parseVec(v)
		if msg == "" && !(o.Half.X > 0 && o.Half.Y > 0 && o.Half.Z > 0) {
			msg = "each component must be > 0, got " + v
		}
	case kNormal:
		var n geom.Vec3
		n, msg = parseVec(v)
		if msg == "" {
			var ok bool
			if o.Normal, ok = unitVec(n); !ok {
				msg = "must not be zero"
			}
		}
	case kOffset:
		o.Offset, msg = parseNum(v)
	case kKind:
		var b uint8
		b, msg = parseEnum(v, kindNames)
		o.Kind = BodyKind(b)
	case kMass:
		o.Mass, msg = parseNum(v)
		if msg == "" && !(o.Mass > 0) {
			msg = "must be > 0, got " + v
		}
	case kRestitution:
		o.Restitution, msg = parseNum(v)
		if msg == "" && !(o.Restitution >= 0 && o.Restitution <= 1) {
			msg = "must be in 0..1, got " + v
		}
	case kFriction:
		o.Friction, msg = parseNum(v)
		if msg == "" && !(o.Friction >= 0) {
			msg = "must be >= 0, got " + v
		}
	case kPos:
		o.Pose.Pos, msg = parseVec(v)
	case kEuler:
		var e geom.Vec3
		e, msg = parseVec(v)
		if msg == "" {
			o.Pose.Rot = euler(e.X, e.Y, e.Z)
		}
	case kQuat:
		var q geom.Quat
		q, msg = parseQuat(v)
		if msg == "" {
			var ok bool
			if o.Pose.Rot, ok = unitQuat(q); !ok {
				msg = "must not be the zero quaternion"
			}
		}
	case kGrab:
		var g uint8
		g, msg = parseEnum(v, grabNames)
		o.Grab = GrabMode(g)
	case kHandOff:
		var h uint8
		h, msg = parseEnum(v, handOffNames)
		o.HandOff = HandOff(h)
	case kReach:
		o.Reach, msg = parseNum(v)
		if msg == "" && !(o.Reach > 0 && o.Reach <= MaxReach) {
			msg = fmt.Sprintf("must be > 0 and <= %g, got %s", MaxReach, v)
		}
	case kGrabber:
		o.Grabber, msg = parseBool(v)
	case kBullet:
		o.Bullet, msg = parseBool(v)
	case kTag:
		o.Tag = v
		if !validWord(v) {
			msg = fmt.Sprintf("%s, got %q", wordRule, v)
		}
	}
	return msg
}

// check applies the rules between keys once all of an object's keys are
// read, and fills in the defaults that depend on other keys. It returns the
// field at fault and a message, or "" and "".
func check(o *Object, set keySet) (string, string) {
	notFor := func(k key, why string) (string, string) {
		return keyNames[k], "not allowed " + why
	}
	if !set.has(kShape) {
		return "shape", "missing (want sphere, box or plane)"
	}
	var need key
	var forbid []key
	switch o.Shape {
	case ShapeSphere:
		need, forbid = kRadius, []key{kHalf, kNormal, kOffset}
	case ShapeBox:
		need, forbid = kHalf, []key{kRadius, kNormal, kOffset}
	case ShapePlane:
		need, forbid = kNormal, []key{kRadius, kHalf, kPos, kEuler, kQuat}
	}
	if !set.has(need) {
		return keyNames[need], "missing, required for shape " + o.Shape.String()
	}
	for _, k := range forbid {
		if set.has(k) {
			return notFor(k, "for shape "+o.Shape.String())
		}
	}
	if set.has(kEuler) && set.has(kQuat) {
		return "quat", "not allowed with euler: give one rotation"
	}
	if o.Shape == ShapePlane && o.Kind != Static {
		if !set.has(kKind) {
			return "kind", "missing: a plane must be kind=static (the default is dynamic)"
		}
		return "kind", "a plane must be static, got " + o.Kind.String()
	}
	if o.Kind == Dynamic {
		if !set.has(kMass) {
			return "mass", "missing, required for dynamic bodies"
		}
	} else {
		if set.has(kMass) {
			return notFor(kMass, "for "+o.Kind.String()+" bodies (only dynamic bodies have mass)")
		}
		if set.has(kBullet) {
			return notFor(kBullet, "for "+o.Kind.String()+" bodies (only dynamic bodies move by physics)")
		}
	}
	if o.Grab == GrabNone {
		for _, k := range []key{kHandOff, kReach, kGrabber} {
			if set.has(k) {
				return notFor(k, "with grab=none")
			}
		}
	} else {
		if o.Kind == Static {
			return "grab", "a static body cannot be grabbed"
		}
		if !set.has(kReach) {
			o.Reach = DefaultReach
		}
	}
	if !set.has(kBullet) {
		o.Bullet = autoBullet(o)
	}
	return "", ""
}

// checkRange checks that the object lies within the positions the wire
// format carries, wire.PosMin..wire.PosMax on each axis (poses are
// quantized there and clamped beyond it): its starting position, and the
// box or sphere around it at its starting pose (the axis-aligned bounds of
// the rotated box); for a plane, its point nearest the origin
// (normal × offset). It returns the field at fault and a message, or ""
// and "".
func checkRange(o *Object) (string, string) {
	in := func(v float64) bool { return v >= wire.PosMin && v <= wire.PosMax }
	outside := fmt.Sprintf("outside the wire format's position range %g..%g m", wire.PosMin, wire.PosMax)
	axes := [3]string{"x", "y", "z"}
	if o.Shape == ShapePlane {
		pt := [3]float64{o.Normal.X * o.Offset, o.Normal.Y * o.Offset, o.Normal.Z * o.Offset}
		for i, v := range pt {
			if !in(v) {
				return "offset", fmt.Sprintf("the plane's point nearest the origin has %s = %g, %s", axes[i], v, outside)
			}
		}
		return "", ""
	}
	pos := [3]float64{o.Pose.Pos.X, o.Pose.Pos.Y, o.Pose.Pos.Z}
	for i, v := range pos {
		if !in(v) {
			return "pos", fmt.Sprintf("%s = %g is %s", axes[i], v, outside)
		}
	}
	var ext [3]float64
	field := "radius"
	if o.Shape == ShapeSphere {
		ext = [3]float64{o.Radius, o.Radius, o.Radius}
	} else {
		field = "half"
		for _, h := range []geom.Vec3{{X: o.Half.X}, {Y: o.Half.Y}, {Z: o.Half.Z}} {
			a := o.Pose.Rot.Rotate(h)
			ext[0] += math.Abs(a.X)
			ext[1] += math.Abs(a.Y)
			ext[2] += math.Abs(a.Z)
		}
	}
	for i := range pos {
		for _, v := range []float64{pos[i] - ext[i], pos[i] + ext[i]} {
			if !in(v) {
				return field, fmt.Sprintf("the %s reaches %s = %g at its starting pose, %s", o.Shape, axes[i], v, outside)
			}
		}
	}
	return "", ""
}

// autoBullet reports the Bullet value an object gets without a bullet key.
func autoBullet(o *Object) bool {
	return o.Kind == Dynamic && o.Shape == ShapeSphere && o.Radius < AutoBulletRadius
}

// assignIDs checks the explicit ids and gives the other objects the smallest
// unused ids in file order.
func (p *parser) assignIDs() error {
	objs := p.scene.Objects
	used := make(map[uint16]int, len(objs)) // id → object index
	for i := range objs {
		if !p.explicitID[i] {
			continue
		}
		if j, dup := used[objs[i].ID]; dup {
			return &Error{File: p.file, Line: objs[i].Line, Object: objs[i].Name, Field: "id",
				Msg: fmt.Sprintf("id %d already used by object %q", objs[i].ID, objs[j].Name)}
		}
		used[objs[i].ID] = i
	}
	next := uint16(1)
	for i := range objs {
		if p.explicitID[i] {
			continue
		}
		for {
			if next > MaxID {
				return &Error{File: p.file, Line: objs[i].Line, Object: objs[i].Name, Field: "id",
					Msg: fmt.Sprintf("no free id left (ids run 1..%d)", MaxID)}
			}
			if _, taken := used[next]; !taken {
				break
			}
			next++
		}
		objs[i].ID = next
		next++
	}
	return nil
}

func parseNum(s string) (float64, string) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Sprintf("want a number, got %q", s)
	}
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Sprintf("want a finite number, got %q", s)
	}
	return v, ""
}

func parseVec(s string) (geom.Vec3, string) {
	var a [3]float64
	if msg := parseList(s, a[:]); msg != "" {
		return geom.Vec3{}, msg
	}
	return geom.Vec3{X: a[0], Y: a[1], Z: a[2]}, ""
}

func parseQuat(s string) (geom.Quat, string) {
	var a [4]float64
	if msg := parseList(s, a[:]); msg != "" {
		return geom.Quat{}, msg
	}
	return geom.Quat{X: a[0], Y: a[1], Z: a[2], W: a[3]}, ""
}

// parseList parses exactly len(dst) comma-separated finite numbers.
func parseList(s string, dst []float64) string {
	rest := s
	for i := range dst {
		part, tail, more := strings.Cut(rest, ",")
		if more != (i < len(dst)-1) {
			return fmt.Sprintf("want %d comma-separated numbers, got %q", len(dst), s)
		}
		v, msg := parseNum(part)
		if msg != "" {
			return fmt.Sprintf("want %d comma-separated finite numbers, got %q", len(dst), s)
		}
		dst[i] = v
		rest = tail
	}
	return ""
}

func parseEnum(s string, names []string) (uint8, string) {
	var want []string
	for i, n := range names {
		if n == "" {
			continue
		}
		if n == s {
			return uint8(i), ""
		}
		want = append(want, n)
	}
	last := len(want) - 1
	return 0, fmt.Sprintf("want %s or %s, got %q", strings.Join(want[:last], ", "), want[last], s)
}

func parseBool(s string) (bool, string) {
	switch s {
	case "true":
		return true, ""
	case "false":
		return false, ""
	}
	return false, fmt.Sprintf("want true or false, got %q", s)
}

// unitVec returns v scaled to unit length, or v itself if it is within
// unitTol of unit length already; false for a zero vector.
func unitVec(v geom.Vec3) (geom.Vec3, bool) {
	m := math.Max(math.Abs(v.X), math.Max(math.Abs(v.Y), math.Abs(v.Z)))
	if m == 0 {
		return geom.Vec3{}, false
	}
	if math.Abs(v.Len2()-1) <= unitTol {
		return v, true
	}
	v = geom.Vec3{X: v.X / m, Y: v.Y / m, Z: v.Z / m} // no overflow or underflow in the length
	l := v.Len()
	return geom.Vec3{X: v.X / l, Y: v.Y / l, Z: v.Z / l}, true
}

// unitQuat is unitVec for quaternions.
func unitQuat(q geom.Quat) (geom.Quat, bool) {
	m := math.Max(math.Max(math.Abs(q.X), math.Abs(q.Y)), math.Max(math.Abs(q.Z), math.Abs(q.W)))
	if m == 0 {
		return geom.Quat{}, false
	}
	if math.Abs(q.Dot(q)-1) <= unitTol {
		return q, true
	}
	q = geom.Quat{X: q.X / m, Y: q.Y / m, Z: q.Z / m, W: q.W / m}
	l := math.Sqrt(q.Dot(q))
	return geom.Quat{X: q.X / l, Y: q.Y / l, Z: q.Z / l, W: q.W / l}, true
}

// euler returns the rotation by roll about Z, then pitch about X, then yaw
// about Y, angles in degrees.
func euler(yaw, pitch, roll float64) geom.Quat {
	const rad = math.Pi / 180
	yaw, pitch, roll = math.Mod(yaw, 360), math.Mod(pitch, 360), math.Mod(roll, 360)
	q := geom.AxisAngle(geom.Vec3{Y: 1}, yaw*rad).
		Mul(geom.AxisAngle(geom.Vec3{X: 1}, pitch*rad)).
		Mul(geom.AxisAngle(geom.Vec3{Z: 1}, roll*rad))
	q, _ = unitQuat(q)
	return q
}
