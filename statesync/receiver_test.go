package statesync

import (
	"testing"

	"github.com/arcadexr/arcade/wire"
)

func world(tick uint32, n int) *wire.State {
	st := &wire.State{Tick: tick}
	for i := range n {
		st.Entities = append(st.Entities, wire.QEntity{ID: uint16(i + 1), Pose: wire.QPose{X: uint16(tick*7 + uint32(i)), Y: uint16(tick * 3001), Z: uint16(tick * 977), Rot: uint64(tick*13) << 2}})
	}
	return st
}

func parts(t testing.TB, base, cur *wire.State, maxBody int) []wire.StateDelta {
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

// TestReceiverPrior: a coded part that predicts from a prior tick needs
// it as it needs its baseline: without it the part is NoBaseline, with
// it (held, or from the other path) the tick is whole and exact.
func TestReceiverPrior(t *testing.T) {
	w := func(tick uint32) *wire.State { return world(tick, 30) }
	code := func(base, prior, cur *wire.State) wire.StateDelta {
		var e wire.StateEncoder
		h := wire.StateDelta{Tick: cur.Tick, Base: base.Tick, Prior: prior.Tick, Flags: wire.DeltaCoded | wire.DeltaPrior | wire.DeltaPriorEntities}
		ps := e.EncodePrior(&h, base, prior, cur, wire.MaxBodySize)
		var m wire.StateDelta
		if _, err := m.Parse(ps[0]); err != nil || m.Flags&wire.DeltaPrior == 0 {
			t.Fatalf("parse %v, flags %#x", err, m.Flags)
		}
		return m
	}
	var r Receiver
	for _, tick := range []uint32{10, 14} {
		kf := parts(t, nil, w(tick), wire.MaxBodySize)[0]
		if out, _ := r.Apply(&kf, nil); out != Whole {
			t.Fatalf("keyframe %d: %v", tick, out)
		}
	}
	m := code(w(14), w(10), w(15))
	if out, st := r.Apply(&m, nil); out != Whole || !st.Equal(w(15)) {
		t.Fatalf("with the prior held: %v", out)
	}
	// Prior 12 is not held, baseline 14 is.
	m = code(w(14), w(12), w(16))
	if out, _ := r.Apply(&m, nil); out != NoBaseline {
		t.Fatalf("without the prior: %v", out)
	}
	if out, st := r.Apply(&m, func(tick uint32) *wire.State {
		if tick == 12 {
			return w(12)
		}
		return nil
	}); out != Whole || !st.Equal(w(16)) {
		t.Fatalf("with the other path's prior: %v", out)
	}
}

// TestReceiverParity: a tick in coded parts, one of them lost, is whole
// once its group's parity part comes (before or after the others); the
// rebuilt part is what Recovered returns; two lost of a group leave the
// tick partial.
func TestReceiverParity(t *testing.T) {
	base, cur := world(10, 2000), world(11, 2000)
	var e wire.StateEncoder
	h := wire.StateDelta{Tick: 11, Base: 10, Flags: wire.DeltaCoded}
	bodies := e.Encode(&h, base, cur, 128)
	if len(bodies) < 32*wire.ParityGroup+2 {
		t.Fatalf("%d parts: too few for 33 parity groups", len(bodies))
	}
	var data, par []wire.StateDelta
	for _, b := range bodies {
		var m wire.StateDelta
		m.Parse(b)
		data = append(data, m)
	}
	for j := range wire.ParityGroups(len(bodies)) {
		var m wire.StateDelta
		if _, err := m.Parse(wire.AppendParity(nil, bodies, j)); err != nil {
			t.Fatal(err)
		}
		par = append(par, m)
	}
	kf := parts(t, nil, base, wire.MaxBodySize)
	hold := func(r *Receiver) {
		for i := range kf {
			r.Apply(&kf[i], nil)
		}
		if r.Holds(10) == nil {
			t.Fatal("keyframe not held")
		}
	}
	for _, tc := range []struct {
		parityFirst bool
		lost        int
	}{{false, 1}, {true, 1}, {false, len(data) - 1}, {true, len(data) - 2}} {
		parityFirst, lost := tc.parityFirst, tc.lost
		var r Receiver
		hold(&r)
		var last Outcome
		var st *wire.State
		if parityFirst {
			for j := range par {
				r.Apply(&par[j], nil)
			}
		}
		for i := range data {
			if i != lost {
				// With the parity parts first, a group's last part may
				// come as a copy: its parity already rebuilt it.
				if out, s := r.Apply(&data[i], nil); out != Copy {
					last, st = out, s
				}
			}
		}
		if !parityFirst {
			for j := range par {
				out, s := r.Apply(&par[j], nil)
				if j != lost/wire.ParityGroup {
					continue
				}
				last, st = out, s
				if rec := r.Recovered(); rec == nil || int(rec.Part) != lost {
					t.Fatalf("rebuilt %v, lost %d", rec, lost)
				}
			}
		}
		if last != Whole || !st.Equal(cur) {
			t.Fatalf("parity first %v: %v", parityFirst, last)
		}
	}
	// Two lost of group 0.
	var r Receiver
	hold(&r)
	for i := range data {
		if i >= 2 {
			r.Apply(&data[i], nil)
		}
	}
	for j := range par {
		r.Apply(&par[j], nil)
	}
	if r.Holds(11) != nil {
		t.Fatal("whole with two parts of a group lost")
	}
}

// FuzzReceiver feeds any StateDelta body to a receiver that holds a tick
// and is assembling the next (some of its coded parts and parity parts
// applied): it never panics, and a tick it calls whole has as many
// records as its parts say.
func FuzzReceiver(f *testing.F) {
	base, cur := world(10, 60), world(11, 60)
	var e wire.StateEncoder
	bodies := e.Encode(&wire.StateDelta{Tick: 11, Base: 10, Flags: wire.DeltaCoded}, base, cur, 200)
	var seeds [][]byte
	for _, b := range bodies {
		seeds = append(seeds, append([]byte(nil), b...))
	}
	for j := range wire.ParityGroups(len(bodies)) {
		seeds = append(seeds, wire.AppendParity(nil, bodies, j))
	}
	for _, s := range seeds {
		f.Add(s)
	}
	kf := parts(f, nil, base, wire.MaxBodySize)[0]
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Receiver
		r.Apply(&kf, nil)
		for i, s := range seeds {
			if i%2 == 0 {
				var m wire.StateDelta
				m.Parse(s)
				r.Apply(&m, nil)
			}
		}
		var m wire.StateDelta
		if _, err := m.Parse(data); err != nil {
			return
		}
		out, st := r.Apply(&m, nil)
		if out == Whole && (len(st.Players) != int(m.PlayerCount) || len(st.Entities) != int(m.EntityCount)) {
			t.Fatalf("whole with %d players, %d entities; the part says %d, %d", len(st.Players), len(st.Entities), m.PlayerCount, m.EntityCount)
		}
		if out.Decoded() && st == nil {
			t.Fatal("decoded without a state")
		}
	})
}

