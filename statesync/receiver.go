package statesync

import (
	"math/bits"

	"github.com/arcadexr/arcade/wire"
)

// Receiver assembles StateDelta ticks from their parts, as a headset does
// (docs/PROTOCOL.md §10.4): it keeps the Window newest ticks it holds
// whole, which later ticks are coded against, and assembles the ticks
// whose parts are arriving, each from a copy of its baseline.
type Receiver struct {
	// Slots is how many ticks may be assembled at once (0: 2, the newest
	// and an older one sent as a repair; at most 4).
	Slots int
	ring  [Window]struct {
		tick  uint32
		valid bool
		st    wire.State
	}
	newest    uint32
	hasNewest bool
	asm       [4]assembly
	next      int
	dec       wire.StateDecoder
	body      []byte // a part's body, for the tick's repair
	// The parts rebuilt by the last Apply: rec[:nrec].
	rec  [wire.MaxRepairs]wire.StateDelta
	nrec int
}

type assembly struct {
	active bool
	tick   uint32
	base   uint32
	prior  uint32 // with hasPrior: the prior tick its parts predict from
	hasPri bool
	kf     bool
	parts  uint8
	got    [4]uint64 // parts applied
	n      int
	st     wire.State
	// ranges of the parts applied (player from, to, entity from, to): a
	// part of another encoding of the tick overlaps one of them.
	ranges [255][4]uint16
	// The repair of a coded tick of two parts or more (wire.Parity),
	// set up by its first part; par is kept for the slot's next tick.
	par    *wire.Parity
	parSet bool
}

// Outcome is what became of one StateDelta part.
type Outcome uint8

// Outcomes of Receiver.Apply.
const (
	Partial    Outcome = iota // applied; its tick awaits other parts
	Whole                     // applied; its tick is now whole, and kept
	Copy                      // its tick is held whole already (a copy, or by the other path)
	Duplicate                 // this part of its tick was applied already
	NoBaseline                // the baseline tick (or the prior tick) is not held
	Bad                       // it did not decode, or its tick's parts do not add up
)

var outcomeNames = [...]string{Partial: "partial", Whole: "whole", Copy: "copy", Duplicate: "duplicate", NoBaseline: "no-baseline", Bad: "bad-delta"}

func (o Outcome) String() string { return outcomeNames[o] }

// Decoded reports whether the part's records are known after it.
func (o Outcome) Decoded() bool { return o <= Duplicate }

// Holds returns the whole state of tick, or nil.
func (r *Receiver) Holds(tick uint32) *wire.State {
	s := &r.ring[tick%Window]
	if !s.valid || s.tick != tick {
		return nil
	}
	return &s.st
}

// Held is what the receiver acknowledges (§6.6): the newest tick it holds
// whole, and a mask with bit i set when it holds tick newest−i; ok false
// when it holds none.
func (r *Receiver) Held() (newest uint32, mask uint64, ok bool) {
	if !r.hasNewest {
		return 0, 0, false
	}
	for i := range uint32(Window) {
		if r.Holds(r.newest-i) != nil {
			mask |= 1 << i
		}
	}
	return r.newest, mask, true
}

// Apply takes part m. A baseline the receiver does not hold is asked of
// other (nil: none), e.g. a capture following several paths of one
// headset. It returns what became of the part and, when its records are
// known, the state of its tick: within m's ranges that is the tick's,
// whatever becomes of the other parts; whole for Whole and Copy. The state
// is valid until the next call.
func (r *Receiver) Apply(m *wire.StateDelta, other func(tick uint32) *wire.State) (Outcome, *wire.State) {
	r.nrec = 0
	if st := r.Holds(m.Tick); st != nil {
		return Copy, st
	}
	kf := m.Flags&wire.DeltaKeyframe != 0
	slots := min(max(r.Slots, 2), len(r.asm))
	var a *assembly
	for i := range slots {
		if r.asm[i].active && r.asm[i].tick == m.Tick {
			a = &r.asm[i]
		}
	}
	hasPri := m.Flags&wire.DeltaPrior != 0
	if a != nil && (a.base != m.Base || a.kf != kf || a.parts != m.Parts || a.hasPri != hasPri || hasPri && a.prior != m.Prior ||
		m.Flags&wire.DeltaParity == 0 && a.overlaps(m)) {
		// The same tick coded otherwise (a repair against another
		// baseline, or against the same one split elsewhere): start it
		// again from this part.
		a.active = false
		a = nil
	}
	var prior *wire.State
	if hasPri {
		// The prior is looked up for every part: the receiver must hold
		// it, as it holds the baseline.
		if prior = r.Holds(m.Prior); prior == nil && other != nil {
			prior = other(m.Prior)
		}
		if prior == nil {
			if a != nil {
				a.active = false
			}
			return NoBaseline, nil
		}
	}
	if a == nil {
		var base *wire.State
		if !kf {
			if base = r.Holds(m.Base); base == nil && other != nil {
				base = other(m.Base)
			}
			if base == nil {
				return NoBaseline, nil
			}
		}
		a = &r.asm[r.next%slots]
		r.next = (r.next + 1) % slots
		*a = assembly{active: true, tick: m.Tick, base: m.Base, prior: m.Prior, hasPri: hasPri, kf: kf, parts: m.Parts, st: a.st, par: a.par}
		a.st.Players, a.st.Entities = a.st.Players[:0], a.st.Entities[:0]
		if base != nil {
			a.st.CopyFrom(base)
		}
		a.st.Tick = m.Tick
	}
	if m.Flags&wire.DeltaParity != 0 {
		return r.parity(a, m, prior)
	}
	bit := uint64(1) << (m.Part % 64)
	if a.got[m.Part/64]&bit != 0 {
		if a.ranges[m.Part] != [4]uint16{m.PlayerFrom, m.PlayerTo, m.EntityFrom, m.EntityTo} {
			// The same part of another encoding: start again from it.
			a.active = false
			return r.Apply(m, other)
		}
		return Duplicate, &a.st
	}
	if err := r.dec.ApplyPrior(m, &a.st, prior); err != nil {
		a.active = false
		return Bad, nil
	}
	a.got[m.Part/64] |= bit
	a.ranges[m.Part] = [4]uint16{m.PlayerFrom, m.PlayerTo, m.EntityFrom, m.EntityTo}
	a.n++
	if m.Flags&wire.DeltaCoded != 0 && a.parts > 1 {
		// Kept for repair parts that may rebuild lost ones.
		r.body = m.Append(r.body[:0])
		r.repair(a).AddData(int(m.Part), r.body)
		if out, st, ok := r.recover(a, prior); ok {
			return out, st
		}
	}
	return r.done(a, m)
}

