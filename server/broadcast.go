package server

import (
	"github.com/arcadexr/arcade/wire"
)

// broadcast encodes the tick's state once and sends it: one datagram per
// part to the multicast group and one per part to every unicast client, in
// a single batch, with the delivery probes, then records the server-added
// latency of the inputs this snapshot is the first to carry (tick-only
// mode). Parts hold players first, then entities, as many as fit.
func (s *Server) broadcast(now int64) {
	s.statePlayers() // cast.go
	s.entities = s.entities[:0]
	if s.world != nil {
		s.entities = s.world.Entities(s.entities)
	}
	s.snap.Tick = uint32(s.tickNo)
	s.snap.ServerTime = s.stateTime(now)
	s.snap.PlayerCount = uint16(len(s.players))
	s.snap.Flags = 0
	s.snap.StateHash = 0
	if s.cfg.HashEvery > 0 && s.tickNo%uint64(s.cfg.HashEvery) == 0 {
		s.snap.Flags = wire.SnapshotHasHash
		s.snap.StateHash = s.hasher.sum(s.snap.Tick, s.players, s.entities)
	}
	group := s.deltaGroup()
	firstGroupSeq := s.groupSeq
	if !s.cfg.NoDeltaState {
		s.broadcastDelta(now, group)
	}
	if toGroup, toUnicast := !group && s.groupPlayer(), s.legacyUnicast(); toGroup || toUnicast {
		s.broadcastSnapshot(now, toGroup)
	}
	s.sendProbes(now, firstGroupSeq)
	sentAt := s.flush()
	s.snapLat.record(s.stats, sentAt)
}

// groupPlayer reports whether some player listens to the group: a
// confirmed session that did not ask for unicast (one the fallback moved
// to unicast still listens, and its reports say when the group is good
// again). A session still to prove it holds its keys (sealed, §17.5) is
// not a player yet: state sent for it alone would reach no player.
func (s *Server) groupPlayer() bool {
	if s.multicastN == 0 {
		return false
	}
	for _, c := range s.sess.order {
		if !c.fixedUnicast && c.confirmed {
			return true
		}
	}
	return false
}

// legacyUnicast reports whether some client on unicast takes Snapshots.
func (s *Server) legacyUnicast() bool {
	for _, c := range s.sess.uni {
		if c.confirmed && (!c.delta || s.cfg.NoDeltaState) {
			return true
		}
	}
	return false
}

// broadcastSnapshot sends the tick's state as Snapshot parts to the group
// (when toGroup) and to every unicast client that does not take
// StateDelta.
func (s *Server) broadcastSnapshot(now int64, toGroup bool) {
	hasHash := s.snap.Flags&wire.SnapshotHasHash != 0
	parts := 0
	for p, e := 0, 0; ; {
		p, e = s.nextPart(p, e, hasHash)
		parts++
		if p == len(s.players) && e == len(s.entities) {
			break
		}
	}
	s.snap.Parts = uint8(min(parts, 255))
	p, e := 0, 0
	for part := 0; part < parts && part < 255; part++ {
		np, ne := s.nextPart(p, e, hasHash)
		s.snap.Part = uint8(part)
		s.snap.QPlayers = s.snap.QPlayers[:0]
		for i := p; i < np; i++ {
			q, _ := s.quant.get(&s.players[i])
			s.snap.QPlayers = append(s.snap.QPlayers, *q)
		}
		s.snap.Entities = append(s.snap.Entities[:0], s.entities[e:ne]...)
		p, e = np, ne
		s.body = s.snap.Append(s.body[:0])
		if toGroup {
			s.sendGroup(wire.TypeSnapshot)
		}
		for _, c := range s.sess.uni {
			if c.confirmed && (!c.delta || s.cfg.NoDeltaState) {
				s.finish(append(s.beginConn(now, c, wire.TypeSnapshot), s.body...))
			}
		}
	}
}

