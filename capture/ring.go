package capture

import (
	"net/netip"
	"sync/atomic"
)

// Directions of a captured datagram, as seen from the server.
const (
	dirIn  = 1 // received: from the remote address to the server
	dirOut = 2 // sent: from the server to the remote address
)

// slot holds one captured datagram. seq is the slot's turn in the ring
// (Vyukov's bounded queue): seq == pos means free for the producer that
// claimed position pos, seq == pos+1 means filled and ready for the
// consumer.
type slot struct {
	seq  atomic.Uint64
	at   int64 // ns since the Unix epoch
	addr netip.AddrPort
	orig int // the datagram's length; data holds at most len(data) of it
	n    int // bytes copied into data
	dir  uint8
	data []byte // fixed, len = slot size
}

// ring is a bounded lock-free queue of fixed slots: any number of producers
// (push never blocks and never allocates; a full ring refuses) and one
// consumer (the writer goroutine).
type ring struct {
	slots []slot
	mask  uint64
	enq   atomic.Uint64
	_     [56]byte // keep the producers' and the consumer's words apart
	deq   uint64   // consumer only
}

// newRing returns a ring of n slots (n a power of two) of size bytes each,
// backed by one allocation.
func newRing(n, size int) *ring {
	r := &ring{slots: make([]slot, n), mask: uint64(n - 1)}
	mem := make([]byte, n*size)
	for i := range r.slots {
		r.slots[i].seq.Store(uint64(i))
		r.slots[i].data = mem[i*size : (i+1)*size : (i+1)*size]
	}
	return r
}

// push copies b into a free slot and reports whether there was one.
func (r *ring) push(dir uint8, addr netip.AddrPort, at int64, b []byte) bool {
	pos := r.enq.Load()
	for {
		s := &r.slots[pos&r.mask]
		switch d := int64(s.seq.Load() - pos); {
		case d == 0:
			if !r.enq.CompareAndSwap(pos, pos+1) {
				pos = r.enq.Load()
				continue
			}
			s.dir, s.addr, s.at, s.orig = dir, addr, at, len(b)
			s.n = copy(s.data, b)
			s.seq.Store(pos + 1)
			return true
		case d < 0:
			return false // the consumer has not freed this slot yet: full
		default:
			pos = r.enq.Load() // another producer took pos
		}
	}
}

// peek returns the oldest filled slot, or nil when there is none. The
// consumer must call release before the next peek.
func (r *ring) peek() *slot {
	s := &r.slots[r.deq&r.mask]
	if s.seq.Load() != r.deq+1 {
		return nil
	}
	return s
}

// release hands the slot returned by peek back to the producers.
func (r *ring) release(s *slot) {
	s.seq.Store(r.deq + r.mask + 1)
	r.deq++
}
