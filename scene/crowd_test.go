package scene

import (
	"bytes"
	"reflect"
	"testing"
)

// TestCrowd: the capacity scene has the objects asked for, a pen and a
// fence, is written and read back as it was built, lies within the wire's
// positions, and is the same for the same seed.
func TestCrowd(t *testing.T) {
	s := Crowd(420, 580, 1)
	planes, static, resting, moving, boxes := 0, 0, 0, 0, 0
	for i := range s.Objects {
		o := &s.Objects[i]
		switch {
		case o.Shape == ShapePlane:
			planes++
		case o.Kind == Static:
			static++
		case o.Restitution == 1:
			moving++
			if o.Shape == ShapeBox {
				t.Errorf("%s: a moving box is elastic (boxes spin up off their corners)", o.Name)
			}
		case o.Pose.Pos.X > 0:
			moving++
			boxes++
		default:
			resting++
		}
		if int(o.ID) != i+1 {
			t.Errorf("%s: id %d, want %d", o.Name, o.ID, i+1)
		}
	}
	if planes != 5 || static != 1 || resting != 420 || moving != 580 || boxes != 145 {
		t.Errorf("%d planes, %d static, %d resting, %d moving (%d boxes), want 5, 1, 420, 580 (145)", planes, static, resting, moving, boxes)
	}
	var b bytes.Buffer
	if err := s.Format(&b); err != nil {
		t.Fatal(err)
	}
	back, err := Parse("crowd.scene", bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(withoutLines(back), s) {
		t.Error("the scene read back differs from the one built")
	}
	if !reflect.DeepEqual(Crowd(420, 580, 1), s) || reflect.DeepEqual(Crowd(420, 580, 2), s) {
		t.Error("the seed does not decide the scene")
	}
	if n := len(Crowd(0, 0, 1).Objects); n != 6 {
		t.Errorf("an empty crowd has %d objects, want the 6 of the pen", n)
	}
}
