package wire

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func randQPose(r *rand.Rand) QPose {
	p := Pose{
		Pos: Vec3{float32(r.Float64()*40 - 20), float32(r.Float64() * 3), float32(r.Float64()*40 - 20)},
		Rot: Quat{float32(r.NormFloat64()), float32(r.NormFloat64()), float32(r.NormFloat64()), float32(r.NormFloat64())},
	}
	return QuantPose(&p)
}

// nudge moves q by a few grid steps, as a tick of motion does.
func nudge(r *rand.Rand, q QPose, steps int) QPose {
	p := q.Pose()
	p.Pos.X += float32(r.IntN(2*steps+1)-steps) * PosStep
	p.Pos.Y += float32(r.IntN(2*steps+1)-steps) * PosStep
	p.Pos.Z += float32(r.IntN(2*steps+1)-steps) * PosStep
	a := float64(r.IntN(2*steps+1)-steps) * 0.0004
	c, s := float32(math.Cos(a)), float32(math.Sin(a))
	x := p.Rot
	p.Rot = Quat{x.X*c + x.W*s, x.Y*c + x.Z*s, x.Z*c - x.Y*s, x.W*c - x.X*s}
	return QuantPose(&p)
}

func randState(r *rand.Rand, players, entities int) *State {
	st := &State{}
	id := 0
	for range players {
		id += 1 + r.IntN(3)
		st.Players = append(st.Players, QPlayer{ClientID: uint16(id), Seq: r.Uint32(), Tracking: uint8(r.IntN(8)),
			Poses: [3]QPose{randQPose(r), randQPose(r), randQPose(r)}})
	}
	id = 0
	for range entities {
		id += 1 + r.IntN(4)
		st.Entities = append(st.Entities, QEntity{ID: uint16(id), Flags: uint8(r.IntN(8)), Pose: randQPose(r)})
	}
	return st
}

// evolve returns the next tick's state: some records moved a little, a
// few far, some flags changed, some records removed and some added.
func evolve(r *rand.Rand, b *State, moved float64) *State {
	c := &State{Tick: b.Tick + 1}
	for _, p := range b.Players {
		if r.Float64() < 0.02 {
			continue // left
		}
		if r.Float64() < moved {
			p.Seq += uint32(1 + r.IntN(3))
			for i := range p.Poses {
				p.Poses[i] = nudge(r, p.Poses[i], 8)
			}
		}
		if r.Float64() < 0.01 {
			p.Tracking ^= 1
		}
		c.Players = append(c.Players, p)
	}
	for _, e := range b.Entities {
		if r.Float64() < 0.01 {
			continue // removed
		}
		switch x := r.Float64(); {
		case x < moved:
			e.Pose = nudge(r, e.Pose, 20)
		case x < moved+0.01:
			e.Pose = randQPose(r) // far
		}
		if r.Float64() < 0.02 {
			e.Flags ^= EntitySleeping
		}
		c.Entities = append(c.Entities, e)
	}
	// Newcomers in the gaps and past the end.
	for range r.IntN(4) {
		id := uint16(r.IntN(70000) % 65536)
		if i, ok := slices.BinarySearchFunc(c.Players, id, func(p QPlayer, id uint16) int { return int(p.ClientID) - int(id) }); !ok {
			c.Players = slices.Insert(c.Players, i, QPlayer{ClientID: id, Seq: 1, Tracking: 7, Poses: [3]QPose{randQPose(r), randQPose(r), randQPose(r)}})
		}
		id = uint16(r.IntN(70000) % 65536)
		if i, ok := slices.BinarySearchFunc(c.Entities, id, func(e QEntity, id uint16) int { return int(e.ID) - int(id) }); !ok {
			c.Entities = slices.Insert(c.Entities, i, QEntity{ID: id, Flags: EntityGrabbable, Pose: randQPose(r)})
		}
	}
	return c
}

