package main

import (
	"math"
	"math/rand/v2"

	"arcade/statesync"
	"arcade/wire"
)

// deltaEncoder is the server's StateDelta stream (docs/PROTOCOL.md §10.4):
// each tick coded against the group's baseline (statesync.Group), repairs
// by unicast to receivers that lack it. It simulates its own receivers,
// because what a receiver holds depends on what it could decode: each
// loses datagrams (the group's, its repairs, its reports) independently,
// decodes every tick whose parts all arrived and whose baseline it holds,
// checks the result against the sender's state, and reports what it holds
// after every tick, seen by the sender RTT later (at least a tick).
type deltaEncoder struct {
	rate  int
	loss  float64
	delay int
	rng   *rand.Rand
	group statesync.Group
	hist  statesync.History
	enc   wire.StateEncoder
	rep   wire.StateEncoder
	cur   wire.State
	rx    []*deltaReceiver
	mem   []*statesync.Member
	acks  []deltaAck
	hash  int

	repairBytes, repairDgrams int
	ticks                     int
	mismatches, decoded       int
}

type deltaReceiver struct {
	m        statesync.Member
	ring     map[uint32]*wire.State
	newest   uint32
	has      bool
	dec      wire.StateDecoder
	work     wire.State
	last     int // tick of the last on-time decode, or -1
	worstGap int // ticks
	msg      wire.StateDelta
}

type deltaAck struct {
	visible int
	r       *deltaReceiver
	held    statesync.Held
}

func init() {
	RegisterEncoder("delta", func(cfg EncoderConfig) Encoder {
		rc := cfg.Run
		e := &deltaEncoder{rate: cfg.Rate, loss: rc.Loss, hash: cfg.HashEvery,
			delay: max(1, int(math.Ceil(rc.RTT.Seconds()*float64(cfg.Rate)-1e-9))),
			rng:   rand.New(rand.NewPCG(rc.Seed, 0xde17a))}
		e.group.Settings = statesync.DefaultSettings(cfg.Rate)
		for range max(rc.Receivers, 1) {
			r := &deltaReceiver{ring: map[uint32]*wire.State{}, last: -1}
			e.rx = append(e.rx, r)
			e.mem = append(e.mem, &r.m)
		}
		return e
	})
}

func (e *deltaEncoder) Name() string { return "delta" }

func (e *deltaEncoder) now(t int) int64 { return int64(t+1) * 1e9 / int64(e.rate) }

