package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/wire"
)

// Event is a decoded frame: the fields its type uses are set.
type Event struct {
	Type   uint8
	Now    int64 // server monotonic ns, when the server took it
	Client uint16
	Hand   uint8
	Entity uint16
	OK     bool    // Grab, Release: the world accepted it
	DT     float64 // BeginStep: s
	N      int     // BeginStep: sub-steps; SubStep: its index

	Input     wire.PoseInput // ApplyInput; Join: the avatar
	HasAvatar bool           // Join

	// Tick.
	Tick                   uint64
	Hash                   uint64
	Players, Entities      int
	Changed                []wire.EntityState
	KeyKind                uint8
	Sessions               []uint16
	State                  checkpoint.State
	LostEvents, Bytes      uint64 // Lost
	LostKeys               uint32 // Lost
	LostFrom               uint64 // Lost: the last tick before the loss
	Events, Lost, EndTicks uint64 // End: events, lost events, ticks
}

// fixed is the payload size of the fixed-size frame types.
var fixed = map[uint8]int{
	TypeAddPlayer: 10, TypeRemovePlayer: 10, TypeLeave: 10,
	TypeApplyInput: 10 + InputSize, TypeJoin: 11 + InputSize,
	TypeGrab: 14, TypeRelease: 12, TypePropagate: 8, TypeEndStep: 8,
	TypeBeginStep: 18, TypeSubStep: 2, TypeLost: 28, TypeEnd: 24,
}

// ErrUnknownType: a frame of a type this build does not know (a later
// version's); a reader skips it.
var ErrUnknownType = errors.New("record: unknown frame type")

// Decode decodes f into e, reusing e's slices. Payload bytes past the
// fields are ignored (a later version may append); a payload shorter than
// its fields is an error wrapping ErrCorrupt; an unknown type,
// ErrUnknownType. On error e is left as it was.
func (e *Event) Decode(f Frame) error {
	p := f.Payload
	if n, ok := fixed[f.Type]; ok && len(p) < n {
		return fmt.Errorf("%w: a frame of type %d at byte %d has %d bytes, want %d", ErrCorrupt, f.Type, f.Offset, len(p), n)
	}
	le := binary.LittleEndian
	switch f.Type {
	case TypeAddPlayer, TypeRemovePlayer, TypeLeave:
		e.Now, e.Client = int64(le.Uint64(p)), le.Uint16(p[8:])
	case TypeApplyInput:
		e.Now, e.Client = int64(le.Uint64(p)), le.Uint16(p[8:])
		checkpoint.ParseInput(p[10:], &e.Input)
	case TypeJoin:
		e.Now, e.Client, e.HasAvatar = int64(le.Uint64(p)), le.Uint16(p[8:]), p[10]&1 != 0
		checkpoint.ParseInput(p[11:], &e.Input)
	case TypeGrab:
		e.Now, e.Client, e.Hand, e.Entity, e.OK = int64(le.Uint64(p)), le.Uint16(p[8:]), p[10], le.Uint16(p[11:]), p[13] != 0
	case TypeRelease:
		e.Now, e.Client, e.Hand, e.OK = int64(le.Uint64(p)), le.Uint16(p[8:]), p[10], p[11] != 0
	case TypePropagate, TypeEndStep:
		e.Now = int64(le.Uint64(p))
	case TypeBeginStep:
		e.Now, e.DT, e.N = int64(le.Uint64(p)), math.Float64frombits(le.Uint64(p[8:])), int(le.Uint16(p[16:]))
	case TypeSubStep:
		e.N = int(le.Uint16(p))
	case TypeTick:
		if len(p) < 30 {
			return fmt.Errorf("%w: a tick frame at byte %d has %d bytes, want at least 30", ErrCorrupt, f.Offset, len(p))
		}
		n := int(le.Uint16(p[28:]))
		if len(p) < 30+n*EntitySize {
			return fmt.Errorf("%w: a tick frame at byte %d lists %d entities in %d bytes", ErrCorrupt, f.Offset, n, len(p))
		}
		e.Tick, e.Now, e.Hash = le.Uint64(p), int64(le.Uint64(p[8:])), le.Uint64(p[16:])
		e.Players, e.Entities = int(le.Uint16(p[24:])), int(le.Uint16(p[26:]))
		e.Changed = e.Changed[:0]
		for i := range n {
			e.Changed = append(e.Changed, ParseEntity(p[30+i*EntitySize:]))
		}
	case TypeKeyframe:
		if len(p) < 11 {
			return fmt.Errorf("%w: a keyframe at byte %d has %d bytes", ErrCorrupt, f.Offset, len(p))
		}
		n := int(le.Uint16(p[9:]))
		if len(p) < 11+2*n {
			return fmt.Errorf("%w: a keyframe at byte %d lists %d sessions in %d bytes", ErrCorrupt, f.Offset, n, len(p))
		}
		if _, err := checkpoint.Parse(p[11+2*n:], &e.State); err != nil {
			return fmt.Errorf("%w: the keyframe at byte %d: %v", ErrCorrupt, f.Offset, err)
		}
		e.KeyKind, e.Now = p[0], int64(le.Uint64(p[1:]))
		e.Sessions = e.Sessions[:0]
		for i := range n {
			e.Sessions = append(e.Sessions, le.Uint16(p[11+2*i:]))
		}
	case TypeLost:
		e.LostEvents, e.Bytes, e.LostKeys, e.LostFrom = le.Uint64(p), le.Uint64(p[8:]), le.Uint32(p[16:]), le.Uint64(p[20:])
	case TypeEnd:
		e.Events, e.Lost, e.EndTicks = le.Uint64(p), le.Uint64(p[8:]), le.Uint64(p[16:])
	default:
		return fmt.Errorf("%w %d at byte %d", ErrUnknownType, f.Type, f.Offset)
	}
	e.Type = f.Type
	return nil
}
