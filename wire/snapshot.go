package wire

import (
	"encoding/binary"
	"math"
	"slices"
)

// Snapshot sizes.
const (
	// SnapshotFixedSize is the size of a snapshot body without state hash
	// and without records: tick, server time, part, parts, player count,
	// flags, player record count and entity record count.
	SnapshotFixedSize = 19
	SnapshotHashSize  = 8 // state hash, present when Flags&SnapshotHasHash
	// MaxSnapshotPlayers and MaxSnapshotEntities are the most records of
	// one kind that fit in one datagram with nothing else; a snapshot part
	// never holds more.
	MaxSnapshotPlayers  = (MaxBodySize - SnapshotFixedSize) / SnapshotPlayerSize // 28
	MaxSnapshotEntities = (MaxBodySize - SnapshotFixedSize) / SnapshotEntitySize // 82
)

// Snapshot offsets. After the flags come the optional hash, then the player
// record count and records, then the entity record count and records.
const (
	offSnapTick        = 0
	offSnapServerTime  = 4
	offSnapPart        = 12
	offSnapParts       = 13
	offSnapPlayerCount = 14
	offSnapFlags       = 16
	offSnapHash        = 17 // or the player record count if there is no hash
)

// PlayerState record offsets.
const (
	offPlClientID     = 0
	offPlLastInputSeq = 2
	offPlTracking     = 6
	offPlHead         = 7
	offPlLeft         = offPlHead + PoseSize // 18
	offPlRight        = offPlLeft + PoseSize // 29
)

// EntityState record offsets.
const (
	offEnID    = 0
	offEnFlags = 2
	offEnPose  = 3
)

// maxRecords is the most records of one kind a count byte can describe.
const maxRecords = math.MaxUint8

// SnapshotLen returns the body length of a snapshot part holding the given
// numbers of player and entity records. A sender splits a tick's state into
// parts such that SnapshotLen(...) <= MaxBodySize for each.
func SnapshotLen(players, entities int, hasHash bool) int {
	n := SnapshotFixedSize + players*SnapshotPlayerSize + entities*SnapshotEntitySize
	if hasHash {
		n += SnapshotHashSize
	}
	return n
}

// Len returns the body length.
func (m *Snapshot) Len() int {
	return SnapshotLen(min(m.players(), maxRecords), min(len(m.Entities), maxRecords), m.Flags&SnapshotHasHash != 0)
}

// Append appends the body to b. StateHash is sent only if
// Flags&SnapshotHasHash. At most 255 records of each kind are sent, the most
// a count byte holds, but a receiver rejects a body longer than MaxBodySize:
// callers keep each part within it, using SnapshotLen.
func (m *Snapshot) Append(b []byte) []byte {
	np := min(m.players(), maxRecords)
	ne := min(len(m.Entities), maxRecords)
	start := len(b)
	b = slices.Grow(b, m.Len())[:start+m.Len()]
	d := b[start:]
	binary.LittleEndian.PutUint32(d[offSnapTick:], m.Tick)
	binary.LittleEndian.PutUint64(d[offSnapServerTime:], m.ServerTime)
	d[offSnapPart] = m.Part
	d[offSnapParts] = m.Parts
	binary.LittleEndian.PutUint16(d[offSnapPlayerCount:], m.PlayerCount)
	d[offSnapFlags] = m.Flags
	d = d[offSnapHash:]
	if m.Flags&SnapshotHasHash != 0 {
		binary.LittleEndian.PutUint64(d, m.StateHash)
		d = d[SnapshotHashSize:]
	}
	d[0] = byte(np)
	d = d[1:]
	if m.QPlayers != nil {
		putQPlayers(d, m.QPlayers[:np])
	} else {
		putPlayers(d, m.Players[:np])
	}
	d = d[np*SnapshotPlayerSize:]
	d[0] = byte(ne)
	d = d[1:]
	putEntities(d, m.Entities[:ne])
	return b
}

// players is the number of player records: of QPlayers when set.
func (m *Snapshot) players() int {
	if m.QPlayers != nil {
		return len(m.QPlayers)
	}
	return len(m.Players)
}

// putQPlayers writes the player records ps, already on the wire's grid,
// into d, which must hold them: the bytes putPlayers writes for the
// players they were quantized from.
func putQPlayers(d []byte, ps []QPlayer) {
	for i := range ps {
		putQPlayer(d[i*SnapshotPlayerSize:], &ps[i])
	}
}