func (e *deltaEncoder) Tick(t int, s *State, _ Held, sizes []int) []int {
	tick := uint32(t + 1) // tick 0 is not a tick the group ever sees
	e.cur.Tick = tick
	e.cur.Players = e.cur.Players[:0]
	for i := range s.Players {
		e.cur.Players = append(e.cur.Players, wire.QuantPlayer(&s.Players[i]))
	}
	e.cur.Entities = e.cur.Entities[:0]
	for i := range s.Entities {
		e.cur.Entities = append(e.cur.Entities, wire.QuantEntity(&s.Entities[i]))
	}
	now := e.now(t)
	// Reports that reached the sender by now.
	rest := e.acks[:0]
	for _, a := range e.acks {
		if a.visible > t {
			rest = append(rest, a)
			continue
		}
		if a.held.At == 0 || int32(a.held.Newest-a.r.m.Held.Newest) >= 0 || a.r.m.Held.At == 0 {
			a.r.m.Held = a.held
		}
	}
	e.acks = rest
	var repairs []struct {
		r      *deltaReceiver
		target uint32
	}
	base, ok := e.group.Plan(now, tick, &e.hist, e.mem, func(m *statesync.Member, target uint32) {
		for _, r := range e.rx {
			if &r.m == m {
				repairs = append(repairs, struct {
					r      *deltaReceiver
					target uint32
				}{r, target})
			}
		}
	})
	// Repairs, by unicast, arrive before the tick's datagrams.
	for _, rp := range repairs {
		st := e.hist.Get(rp.target)
		if st == nil {
			continue
		}
		h := wire.StateDelta{Tick: rp.target, ServerTime: uint64(e.now(int(rp.target)-1) / 1000)}
		var b *wire.State
		if bt, ok := rp.r.m.Held.NewestIn(func(u uint32) bool { return u != rp.target && e.hist.Has(u) }); ok {
			b, h.Base = e.hist.Get(bt), bt
		}
		parts := e.rep.Encode(&h, b, st, wire.MaxBodySize)
		for _, p := range parts {
			e.repairBytes += len(p) + wire.HeaderSize + ipUDPOverhead
			e.repairDgrams++
		}
		e.deliver(rp.r, parts, st, -1)
	}
	h := wire.StateDelta{Tick: tick, ServerTime: uint64(now / 1000)}
	if e.hash > 0 && t%e.hash == 0 {
		h.Flags, h.StateHash = wire.DeltaHasHash, 1
	}
	var b *wire.State
	if ok {
		b, h.Base = e.hist.Get(base), base
	}
	parts := e.enc.Encode(&h, b, &e.cur, wire.MaxBodySize)
	for _, p := range parts {
		sizes = append(sizes, len(p))
	}
	for _, r := range e.rx {
		e.deliver(r, parts, &e.cur, t)
		held := statesync.Held{At: e.now(t + e.delay)}
		if r.has {
			held.Newest = r.newest
			for i := range uint32(statesync.Window) {
				if r.ring[r.newest-i] != nil {
					held.Mask |= 1 << i
				}
			}
		} else {
			held.At = 0
		}
		if held.At != 0 && e.rng.Float64() >= e.loss {
			e.acks = append(e.acks, deltaAck{visible: t + e.delay, r: r, held: held})
		}
	}
	e.hist.Put(&e.cur)
	e.ticks++
	return sizes
}

// deliver gives r the parts of a tick whose state is want, each lost with
// the loss rate; on time (t ≥ 0) means it is the tick just sent.
func (e *deltaEncoder) deliver(r *deltaReceiver, parts [][]byte, want *wire.State, t int) {
	var first wire.StateDelta
	for i, p := range parts {
		if e.rng.Float64() < e.loss {
			return // a lost part: the tick is not held
		}
		m := &r.msg
		if _, err := m.Parse(p); err != nil {
			panic(err)
		}
		if i == 0 {
			first = *m
			if m.Flags&wire.DeltaKeyframe != 0 {
				r.work.Players, r.work.Entities = r.work.Players[:0], r.work.Entities[:0]
			} else if b := r.ring[m.Base]; b != nil {
				r.work.CopyFrom(b)
			} else {
				return // no baseline: cannot decode
			}
		}
		if err := r.dec.Apply(m, &r.work); err != nil {
			e.mismatches++
			return
		}
	}
	if len(parts) == 0 {
		return
	}
	_ = first
	r.work.Tick = want.Tick
	e.decoded++
	if !r.work.Equal(want) {
		e.mismatches++
		return
	}
	st := &wire.State{}
	st.CopyFrom(&r.work)
	r.ring[want.Tick] = st
	delete(r.ring, want.Tick-statesync.Window)
	if !r.has || int32(want.Tick-r.newest) > 0 {
		r.newest, r.has = want.Tick, true
	}
	if t >= 0 {
		if r.last >= 0 {
			r.worstGap = max(r.worstGap, t-r.last)
		}
		r.last = t
	}
}

func (e *deltaEncoder) fill(res *Result) {
	if e.ticks == 0 {
		return
	}
	res.RepairKbpsWire = float64(e.repairBytes) * 8 * float64(e.rate) / float64(e.ticks) / 1000
	worst := 0
	for _, r := range e.rx {
		worst = max(worst, r.worstGap)
	}
	res.WorstGapMs = float64(worst) * 1000 / float64(e.rate)
	res.Mismatches = e.mismatches
	res.Decoded = e.decoded
}
