// Package metrics provides lock-free histograms and counters for hot-path instrumentation.
package metrics

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// Bucket layout.
//
// Values below linearMax are counted exactly, one bucket per value. Above
// that, every power of two [2^e, 2^(e+1)) is split into subBuckets equal
// sub-buckets, so a bucket is never wider than 1/subBuckets of the values it
// holds: the relative error of any reported value is below 1/64 ≈ 1.56%.
// The layout covers the whole non-negative int64 range.
const (
	subBits    = 6
	subBuckets = 1 << subBits // sub-buckets per power of two
	linearMax  = subBuckets   // values in [0, linearMax) get a bucket each

	// numBuckets is the linear range plus one group of subBuckets for each
	// exponent subBits..62.
	numBuckets = linearMax + (63-subBits)*subBuckets
)

// bucketOf returns the index of the bucket that counts v (v >= 0).
func bucketOf(v int64) int {
	u := uint64(v)
	if u < linearMax {
		return int(u)
	}
	e := bits.Len64(u) - 1 // 2^e <= u < 2^(e+1), e >= subBits
	shift := e - subBits
	sub := int(u>>shift) & (subBuckets - 1)
	return linearMax + shift*subBuckets + sub
}

// bucketBounds returns the smallest and largest value counted by bucket i.
func bucketBounds(i int) (lo, hi int64) {
	if i < linearMax {
		return int64(i), int64(i)
	}
	shift := (i - linearMax) / subBuckets
	sub := (i - linearMax) % subBuckets
	lo = int64(subBuckets+sub) << shift
	return lo, lo + (int64(1) << shift) - 1
}

// Histogram records non-negative int64 values (typically nanoseconds) into
// fixed log-linear buckets with a relative error below 1.6%.
//
// The zero value is an empty histogram ready for use. Record uses atomic
// operations only: it never allocates, never blocks and may be called from
// any number of goroutines while others read Count, Max, Sum, Quantile or
// Summary. A Histogram must not be copied after first use.
type Histogram struct {
	count   atomic.Uint64
	sum     atomic.Int64
	max     atomic.Int64
	buckets [numBuckets]atomic.Uint64
}

// Record adds one observation of v. Negative values are recorded as 0.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	// Max is raised before the bucket is counted, so a reader that sees the
	// bucket also sees a Max at least as large as v.
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
	h.buckets[bucketOf(v)].Add(1)
	h.sum.Add(v)
	h.count.Add(1)
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.count.Load() }

// Max returns the largest recorded value, or 0 if none was recorded.
func (h *Histogram) Max() int64 { return h.max.Load() }

// Sum returns the sum of all recorded values. It wraps around on overflow,
// which takes more than 292 years' worth of nanoseconds.
func (h *Histogram) Sum() int64 { return h.sum.Load() }

// Mean returns Sum()/Count(), or 0 if the histogram is empty.
func (h *Histogram) Mean() float64 {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	return float64(h.sum.Load()) / float64(n)
}

// Quantile returns a value v such that a fraction q of the recorded values is
// at most v, to within the bucket resolution. q is clamped to [0, 1]. The
// result is the upper bound of the bucket holding the value of rank
// ceil(q·count) (the nearest-rank quantile), clipped to Max. It returns 0 if
// the histogram is empty.
//
// Quantile may run concurrently with Record; it then reflects some of the
// concurrent records and not others.
func (h *Histogram) Quantile(q float64) int64 {
	var v [1]int64
	h.Quantiles(v[:], q)
	return v[0]
}

