package main

import (
	"arcade/wire"
)

// The StateDelta streams (docs/PROTOCOL.md §10.4), followed passively: per
// state stream, the header token (the multicast group token, or a
// client's session token), the ticks the capture let us assemble whole,
// as a client does (client/delta.go): a ring of the newest held ticks that
// later ticks are coded against, and the ticks being assembled from their
// parts.

// deltaRing is how many whole ticks a stream keeps, as a client does
// (statesync.Window): the server never codes against an older one.
const deltaRing = 64

// deltaStatus is what became of one StateDelta part.
type deltaStatus uint8

const (
	deltaNone       deltaStatus = iota // not a StateDelta, or not followed
	deltaPartial                       // applied; its tick awaits other parts
	deltaWhole                         // applied; its tick is now whole
	deltaCopy                          // its tick is held whole already (a copy, or the other path's)
	deltaDuplicate                     // this part of the tick was applied already
	deltaNoBaseline                    // the baseline tick is not held: not in the capture (or not whole)
	deltaBad                           // did not decode, or the tick's parts do not add up
)

var deltaStatusNames = [...]string{
	deltaNone:       "",
	deltaPartial:    "partial",
	deltaWhole:      "whole",
	deltaCopy:       "copy",
	deltaDuplicate:  "duplicate",
	deltaNoBaseline: "no-baseline",
	deltaBad:        "bad-delta",
}

func (s deltaStatus) String() string { return deltaStatusNames[s] }

// decoded reports whether the part's records are known: its players are
// then those of its tick within the part's player ids.
func (s deltaStatus) decoded() bool {
	return s == deltaPartial || s == deltaWhole || s == deltaCopy || s == deltaDuplicate
}

// deltaView is what the tracker made of one StateDelta datagram. Its
// slices are reused by the next datagram.
type deltaView struct {
	status deltaStatus
	// players are the tick's players within the part's player ids, and
	// entities the number of its entities within the part's entity ids,
	// once the part is applied (decoded statuses only).
	players  []wire.PlayerState
	entities int
	// tick holds the whole tick when status is deltaWhole: every player
	// of it. Valid until the next datagram.
	tick []wire.PlayerState
}

func (v *deltaView) reset() {
	v.status = deltaNone
	v.players = v.players[:0]
	v.entities = 0
	v.tick = v.tick[:0]
}

// deltaTracker follows every StateDelta stream of a capture.
type deltaTracker struct {
	ss      *sessions
	dec     wire.StateDecoder
	streams map[uint64]*deltaStream
}

type deltaStream struct {
	ring [deltaRing]struct {
		tick  uint32
		valid bool
		st    wire.State
	}
	newest    uint32
	hasNewest bool
	// A client assembles two ticks at once (the newest, and an older one
	// sent as a repair); a capture of several paths may interleave more.
	asm  [4]deltaAssembly
	next int
}

type deltaAssembly struct {
	active bool
	tick   uint32
	base   uint32
	kf     bool
	parts  uint8
	got    [4]uint64 // parts applied
	n      int
	st     wire.State
}

func newDeltaTracker(ss *sessions) *deltaTracker {
	return &deltaTracker{ss: ss, streams: map[uint64]*deltaStream{}}
}

func (t *deltaTracker) stream(token uint64) *deltaStream {
	s := t.streams[token]
	if s == nil {
		s = &deltaStream{}
		t.streams[token] = s
	}
	return s
}

// holds returns the whole state of tick, or nil.
func (s *deltaStream) holds(tick uint32) *wire.State {
	if s == nil {
		return nil
	}
	r := &s.ring[tick%deltaRing]
	if !r.valid || r.tick != tick {
		return nil
	}
	return &r.st
}

