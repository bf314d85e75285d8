package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/cespare/xxhash/v2"

	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/wire"
)

// Magic starts every checkpoint.
const Magic = "ARCWORLD"

// Version is the format version this package writes and reads.
const Version = 1

// Sizes and offsets.
const (
	HeaderSize = 24 // magic, version, reserved, body length, checksum
	offVersion = 8
	offLength  = 12
	offSum     = 16

	FixedSize  = 44  // scene, tick, server time, wall, three counts
	EntitySize = 120 // id, kind, flags, pose, velocities, sleep time, island
	PlayerSize = 20 + 2*PoseSize + InputSize
	HoldSize   = 8
	PoseSize   = 56  // 7 float64: position, then rotation x, y, z, w
	InputSize  = 146 // a wire.PoseInput's fields, raw: see AppendInput
)

// Limits a reader holds a file to, before it allocates for it.
const (
	MaxEntities = 1 << 15
	MaxPlayers  = 1 << 12
	MaxHolds    = 1 << 16
	// MaxSize is the largest checkpoint: every count at its limit.
	MaxSize = HeaderSize + FixedSize + MaxEntities*EntitySize + MaxPlayers*PlayerSize + MaxHolds*HoldSize
)

// Entity flags.
const entitySleeping = 1 << 0

// Player flags.
const (
	playerGripLeft  = 1 << 0
	playerGripRight = 1 << 1
	playerAvatar    = 1 << 2
	playerAway      = 1 << 3
)

// Input flags.
const inputStateAck = 1 << 0

// Errors of Parse. Each wraps a *FormatError for the details.
var (
	ErrMagic     = errors.New("not a checkpoint (no \"" + Magic + "\" magic)")
	ErrVersion   = errors.New("unknown checkpoint version")
	ErrTruncated = errors.New("truncated")
	ErrChecksum  = errors.New("checksum mismatch (corrupt)")
	ErrCorrupt   = errors.New("corrupt")
)

// FormatError says what is wrong with a checkpoint's bytes.
type FormatError struct {
	Kind   error // ErrMagic, ErrVersion, ErrTruncated, ErrChecksum or ErrCorrupt
	Detail string
}

func (e *FormatError) Error() string {
	if e.Detail == "" {
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Detail
}

func (e *FormatError) Unwrap() error { return e.Kind }

func formatErr(kind error, f string, a ...any) error {
	return &FormatError{Kind: kind, Detail: fmt.Sprintf(f, a...)}
}

// Len returns the encoded size of s.
func Len(s *State) int {
	return HeaderSize + FixedSize + len(s.Entities)*EntitySize + len(s.Players)*PlayerSize + len(s.Holds)*HoldSize
}

// Append appends the encoding of s to b. Counts past the limits are the
// caller's error: Parse refuses them.
func Append(b []byte, s *State) []byte {
	start := len(b)
	b = append(b, Magic...)
	b = binary.LittleEndian.AppendUint16(b, Version)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 0) // length, below
	b = binary.LittleEndian.AppendUint64(b, 0) // checksum, below
	body := len(b)
	b = binary.LittleEndian.AppendUint64(b, s.Scene)
	b = binary.LittleEndian.AppendUint64(b, s.Tick)
	b = binary.LittleEndian.AppendUint64(b, s.ServerTime)
	b = binary.LittleEndian.AppendUint64(b, uint64(s.Wall))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s.Entities)))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s.Players)))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s.Holds)))
	for i := range s.Entities {
		e := &s.Entities[i]
		var fl uint8
		if e.Sleeping {
			fl |= entitySleeping
		}
		b = binary.LittleEndian.AppendUint16(b, e.ID)
		b = append(b, e.Kind, fl)
		b = appendPose(b, e.Pose)
		b = appendVec(b, e.Vel)
		b = appendVec(b, e.AngVel)
		b = appendF64(b, e.SleepTime)
		b = binary.LittleEndian.AppendUint32(b, e.Island)
	}
	for i := range s.Players {
		p := &s.Players[i]
		var fl uint8
		if p.Grip[wire.Left] {
			fl |= playerGripLeft
		}
		if p.Grip[wire.Right] {
			fl |= playerGripRight
		}
		if p.HasAvatar {
			fl |= playerAvatar
		}
		if p.Away {
			fl |= playerAway
		}
		b = binary.LittleEndian.AppendUint16(b, p.ClientID)
		b = append(b, p.PlayerID[:]...)
		b = append(b, fl, 0)
		b = appendPose(b, p.Hands[0])
		b = appendPose(b, p.Hands[1])
		b = AppendInput(b, &p.Avatar)
	}
	for _, h := range s.Holds {
		b = binary.LittleEndian.AppendUint32(b, h.Holder)
		b = binary.LittleEndian.AppendUint32(b, h.Target)
	}
	binary.LittleEndian.PutUint32(b[start+offLength:], uint32(len(b)-body))
	binary.LittleEndian.PutUint64(b[start+offSum:], xxhash.Sum64(b[body:]))
	return b
}

