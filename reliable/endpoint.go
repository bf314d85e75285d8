package reliable

import (
	"runtime"
	"sync/atomic"
	"time"
)

// lossGain is the inverse gain of the loss estimate's moving average.
const lossGain = 32

// Endpoint is one end of a connection: it queues, sends, acknowledges,
// resends and delivers messages. Create it with New.
type Endpoint struct {
	cfg Config
	now int64

	// Sending.
	send          []sendStream
	rr            int // stream that packs first in the next packet
	unrel         ring[unrelMsg]
	unrelBytes    int
	unrelNextID   uint16
	rtx           ring[fragRef] // fragments to resend, oldest loss first
	rtxYield      bool          // the last packet resent a fragment resent before: new data's turn
	rtxRepeat     bool          // this packet resends a fragment resent before
	rtxRR         int           // stream whose oldest message resends first next
	sent          []sentPacket  // by packet number mod sentRingSize
	nextSeq       uint16
	consumed      uint64 // packet numbers handed out, saturating
	inFlight      int
	pktThreshold  int // PacketThreshold, raised by reordering
	timeThreshold int // eighths of an RTT: TimeThreshold, raised by reordering
	hasLargest    bool
	// The acknowledgements processAcks last applied.
	lastAck     uint16
	lastAckBits uint32
	acksSeen    bool
	largest     uint16
	rtt         rttEstimator
	loss        float64

	// Receiving.
	recv           []recvStream
	win            seqWindow
	ackPending     int // packets with reliable data not yet acknowledged by a datagram we sent
	ackNow         bool
	ackDeadline    int64
	unrelIn        []byte
	unrelInPending bool
	unrelInSeen    bool
	unrelInNewest  uint16

	// Memory held for received messages (see admit).
	held      int          // all of it
	prio      int          // stream whose head has the reassembly priority; -1: none
	prioBytes int          // the part that head holds
	acct      *recvAccount // held, for Config.Budget; nil without one

	pool bufPool
	st   Stats
}

// Stats are an Endpoint's measurements and counters.
type Stats struct {
	RTT    time.Duration // smoothed round-trip time (SRTT); 0 before the first sample
	RTTVar time.Duration // RTT variation (RTTVAR)
	Jitter time.Duration // mean difference of consecutive RTT samples
	RTO    time.Duration // current retransmission timeout, before backoff
	Loss   float64       // moving average (gain 1/32) of the fraction of packets with reliable data declared lost

	PacketsOut     uint64 // datagram payloads built by Poll, pure acknowledgements included
	PacketsIn      uint64 // payloads given to OnDatagram and not malformed
	PacketsLost    uint64 // packets with reliable data declared lost
	SpuriousLosses uint64 // of those, acknowledged later
	Retransmits    uint64 // fragments sent again
	RTTSamples     uint64
	BytesOut       uint64 // payload bytes built by Poll
	BytesIn        uint64 // payload bytes given to OnDatagram and not malformed
	MessagesOut    uint64 // messages accepted by Send and SendUnreliable
	MessagesAcked  uint64 // reliable messages fully acknowledged
	MessagesIn     uint64 // messages delivered by Receive
	QueueBytes     int    // bytes queued: reliable not yet acknowledged, unreliable not yet sent
	InFlight       int    // packets with reliable data in flight

	Malformed          uint64 // payloads ignored by the receive rules
	Refused            uint64 // packets left unacknowledged: a chunk did not fit the receive window
	Conflicts          uint64 // fragments contradicting an earlier fragment of their message
	DuplicatePackets   uint64 // packet numbers received before
	DuplicateFragments uint64 // chunks of messages already held or delivered
	StaleUnreliable    uint64 // unreliable messages older than one seen before
	DroppedOverBudget  uint64 // reliable chunks dropped (packet left unacknowledged): a receive memory bound was reached
	RecvBytes          int    // memory held for received messages, as counted against RecvBufferBytes and Budget
}

// recvAccount is what an Endpoint has charged to its Budget, kept apart
// from the Endpoint so that a cleanup can return it once the Endpoint is
// unreachable.
type recvAccount struct {
	budget *Budget
	held   atomic.Int64
}

func (a *recvAccount) release() { a.budget.give(a.held.Swap(0)) }

// New returns an Endpoint, or an error naming the first invalid Config
// field.
func New(cfg Config) (*Endpoint, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Endpoint{
		cfg:  cfg,
		send: make([]sendStream, cfg.Streams),
		recv: make([]recvStream, cfg.Streams),
		sent: make([]sentPacket, sentRingSize),
		prio: -1,

		pktThreshold:  PacketThreshold,
		timeThreshold: TimeThreshold,
	}
	if cfg.Budget != nil {
		e.acct = &recvAccount{budget: cfg.Budget}
		runtime.AddCleanup(e, (*recvAccount).release, e.acct)
	}
	return e, nil
}

