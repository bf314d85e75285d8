package main

import (
	"testing"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/wire"
)

// TestWorldWatch: across a takeover the bot compares the objects of the new
// server's first tick (and of its updates before it) with the old server's
// last state, apart for the objects held in neither, notes whether its held
// object is still held, and stops comparing at the next tick.
func TestWorldWatch(t *testing.T) {
	w := newWorldWatch()
	ent := func(id uint16, x float32, flags uint8) wire.EntityState {
		return wire.EntityState{ID: id, Flags: flags, Pose: wire.Pose{Pos: wire.Vec3{X: x}, Rot: wire.Quat{W: 1}}}
	}
	const held = wire.EntityHeld | wire.EntityGrabbable
	w.state([]wire.EntityState{ent(3, 1, held), ent(1, 0, 0), ent(2, 5, 0)}, 10, true, 3)
	w.state([]wire.EntityState{ent(3, 1.5, held)}, 10, false, 3) // an update moves the held one
	w.takeover(&client.Takeover{From: 2, To: 3, LastOld: 100e6, FirstNew: 140e6}, 3, true)
	w.state([]wire.EntityState{ent(3, 1.6, held)}, 11, false, 3)
	w.state([]wire.EntityState{ent(1, 0.01, 0), ent(3, 1.75, held)}, 12, true, 3)
	w.state([]wire.EntityState{ent(2, 5, 0)}, 12, true, 3)
	w.state([]wire.EntityState{ent(2, 9, 0)}, 13, true, 3) // the next tick: not compared
	if len(w.recs) != 1 {
		t.Fatalf("%d records, want 1", len(w.recs))
	}
	r := w.recs[0]
	if !r.heldBefore || !r.heldAfter || r.compared != 4 || r.diff < 0.2499 || r.diff > 0.2501 || r.diffUnheld < 0.0099 || r.diffUnheld > 0.0101 {
		t.Errorf("record %+v: want held before and after, 4 compared, diff 0.25, unheld 0.01", r)
	}
	got := takeovers([]client.Takeover{{From: 2, To: 3, LastOld: 100e6, FirstNew: 140e6, OldAcked: 9, NewAcked: 7, HasOldAcked: true, HasNewAcked: true}}, w.recs)
	if len(got) != 1 || got[0].AckedLost != 2 || got[0].GapMs != 40 || got[0].WorldDiffM != 0.25 {
		t.Errorf("takeovers = %+v", got)
	}
	rep := aggregateTakeovers([]ClientReport{{Takeovers: got}, {Takeovers: got}, {}})
	if rep == nil || rep.Takeovers != 2 || rep.AckedInputsLost != 4 || rep.TakeoversLosing != 2 || rep.GrabsHeldBefore != 2 || rep.GrabsStillHeld != 2 || rep.Gap.Samples != 2 {
		t.Errorf("aggregate = %+v", rep)
	}
	if aggregateTakeovers([]ClientReport{{}}) != nil {
		t.Error("a report without takeovers has a takeover summary")
	}
}