// nextPart returns where the snapshot part starting at player p and entity
// e ends: players first, then entities, while the body fits a datagram.
func (s *Server) nextPart(p, e int, hasHash bool) (int, int) {
	room := wire.MaxBodySize - s.sealRoom - wire.SnapshotLen(0, 0, hasHash)
	np := min(len(s.players)-p, room/wire.SnapshotPlayerSize, wire.MaxSnapshotPlayers)
	room -= np * wire.SnapshotPlayerSize
	ne := 0
	if p+np == len(s.players) {
		ne = min(len(s.entities)-e, room/wire.SnapshotEntitySize, wire.MaxSnapshotEntities)
	}
	return p + np, e + ne
}

// sendAll queues s.body, of type t, to the multicast group (while a
// player listens to it, groupPlayer) and to every client currently on
// unicast.
func (s *Server) sendAll(now int64, t wire.PacketType) {
	if s.groupPlayer() {
		s.sendGroup(t)
	}
	for _, c := range s.sess.uni {
		if c.confirmed {
			s.finish(append(s.beginConn(now, c, t), s.body...))
		}
	}
}

// snapSamples are the inputs received when eager propagation is off: they
// wait for the tick that applies them, and that tick's snapshot is the
// first send to carry them.
type snapSamples struct {
	waiting        []latSample // received, not applied yet
	avatars, grabs []latSample // applied by this tick
	dropped        uint64      // samples not kept: the lists were full
}

func newSnapSamples(n int) snapSamples {
	return snapSamples{waiting: make([]latSample, 0, n), avatars: make([]latSample, 0, n), grabs: make([]latSample, 0, n)}
}

// add keeps the sample of an input of c received at rx.
func (t *snapSamples) add(c *session, rx int64) {
	if rx == 0 {
		return
	}
	if len(t.waiting) == cap(t.waiting) {
		t.dropped++
		return
	}
	t.waiting = append(t.waiting, latSample{c, rx})
}

// applied moves the waiting samples to this tick's: their inputs are
// applied now. Those of clients whose hands then hold something count for
// held objects too.
func (t *snapSamples) applied(w World) {
	for _, l := range t.waiting {
		t.avatars = append(t.avatars, l)
		if w != nil && w.Holding(l.c.id) {
			t.grabs = append(t.grabs, l)
		}
	}
	t.waiting = t.waiting[:0]
}

// record records this tick's samples against the send at sentAt.
func (t *snapSamples) record(st *Stats, sentAt int64) {
	for _, l := range t.avatars {
		st.ServerAdded.Record(sentAt - l.rx)
		l.c.lat.add(sentAt - l.rx)
	}
	for _, l := range t.grabs {
		st.ServerAddedGrab.Record(sentAt - l.rx)
		l.c.grabLat.add(sentAt - l.rx)
	}
	t.avatars, t.grabs = t.avatars[:0], t.grabs[:0]
	if t.dropped > 0 {
		st.SamplesDropped.Add(t.dropped)
		t.dropped = 0
	}
}

// forget drops c's samples (its session ended).
func (t *snapSamples) forget(c *session) {
	t.waiting = deleteSamples(t.waiting, c)
	t.avatars = deleteSamples(t.avatars, c)
	t.grabs = deleteSamples(t.grabs, c)
}

func deleteSamples(l []latSample, c *session) []latSample {
	out := l[:0]
	for _, x := range l {
		if x.c != c {
			out = append(out, x)
		}
	}
	return out
}

// sendGroup queues s.body, of type t, to the multicast group.
func (s *Server) sendGroup(t wire.PacketType) {
	h := wire.Header{Type: t, Token: s.groupToken, Seq: s.groupSeq}
	if s.group != nil {
		h.Flags = wire.FlagSealed
	}
	b := s.begin(s.cfg.Multicast, h)
	s.outSigned = s.group != nil
	s.groupSeq++
	s.finish(append(b, s.body...))
}
