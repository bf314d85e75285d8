package relay

// pending is a frame waiting in the relay: its release time, a sequence
// number that keeps frames with equal release times in arrival order, and
// the buffer slot holding it.
type pending struct {
	at   int64
	seq  uint64
	slot int32
}

func (a pending) before(b pending) bool {
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

// releaseHeap is a binary min-heap of pending frames ordered by (at, seq).
// Its storage is allocated once by newReleaseHeap; push beyond capacity
// panics, which the relay prevents by holding no more frames than slots.
type releaseHeap struct {
	h []pending
}

func newReleaseHeap(capacity int) releaseHeap {
	return releaseHeap{h: make([]pending, 0, capacity)}
}

func (q *releaseHeap) Len() int { return len(q.h) }

// min returns the earliest frame; the heap must not be empty.
func (q *releaseHeap) min() pending { return q.h[0] }

func (q *releaseHeap) push(p pending) {
	if len(q.h) == cap(q.h) {
		panic("relay: release heap full")
	}
	q.h = append(q.h, p)
	i := len(q.h) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !q.h[i].before(q.h[parent]) {
			break
		}
		q.h[i], q.h[parent] = q.h[parent], q.h[i]
		i = parent
	}
}

// pop removes and returns the earliest frame; the heap must not be empty.
func (q *releaseHeap) pop() pending {
	top := q.h[0]
	n := len(q.h) - 1
	q.h[0] = q.h[n]
	q.h = q.h[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && q.h[l].before(q.h[m]) {
			m = l
		}
		if r < n && q.h[r].before(q.h[m]) {
			m = r
		}
		if m == i {
			return top
		}
		q.h[i], q.h[m] = q.h[m], q.h[i]
		i = m
	}
}
