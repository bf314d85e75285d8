package client

import (
	"github.com/arcadexr/arcade/statesync"
	"github.com/arcadexr/arcade/wire"
)

// deltaRx is the receiving side of the StateDelta stream (docs/PROTOCOL.md
// §10.4): the ticks held whole, which later ticks are coded against, and
// those being assembled (statesync.Receiver).
type deltaRx struct {
	on bool // the server's Accepted offered StateDelta
	rx statesync.Receiver
}

// held returns what the client acknowledges: the newest tick it holds
// whole, and a mask with bit i set when it holds tick newest−i.
func (d *deltaRx) held() (uint32, uint64) {
	t, mask, _ := d.rx.Held()
	return t, mask
}

// handleDelta applies the StateDelta part m to the assembly of its tick
// (started from a copy of its baseline), delivers the part's records as a
// Snapshot part unless the tick is older than the newest shown (a repair),
// and keeps the tick once it is whole.
func (s *Session) handleDelta(now, rxTime int64, viaMulticast bool, m *wire.StateDelta) {
	defer s.resyncDelta() // after a mismatch (desync.go), once the part is shown
	out, st := s.delta.rx.Apply(m, nil)
	switch out {
	case statesync.Copy, statesync.Duplicate:
		s.drop(DropDuplicate) // the other path, or a repair, brought it already
		return
	case statesync.NoBaseline:
		s.drop(DropNoBaseline) // the acknowledgements tell the server
		return
	case statesync.Bad:
		s.drop(DropBadDelta)
		return
	case statesync.Whole:
		s.stats.DeltaTicks++
		s.checkDeltaTick(m, st)
	}
	if s.haveTick && wire.InputSeqNewer(s.newestTick, m.Tick) && !s.stillAhead(now, s.newestTime) {
		return // an older tick, kept as a baseline only
	}
	// Each part is shown as it arrives: within its ranges the assembly
	// is the tick's state, whatever the other parts do. A repair part has
	// no records of its own; the parts it rebuilt, if any, are shown.
	if m.Flags&wire.DeltaParity == 0 {
		s.showPart(now, m, st, rxTime, viaMulticast)
	}
	for i := range s.delta.rx.Recovered() {
		s.showPart(now, &s.delta.rx.Recovered()[i], st, rxTime, viaMulticast)
	}
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
