package reliable

import (
	"cmp"
	"slices"
	"unsafe"
)

// inSlot holds one message of a receive window while it is reassembled
// and until Receive delivers it.
type inSlot struct {
	id       uint16
	used     bool
	complete bool
	buf      []byte // a message that arrived whole, len = its length
	r        *reasm // a message arriving in fragments
}

// storage is the memory the slot holds, as charged to the budgets.
func (s *inSlot) storage() int {
	if s.r != nil {
		return s.r.charged
	}
	return cap(s.buf)
}

// data is the message data the slot holds.
func (s *inSlot) data() int {
	if s.r != nil {
		return s.r.nbytes
	}
	return len(s.buf)
}

// reasm is a message being reassembled from fragments. Its data is kept in
// blocks of k consecutive fragments, allocated as the first fragment of
// each block arrives, so that its memory grows with the fragments
// received, never with the msgLen a fragment announces.
type reasm struct {
	msgLen   int
	fragSize int
	k        int // fragments per block, 1…blockMaxFrags
	nfrags   int
	nrecv    int      // distinct fragments received
	nbytes   int      // their data bytes
	charged  int      // memory held: this struct, the block table, the blocks
	blocks   []rblock // by idx, ascending
}

// rblock holds fragments idx·k … idx·k+k−1 of a message, fragment idx·k+j
// at byte j·fragSize; bit j of bits is set when it arrived.
type rblock struct {
	bits uint64
	data []byte
	idx  int
}

const (
	blockMaxFrags = 64 // the width of rblock.bits
	blockTable0   = 4  // the first capacity of a block table
	rblockSize    = int(unsafe.Sizeof(rblock{}))
	reasmSize     = int(unsafe.Sizeof(reasm{}))
)

// blockFrags returns the fragments per block for a fragment size: the
// count that fills a pool size class best, table entry included, at most
// blockMaxFrags; 1 for fragments longer than the largest class.
func blockFrags(fragSize int) int {
	best, bestData, bestCost := 1, 0, 1
	for _, c := range poolClasses {
		k := min(blockMaxFrags, c/fragSize)
		if k == 0 {
			continue
		}
		if data, cost := k*fragSize, c+rblockSize; data*bestCost > bestData*cost {
			best, bestData, bestCost = k, data, cost
		}
	}
	return best
}

// blockLen is the data length of block idx of a message.
func blockLen(msgLen, fragSize, k, idx int) int {
	span := k * fragSize
	return min(span, msgLen-idx*span)
}

// findBlock returns the position of block idx in a block table, or where
// it belongs.
func findBlock(t []rblock, idx int) (int, bool) {
	if n := len(t); n == 0 || t[n-1].idx < idx {
		return n, false // in-order arrival appends
	}
	return slices.BinarySearchFunc(t, idx, func(b rblock, idx int) int { return cmp.Compare(b.idx, idx) })
}

// tableGrowth is the capacity a block table for nblocks blocks takes on to
// gain one entry.
func tableGrowth(t []rblock, nblocks int) int {
	if len(t) < cap(t) {
		return 0
	}
	return min(max(2*cap(t), blockTable0), nblocks) - cap(t)
}

// insert puts b at position pos of the block table, growing it by
// tableGrowth.
func (r *reasm) insert(pos int, b rblock) {
	if g := tableGrowth(r.blocks, (r.nfrags+r.k-1)/r.k); g > 0 {
		t := make([]rblock, len(r.blocks), cap(r.blocks)+g)
		copy(t, r.blocks)
		r.blocks = t
	}
	r.blocks = r.blocks[:len(r.blocks)+1]
	copy(r.blocks[pos+1:], r.blocks[pos:])
	r.blocks[pos] = b
}

