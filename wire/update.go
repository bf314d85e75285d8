package wire

import (
	"encoding/binary"
	"slices"
)

// EntityUpdate sizes.
const (
	// EntityUpdateFixedSize is the size of an entity update body without
	// records: tick, server time and the cause, entity and player record
	// counts.
	EntityUpdateFixedSize = 15
	// UpdateCauseSize is the size of one cause record: client id and input
	// seq.
	UpdateCauseSize = 6
	// MaxEntityUpdateEntities is the most entity records that fit in one
	// datagram, with no cause; every cause takes the room of less than one
	// entity, so a sender checks EntityUpdateLen against MaxBodySize.
	MaxEntityUpdateEntities = (MaxBodySize - EntityUpdateFixedSize) / SnapshotEntitySize // 83
	// MaxEntityUpdatePlayers is the most player records that fit in one
	// datagram, with no cause and no entity.
	MaxEntityUpdatePlayers = (MaxBodySize - EntityUpdateFixedSize) / SnapshotPlayerSize // 29
)

// EntityUpdate offsets. The cause records follow the cause count, then come
// the entity record count and the entity records, then the player record
// count and the player records.
const (
	offUpdTick       = 0
	offUpdServerTime = 4
	offUpdCauseCount = 12
	offUpdCauses     = 13
)

// UpdateCause record offsets.
const (
	offCauseClient = 0
	offCauseInput  = 2
)

// EntityUpdateLen returns the body length of an entity update holding the
// given numbers of cause and entity records and no player record. A sender
// keeps EntityUpdateLen + players·SnapshotPlayerSize within MaxBodySize.
func EntityUpdateLen(causes, entities int) int {
	return EntityUpdateFixedSize + causes*UpdateCauseSize + entities*SnapshotEntitySize
}

// Len returns the body length.
func (m *EntityUpdate) Len() int {
	np := len(m.Players)
	if m.QPlayers != nil {
		np = len(m.QPlayers)
	}
	return EntityUpdateLen(min(len(m.Causes), maxRecords), min(len(m.Entities), maxRecords)) +
		min(np, maxRecords)*SnapshotPlayerSize
}

// Append appends the body to b. At most 255 records of each kind are sent,
// the most a count byte holds, but a receiver rejects a body longer than
// MaxBodySize (and a cause or player with client id 0): callers keep
// Len within MaxBodySize.
func (m *EntityUpdate) Append(b []byte) []byte {
	nc := min(len(m.Causes), maxRecords)
	ne := min(len(m.Entities), maxRecords)
	np := len(m.Players)
	if m.QPlayers != nil {
		np = len(m.QPlayers)
	}
	np = min(np, maxRecords)
	start := len(b)
	b = slices.Grow(b, m.Len())[:start+m.Len()]
	d := b[start:]
	binary.LittleEndian.PutUint32(d[offUpdTick:], m.Tick)
	binary.LittleEndian.PutUint64(d[offUpdServerTime:], m.ServerTime)
	d[offUpdCauseCount] = byte(nc)
	d = d[offUpdCauses:]
	for i := range nc {
		c := &m.Causes[i]
		binary.LittleEndian.PutUint16(d[offCauseClient:], c.Client)
		binary.LittleEndian.PutUint32(d[offCauseInput:], c.Input)
		d = d[UpdateCauseSize:]
	}
	d[0] = byte(ne)
	putEntities(d[1:], m.Entities[:ne])
	d = d[1+ne*SnapshotEntitySize:]
	d[0] = byte(np)
	if m.QPlayers != nil {
		putQPlayers(d[1:], m.QPlayers[:np])
	} else {
		putPlayers(d[1:], m.Players[:np])
	}
	return b
}

// Parse decodes a body into m, reusing the capacity of m.Causes,
// m.Entities and m.Players. A record count that runs past the end of b is
// ErrShort; a body that would be longer than MaxBodySize is ErrCount; a
// cause or player record with client id 0 is ErrField.
func (m *EntityUpdate) Parse(b []byte) (int, error) {
	if len(b) < EntityUpdateFixedSize {
		return 0, ErrShort
	}
	nc := int(b[offUpdCauseCount])
	offEntityCount := offUpdCauses + nc*UpdateCauseSize
	if len(b) < offEntityCount+1 {
		return 0, ErrShort
	}
	ne := int(b[offEntityCount])
	offPlayerCount := offEntityCount + 1 + ne*SnapshotEntitySize
	if len(b) < offPlayerCount+1 {
		return 0, ErrShort
	}
	np := int(b[offPlayerCount])
	offPlayers := offPlayerCount + 1
	n := EntityUpdateLen(nc, ne) + np*SnapshotPlayerSize
	if len(b) < n {
		return 0, ErrShort
	}
	if n > MaxBodySize {
		return 0, ErrCount
	}
	for i := range nc {
		if binary.LittleEndian.Uint16(b[offUpdCauses+i*UpdateCauseSize+offCauseClient:]) == 0 {
			return 0, ErrField
		}
	}
	for i := range np {
		if binary.LittleEndian.Uint16(b[offPlayers+i*SnapshotPlayerSize+offPlClientID:]) == 0 {
			return 0, ErrField
		}
	}
	m.Tick = binary.LittleEndian.Uint32(b[offUpdTick:])
	m.ServerTime = binary.LittleEndian.Uint64(b[offUpdServerTime:])
	m.Causes = slices.Grow(m.Causes[:0], nc)[:nc]
	for i := range m.Causes {
		r := b[offUpdCauses+i*UpdateCauseSize:][:UpdateCauseSize]
		m.Causes[i] = UpdateCause{
			Client: binary.LittleEndian.Uint16(r[offCauseClient:]),
			Input:  binary.LittleEndian.Uint32(r[offCauseInput:]),
		}
	}
	m.Entities = slices.Grow(m.Entities[:0], ne)[:ne]
	parseEntities(b[offEntityCount+1:], m.Entities)
	m.Players = slices.Grow(m.Players[:0], np)[:np]
	m.QPlayers = nil
	parsePlayers(b[offPlayers:], m.Players)
	return n, nil
}

// NewestInput returns the newest input seq (by InputSeqNewer) of client
// among the causes, and whether the update names any input of that client.
// A client measuring the latency of its own inputs uses it with its own
// client id: the update reflects that input and every earlier one.
func (m *EntityUpdate) NewestInput(client uint16) (input uint32, ok bool) {
	for _, c := range m.Causes {
		if c.Client == client && (!ok || InputSeqNewer(c.Input, input)) {
			input, ok = c.Input, true
		}
	}
	return input, ok
}