// TestReceiverTwoEncodings: a tick coded twice against the same baseline
// in as many parts but split elsewhere (a repair without the hash, say):
// parts of the two are not mixed; the tick is whole from the second.
func TestReceiverTwoEncodings(t *testing.T) {
	base, cur := world(10, 300), world(11, 300)
	enc := func(maxBody int) []wire.StateDelta {
		var e wire.StateEncoder
		var out []wire.StateDelta
		for _, b := range e.Encode(&wire.StateDelta{Tick: 11, Base: 10, Flags: wire.DeltaCoded}, base, cur, maxBody) {
			var m wire.StateDelta
			m.Parse(b)
			out = append(out, m)
		}
		return out
	}
	var a, b []wire.StateDelta
	for n := 200; n < 1000 && b == nil; n++ {
		a, b = enc(n), enc(n+7)
		if len(a) != len(b) || len(a) < 2 || a[0].EntityTo == b[0].EntityTo {
			b = nil
		}
	}
	if b == nil {
		t.Fatal("no two encodings of as many parts split apart")
	}
	var r Receiver
	for _, m := range parts(t, nil, base, wire.MaxBodySize) {
		r.Apply(&m, nil)
	}
	r.Apply(&a[0], nil)
	var out Outcome
	var st *wire.State
	for i := range b {
		out, st = r.Apply(&b[i], nil)
	}
	if out != Whole || !st.Equal(cur) {
		t.Fatalf("second encoding: %v", out)
	}
}
