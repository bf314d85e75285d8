package wire

import (
	"math"
	"math/rand/v2"
	"testing"
)

// onGrid puts every player of st on the avatar grid.
func onGrid(st *State) *State {
	for i := range st.Players {
		AvatarGridPlayer(&st.Players[i])
	}
	return st
}

// applyCodedAll decodes parts onto a copy of base (nil: nothing) with
// prior, and returns the result.
func applyCodedAll(t *testing.T, d *StateDecoder, base, prior *State, parts [][]byte) *State {
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
		if m.Flags&DeltaCoded == 0 || int(m.Part) != i || int(m.Parts) != len(parts) {
			t.Fatalf("part %d: flags %#x, part %d of %d, want of %d", i+1, m.Flags, m.Part, m.Parts, len(parts))
		}
		if err := d.ApplyPrior(&m, st, prior); err != nil {
			t.Fatalf("part %d: apply: %v", i+1, err)
		}
	}
	return st
}

// TestCodedRoundTrip: a tick coded (with and without the avatar grid and
// a prior, in parts of any size, or as a keyframe) decodes to exactly the
// tick's state; the flags a part carries are the ones it could honour.
func TestCodedRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var e StateEncoder
	var d StateDecoder
	for round := range 80 {
		grid := round%2 == 0
		prior := randState(r, r.IntN(80), r.IntN(300))
		prior.Tick = 100
		base := evolve(r, prior, 0.5)
		base.Tick = 104
		cur := evolve(r, base, 0.5)
		cur.Tick = 106
		if grid {
			onGrid(prior)
			onGrid(base)
			onGrid(cur)
		}
		flags := uint8(DeltaCoded | DeltaAvatarGrid | DeltaPrior)
		if round%3 == 0 {
			flags |= DeltaPriorEntities
		}
		maxBody := 128 + r.IntN(MaxBodySize)
		h := StateDelta{Tick: cur.Tick, Base: base.Tick, Prior: prior.Tick, Flags: flags}
		parts := e.EncodePrior(&h, base, prior, cur, maxBody)
		if parts == nil {
			t.Fatalf("round %d: no parts", round)
		}
		for _, p := range parts {
			if len(p) > min(maxBody, MaxBodySize) {
				t.Fatalf("round %d: a part of %d bytes, at most %d", round, len(p), maxBody)
			}
			var m StateDelta
			m.Parse(p)
			if (m.Flags&DeltaAvatarGrid != 0) != grid || m.Flags&DeltaPrior == 0 || m.Prior != prior.Tick {
				t.Fatalf("round %d: flags %#x prior %d", round, m.Flags, m.Prior)
			}
		}
		if got := applyCodedAll(t, &d, base, prior, parts); !got.Equal(cur) {
			t.Fatalf("round %d: decoded state differs", round)
		}
		kf := e.EncodePrior(&StateDelta{Tick: cur.Tick, Flags: flags}, nil, prior, cur, maxBody)
		var m StateDelta
		m.Parse(kf[0])
		if m.Flags&(DeltaKeyframe|DeltaPrior) != DeltaKeyframe {
			t.Fatalf("round %d: keyframe flags %#x", round, m.Flags)
		}
		if got := applyCodedAll(t, &d, nil, nil, kf); !got.Equal(cur) {
			t.Fatalf("round %d: decoded keyframe differs", round)
		}
	}
}

// TestCodedNeedsPrior: a part that predicts from a prior cannot be
// applied without it, and leaves the state untouched.
func TestCodedNeedsPrior(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	prior := onGrid(randState(r, 20, 20))
	prior.Tick = 1
	base := onGrid(evolve(r, prior, 0.9))
	base.Tick = 5
	cur := onGrid(evolve(r, base, 0.9))
	cur.Tick = 6
	var e StateEncoder
	parts := e.EncodePrior(&StateDelta{Tick: 6, Base: 5, Prior: 1, Flags: DeltaCoded | DeltaPrior}, base, prior, cur, MaxBodySize)
	var m StateDelta
	m.Parse(parts[0])
	st := &State{}
	st.CopyFrom(base)
	var d StateDecoder
	if err := d.Apply(&m, st); err != ErrField || !st.Equal(base) {
		t.Fatalf("without the prior: %v", err)
	}
	// A prior not older than the baseline is refused by Parse.
	m.Prior = m.Base
	if _, err := new(StateDelta).Parse(m.Append(nil)); err != ErrField {
		t.Fatalf("prior = baseline: %v", err)
	}
}

