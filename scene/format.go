package scene

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/arcadexr/arcade/geom"
)

// formatFile is the file name in errors from Format.
const formatFile = "format"

// Format writes s in the scene file format, so that Parse reads back an equal
// scene (Line fields aside). Ids are written explicitly, rotations as quat,
// and keys only where their values differ from the defaults; fields the
// object's shape, kind or grab mode does not use are not written, and a zero
// Pose.Rot is written as the identity. Format checks the text it would write
// by parsing it, and writes nothing if s is not a valid scene.
func (s *Scene) Format(w io.Writer) error {
	b, err := s.appendText(nil)
	if err != nil {
		return err
	}
	if _, err := Parse(formatFile, bytes.NewReader(b)); err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			e := *pe
			e.Line = 0 // a line of the generated text means nothing to the caller
			return &e
		}
		return err
	}
	_, err = w.Write(b)
	return err
}

// validText reports whether s can be the text of a name record.
func validText(s string) bool {
	if s == "" || strings.Trim(s, " \t") != s || strings.ContainsRune(s, '#') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return len(s) < MaxLineLen-len("name ")
}

func (s *Scene) appendText(b []byte) ([]byte, error) {
	if !validText(s.Name) {
		return nil, &Error{File: formatFile, Field: "name", Msg: fmt.Sprintf("cannot write %q: want text without '#', control characters or surrounding blanks", s.Name)}
	}
	b = append(b, "name "...)
	b = append(b, s.Name...)
	b = append(b, "\ngravity "...)
	b = appendVec(b, s.Gravity)
	b = append(b, '\n')
	for i := range s.Objects {
		o := &s.Objects[i]
		if !validWord(o.Name) {
			return nil, &Error{File: formatFile, Msg: fmt.Sprintf("object name %q: %s", o.Name, wordRule)}
		}
		if o.Tag != "" && !validWord(o.Tag) {
			return nil, &Error{File: formatFile, Object: o.Name, Field: "tag", Msg: fmt.Sprintf("%s, got %q", wordRule, o.Tag)}
		}
		b = appendObject(b, o)
	}
	return b, nil
}

func appendObject(b []byte, o *Object) []byte {
	b = append(b, "object "...)
	b = append(b, o.Name...)
	b = append(b, " id="...)
	b = strconv.AppendUint(b, uint64(o.ID), 10)
	b = append(b, " shape="...)
	b = append(b, o.Shape.String()...)
	switch o.Shape {
	case ShapeSphere:
		b = appendNum(append(b, " radius="...), o.Radius)
	case ShapeBox:
		b = appendVec(append(b, " half="...), o.Half)
	case ShapePlane:
		b = appendVec(append(b, " normal="...), o.Normal)
		if o.Offset != 0 {
			b = appendNum(append(b, " offset="...), o.Offset)
		}
	}
	b = append(b, " kind="...)
	b = append(b, o.Kind.String()...)
	if o.Kind == Dynamic {
		b = appendNum(append(b, " mass="...), o.Mass)
	}
	if o.Restitution != DefaultRestitution {
		b = appendNum(append(b, " restitution="...), o.Restitution)
	}
	if o.Friction != DefaultFriction {
		b = appendNum(append(b, " friction="...), o.Friction)
	}
	if o.Shape != ShapePlane {
		if o.Pose.Pos != (geom.Vec3{}) {
			b = appendVec(append(b, " pos="...), o.Pose.Pos)
		}
		if r := o.Pose.Rot; r != geom.Identity && r != (geom.Quat{}) {
			b = append(b, " quat="...)
			b = appendNum(b, r.X)
			b = appendNum(append(b, ','), r.Y)
			b = appendNum(append(b, ','), r.Z)
			b = appendNum(append(b, ','), r.W)
		}
	}
	if o.Grab != GrabNone {
		b = append(b, " grab="...)
		b = append(b, o.Grab.String()...)
		if o.HandOff != HandOffTakeover {
			b = append(b, " handoff="...)
			b = append(b, o.HandOff.String()...)
		}
		if o.Reach != DefaultReach {
			b = appendNum(append(b, " reach="...), o.Reach)
		}
		if o.Grabber {
			b = append(b, " grabber=true"...)
		}
	}
	if o.Kind == Dynamic && o.Bullet != autoBullet(o) {
		b = strconv.AppendBool(append(b, " bullet="...), o.Bullet)
	}
	if o.Tag != "" {
		b = append(b, " tag="...)
		b = append(b, o.Tag...)
	}
	return append(b, '\n')
}

// appendNum writes v in the shortest form that parses back to v exactly.
func appendNum(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'g', -1, 64) }

func appendVec(b []byte, v geom.Vec3) []byte {
	b = appendNum(b, v.X)
	b = appendNum(append(b, ','), v.Y)
	return appendNum(append(b, ','), v.Z)
}
