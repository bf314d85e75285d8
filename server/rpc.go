package server

import (
	"errors"
	"unicode/utf8"

	"github.com/arcadexr/arcade/reliable"
	"github.com/arcadexr/arcade/wire"
)

// ClientRef names the client an RPC came from or goes to: its client id.
// All (0, never a client id) addresses every connected client.
type ClientRef uint16

// All is the ClientRef of every connected client.
const All ClientRef = 0

// RPCHandler handles one RPC message: now is the time of the datagram that
// completed it, from the client that sent it, body the message after its
// type id, valid only during the call.
type RPCHandler func(now int64, from ClientRef, body []byte)

// Errors of the Send methods.
var (
	// ErrNoClient: no connected client has that id.
	ErrNoClient = errors.New("server: no such client")
	// ErrText: a text longer than wire.MaxTextLen or not UTF-8.
	ErrText = errors.New("server: text too long or not UTF-8")
)

// rpcState is the server's side of the RPC layer.
type rpcState struct {
	handlers map[wire.RPCType]RPCHandler
	// The conn and time of the datagram whose messages are being
	// delivered; deliver is s.deliver, bound once.
	from    *session
	now     int64
	deliver func(stream int, msg []byte)
	out     []byte // scratch for one outgoing message

	grab    wire.GrabRequest
	release wire.ReleaseRequest
	button  wire.ButtonEvent
}

func (s *Server) initRPC() {
	s.rpc.handlers = make(map[wire.RPCType]RPCHandler)
	s.rpc.deliver = s.deliver
	s.rpc.out = make([]byte, 0, 256)
}

// HandleRPC sets the handler of RPC type typ, replacing any earlier one.
// GrabRequest, ReleaseRequest and ButtonEvent have built-in handling (the
// World's Grab and Release; counting buttons) that runs first; a handler
// set for them runs after it with the same body. Messages of a type with
// neither are dropped and counted as DropUnknownRPC. A nil fn removes the
// handler. Handlers run on the tick thread, inside Step; they may call
// the Send methods. Call HandleRPC before Run or the first Step.
func (s *Server) HandleRPC(typ uint16, fn func(now int64, from ClientRef, body []byte)) {
	if fn == nil {
		delete(s.rpc.handlers, wire.RPCType(typ))
		return
	}
	s.rpc.handlers[wire.RPCType(typ)] = fn
}

// recordSeq hands a session datagram without reliable payload to the
// endpoint: its number is acknowledged, its acks applied.
func (s *Server) recordSeq(now int64, c *session, h *wire.Header) {
	c.ep.OnDatagram(now, h.Seq, h.Ack, h.AckBits, nil)
	s.rel.touch(c)
}

// onMessage takes a Message datagram's reliable payload and delivers the
// messages it completes.
func (s *Server) onMessage(now int64, c *session, h *wire.Header, payload []byte) {
	if err := c.ep.OnDatagram(now, h.Seq, h.Ack, h.AckBits, payload); err != nil {
		s.stats.drop(DropBadMessage)
		return
	}
	c.lastHeard = now
	s.rel.touch(c)
	s.rpc.from, s.rpc.now = c, now
	c.ep.Receive(s.rpc.deliver)
	s.rpc.from = nil
}

// deliver dispatches one delivered message to its handlers.
func (s *Server) deliver(stream int, msg []byte) {
	c, now := s.rpc.from, s.rpc.now
	typ, body, err := wire.ParseRPC(msg)
	if err != nil || stream == reliable.UnreliableStream {
		s.stats.drop(DropUnknownRPC)
		return
	}
	builtin := true
	switch typ {
	case wire.RPCGrabRequest:
		s.onGrab(now, c, body)
	case wire.RPCReleaseRequest:
		s.onRelease(now, c, body)
	case wire.RPCButtonEvent:
		if _, err := s.rpc.button.Parse(body); err != nil {
			s.stats.drop(dropReasonFor(err))
			return
		}
		s.stats.ButtonEvents.Inc()
	case wire.RPCDesyncReport:
		s.onDesyncReport(now, c, body) // desync.go
	default:
		builtin = false
	}
	fn := s.rpc.handlers[typ]
	if fn == nil && !builtin {
		s.stats.drop(DropUnknownRPC)
		return
	}
	s.stats.RPCIn.Inc()
	if fn != nil {
		fn(now, ClientRef(c.id), body)
	}
}

