package statesync

import "arcade/wire"

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
}

type assembly struct {
	active bool
	tick   uint32
	base   uint32
	kf     bool
	parts  uint8
	got    [4]uint64 // parts applied
	n      int
	st     wire.State
}

// Outcome is what became of one StateDelta part.
type Outcome uint8

// Outcomes of Receiver.Apply.
const (
	Partial    Outcome = iota // applied; its tick awaits other parts
	Whole                     // applied; its tick is now whole, and kept
	Copy                      // its tick is held whole already (a copy, or by the other path)
	Duplicate                 // this part of its tick was applied already
	NoBaseline                // the baseline tick is not held
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
	if a != nil && (a.base != m.Base || a.kf != kf || a.parts != m.Parts) {
		// The same tick coded otherwise (a repair against another
		// baseline, say): start it again from this part.
		a.active = false
		a = nil
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
		*a = assembly{active: true, tick: m.Tick, base: m.Base, kf: kf, parts: m.Parts, st: a.st}
		a.st.Players, a.st.Entities = a.st.Players[:0], a.st.Entities[:0]
		if base != nil {
			a.st.CopyFrom(base)
		}
		a.st.Tick = m.Tick
	}
	bit := uint64(1) << (m.Part % 64)
	if a.got[m.Part/64]&bit != 0 {
		return Duplicate, &a.st
	}
	if err := r.dec.Apply(m, &a.st); err != nil {
		a.active = false
		return Bad, nil
	}
	a.got[m.Part/64] |= bit
	if a.n++; a.n < int(a.parts) {
		return Partial, &a.st
	}
	a.active = false
	if len(a.st.Players) != int(m.PlayerCount) || len(a.st.Entities) != int(m.EntityCount) {
		return Bad, nil // the parts do not add up to the tick
	}
	r.keep(a)
	return Whole, &a.st
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
