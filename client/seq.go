package client

// seqWindowBits is how far behind the newest sequence number a datagram may
// arrive and still be recognised as late rather than stale.
const seqWindowBits = 64

// seqMaxGap is the largest jump ahead counted as loss. A sender never
// skips more between two datagrams that arrive; a bigger jump is either a
// long outage or a datagram forged to make the real ones look stale: it
// moves the window but counts no loss.
const seqMaxGap = 4096

// seqResync is how many stale datagrams in a row, each following the one
// before, bring the window back to them: the sender's real sequence after
// a forged jump ahead (or after a sender restart).
const seqResync = 8

// PathStats counts the datagrams received on one path from the gaps in the
// sender's sequence numbers.
type PathStats struct {
	Received   uint64 // distinct datagrams accepted
	Lost       uint64 // sequence numbers skipped and not (yet) filled
	Late       uint64 // arrived after a newer one, filling a gap
	Duplicates uint64 // a sequence number seen before
	Stale      uint64 // older than the window; cannot tell late from duplicate
	Jumps      uint64 // jumps ahead beyond seqMaxGap, not counted as loss
	Resyncs    uint64 // times a run of stale datagrams took the window back
}

// LossPercent is Lost as a percentage of the datagrams the sender sent on
// the path since the first one received (Received+Lost); 0 when nothing was
// received.
func (p PathStats) LossPercent() float64 {
	total := p.Received + p.Lost
	if total == 0 {
		return 0
	}
	return 100 * float64(p.Lost) / float64(total)
}

// seqVerdict is what seqWindow.observe decided about one sequence number.
type seqVerdict uint8

const (
	seqNew       seqVerdict = iota // newer than every other: accept
	seqLate                        // older, fills a gap: accept
	seqDuplicate                   // seen before: drop
	seqStale                       // too old to tell: drop
)

// seqWindow tracks the sequence numbers received on one path: the newest one
// and a bitmap of the seqWindowBits before it. Its newest and low 32 bits are
// exactly the Ack and AckBits the protocol sends back.
//
// Sequence numbers are uint16 and wrap: a is newer than b iff int16(a-b) > 0.
type seqWindow struct {
	started bool
	newest  uint16
	bits    uint64 // bit i set: newest-1-i received
	// A run of stale datagrams, each within the window of the one before:
	// its newest sequence number and its length.
	staleNewest uint16
	staleRun    int
}

// observe records seq and updates st.
func (w *seqWindow) observe(seq uint16, st *PathStats) seqVerdict {
	if !w.started {
		w.started = true
		w.newest = seq
		w.bits = 0
		st.Received++
		return seqNew
	}
	d := int16(seq - w.newest)
	switch {
	case d > 0:
		gap := uint64(d)
		if gap >= seqWindowBits+1 {
			w.bits = 0
		} else {
			w.bits = w.bits<<gap | 1<<(gap-1)
		}
		w.newest = seq
		if gap > seqMaxGap {
			st.Jumps++
		} else {
			st.Lost += gap - 1
		}
		st.Received++
		w.staleRun = 0
		return seqNew
	case d == 0:
		st.Duplicates++
		return seqDuplicate
	default:
		back := uint64(-int32(d)) // 1.. newest-seq
		if back > seqWindowBits {
			st.Stale++
			if e := int16(seq - w.staleNewest); w.staleRun > 0 && e > 0 && e <= seqWindowBits {
				w.staleRun++
			} else {
				w.staleRun = 1
			}
			w.staleNewest = seq
			if w.staleRun >= seqResync {
				// The datagrams that keep coming are these: follow them.
				w.newest, w.bits, w.staleRun = seq, 0, 0
				st.Resyncs++
				return seqNew
			}
			return seqStale
		}
		bit := uint64(1) << (back - 1)
		if w.bits&bit != 0 {
			st.Duplicates++
			return seqDuplicate
		}
		w.bits |= bit
		st.Received++
		st.Late++
		if st.Lost > 0 {
			st.Lost--
		}
		return seqLate
	}
}

// ack returns the Ack and AckBits header fields describing this path.
func (w *seqWindow) ack() (uint16, uint32) {
	if !w.started {
		return 0, 0
	}
	return w.newest, uint32(w.bits)
}