// TestCodedSmaller: on tracked avatars moving a little every tick, the
// coded payload with prediction is smaller than the bit-packed one.
func TestCodedSmaller(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	prior := onGrid(randState(r, 500, 0))
	prior.Tick = 10
	step := func(s *State, tick uint32) *State {
		c := &State{Tick: tick}
		c.CopyFrom(s)
		c.Tick = tick
		for i := range c.Players {
			c.Players[i].Seq++
			for k := range c.Players[i].Poses {
				c.Players[i].Poses[k] = nudge(r, c.Players[i].Poses[k], 1)
			}
		}
		return onGrid(c)
	}
	base := step(prior, 14)
	cur := step(base, 15)
	var e StateEncoder
	size := func(parts [][]byte) (n int) {
		for _, p := range parts {
			n += len(p)
		}
		return n
	}
	bits := size(e.Encode(&StateDelta{Tick: 15, Base: 14}, base, cur, MaxBodySize))
	coded := size(e.EncodePrior(&StateDelta{Tick: 15, Base: 14, Prior: 10, Flags: DeltaCoded | DeltaAvatarGrid | DeltaPrior}, base, prior, cur, MaxBodySize))
	t.Logf("500 avatars: bit-packed %d bytes, coded %d", bits, coded)
	if coded >= bits {
		t.Errorf("coded %d bytes, bit-packed %d", coded, bits)
	}
}

// TestAvatarGrid: a rotation moved to the avatar grid is on it, is
// canonical (decoded and put on the wire's grid again it is the same
// word), and is within 0.3° of the rotation it came from.
func TestAvatarGrid(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	worst := 0.0
	for range 200000 {
		q := Quat{float32(r.NormFloat64()), float32(r.NormFloat64()), float32(r.NormFloat64()), float32(r.NormFloat64())}
		if r.IntN(4) == 0 { // near ties of the largest components
			q.Y = q.X * (1 + float32(r.NormFloat64())*1e-3)
		}
		w := encodeRot(q)
		g := AvatarGrid(w)
		if !onAvatarGrid(g) || AvatarGrid(g) != g {
			t.Fatalf("%#x → %#x is not on the grid", w, g)
		}
		if encodeRot(decodeRot(g)) != g {
			t.Fatalf("%#x → %#x is not canonical", w, g)
		}
		b := decodeRot(g)
		n := math.Sqrt(float64(q.X*q.X + q.Y*q.Y + q.Z*q.Z + q.W*q.W))
		dot := math.Abs(float64(q.X*b.X+q.Y*b.Y+q.Z*b.Z+q.W*b.W)) / n
		worst = max(worst, 2*math.Acos(min(dot, 1))*180/math.Pi)
	}
	t.Logf("largest angle from the rotation to its avatar grid word: %.3f°", worst)
	if worst > 0.3 {
		t.Errorf("%.3f°", worst)
	}
}