// Close releases the messages received and not yet delivered and returns
// their memory to Config.Budget. The Endpoint must not be used afterwards.
// An Endpoint dropped without Close returns it when the garbage collector
// finds the Endpoint unreachable.
func (e *Endpoint) Close() {
	for i := range e.recv {
		rs := &e.recv[i]
		for j := range rs.slots {
			if rs.slots[j].used {
				e.free(i, &rs.slots[j])
			}
		}
		rs.slots, rs.bytes = nil, 0
	}
}

// Config returns the configuration in use, defaults filled in.
func (e *Endpoint) Config() Config { return e.cfg }

func (e *Endpoint) advance(now int64) {
	if now > e.now {
		e.now = now
	}
}

// consume hands out the next packet number. Every datagram the caller sends
// carries Ack, so the pending acknowledgement is done.
func (e *Endpoint) consume() uint16 {
	seq := e.nextSeq
	e.retire(seq)
	e.nextSeq++
	if e.consumed < 1<<63 {
		e.consumed++
	}
	e.ackPending, e.ackNow = 0, false
	return seq
}

// NextSeq returns the packet number for a datagram the caller sends on this
// path without a payload of this layer (a pose, a ping). Its header must
// carry Ack like every other.
func (e *Endpoint) NextSeq() uint16 { return e.consume() }

// Ack returns the Ack and AckBits to put in the header of every datagram
// sent to the peer: the newest packet number received, and bit i set if
// number Ack−1−i was received too. Before anything is received it is
// (0xFFFF, 0).
func (e *Endpoint) Ack() (ack uint16, bits uint32) {
	if !e.win.started {
		return 0xFFFF, 0
	}
	return e.win.newest, uint32(e.win.bits)
}

func (e *Endpoint) ackDue() bool {
	return e.ackPending > 0 && (e.ackNow || e.now >= e.ackDeadline)
}

// Poll builds the next datagram payload due at now and appends it to buf,
// returning the extended slice and the packet number to put in the header
// (pass buf[:0] for the payload alone; with cap(buf) ≥ len(buf)+MTU it does
// not allocate). A payload carries, in this order, queued unreliable
// messages, fragments due for resending, and new fragments taken round-robin
// from the streams; it is empty (a pure acknowledgement) when only an
// acknowledgement is due. ok is false when nothing is due; call Poll until
// then, and again at NextTimeout.
func (e *Endpoint) Poll(now int64, buf []byte) (payload []byte, seq uint16, ok bool) {
	e.advance(now)
	e.detectLoss()
	start := len(buf)
	seq = e.nextSeq
	rec := &e.sent[seq&sentMask]
	if rec.inUse && rec.inFlight {
		e.declareLost(rec, false)
	}
	rec.inUse = false
	mtu := e.cfg.MTU

	for e.unrel.n > 0 {
		m := e.unrel.at(0)
		if len(buf)-start+ChunkHeaderSize+len(m.data) > mtu {
			break
		}
		buf = appendChunk(buf, UnreliableStream, m.id, m.data)
		e.unrelBytes -= len(m.data)
		e.pool.put(m.data)
		e.unrel.pop()
	}

	n := 0
	shift := uint8(MaxBackoff)
	if e.inFlight < MaxInFlight {
		yield := false
		for e.rtx.n > 0 && n < MaxChunksPerPacket {
			// Lost fragments of each stream's oldest message go first:
			// they hold up delivery, and a receiver short of memory
			// takes them when it takes nothing else. Their entries
			// stay in rtx, to be dropped when reached.
			ref, m, f, head := e.headLost()
			if !head {
				ref = *e.rtx.at(0)
				m, f = e.lookup(ref)
				if f == nil || f.acked || f.inFlight {
					if f != nil {
						f.queued = false
					}
					e.rtx.pop()
					continue
				}
			}
			if f.sends > 1 {
				// Resent before and lost again, perhaps refused by a
				// receiver short of memory: such fragments take turns
				// with new data.
				if e.rtxYield && n == 0 && e.hasNewFragment() {
					yield = true
					break
				}
				e.rtxRepeat = true
			}
			if len(buf)-start+m.chunkSize(int(ref.frag)) > mtu {
				break
			}
			if head {
				e.rtxRR = (int(ref.stream) + 1) % len(e.send)
			} else {
				e.rtx.pop()
				f.queued = false
			}
			buf = m.appendFrag(buf, ref.stream, int(ref.frag))
			e.markSent(f, seq)
			shift = min(shift, f.timeouts)
			rec.refs[n] = ref
			n++
		}
		e.rtxYield = e.rtxRepeat && !yield
		e.rtxRepeat = false
		if e.rtx.n == 0 || yield {
			for progress := true; progress && n < MaxChunksPerPacket; {
				progress = false
				for k := 0; k < len(e.send) && n < MaxChunksPerPacket; k++ {
					s := (e.rr + k) % len(e.send)
					ss := &e.send[s]
					if ss.cursor >= ss.q.n || ss.cursor >= RecvWindow {
						continue
					}
					m := ss.q.at(ss.cursor)
					i := ss.cursorFrag
					if len(buf)-start+m.chunkSize(i) > mtu {
						continue
					}
					buf = m.appendFrag(buf, uint8(s), i)
					e.markSent(m.frag(i), seq)
					shift = 0
					rec.refs[n] = fragRef{stream: uint8(s), id: m.id, frag: uint16(i)}
					n++
					if ss.cursorFrag++; ss.cursorFrag == m.nfrags {
						ss.cursor++
						ss.cursorFrag = 0
					}
					progress = true
				}
			}
			e.rr = (e.rr + 1) % len(e.send)
		}
	}

	if len(buf) == start && !e.ackDue() {
		return buf, 0, false
	}
	e.consume()
	if n > 0 {
		*rec = sentPacket{seq: seq, inUse: true, inFlight: true, shift: shift, sentAt: e.now, n: n, refs: rec.refs}
		e.inFlight++
	}
	e.st.PacketsOut++
	e.st.BytesOut += uint64(len(buf) - start)
	return buf, seq, true
}