// done reports what a's tick is after a part was applied: Partial, or
// Whole (and kept) when every part is, or Bad when they do not add up.
func (r *Receiver) done(a *assembly, m *wire.StateDelta) (Outcome, *wire.State) {
	if a.n < int(a.parts) {
		return Partial, &a.st
	}
	a.active = false
	if len(a.st.Players) != int(m.PlayerCount) || len(a.st.Entities) != int(m.EntityCount) || !a.covers() {
		return Bad, nil // the parts do not add up to the tick
	}
	r.keep(a)
	return Whole, &a.st
}

// repair returns a's repair, set up on first use.
func (r *Receiver) repair(a *assembly) *wire.Parity {
	if a.par == nil {
		a.par = new(wire.Parity)
	}
	if !a.parSet {
		a.parSet = true
		a.par.Reset(int(a.parts))
	}
	return a.par
}

// parity takes in a repair part of a's tick.
func (r *Receiver) parity(a *assembly, m *wire.StateDelta, prior *wire.State) (Outcome, *wire.State) {
	g := r.repair(a)
	if g.HasRepair(int(m.Part)) {
		return Duplicate, &a.st
	}
	r.body = m.Append(r.body[:0])
	g.AddParity(r.body)
	if out, st, ok := r.recover(a, prior); ok {
		return out, st
	}
	return Partial, &a.st
}

// recover rebuilds and applies the parts a lacks, if its repair can
// (ok); Recovered then returns them.
func (r *Receiver) recover(a *assembly, prior *wire.State) (Outcome, *wire.State, bool) {
	g := r.repair(a)
	if n, ok := g.Missing(); !ok || n > len(r.rec) || !g.Recover() {
		return 0, nil, false
	}
	var m *wire.StateDelta
	for part := range int(a.parts) {
		if a.got[part/64]>>(part%64)&1 != 0 {
			continue
		}
		m = &r.rec[r.nrec]
		r.body = g.Body(r.body[:0], part)
		if _, err := m.Parse(r.body); err != nil || int(m.Part) != part || m.Flags&wire.DeltaParity != 0 {
			a.active = false
			return Bad, nil, true
		}
		if err := r.dec.ApplyPrior(m, &a.st, prior); err != nil {
			a.active = false
			return Bad, nil, true
		}
		a.got[part/64] |= 1 << (part % 64)
		a.ranges[part] = [4]uint16{m.PlayerFrom, m.PlayerTo, m.EntityFrom, m.EntityTo}
		a.n++
		r.nrec++
	}
	if m == nil {
		return 0, nil, false
	}
	out, st := r.done(a, m)
	return out, st, true
}

// Recovered returns the parts the last Apply rebuilt from repair parts
// (and applied, their records within their ranges in the state Apply
// returned): none, one, or several. They are valid until the next call.
func (r *Receiver) Recovered() []wire.StateDelta { return r.rec[:r.nrec] }

// overlaps reports whether m's id ranges meet those of a part applied
// to a other than m itself: the parts of one encoding of a tick never do.
func (a *assembly) overlaps(m *wire.StateDelta) bool {
	meet := func(f1, t1, f2, t2 uint16) bool { return f1 <= t1 && f2 <= t2 && f1 <= t2 && f2 <= t1 }
	for w, g := range a.got {
		for ; g != 0; g &= g - 1 {
			i := w*64 + bits.TrailingZeros64(g)
			if i == int(m.Part) {
				continue
			}
			q := &a.ranges[i]
			if meet(q[0], q[1], m.PlayerFrom, m.PlayerTo) || meet(q[2], q[3], m.EntityFrom, m.EntityTo) {
				return true
			}
		}
	}
	return false
}

// covers reports whether the ranges of a's parts, in part order, cover
// every player id and every entity id once, as those of one encoding of
// a tick do.
func (a *assembly) covers() bool {
	for k := 0; k < 4; k += 2 {
		next := 0
		for i := range int(a.parts) {
			from, to := int(a.ranges[i][k]), int(a.ranges[i][k+1])
			if from > to {
				continue // empty
			}
			if from != next {
				return false
			}
			next = to + 1
		}
		if next != 1<<16 {
			return false
		}
	}
	return true
}

// keep stores the whole state of an assembly.
func (r *Receiver) keep(a *assembly) {
	if r.hasNewest && int32(r.newest-a.tick) >= Window {
		return // older than anything a server codes against
	}
	s := &r.ring[a.tick%Window]
	if s.valid && int32(s.tick-a.tick) > 0 {
		return // the slot holds a newer tick
	}
	s.tick, s.valid = a.tick, true
	s.st.CopyFrom(&a.st)
	if !r.hasNewest || int32(a.tick-r.newest) > 0 {
		r.newest, r.hasNewest = a.tick, true
	}
}
