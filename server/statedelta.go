package server

import (
	"github.com/arcadexr/arcade/statesync"
	"github.com/arcadexr/arcade/wire"
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
	coded   bool                     // every member of the group decodes coded parts
	loss    float64                  // the share lost by the member that loses most (statesync.LossOf)
	times   [statesync.Window]uint64 // server time of each tick in hist
	// grp is how the group's parts of each tick in hist were coded: a
	// unicast encoding against the same baseline and prior is made the
	// same way, byte for byte, so that a client that has some of the
	// group's parts (and its parity parts) never mixes two encodings.
	grp [statesync.Window]groupCoding
	// The unicast encodings of this tick, by (tick, baseline): clients
	// that hold the same baseline share one.
	encs  []codedParts
	arena []byte
	offs  []int    // part boundaries in arena: part i is arena[offs[i]:offs[i+1]]
	parts [][]byte // one encoding's parts, for its repair parts
}

type codedParts struct {
	tick, base uint32
	kf         bool
	coded      bool // DeltaCoded, with the prior when hasPrior
	prior      uint32
	hasPrior   bool
	at, n      int // parts at arena offsets offs[at:at+n]
}

type groupCoding struct {
	tick, base, prior uint32
	ok, kf, hasPrior  bool
	flags             uint8 // as asked of the encoder
	hash              uint64
	room              int
	// parts and repairs: the data and repair parts the group was sent.
	parts, repairs int
}

type repair struct {
	c      *session
	target uint32
}

// quantState puts the tick's players and entities in s.delta.truth, the
// avatars' rotations on the avatar grid (wire.AvatarGrid), which coded
// parts send at 10 bits a component; every receiver decodes the same
// words whatever the coding.
func (s *Server) quantState() {
	t := &s.delta.truth
	t.From(uint32(s.tickNo), nil, s.entities)
	for i := range s.players {
		_, g := s.quant.get(&s.players[i])
		t.Players = append(t.Players, *g)
	}
}

// codedFlags are the StateDelta flags of coded parts.
const codedFlags = wire.DeltaCoded | wire.DeltaAvatarGrid | wire.DeltaPrior

