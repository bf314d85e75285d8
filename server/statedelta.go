package server

import (
	"arcade/statesync"
	"arcade/wire"
)

// The delta-coded state stream (docs/PROTOCOL.md §10.4). Every tick's
// state goes into the history; the multicast group gets it coded against
// the group's baseline (statesync.Group) while every client on multicast
// takes StateDelta, and Snapshots otherwise; a client on unicast that
// takes StateDelta gets it coded against the newest tick it holds; a
// client on the group that lacks the baseline is sent it by unicast.

// deltaState holds the server's side of the stream.
type deltaState struct {
	hist    statesync.History
	group   statesync.Group
	on      bool       // the group took StateDelta at the last tick
	truth   wire.State // the tick's state
	cur     wire.State // what is sent of it: truth, or shaped by budget
	budget  statesync.Budget
	last    uint32 // the tick sent before, in hist when hasLast
	hasLast bool
	enc     wire.StateEncoder
	members []*statesync.Member
	repairs []repair
	hdr     wire.StateDelta
	times   [statesync.Window]uint64 // server time of each tick in hist
	// The unicast encodings of this tick, by (tick, baseline): clients
	// that hold the same baseline share one.
	coded []codedParts
	arena []byte
	offs  []int // part boundaries in arena: part i is arena[offs[i]:offs[i+1]]
}

type codedParts struct {
	tick, base uint32
	kf         bool
	at, n      int // parts at arena offsets offs[at:at+n]
}

type repair struct {
	c      *session
	target uint32
}

// quantState puts the tick's players and entities in s.delta.truth.
func (s *Server) quantState() {
	s.delta.truth.From(uint32(s.tickNo), s.players, s.entities)
}

// deltaGroup reports whether the group takes StateDelta this tick: every
// client on multicast asked for it.
func (s *Server) deltaGroup() bool {
	if s.cfg.NoDeltaState || s.multicastN == 0 {
		return false
	}
	d := &s.delta
	d.members = d.members[:0]
	for _, c := range s.sess.order {
		if c.unicast || !c.confirmed {
			continue
		}
		if !c.delta {
			return false
		}
		d.members = append(d.members, &c.sync)
	}
	return len(d.members) > 0
}

// broadcastDelta sends the tick's state as StateDelta where it goes so:
// to the group when group is set (with the repairs the group asks for),
// and to every unicast client that takes it; then keeps it in the
// history.
func (s *Server) broadcastDelta(now int64, group bool) {
	d := &s.delta
	d.coded, d.arena, d.offs = d.coded[:0], d.arena[:0], d.offs[:0]
	s.quantState()
	d.hdr = wire.StateDelta{Tick: d.truth.Tick, ServerTime: s.snap.ServerTime, StateHash: s.snap.StateHash}
	if s.snap.Flags&wire.SnapshotHasHash != 0 {
		d.hdr.Flags = wire.DeltaHasHash
	}
	maxBody := wire.MaxBodySize - s.sealRoom
	if group {
		if !d.on {
			d.group.Reset() // the group held Snapshots: start from a keyframe
		}
		d.repairs = d.repairs[:0]
		base, ok := d.group.Plan(now, d.truth.Tick, &d.hist, d.members, s.queueRepair)
		var b *wire.State
		if ok {
			b = d.hist.Get(base)
			d.hdr.Base = base
		}
		var prev *wire.State
		if d.hasLast {
			prev = d.hist.Get(d.last)
		}
		// Under a budget some entities keep their last sent state: what
		// is sent, and kept, is the shaped state.
		d.budget.Shape(prev, b, &d.truth, &d.cur)
		if d.budget.Deferred > 0 {
			s.stats.StateDeferred.Add(uint64(d.budget.Deferred))
			if d.hdr.Flags&wire.DeltaHasHash != 0 {
				d.hdr.StateHash = s.hasher.sumState(&d.cur) // of the state sent (§10.5)
			}
		}
		for _, part := range d.enc.Encode(&d.hdr, b, &d.cur, maxBody) {
			s.body = append(s.body[:0], part...)
			s.sendGroup(wire.TypeStateDelta)
		}
		for _, r := range d.repairs {
			s.sendDeltaTo(now, r.c, r.target, maxBody)
		}
	}
	if !group {
		d.cur.CopyFrom(&d.truth)
	}
	d.on = group
	for _, c := range s.sess.order {
		if c.unicast && c.confirmed && c.delta {
			s.sendDeltaTo(now, c, d.cur.Tick, maxBody)
		}
	}
	d.hist.Put(&d.cur)
	d.times[d.cur.Tick%statesync.Window] = d.hdr.ServerTime
	d.last, d.hasLast = d.cur.Tick, true
}

// queueRepair is the group's repair callback: m is some session's sync.
func (s *Server) queueRepair(m *statesync.Member, target uint32) {
	for _, c := range s.sess.order {
		if &c.sync == m {
			s.delta.repairs = append(s.delta.repairs, repair{c, target})
			s.stats.StateRepairs.Inc()
			return
		}
	}
}

// sendDeltaTo sends c tick (the current one, or one in the history) coded
// against the newest tick c holds that the history has, or as a keyframe.
// Clients that hold the same baseline share one encoding a tick.
func (s *Server) sendDeltaTo(now int64, c *session, tick uint32, maxBody int) {
	d := &s.delta
	base, hasBase := c.sync.Held.NewestIn(func(t uint32) bool { return t != tick && d.hist.Has(t) })
	var cp *codedParts
	for i := range d.coded {
		if k := &d.coded[i]; k.tick == tick && k.kf == !hasBase && (!hasBase || k.base == base) {
			cp = k
		}
	}
	if cp == nil {
		st := &d.cur
		h := d.hdr
		if tick != d.cur.Tick {
			if st = d.hist.Get(tick); st == nil {
				return
			}
			h.Tick, h.ServerTime, h.Flags, h.StateHash = tick, d.times[tick%statesync.Window], 0, 0
		}
		var b *wire.State
		if hasBase {
			b, h.Base = d.hist.Get(base), base
		}
		parts := d.enc.Encode(&h, b, st, maxBody)
		d.coded = append(d.coded, codedParts{tick: tick, base: base, kf: !hasBase, at: len(d.offs), n: len(parts)})
		cp = &d.coded[len(d.coded)-1]
		for _, p := range parts {
			d.offs = append(d.offs, len(d.arena))
			d.arena = append(d.arena, p...)
		}
		d.offs = append(d.offs, len(d.arena))
	}
	for i := cp.at; i < cp.at+cp.n; i++ {
		s.finish(append(s.beginConn(now, c, wire.TypeStateDelta), d.arena[d.offs[i]:d.offs[i+1]]...))
	}
}