// applyAll decodes parts (as bodies) onto a copy of base (nil: nothing)
// and returns the result.
func applyAll(t *testing.T, d *StateDecoder, base *State, parts [][]byte) *State {
	t.Helper()
	st := &State{}
	if base != nil {
		st.CopyFrom(base)
	}
	for i, b := range parts {
		var m StateDelta
		n, err := m.Parse(b)
		if err != nil || n != len(b) {
			t.Fatalf("part %d: parse %d of %d bytes: %v", i+1, n, len(b), err)
		}
		if int(m.Part) != i || int(m.Parts) != len(parts) {
			t.Fatalf("part %d says %d of %d, want of %d", i+1, m.Part, m.Parts, len(parts))
		}
		if err := d.Apply(&m, st); err != nil {
			t.Fatalf("part %d: apply: %v", i+1, err)
		}
		if int(m.PlayerCount) != len(st.Players) && i == len(parts)-1 || int(m.EntityCount) != len(st.Entities) && i == len(parts)-1 {
			t.Fatalf("complete tick holds %d players, %d entities; header says %d, %d", len(st.Players), len(st.Entities), m.PlayerCount, m.EntityCount)
		}
	}
	return st
}

// TestStateDeltaRoundTrip: a tick coded against a baseline (or as a
// keyframe), in parts of any size, decodes to exactly the tick's state
// on the wire's grid.
func TestStateDeltaRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var e StateEncoder
	var d StateDecoder
	for round := range 60 {
		base := randState(r, r.IntN(80), r.IntN(400))
		cur := base
		for range 1 + r.IntN(4) {
			cur = evolve(r, cur, r.Float64())
		}
		maxBody := []int{MaxBodySize, 600, 128}[round%3]
		h := StateDelta{Tick: cur.Tick, ServerTime: 123456, Base: base.Tick, Flags: DeltaHasHash * uint8(round%2), StateHash: 0xfeedface}
		parts := e.Encode(&h, base, cur, maxBody)
		if parts == nil {
			t.Fatal("encode refused")
		}
		for _, p := range parts {
			if len(p) > maxBody {
				t.Fatalf("part of %d bytes, max %d", len(p), maxBody)
			}
		}
		got := applyAll(t, &d, base, parts)
		if !got.Equal(cur) {
			t.Fatalf("round %d: delta decoded to a different state", round)
		}
		kf := e.Encode(&h, nil, cur, maxBody)
		if got := applyAll(t, &d, nil, kf); !got.Equal(cur) {
			t.Fatalf("round %d: keyframe decoded to a different state", round)
		}
	}
}

// TestStateDeltaUnchangedIsFree: a tick equal to its baseline codes to one
// part with no records, whatever the number of entities.
func TestStateDeltaUnchangedIsFree(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	st := randState(r, 200, 1000)
	var e StateEncoder
	parts := e.Encode(&StateDelta{Tick: 2, Base: 1}, st, st, MaxBodySize)
	if len(parts) != 1 || len(parts[0]) != StateDeltaFixedSize {
		t.Fatalf("%d parts, first %d bytes; want one of %d", len(parts), len(parts[0]), StateDeltaFixedSize)
	}
}

// TestStateDeltaWrongBaseline: a part applied to a state that is not its
// baseline either fails (ErrField) and leaves the state as it was, or, if
// it happens to decode, is caught by the record counts of the complete
// tick; it never panics.
func TestStateDeltaWrongBaseline(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var e StateEncoder
	var d StateDecoder
	base := randState(r, 40, 300)
	cur := evolve(r, base, 0.5)
	other := randState(r, 40, 300)
	parts := e.Encode(&StateDelta{Tick: 9, Base: 8}, base, cur, MaxBodySize)
	st := &State{}
	st.CopyFrom(other)
	failed := false
	for _, b := range parts {
		var m StateDelta
		if _, err := m.Parse(b); err != nil {
			t.Fatal(err)
		}
		before := &State{}
		before.CopyFrom(st)
		if err := d.Apply(&m, st); err != nil {
			failed = true
			if !st.Equal(before) {
				t.Fatal("a failed apply changed the state")
			}
		}
	}
	if !failed && st.Equal(cur) {
		t.Fatal("a delta against the wrong baseline decoded to the right state")
	}
}

