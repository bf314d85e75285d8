package statesync

import (
	"testing"

	"github.com/arcadexr/arcade/wire"
)

// TestBudget: 100 entities all moving every tick, a budget that fits about
// a tenth of them: the group's payload stays within the budget, held
// entities and avatars are sent every tick, and every other entity is
// sent at least every few ticks, fast ones more often.
func TestBudget(t *testing.T) {
	b := Budget{Bits: 10 * 40}
	mk := func(tick uint32) *wire.State {
		st := &wire.State{Tick: tick, Players: []wire.QPlayer{{ClientID: 1, Seq: tick}}}
		for i := range 100 {
			speed := uint16(1 + i%4) // entities 3, 7, 11… move 4 steps a tick
			e := wire.QEntity{ID: uint16(i + 1), Pose: wire.QPose{X: 30000 + uint16(tick)*speed, Y: 100, Z: 200, Rot: 1}}
			if i == 0 {
				e.Flags = wire.EntityHeld
			}
			st.Entities = append(st.Entities, e)
		}
		return st
	}
	var prev, out wire.State
	base := mk(0)
	prev.CopyFrom(base)
	lastSent := make([]uint32, 101)
	worst := make([]uint32, 101)
	var enc wire.StateEncoder
	for tick := uint32(1); tick <= 200; tick++ {
		cur := mk(tick)
		b.Shape(&prev, base, cur, &out)
		if out.Players[0] != cur.Players[0] {
			t.Fatal("an avatar was deferred")
		}
		for i, e := range out.Entities {
			if e == cur.Entities[i] {
				worst[e.ID] = max(worst[e.ID], tick-lastSent[e.ID])
				lastSent[e.ID] = tick
			} else if e != prev.Entities[i] {
				t.Fatalf("entity %d is neither its new state nor its last sent", e.ID)
			}
		}
		if out.Entities[0] != cur.Entities[0] {
			t.Fatal("a held entity was deferred")
		}
		if b.Deferred == 0 {
			t.Fatal("nothing deferred under a tenth of the need")
		}
		// Coded against the tick before, as a group whose every
		// receiver keeps up would be.
		bits := 0
		for _, p := range enc.Encode(&wire.StateDelta{Tick: tick, Base: prev.Tick}, &prev, &out, wire.MaxBodySize) {
			var m wire.StateDelta
			m.Parse(p)
			bits += int(m.Bits)
		}
		if bits > b.Bits+playerBitsBound+b.Bits/4 {
			t.Fatalf("tick %d: %d payload bits for a budget of %d", tick, bits, b.Bits)
		}
		base = &wire.State{}
		base.CopyFrom(&out)
		prev.CopyFrom(&out)
	}
	slow, fast := uint32(0), uint32(0)
	for id := 2; id <= 100; id++ {
		if (id-1)%4 == 3 {
			fast = max(fast, worst[id])
		} else {
			slow = max(slow, worst[id])
		}
	}
	t.Logf("longest an entity waited: %d ticks (fast ones %d); %d deferred at the last tick", slow, fast, b.Deferred)
	if slow > 20 || fast > slow {
		t.Errorf("an entity waited %d ticks (fast %d)", slow, fast)
	}
}

// TestBudgetNoStarvation: when the avatars alone take more than the
// budget, waiting entities still get a share: none waits for ever.
func TestBudgetNoStarvation(t *testing.T) {
	b := Budget{Bits: 400}
	mk := func(tick uint32) *wire.State {
		st := &wire.State{Tick: tick}
		for i := range 16 { // 16 moving avatars: 1920 bits reckoned
			st.Players = append(st.Players, wire.QPlayer{ClientID: uint16(i + 1), Seq: tick})
		}
		for i := range 20 {
			st.Entities = append(st.Entities, wire.QEntity{ID: uint16(i + 1), Pose: wire.QPose{X: uint16(tick), Rot: 1}})
		}
		return st
	}
	var prev, out wire.State
	prev.CopyFrom(mk(0))
	last := make([]uint32, 21)
	worst := uint32(0)
	for tick := uint32(1); tick <= 100; tick++ {
		cur := mk(tick)
		b.Shape(&prev, &prev, cur, &out)
		for i, e := range out.Entities {
			if e == cur.Entities[i] {
				worst = max(worst, tick-last[e.ID])
				last[e.ID] = tick
			}
		}
		prev.CopyFrom(&out)
	}
	for id := 1; id <= 20; id++ {
		worst = max(worst, 100-last[id])
	}
	if worst > 30 {
		t.Errorf("an entity waited %d ticks", worst)
	}
	t.Logf("longest wait %d ticks", worst)
}
