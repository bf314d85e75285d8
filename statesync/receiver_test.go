package statesync

import (
	"math/rand/v2"
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

// TestReceiverParity: a tick in many coded parts, some of them lost, is
// whole once as many of its repair parts come (before, after or among
// the others); the rebuilt parts are what Recovered returns; with one
// repair part fewer the tick stays partial.
func TestReceiverParity(t *testing.T) {
	base, cur := world(10, 2000), world(11, 2000)
	var e wire.StateEncoder
	h := wire.StateDelta{Tick: 11, Base: 10, Flags: wire.DeltaCoded}
	bodies := e.Encode(&h, base, cur, 128)
	if len(bodies) < 64+2 {
		t.Fatalf("%d parts: too few to span two words of the masks", len(bodies))
	}
	var data, rep []wire.StateDelta
	for _, b := range bodies {
		var m wire.StateDelta
		m.Parse(b)
		data = append(data, m)
	}
	for j := range wire.MaxRepairs {
		var m wire.StateDelta
		if _, err := m.Parse(wire.AppendParity(nil, bodies, 3*j)); err != nil {
			t.Fatal(err)
		}
		rep = append(rep, m)
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
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 40 {
		n := 1 + trial%wire.MaxRepairs
		lost := map[int]bool{}
		for _, i := range rng.Perm(len(data))[:n] {
			lost[i] = true
		}
		short := trial%5 == 4
		use := rng.Perm(len(rep))[:n]
		if short {
			use = use[1:]
		}
		var ms []*wire.StateDelta
		for i := range data {
			if !lost[i] {
				ms = append(ms, &data[i])
			}
		}
		for _, j := range use {
			ms = append(ms, &rep[j])
		}
		switch trial % 3 {
		case 0: // in order
		case 1: // repair parts first
			ms = append(ms[len(ms)-len(use):], ms[:len(ms)-len(use)]...)
		case 2:
			rng.Shuffle(len(ms), func(a, b int) { ms[a], ms[b] = ms[b], ms[a] })
		}
		var r Receiver
		hold(&r)
		var last Outcome
		var st *wire.State
		rebuilt := map[int]bool{}
		for _, m := range ms {
			out, s := r.Apply(m, nil)
			if out == Copy {
				continue // rebuilt already
			}
			last, st = out, s
			for _, rec := range r.Recovered() {
				if !lost[int(rec.Part)] || rebuilt[int(rec.Part)] {
					t.Fatalf("trial %d: rebuilt part %d, lost %v", trial, rec.Part, lost)
				}
				rebuilt[int(rec.Part)] = true
			}
		}
		if short {
			if r.Holds(11) != nil || len(rebuilt) != 0 {
				t.Fatalf("trial %d: whole with %d lost and %d repair parts", trial, n, len(use))
			}
			continue
		}
		if last != Whole || !st.Equal(cur) || len(rebuilt) != n {
			t.Fatalf("trial %d: %v, rebuilt %d of %d", trial, last, len(rebuilt), n)
		}
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
	for j := range 3 {
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

// TestReceiverRepairAllocs: assembling a tick of many parts, two of them
// lost and rebuilt from two repair parts, allocates nothing once the
// receiver is set up.
func TestReceiverRepairAllocs(t *testing.T) {
	base := world(10, 2000)
	var e wire.StateEncoder
	var ticks [][]wire.StateDelta
	for tick := uint32(11); tick < 11+Window+60; tick++ {
		// Against the tick before: the ring of held ticks fills up too.
		bodies := e.Encode(&wire.StateDelta{Tick: tick, Base: tick - 1, Flags: wire.DeltaCoded}, world(tick-1, 2000), world(tick, 2000), 600)
		var ms []wire.StateDelta
		for i, b := range bodies {
			if i == 1 || i == 4 {
				continue // lost
			}
			var m wire.StateDelta
			m.Parse(b)
			ms = append(ms, m)
		}
		for j := range 2 {
			var m wire.StateDelta
			m.Parse(wire.AppendParity(nil, bodies, j))
			ms = append(ms, m)
		}
		ticks = append(ticks, ms)
	}
	var r Receiver
	for _, m := range parts(t, nil, base, wire.MaxBodySize) {
		r.Apply(&m, nil)
	}
	next := 0
	whole := 0
	take := func() {
		for i := range ticks[next] {
			if out, _ := r.Apply(&ticks[next][i], nil); out == Whole {
				whole++
			}
		}
		next++
	}
	for next < Window+4 {
		take() // sets up the assemblies' repairs and the ring's states
	}
	if n := testing.AllocsPerRun(50, take); n != 0 {
		t.Errorf("%.1f allocations a tick", n)
	}
	if whole != next {
		t.Errorf("%d ticks whole of %d", whole, next)
	}
}