// Parse decodes a checkpoint into s, reusing its slices, and returns the
// bytes it took (header and body; what follows is not read). On error s
// is left as it was, and the error is a *FormatError.
func Parse(b []byte, s *State) (int, error) {
	if len(b) < len(Magic) || string(b[:len(Magic)]) != Magic {
		return 0, formatErr(ErrMagic, "")
	}
	if len(b) < HeaderSize {
		return 0, formatErr(ErrTruncated, "%d bytes, the header alone is %d", len(b), HeaderSize)
	}
	if v := binary.LittleEndian.Uint16(b[offVersion:]); v != Version {
		return 0, formatErr(ErrVersion, "version %d, this build reads %d", v, Version)
	}
	n := binary.LittleEndian.Uint32(b[offLength:])
	if uint64(n) > uint64(len(b)-HeaderSize) {
		return 0, formatErr(ErrTruncated, "the header says %d bytes of body, %d follow", n, len(b)-HeaderSize)
	}
	body := b[HeaderSize : HeaderSize+int(n)]
	if sum := xxhash.Sum64(body); sum != binary.LittleEndian.Uint64(b[offSum:]) {
		return 0, formatErr(ErrChecksum, "body xxhash64 %016x, the header says %016x", sum, binary.LittleEndian.Uint64(b[offSum:]))
	}
	if len(body) < FixedSize {
		return 0, formatErr(ErrCorrupt, "body of %d bytes, want at least %d", len(body), FixedSize)
	}
	ne := binary.LittleEndian.Uint32(body[32:])
	np := binary.LittleEndian.Uint32(body[36:])
	nh := binary.LittleEndian.Uint32(body[40:])
	switch {
	case ne > MaxEntities:
		return 0, formatErr(ErrCorrupt, "%d entities, at most %d", ne, MaxEntities)
	case np > MaxPlayers:
		return 0, formatErr(ErrCorrupt, "%d players, at most %d", np, MaxPlayers)
	case nh > MaxHolds:
		return 0, formatErr(ErrCorrupt, "%d holds, at most %d", nh, MaxHolds)
	}
	need := FixedSize + int(ne)*EntitySize + int(np)*PlayerSize + int(nh)*HoldSize
	if len(body) < need {
		return 0, formatErr(ErrCorrupt, "%d entities, %d players and %d holds need %d bytes of body, it has %d", ne, np, nh, need, len(body))
	}
	// Checks done before anything of s changes.
	prev := uint32(0)
	for i := range int(ne) {
		e := body[FixedSize+i*EntitySize:]
		id := uint32(binary.LittleEndian.Uint16(e))
		if i > 0 && id <= prev {
			return 0, formatErr(ErrCorrupt, "entity %d after entity %d: ids must increase", id, prev)
		}
		prev = id
	}
	out := State{
		Scene:      binary.LittleEndian.Uint64(body[0:]),
		Tick:       binary.LittleEndian.Uint64(body[8:]),
		ServerTime: binary.LittleEndian.Uint64(body[16:]),
		Wall:       int64(binary.LittleEndian.Uint64(body[24:])),
		Entities:   s.Entities[:0],
		Players:    s.Players[:0],
		Holds:      s.Holds[:0],
	}
	p := body[FixedSize:]
	for range ne {
		e := Entity{
			ID:       binary.LittleEndian.Uint16(p),
			Kind:     p[2],
			Sleeping: p[3]&entitySleeping != 0,
		}
		e.Pose = parsePose(p[4:])
		e.Vel = parseVec(p[60:])
		e.AngVel = parseVec(p[84:])
		e.SleepTime = parseF64(p[108:])
		e.Island = binary.LittleEndian.Uint32(p[116:])
		out.Entities = append(out.Entities, e)
		p = p[EntitySize:]
	}
	for range np {
		pl := Player{ClientID: binary.LittleEndian.Uint16(p)}
		copy(pl.PlayerID[:], p[2:18])
		fl := p[18]
		pl.Grip = [2]bool{fl&playerGripLeft != 0, fl&playerGripRight != 0}
		pl.HasAvatar = fl&playerAvatar != 0
		pl.Away = fl&playerAway != 0
		pl.Hands[0] = parsePose(p[20:])
		pl.Hands[1] = parsePose(p[20+PoseSize:])
		ParseInput(p[20+2*PoseSize:], &pl.Avatar)
		out.Players = append(out.Players, pl)
		p = p[PlayerSize:]
	}
	for range nh {
		out.Holds = append(out.Holds, Hold{Holder: binary.LittleEndian.Uint32(p), Target: binary.LittleEndian.Uint32(p[4:])})
		p = p[HoldSize:]
	}
	*s = out
	return HeaderSize + int(n), nil
}

