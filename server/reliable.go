package server

import (
	"github.com/arcadexr/arcade/reliable"
	"github.com/arcadexr/arcade/wire"
)

// relService schedules the sessions' reliable channels: a min-heap of the
// sessions by the deadline their endpoint last gave (a resend, a delayed
// acknowledgement), plus the sessions whose endpoint changed since. Only
// those are polled, so servicing costs what is due, not a pass over every
// session.
type relService struct {
	heap  []*session // by relAt; session.due is the index
	dirty []*session
}

func newRelService(maxClients int) relService {
	return relService{heap: make([]*session, 0, maxClients), dirty: make([]*session, 0, maxClients)}
}

// touch notes that c's endpoint took a datagram or a message, or sent an
// acknowledgement, so its deadline must be asked again.
func (r *relService) touch(c *session) {
	if !c.relDirty {
		c.relDirty = true
		r.dirty = append(r.dirty, c)
	}
}

// next returns the earliest deadline of any session, reliable.Never if
// none; a dirty session counts as due at once.
func (r *relService) next() int64 {
	if len(r.dirty) > 0 {
		return 0
	}
	if len(r.heap) == 0 {
		return reliable.Never
	}
	return r.heap[0].relAt
}

// forget takes c out of the schedule (its session ended).
func (r *relService) forget(c *session) {
	if c.relDirty {
		for i, d := range r.dirty {
			if d == c {
				r.dirty = append(r.dirty[:i], r.dirty[i+1:]...)
				break
			}
		}
		c.relDirty = false
	}
	if c.due >= 0 {
		r.removeAt(c.due)
	}
}

// set moves c to deadline at in the heap (reliable.Never: out of it).
func (r *relService) set(c *session, at int64) {
	if at == reliable.Never {
		if c.due >= 0 {
			r.removeAt(c.due)
		}
		c.relAt = at
		return
	}
	if c.due < 0 {
		c.relAt = at
		c.due = len(r.heap)
		r.heap = append(r.heap, c)
		r.up(c.due)
		return
	}
	old := c.relAt
	c.relAt = at
	if at < old {
		r.up(c.due)
	} else {
		r.down(c.due)
	}
}

func (r *relService) removeAt(i int) {
	c := r.heap[i]
	last := len(r.heap) - 1
	if i != last {
		r.swap(i, last)
	}
	r.heap = r.heap[:last]
	c.due = -1
	if i != last {
		r.down(i)
		r.up(i)
	}
}

func (r *relService) swap(i, j int) {
	h := r.heap
	h[i], h[j] = h[j], h[i]
	h[i].due, h[j].due = i, j
}

func (r *relService) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if r.heap[p].relAt <= r.heap[i].relAt {
			return
		}
		r.swap(i, p)
		i = p
	}
}

func (r *relService) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(r.heap) {
			return
		}
		m := l
		if rr := l + 1; rr < len(r.heap) && r.heap[rr].relAt < r.heap[l].relAt {
			m = rr
		}
		if r.heap[i].relAt <= r.heap[m].relAt {
			return
		}
		r.swap(i, m)
		i = m
	}
}

// serviceReliable polls the endpoints that changed or whose deadline has
// come, and queues the Message datagrams they build.
func (s *Server) serviceReliable(now int64) {
	s.flushApplied() // before an acknowledgement of an RPC they hold goes out
	r := &s.rel
	for len(r.dirty) > 0 {
		c := r.dirty[len(r.dirty)-1]
		r.dirty = r.dirty[:len(r.dirty)-1]
		c.relDirty = false
		if c.ep.NextTimeout() <= now {
			s.pollSession(now, c)
		}
		r.set(c, nextAfter(c.ep.NextTimeout(), now))
	}
	for len(r.heap) > 0 && r.heap[0].relAt <= now {
		c := r.heap[0]
		s.pollSession(now, c)
		r.set(c, nextAfter(c.ep.NextTimeout(), now))
	}
}

// reliableRetry is the least wait before a session whose deadline is still
// due after a poll (its endpoint could not send yet) is polled again.
const reliableRetry = 200_000 // ns

// nextAfter returns deadline at, or, if it is not after now, now plus
// reliableRetry: a deadline the endpoint could not serve is retried a
// little later rather than in a busy loop.
func nextAfter(at, now int64) int64 {
	if at <= now {
		return now + reliableRetry
	}
	return at
}

// pollSession queues every Message datagram c's endpoint has due.
func (s *Server) pollSession(now int64, c *session) {
	for {
		ack, bits := c.ep.Ack()
		h := wire.Header{Type: wire.TypeMessage, Token: c.token, Ack: ack, AckBits: bits}
		if c.seal != nil {
			h.Flags = wire.FlagSealed
		}
		b := s.begin(c.addr, h)
		b = append(b, 0, 0) // payload length, set below
		start := len(b)
		b, seq, ok := c.ep.Poll(now, b)
		if !ok {
			return // nothing committed: the slot is reused
		}
		h.Seq = seq
		h.Append(b[:0])
		n := len(b) - start
		b[start-2], b[start-1] = byte(n), byte(n>>8)
		c.rtt.sent(seq, now)
		s.outSeal = c.seal
		s.finish(b)
	}
}

// NextReliable returns when some session's reliable channel next has
// something to send (reliable.Never if none), as of the last Step.
func (s *Server) NextReliable() int64 { return s.rel.next() }