// putPlayers writes the player records ps into d, which must hold them.
func putPlayers(d []byte, ps []PlayerState) {
	for i := range ps {
		p := &ps[i]
		r := d[i*SnapshotPlayerSize:][:SnapshotPlayerSize]
		binary.LittleEndian.PutUint16(r[offPlClientID:], p.ClientID)
		binary.LittleEndian.PutUint32(r[offPlLastInputSeq:], p.LastInputSeq)
		r[offPlTracking] = p.Tracking
		putPose(r[offPlHead:], &p.Head)
		putPose(r[offPlLeft:], &p.Hands[Left])
		putPose(r[offPlRight:], &p.Hands[Right])
	}
}

// parsePlayers reads len(ps) player records from d, which must hold them.
func parsePlayers(d []byte, ps []PlayerState) {
	for i := range ps {
		r := d[i*SnapshotPlayerSize:][:SnapshotPlayerSize]
		p := &ps[i]
		p.ClientID = binary.LittleEndian.Uint16(r[offPlClientID:])
		p.LastInputSeq = binary.LittleEndian.Uint32(r[offPlLastInputSeq:])
		p.Tracking = r[offPlTracking]
		ParsePose(r[offPlHead:], &p.Head)
		ParsePose(r[offPlLeft:], &p.Hands[Left])
		ParsePose(r[offPlRight:], &p.Hands[Right])
	}
}

// putEntities writes the entity records es into d, which must hold them.
func putEntities(d []byte, es []EntityState) {
	for i := range es {
		e := &es[i]
		r := d[i*SnapshotEntitySize:][:SnapshotEntitySize]
		binary.LittleEndian.PutUint16(r[offEnID:], e.ID)
		r[offEnFlags] = e.Flags
		putPose(r[offEnPose:], &e.Pose)
	}
}

// parseEntities reads len(es) entity records from d, which must hold them.
func parseEntities(d []byte, es []EntityState) {
	for i := range es {
		r := d[i*SnapshotEntitySize:][:SnapshotEntitySize]
		e := &es[i]
		e.ID = binary.LittleEndian.Uint16(r[offEnID:])
		e.Flags = r[offEnFlags]
		ParsePose(r[offEnPose:], &e.Pose)
	}
}

// Parse decodes a body into m, reusing the capacity of m.Players and
// m.Entities. Parts == 0 or Part >= Parts is ErrField; record counts that run
// past the end of b are ErrShort; a body that would be longer than
// MaxBodySize is ErrCount. StateHash is zeroed when absent.
func (m *Snapshot) Parse(b []byte) (int, error) {
	if len(b) < SnapshotFixedSize {
		return 0, ErrShort
	}
	part, parts, flags := b[offSnapPart], b[offSnapParts], b[offSnapFlags]
	if parts == 0 || part >= parts {
		return 0, ErrField
	}
	off := offSnapHash
	hasHash := flags&SnapshotHasHash != 0
	if hasHash {
		off += SnapshotHashSize
	}
	// The fixed size covers both count bytes; the hash may push them out.
	if len(b) < off+1 {
		return 0, ErrShort
	}
	np := int(b[off])
	offPlayers := off + 1
	offEntityCount := offPlayers + np*SnapshotPlayerSize
	if len(b) < offEntityCount+1 {
		return 0, ErrShort
	}
	ne := int(b[offEntityCount])
	offEntities := offEntityCount + 1
	n := offEntities + ne*SnapshotEntitySize
	if len(b) < n {
		return 0, ErrShort
	}
	if n > MaxBodySize {
		return 0, ErrCount
	}

	m.Tick = binary.LittleEndian.Uint32(b[offSnapTick:])
	m.ServerTime = binary.LittleEndian.Uint64(b[offSnapServerTime:])
	m.Part, m.Parts, m.Flags = part, parts, flags
	m.PlayerCount = binary.LittleEndian.Uint16(b[offSnapPlayerCount:])
	m.StateHash = 0
	if hasHash {
		m.StateHash = binary.LittleEndian.Uint64(b[offSnapHash:])
	}
	m.Players = slices.Grow(m.Players[:0], np)[:np]
	m.QPlayers = nil
	parsePlayers(b[offPlayers:], m.Players)
	m.Entities = slices.Grow(m.Entities[:0], ne)[:ne]
	parseEntities(b[offEntities:], m.Entities)
	return n, nil
}
