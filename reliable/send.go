package reliable

// fragState is the sender's view of one fragment.
type fragState struct {
	carrier  uint16 // packet that carried it last
	sends    uint16 // times sent, saturating
	timeouts uint8  // RTO expiries of packets that carried it, saturating at MaxBackoff
	acked    bool
	inFlight bool // carried by a packet neither acknowledged nor lost
	queued   bool // in the retransmission queue
}

// outMsg is one queued reliable message.
type outMsg struct {
	id       uint16
	data     []byte
	fragSize int // 0: sent whole
	nfrags   int
	nacked   int
	scan     int         // no lost fragment below this index
	f0       fragState   // the fragment state of a whole message
	fs       []fragState // fragment states of a fragmented message
}

func (m *outMsg) frag(i int) *fragState {
	if m.fs == nil {
		return &m.f0
	}
	return &m.fs[i]
}

// chunkSize is the encoded size of fragment i.
func (m *outMsg) chunkSize(i int) int {
	if m.fragSize == 0 {
		return ChunkHeaderSize + len(m.data)
	}
	return FragmentHeaderSize + min(m.fragSize, len(m.data)-i*m.fragSize)
}

func (m *outMsg) appendFrag(b []byte, stream uint8, i int) []byte {
	if m.fragSize == 0 {
		return appendChunk(b, stream, m.id, m.data)
	}
	off := i * m.fragSize
	end := min(off+m.fragSize, len(m.data))
	return appendFragment(b, stream, m.id, uint32(len(m.data)), uint16(m.fragSize), uint16(i), m.data[off:end])
}

// sendStream is the sending half of one reliable stream: the messages from
// the oldest unacknowledged one (id headID) on.
type sendStream struct {
	q          ring[outMsg]
	headID     uint16
	cursor     int // index in q of the first message with unsent fragments
	cursorFrag int // its first unsent fragment
	bytes      int // data bytes in q
}

// fragRef names one fragment of a queued message.
type fragRef struct {
	stream uint8
	id     uint16
	frag   uint16
}

// sentPacket remembers a packet with reliable data until its number leaves
// the last sentRingSize numbers.
type sentPacket struct {
	seq      uint16
	inUse    bool
	inFlight bool
	acked    bool
	lost     bool
	shift    uint8 // RTO doublings
	lostDist uint8 // packets between it and the largest acknowledged when declared lost; 0: by timeout
	lostTime bool  // declared lost by the time threshold
	sentAt   int64
	n        int
	refs     [MaxChunksPerPacket]fragRef
}

const (
	sentRingSize = 64 // power of two, ≥ 2·MaxInFlight
	sentMask     = sentRingSize - 1
)

// unrelMsg is a queued unreliable message.
type unrelMsg struct {
	id   uint16
	data []byte
}

// Send queues msg (copied) on a reliable-ordered stream. It fails with
// ErrStream, ErrTooLarge or ErrQueueFull and then queues nothing.
func (e *Endpoint) Send(now int64, stream int, msg []byte) error {
	e.advance(now)
	if stream < 0 || stream >= len(e.send) {
		return ErrStream
	}
	if len(msg) > e.cfg.MaxMessage {
		return ErrTooLarge
	}
	ss := &e.send[stream]
	if ss.bytes+len(msg) > e.cfg.SendQueueBytes || ss.q.n >= MaxQueuedMessages {
		return ErrQueueFull
	}
	data := e.pool.get(len(msg))
	copy(data, msg)
	m := outMsg{id: ss.headID + uint16(ss.q.n), data: data, nfrags: 1}
	if ChunkHeaderSize+len(msg) > e.cfg.MTU {
		m.fragSize = e.cfg.MTU - FragmentHeaderSize
		m.nfrags = (len(msg) + m.fragSize - 1) / m.fragSize
		m.fs = make([]fragState, m.nfrags)
	}
	ss.q.push(m)
	ss.bytes += len(msg)
	e.st.MessagesOut++
	return nil
}

