package wire

import "encoding/binary"

// Message body layout: a u16 payload length, then the payload of the
// reliable layer (package reliable's payload encoding). The length lets a
// receiver ignore trailing bytes like after every other body.
const (
	MessageHeaderSize = 2
	// MaxMessagePayload is the largest reliable payload a Message carries:
	// the reliable layer's MTU on Arcade's sessions.
	MaxMessagePayload = MaxBodySize - MessageHeaderSize
	offMsgLen         = 0
	offMsgPayload     = 2
)

// Message carries one datagram of the reliable layer on a session: its
// chunks (RPC messages, whole or in fragments) and, through the header's
// Seq, Ack and AckBits, the acknowledgements. An empty payload is a pure
// acknowledgement.
type Message struct {
	// Payload is the reliable layer's payload. Parse points it into the
	// parsed buffer (no copy): it is valid only as long as that buffer.
	Payload []byte
}

// Len returns MessageHeaderSize + len(Payload), the payload clamped to
// MaxMessagePayload.
func (m *Message) Len() int { return MessageHeaderSize + min(len(m.Payload), MaxMessagePayload) }

// Append appends the body to b. A payload longer than MaxMessagePayload is
// cut to it (the reliable layer never builds one).
func (m *Message) Append(b []byte) []byte {
	p := m.Payload[:min(len(m.Payload), MaxMessagePayload)]
	b = binary.LittleEndian.AppendUint16(b, uint16(len(p)))
	return append(b, p...)
}

// Parse decodes a body. A length above MaxMessagePayload is ErrField.
func (m *Message) Parse(b []byte) (int, error) {
	p, n, err := ParseMessagePayload(b)
	if err != nil {
		return 0, err
	}
	m.Payload = p
	return n, nil
}

// ParseMessagePayload is Message.Parse returning the payload (a subslice of
// b, nil when empty) instead of storing it. Storing a slice through a
// pointer makes the compiler move the caller's buffer to the heap; a
// receiver parsing a datagram held on its stack uses this.
func ParseMessagePayload(b []byte) (payload []byte, n int, err error) {
	if len(b) < MessageHeaderSize {
		return nil, 0, ErrShort
	}
	l := int(binary.LittleEndian.Uint16(b[offMsgLen:]))
	switch {
	case l > MaxMessagePayload:
		return nil, 0, ErrField
	case len(b) < MessageHeaderSize+l:
		return nil, 0, ErrShort
	}
	if l > 0 {
		payload = b[offMsgPayload : offMsgPayload+l : offMsgPayload+l]
	}
	return payload, MessageHeaderSize + l, nil
}
