package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// maxRelErr is the largest relative error of a reported value: one bucket
// width over the smallest value in the bucket.
const maxRelErr = 1.0 / subBuckets

func TestBucketLayout(t *testing.T) {
	if got := bucketOf(math.MaxInt64); got != numBuckets-1 {
		t.Fatalf("bucketOf(MaxInt64) = %d, want last bucket %d", got, numBuckets-1)
	}
	prevHi := int64(-1)
	for i := range numBuckets {
		lo, hi := bucketBounds(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, lo, prevHi)
		}
		if hi < lo {
			t.Fatalf("bucket %d: hi %d < lo %d", i, hi, lo)
		}
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d [%d, %d]: bucketOf(lo)=%d bucketOf(hi)=%d", i, lo, hi, bucketOf(lo), bucketOf(hi))
		}
		if w := float64(hi - lo); w > maxRelErr*float64(lo) {
			t.Fatalf("bucket %d [%d, %d] wider than %.4f of its lower bound", i, lo, hi, maxRelErr)
		}
		prevHi = hi
	}
	if prevHi != math.MaxInt64 {
		t.Fatalf("last bucket ends at %d, want MaxInt64", prevHi)
	}
}

func TestEmpty(t *testing.T) {
	var h Histogram
	if h.Count() != 0 || h.Max() != 0 || h.Sum() != 0 || h.Quantile(0.5) != 0 || h.Mean() != 0 {
		t.Fatalf("zero Histogram not empty: %+v", h.Summary())
	}
	if s := h.Summary(); s != (Summary{}) {
		t.Fatalf("Summary of empty histogram = %+v", s)
	}
}

func TestRecordBasics(t *testing.T) {
	var h Histogram
	for _, v := range []int64{5, -7, 1000, 3} {
		h.Record(v)
	}
	if h.Count() != 4 {
		t.Errorf("Count = %d, want 4", h.Count())
	}
	if h.Sum() != 1008 {
		t.Errorf("Sum = %d, want 1008 (negative counts as 0)", h.Sum())
	}
	if h.Max() != 1000 {
		t.Errorf("Max = %d, want 1000", h.Max())
	}
	if h.Mean() != 252 {
		t.Errorf("Mean = %v, want 252", h.Mean())
	}
	if got := h.Quantile(0); got != 0 {
		t.Errorf("Quantile(0) = %d, want 0 (the recorded negative)", got)
	}
	if got := h.Quantile(1); got != 1000 {
		t.Errorf("Quantile(1) = %d, want 1000 (clipped to Max)", got)
	}
	if got := h.Quantile(0.5); got != 3 {
		t.Errorf("Quantile(0.5) = %d, want 3", got)
	}
	if got, want := h.Quantile(0.75), int64(5); got != want {
		t.Errorf("Quantile(0.75) = %d, want %d", got, want)
	}
	if got := h.Quantile(math.NaN()); got != 0 {
		t.Errorf("Quantile(NaN) = %d, want Quantile(0) = 0", got)
	}
	if got := h.Quantile(7); got != 1000 {
		t.Errorf("Quantile(7) = %d, want Quantile(1) = 1000", got)
	}

	h.Reset()
	if s := h.Summary(); s != (Summary{}) {
		t.Fatalf("Summary after Reset = %+v", s)
	}
}

// exactQuantile is the nearest-rank quantile of sorted values.
func exactQuantile(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func TestQuantileAgainstSorted(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gens := map[string]func() int64{
		"small":      func() int64 { return r.Int64N(200) },
		"uniform":    func() int64 { return r.Int64N(10_000_000) },
		"log":        func() int64 { return int64(math.Exp2(r.Float64() * 40)) },
		"huge":       func() int64 { return r.Int64N(math.MaxInt64) },
		"latencyish": func() int64 { return 50_000 + int64(r.ExpFloat64()*200_000) },
	}
	qs := []float64{0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1}
	for name, gen := range gens {
		t.Run(name, func(t *testing.T) {
			var h Histogram
			vals := make([]int64, 20000)
			for i := range vals {
				vals[i] = gen()
				h.Record(vals[i])
			}
			slices.Sort(vals)
			for _, q := range qs {
				want := exactQuantile(vals, q)
				got := h.Quantile(q)
				if got < want || float64(got-want) > maxRelErr*float64(want) {
					t.Errorf("Quantile(%v) = %d, exact %d: outside [exact, exact·(1+%.4f)]", q, got, want, maxRelErr)
				}
			}
			if h.Max() != vals[len(vals)-1] {
				t.Errorf("Max = %d, want %d", h.Max(), vals[len(vals)-1])
			}
		})
	}
}

func TestConcurrentRecordAndRead(t *testing.T) {
	const writers, perWriter = 4, 20000
	var h Histogram
	var wg sync.WaitGroup
	done := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-done:
				return
			default:
			}
			s := h.Summary()
			if s.P50 > s.Max || s.P99 > s.Max {
				t.Errorf("inconsistent concurrent summary: %+v", s)
				return
			}
		}
	}()
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				h.Record(int64(w*perWriter + i))
			}
		})
	}
	wg.Wait()
	close(done)
	<-readerDone

	const n = writers * perWriter
	if h.Count() != n {
		t.Fatalf("Count = %d, want %d", h.Count(), n)
	}
	if want := int64(n) * (n - 1) / 2; h.Sum() != want {
		t.Fatalf("Sum = %d, want %d", h.Sum(), want)
	}
	if h.Max() != n-1 {
		t.Fatalf("Max = %d, want %d", h.Max(), n-1)
	}
}

