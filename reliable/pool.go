package reliable

// Buffer pool size classes, in bytes, and the buffers kept per class.
// Messages longer than the largest class get a buffer of their own, which
// is dropped after use.
var poolClasses = [...]int{64, 256, 1024, 4096}

const poolKeep = 256

// bufPool recycles the message buffers of one Endpoint, so that small
// messages cost no allocation once it is warm.
type bufPool struct {
	free [len(poolClasses)][][]byte
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

// put returns b to the pool if it came from a size class.
func (p *bufPool) put(b []byte) {
	for c, size := range poolClasses {
		if cap(b) == size {
			if len(p.free[c]) < poolKeep {
				p.free[c] = append(p.free[c], b[:0])
			}
			return
		}
	}
}