// TestCodedAllocs: coding and applying coded parts allocates nothing
// once the buffers have grown.
func TestCodedAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	prior := onGrid(randState(r, 300, 900))
	prior.Tick = 1
	base := onGrid(evolve(r, prior, 0.5))
	base.Tick = 5
	cur := onGrid(evolve(r, base, 0.5))
	cur.Tick = 6
	var e StateEncoder
	var d StateDecoder
	st := &State{}
	h := StateDelta{Tick: 6, Base: 5, Prior: 1, Flags: DeltaCoded | DeltaAvatarGrid | DeltaPrior | DeltaPriorEntities}
	run := func() {
		parts := e.EncodePrior(&h, base, prior, cur, MaxBodySize)
		st.CopyFrom(base)
		for _, b := range parts {
			// A part parsed into a local, as a receiver does: applying it
			// must not make it escape (its payload is the datagram's).
			var m StateDelta
			m.Parse(b)
			d.ApplyPrior(&m, st, prior)
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

// TestRangeCoder: decisions, direct bits and integers come back as coded,
// and the decoder of a payload cut short says so.
func TestRangeCoder(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	buf := make([]byte, 4096)
	for round := range 200 {
		n := r.IntN(400)
		type op struct {
			kind int
			v    int64
		}
		ops := make([]op, n)
		var e rcEncoder
		e.reset(buf)
		var pm [4]prob
		for i := range pm {
			pm[i] = probStart
		}
		var im intModel
		im.init()
		for i := range ops {
			switch k := r.IntN(3); k {
			case 0:
				ops[i] = op{0, int64(r.IntN(8) / 7)} // mostly 0
				e.bit(&pm[i%4], uint32(ops[i].v))
			case 1:
				ops[i] = op{1, int64(r.Uint32() >> 4)}
				e.direct(uint64(ops[i].v), 28)
			default:
				v := int64(r.NormFloat64() * 4)
				if r.IntN(50) == 0 {
					v = int64(int32(r.Uint32()))
				}
				ops[i] = op{2, v}
				e.int(&im, v)
			}
		}
		out := e.finish()
		if len(out) > e.size() {
			t.Fatalf("round %d: %d bytes, size said at most %d", round, len(out), e.size())
		}
		var d rcDecoder
		d.reset(out)
		for i := range pm {
			pm[i] = probStart
		}
		im.init()
		for i, o := range ops {
			var got int64
			switch o.kind {
			case 0:
				got = int64(d.bit(&pm[i%4]))
			case 1:
				got = int64(d.direct(28))
			default:
				got = d.int(&im)
			}
			if got != o.v {
				t.Fatalf("round %d op %d: %d, want %d", round, i, got, o.v)
			}
		}
		if d.bad {
			t.Fatalf("round %d: the decoder read past the end", round)
		}
		if len(out) > 8 {
			d.reset(out[:len(out)/2])
			for range 2000 {
				d.direct(32)
			}
			if !d.bad {
				t.Fatalf("round %d: reading far past the end is not flagged", round)
			}
		}
	}
}

func benchCoded(b *testing.B, prior, base, cur *State, flags uint8) {
	var e StateEncoder
	var d StateDecoder
	st := &State{}
	var m StateDelta
	h := StateDelta{Tick: cur.Tick, Base: base.Tick, Prior: prior.Tick, Flags: DeltaCoded | flags}
	b.Run("coded-encode", func(b *testing.B) {
		b.ReportAllocs()
		bytes := 0
		for b.Loop() {
			bytes = 0
			for _, p := range e.EncodePrior(&h, base, prior, cur, MaxBodySize) {
				bytes += len(p)
			}
		}
		b.ReportMetric(float64(bytes), "bytes/tick")
	})
	b.Run("coded-apply", func(b *testing.B) {
		b.ReportAllocs()
		parts := e.EncodePrior(&h, base, prior, cur, MaxBodySize)
		for b.Loop() {
			st.CopyFrom(base)
			for _, p := range parts {
				m.Parse(p)
				d.ApplyPrior(&m, st, prior)
			}
		}
	})
}

// BenchmarkCoded901: the 901-entity tick of BenchmarkStateDelta901, coded.
func BenchmarkCoded901(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	base := &State{Tick: 5}
	for i := range 901 {
		base.Entities = append(base.Entities, QEntity{ID: uint16(i + 1), Flags: EntitySleeping, Pose: randQPose(r)})
	}
	cur := &State{Tick: 6}
	cur.CopyFrom(base)
	cur.Tick = 6
	for i := range cur.Entities {
		if r.Float64() < 0.1 {
			cur.Entities[i].Pose = nudge(r, cur.Entities[i].Pose, 10)
			cur.Entities[i].Flags = 0
		}
	}
	prior := &State{Tick: 1}
	prior.CopyFrom(base)
	prior.Tick = 1
	benchCoded(b, prior, base, cur, DeltaPrior|DeltaPriorEntities)
}

// BenchmarkCoded2000: 2 000 avatars, three in four moved, coded with the
// avatar grid and a prior.
func BenchmarkCoded2000(b *testing.B) {
	r := rand.New(rand.NewPCG(13, 14))
	prior := onGrid(randState(r, 2000, 0))
	prior.Tick = 1
	step := func(s *State, tick uint32) *State {
		c := &State{}
		c.CopyFrom(s)
		c.Tick = tick
		for i := range c.Players {
			if r.Float64() < 0.75 {
				p := &c.Players[i]
				p.Seq++
				for k := range p.Poses {
					p.Poses[k] = nudge(r, p.Poses[k], 3)
				}
			}
		}
		return onGrid(c)
	}
	base := step(prior, 5)
	cur := step(base, 6)
	benchCoded(b, prior, base, cur, DeltaAvatarGrid|DeltaPrior)
}
