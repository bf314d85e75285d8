package wire

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// RPCType identifies an RPC message. Every message of the reliable layer on
// a session is one RPC: a u16 RPCType, then the body of that type (an RPC
// body, like a packet body, ignores bytes after its end). Receivers drop
// and count a message of a type they do not know.
type RPCType uint16

// RPC types. Client to server: 1 to 4 and 8; server to client: 5 to 7.
const (
	RPCGrabRequest        RPCType = 1
	RPCReleaseRequest     RPCType = 2
	RPCButtonEvent        RPCType = 3
	RPCSceneChangeRequest RPCType = 4
	RPCEvent              RPCType = 5
	RPCSceneChange        RPCType = 6
	RPCText               RPCType = 7
	RPCDesyncReport       RPCType = 8 // desync.go
	// MaxRPCType is the largest RPC type of this version.
	MaxRPCType = RPCDesyncReport
)

// Reliable streams of a session, by what they carry. Both ends configure
// the reliable layer with RPCStreams streams.
const (
	StreamControl = 0 // RPC requests (grab, release, button, scene change request), events and desync reports
	StreamScene   = 1 // scene changes
	StreamText    = 2 // text
	RPCStreams    = 4 // reliable-ordered streams per session (3 is unused in version 1)
	// MaxRPCMessage is the largest RPC message (type id included): the
	// reliable layer's MaxMessage on a session.
	MaxRPCMessage = 256 << 10
)

// RPC sizes, in bytes.
const (
	RPCTypeSize        = 2
	GrabRequestSize    = 3
	ReleaseRequestSize = 1
	ButtonEventSize    = 10
	EventSize          = 24
	MaxSceneNameLen    = 64 // scene name, UTF-8 bytes
	TextHeaderSize     = 4  // u32 length before the text
	// MaxTextLen is the longest Text: it fills an RPC message of
	// MaxRPCMessage bytes.
	MaxTextLen = MaxRPCMessage - RPCTypeSize - TextHeaderSize
)

// RPC body offsets.
const (
	offGrabHand      = 0
	offGrabEntity    = 1
	offButtonButton  = 0
	offButtonDown    = 1
	offButtonTime    = 2
	offEventKind     = 0
	offEventCue      = 1
	offEventPos      = 3 // x, y, z float32
	offEventTime     = 15
	offEventStrength = 23
)

// Event kinds, in Event.Kind. Receivers pass through kinds they do not
// know; 0 is invalid.
const (
	EventSound  = 1
	EventHaptic = 2
)

var rpcNames = [...]string{
	RPCGrabRequest:        "GrabRequest",
	RPCReleaseRequest:     "ReleaseRequest",
	RPCButtonEvent:        "ButtonEvent",
	RPCSceneChangeRequest: "SceneChangeRequest",
	RPCEvent:              "Event",
	RPCSceneChange:        "SceneChange",
	RPCText:               "Text",
	RPCDesyncReport:       "DesyncReport",
}

// String returns the RPC name, or "unknown". It does not allocate.
func (t RPCType) String() string {
	if t == 0 || t > MaxRPCType {
		return "unknown"
	}
	return rpcNames[t]
}

// AppendRPCType appends the type id that starts an RPC message; the body
// follows.
func AppendRPCType(b []byte, t RPCType) []byte { return binary.LittleEndian.AppendUint16(b, uint16(t)) }

// ParseRPC splits an RPC message into its type and body (a subslice of
// msg). It fails only with ErrShort; the type may be unknown.
func ParseRPC(msg []byte) (RPCType, []byte, error) {
	if len(msg) < RPCTypeSize {
		return 0, nil, ErrShort
	}
	return RPCType(binary.LittleEndian.Uint16(msg)), msg[RPCTypeSize:], nil
}

// GrabRequest asks the server to let a hand grab an entity.
type GrabRequest struct {
	Hand   uint8  // Left or Right
	Entity uint16 // entity id; 0: the nearest grabbable entity in reach
}

// RPCType returns RPCGrabRequest.
func (m *GrabRequest) RPCType() RPCType { return RPCGrabRequest }

// Len returns GrabRequestSize.
func (m *GrabRequest) Len() int { return GrabRequestSize }

// Append appends the body to b.
func (m *GrabRequest) Append(b []byte) []byte {
	b = append(b, m.Hand)
	return binary.LittleEndian.AppendUint16(b, m.Entity)
}

