package main

import (
	"math"
	"math/rand/v2"

	"github.com/arcadexr/arcade/statesync"
	"github.com/arcadexr/arcade/wire"
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
	truth wire.State
	// Under a budget (delta+budget) the sent state is shaped.
	budget               statesync.Budget
	last                 uint32
	wait                 []int // by entity id: ticks its sent state has not been its true one
	deferredSum, maxWait int
	name                 string
	flags                uint8 // DeltaCoded, DeltaAvatarGrid
	// parity: coded ticks get repair parts while some receiver's reports
	// show losses, as many as the worst receiver's share lost over the
	// last second calls for (statesync.Repairs), as the server sends them.
	parity      bool
	worst       float64 // that share (statesync.LossOf)
	parityBytes int
	// streaks counts, by length in ticks, the runs of ticks a receiver
	// showed a record other than the one sent (after a loss).
	streaks []int
	warm    int // ticks left out of the staleness, as of the bytes
	rx      []*deltaReceiver
	mem     []*statesync.Member
	acks    []deltaAck
	hash    int
	// grp is how the group's parts of each recent tick were coded: a
	// repair against the same baseline and prior is coded the same way,
	// as the server does (so a receiver never mixes two encodings).
	grp [statesync.Window]struct {
		h    wire.StateDelta // as asked of the encoder
		kf   bool
		pri  bool
		room int
		// parts and repairs: data and repair parts the group was sent.
		parts, repairs int
	}

	repairBytes, repairDgrams int
	recovered                 int      // parts rebuilt from parity
	ageSum, ageN              int      // the group's baseline's age, ticks
	par                       []byte   // this tick's repair parts
	parOff                    []int    // their bounds in par
	all                       [][]byte // data and repair parts
	ticks                     int
	mismatches, decoded       int
}

type deltaReceiver struct {
	m   statesync.Member
	rx  statesync.Receiver // as a headset assembles and keeps ticks
	msg wire.StateDelta
	// Datagrams of the group in each of the last ten 100 ms: got and
	// lost, for the losses its delivery reports would show.
	got, lost [10]int
	// What the receiver shows, record by record (by id), from every part
	// it applied, and for how many ticks each has differed from the sent.
	showP  []wire.QPlayer
	showE  []wire.QEntity
	staleP []int
	staleE []int
}

type deltaAck struct {
	visible int
	r       *deltaReceiver
	held    statesync.Held
}

func init() {
	RegisterEncoder("delta", func(cfg EncoderConfig) Encoder { return newDeltaEncoder(cfg, 0) })
	RegisterEncoder("delta+budget", func(cfg EncoderConfig) Encoder {
		e := newDeltaEncoder(cfg, cfg.BudgetKbps)
		e.name = "delta+budget"
		return e
	})
	// The coded stream as the server sends it to clients that decode it
	// (wire.DeltaCoded): range-coded, avatars on the avatar grid, poses
	// predicted from a prior tick.
	coded := wire.DeltaCoded | wire.DeltaAvatarGrid | wire.DeltaPrior | wire.DeltaPriorEntities
	RegisterEncoder("coded", func(cfg EncoderConfig) Encoder {
		e := newDeltaEncoder(cfg, 0)
		e.name, e.flags, e.parity = "coded", uint8(coded), true
		return e
	})
	// The same with avatars on the wire's own grid: what the avatar grid
	// saves.
	RegisterEncoder("coded-fine", func(cfg EncoderConfig) Encoder {
		e := newDeltaEncoder(cfg, 0)
		e.name, e.flags, e.parity = "coded-fine", uint8(coded&^wire.DeltaAvatarGrid), true
		return e
	})
	RegisterEncoder("coded+budget", func(cfg EncoderConfig) Encoder {
		e := newDeltaEncoder(cfg, cfg.BudgetKbps)
		e.name, e.flags, e.parity = "coded+budget", uint8(coded), true
		return e
	})
}

