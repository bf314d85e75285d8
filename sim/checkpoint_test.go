package sim

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/wire"
)

// TestRestoreGivesBackTheWorld: a world where things fell, one player
// holds the dart and another threw nothing, saved, restored into a fresh
// world of the same scene and saved again, is the same state; the held
// dart follows its hand afterwards exactly as in the original.
func TestRestoreGivesBackTheWorld(t *testing.T) {
	w := demo(t)
	w.AddPlayer(1, 0)
	w.AddPlayer(3, 0)
	dart := findTag(t, "dart")
	hand := geom.Pose{Pos: dart.Pose.Pos, Rot: geom.Identity}
	now := int64(0)
	for i := range 120 { // a second: things settle and sleep, the dart is held
		now += int64(time.Second / 120)
		if i == 10 {
			w.ApplyInput(1, handInput(1, hand, 1), now, nil)
		}
		w.Propagate(now)
		w.Step(now, 1.0/120)
	}
	if !w.Holding(1) {
		t.Fatal("the dart was not grabbed")
	}
	var a checkpoint.State
	w.SaveState(&a)
	if len(a.Holds) != 1 || len(a.Players) != 2 || a.Players[0].ClientID != 1 || a.Players[1].ClientID != 3 {
		t.Fatalf("saved holds %+v players %+v", a.Holds, a.Players)
	}
	sleeping := 0
	for _, e := range a.Entities {
		if e.Sleeping {
			sleeping++
		}
	}
	if sleeping == 0 {
		t.Fatal("nothing asleep after a second: the test does not cover sleep")
	}
	// Through the file format, as a restart would.
	var decoded checkpoint.State
	if _, err := checkpoint.Parse(checkpoint.Append(nil, &a), &decoded); err != nil {
		t.Fatal(err)
	}
	r := demo(t)
	if err := r.RestoreState(&decoded, now); err != nil {
		t.Fatal(err)
	}
	var b checkpoint.State
	r.SaveState(&b)
	if !reflect.DeepEqual(&a, &b) {
		t.Fatalf("restored world differs:\n got %+v\nwant %+v", b, a)
	}
	// The hand moves on: the dart follows in both, to the same pose.
	hand.Pos.X += 0.2
	now += int64(time.Second / 120)
	for _, x := range []*World{w, r} {
		x.ApplyInput(1, handInput(2, hand, 1), now, nil)
	}
	dw, _ := w.Entity(dart.ID)
	dr, _ := r.Entity(dart.ID)
	if dw != dr || dr.Flags&wire.EntityHeld == 0 {
		t.Fatalf("after the restore the dart is %+v, in the original %+v", dr, dw)
	}
}

func TestRestoreRefusesAnotherScene(t *testing.T) {
	w := demo(t)
	var st checkpoint.State
	w.SaveState(&st)
	sc := scene.Default()
	sc.Objects[len(sc.Objects)-1].Pose.Pos.Y += 1
	other, err := New(sc)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.RestoreState(&st, 0); !errors.Is(err, checkpoint.ErrScene) {
		t.Fatalf("RestoreState of another scene's state = %v, want ErrScene", err)
	}
	st.Entities[0].ID = scene.MaxID
	if err := demo(t).RestoreState(&st, 0); err == nil {
		t.Fatal("an entity the scene does not have was restored")
	}
}

func TestSaveStateDoesNotAllocate(t *testing.T) {
	w := demo(t)
	w.AddPlayer(1, 0)
	st := &checkpoint.State{}
	w.SaveState(st) // grows the slices once
	if n := testing.AllocsPerRun(50, func() { st.Reset(); w.SaveState(st) }); n != 0 {
		t.Fatalf("SaveState allocates %v times", n)
	}
}