// deltaGroup reports whether the group takes StateDelta this tick: every
// client on multicast asked for it.
func (s *Server) deltaGroup() bool {
	if s.cfg.NoDeltaState || s.multicastN == 0 {
		return false
	}
	d := &s.delta
	d.members = d.members[:0]
	d.coded, d.loss = true, 0
	for _, c := range s.sess.order {
		if c.unicast || !c.confirmed {
			continue
		}
		if !c.delta {
			return false
		}
		d.coded = d.coded && c.coded
		recv, lost := 0, 0
		for i := range c.delivery.recv {
			recv += int(c.delivery.recv[i])
			lost += int(c.delivery.lost[i])
		}
		d.loss = max(d.loss, statesync.LossOf(recv, lost))
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
	d.encs, d.arena, d.offs = d.encs[:0], d.arena[:0], d.offs[:0]
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
		for _, r := range d.repairs {
			// Ahead of the group's parts: a client sent the baseline
			// decodes the tick coded against it.
			s.sendDeltaTo(now, r.c, r.target, maxBody, true)
		}
		var b, pr *wire.State
		h := d.hdr
		if ok {
			b = d.hist.Get(base)
			h.Base = base
		}
		if d.coded {
			// Old clients on the group would take coded parts for
			// corrupt ones: coded only when all of them decode it.
			h.Flags |= codedFlags
			if pt, ok := d.group.Prior(); ok && b != nil {
				pr, h.Prior = d.hist.Get(pt), pt
			}
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
		}
		if d.hdr.Flags&wire.DeltaHasHash != 0 {
			// Of the state sent (§10.5): shaped by the budget, the
			// avatars on the avatar grid.
			d.hdr.StateHash = s.hasher.sumState(&d.cur)
			h.StateHash = d.hdr.StateHash
		}
		parity := d.coded && d.loss > statesync.ParityLoss
		room := maxBody
		if parity {
			room -= wire.ParityRoom
		}
		d.grp[d.cur.Tick%statesync.Window] = groupCoding{tick: d.cur.Tick, base: h.Base, prior: h.Prior, ok: true,
			kf: b == nil, hasPrior: pr != nil, flags: h.Flags, hash: h.StateHash, room: room}
		parts := d.enc.EncodePrior(&h, b, pr, &d.cur, room)
		for _, part := range parts {
			s.body = append(s.body[:0], part...)
			s.sendGroup(wire.TypeStateDelta)
		}
		g := &d.grp[d.cur.Tick%statesync.Window]
		g.parts, g.repairs = len(parts), 0
		if parity {
			// A receiver that loses as many parts as there are repair
			// parts, or fewer, rebuilds them: the tick is still whole,
			// the baseline can still move.
			g.repairs = statesync.Repairs(len(parts), d.loss)
			if g.repairs > 0 {
				d.group.SentRepairs(d.cur.Tick)
			}
			for j := range g.repairs {
				s.body = wire.AppendParity(s.body[:0], parts, j)
				s.sendGroup(wire.TypeStateDelta)
			}
		}
	}
	if !group {
		d.grp[d.truth.Tick%statesync.Window].ok = false
		d.cur.CopyFrom(&d.truth)
		if d.hdr.Flags&wire.DeltaHasHash != 0 {
			d.hdr.StateHash = s.hasher.sumState(&d.cur) // the avatars on the avatar grid
		}
	}
	d.on = group
	for _, c := range s.sess.uni {
		if c.confirmed && c.delta {
			s.sendDeltaTo(now, c, d.cur.Tick, maxBody, false)
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
// Clients that hold the same baseline share one encoding a tick. A
// repair (of a tick the group was sent) to a client that holds the
// baseline and prior the group's parts were coded against is coded as
// they were, and while the group's parts came with repair parts it is
// new repair parts (statesync.Member.RepairParts): the client has most
// of the parts, and any as many repair parts as it lacks rebuild them.
func (s *Server) sendDeltaTo(now int64, c *session, tick uint32, maxBody int, repair bool) {
	d := &s.delta
	base, hasBase := c.sync.Held.NewestIn(func(t uint32) bool { return t != tick && d.hist.Has(t) })
	var prior uint32
	hasPrior := false
	if c.coded && hasBase && int32(tick-base) > 0 {
		prior, hasPrior = c.sync.Held.PriorFor(base, tick, d.group.PriorGap, d.hist.Has)
	}
	g := &d.grp[tick%statesync.Window]
	asGroup := repair && c.coded && g.ok && g.tick == tick && g.flags&wire.DeltaCoded != 0 &&
		(g.kf || c.sync.Held.Has(g.base)) && (!g.hasPrior || c.sync.Held.Has(g.prior))
	if asGroup {
		base, hasBase, prior, hasPrior = g.base, !g.kf, g.prior, g.hasPrior
	}
	var cp *codedParts
	for i := range d.encs {
		if k := &d.encs[i]; k.tick == tick && k.kf == !hasBase && (!hasBase || k.base == base) && k.coded == c.coded && (!c.coded || k.hasPrior == hasPrior && k.prior == prior) {
			cp = k
		}
	}
	if cp == nil {
		st := &d.cur
		h := d.hdr
		if tick != d.hdr.Tick {
			// A repair, sent before this tick's state is in d.cur.
			if st = d.hist.Get(tick); st == nil {
				return
			}
			h.Tick, h.ServerTime, h.Flags, h.StateHash = tick, d.times[tick%statesync.Window], 0, 0
		}
		var b, pr *wire.State
		if hasBase {
			b, h.Base = d.hist.Get(base), base
		}
		room := maxBody
		if c.coded {
			h.Flags |= codedFlags
			if hasPrior {
				pr, h.Prior = d.hist.Get(prior), prior
			}
			if g.ok && g.tick == tick && g.flags&wire.DeltaCoded != 0 && g.kf == !hasBase && (g.kf || g.base == base) && g.hasPrior == hasPrior && (!hasPrior || g.prior == prior) {
				// The group's encoding: the same parts.
				h.Flags, h.StateHash, room = g.flags, g.hash, g.room
			}
		}
		parts := d.enc.EncodePrior(&h, b, pr, st, room)
		d.encs = append(d.encs, codedParts{tick: tick, base: base, kf: !hasBase, coded: c.coded, prior: prior, hasPrior: hasPrior, at: len(d.offs), n: len(parts)})
		cp = &d.encs[len(d.encs)-1]
		for _, p := range parts {
			d.offs = append(d.offs, len(d.arena))
			d.arena = append(d.arena, p...)
		}
		d.offs = append(d.offs, len(d.arena))
	}
	if asGroup && !g.kf && g.repairs > 0 && cp.n == g.parts {
		// (One that lacks a keyframe may hold none of it: it is sent
		// the keyframe's parts, as the group was.)
		if from, n := c.sync.RepairParts(tick, cp.n, g.repairs); n > 0 {
			d.parts = d.parts[:0]
			for i := cp.at; i < cp.at+cp.n; i++ {
				d.parts = append(d.parts, d.arena[d.offs[i]:d.offs[i+1]])
			}
			for j := from; j < from+n; j++ {
				b := s.beginConn(now, c, wire.TypeStateDelta)
				s.finish(wire.AppendParity(b, d.parts, j))
			}
			return
		}
	}
	for i := cp.at; i < cp.at+cp.n; i++ {
		s.finish(append(s.beginConn(now, c, wire.TypeStateDelta), d.arena[d.offs[i]:d.offs[i+1]]...))
	}
}
