package client

import (
	"slices"
	"testing"

	"github.com/arcadexr/arcade/wire"
)

func player(id uint16, input uint32) wire.PlayerState {
	return wire.PlayerState{ClientID: id, LastInputSeq: input, Head: wire.Pose{Rot: wire.Quat{W: 1}}}
}

// TestWorldPresence: who is in the world is decided by complete ticks
// alone: a tick of two parts decides once both are in, an incomplete tick
// decides nothing, a newer tick supersedes it; joined and left fire once
// each, in id order, after the tick is applied.
func TestWorldPresence(t *testing.T) {
	w := NewWorld()
	var joined, left []uint16
	w.OnJoined(func(id uint16) {
		joined = append(joined, id)
		if _, present, ok := w.Player(id); !ok || !present {
			t.Errorf("player %d joined but the World does not show it present", id)
		}
	})
	w.OnLeft(func(id uint16) { left = append(left, id) })
	snap := func(tick uint32, at uint64, part, parts uint8, ps ...wire.PlayerState) {
		w.ApplySnapshot(&wire.Snapshot{Tick: tick, ServerTime: at, Part: part, Parts: parts, Players: ps})
	}
	snap(10, 1000, 0, 2, player(2, 1), player(1, 1))
	if len(joined) != 0 {
		t.Fatalf("joined %v before the tick was complete", joined)
	}
	snap(10, 1000, 1, 2, player(3, 1))
	if !slices.Equal(joined, []uint16{1, 2, 3}) || len(left) != 0 {
		t.Fatalf("after tick 10: joined %v, left %v", joined, left)
	}
	snap(11, 2000, 0, 2, player(1, 2)) // part 1 lost: 2 and 3 have not left
	snap(12, 3000, 0, 1, player(1, 3), player(3, 3))
	if !slices.Equal(left, []uint16{2}) || !slices.Equal(w.Present(), []uint16{1, 3}) {
		t.Fatalf("after tick 12: left %v, present %v", left, w.Present())
	}
	snap(11, 2000, 1, 2, player(2, 2)) // the lost part, late: decides nothing now
	if len(left) != 1 || len(joined) != 3 {
		t.Fatalf("a late part of a superseded tick changed presence: joined %v, left %v", joined, left)
	}
	p, present, ok := w.Player(2)
	if !ok || present || p.LastInputSeq != 2 {
		t.Fatalf("player 2: %+v present %v ok %v: its newest record (input 2) should be held, and it gone", p, present, ok)
	}
	snap(13, 4000, 0, 1, player(1, 4), player(2, 4), player(3, 4))
	if !slices.Equal(joined, []uint16{1, 2, 3, 2}) {
		t.Fatalf("player 2 back: joined %v", joined)
	}
}

// TestWorldOrder: a record replaces what is held only when its message is
// newer by server time (PROTOCOL §10.2), for snapshots and updates alike.
func TestWorldOrder(t *testing.T) {
	w := NewWorld()
	ent := func(id uint16, x float32) wire.EntityState {
		return wire.EntityState{ID: id, Pose: wire.Pose{Pos: wire.Vec3{X: x}, Rot: wire.Quat{W: 1}}}
	}
	w.ApplySnapshot(&wire.Snapshot{Tick: 5, ServerTime: 500, Parts: 1, Entities: []wire.EntityState{ent(7, 1), ent(8, 1)}})
	w.ApplyEntityUpdate(&wire.EntityUpdate{Tick: 5, ServerTime: 520, Entities: []wire.EntityState{ent(7, 2)}, Players: []wire.PlayerState{player(1, 9)}})
	w.ApplyEntityUpdate(&wire.EntityUpdate{Tick: 5, ServerTime: 510, Entities: []wire.EntityState{ent(7, 3)}}) // late
	w.ApplySnapshot(&wire.Snapshot{Tick: 5, ServerTime: 500, Parts: 1, Entities: []wire.EntityState{ent(7, 4), ent(8, 4)}})
	if e, _ := w.Entity(7); e.Pose.Pos.X != 2 {
		t.Errorf("entity 7 at x=%v, want 2 (the newest update)", e.Pose.Pos.X)
	}
	if e, _ := w.Entity(8); e.Pose.Pos.X != 1 {
		t.Errorf("entity 8 at x=%v, want 1 (a copy of the same tick changes nothing)", e.Pose.Pos.X)
	}
	if p, present, ok := w.Player(1); !ok || present || p.LastInputSeq != 9 {
		t.Errorf("player 1 from an update: %+v present %v ok %v (an update never decides presence)", p, present, ok)
	}
	if got := len(w.Entities()); got != 2 {
		t.Errorf("%d entities", got)
	}
	if _, ok := w.Entity(99); ok {
		t.Error("an entity never seen")
	}
}