// Parse decodes a body. A hand other than Left or Right is ErrField.
func (m *GrabRequest) Parse(b []byte) (int, error) {
	if len(b) < GrabRequestSize {
		return 0, ErrShort
	}
	if b[offGrabHand] > Right {
		return 0, ErrField
	}
	m.Hand = b[offGrabHand]
	m.Entity = binary.LittleEndian.Uint16(b[offGrabEntity:])
	return GrabRequestSize, nil
}

// ReleaseRequest asks the server to release what a hand holds.
type ReleaseRequest struct {
	Hand uint8 // Left or Right
}

// RPCType returns RPCReleaseRequest.
func (m *ReleaseRequest) RPCType() RPCType { return RPCReleaseRequest }

// Len returns ReleaseRequestSize.
func (m *ReleaseRequest) Len() int { return ReleaseRequestSize }

// Append appends the body to b.
func (m *ReleaseRequest) Append(b []byte) []byte { return append(b, m.Hand) }

// Parse decodes a body. A hand other than Left or Right is ErrField.
func (m *ReleaseRequest) Parse(b []byte) (int, error) {
	if len(b) < ReleaseRequestSize {
		return 0, ErrShort
	}
	if b[0] > Right {
		return 0, ErrField
	}
	m.Hand = b[0]
	return ReleaseRequestSize, nil
}

// ButtonEvent reports a button going down or up, reliably and in order.
type ButtonEvent struct {
	Button     uint8
	Down       bool
	ClientTime uint64 // µs, client clock
}

// RPCType returns RPCButtonEvent.
func (m *ButtonEvent) RPCType() RPCType { return RPCButtonEvent }

// Len returns ButtonEventSize.
func (m *ButtonEvent) Len() int { return ButtonEventSize }

// Append appends the body to b. Down is sent as 1, up as 0.
func (m *ButtonEvent) Append(b []byte) []byte {
	var d byte
	if m.Down {
		d = 1
	}
	b = append(b, m.Button, d)
	return binary.LittleEndian.AppendUint64(b, m.ClientTime)
}

// Parse decodes a body. A down byte other than 0 or 1 is ErrField.
func (m *ButtonEvent) Parse(b []byte) (int, error) {
	if len(b) < ButtonEventSize {
		return 0, ErrShort
	}
	if b[offButtonDown] > 1 {
		return 0, ErrField
	}
	m.Button = b[offButtonButton]
	m.Down = b[offButtonDown] == 1
	m.ClientTime = binary.LittleEndian.Uint64(b[offButtonTime:])
	return ButtonEventSize, nil
}

// SceneName is a scene name: up to MaxSceneNameLen bytes of UTF-8, stored
// without allocating.
type SceneName struct {
	NameLen uint8
	Name    [MaxSceneNameLen]byte
}

// SetName sets the name to s, truncated to MaxSceneNameLen bytes at a
// UTF-8 boundary; invalid UTF-8 is replaced by U+FFFD.
func (m *SceneName) SetName(s string) {
	b := m.Name[:0]
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if utf8.RuneLen(r) > MaxSceneNameLen-len(b) {
			break
		}
		b = utf8.AppendRune(b, r)
	}
	m.NameLen = uint8(len(b))
	clear(m.Name[len(b):])
}

// NameString returns the name. Unlike the codec it allocates.
func (m *SceneName) NameString() string { return string(m.Name[:min(m.NameLen, MaxSceneNameLen)]) }

// Len returns 1 + NameLen (clamped to MaxSceneNameLen).
func (m *SceneName) Len() int { return 1 + int(min(m.NameLen, MaxSceneNameLen)) }

// Append appends the length byte and the name to b. A NameLen above
// MaxSceneNameLen is sent as MaxSceneNameLen.
func (m *SceneName) Append(b []byte) []byte {
	n := min(m.NameLen, MaxSceneNameLen)
	b = append(b, n)
	return append(b, m.Name[:n]...)
}

// Parse decodes a name. A length above MaxSceneNameLen or invalid UTF-8 is
// ErrField.
func (m *SceneName) Parse(b []byte) (int, error) {
	if len(b) < 1 {
		return 0, ErrShort
	}
	l := int(b[0])
	if l > MaxSceneNameLen {
		return 0, ErrField
	}
	if len(b) < 1+l {
		return 0, ErrShort
	}
	s := b[1 : 1+l]
	if !utf8.Valid(s) {
		return 0, ErrField
	}
	m.NameLen = uint8(l)
	clear(m.Name[copy(m.Name[:], s):])
	return 1 + l, nil
}