// AppendInput appends a pose input's fields as they are held in memory
// (InputSize bytes): unlike the wire's quantized PoseInput, reading it back
// gives the same bits. Layout: input seq u32, client time u64, head, left
// and right hand poses (7 float32 each: position, rotation x, y, z, w),
// buttons u32, triggers, grips and sticks (8 float32: trigger L, R, grip
// L, R, stick L x, y, R x, y), tracking u8, flags u8 (bit 0: state ack),
// state tick u32, state held u64.
func AppendInput(b []byte, m *wire.PoseInput) []byte {
	b = binary.LittleEndian.AppendUint32(b, m.InputSeq)
	b = binary.LittleEndian.AppendUint64(b, m.ClientTime)
	b = appendWirePose(b, &m.Head)
	b = appendWirePose(b, &m.Hands[0])
	b = appendWirePose(b, &m.Hands[1])
	b = binary.LittleEndian.AppendUint32(b, m.Buttons)
	for _, f := range [...]float32{m.Trigger[0], m.Trigger[1], m.Grip[0], m.Grip[1], m.Stick[0][0], m.Stick[0][1], m.Stick[1][0], m.Stick[1][1]} {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	var fl uint8
	if m.HasStateAck {
		fl |= inputStateAck
	}
	b = append(b, m.Tracking, fl)
	b = binary.LittleEndian.AppendUint32(b, m.StateTick)
	return binary.LittleEndian.AppendUint64(b, m.StateHeld)
}

// ParseInput decodes AppendInput's InputSize bytes into m. b must hold
// them.
func ParseInput(b []byte, m *wire.PoseInput) {
	_ = b[InputSize-1]
	m.InputSeq = binary.LittleEndian.Uint32(b)
	m.ClientTime = binary.LittleEndian.Uint64(b[4:])
	parseWirePose(b[12:], &m.Head)
	parseWirePose(b[40:], &m.Hands[0])
	parseWirePose(b[68:], &m.Hands[1])
	m.Buttons = binary.LittleEndian.Uint32(b[96:])
	f := func(i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[100+4*i:])) }
	m.Trigger = [2]float32{f(0), f(1)}
	m.Grip = [2]float32{f(2), f(3)}
	m.Stick = [2][2]float32{{f(4), f(5)}, {f(6), f(7)}}
	m.Tracking = b[132]
	m.HasStateAck = b[133]&inputStateAck != 0
	m.StateTick = binary.LittleEndian.Uint32(b[134:])
	m.StateHeld = binary.LittleEndian.Uint64(b[138:])
}

func appendF64(b []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}

func parseF64(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) }

func appendVec(b []byte, v geom.Vec3) []byte {
	return appendF64(appendF64(appendF64(b, v.X), v.Y), v.Z)
}

func parseVec(b []byte) geom.Vec3 {
	return geom.Vec3{X: parseF64(b), Y: parseF64(b[8:]), Z: parseF64(b[16:])}
}

func appendPose(b []byte, p geom.Pose) []byte {
	b = appendVec(b, p.Pos)
	return appendF64(appendF64(appendF64(appendF64(b, p.Rot.X), p.Rot.Y), p.Rot.Z), p.Rot.W)
}

func parsePose(b []byte) geom.Pose {
	return geom.Pose{Pos: parseVec(b), Rot: geom.Quat{X: parseF64(b[24:]), Y: parseF64(b[32:]), Z: parseF64(b[40:]), W: parseF64(b[48:])}}
}

func appendWirePose(b []byte, p *wire.Pose) []byte {
	for _, f := range [...]float32{p.Pos.X, p.Pos.Y, p.Pos.Z, p.Rot.X, p.Rot.Y, p.Rot.Z, p.Rot.W} {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b
}

func parseWirePose(b []byte, p *wire.Pose) {
	f := func(i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])) }
	p.Pos = wire.Vec3{X: f(0), Y: f(1), Z: f(2)}
	p.Rot = wire.Quat{X: f(3), Y: f(4), Z: f(5), W: f(6)}
}
