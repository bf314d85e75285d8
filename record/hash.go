package record

import (
	"encoding/binary"
	"math"

	"github.com/cespare/xxhash/v2"

	"github.com/arcadexr/arcade/wire"
)

// PlayerSize is a raw player state in the state hash: client id u16,
// input seq u32, tracking u8, head and hands 3 × 7 f32.
const PlayerSize = 2 + 4 + 1 + 3*28

// StateHash is the hash a Tick frame carries: xxhash64 of the tick (u64)
// and the tick's players (by client id) and entities (by id), raw, as the
// server holds them before the wire quantizes them (PlayerSize and
// EntitySize bytes each). It is stricter than the snapshot's state hash,
// which sees quantized poses, and cheaper. buf is scratch, returned grown
// for the next call.
func StateHash(buf []byte, tick uint64, players []wire.PlayerState, entities []wire.EntityState) (uint64, []byte) {
	b := binary.LittleEndian.AppendUint64(buf[:0], tick)
	for i := range players {
		p := &players[i]
		b = binary.LittleEndian.AppendUint16(b, p.ClientID)
		b = binary.LittleEndian.AppendUint32(b, p.LastInputSeq)
		// TrackNoInput marks a player whose session has sent no input
		// yet, for the wire; it follows from the inputs, not the world.
		b = append(b, p.Tracking&^wire.TrackNoInput)
		b = appendPose(b, &p.Head)
		b = appendPose(b, &p.Hands[0])
		b = appendPose(b, &p.Hands[1])
	}
	for i := range entities {
		b = AppendEntity(b, &entities[i])
	}
	return xxhash.Sum64(b), b
}

func appendPose(b []byte, p *wire.Pose) []byte {
	for _, f := range [...]float32{p.Pos.X, p.Pos.Y, p.Pos.Z, p.Rot.X, p.Rot.Y, p.Rot.Z, p.Rot.W} {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b
}
