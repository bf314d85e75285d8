package client

import (
	"github.com/arcadexr/arcade/reliable"
	"github.com/arcadexr/arcade/wire"
)

// acceptUnicast records a valid unicast datagram's sequence number on the
// unicast path and in the reliable endpoint (acknowledged in the next
// header), and reports whether it is new.
func (s *Session) acceptUnicast(now int64, h *wire.Header) bool {
	if !s.accept(now, h.Seq, &s.uni, &s.stats.Unicast) {
		return false
	}
	s.ep.OnDatagram(now, h.Seq, h.Ack, h.AckBits, nil)
	return true
}

// handleMessage takes a Message datagram: its reliable payload, delivering
// the RPC messages it completes, then sends what became due (an
// acknowledgement).
func (s *Session) handleMessage(now int64, h *wire.Header, payload []byte) {
	if !s.accept(now, h.Seq, &s.uni, &s.stats.Unicast) {
		return
	}
	// The endpoint does not keep payload, but the compiler cannot tell: a
	// copy keeps the caller's datagram buffer off the heap.
	n := copy(s.rxPayload[:], payload)
	if err := s.ep.OnDatagram(now, h.Seq, h.Ack, h.AckBits, s.rxPayload[:n]); err != nil {
		s.drop(DropBadMessage)
		return
	}
	s.ep.Receive(s.deliver)
	s.pollReliable(now)
}

// deliverRPC hands one delivered message to OnRPC.
func (s *Session) deliverRPC(stream int, msg []byte) {
	typ, body, err := wire.ParseRPC(msg)
	if err != nil || stream == reliable.UnreliableStream {
		return
	}
	s.stats.RPCIn++
	if s.onRPC != nil {
		s.onRPC(uint16(typ), body)
	}
}

// OnRPC sets the function called, from within Handle, for every RPC
// message from the server, exactly once and in order per stream: typ is
// its wire.RPCType, body what follows the type id (parse it with the
// matching wire codec), valid only during the call.
func (s *Session) OnRPC(fn func(typ uint16, body []byte)) { s.onRPC = fn }

// SendRPC queues an RPC message (typ, then body) on a reliable stream (0 to
// wire.RPCStreams-1; wire.StreamControl for requests) and sends what it
// can at once; resends happen in Update. It fails when not connected, or
// with reliable.ErrStream, reliable.ErrTooLarge (beyond wire.MaxRPCMessage)
// or reliable.ErrQueueFull (the server does not keep up). Messages up to a
// few hundred bytes do not allocate.
func (s *Session) SendRPC(now int64, stream int, typ uint16, body []byte) error {
	if s.state != Connected {
		return ErrNotConnected
	}
	b := wire.AppendRPCType(s.rpcOut[:0], wire.RPCType(typ))
	b = append(b, body...)
	if cap(b) <= 4096 {
		s.rpcOut = b
	}
	return s.sendMessage(now, stream, b)
}

func (s *Session) sendMessage(now int64, stream int, msg []byte) error {
	if s.state != Connected {
		return ErrNotConnected
	}
	if err := s.ep.Send(now, stream, msg); err != nil {
		return err
	}
	s.stats.RPCOut++
	s.pollReliable(now)
	return nil
}

// Grab asks the server to let hand (wire.Left or wire.Right) grab entity
// (0: the nearest grabbable one in reach).
func (s *Session) Grab(now int64, hand uint8, entity uint16) error {
	m := wire.GrabRequest{Hand: hand, Entity: entity}
	s.rpcOut = m.Append(wire.AppendRPCType(s.rpcOut[:0], wire.RPCGrabRequest))
	return s.sendMessage(now, wire.StreamControl, s.rpcOut)
}

// Release asks the server to let go of what hand holds.
func (s *Session) Release(now int64, hand uint8) error {
	m := wire.ReleaseRequest{Hand: hand}
	s.rpcOut = m.Append(wire.AppendRPCType(s.rpcOut[:0], wire.RPCReleaseRequest))
	return s.sendMessage(now, wire.StreamControl, s.rpcOut)
}

// Button reports a button going down or up, stamped with now (µs).
func (s *Session) Button(now int64, button uint8, down bool) error {
	m := wire.ButtonEvent{Button: button, Down: down, ClientTime: uint64(now / 1000)}
	s.rpcOut = m.Append(wire.AppendRPCType(s.rpcOut[:0], wire.RPCButtonEvent))
	return s.sendMessage(now, wire.StreamControl, s.rpcOut)
}

// ReliableStats returns the reliable channel's measurements: RTT, jitter,
// loss, resends, bytes and messages each way.
func (s *Session) ReliableStats() reliable.Stats { return s.ep.Stats() }

// pollReliable queues the Message datagrams the endpoint has due, as long
// as the outgoing queue has room (what does not fit waits for the next
// Update).
func (s *Session) pollReliable(now int64) {
	if s.state != Connected {
		return
	}
	for s.outCount < outSlots {
		i := (s.outHead + s.outCount) % outSlots
		ack, bits := s.ep.Ack()
		h := wire.Header{Type: wire.TypeMessage, Token: s.token, Ack: ack, AckBits: bits}
		b := h.Append(s.out[i][:0])
		b = append(b, 0, 0) // payload length, set below
		start := len(b)
		b, seq, ok := s.ep.Poll(now, b)
		if !ok {
			return
		}
		h.Seq = seq
		h.Append(b[:0])
		n := len(b) - start
		b[start-2], b[start-1] = byte(n), byte(n>>8)
		s.push(b)
	}
}

// wake makes timerLoop run Update sooner when the session's next deadline
// moved before the one it waits for. Called with c.mu held.
func (c *Client) wake() {
	if c.s.NextUpdate() < c.timerAt {
		c.timerAt = 0 // one kick is enough until the loop re-arms
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// rpc runs one of the session's RPC sends under the lock, sends what it
// queued and wakes the timer for the resends.
func (c *Client) rpc(send func(s *Session, now int64) error) error {
	if c.lock() {
		return ErrInCallback
	}
	defer c.mu.Unlock()
	err := send(c.s, now())
	c.s.Outgoing(c.sendFn)
	c.noteState()
	c.wake()
	return err
}

// SendRPC sends an RPC message reliably, as Session.SendRPC.
func (c *Client) SendRPC(stream int, typ uint16, body []byte) error {
	return c.rpc(func(s *Session, now int64) error { return s.SendRPC(now, stream, typ, body) })
}

// Grab asks the server to let hand grab entity (0: the nearest in reach).
func (c *Client) Grab(hand uint8, entity uint16) error {
	return c.rpc(func(s *Session, now int64) error { return s.Grab(now, hand, entity) })
}

// Release asks the server to let go of what hand holds.
func (c *Client) Release(hand uint8) error {
	return c.rpc(func(s *Session, now int64) error { return s.Release(now, hand) })
}

// Button reports a button going down or up.
func (c *Client) Button(button uint8, down bool) error {
	return c.rpc(func(s *Session, now int64) error { return s.Button(now, button, down) })
}

// OnRPC sets the function called for every RPC message from the server, as
// Session.OnRPC; it runs on a reader goroutine with the client's lock held.
func (c *Client) OnRPC(fn func(typ uint16, body []byte)) {
	defer c.unlock(c.lock())
	c.s.OnRPC(fn)
}