// SceneChangeRequest asks the server to change the scene.
type SceneChangeRequest struct{ SceneName }

// RPCType returns RPCSceneChangeRequest.
func (m *SceneChangeRequest) RPCType() RPCType { return RPCSceneChangeRequest }

// SceneChange tells clients the scene changed (stream StreamScene).
type SceneChange struct{ SceneName }

// RPCType returns RPCSceneChange.
func (m *SceneChange) RPCType() RPCType { return RPCSceneChange }

// Event is a cue for one client or all: a sound or a haptic pulse at a
// position, due at a server time.
type Event struct {
	Kind       uint8  // EventSound, EventHaptic; 0 is invalid
	Cue        uint16 // which sound or pattern
	Pos        Vec3   // where, in the venue frame; float32 as sent
	ServerTime uint64 // µs since the server started: when to play it
	Strength   uint8  // 0..255: volume or intensity
}

// RPCType returns RPCEvent.
func (m *Event) RPCType() RPCType { return RPCEvent }

// Len returns EventSize.
func (m *Event) Len() int { return EventSize }

// Append appends the body to b. The position is sent as IEEE 754 float32
// bits, NaN included.
func (m *Event) Append(b []byte) []byte {
	b = append(b, m.Kind)
	b = binary.LittleEndian.AppendUint16(b, m.Cue)
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(m.Pos.X))
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(m.Pos.Y))
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(m.Pos.Z))
	b = binary.LittleEndian.AppendUint64(b, m.ServerTime)
	return append(b, m.Strength)
}

// Parse decodes a body. Kind 0 is ErrField; other kinds unknown to this
// version are passed through.
func (m *Event) Parse(b []byte) (int, error) {
	if len(b) < EventSize {
		return 0, ErrShort
	}
	if b[offEventKind] == 0 {
		return 0, ErrField
	}
	m.Kind = b[offEventKind]
	m.Cue = binary.LittleEndian.Uint16(b[offEventCue:])
	m.Pos = Vec3{
		math.Float32frombits(binary.LittleEndian.Uint32(b[offEventPos:])),
		math.Float32frombits(binary.LittleEndian.Uint32(b[offEventPos+4:])),
		math.Float32frombits(binary.LittleEndian.Uint32(b[offEventPos+8:])),
	}
	m.ServerTime = binary.LittleEndian.Uint64(b[offEventTime:])
	m.Strength = b[offEventStrength]
	return EventSize, nil
}

// Text is a UTF-8 text for one client or all (stream StreamText): a u32
// length, then the bytes.
type Text struct {
	// Text is the UTF-8 text, at most MaxTextLen bytes. Parse points it
	// into the parsed buffer (no copy): it is valid only as long as that
	// buffer.
	Text []byte
}

// RPCType returns RPCText.
func (m *Text) RPCType() RPCType { return RPCText }

// Len returns TextHeaderSize + len(Text), clamped to MaxTextLen.
func (m *Text) Len() int { return TextHeaderSize + min(len(m.Text), MaxTextLen) }

// Append appends the body to b. A text longer than MaxTextLen is cut to it
// (possibly inside a rune, which the receiver rejects).
func (m *Text) Append(b []byte) []byte {
	t := m.Text[:min(len(m.Text), MaxTextLen)]
	b = binary.LittleEndian.AppendUint32(b, uint32(len(t)))
	return append(b, t...)
}

// Parse decodes a body. A length above MaxTextLen or invalid UTF-8 is
// ErrField.
func (m *Text) Parse(b []byte) (int, error) {
	if len(b) < TextHeaderSize {
		return 0, ErrShort
	}
	n := binary.LittleEndian.Uint32(b)
	switch {
	case n > MaxTextLen:
		return 0, ErrField
	case uint64(len(b)) < TextHeaderSize+uint64(n):
		return 0, ErrShort
	}
	t := b[TextHeaderSize : TextHeaderSize+n : TextHeaderSize+n]
	if !utf8.Valid(t) {
		return 0, ErrField
	}
	if n == 0 {
		t = nil
	}
	m.Text = t
	return TextHeaderSize + int(n), nil
}