func newDeltaEncoder(cfg EncoderConfig, budgetKbps int) *deltaEncoder {
	{
		rc := cfg.Run
		e := &deltaEncoder{rate: cfg.Rate, loss: rc.Loss, hash: cfg.HashEvery,
			delay: max(1, int(math.Ceil(rc.RTT.Seconds()*float64(cfg.Rate)-1e-9))),
			rng:   rand.New(rand.NewPCG(rc.Seed, 0xde17a))}
		e.group.Settings = statesync.DefaultSettings(cfg.Rate)
		for range max(rc.Receivers, 1) {
			r := &deltaReceiver{rx: statesync.Receiver{Slots: 4}}
			r.m.Lag = int64(rc.RTT) // the clock is in ns
			e.rx = append(e.rx, r)
			e.mem = append(e.mem, &r.m)
		}
		e.name = "delta"
		e.warm = int(math.Round(rc.Warmup * float64(cfg.Rate)))
		e.budget.Bits = statesync.BitsFor(budgetKbps, cfg.Rate)
		e.wait = make([]int, 1<<16)
		return e
	}
}

func (e *deltaEncoder) Name() string { return e.name }

func (e *deltaEncoder) now(t int) int64 { return int64(t+1) * 1e9 / int64(e.rate) }

func (e *deltaEncoder) Tick(t int, s *State, _ Held, sizes []int) []int {
	tick := uint32(t + 1) // tick 0 is not a tick the group ever sees
	e.truth.From(tick, s.Players, s.Entities)
	if e.flags&wire.DeltaAvatarGrid != 0 {
		for i := range e.truth.Players {
			wire.AvatarGridPlayer(&e.truth.Players[i])
		}
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
	if ok && t >= e.warm {
		e.ageSum += int(tick - base)
		e.ageN++
	}
	// Repairs, by unicast, arrive before the tick's datagrams.
	for _, rp := range repairs {
		st := e.hist.Get(rp.target)
		if st == nil {
			continue
		}
		h := wire.StateDelta{Tick: rp.target, ServerTime: uint64(e.now(int(rp.target)-1) / 1000), Flags: e.flags}
		var b, pr *wire.State
		room := wire.MaxBodySize
		g := &e.grp[rp.target%statesync.Window]
		// A receiver that holds the baseline and prior the group's parts
		// of the tick were coded against is sent it coded so: it has
		// some of those parts (and repair parts) already.
		// A keyframe the group was sent is sent as it was to any.
		grpOK := g.h.Tick == rp.target && h.Flags&wire.DeltaCoded != 0 &&
			(g.kf || rp.r.m.Held.Has(g.h.Base)) && (!g.pri || rp.r.m.Held.Has(g.h.Prior))
		if grpOK {
			if !g.kf {
				b, h.Base = e.hist.Get(g.h.Base), g.h.Base
			}
			if g.pri {
				pr, h.Prior = e.hist.Get(g.h.Prior), g.h.Prior
			}
			h.Flags, h.StateHash, room = g.h.Flags, g.h.StateHash, g.room
		} else if bt, ok := rp.r.m.Held.NewestIn(func(u uint32) bool { return u != rp.target && e.hist.Has(u) }); ok {
			b, h.Base = e.hist.Get(bt), bt
			if pt, ok := rp.r.m.Held.PriorFor(bt, rp.target, e.group.PriorGap, e.hist.Has); ok && int32(rp.target-bt) > 0 {
				pr, h.Prior = e.hist.Get(pt), pt
			}
		}
		parts := e.rep.EncodePrior(&h, b, pr, st, room)
		if grpOK && !g.kf && g.repairs > 0 {
			// The group's encoding, with repair parts: the receiver
			// lacks a few of its parts, which as many new repair parts
			// rebuild. (One that lacks a keyframe may hold none of it.)
			if from, n := rp.r.m.RepairParts(rp.target, len(parts), g.repairs); n > 0 {
				e.par, e.parOff = e.par[:0], e.parOff[:0]
				for j := from; j < from+n; j++ {
					e.parOff = append(e.parOff, len(e.par))
					e.par = wire.AppendParity(e.par, parts, j)
				}
				e.parOff = append(e.parOff, len(e.par))
				e.all = e.all[:0]
				for j := range n {
					e.all = append(e.all, e.par[e.parOff[j]:e.parOff[j+1]])
				}
				parts = e.all
			}
		}
		for _, p := range parts {
			e.repairBytes += len(p) + wire.HeaderSize + ipUDPOverhead
			e.repairDgrams++
		}
		e.deliver(rp.r, parts, st, -1)
	}
	h := wire.StateDelta{Tick: tick, ServerTime: uint64(now / 1000), Flags: e.flags}
	if e.hash > 0 && t%e.hash == 0 {
		h.Flags, h.StateHash = h.Flags|wire.DeltaHasHash, 1
	}
	var b, pr *wire.State
	if ok {
		b, h.Base = e.hist.Get(base), base
		if pt, ok := e.group.Prior(); ok {
			pr, h.Prior = e.hist.Get(pt), pt
		}
	}
	e.budget.Shape(e.hist.Get(e.last), b, &e.truth, &e.cur)
	e.deferredSum += e.budget.Deferred
	for i := range e.cur.Entities {
		id := e.cur.Entities[i].ID
		if e.cur.Entities[i] != e.truth.Entities[i] {
			e.wait[id]++
			e.maxWait = max(e.maxWait, e.wait[id])
		} else {
			e.wait[id] = 0
		}
	}
	e.last = tick
	if e.parity && t%max(e.rate/10, 1) == 0 {
		// Every 100 ms, as delivery reports come: the worst receiver's
		// share lost over the last second (ten windows of 100 ms).
		e.worst = 0
		w := t / max(e.rate/10, 1) % 10
		for _, r := range e.rx {
			got, lost := 0, 0
			for i := range r.got {
				got, lost = got+r.got[i], lost+r.lost[i]
			}
			e.worst = max(e.worst, statesync.LossOf(got, lost))
			r.got[w], r.lost[w] = 0, 0
		}
	}
	parityOn := e.parity && e.worst > statesync.ParityLoss
	room := wire.MaxBodySize
	if parityOn {
		room -= wire.ParityRoom
	}
	g := &e.grp[tick%statesync.Window]
	g.h, g.kf, g.pri, g.room = h, b == nil, pr != nil, room
	parts := e.enc.EncodePrior(&h, b, pr, &e.cur, room)
	for _, p := range parts {
		sizes = append(sizes, len(p))
	}
	g.parts, g.repairs = len(parts), 0
	if parityOn && h.Flags&wire.DeltaCoded != 0 {
		g.repairs = statesync.Repairs(len(parts), e.worst)
	}
	if g.repairs > 0 {
		e.group.SentRepairs(tick)
		e.par, e.parOff = e.par[:0], e.parOff[:0]
		for j := range g.repairs {
			e.parOff = append(e.parOff, len(e.par))
			e.par = wire.AppendParity(e.par, parts, j)
		}
		e.parOff = append(e.parOff, len(e.par))
		e.all = append(e.all[:0], parts...)
		for j := range len(e.parOff) - 1 {
			p := e.par[e.parOff[j]:e.parOff[j+1]]
			e.all = append(e.all, p)
			sizes = append(sizes, len(p))
			if t >= e.warm {
				e.parityBytes += len(p)
			}
		}
		parts = e.all
	}
	for _, r := range e.rx {
		e.deliver(r, parts, &e.cur, t)
		if t >= e.warm {
			e.staleness(r)
		}
		held := statesync.Held{At: e.now(t + e.delay)}
		if n, mask, ok := r.rx.Held(); ok {
			held.Newest, held.Mask = n, mask
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
// the loss rate. Each part that arrives (with its baseline held) is applied
// to the tick's assembly and to what r shows; the tick is held when every
// part was applied, and must then be exactly want.
func (e *deltaEncoder) deliver(r *deltaReceiver, parts [][]byte, want *wire.State, t int) {
	for _, p := range parts {
		lost := e.rng.Float64() < e.loss
		if t >= 0 {
			w := t / max(e.rate/10, 1) % 10
			if lost {
				r.lost[w]++
			} else {
				r.got[w]++
			}
		}
		if lost {
			continue
		}
		m := &r.msg
		if _, err := m.Parse(p); err != nil {
			panic(err)
		}
		out, st := r.rx.Apply(m, nil)
		if out == statesync.Bad {
			e.mismatches++
			continue
		}
		if !out.Decoded() {
			continue // no baseline (or prior): the reports tell the sender
		}
		if t >= 0 {
			if m.Flags&wire.DeltaParity == 0 {
				r.show(m, st)
			}
			for i := range r.rx.Recovered() {
				r.show(&r.rx.Recovered()[i], st)
				e.recovered++
			}
		}
		if out == statesync.Whole {
			e.decoded++
			if !st.Equal(want) {
				e.mismatches++
			}
		}
	}
}

// show takes into what r shows the records of st within m's ranges.
func (r *deltaReceiver) show(m *wire.StateDelta, st *wire.State) {
	for _, p := range st.Players {
		if p.ClientID >= m.PlayerFrom && p.ClientID <= m.PlayerTo {
			for int(p.ClientID) >= len(r.showP) {
				r.showP, r.staleP = append(r.showP, wire.QPlayer{}), append(r.staleP, 0)
			}
			r.showP[p.ClientID] = p
		}
	}
	for _, x := range st.Entities {
		if x.ID >= m.EntityFrom && x.ID <= m.EntityTo {
			for int(x.ID) >= len(r.showE) {
				r.showE, r.staleE = append(r.showE, wire.QEntity{}), append(r.staleE, 0)
			}
			r.showE[x.ID] = x
		}
	}
}

// staleness counts, for every record sent this tick, whether r shows it;
// a run of ticks it did not ends in e.streaks.
func (e *deltaEncoder) staleness(r *deltaReceiver) {
	end := func(n *int) {
		if *n > 0 {
			for len(e.streaks) <= *n {
				e.streaks = append(e.streaks, 0)
			}
			e.streaks[*n]++
			*n = 0
		}
	}
	for _, p := range e.cur.Players {
		if int(p.ClientID) < len(r.showP) && r.showP[p.ClientID] == p {
			end(&r.staleP[p.ClientID])
		} else if int(p.ClientID) < len(r.staleP) {
			r.staleP[p.ClientID]++
		}
	}
	for _, x := range e.cur.Entities {
		if int(x.ID) < len(r.showE) && r.showE[x.ID] == x {
			end(&r.staleE[x.ID])
		} else if int(x.ID) < len(r.staleE) {
			r.staleE[x.ID]++
		}
	}
}

func (e *deltaEncoder) fill(res *Result) {
	if e.ticks == 0 {
		return
	}
	res.RepairKbpsWire = float64(e.repairBytes) * 8 * float64(e.rate) / float64(e.ticks) / 1000
	// The longest and the 99th-percentile run of ticks a receiver showed
	// a record other than the one sent, in ms.
	total := 0
	for _, n := range e.streaks {
		total += n
	}
	seen := 0
	for n, c := range e.streaks {
		if c == 0 {
			continue
		}
		seen += c
		if res.StaleP99Ms == 0 && seen*100 >= total*99 {
			res.StaleP99Ms = float64(n) * 1000 / float64(e.rate)
		}
		res.WorstGapMs = float64(n) * 1000 / float64(e.rate)
	}
	if e.budget.Bits > 0 {
		res.BudgetKbps = e.budget.Bits * e.rate / 1000
		res.DeferredPerTick = float64(e.deferredSum) / float64(e.ticks)
		res.LongestWaitMs = float64(e.maxWait) * 1000 / float64(e.rate)
	}
	res.ParityKbps = float64(e.parityBytes) * 8 * float64(e.rate) / float64(max(e.ticks-e.warm, 1)) / 1000
	res.Recovered = e.recovered
	if e.ageN > 0 {
		res.GroupBaseAge = float64(e.ageSum) / float64(e.ageN)
	}
	res.Mismatches = e.mismatches
	res.Decoded = e.decoded
}
