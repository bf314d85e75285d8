package statesync

import (
	"testing"

	"arcade/wire"
)

func world(tick uint32, n int) *wire.State {
	st := &wire.State{Tick: tick}
	for i := range n {
		st.Entities = append(st.Entities, wire.QEntity{ID: uint16(i + 1), Pose: wire.QPose{X: uint16(tick*7 + uint32(i)), Y: uint16(tick * 3001), Z: uint16(tick * 977), Rot: uint64(tick*13) << 2}})
	}
	return st
}

func parts(t *testing.T, base, cur *wire.State, maxBody int) []wire.StateDelta {
	t.Helper()
	var e wire.StateEncoder
	h := wire.StateDelta{Tick: cur.Tick}
	if base != nil {
		h.Base = base.Tick
	}
	var out []wire.StateDelta
	for _, b := range e.Encode(&h, base, cur, maxBody) {
		var m wire.StateDelta
		if _, err := m.Parse(b); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestReceiver: a keyframe makes a tick whole; a tick against it in parts
// is partial until its last part, whole then and acknowledged; a copy, a
// part applied twice and a part against a tick not held are told apart.
func TestReceiver(t *testing.T) {
	var r Receiver
	w10, w11 := world(10, 40), world(11, 40)
	if out, st := r.Apply(&parts(t, nil, w10, wire.MaxBodySize)[0], nil); out != Whole || !st.Equal(w10) {
		t.Fatalf("keyframe: %v", out)
	}
	ps := parts(t, w10, w11, 128)
	if len(ps) < 3 {
		t.Fatalf("%d parts", len(ps))
	}
	for i := range ps[:len(ps)-1] {
		if out, _ := r.Apply(&ps[i], nil); out != Partial {
			t.Fatalf("part %d: %v", i, out)
		}
	}
	if out, _ := r.Apply(&ps[0], nil); out != Duplicate {
		t.Fatalf("part 0 again: %v", out)
	}
	if out, st := r.Apply(&ps[len(ps)-1], nil); out != Whole || !st.Equal(w11) {
		t.Fatalf("last part: %v", out)
	}
	if out, _ := r.Apply(&ps[0], nil); out != Copy {
		t.Fatalf("a part of a whole tick: %v", out)
	}
	if newest, mask, ok := r.Held(); !ok || newest != 11 || mask != 0b11 {
		t.Fatalf("held %d %b %v", newest, mask, ok)
	}
	w13 := world(13, 40)
	m := parts(t, world(12, 40), w13, wire.MaxBodySize)[0]
	if out, _ := r.Apply(&m, nil); out != NoBaseline {
		t.Fatalf("against a tick not held: %v", out)
	}
	// A baseline from elsewhere (another path of the same receiver).
	if out, st := r.Apply(&m, func(tick uint32) *wire.State {
		if tick == 12 {
			return world(12, 40)
		}
		return nil
	}); out != Whole || !st.Equal(w13) {
		t.Fatalf("with the other path's baseline: %v", out)
	}
	// Parts that do not add up to the tick.
	bad := parts(t, w10, world(14, 40), wire.MaxBodySize)[0]
	bad.EntityCount++
	if out, _ := r.Apply(&bad, nil); out != Bad {
		t.Fatalf("a tick short of a record: %v", out)
	}
}