// SendUnreliable queues msg (copied) on the unreliable-sequenced stream: it
// goes out with the next Poll, is never resent, and the receiver drops it if
// it has seen a newer one. It must fit in one datagram (Config.MTU −
// ChunkHeaderSize bytes), else ErrTooLarge; ErrQueueFull when
// MaxQueuedUnreliable messages or Config.SendQueueBytes bytes are waiting.
func (e *Endpoint) SendUnreliable(now int64, msg []byte) error {
	e.advance(now)
	if ChunkHeaderSize+len(msg) > e.cfg.MTU || len(msg) > e.cfg.MaxMessage {
		return ErrTooLarge
	}
	if e.unrel.n >= MaxQueuedUnreliable || e.unrelBytes+len(msg) > e.cfg.SendQueueBytes {
		return ErrQueueFull
	}
	data := e.pool.get(len(msg))
	copy(data, msg)
	e.unrel.push(unrelMsg{id: e.unrelNextID, data: data})
	e.unrelNextID++
	e.unrelBytes += len(msg)
	e.st.MessagesOut++
	return nil
}

// lookup finds a referenced fragment, or nil if its message is gone (fully
// acknowledged).
func (e *Endpoint) lookup(r fragRef) (*outMsg, *fragState) {
	if int(r.stream) >= len(e.send) {
		return nil, nil
	}
	ss := &e.send[r.stream]
	i := int(r.id - ss.headID)
	if i >= ss.q.n {
		return nil, nil
	}
	m := ss.q.at(i)
	if int(r.frag) >= m.nfrags {
		return nil, nil
	}
	return m, m.frag(int(r.frag))
}

// markSent records that fragment f goes out now in packet seq.
func (e *Endpoint) markSent(f *fragState, seq uint16) {
	if f.sends > 0 {
		e.st.Retransmits++
	}
	if f.sends < 1<<16-1 {
		f.sends++
	}
	f.inFlight = true
	f.carrier = seq
}

// retire frees the ring slot for packet number seq, declaring its previous
// occupant lost if it is still in flight: it can no longer be acknowledged.
func (e *Endpoint) retire(seq uint16) {
	r := &e.sent[seq&sentMask]
	if r.inUse && r.inFlight {
		e.declareLost(r, false)
	}
	r.inUse = false
}

// declareLost takes packet r out of flight and queues its unacknowledged
// fragments for resending.
func (e *Endpoint) declareLost(r *sentPacket, timeout bool) {
	r.inFlight = false
	r.lost = true
	r.lostDist, r.lostTime = 0, false
	e.inFlight--
	e.st.PacketsLost++
	e.loss += (1 - e.loss) / lossGain
	for _, ref := range r.refs[:r.n] {
		m, f := e.lookup(ref)
		if f == nil || f.acked || !f.inFlight || f.carrier != r.seq {
			continue
		}
		f.inFlight = false
		m.scan = min(m.scan, int(ref.frag))
		if timeout && f.timeouts < MaxBackoff {
			f.timeouts++
		}
		if !f.queued {
			f.queued = true
			e.rtx.push(ref)
		}
	}
}

// ackPacket marks packet r and its fragments acknowledged and releases the
// messages that are now fully acknowledged.
func (e *Endpoint) ackPacket(r *sentPacket) {
	if r.acked {
		return
	}
	r.acked = true
	if r.inFlight {
		r.inFlight = false
		e.inFlight--
		e.loss -= e.loss / lossGain
	} else if r.lost {
		// Declared lost, yet it arrived: reordering. Raise the packet
		// threshold past the distance that misled it (RFC 8985 adapts its
		// reordering window alike).
		e.st.SpuriousLosses++
		switch {
		case r.lostTime:
			e.timeThreshold = min(e.timeThreshold+1, MaxTimeThreshold)
		case r.lostDist > 0:
			e.pktThreshold = min(max(e.pktThreshold, int(r.lostDist)+1), MaxPacketThreshold)
		}
	}
	for _, ref := range r.refs[:r.n] {
		m, f := e.lookup(ref)
		if f == nil || f.acked {
			continue
		}
		f.acked = true
		f.inFlight = false
		m.nacked++
		if m.nacked == m.nfrags && m.id == e.send[ref.stream].headID {
			e.popAcked(&e.send[ref.stream])
		}
	}
}

// popAcked drops the fully acknowledged messages at the head of ss.
func (e *Endpoint) popAcked(ss *sendStream) {
	for ss.q.n > 0 {
		m := ss.q.at(0)
		if m.nacked < m.nfrags {
			return
		}
		ss.bytes -= len(m.data)
		e.pool.put(m.data)
		ss.q.pop()
		ss.headID++
		ss.cursor--
		e.st.MessagesAcked++
	}
}

// lossDelay is the time threshold after which a packet older than an
// acknowledged one is lost.
func (e *Endpoint) lossDelay() int64 {
	srtt, _ := e.rtt.smoothed()
	d := max(srtt, e.rtt.latest)
	return max(d*int64(e.timeThreshold)/8, int64(lossGranularity))
}

