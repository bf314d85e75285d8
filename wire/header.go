package wire

import "encoding/binary"

// MaxBodySize is the largest message body: what follows the header in a
// datagram of MaxDatagramSize bytes.
const MaxBodySize = MaxDatagramSize - HeaderSize

// MaxType is the largest packet type of this version.
const MaxType = TypeStateDelta

var typeNames = [...]string{
	TypeConnectRequest:    "ConnectRequest",
	TypeChallenge:         "Challenge",
	TypeChallengeResponse: "ChallengeResponse",
	TypeAccepted:          "Accepted",
	TypeDenied:            "Denied",
	TypePoseInput:         "PoseInput",
	TypeSnapshot:          "Snapshot",
	TypePing:              "Ping",
	TypePong:              "Pong",
	TypeDisconnect:        "Disconnect",
	TypeEntityUpdate:      "EntityUpdate",
	TypeDeliveryProbe:     "DeliveryProbe",
	TypeDeliveryReport:    "DeliveryReport",
	TypeMessage:           "Message",
	TypeStateDelta:        "StateDelta",
}

// String returns the message name, or "unknown" for a type this version does
// not define. It does not allocate.
func (t PacketType) String() string {
	if t == 0 || t > MaxType {
		return "unknown"
	}
	return typeNames[t]
}

// Len returns HeaderSize.
func (h *Header) Len() int { return HeaderSize }

// Append appends the HeaderSize-byte encoding of h, with the current Version,
// to b.
func (h *Header) Append(b []byte) []byte {
	b = append(b, Magic0, Magic1, Magic2, Version, byte(h.Type), h.Flags)
	b = binary.LittleEndian.AppendUint64(b, h.Token)
	b = binary.LittleEndian.AppendUint16(b, h.Seq)
	b = binary.LittleEndian.AppendUint16(b, h.Ack)
	return binary.LittleEndian.AppendUint32(b, h.AckBits)
}

// Parse decodes the header at the start of the datagram b and returns
// HeaderSize. b must be the whole datagram: its length is checked against
// MaxDatagramSize.
//
// Bytes 0 to 4 (magic, version, type) keep their meaning in every version of
// the protocol. So once the magic matches, h is filled in even when the
// version is not Version (ErrVersion) or the type is unknown (ErrType), and
// n is HeaderSize; a client can, for example, recognise a Denied of another
// version. On any other error h is unchanged and n is 0.
func (h *Header) Parse(b []byte) (n int, err error) {
	switch {
	case len(b) < HeaderSize:
		return 0, ErrShort
	case len(b) > MaxDatagramSize:
		return 0, ErrTooLarge
	case b[offMagic] != Magic0 || b[offMagic+1] != Magic1 || b[offMagic+2] != Magic2:
		return 0, ErrMagic
	}
	h.Type = PacketType(b[offType])
	h.Flags = b[offFlags]
	h.Token = binary.LittleEndian.Uint64(b[offToken:])
	h.Seq = binary.LittleEndian.Uint16(b[offSeq:])
	h.Ack = binary.LittleEndian.Uint16(b[offAck:])
	h.AckBits = binary.LittleEndian.Uint32(b[offAckBits:])
	switch {
	case b[offVersion] != Version:
		return HeaderSize, ErrVersion
	case h.Type == 0 || h.Type > MaxType:
		return HeaderSize, ErrType
	}
	return HeaderSize, nil
}

// PeekType returns the packet type of datagram b after checking only its
// length and magic, for cheap dispatch before a full parse.
func PeekType(b []byte) (PacketType, error) {
	if len(b) < HeaderSize {
		return 0, ErrShort
	}
	if b[offMagic] != Magic0 || b[offMagic+1] != Magic1 || b[offMagic+2] != Magic2 {
		return 0, ErrMagic
	}
	return PacketType(b[offType]), nil
}

// SeqNewer reports whether packet sequence a is newer than b, with
// wraparound: a is newer if int16(a-b) > 0.
func SeqNewer(a, b uint16) bool { return int16(a-b) > 0 }

// InputSeqNewer reports whether input sequence a is newer than b, with
// wraparound: a is newer if int32(a-b) > 0. Snapshot ticks compare the same
// way.
func InputSeqNewer(a, b uint32) bool { return int32(a-b) > 0 }
