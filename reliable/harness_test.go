package reliable

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/arcadexr/arcade/netsim"
)

// The test datagram: a trace number (unique per sender, so the test can
// tell which datagrams the network lost), then the header fields this layer
// uses, then its payload.
const (
	testTraceSize = 8
	testHdrSize   = testTraceSize + 2 + 2 + 4
)

// node is one Endpoint on a netsim endpoint.
type node struct {
	ep     *Endpoint
	ne     *netsim.Endpoint
	peer   netip.AddrPort
	buf    []byte
	trace  uint64
	onSend func(trace uint64, now int64, payload []byte)
	onRecv func(trace uint64)
}

func newNode(t testing.TB, cfg Config, n *netsim.Network, self, peer string) *node {
	t.Helper()
	ep, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &node{
		ep:   ep,
		ne:   n.Endpoint(netip.MustParseAddrPort(self)),
		peer: netip.MustParseAddrPort(peer),
		buf:  make([]byte, 0, testHdrSize+ep.Config().MTU),
	}
}

// flush sends every datagram Poll has at now.
func (n *node) flush(now int64) {
	for {
		out, seq, ok := n.ep.Poll(now, n.buf[:testHdrSize])
		if !ok {
			return
		}
		ack, bits := n.ep.Ack()
		binary.LittleEndian.PutUint64(out[0:], n.trace)
		binary.LittleEndian.PutUint16(out[8:], seq)
		binary.LittleEndian.PutUint16(out[10:], ack)
		binary.LittleEndian.PutUint32(out[12:], bits)
		if n.onSend != nil {
			n.onSend(n.trace, now, out[testHdrSize:])
		}
		n.trace++
		n.ne.Send(n.peer, out)
	}
}

// recv hands every datagram due to the Endpoint.
func (n *node) recv(t testing.TB) {
	n.ne.Recv(func(data []byte, _ netip.AddrPort, rx int64, _ bool) {
		if n.onRecv != nil {
			n.onRecv(binary.LittleEndian.Uint64(data))
		}
		seq := binary.LittleEndian.Uint16(data[8:])
		ack := binary.LittleEndian.Uint16(data[10:])
		bits := binary.LittleEndian.Uint32(data[12:])
		if err := n.ep.OnDatagram(rx, seq, ack, bits, data[testHdrSize:]); err != nil {
			t.Fatalf("OnDatagram: %v", err)
		}
	})
}

// step runs one round of the caller's loop at the network's time and moves
// time to the next event. It returns false when nothing is scheduled.
func step(t testing.TB, net *netsim.Network, nodes ...*node) bool {
	now := net.Now()
	next := Never
	for _, n := range nodes {
		n.flush(now)
		next = min(next, n.ep.NextTimeout())
	}
	if nd, ok := net.NextDelivery(); ok {
		next = min(next, nd)
	}
	if next == Never {
		return false
	}
	if next <= now {
		t.Fatalf("at %d: next event at %d is not after now although every Poll returned ok=false", now, next)
	}
	net.SetNow(next)
	for _, n := range nodes {
		n.recv(t)
	}
	return true
}

// refChunk is a chunk decoded by the test's own reading of the package
// doc, independent of parseChunk.
type refChunk struct {
	stream        int
	frag          bool
	id            uint16
	msgLen, index int
	fragSize      int
	data          []byte
}

// refParse decodes a payload as the package doc specifies; ok is false if
// any chunk breaks a structural rule.
func refParse(p []byte) (cs []refChunk, ok bool) {
	for len(p) > 0 {
		if len(p) < 5 {
			return nil, false
		}
		c := refChunk{stream: int(p[0] & 0x7f), frag: p[0]&0x80 != 0, id: uint16(p[1]) | uint16(p[2])<<8}
		length := int(p[3]) | int(p[4])<<8
		p = p[5:]
		if c.frag {
			if c.stream == 127 || len(p) < 8 {
				return nil, false
			}
			c.msgLen = int(binary.LittleEndian.Uint32(p))
			c.fragSize = int(p[4]) | int(p[5])<<8
			c.index = int(p[6]) | int(p[7])<<8
			p = p[8:]
			if c.msgLen == 0 || c.fragSize == 0 {
				return nil, false
			}
			count := (c.msgLen + c.fragSize - 1) / c.fragSize
			if count > 65536 || c.index >= count || length != min(c.fragSize, c.msgLen-c.index*c.fragSize) {
				return nil, false
			}
		}
		if len(p) < length {
			return nil, false
		}
		c.data = p[:length]
		p = p[length:]
		cs = append(cs, c)
	}
	return cs, true
}