// Quantiles fills v[i] with Quantile(qs[i]) for each of qs, in ascending
// order, in one pass over the buckets that stops at the last rank wanted:
// a reader of several quantiles pays for one. v and qs have the same
// length; qs must be ascending.
func (h *Histogram) Quantiles(v []int64, qs ...float64) {
	// Record counts the bucket before Count, so the buckets read after
	// Count hold at least that many: every rank below is reached.
	total := h.count.Load()
	for i := range v {
		v[i] = 0
	}
	if total == 0 {
		return
	}
	var ranks [8]uint64
	n := min(len(qs), len(v), len(ranks))
	for k, q := range qs[:n] {
		switch {
		case !(q > 0): // also NaN
			q = 0
		case q > 1:
			q = 1
		}
		rank := uint64(q * float64(total))
		if float64(rank) < q*float64(total) {
			rank++ // ceil
		}
		ranks[k] = min(max(rank, 1), total)
	}
	maxv := h.max.Load()
	var seen uint64
	k := 0
	for i := range h.buckets {
		c := h.buckets[i].Load()
		if c == 0 {
			continue
		}
		seen += c
		for k < n && seen >= ranks[k] {
			_, hi := bucketBounds(i)
			v[k] = min(hi, maxv)
			k++
		}
		if k == n {
			return
		}
	}
	// Only after a Reset racing with Record: the rest are at the top.
	for ; k < n; k++ {
		v[k] = maxv
	}
}

// Reset empties the histogram. It is not atomic with respect to concurrent
// calls to Record: values recorded while Reset runs may be partly kept (for
// example counted in a bucket but not in Count). Callers that need an exact
// reset must stop recording first.
func (h *Histogram) Reset() {
	h.count.Store(0)
	h.sum.Store(0)
	h.max.Store(0)
	for i := range h.buckets {
		h.buckets[i].Store(0)
	}
}

// Summary is a compact view of a Histogram, shaped for JSON.
type Summary struct {
	P50   int64   `json:"p50"`
	P99   int64   `json:"p99"`
	Max   int64   `json:"max"`
	Mean  float64 `json:"mean"`
	Count uint64  `json:"count"`
}

// Summary returns the median, 99th percentile, maximum, mean and count.
func (h *Histogram) Summary() Summary {
	return Summary{
		P50:   h.Quantile(0.50),
		P99:   h.Quantile(0.99),
		Max:   h.Max(),
		Mean:  h.Mean(),
		Count: h.Count(),
	}
}

// NumBuckets is how many buckets a Histogram has (Counts, QuantileOf).
const NumBuckets = numBuckets

// Counts copies the bucket counts into c: two copies taken apart in time,
// subtracted, are the histogram of what was recorded in between
// (QuantileOf).
func (h *Histogram) Counts(c *[NumBuckets]uint64) {
	for i := range h.buckets {
		c[i] = h.buckets[i].Load()
	}
}

// QuantileOf returns the q quantile of the values counted in c (as
// Quantile does, but not clipped to a maximum), and false when c is empty.
func QuantileOf(c *[NumBuckets]uint64, q float64) (int64, bool) {
	var total uint64
	for _, n := range c {
		total += n
	}
	if total == 0 {
		return 0, false
	}
	q = min(max(q, 0), 1)
	rank := max(uint64(math.Ceil(q*float64(total))), 1)
	var seen uint64
	for i, n := range c {
		if seen += n; n > 0 && seen >= rank {
			_, hi := bucketBounds(i)
			return hi, true
		}
	}
	_, hi := bucketBounds(numBuckets - 1)
	return hi, true
}

// Cumulative fills cum[k] with how many recorded values are at most
// bounds[k] (ascending), for exporting the histogram with coarser,
// cumulative buckets (a Prometheus histogram). A bucket of h is counted
// under the first bound at or above its upper end, so a value may be
// counted one bound late by at most the bucket's width (under 1.6 % of
// it), never early. It returns the count of all values in the buckets
// read, which is at least cum's last entry, and the sum of all values.
func (h *Histogram) Cumulative(bounds []int64, cum []uint64) (count uint64, sum int64) {
	sum = h.sum.Load()
	for k := range cum {
		cum[k] = 0
	}
	k := 0
	for i := range h.buckets {
		c := h.buckets[i].Load()
		if c == 0 {
			continue
		}
		_, hi := bucketBounds(i)
		for k < len(bounds) && k < len(cum) && hi > bounds[k] {
			cum[k] = count
			k++
		}
		count += c
	}
	for ; k < len(bounds) && k < len(cum); k++ {
		cum[k] = count
	}
	return count, sum
}
