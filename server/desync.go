package server

import (
	"time"

	"github.com/arcadexr/arcade/wire"
)

// Desync reports (docs/PROTOCOL.md §10.5, §16.8): every headset compares
// the state hashes the server sends with the hash of the state it holds
// and reports its counts, which only grow, in a DesyncReport on the
// reliable channel. The server keeps each session's newest report, adds
// what each adds to its totals, and keeps a mark of the counts every
// second so that a headset's recent mismatch rate can be shown.

// RecentDesyncWindow is the span the recent desync figures cover
// (ClientInfo.DesyncChecksRecent, DesyncMismatchesRecent); the marks are
// a second apart.
const RecentDesyncWindow = 10 * time.Second

const desyncMarks = int(RecentDesyncWindow/time.Second) + 1

// desyncState is one session's desync reports.
type desyncState struct {
	rep     wire.DesyncReport // the newest accepted
	reports uint64
	// marks are the counts (checks, mismatches) as they were at
	// one-second marks, the newest at marks[nmarks%desyncMarks].
	marks   [desyncMarks][2]uint32
	nmarks  uint64
	markAt  int64
	markAny bool
}

// onDesyncReport takes a DesyncReport from c. Counts that go back, or more
// checks than the hashes sent since the session began, are dropped as
// DropField: one session's figures cannot grow faster than the server
// hashes.
func (s *Server) onDesyncReport(now int64, c *session, body []byte) {
	var m wire.DesyncReport
	if _, err := m.Parse(body); err != nil {
		s.stats.drop(dropReasonFor(err))
		return
	}
	d := &c.desync
	if m.Checks < d.rep.Checks || m.Mismatches < d.rep.Mismatches || uint64(m.Checks) > s.hashesSince(c.created, now) {
		s.stats.drop(DropField)
		return
	}
	s.stats.DesyncReports.Inc()
	s.stats.DesyncChecks.Add(uint64(m.Checks - d.rep.Checks))
	s.stats.DesyncMismatches.Add(uint64(m.Mismatches - d.rep.Mismatches))
	d.rep = m
	d.reports++
}

// hashesSince bounds the hashed ticks sent since created (mono ns): the
// ticks of the span over the hash interval, plus 2 for the ends.
func (s *Server) hashesSince(created, now int64) uint64 {
	if s.cfg.HashEvery <= 0 || now <= created {
		return 0
	}
	ticks := uint64(now-created) * uint64(s.cfg.TickRate) / uint64(time.Second)
	return ticks/uint64(s.cfg.HashEvery) + 2
}

// mark records the counts once a second (called as the client list is
// published, about ten times a second).
func (d *desyncState) mark(now int64) {
	if d.markAny && now-d.markAt < int64(time.Second) {
		return
	}
	if !d.markAny {
		d.markAny = true // the first mark is the session's start: zero
	} else {
		d.nmarks++
	}
	d.marks[d.nmarks%uint64(desyncMarks)] = [2]uint32{d.rep.Checks, d.rep.Mismatches}
	d.markAt = now
}

// info fills the desync figures of a client's ClientInfo.
func (d *desyncState) info(ci *ClientInfo, now int64) {
	d.mark(now)
	ci.DesyncReports = d.reports
	ci.DesyncChecks, ci.DesyncMismatches = uint64(d.rep.Checks), uint64(d.rep.Mismatches)
	ci.DesyncResyncs = uint64(d.rep.Resyncs)
	ci.DesyncMismatchTick = d.rep.MismatchTick
	old := d.marks[0]
	if d.nmarks >= uint64(desyncMarks-1) {
		old = d.marks[(d.nmarks+1)%uint64(desyncMarks)]
	}
	ci.DesyncChecksRecent = uint64(d.rep.Checks - old[0])
	ci.DesyncMismatchesRecent = uint64(d.rep.Mismatches - old[1])
}