// OnAcks applies the Ack and AckBits of a received datagram that has no
// packet number from the peer's Endpoint.
func (e *Endpoint) OnAcks(now int64, ack uint16, ackBits uint32) {
	e.advance(now)
	e.processAcks(ack, ackBits)
	e.detectLoss()
}

// OnDatagram takes a received datagram's header fields and this layer's
// payload (empty when the datagram carried none: its number is still
// recorded for acknowledgement). It stores the payload's messages for
// Receive and applies the acknowledgements. A malformed payload is ignored
// entirely, acknowledgements included, and ErrMalformed returned; no other
// error is returned. payload is not retained.
func (e *Endpoint) OnDatagram(now int64, seq, ack uint16, ackBits uint32, payload []byte) error {
	e.advance(now)
	if !e.validate(payload) {
		e.st.Malformed++
		return ErrMalformed
	}
	e.st.PacketsIn++
	e.st.BytesIn += uint64(len(payload))
	switch v := e.win.classify(seq); v {
	case seqDuplicate:
		e.st.DuplicatePackets++
	default:
		eliciting, refused := e.apply(payload)
		if refused {
			e.st.Refused++
			break
		}
		if v == seqStale {
			break
		}
		inOrder := e.win.record(seq)
		if eliciting {
			e.ackPending++
			if e.ackPending == 1 {
				e.ackDeadline = e.now + int64(AckDelay)
			}
			if !inOrder || e.ackPending >= AckEvery {
				e.ackNow = true
			}
		}
	}
	e.processAcks(ack, ackBits)
	e.detectLoss()
	return nil
}

// NextTimeout returns when Poll next has something to do: a time at or
// before the latest now passed in if it has now, Never if nothing is
// scheduled.
func (e *Endpoint) NextTimeout() int64 {
	if e.unrel.n > 0 || e.ackPending > 0 && e.ackNow {
		return e.now
	}
	if e.inFlight < MaxInFlight && (e.rtx.n > 0 || e.hasNewFragment()) {
		return e.now
	}
	t := Never
	if e.ackPending > 0 {
		t = e.ackDeadline
	}
	if e.inFlight > 0 {
		ld, rto := e.lossDelay(), e.rto()
		largestValid := e.hasLargest && uint16(e.nextSeq-1-e.largest) < sentRingSize
		for i := range e.sent {
			r := &e.sent[i]
			if !r.inUse || !r.inFlight {
				continue
			}
			t = min(t, r.sentAt+e.backoff(rto, r.shift))
			if largestValid && int16(e.largest-r.seq) > 0 {
				t = min(t, r.sentAt+ld)
			}
		}
	}
	return t
}

// Stats returns the measurements and counters.
func (e *Endpoint) Stats() Stats {
	s := e.st
	if e.rtt.has {
		s.RTT = time.Duration(e.rtt.srtt)
		s.RTTVar = time.Duration(e.rtt.rttvar)
		s.Jitter = time.Duration(e.rtt.jitter)
	}
	s.RTO = time.Duration(e.rto())
	s.Loss = e.loss
	for i := range e.send {
		s.QueueBytes += e.send[i].bytes
	}
	s.QueueBytes += e.unrelBytes
	s.InFlight = e.inFlight
	s.RecvBytes = e.held
	return s
}
