package client

import (
	"cmp"
	"slices"
	"time"

	"github.com/arcadexr/arcade/statesync"
	"github.com/arcadexr/arcade/wire"
)

// Desync detection (docs/PROTOCOL.md §10.5): the server puts the hash of a
// tick's state in the tick's Snapshot or StateDelta parts every few ticks;
// once the session holds such a tick whole it hashes the records it holds
// and compares. It counts checks and mismatches, reports them to the
// server (DesyncReport, RPC 8) at most every DesyncReportInterval, and
// after a mismatch in a tick assembled from StateDelta forgets every tick
// it holds, so that the server codes the next ones afresh (a keyframe, or
// against a tick held anew): one corrupt baseline would otherwise carry
// into every tick coded against it. A Snapshot tick needs no recovery: the
// next complete one replaces every record.

// DesyncReportInterval is the least time between two DesyncReports.
const DesyncReportInterval = time.Second

// DesyncStats counts the state hash checks of a session (and of the
// sessions before it, across Restart).
type DesyncStats struct {
	// Checks counts the ticks whose state hash was compared with the hash
	// of the state held; Mismatches those that differed.
	Checks, Mismatches uint64
	// Resyncs counts the times the StateDelta ticks held were forgotten
	// after a mismatch, for the server to send them afresh.
	Resyncs uint64
	// Skipped counts hashed Snapshot ticks not checked because their
	// parts held more records than a tick's state may (wire.MaxStatePlayers,
	// wire.MaxStateEntities): forged parts.
	Skipped uint64
	// Reports counts the DesyncReports queued to the server.
	Reports uint64
	// LastMismatchTick is the newest tick whose hashes differed.
	LastMismatchTick uint32
}

// desyncCheck is a session's side of desync detection.
type desyncCheck struct {
	h wire.StateHasher
	// rep holds the counts since the session's Accepted, as reported.
	rep    wire.DesyncReport
	dirty  bool // checked since the last report
	sent   bool
	sentAt int64
	resync bool // forget the StateDelta ticks held once the part is shown

	// The newest hashed Snapshot tick being gathered, part by part.
	snapOn   bool
	snapTick uint32
	snapHash uint64
	parts    uint8
	got      [4]uint64
	n        int
	over     bool
	st       wire.State
}

// checkSnapshotPart gathers the Snapshot part just delivered (s.snap) into
// its tick's state, if the tick carries a hash, and checks the tick once
// every part has come.
func (s *Session) checkSnapshotPart() {
	sn, d := &s.snap, &s.desync
	if sn.Flags&wire.SnapshotHasHash == 0 {
		return
	}
	if !d.snapOn || sn.Tick != d.snapTick || sn.Parts != d.parts || sn.StateHash != d.snapHash {
		d.snapOn, d.snapTick, d.parts, d.snapHash = true, sn.Tick, sn.Parts, sn.StateHash
		d.got, d.n, d.over = [4]uint64{}, 0, false
		d.st.Players, d.st.Entities = d.st.Players[:0], d.st.Entities[:0]
	}
	bit := uint64(1) << (sn.Part % 64)
	if d.got[sn.Part/64]&bit != 0 {
		return
	}
	d.got[sn.Part/64] |= bit
	if len(d.st.Players)+len(sn.Players) > wire.MaxStatePlayers || len(d.st.Entities)+len(sn.Entities) > wire.MaxStateEntities {
		d.over = true
	}
	if !d.over {
		for i := range sn.Players {
			d.st.Players = append(d.st.Players, wire.QuantPlayer(&sn.Players[i]))
		}
		for i := range sn.Entities {
			d.st.Entities = append(d.st.Entities, wire.QuantEntity(&sn.Entities[i]))
		}
	}
	if d.n++; d.n < int(d.parts) {
		return
	}
	d.snapOn = false
	if d.over {
		s.stats.Desync.Skipped++
		return
	}
	// Parts may arrive in any order, each sorted: sort the whole.
	slices.SortFunc(d.st.Players, func(a, b wire.QPlayer) int { return cmp.Compare(a.ClientID, b.ClientID) })
	slices.SortFunc(d.st.Entities, func(a, b wire.QEntity) int { return cmp.Compare(a.ID, b.ID) })
	d.st.Tick = d.snapTick
	s.compareHash(d.snapTick, d.snapHash, d.h.State(&d.st))
}

// checkDeltaTick checks a tick just made whole from StateDelta parts, st
// its state, if the part that completed it carries the hash. After a
// mismatch the ticks held are forgotten once the part is shown
// (resyncDelta).
func (s *Session) checkDeltaTick(m *wire.StateDelta, st *wire.State) {
	if m.Flags&wire.DeltaHasHash == 0 || st == nil {
		return
	}
	if !s.compareHash(m.Tick, m.StateHash, s.desync.h.State(st)) {
		s.desync.resync = true
	}
}

// resyncDelta forgets every StateDelta tick held after a mismatch: the
// acknowledgements then show none, and the server sends a keyframe or a
// tick coded against one held anew (§10.4).
func (s *Session) resyncDelta() {
	if !s.desync.resync {
		return
	}
	s.desync.resync = false
	s.delta.rx = statesync.Receiver{Slots: s.delta.rx.Slots}
	s.desync.rep.Resyncs++
	s.stats.Desync.Resyncs++
}

// compareHash counts one check of tick and reports whether the hashes
// agree.
func (s *Session) compareHash(tick uint32, expected, computed uint64) bool {
	d := &s.desync
	d.rep.Checks++
	d.rep.NewestTick = tick
	d.dirty = true
	s.stats.Desync.Checks++
	if expected == computed {
		return true
	}
	d.rep.Mismatches++
	d.rep.MismatchTick, d.rep.Expected, d.rep.Computed = tick, expected, computed
	s.stats.Desync.Mismatches++
	s.stats.Desync.LastMismatchTick = tick
	return false
}

// reportDesync queues a DesyncReport when ticks were checked since the
// last one and DesyncReportInterval has passed.
func (s *Session) reportDesync(now int64) {
	d := &s.desync
	if !d.dirty || d.sent && now-d.sentAt < int64(DesyncReportInterval) {
		return
	}
	s.rpcOut = d.rep.Append(wire.AppendRPCType(s.rpcOut[:0], wire.RPCDesyncReport))
	if s.sendMessage(now, wire.StreamControl, s.rpcOut) != nil {
		return // the reliable queue is full: the next Update tries again
	}
	d.dirty, d.sent, d.sentAt = false, true, now
	s.stats.Desync.Reports++
}
