package reliable

// inSlot holds one message of a receive window while it is reassembled
// and until Receive delivers it.
type inSlot struct {
	used     bool
	complete bool
	id       uint16
	buf      []byte // the message, len = its length
	fragSize int    // 0: arrived whole
	nfrags   int
	nrecv    int
	bits0    uint64   // received fragments, when nfrags ≤ 64
	bits     []uint64 // received fragments, when nfrags > 64
}

func (s *inSlot) has(i int) bool {
	if s.bits == nil {
		return s.bits0&(1<<i) != 0
	}
	return s.bits[i/64]&(1<<(i%64)) != 0
}

func (s *inSlot) set(i int) {
	if s.bits == nil {
		s.bits0 |= 1 << i
	} else {
		s.bits[i/64] |= 1 << (i % 64)
	}
}

// recvStream is the receiving half of one reliable stream.
type recvStream struct {
	next  uint16   // next message to deliver
	slots []inSlot // RecvWindow slots, indexed by id mod RecvWindow; nil until used
	bytes int      // bytes in slots other than the head's
}

// seqWindow tracks the packet numbers received: the newest and a bitmap of
// the 64 before it. Its newest and low 32 bits are Ack and AckBits.
type seqWindow struct {
	started bool
	newest  uint16
	bits    uint64 // bit i set: newest−1−i received
}

type seqVerdict uint8

const (
	seqNew seqVerdict = iota
	seqLate
	seqDuplicate
	seqStale
)

func (w *seqWindow) classify(seq uint16) seqVerdict {
	if !w.started {
		return seqNew
	}
	d := int16(seq - w.newest)
	switch {
	case d > 0 || d <= -ResyncDistance:
		return seqNew
	case d == 0:
		return seqDuplicate
	case d < -64:
		return seqStale
	case w.bits&(1<<(-d-1)) != 0:
		return seqDuplicate
	}
	return seqLate
}

// record adds seq (seqNew or seqLate) and reports whether it was the
// successor of the newest.
func (w *seqWindow) record(seq uint16) (inOrder bool) {
	if !w.started {
		w.started, w.newest, w.bits = true, seq, 0
		return true
	}
	d := int16(seq - w.newest)
	switch {
	case d > 0 && d <= 64:
		w.bits = w.bits<<d | 1<<(d-1)
		w.newest = seq
		return d == 1
	case d > 0 || d <= -ResyncDistance:
		w.newest, w.bits = seq, 0
		return false
	case d < 0 && d >= -64:
		w.bits |= 1 << (-d - 1)
	}
	return false
}

// validate applies the receive rules that reject a whole payload.
func (e *Endpoint) validate(p []byte) bool {
	var c chunk
	for len(p) > 0 {
		n := parseChunk(p, &c)
		if n == 0 {
			return false
		}
		if c.stream != UnreliableStream && int(c.stream) >= len(e.recv) {
			return false
		}
		if len(c.data) > e.cfg.MaxMessage || int64(c.msgLen) > int64(e.cfg.MaxMessage) {
			return false
		}
		p = p[n:]
	}
	return true
}

// apply stores the chunks of a valid payload. eliciting: it had reliable
// chunks; refused: one of them was not stored, so the packet must not be
// acknowledged.
func (e *Endpoint) apply(p []byte) (eliciting, refused bool) {
	var c chunk
	for len(p) > 0 {
		n := parseChunk(p, &c)
		p = p[n:]
		if c.stream == UnreliableStream {
			e.recvUnreliable(c.id, c.data)
			continue
		}
		eliciting = true
		if !e.recvChunk(&c) {
			refused = true
		}
	}
	return eliciting, refused
}

// recvChunk stores a reliable chunk; false if it did not fit the window or
// contradicts what is stored.
func (e *Endpoint) recvChunk(c *chunk) bool {
	rs := &e.recv[c.stream]
	d := int16(c.id - rs.next)
	if d < 0 {
		e.st.DuplicateFragments++
		return true
	}
	if d >= RecvWindow {
		return false
	}
	if rs.slots == nil {
		rs.slots = make([]inSlot, RecvWindow)
	}
	s := &rs.slots[c.id%RecvWindow]
	if s.used {
		if s.id != c.id {
			return false
		}
		if s.complete {
			e.st.DuplicateFragments++
			return true
		}
		// Being reassembled: only matching fragments belong.
		if !c.frag || int(c.msgLen) != len(s.buf) || int(c.fragSize) != s.fragSize {
			e.st.Conflicts++
			return false
		}
	} else {
		size := len(c.data)
		if c.frag {
			size = int(c.msgLen)
		}
		if d > 0 && rs.bytes+size > e.cfg.SendQueueBytes {
			return false
		}
		if d > 0 {
			rs.bytes += size
		}
		s.used, s.id = true, c.id
		s.buf = e.pool.get(size)
		if !c.frag {
			copy(s.buf, c.data)
			s.complete = true
			return true
		}
		s.fragSize = int(c.fragSize)
		s.nfrags = (size + s.fragSize - 1) / s.fragSize
		if s.nfrags > 64 {
			s.bits = make([]uint64, (s.nfrags+63)/64)
		}
	}
	i := int(c.index)
	if s.has(i) {
		e.st.DuplicateFragments++
		return true
	}
	copy(s.buf[i*s.fragSize:], c.data)
	s.set(i)
	s.nrecv++
	if s.nrecv == s.nfrags {
		s.complete = true
	}
	return true
}

// recvUnreliable keeps an unreliable message if it is newer than every one
// seen before.
func (e *Endpoint) recvUnreliable(id uint16, data []byte) {
	if e.unrelInSeen {
		if d := int16(id - e.unrelInNewest); d <= 0 && d > -ResyncDistance {
			e.st.StaleUnreliable++
			return
		}
	}
	e.unrelInSeen, e.unrelInNewest = true, id
	e.unrelIn = append(e.unrelIn[:0], data...)
	e.unrelInPending = true
}

// Receive calls fn for every message ready for delivery: each reliable
// stream's complete messages in order, then the newest unreliable message
// not yet delivered (stream UnreliableStream). msg is valid only during the
// call. fn may call Send and SendUnreliable, but not Receive or OnDatagram.
func (e *Endpoint) Receive(fn func(stream int, msg []byte)) {
	for i := range e.recv {
		rs := &e.recv[i]
		if rs.slots == nil {
			continue
		}
		for {
			s := &rs.slots[rs.next%RecvWindow]
			if !s.used || !s.complete || s.id != rs.next {
				break
			}
			fn(i, s.buf)
			e.st.MessagesIn++
			rs.next++
			// The next message moves to the head: its bytes no longer
			// count against the budget for buffering ahead.
			if n := &rs.slots[rs.next%RecvWindow]; n.used && n.id == rs.next {
				rs.bytes -= len(n.buf)
			}
			e.pool.put(s.buf)
			*s = inSlot{}
		}
	}
	if e.unrelInPending {
		e.unrelInPending = false
		e.st.MessagesIn++
		fn(UnreliableStream, e.unrelIn)
	}
}