func (s *Server) onGrab(now int64, c *session, body []byte) {
	m := &s.rpc.grab
	if _, err := m.Parse(body); err != nil {
		s.stats.drop(dropReasonFor(err))
		return
	}
	if s.world == nil || s.world.Grab(c.id, int(m.Hand), m.Entity, now) != nil {
		s.stats.GrabsRefused.Inc()
		return
	}
	s.noteApplied(Applied{Kind: AppliedGrab, ID: c.id, Hand: m.Hand, Entity: m.Entity})
}

func (s *Server) onRelease(now int64, c *session, body []byte) {
	m := &s.rpc.release
	if _, err := m.Parse(body); err != nil {
		s.stats.drop(dropReasonFor(err))
		return
	}
	if s.world == nil || s.world.Release(c.id, int(m.Hand), now) != nil {
		s.stats.GrabsRefused.Inc()
		return
	}
	s.noteApplied(Applied{Kind: AppliedRelease, ID: c.id, Hand: m.Hand})
}

// SendEvent queues an Event for one client or All on stream
// wire.StreamControl. It goes out with the next Step.
// Call it on the tick thread (from a handler, or between the loop's calls).
// It fails with ErrNoClient or, for a client whose queue is full,
// reliable.ErrQueueFull; for All it returns the first failure and still
// queues to the others.
func (s *Server) SendEvent(now int64, to ClientRef, ev wire.Event) error {
	b := wire.AppendRPCType(s.rpc.out[:0], wire.RPCEvent)
	s.rpc.out = ev.Append(b)
	return s.sendRPC(now, to, wire.StreamControl, s.rpc.out)
}

// SendSceneChange queues a SceneChange (name cut to wire.MaxSceneNameLen
// bytes) for one client or All on stream wire.StreamScene, as SendEvent.
func (s *Server) SendSceneChange(now int64, to ClientRef, name string) error {
	var m wire.SceneChange
	m.SetName(name)
	b := wire.AppendRPCType(s.rpc.out[:0], wire.RPCSceneChange)
	s.rpc.out = m.Append(b)
	return s.sendRPC(now, to, wire.StreamScene, s.rpc.out)
}

// SendText queues a Text for one client or All on stream wire.StreamText,
// as SendEvent; text is copied. A text longer than wire.MaxTextLen or not
// UTF-8 is ErrText. Texts over a few hundred bytes allocate.
func (s *Server) SendText(now int64, to ClientRef, text []byte) error {
	if len(text) > wire.MaxTextLen || !utf8.Valid(text) {
		return ErrText
	}
	m := wire.Text{Text: text}
	b := wire.AppendRPCType(s.rpc.out[:0], wire.RPCText)
	b = m.Append(b)
	if cap(b) <= 4096 {
		s.rpc.out = b // keep small scratch growth, not a 200 KiB buffer
	}
	return s.sendRPC(now, to, wire.StreamText, b)
}

// SendRPC queues an RPC message of any type (typ, then body) for one client
// or All on a stream (0 to wire.RPCStreams-1), as SendEvent.
func (s *Server) SendRPC(now int64, to ClientRef, stream int, typ uint16, body []byte) error {
	b := wire.AppendRPCType(s.rpc.out[:0], wire.RPCType(typ))
	b = append(b, body...)
	if cap(b) <= 4096 {
		s.rpc.out = b
	}
	return s.sendRPC(now, to, stream, b)
}

func (s *Server) sendRPC(now int64, to ClientRef, stream int, msg []byte) error {
	if to != All {
		c := s.sess.byID(uint16(to))
		if c == nil || !c.confirmed {
			return ErrNoClient
		}
		return s.sendTo(now, c, stream, msg)
	}
	var first error
	for _, c := range s.sess.order {
		if !c.confirmed {
			continue // not a player yet
		}
		if err := s.sendTo(now, c, stream, msg); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (s *Server) sendTo(now int64, c *session, stream int, msg []byte) error {
	if err := c.ep.Send(now, stream, msg); err != nil {
		s.stats.RPCSendFailed.Inc()
		return err
	}
	s.stats.RPCOut.Inc()
	s.rel.touch(c)
	return nil
}