func TestRecordAllocs(t *testing.T) {
	var h Histogram
	v := int64(0)
	if a := testing.AllocsPerRun(1000, func() { v += 12345; h.Record(v) }); a != 0 {
		t.Fatalf("Record allocates %v times per call", a)
	}
}

func TestCounter(t *testing.T) {
	var c Counter
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				c.Inc()
			}
			c.Add(10)
		})
	}
	wg.Wait()
	if c.Load() != 4*1010 {
		t.Fatalf("Load = %d, want %d", c.Load(), 4*1010)
	}
}

func BenchmarkRecord(b *testing.B) {
	var h Histogram
	v := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		v += 7919
		h.Record(v & (1<<30 - 1))
	}
}

func BenchmarkRecordParallel(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		v := int64(0)
		for pb.Next() {
			v += 7919
			h.Record(v & (1<<30 - 1))
		}
	})
}

func BenchmarkQuantile(b *testing.B) {
	var h Histogram
	for i := range int64(100000) {
		h.Record(i * 1000)
	}
	b.ReportAllocs()
	for b.Loop() {
		h.Quantile(0.99)
	}
}

// BenchmarkQuantiles: p50 and p99 read together, against two Quantile
// calls, on a histogram of tick-like lateness (µs to ms, in ns).
func BenchmarkQuantiles(b *testing.B) {
	var h Histogram
	for i := range 10000 {
		h.Record(int64(1000 + i*i%3_000_000))
	}
	b.Run("two-calls", func(b *testing.B) {
		for b.Loop() {
			_, _ = h.Quantile(0.5), h.Quantile(0.99)
		}
	})
	b.Run("one-pass", func(b *testing.B) {
		var v [2]int64
		for b.Loop() {
			h.Quantiles(v[:], 0.5, 0.99)
		}
	})
}

// TestQuantilesMatch: Quantiles gives what Quantile gives for each.
func TestQuantilesMatch(t *testing.T) {
	var h Histogram
	for i := range 5000 {
		h.Record(int64(i * 7919 % 100_000))
	}
	qs := []float64{0, 0.1, 0.5, 0.9, 0.99, 0.999, 1}
	v := make([]int64, len(qs))
	h.Quantiles(v, qs...)
	for i, q := range qs {
		if v[i] != h.Quantile(q) {
			t.Errorf("q %v: %d, Quantile %d", q, v[i], h.Quantile(q))
		}
	}
}

// TestQuantileOfWindow: counts taken apart in time and subtracted give the
// quantiles of what was recorded in between only.
func TestQuantileOfWindow(t *testing.T) {
	var h Histogram
	for range 1000 {
		h.Record(1_000_000) // 1 ms, before the window
	}
	var before, after [NumBuckets]uint64
	h.Counts(&before)
	for range 100 {
		h.Record(50_000) // 50 µs, in it
	}
	h.Counts(&after)
	for i := range after {
		after[i] -= before[i]
	}
	if v, ok := QuantileOf(&after, 0.99); !ok || v < 50_000 || v > 51_000 {
		t.Errorf("window p99 %d (%v), want about 50 µs", v, ok)
	}
	if h.Quantile(0.5) < 900_000 {
		t.Errorf("lifetime median %d, want about 1 ms", h.Quantile(0.5))
	}
	var empty [NumBuckets]uint64
	if _, ok := QuantileOf(&empty, 0.5); ok {
		t.Error("an empty window has a quantile")
	}
}

// TestCumulative: coarse cumulative buckets count every value at or below
// their bound, never one above it, and are exact at bucket edges.
func TestCumulative(t *testing.T) {
	var h Histogram
	for _, v := range []int64{0, 5, 63, 64, 1000, 1000, 99_999, 1 << 40} {
		h.Record(v)
	}
	// Bounds at bucket edges (the linear range, 2^k−1): exact.
	bounds := []int64{0, 63, 64, 1023, 131_071, 1<<50 - 1}
	cum := make([]uint64, len(bounds))
	count, sum := h.Cumulative(bounds, cum)
	want := []uint64{1, 3, 4, 6, 7, 8}
	for k := range want {
		if cum[k] != want[k] {
			t.Errorf("≤ %d: %d, want %d", bounds[k], cum[k], want[k])
		}
	}
	if count != 8 || sum != h.Sum() {
		t.Errorf("count %d sum %d, want 8 and %d", count, sum, h.Sum())
	}
	// Against a slow reference over random values: never counted early,
	// late by at most a bucket's width.
	var g Histogram
	var vals []int64
	x := uint64(1)
	for range 5000 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		v := int64(x % 50_000_000)
		vals = append(vals, v)
		g.Record(v)
	}
	bounds = []int64{10_000, 25_000, 100_000, 1_000_000, 10_000_000, 40_000_000}
	cum = cum[:len(bounds)]
	g.Cumulative(bounds, cum)
	for k, b := range bounds {
		var atMost, belowLow uint64
		for _, v := range vals {
			if v <= b {
				atMost++
			}
			if float64(v) <= float64(b)*(1-1.0/64) {
				belowLow++
			}
		}
		if cum[k] > atMost || cum[k] < belowLow {
			t.Errorf("≤ %d: %d, want in [%d, %d]", b, cum[k], belowLow, atMost)
		}
	}
}
