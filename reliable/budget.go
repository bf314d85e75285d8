package reliable

import (
	"math"
	"runtime"
	"sync/atomic"
	"time"
)

// DefaultBudgetBytes is the limit of NewBudget(0): 48 MiB. A server with
// the default 64 sessions whose every peer fills its per-Endpoint bound
// (RecvBufferBytes plus one message of MaxMessage, about 1.3 MiB) would
// hold about 83 MiB without it; with it the reliable channels of all
// sessions together stay under 48 MiB, and the process under 64 MiB of
// growth once the fixed per-session structures are added. Honest peers
// need far less: the server receives RPC requests of tens of bytes.
const DefaultBudgetBytes = 48 << 20

// BudgetGCInterval is the least time, on the clock the Endpoints are
// given, between two garbage collections a Budget asks for.
const BudgetGCInterval = time.Second

// Budget bounds the memory that a group of Endpoints (the sessions of a
// server) hold for received messages: message buffers, fragment blocks and
// reassembly state, counted as allocated. Share one by putting it in the
// Config of every Endpoint of the group; create it with NewBudget.
//
// Data beyond the head of a stream may use three quarters of the limit;
// the last quarter is kept for the message each Endpoint is reassembling
// with priority, so that messages blocking delivery can still complete
// when buffered data fills the rest. A chunk that does not fit is dropped
// and its packet left unacknowledged, so the peer resends it: the
// Endpoint never blocks and honest traffic resumes once memory is freed.
//
// A Budget is safe for concurrent use: its accounting is atomic, so
// Endpoints used from different goroutines may share one (a server's
// Endpoints all run on its tick thread, where the atomics are
// uncontended). An Endpoint returns its bytes when it delivers messages,
// when Close is called, or, if it is dropped without Close, when the
// garbage collector finds it unreachable; so that such bytes do not stay
// counted for long, a Budget that refuses data asks the runtime for a
// collection, at most once per BudgetGCInterval. All Endpoints sharing a
// Budget must be given times from the same clock.
type Budget struct {
	limit   int64
	used    atomic.Int64
	dropped atomic.Uint64
	gcNext  atomic.Int64 // earliest time for the next collection asked for
}

// NewBudget returns a Budget of limit bytes; limit ≤ 0 means
// DefaultBudgetBytes.
func NewBudget(limit int64) *Budget {
	if limit <= 0 {
		limit = DefaultBudgetBytes
	}
	b := &Budget{limit: limit}
	b.gcNext.Store(math.MinInt64)
	return b
}

// Limit returns the limit in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// Used returns the bytes the Endpoints sharing b hold now.
func (b *Budget) Used() int64 { return b.used.Load() }

// Dropped returns how many received chunks were dropped because b was
// exhausted.
func (b *Budget) Dropped() uint64 { return b.dropped.Load() }

// aheadLimit is the part of the limit open to data other than priority
// heads.
func (b *Budget) aheadLimit() int64 { return b.limit - b.limit/4 }

// take charges n bytes if they fit: within the whole limit for a priority
// head, within aheadLimit otherwise.
func (b *Budget) take(n int64, priority bool) bool {
	limit := b.limit
	if !priority {
		limit = b.aheadLimit()
	}
	for {
		u := b.used.Load()
		if u+n > limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// give returns n bytes.
func (b *Budget) give(n int64) { b.used.Add(-n) }

// refused counts a chunk dropped for want of budget at now, and asks for a
// garbage collection if none was asked for in the last BudgetGCInterval:
// Endpoints dropped without Close return their bytes only when collected.
func (b *Budget) refused(now int64) {
	b.dropped.Add(1)
	next := b.gcNext.Load()
	if now < next {
		return
	}
	if b.gcNext.CompareAndSwap(next, now+int64(BudgetGCInterval)) {
		go runtime.GC()
	}
}
