package wire

import (
	"bytes"
	"encoding/binary"
)

// The reliable layer's chunk layout (package reliable's doc, and
// docs/PROTOCOL.md), written out by hand for test payloads.

// testChunk appends a whole-message chunk.
func testChunk(b []byte, stream uint8, id uint16, data []byte) []byte {
	b = append(b, stream)
	b = binary.LittleEndian.AppendUint16(b, id)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

// testFragment appends a fragment chunk.
func testFragment(b []byte, stream uint8, id uint16, msgLen uint32, fragSize, index uint16, data []byte) []byte {
	b = append(b, stream|0x80)
	b = binary.LittleEndian.AppendUint16(b, id)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(data)))
	b = binary.LittleEndian.AppendUint32(b, msgLen)
	b = binary.LittleEndian.AppendUint16(b, fragSize)
	b = binary.LittleEndian.AppendUint16(b, index)
	return append(b, data...)
}

// rpcMessage is an RPC body with its type.
type rpcMessage interface {
	codec
	RPCType() RPCType
}

func rpcBytes(m rpcMessage) []byte { return m.Append(AppendRPCType(nil, m.RPCType())) }

func sceneName(s string) SceneName {
	var n SceneName
	n.SetName(s)
	return n
}

// testEvent is the Event of the golden vectors.
var testEvent = Event{Kind: EventSound, Cue: 12, Pos: Vec3{1.5, 1, -2}, ServerTime: 1_000_250_000, Strength: 200}

func testRPCPayload() []byte {
	var p []byte
	p = testChunk(p, StreamControl, 0, rpcBytes(&GrabRequest{Hand: Right}))
	p = testChunk(p, StreamControl, 1, rpcBytes(&ButtonEvent{Button: 3, Down: true, ClientTime: 5_000_123}))
	p = testChunk(p, StreamScene, 0, rpcBytes(&SceneChange{sceneName("lobby")}))
	ev := testEvent
	return testChunk(p, StreamControl, 2, rpcBytes(&ev))
}

func testFragmentPayload() []byte {
	const fragSize = MaxMessagePayload - 13
	return testFragment(nil, StreamText, 0xffff, 3000, fragSize, 2, bytes.Repeat([]byte("a"), 3000-2*fragSize))
}
