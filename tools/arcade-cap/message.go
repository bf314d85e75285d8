package main

import (
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/arcadexr/arcade/reliable"
	"github.com/arcadexr/arcade/wire"
)

// msgChunk is one chunk of a Message payload (package reliable's payload
// encoding), for the line and JSON output.
type msgChunk struct {
	Stream uint8  `json:"stream"`
	ID     uint16 `json:"id"`
	Len    int    `json:"len"` // data bytes
	// Fragment is set for a fragment of a longer message.
	Fragment *msgFragment `json:"fragment,omitempty"`
	// RPC is a whole message's RPC type: its name, "unknown(N)", or
	// "short" for a message shorter than a type id.
	RPC string `json:"rpc,omitempty"`
}

type msgFragment struct {
	MsgLen   uint32 `json:"msg_len"`
	FragSize uint16 `json:"frag_size"`
	Index    uint16 `json:"index"`
}

// parseChunks splits a Message payload into its chunks. It reports false,
// with the chunks before it, at a chunk that does not fit the payload.
func parseChunks(p []byte) ([]msgChunk, bool) {
	var cs []msgChunk
	le := binary.LittleEndian
	for len(p) > 0 {
		if len(p) < reliable.ChunkHeaderSize {
			return cs, false
		}
		kind := p[0]
		c := msgChunk{Stream: kind & reliable.KindStreamMask, ID: le.Uint16(p[1:]), Len: int(le.Uint16(p[3:]))}
		hdr := reliable.ChunkHeaderSize
		if kind&reliable.KindFragment != 0 {
			hdr = reliable.FragmentHeaderSize
			if len(p) < hdr {
				return cs, false
			}
			c.Fragment = &msgFragment{MsgLen: le.Uint32(p[5:]), FragSize: le.Uint16(p[9:]), Index: le.Uint16(p[11:])}
		}
		if len(p) < hdr+c.Len {
			return cs, false
		}
		if c.Fragment == nil {
			typ, _, err := wire.ParseRPC(p[hdr : hdr+c.Len])
			switch {
			case err != nil:
				c.RPC = "short"
			case typ == 0 || typ > wire.MaxRPCType:
				c.RPC = "unknown(" + strconv.Itoa(int(typ)) + ")"
			default:
				c.RPC = typ.String()
			}
		}
		cs = append(cs, c)
		p = p[hdr+c.Len:]
	}
	return cs, true
}

// writeChunks writes a Message payload's summary: "ack" for an empty one,
// else each chunk as stream/id and its RPC or fragment.
func writeChunks(b *strings.Builder, p []byte) {
	if len(p) == 0 {
		b.WriteString(" ack")
		return
	}
	cs, ok := parseChunks(p)
	b.WriteString(" [")
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(int(c.Stream)) + "/" + strconv.Itoa(int(c.ID)) + " ")
		if f := c.Fragment; f != nil {
			n := "?"
			if f.FragSize > 0 {
				n = strconv.FormatUint((uint64(f.MsgLen)+uint64(f.FragSize)-1)/uint64(f.FragSize), 10)
			}
			b.WriteString("frag " + strconv.Itoa(int(f.Index)) + "/" + n + " of " + strconv.FormatUint(uint64(f.MsgLen), 10) + "B")
			continue
		}
		b.WriteString(c.RPC)
	}
	b.WriteByte(']')
	if !ok {
		b.WriteString(" malformed")
	}
}
