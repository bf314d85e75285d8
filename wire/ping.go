package wire

import "encoding/binary"

// Body sizes of the session control messages.
const (
	PingSize       = 12
	PongSize       = 28
	DisconnectSize = 1
)

// Ping and Pong offsets. A Pong starts with the fields of the Ping it
// answers.
const (
	offPingID             = 0
	offPingClientTime     = 4
	offPongServerRecvTime = 12
	offPongServerSendTime = 20
	offDiscReason         = 0
)

// Len returns PingSize.
func (m *Ping) Len() int { return PingSize }

// Append appends the body to b.
func (m *Ping) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, m.PingID)
	return binary.LittleEndian.AppendUint64(b, m.ClientTime)
}

// Parse decodes a body.
func (m *Ping) Parse(b []byte) (int, error) {
	if len(b) < PingSize {
		return 0, ErrShort
	}
	m.PingID = binary.LittleEndian.Uint32(b[offPingID:])
	m.ClientTime = binary.LittleEndian.Uint64(b[offPingClientTime:])
	return PingSize, nil
}

// Len returns PongSize.
func (m *Pong) Len() int { return PongSize }

// Append appends the body to b.
func (m *Pong) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, m.PingID)
	b = binary.LittleEndian.AppendUint64(b, m.ClientTime)
	b = binary.LittleEndian.AppendUint64(b, m.ServerRecvTime)
	return binary.LittleEndian.AppendUint64(b, m.ServerSendTime)
}

// Parse decodes a body.
func (m *Pong) Parse(b []byte) (int, error) {
	if len(b) < PongSize {
		return 0, ErrShort
	}
	m.PingID = binary.LittleEndian.Uint32(b[offPingID:])
	m.ClientTime = binary.LittleEndian.Uint64(b[offPingClientTime:])
	m.ServerRecvTime = binary.LittleEndian.Uint64(b[offPongServerRecvTime:])
	m.ServerSendTime = binary.LittleEndian.Uint64(b[offPongServerSendTime:])
	return PongSize, nil
}

// Len returns DisconnectSize.
func (m *Disconnect) Len() int { return DisconnectSize }

// Append appends the body to b.
func (m *Disconnect) Append(b []byte) []byte { return append(b, byte(m.Reason)) }

// Parse decodes a body. Reason 0 is ErrField; other reasons unknown to this
// version are passed through.
func (m *Disconnect) Parse(b []byte) (int, error) {
	if len(b) < DisconnectSize {
		return 0, ErrShort
	}
	if b[offDiscReason] == 0 {
		return 0, ErrField
	}
	m.Reason = DisconnectReason(b[offDiscReason])
	return DisconnectSize, nil
}
