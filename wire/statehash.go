package wire

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
)

// The state hash (docs/PROTOCOL.md §10.5): XXH64 with seed 0 over the
// tick number, the player and entity counts, and the tick's records on the
// wire's grid exactly as a Snapshot encodes them (§6.7), players by client
// id, then entities by id. Whoever holds a tick's records (the server, or
// a headset from a complete Snapshot or a whole StateDelta tick) computes
// the same value.

// StateHashPrefixSize is the hashed bytes before the records: tick u32,
// player count u16, entity count u16.
const StateHashPrefixSize = 8

// StateHasher computes state hashes without allocating. Its zero value is
// ready to use; it is not safe for concurrent use.
type StateHasher struct {
	d     xxhash.Digest
	ready bool
	rec   [SnapshotPlayerSize]byte
}

func (h *StateHasher) begin(tick uint32, players, entities int) {
	h.d.Reset() // seed 0
	var b [StateHashPrefixSize]byte
	binary.LittleEndian.PutUint32(b[0:], tick)
	binary.LittleEndian.PutUint16(b[4:], uint16(players))
	binary.LittleEndian.PutUint16(b[6:], uint16(entities))
	h.d.Write(b[:])
}

// Records returns the hash of a tick's players (sorted by client id) and
// entities (sorted by id), put on the wire's grid as a Snapshot sends them.
func (h *StateHasher) Records(tick uint32, players []PlayerState, entities []EntityState) uint64 {
	h.begin(tick, len(players), len(entities))
	for i := range players {
		putPlayers(h.rec[:], players[i:i+1])
		h.d.Write(h.rec[:SnapshotPlayerSize])
	}
	for i := range entities {
		putEntities(h.rec[:], entities[i:i+1])
		h.d.Write(h.rec[:SnapshotEntitySize])
	}
	return h.d.Sum64()
}

// State returns the hash of st, a tick's state already on the wire's grid
// (as a StateDelta receiver holds it).
func (h *StateHasher) State(st *State) uint64 {
	h.begin(st.Tick, len(st.Players), len(st.Entities))
	for i := range st.Players {
		putQPlayer(h.rec[:], &st.Players[i])
		h.d.Write(h.rec[:SnapshotPlayerSize])
	}
	for i := range st.Entities {
		putQEntity(h.rec[:], &st.Entities[i])
		h.d.Write(h.rec[:SnapshotEntitySize])
	}
	return h.d.Sum64()
}

// HashState returns the state hash of st (a convenience: a StateHasher
// reused does not allocate).
func HashState(st *State) uint64 {
	var h StateHasher
	return h.State(st)
}

// AppendStateHashInput appends the bytes the state hash of st is taken
// over: for tests and second implementations, not the hot path.
func AppendStateHashInput(b []byte, st *State) []byte {
	var r [SnapshotPlayerSize]byte
	b = binary.LittleEndian.AppendUint32(b, st.Tick)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(st.Players)))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(st.Entities)))
	for i := range st.Players {
		putQPlayer(r[:], &st.Players[i])
		b = append(b, r[:SnapshotPlayerSize]...)
	}
	for i := range st.Entities {
		putQEntity(r[:], &st.Entities[i])
		b = append(b, r[:SnapshotEntitySize]...)
	}
	return b
}

// putQPose writes q's PoseSize-byte encoding (rotation bits 38-39 zero).
func putQPose(d []byte, q *QPose) {
	_ = d[PoseSize-1]
	binary.LittleEndian.PutUint16(d[offPosX:], q.X)
	binary.LittleEndian.PutUint16(d[offPosY:], q.Y)
	binary.LittleEndian.PutUint16(d[offPosZ:], q.Z)
	r := q.Rot & rotWordMask
	d[offRot], d[offRot+1], d[offRot+2], d[offRot+3], d[offRot+4] =
		byte(r), byte(r>>8), byte(r>>16), byte(r>>24), byte(r>>32)
}

// putQPlayer writes p as a Snapshot player record into d[:SnapshotPlayerSize].
func putQPlayer(d []byte, p *QPlayer) {
	_ = d[SnapshotPlayerSize-1]
	binary.LittleEndian.PutUint16(d[offPlClientID:], p.ClientID)
	binary.LittleEndian.PutUint32(d[offPlLastInputSeq:], p.Seq)
	d[offPlTracking] = p.Tracking
	putQPose(d[offPlHead:], &p.Poses[0])
	putQPose(d[offPlLeft:], &p.Poses[1])
	putQPose(d[offPlRight:], &p.Poses[2])
}

// putQEntity writes e as a Snapshot entity record into d[:SnapshotEntitySize].
func putQEntity(d []byte, e *QEntity) {
	_ = d[SnapshotEntitySize-1]
	binary.LittleEndian.PutUint16(d[offEnID:], e.ID)
	d[offEnFlags] = e.Flags
	putQPose(d[offEnPose:], &e.Pose)
}