// TestStateDeltaAllocs: encoding and applying a tick allocate nothing once
// the buffers have grown.
func TestStateDeltaAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	base := randState(r, 64, 900)
	cur := evolve(r, base, 0.3)
	var e StateEncoder
	var d StateDecoder
	st := &State{}
	var m StateDelta
	run := func() {
		parts := e.Encode(&StateDelta{Tick: 2, Base: 1}, base, cur, MaxBodySize)
		st.CopyFrom(base)
		for _, b := range parts {
			m.Parse(b)
			d.Apply(&m, st)
		}
	}
	run()
	if n := testing.AllocsPerRun(50, run); n != 0 {
		t.Fatalf("%v allocations per tick", n)
	}
	if !st.Equal(cur) {
		t.Fatal("wrong state")
	}
}

func TestBitCodes(t *testing.T) {
	var w bitWriter
	w.reset(make([]byte, 256))
	vals := []uint64{0, 1, 3, 4, 7, 8, 31, 32, 35, 36, 500, 511, 512, 547, 548, 65535}
	for _, v := range vals {
		w.writeCode(codeGap, v)
	}
	w.write(0x2a, 6)
	b := w.bytes()
	var r bitReader
	r.reset(b, w.n)
	for _, v := range vals {
		if got := r.readCode(codeGap); got != v {
			t.Fatalf("read %d, wrote %d", got, v)
		}
	}
	if got := r.read(6); got != 0x2a || r.bad || r.pos != r.end {
		t.Fatalf("tail %x, bad %v, %d of %d bits", got, r.bad, r.pos, r.end)
	}
	r.read(1)
	if !r.bad {
		t.Fatal("reading past the end is not flagged")
	}
	for _, d := range []int64{0, -1, 1, -2, 2, 1000, -32768, 32767} {
		if unzigzag(zigzag(d)) != d {
			t.Fatalf("zigzag %d", d)
		}
	}
	if wrapDelta(65535, 0, 16) != 1 || wrapDelta(0, 65535, 16) != -1 || wrapDelta(10, 5, 16) != -5 {
		t.Fatal("wrapDelta")
	}
}

// BenchmarkStateDelta901 codes a tick of 901 cubes, 10 % of them moved a
// little since the baseline, and applies it.
func BenchmarkStateDelta901(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	base := &State{}
	for i := range 901 {
		base.Entities = append(base.Entities, QEntity{ID: uint16(i + 1), Flags: EntitySleeping, Pose: randQPose(r)})
	}
	cur := &State{Tick: 1}
	cur.CopyFrom(base)
	for i := range cur.Entities {
		if r.Float64() < 0.1 {
			cur.Entities[i].Pose = nudge(r, cur.Entities[i].Pose, 10)
			cur.Entities[i].Flags = 0
		}
	}
	var e StateEncoder
	var d StateDecoder
	st := &State{}
	var m StateDelta
	b.Run("encode", func(b *testing.B) {
		bytes := 0
		for b.Loop() {
			bytes = 0
			for _, p := range e.Encode(&StateDelta{Tick: 1}, base, cur, MaxBodySize) {
				bytes += len(p)
			}
		}
		b.ReportMetric(float64(bytes), "bytes/tick")
	})
	b.Run("apply", func(b *testing.B) {
		parts := e.Encode(&StateDelta{Tick: 1}, base, cur, MaxBodySize)
		for b.Loop() {
			st.CopyFrom(base)
			for _, p := range parts {
				m.Parse(p)
				d.Apply(&m, st)
			}
		}
	})
}

// FuzzStateDelta applies any body to the golden vectors' worlds (the one
// it was coded against, and another) as a receiver does: it never panics,
// a failed apply changes nothing, and a state it accepts is still sorted
// by id with each id once.
func FuzzStateDelta(f *testing.F) {
	for _, v := range deltaVectors() {
		if m, ok := v.msg.(*StateDelta); ok {
			f.Add(m.Append(nil))
		}
	}
	base, cur := deltaWorlds()
	var d StateDecoder
	f.Fuzz(func(t *testing.T, data []byte) {
		var m StateDelta
		if _, err := m.Parse(data); err != nil {
			return
		}
		for _, w := range []*State{base, cur, {}} {
			st := &State{}
			st.CopyFrom(w)
			before := &State{}
			before.CopyFrom(w)
			if err := d.ApplyPrior(&m, st, base); err != nil {
				if !st.Equal(before) {
					t.Fatal("a failed apply changed the state")
				}
				continue
			}
			for i := 1; i < len(st.Players); i++ {
				if st.Players[i-1].ClientID >= st.Players[i].ClientID {
					t.Fatal("players out of order")
				}
			}
			for i := 1; i < len(st.Entities); i++ {
				if st.Entities[i-1].ID >= st.Entities[i].ID {
					t.Fatal("entities out of order")
				}
			}
		}
	})
}

