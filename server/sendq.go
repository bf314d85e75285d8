package server

import (
	"net/netip"

	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/seal"
	"github.com/arcadexr/arcade/wire"
)

// The send queue: datagrams are built in place in the out batch (begin,
// then the body appended, then finish) and leave together in one sendmmsg
// (flush), which also runs whenever the batch is full.

// begin starts an outgoing datagram to dst with header h and returns the
// buffer to append the body to. finish commits it. The datagram is in
// clear; a caller that seals it sets h.Flags and s.outSeal.
func (s *Server) begin(dst netip.AddrPort, h wire.Header) []byte {
	if s.nout == len(s.out.Msgs) {
		s.flush()
	}
	s.outSeal, s.outSigned = nil, false
	m := &s.out.Msgs[s.nout]
	m.Addr = dst
	return h.Append(m.Buf[:0])
}

// beginConn starts a datagram on a session: its token, the next sequence
// number of the session's reliable endpoint and its acks of what the client
// sent. On a sealed session every datagram but the Accepted is sealed.
func (s *Server) beginConn(now int64, c *session, t wire.PacketType) []byte {
	ack, bits := c.ep.Ack()
	seq := c.ep.NextSeq()
	h := wire.Header{Type: t, Token: c.token, Seq: seq, Ack: ack, AckBits: bits}
	c.rtt.sent(seq, now)
	s.rel.touch(c) // a pending acknowledgement went with it
	sealed := c.seal != nil && t != wire.TypeAccepted
	if sealed {
		h.Flags = wire.FlagSealed
	}
	b := s.begin(c.addr, h)
	if sealed {
		s.outSeal = c.seal
	}
	return b
}

// finish commits the datagram b started by begin, sealing it first when
// begin's caller asked for it: the body moves to s.sealBuf and is sealed
// back into the datagram's buffer after the header.
func (s *Server) finish(b []byte) {
	m := &s.out.Msgs[s.nout]
	if s.epoch != 0 {
		if b = s.stampEpoch(b, len(m.Buf)); b == nil {
			return
		}
	}
	switch {
	case s.outSigned:
		s.outSigned = false
		if len(b)+seal.GroupOverhead > len(m.Buf) {
			s.stats.drop(DropSendError) // a body sized without the seal's room: a bug
			return
		}
		n := copy(s.sealBuf[:], b[wire.HeaderSize:])
		b = s.group.SealSigned(b[:wire.HeaderSize], b[:wire.HeaderSize], s.sealBuf[:n])
	case s.outSeal != nil:
		sl := s.outSeal
		s.outSeal = nil
		if len(b)+seal.Overhead > len(m.Buf) {
			s.stats.drop(DropSendError) // a body sized without the seal's room: a bug
			return
		}
		n := copy(s.sealBuf[:], b[wire.HeaderSize:])
		b = sl.Seal(b[:wire.HeaderSize], b[:wire.HeaderSize], s.sealBuf[:n])
	}
	m.N = len(b)
	s.nout++
}

// flush sends the queued datagrams and returns the wall clock (the clock of
// kernel receive timestamps) when they were handed to the kernel, or 0 if
// nothing was queued. The time spent inside the send calls is recorded
// apart (Stats.SendSyscall): on loopback it includes the kernel delivering
// every multicast copy to every local socket, a cost a switch bears on a
// real LAN.
func (s *Server) flush() int64 {
	if s.nout == 0 {
		return 0
	}
	handoff := s.cfg.WallClock()
	for from := 0; from < s.nout; {
		n, err := s.tr.WriteBatchRange(s.out, from, s.nout)
		s.stats.TxPackets.Add(uint64(n))
		for i := from; i < from+n; i++ {
			m := &s.out.Msgs[i]
			if t, err := wire.PeekType(m.Buf[:m.N]); err == nil && t <= wire.MaxType {
				s.stats.Tx[t].Inc()
				s.stats.TxBytes[t].Add(uint64(m.N))
			}
		}
		if s.cfg.Tap != nil {
			for i := from; i < from+n; i++ {
				s.cfg.Tap.Sent(&s.out.Msgs[i], handoff)
			}
		}
		from += n
		if err == nil {
			break
		}
		if err == udp.ErrWouldBlock {
			// Never wait for buffer space: what did not fit is dropped.
			s.stats.Dropped[DropSendBlocked].Add(uint64(s.nout - from))
			break
		}
		// One destination refused (no route to the group, say): skip it.
		s.stats.drop(DropSendError)
		from++
	}
	s.stats.SendSyscall.Record(s.cfg.WallClock() - handoff)
	s.nout = 0
	return handoff
}