// rto is the retransmission timeout without backoff.
func (e *Endpoint) rto() int64 {
	srtt, rttvar := e.rtt.smoothed()
	return min(max(srtt+4*rttvar, int64(e.cfg.MinRTO)), int64(e.cfg.MaxRTO))
}

func (e *Endpoint) backoff(rto int64, shift uint8) int64 {
	return min(rto<<shift, max(int64(e.cfg.MaxRTO), rto))
}

// detectLoss declares lost the packets whose thresholds or timeouts have
// passed.
func (e *Endpoint) detectLoss() {
	if e.inFlight == 0 {
		return
	}
	ld, rto := e.lossDelay(), e.rto()
	largestValid := e.hasLargest && uint16(e.nextSeq-1-e.largest) < sentRingSize
	for i := range e.sent {
		r := &e.sent[i]
		if !r.inUse || !r.inFlight {
			continue
		}
		if largestValid {
			if d := int16(e.largest - r.seq); d > 0 && (int(d) >= e.pktThreshold || e.now-r.sentAt >= ld) {
				e.declareLost(r, false)
				r.lostDist = uint8(min(d, 255))
				r.lostTime = int(d) < e.pktThreshold
				continue
			}
		}
		if e.now-r.sentAt >= e.backoff(rto, r.shift) {
			e.declareLost(r, true)
		}
	}
}

// processAcks applies the acknowledgements of one received header.
func (e *Endpoint) processAcks(ack uint16, bits uint32) {
	if e.consumed == 0 {
		return
	}
	if back := e.nextSeq - 1 - ack; back >= sentRingSize || uint64(back) >= e.consumed {
		return // never sent, or too old to matter
	}
	// Most datagrams repeat the acknowledgements of the one before (the
	// peer received nothing new meanwhile): they name the same packets,
	// already acknowledged, and give no RTT sample.
	if e.acksSeen && ack == e.lastAck && bits == e.lastAckBits {
		return
	}
	e.acksSeen, e.lastAck, e.lastAckBits = true, ack, bits
	if !e.hasLargest || int16(ack-e.largest) > 0 {
		e.largest, e.hasLargest = ack, true
	}
	if r := &e.sent[ack&sentMask]; r.inUse && r.seq == ack && !r.acked {
		e.rtt.sample(e.now - r.sentAt)
		e.st.RTTSamples++
	}
	for i := uint16(0); i <= 32; i++ {
		if i > 0 && bits&(1<<(i-1)) == 0 {
			continue
		}
		s := ack - i
		if back := e.nextSeq - 1 - s; back >= sentRingSize || uint64(back) >= e.consumed {
			break
		}
		if r := &e.sent[s&sentMask]; r.inUse && r.seq == s {
			e.ackPacket(r)
		}
	}
}

// headLost returns a fragment of the oldest message of a stream that was
// lost and waits in rtx, looking from stream rtxRR on.
func (e *Endpoint) headLost() (fragRef, *outMsg, *fragState, bool) {
	for k := range len(e.send) {
		s := (e.rtxRR + k) % len(e.send)
		ss := &e.send[s]
		if ss.q.n == 0 {
			continue
		}
		m := ss.q.at(0)
		for ; m.scan < m.nfrags; m.scan++ {
			if f := m.frag(m.scan); f.queued && !f.inFlight && !f.acked {
				return fragRef{stream: uint8(s), id: m.id, frag: uint16(m.scan)}, m, f, true
			}
		}
	}
	return fragRef{}, nil, nil, false
}

// hasNewFragment reports whether some stream has a fragment never sent that
// the receive window allows.
func (e *Endpoint) hasNewFragment() bool {
	for i := range e.send {
		ss := &e.send[i]
		if ss.cursor < ss.q.n && ss.cursor < RecvWindow {
			return true
		}
	}
	return false
}

// Unacked calls fn, stream by stream and in order, with every reliable
// message not yet acknowledged whole: what a new channel to another peer
// must carry again (a standby that took over, PROTOCOL §18.5). msg is the
// endpoint's own copy, valid during the call.
func (e *Endpoint) Unacked(fn func(stream int, msg []byte)) {
	for i := range e.send {
		ss := &e.send[i]
		for j := range ss.q.n {
			if m := ss.q.at(j); m.nacked < m.nfrags {
				fn(i, m.data)
			}
		}
	}
}
