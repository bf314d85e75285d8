package server

import (
	"slices"

	"github.com/arcadexr/arcade/wire"
)

// Eager propagation: a pose input is applied the moment it is read — the
// avatar moves, the world moves what its hands hold (whole grab chains) —
// and the avatars and objects the receive batch moved go out in one
// EntityUpdate as soon as the batch is handled, not at the next tick
// (docs/PROTOCOL.md §10.1). The tick keeps physics and the full snapshot.

// maxUpdateCauses bounds the inputs one EntityUpdate names, leaving room
// for records.
const maxUpdateCauses = 64

// latSample is an applied input waiting for the send that first carries
// its effect: its session and kernel receive time (wall ns).
type latSample struct {
	c  *session
	rx int64
}

// cause is an input applied eagerly that moved entities, waiting for the
// update that carries them.
type cause struct {
	c      *session
	client uint16
	seq    uint32
	rx     int64
}

// eagerState is the update being gathered from the inputs applied since the
// last one was sent.
type eagerState struct {
	gen     uint32     // generation of the update being gathered
	players []*session // avatars moved, each once (session.stamp == gen)
	moved   []uint16   // entities moved, possibly repeated
	stamp   []uint32   // per entity id: the generation that listed it
	causes  []cause    // inputs that moved entities, in the order applied
	avatars []latSample
	// since is when the oldest unsent input was applied (mono ns), for
	// the coalescing window; 0 when nothing is waiting.
	since int64
	upd   wire.EntityUpdate
}

// maxEagerSamples bounds the inputs one update's latency is recorded for;
// an update is sent early rather than grow past it.
const maxEagerSamples = recvBudget * batchSize

func newEagerState(maxClients int) eagerState {
	e := eagerState{
		gen:     1,
		players: make([]*session, 0, maxClients),
		moved:   make([]uint16, 0, 256),
		stamp:   make([]uint32, 1<<16),
		causes:  make([]cause, 0, maxEagerSamples),
		avatars: make([]latSample, 0, maxEagerSamples),
	}
	e.upd.Entities = make([]wire.EntityState, 0, wire.MaxEntityUpdateEntities)
	e.upd.QPlayers = make([]wire.QPlayer, 0, wire.MaxEntityUpdatePlayers)
	e.upd.Causes = make([]wire.UpdateCause, 0, maxUpdateCauses)
	return e
}

// pending reports whether anything waits to be sent.
func (e *eagerState) pending() bool { return len(e.players) > 0 || len(e.moved) > 0 }

// forget drops c from what waits to be sent (its session ended).
func (e *eagerState) forget(c *session) {
	e.players = slices.DeleteFunc(e.players, func(p *session) bool { return p == c })
	e.causes = slices.DeleteFunc(e.causes, func(x cause) bool { return x.c == c })
	e.avatars = slices.DeleteFunc(e.avatars, func(x latSample) bool { return x.c == c })
}

// onPose takes an accepted pose input of c (newer than any before).
func (s *Server) onPose(now int64, c *session, m *wire.PoseInput, rx int64) {
	if !s.eagerOn {
		// Applied at the next tick; every input is measured at the
		// snapshot that carries it.
		c.pending, c.hasPending = *m, true
		s.snapLat.add(c, rx)
		return
	}
	e := &s.eager
	if len(e.avatars) == cap(e.avatars) || len(e.causes) == cap(e.causes) {
		s.sendPaced(now) // bounded: never grow, send what there is
	}
	c.applied, c.hasApplied, c.inputApplied = *m, true, true
	s.noteApplied(Applied{Kind: AppliedInput, ID: c.id, Input: *m})
	if c.stamp != e.gen {
		c.stamp = e.gen
		e.players = append(e.players, c)
	}
	if s.world != nil {
		n := len(e.moved)
		e.moved = s.world.ApplyInput(c.id, m, now, e.moved)
		if len(e.moved) > n && rx != 0 {
			e.causes = append(e.causes, cause{c: c, client: c.id, seq: m.InputSeq, rx: rx})
		}
	}
	if rx != 0 {
		e.avatars = append(e.avatars, latSample{c, rx})
	}
	if e.since == 0 {
		e.since = now
	}
}

// eagerDue returns when the gathered update must go out: at once, or at
// the end of the coalescing window, and while clients are on the group not
// before its pacing allows (at most SignedBurst updates at once, then one
// every updateGap); Never when nothing waits.
func (s *Server) eagerDue() int64 {
	if !s.eager.pending() {
		return never
	}
	due := s.eager.since + int64(s.cfg.CoalesceWindow)
	if gap := s.updateGap(); gap > 0 {
		due = max(due, s.pacedAt+gap)
	}
	return due
}

// SignedBurst is how many eager updates to the group may go out back to
// back before the pacing gap (SignedUpdateGap on a signed group,
// EagerUpdateGap on an open one) holds them: a room whose poses arrive
// less often than one a gap is never held back.
const SignedBurst = 4

