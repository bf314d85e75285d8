package record

import (
	"encoding/binary"
	"hash/crc32"
)

// Magic starts every recording; Version is the format version.
const (
	Magic   = "ARCRECRD"
	Version = 1
)

// Sizes.
const (
	HeaderSize = 16 // magic, version u16, tick rate u16, reserved u32
	// A frame is its length u32 (of type and payload), its type u8, the
	// payload, and the CRC-32C of type and payload.
	FrameOverhead = 4 + 1 + 4
	// MaxFrame bounds a frame's type and payload: a keyframe of every
	// entity, player and hold at the checkpoint's limits fits.
	MaxFrame = 8 << 20
	// InputSize is a raw pose input (checkpoint.AppendInput).
	InputSize = 146
	// EntitySize is a raw entity state in a Tick frame: id u16, flags
	// u8, pose 7 × f32 (as the world gives it, not quantized).
	EntitySize = 2 + 1 + 28
)

// Frame types.
const (
	TypeScene        = 1  // fingerprint u64, scene text length u32, scene text
	TypeAddPlayer    = 10 // now i64, client u16
	TypeRemovePlayer = 11 // now i64, client u16
	TypeApplyInput   = 12 // now i64, client u16, input (InputSize)
	TypeGrab         = 13 // now i64, client u16, hand u8, entity u16, ok u8
	TypeRelease      = 14 // now i64, client u16, hand u8, ok u8
	TypePropagate    = 15 // now i64
	TypeBeginStep    = 16 // now i64, dt f64, sub-steps u16
	TypeSubStep      = 17 // sub-step u16
	TypeEndStep      = 18 // now i64
	TypeJoin         = 20 // now i64, client u16, flags u8 (bit 0 avatar), avatar (InputSize)
	TypeLeave        = 21 // now i64, client u16
	TypeTick         = 30 // tick u64, now i64, hash u64, players u16, entities u16, changed u16, changed × EntitySize
	TypeKeyframe     = 40 // kind u8, now i64, sessions u16, sessions × client u16, a checkpoint
	TypeLost         = 50 // events u64, bytes u64, keyframes u32, first tick u64
	TypeEnd          = 60 // events u64, lost events u64, ticks u64
)

// Keyframe kinds.
const (
	// KeyFresh: the server started from its scene; the keyframe is that
	// state (a replay builds the world from the scene, as the server did).
	KeyFresh = 0
	// KeyRestored: the server started from this state (a checkpoint): a
	// replay restores it into a world built from the scene.
	KeyRestored = 1
	// KeyPeriodic: the world at the end of a tick, to seek from.
	KeyPeriodic = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendHeader appends a recording's file header.
func appendHeader(b []byte, tickRate int) []byte {
	b = append(b, Magic...)
	b = binary.LittleEndian.AppendUint16(b, Version)
	b = binary.LittleEndian.AppendUint16(b, uint16(tickRate))
	return binary.LittleEndian.AppendUint32(b, 0)
}

// beginFrame appends a frame's length (filled in by endFrame) and type;
// the payload follows.
func beginFrame(b []byte, typ uint8) ([]byte, int) {
	at := len(b)
	b = binary.LittleEndian.AppendUint32(b, 0)
	return append(b, typ), at
}

// endFrameUnsealed is endFrame with the CRC's place left zero, for the
// Writer's goroutine to fill in (Writer.sealTo).
func endFrameUnsealed(b []byte, at int) []byte {
	binary.LittleEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return binary.LittleEndian.AppendUint32(b, 0)
}

// endFrame fills in the length of the frame begun at at and appends its
// CRC.
func endFrame(b []byte, at int) []byte {
	body := b[at+4:]
	binary.LittleEndian.PutUint32(b[at:], uint32(len(body)))
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(body, castagnoli))
}
