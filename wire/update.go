package wire

import (
	"encoding/binary"
	"slices"
)

// EntityUpdate sizes.
const (
	// EntityUpdateFixedSize is the size of an entity update body without
	// records: tick, server time, cause client, cause input and entity
	// record count.
	EntityUpdateFixedSize = 19
	// MaxEntityUpdateEntities is the most entity records that fit in one
	// datagram; an entity update never holds more.
	MaxEntityUpdateEntities = (MaxBodySize - EntityUpdateFixedSize) / SnapshotEntitySize // 82
)

// EntityUpdate offsets. The entity records follow the count.
const (
	offUpdTick        = 0
	offUpdServerTime  = 4
	offUpdCauseClient = 12
	offUpdCauseInput  = 14
	offUpdCount       = 18
	offUpdEntities    = 19
)

// EntityUpdateLen returns the body length of an entity update holding the
// given number of entity records. A sender keeps it within MaxBodySize.
func EntityUpdateLen(entities int) int {
	return EntityUpdateFixedSize + entities*SnapshotEntitySize
}

// Len returns the body length.
func (m *EntityUpdate) Len() int { return EntityUpdateLen(min(len(m.Entities), maxRecords)) }

// Append appends the body to b. At most 255 records are sent, the most the
// count byte holds, but a receiver rejects a body longer than MaxBodySize:
// callers send at most MaxEntityUpdateEntities records per update.
func (m *EntityUpdate) Append(b []byte) []byte {
	ne := min(len(m.Entities), maxRecords)
	start := len(b)
	b = slices.Grow(b, m.Len())[:start+m.Len()]
	d := b[start:]
	binary.LittleEndian.PutUint32(d[offUpdTick:], m.Tick)
	binary.LittleEndian.PutUint64(d[offUpdServerTime:], m.ServerTime)
	binary.LittleEndian.PutUint16(d[offUpdCauseClient:], m.CauseClient)
	binary.LittleEndian.PutUint32(d[offUpdCauseInput:], m.CauseInput)
	d[offUpdCount] = byte(ne)
	putEntities(d[offUpdEntities:], m.Entities[:ne])
	return b
}

// Parse decodes a body into m, reusing the capacity of m.Entities. A record
// count that runs past the end of b is ErrShort; a body that would be longer
// than MaxBodySize is ErrCount.
func (m *EntityUpdate) Parse(b []byte) (int, error) {
	if len(b) < EntityUpdateFixedSize {
		return 0, ErrShort
	}
	ne := int(b[offUpdCount])
	n := EntityUpdateLen(ne)
	if len(b) < n {
		return 0, ErrShort
	}
	if n > MaxBodySize {
		return 0, ErrCount
	}
	m.Tick = binary.LittleEndian.Uint32(b[offUpdTick:])
	m.ServerTime = binary.LittleEndian.Uint64(b[offUpdServerTime:])
	m.CauseClient = binary.LittleEndian.Uint16(b[offUpdCauseClient:])
	m.CauseInput = binary.LittleEndian.Uint32(b[offUpdCauseInput:])
	m.Entities = slices.Grow(m.Entities[:0], ne)[:ne]
	parseEntities(b[offUpdEntities:], m.Entities)
	return n, nil
}