// TestEntityRecordBits: the cost function gives exactly what the encoder
// writes for an entity record (alone in a part, its id gap 0: 3 bits).
func TestEntityRecordBits(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var e StateEncoder
	for range 300 {
		be := QEntity{Flags: uint8(r.IntN(8)), Pose: randQPose(r)}
		ce := be
		switch r.IntN(4) {
		case 0:
			ce.Pose = nudge(r, ce.Pose, 1+r.IntN(300))
		case 1:
			ce.Pose = randQPose(r)
		case 2:
			ce.Flags ^= EntitySleeping
			ce.Pose = nudge(r, ce.Pose, 2)
		}
		for _, tc := range []struct {
			base *State
			b    *QEntity
		}{{&State{Entities: []QEntity{be}}, &be}, {&State{}, nil}} {
			cur := &State{Entities: []QEntity{ce}}
			want := EntityRecordBits(tc.b, &ce)
			if tc.base.Equal(cur) {
				if want != 0 {
					t.Fatalf("unchanged record costs %d", want)
				}
				continue
			}
			var m StateDelta
			m.Parse(e.Encode(&StateDelta{Tick: 2, Base: 1}, tc.base, cur, MaxBodySize)[0])
			if got := int(m.Bits) - 3; got != want {
				t.Fatalf("cost %d, encoder wrote %d", want, got)
			}
		}
	}
}

// BenchmarkStateDelta2000 codes a tick of 2 000 players, three quarters of
// them moved a little since the baseline, and applies it.
func BenchmarkStateDelta2000(b *testing.B) {
	r := rand.New(rand.NewPCG(13, 14))
	base := randState(r, 2000, 0)
	cur := &State{Tick: 1}
	cur.CopyFrom(base)
	for i := range cur.Players {
		if r.Float64() < 0.75 {
			p := &cur.Players[i]
			p.Seq++
			for k := range p.Poses {
				p.Poses[k] = nudge(r, p.Poses[k], 3)
			}
		}
	}
	var e StateEncoder
	var d StateDecoder
	st := &State{}
	var m StateDelta
	b.Run("encode", func(b *testing.B) {
		bytes := 0
		for b.Loop() {
			bytes = 0
			for _, p := range e.Encode(&StateDelta{Tick: 1}, base, cur, MaxBodySize) {
				bytes += len(p)
			}
		}
		b.ReportMetric(float64(bytes), "bytes/tick")
	})
	b.Run("keyframe", func(b *testing.B) {
		for b.Loop() {
			e.Encode(&StateDelta{Tick: 1}, nil, cur, MaxBodySize)
		}
	})
	b.Run("apply", func(b *testing.B) {
		parts := e.Encode(&StateDelta{Tick: 1}, base, cur, MaxBodySize)
		for b.Loop() {
			st.CopyFrom(base)
			for _, p := range parts {
				m.Parse(p)
				d.Apply(&m, st)
			}
		}
	})
}

// TestStateDeltaBounded: a part that would take a state past
// MaxStateEntities is refused (ErrCount), the state untouched.
func TestStateDeltaBounded(t *testing.T) {
	full := &State{}
	for i := range MaxStateEntities {
		full.Entities = append(full.Entities, QEntity{ID: uint16(i + 1), Pose: QPose{Rot: 1}})
	}
	more := &State{Tick: 1}
	more.CopyFrom(full)
	more.Entities = append(more.Entities, QEntity{ID: MaxStateEntities + 1, Pose: QPose{Rot: 1}})
	var e StateEncoder
	var d StateDecoder
	parts := e.Encode(&StateDelta{Tick: 1}, full, more, MaxBodySize)
	var m StateDelta
	m.Parse(parts[len(parts)-1])
	st := &State{}
	st.CopyFrom(full)
	if err := d.Apply(&m, st); err != ErrCount || len(st.Entities) != MaxStateEntities {
		t.Fatalf("apply: %v, %d entities", err, len(st.Entities))
	}
}
