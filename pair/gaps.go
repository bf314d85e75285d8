package pair

import (
	"sync/atomic"
	"time"
)

// Gaps is the histogram of the silences between the active's authentic
// datagrams a standby heard while following: the measure a takeover
// silence is chosen by (docs/OPERATING.md). Buckets are GapBucket wide up
// to GapRange; the last counts every longer silence.
type Gaps struct {
	n   [gapBuckets + 1]atomic.Uint64
	max atomic.Int64 // ns
}

const (
	// GapBucket is the width of a bucket of Gaps.
	GapBucket = 250 * time.Microsecond
	// GapRange is the longest silence Gaps tells apart.
	GapRange   = 100 * time.Millisecond
	gapBuckets = int(GapRange / GapBucket)
)

// note counts a silence of d.
func (g *Gaps) note(d time.Duration) {
	g.n[min(max(int(d/GapBucket), 0), gapBuckets)].Add(1)
	if int64(d) > g.max.Load() {
		g.max.Store(int64(d))
	}
}

// Count is how many silences were counted.
func (g *Gaps) Count() uint64 {
	var n uint64
	for i := range g.n {
		n += g.n[i].Load()
	}
	return n
}

// Over is how many silences were of at least d (rounded down to a
// bucket's start).
func (g *Gaps) Over(d time.Duration) uint64 {
	var n uint64
	for i := min(max(int(d/GapBucket), 0), gapBuckets); i <= gapBuckets; i++ {
		n += g.n[i].Load()
	}
	return n
}

// Quantile is the silence a fraction q of them do not exceed (nearest
// rank, a bucket's upper end; the longest silence for the last bucket and
// whenever it is below that end); 0 with none counted.
func (g *Gaps) Quantile(q float64) time.Duration {
	total := g.Count()
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total) + 0.999999)
	rank = min(max(rank, 1), total)
	var n uint64
	for i := range g.n {
		if n += g.n[i].Load(); n >= rank {
			if i == gapBuckets {
				break
			}
			return min(time.Duration(i+1)*GapBucket, g.Max())
		}
	}
	return g.Max()
}

// Max is the longest silence counted.
func (g *Gaps) Max() time.Duration { return time.Duration(g.max.Load()) }