// recvStream is the receiving half of one reliable stream.
type recvStream struct {
	next  uint16   // next message to deliver
	slots []inSlot // RecvWindow slots, indexed by id mod RecvWindow; nil until used
	bytes int      // message data in slots other than the head's
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
// a memory bound, or contradicts what is stored.
func (e *Endpoint) recvChunk(c *chunk) bool {
	stream := int(c.stream)
	rs := &e.recv[stream]
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
		if !c.frag || int(c.msgLen) != s.r.msgLen || int(c.fragSize) != s.r.fragSize {
			e.st.Conflicts++
			return false
		}
	}
	if !c.frag {
		n := len(c.data)
		if !e.admit(rs, stream, d, s, poolCap(n), n) {
			return false
		}
		s.used, s.complete, s.id = true, true, c.id
		s.buf = e.pool.get(n)
		copy(s.buf, c.data)
		return true
	}

	// A fragment: what it costs is the block it falls in, if that is not
	// held yet, and for a message's first fragment the reassembly state.
	r := s.r
	msgLen, fragSize := int(c.msgLen), int(c.fragSize)
	var k, nfrags int
	var table []rblock
	if r != nil {
		k, nfrags, table = r.k, r.nfrags, r.blocks
	} else {
		k, nfrags = blockFrags(fragSize), (msgLen+fragSize-1)/fragSize
	}
	i := int(c.index)
	idx, bit := i/k, uint64(1)<<(i%k)
	pos, found := findBlock(table, idx)
	if found && table[pos].bits&bit != 0 {
		e.st.DuplicateFragments++
		return true
	}
	cost := 0
	if r == nil {
		cost += reasmSize
	}
	if !found {
		cost += poolCap(blockLen(msgLen, fragSize, k, idx)) + tableGrowth(table, (nfrags+k-1)/k)*rblockSize
	}
	if !e.admit(rs, stream, d, s, cost, len(c.data)) {
		return false
	}
	if r == nil {
		r = &reasm{msgLen: msgLen, fragSize: fragSize, k: k, nfrags: nfrags}
		s.used, s.id, s.r = true, c.id, r
	}
	if !found {
		r.insert(pos, rblock{idx: idx, data: e.pool.get(blockLen(msgLen, fragSize, k, idx))})
	}
	b := &r.blocks[pos]
	copy(b.data[(i%k)*fragSize:], c.data)
	b.bits |= bit
	r.nrecv++
	r.nbytes += len(c.data)
	r.charged += cost
	if r.nrecv == r.nfrags {
		s.complete = true
	}
	return true
}

// admit charges cost bytes of memory and data bytes of message data for a
// chunk of message d of a stream (d = 0: the head) that slot s (possibly
// empty) would hold, and reports whether they fit:
//   - data beyond the head within Config.SendQueueBytes per stream;
//   - memory within Config.RecvBufferBytes, the priority head aside;
//   - memory within Config.Budget: its whole limit for the priority head,
//     three quarters of it for the rest.
//
// The priority head is the head of one stream at a time, the first whose
// chunk does not fit otherwise; it keeps the priority until delivered, so
// that a message blocking delivery always completes however full the rest
// is. A chunk that does not fit is counted in DroppedOverBudget.
func (e *Endpoint) admit(rs *recvStream, stream int, d int16, s *inSlot, cost, data int) bool {
	if d > 0 && rs.bytes+data > e.cfg.SendQueueBytes {
		e.st.DroppedOverBudget++
		return false
	}
	prio := d == 0 && e.prio == stream
	canPrio := d == 0 && (prio || e.prio < 0)
	if cost > 0 {
		if !prio && e.held-e.prioBytes+cost > e.cfg.RecvBufferBytes {
			if !canPrio {
				e.st.DroppedOverBudget++
				return false
			}
			prio = true
		}
		if b := e.cfg.Budget; b != nil && !b.take(int64(cost), prio) {
			if prio || !canPrio || !b.take(int64(cost), true) {
				e.st.DroppedOverBudget++
				b.refused(e.now)
				return false
			}
			prio = true
		}
		if prio && e.prio != stream {
			e.prio, e.prioBytes = stream, s.storage()
		}
		if prio {
			e.prioBytes += cost
		}
		e.held += cost
		if e.acct != nil {
			e.acct.held.Add(int64(cost))
		}
	}
	if d > 0 {
		rs.bytes += data
	}
	return true
}

// free releases what slot s of stream holds, its priority included.
func (e *Endpoint) free(stream int, s *inSlot) {
	n := s.storage()
	if s.r != nil {
		for _, b := range s.r.blocks {
			e.pool.put(b.data)
		}
	} else {
		e.pool.put(s.buf)
	}
	*s = inSlot{}
	e.held -= n
	if e.acct != nil {
		e.acct.held.Add(-int64(n))
		e.acct.budget.give(int64(n))
	}
	if e.prio == stream {
		e.prio, e.prioBytes = -1, 0
	}
}

// assemble returns the message of a complete slot; pooled reports that it
// is a pool buffer to put back after use.
func (e *Endpoint) assemble(s *inSlot) (msg []byte, pooled bool) {
	r := s.r
	if r == nil {
		return s.buf, false
	}
	if len(r.blocks) == 1 {
		return r.blocks[0].data, false
	}
	msg = e.pool.get(r.msgLen)
	span := r.k * r.fragSize
	for _, b := range r.blocks {
		copy(msg[b.idx*span:], b.data)
	}
	return msg, true
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
			msg, pooled := e.assemble(s)
			fn(i, msg)
			if pooled {
				e.pool.put(msg)
			}
			e.st.MessagesIn++
			rs.next++
			// The next message moves to the head: its data no longer
			// counts as buffered ahead.
			if n := &rs.slots[rs.next%RecvWindow]; n.used && n.id == rs.next {
				rs.bytes -= n.data()
			}
			e.free(i, s)
		}
	}
	if e.unrelInPending {
		e.unrelInPending = false
		e.st.MessagesIn++
		fn(UnreliableStream, e.unrelIn)
	}
}