// keep stores a whole tick, as client/delta.go does.
func (s *deltaStream) keep(a *deltaAssembly) {
	if s.hasNewest && int32(s.newest-a.tick) >= deltaRing {
		return
	}
	r := &s.ring[a.tick%deltaRing]
	if r.valid && int32(r.tick-a.tick) > 0 {
		return
	}
	r.tick, r.valid = a.tick, true
	r.st.CopyFrom(&a.st)
	if !s.hasNewest || int32(a.tick-s.newest) > 0 {
		s.newest, s.hasNewest = a.tick, true
	}
}

// baseline returns the whole state of tick as the receivers of the stream
// token hold it: from that stream, else from the streams of the same
// receivers. A client keeps the ticks of both its paths in one ring, so a
// unicast repair may be coded against a tick that came by multicast, and
// the group's parts against a tick a client got by unicast; the server's
// tick is the same state on every path.
func (t *deltaTracker) baseline(token uint64, tick uint32) *wire.State {
	if st := t.streams[token].holds(tick); st != nil {
		return st
	}
	if s := t.ss.byToken[token]; s != nil && s.groupToken != 0 {
		if st := t.streams[s.groupToken].holds(tick); st != nil {
			return st
		}
	}
	for _, s := range t.ss.all {
		if s.groupToken == token && s.token != token {
			if st := t.streams[s.token].holds(tick); st != nil {
				return st
			}
		}
	}
	return nil
}

// observe follows the StateDelta in d, if it is one, and fills d.dv.
func (t *deltaTracker) observe(d *datagram) {
	d.dv.reset()
	if d.err != nil || d.hdr.Type != wire.TypeStateDelta {
		return
	}
	m := &d.delta
	s := t.stream(d.hdr.Token)
	v := &d.dv
	if st := s.holds(m.Tick); st != nil {
		v.status = deltaCopy
		v.view(m, st)
		return
	}
	kf := m.Flags&wire.DeltaKeyframe != 0
	var a *deltaAssembly
	for i := range s.asm {
		if s.asm[i].active && s.asm[i].tick == m.Tick {
			a = &s.asm[i]
		}
	}
	if a != nil && (a.base != m.Base || a.kf != kf || a.parts != m.Parts) {
		a.active = false // the same tick coded otherwise: start again
		a = nil
	}
	if a == nil {
		var base *wire.State
		if !kf {
			if base = t.baseline(d.hdr.Token, m.Base); base == nil {
				v.status = deltaNoBaseline
				return
			}
		}
		a = &s.asm[s.next]
		s.next = (s.next + 1) % len(s.asm)
		*a = deltaAssembly{active: true, tick: m.Tick, base: m.Base, kf: kf, parts: m.Parts, st: a.st}
		a.st.Players, a.st.Entities = a.st.Players[:0], a.st.Entities[:0]
		if base != nil {
			a.st.CopyFrom(base)
		}
		a.st.Tick = m.Tick
	}
	bit := uint64(1) << (m.Part % 64)
	if a.got[m.Part/64]&bit != 0 {
		v.status = deltaDuplicate
		v.view(m, &a.st)
		return
	}
	if err := t.dec.Apply(m, &a.st); err != nil {
		v.status = deltaBad
		a.active = false
		return
	}
	a.got[m.Part/64] |= bit
	a.n++
	v.view(m, &a.st)
	if a.n < int(a.parts) {
		v.status = deltaPartial
		return
	}
	a.active = false
	if len(a.st.Players) != int(m.PlayerCount) || len(a.st.Entities) != int(m.EntityCount) {
		v.status = deltaBad
		return
	}
	s.keep(a)
	v.status = deltaWhole
	for i := range a.st.Players {
		v.tick = append(v.tick, a.st.Players[i].Player())
	}
}

// view notes the records of st within m's id ranges.
func (v *deltaView) view(m *wire.StateDelta, st *wire.State) {
	for i := range st.Players {
		if id := st.Players[i].ClientID; id >= m.PlayerFrom && id <= m.PlayerTo {
			v.players = append(v.players, st.Players[i].Player())
		}
	}
	for i := range st.Entities {
		if id := st.Entities[i].ID; id >= m.EntityFrom && id <= m.EntityTo {
			v.entities++
		}
	}
}
