package reliable

// Buffer pool size classes, in bytes. Messages longer than the largest
// class get a buffer of their own, which is dropped after use.
var poolClasses = [...]int{64, 256, 1024, 4096}

// poolKeepBytes bounds the free buffers kept per size class (and poolKeep
// their number), so that a pool holds at most 4 × 16 KiB however many
// buffers a peer made it use at once.
const (
	poolKeep      = 256
	poolKeepBytes = 16 << 10
)

// bufPool recycles the message buffers of one Endpoint, so that small
// messages cost no allocation once it is warm.
type bufPool struct {
	free [len(poolClasses)][][]byte
}

// poolCap is the capacity of the buffer get(n) returns: the memory it
// holds.
func poolCap(n int) int {
	for _, size := range poolClasses {
		if n <= size {
			return size
		}
	}
	return n
}

// get returns a buffer of length n.
func (p *bufPool) get(n int) []byte {
	for c, size := range poolClasses {
		if n <= size {
			if k := len(p.free[c]); k > 0 {
				b := p.free[c][k-1]
				p.free[c][k-1] = nil
				p.free[c] = p.free[c][:k-1]
				return b[:n]
			}
			return make([]byte, n, size)
		}
	}
	return make([]byte, n)
}

// put returns b to the pool if it came from a size class and the class
// keeps fewer than its share.
func (p *bufPool) put(b []byte) {
	for c, size := range poolClasses {
		if cap(b) == size {
			if len(p.free[c]) < min(poolKeep, poolKeepBytes/size) {
				p.free[c] = append(p.free[c], b[:0])
			}
			return
		}
	}
}
