package main

import (
	"github.com/arcadexr/arcade/statesync"
	"github.com/arcadexr/arcade/wire"
)

// The StateDelta streams (docs/PROTOCOL.md §10.4), followed passively: per
// state stream, the header token (the multicast group token, or a
// client's session token), the ticks the capture let us assemble whole,
// as a client does (client/delta.go): a ring of the newest held ticks that
// later ticks are coded against, and the ticks being assembled from their
// parts.

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
	streams map[uint64]*deltaStream
}

// deltaStream is one state stream's receiver. A client assembles two
// ticks at once (the newest, and an older one sent as a repair); a capture
// of several paths may interleave more.
type deltaStream struct {
	rx statesync.Receiver
}

func newDeltaTracker(ss *sessions) *deltaTracker {
	return &deltaTracker{ss: ss, streams: map[uint64]*deltaStream{}}
}

func (t *deltaTracker) stream(token uint64) *deltaStream {
	s := t.streams[token]
	if s == nil {
		s = &deltaStream{rx: statesync.Receiver{Slots: 4}}
		t.streams[token] = s
	}
	return s
}

// holds returns the whole state of tick, or nil.
func (s *deltaStream) holds(tick uint32) *wire.State {
	if s == nil {
		return nil
	}
	return s.rx.Holds(tick)
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
	out, st := s.rx.Apply(m, func(tick uint32) *wire.State { return t.baseline(d.hdr.Token, tick) })
	v.status = statusOf[out]
	if !out.Decoded() {
		return
	}
	if rec := s.rx.Recovered(); len(rec) > 0 {
		for i := range rec {
			v.view(&rec[i], st) // a repair part: what it rebuilt
		}
	} else if m.Flags&wire.DeltaParity == 0 {
		v.view(m, st)
	}
	if out == statesync.Whole {
		for i := range st.Players {
			v.tick = append(v.tick, st.Players[i].Player())
		}
	}
}

// statusOf names a receiver's outcomes as the capture shows them.
var statusOf = [...]deltaStatus{
	statesync.Partial:    deltaPartial,
	statesync.Whole:      deltaWhole,
	statesync.Copy:       deltaCopy,
	statesync.Duplicate:  deltaDuplicate,
	statesync.NoBaseline: deltaNoBaseline,
	statesync.Bad:        deltaBad,
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