// updateGap is the pacing gap of eager updates to the group, ns: 0 (not
// paced) when no client is on it.
func (s *Server) updateGap() int64 {
	switch {
	case s.multicastN == 0:
		return 0
	case s.group != nil:
		return int64(s.cfg.SignedUpdateGap)
	case s.cfg.EagerUpdateGap < 0:
		return 0
	}
	return int64(s.cfg.EagerUpdateGap)
}

// sendPaced sends the gathered update between ticks and charges it to the
// group's pacing. (The tick's own sends, two a tick at most, are not
// charged: a headset takes those whatever the pacing.)
func (s *Server) sendPaced(now int64) {
	if !s.eager.pending() {
		return
	}
	s.sendEager(now)
	if gap := s.updateGap(); gap > 0 {
		// A token bucket kept as one time (GCRA): pacedAt runs at most
		// SignedBurst gaps behind now, and each update moves it one gap
		// on. An update is due when pacedAt + gap has passed: a burst
		// goes at once, a steady stream at one update a gap.
		s.pacedAt = max(s.pacedAt, now-SignedBurst*gap) + gap
	}
}

// sendEager sends the gathered update — every avatar moved, every entity
// moved, the causes — split over as many datagrams as it takes, then
// records the server-added latency of every input it carries.
func (s *Server) sendEager(now int64) {
	e := &s.eager
	if !e.pending() {
		return
	}
	// The standby gets these inputs before any headset sees them applied
	// (PROTOCOL §18.5): a takeover never loses an input the active showed.
	s.flushApplied()
	u := &e.upd
	u.Tick = uint32(s.tickNo)
	u.ServerTime = s.stateTime(now)
	// Every input whose effect on entities this update carries is named,
	// newest per client, so each headset can tell its own input arrived.
	u.Causes = u.Causes[:0]
	for i := len(e.causes) - 1; i >= 0 && len(u.Causes) < maxUpdateCauses; i-- {
		x := e.causes[i]
		named := false
		for _, y := range u.Causes {
			named = named || y.Client == x.client
		}
		if !named {
			u.Causes = append(u.Causes, wire.UpdateCause{Client: x.client, Input: x.seq})
		}
	}
	slices.Reverse(u.Causes)
	room := wire.MaxBodySize - s.sealRoom - wire.EntityUpdateLen(len(u.Causes), 0)
	used := 0
	u.Entities, u.QPlayers = u.Entities[:0], u.QPlayers[:0]
	emit := func() {
		s.body = u.Append(s.body[:0])
		s.sendAll(now, wire.TypeEntityUpdate)
		s.stats.EagerUpdates.Inc()
		u.Entities, u.QPlayers = u.Entities[:0], u.QPlayers[:0]
		used = 0
	}
	for _, id := range e.moved {
		if e.stamp[id] == e.gen {
			continue
		}
		e.stamp[id] = e.gen
		st, ok := s.world.Entity(id)
		if !ok {
			continue
		}
		if used+wire.SnapshotEntitySize > room || len(u.Entities) == wire.MaxEntityUpdateEntities {
			emit()
		}
		u.Entities = append(u.Entities, st)
		used += wire.SnapshotEntitySize
	}
	for _, c := range e.players {
		if used+wire.SnapshotPlayerSize > room {
			emit()
		}
		p := playerState(c)
		q, _ := s.quant.get(&p)
		u.QPlayers = append(u.QPlayers, *q)
		used += wire.SnapshotPlayerSize
	}
	if len(u.Entities) > 0 || len(u.QPlayers) > 0 {
		emit()
	}
	sentAt := s.flush()
	for _, l := range e.avatars {
		s.stats.ServerAdded.Record(sentAt - l.rx)
		l.c.lat.add(sentAt - l.rx)
	}
	for _, x := range e.causes {
		s.stats.ServerAddedGrab.Record(sentAt - x.rx)
		x.c.grabLat.add(sentAt - x.rx)
	}
	e.players, e.moved, e.causes, e.avatars = e.players[:0], e.moved[:0], e.causes[:0], e.avatars[:0]
	e.since = 0
	e.gen++
	if e.gen == 0 {
		// Wrapped: no stamp may match a generation still to come.
		clear(e.stamp)
		for _, c := range s.sess.order {
			c.stamp = 0
		}
		e.gen = 1
	}
}

// playerState is c's avatar as a snapshot or update record.
func playerState(c *session) wire.PlayerState {
	a := &c.applied
	tracking := a.Tracking
	if !c.inputApplied {
		tracking |= wire.TrackNoInput // its seq is none of this session's
	}
	return wire.PlayerState{
		ClientID:     c.id,
		LastInputSeq: a.InputSeq,
		Tracking:     tracking,
		Head:         a.Head,
		Hands:        a.Hands,
	}
}
