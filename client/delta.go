package client

import (
	"arcade/statesync"
	"arcade/wire"
)

// deltaRx is the receiving side of the StateDelta stream (docs/PROTOCOL.md
// §10.4): the newest complete ticks, which later ticks are coded against,
// and the ticks being assembled from their parts.
type deltaRx struct {
	on  bool // the server's Accepted offered StateDelta
	dec wire.StateDecoder
	// ring holds the complete ticks, at tick % Window.
	ring [statesync.Window]struct {
		tick  uint32
		valid bool
		st    wire.State
	}
	newest    uint32
	hasNewest bool
	// Two ticks may be assembled at once: the group's newest, and an
	// older one sent as a repair.
	asm  [2]assembly
	next int // which assembly a new tick takes
}

type assembly struct {
	active bool
	tick   uint32
	base   uint32
	kf     bool
	parts  uint8
	got    [4]uint64 // parts received
	n      int
	st     wire.State
}

// holds returns the complete state of tick, or nil.
func (d *deltaRx) holds(tick uint32) *wire.State {
	r := &d.ring[tick%statesync.Window]
	if !r.valid || r.tick != tick {
		return nil
	}
	return &r.st
}

// held returns what the client reports holding: the newest complete tick,
// and a mask with bit i set when tick newest−i is held.
func (d *deltaRx) held() (uint32, uint64) {
	if !d.hasNewest {
		return 0, 0
	}
	var mask uint64
	for i := range uint32(statesync.Window) {
		if d.holds(d.newest-i) != nil {
			mask |= 1 << i
		}
	}
	return d.newest, mask
}

// keep stores the complete state of an assembly.
func (d *deltaRx) keep(a *assembly) {
	if d.hasNewest && int32(d.newest-a.tick) >= statesync.Window {
		return // older than anything the server codes against
	}
	r := &d.ring[a.tick%statesync.Window]
	if r.valid && int32(r.tick-a.tick) > 0 {
		return // the slot holds a newer tick
	}
	r.tick, r.valid = a.tick, true
	r.st.CopyFrom(&a.st)
	if !d.hasNewest || int32(a.tick-d.newest) > 0 {
		d.newest, d.hasNewest = a.tick, true
	}
}

// handleDelta applies the StateDelta part m to the assembly of its tick
// (started from a copy of its baseline), delivers the part's records as a
// Snapshot part unless the tick is older than the newest shown (a repair),
// and keeps the tick once it is whole.
func (s *Session) handleDelta(now, rxTime int64, viaMulticast bool, m *wire.StateDelta) {
	d := &s.delta
	if d.holds(m.Tick) != nil {
		s.drop(DropDuplicate) // complete already (the other path, or a repair)
		return
	}
	kf := m.Flags&wire.DeltaKeyframe != 0
	var a *assembly
	for i := range d.asm {
		if d.asm[i].active && d.asm[i].tick == m.Tick {
			a = &d.asm[i]
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
			if base = d.holds(m.Base); base == nil {
				s.drop(DropNoBaseline)
				return
			}
		}
		a = &d.asm[d.next]
		d.next = (d.next + 1) % len(d.asm)
		*a = assembly{active: true, tick: m.Tick, base: m.Base, kf: kf, parts: m.Parts, st: a.st}
		a.st.Tick = m.Tick
		a.st.Players, a.st.Entities = a.st.Players[:0], a.st.Entities[:0]
		if base != nil {
			a.st.CopyFrom(base)
			a.st.Tick = m.Tick
		}
	}
	bit := uint64(1) << (m.Part % 64)
	if a.got[m.Part/64]&bit != 0 {
		s.drop(DropDuplicate)
		return
	}
	if err := d.dec.Apply(m, &a.st); err != nil {
		s.drop(DropBadDelta)
		a.active = false
		return
	}
	a.got[m.Part/64] |= bit
	a.n++
	old := s.haveTick && wire.InputSeqNewer(s.newestTick, a.tick) && !s.stillAhead(now, s.newestTime)
	if !old {
		// Each part is shown as it arrives: within its ranges the
		// assembly is the tick's state, whatever the other parts do.
		s.showPart(now, m, &a.st, rxTime, viaMulticast)
	}
	if a.n < int(a.parts) {
		return
	}
	a.active = false
	if len(a.st.Players) != int(m.PlayerCount) || len(a.st.Entities) != int(m.EntityCount) {
		s.drop(DropBadDelta) // the parts do not add up to the tick
		return
	}
	d.keep(a)
	s.stats.DeltaTicks++
}

// showPart delivers the records of st within m's ranges as part m.Part of
// a snapshot of m.Tick.
func (s *Session) showPart(now int64, m *wire.StateDelta, st *wire.State, rxTime int64, viaMulticast bool) {
	sn := &s.snap
	sn.Tick, sn.ServerTime, sn.Part, sn.Parts = m.Tick, m.ServerTime, m.Part, m.Parts
	sn.PlayerCount = m.PlayerCount
	sn.Flags, sn.StateHash = 0, 0
	if m.Flags&wire.DeltaHasHash != 0 {
		sn.Flags, sn.StateHash = wire.SnapshotHasHash, m.StateHash
	}
	sn.Players = sn.Players[:0]
	for i := range st.Players {
		if id := st.Players[i].ClientID; id >= m.PlayerFrom && id <= m.PlayerTo {
			sn.Players = append(sn.Players, st.Players[i].Player())
		}
	}
	sn.Entities = sn.Entities[:0]
	for i := range st.Entities {
		if id := st.Entities[i].ID; id >= m.EntityFrom && id <= m.EntityTo {
			sn.Entities = append(sn.Entities, st.Entities[i].Entity())
		}
	}
	s.deliverSnapshot(now, rxTime, viaMulticast)
}
