package reliable

import "encoding/binary"

// Payload layout; see the package doc.
const (
	ChunkHeaderSize    = 5                                 // kind, msgID, length
	FragmentExtSize    = 8                                 // msgLen, fragSize, index
	FragmentHeaderSize = ChunkHeaderSize + FragmentExtSize // header of a fragment chunk
	KindFragment       = 0x80                              // kind bit: chunk is a fragment
	KindStreamMask     = 0x7f                              // kind bits: stream id
	UnreliableStream   = 127                               // stream id of the unreliable-sequenced stream
	MaxFragments       = 1 << 16                           // most fragments in one message

	offKind     = 0
	offMsgID    = 1
	offLength   = 3
	offMsgLen   = 5
	offFragSize = 9
	offIndex    = 11
)

// chunk is one parsed chunk. data aliases the payload.
type chunk struct {
	stream   uint8
	frag     bool
	id       uint16
	msgLen   uint32 // fragments only
	fragSize uint16 // fragments only
	index    uint16 // fragments only
	data     []byte
}

// parseChunk decodes the chunk at the start of b and returns the bytes it
// used, or 0 if it breaks the structural rules (those that do not depend on
// the receiver's Config).
func parseChunk(b []byte, c *chunk) int {
	if len(b) < ChunkHeaderSize {
		return 0
	}
	kind := b[offKind]
	c.stream = kind & KindStreamMask
	c.frag = kind&KindFragment != 0
	c.id = binary.LittleEndian.Uint16(b[offMsgID:])
	n := int(binary.LittleEndian.Uint16(b[offLength:]))
	hdr := ChunkHeaderSize
	if c.frag {
		if c.stream == UnreliableStream || len(b) < FragmentHeaderSize {
			return 0
		}
		hdr = FragmentHeaderSize
		c.msgLen = binary.LittleEndian.Uint32(b[offMsgLen:])
		c.fragSize = binary.LittleEndian.Uint16(b[offFragSize:])
		c.index = binary.LittleEndian.Uint16(b[offIndex:])
		if c.msgLen == 0 || c.fragSize == 0 {
			return 0
		}
		size := uint64(c.fragSize)
		count := (uint64(c.msgLen) + size - 1) / size
		if count > MaxFragments || uint64(c.index) >= count {
			return 0
		}
		if uint64(n) != min(size, uint64(c.msgLen)-uint64(c.index)*size) {
			return 0
		}
	} else {
		c.msgLen, c.fragSize, c.index = 0, 0, 0
	}
	if len(b)-hdr < n {
		return 0
	}
	c.data = b[hdr : hdr+n]
	return hdr + n
}

// appendChunk appends a whole-message chunk.
func appendChunk(b []byte, stream uint8, id uint16, data []byte) []byte {
	b = append(b, stream, byte(id), byte(id>>8), byte(len(data)), byte(len(data)>>8))
	return append(b, data...)
}

// appendFragment appends a fragment chunk.
func appendFragment(b []byte, stream uint8, id uint16, msgLen uint32, fragSize, index uint16, data []byte) []byte {
	b = append(b, stream|KindFragment, byte(id), byte(id>>8), byte(len(data)), byte(len(data)>>8))
	b = binary.LittleEndian.AppendUint32(b, msgLen)
	b = binary.LittleEndian.AppendUint16(b, fragSize)
	b = binary.LittleEndian.AppendUint16(b, index)
	return append(b, data...)
}
