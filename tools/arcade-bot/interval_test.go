package main

import "testing"

// A bucket's upper bound is at or above every latency in it and within 2 %
// of it.
func TestHistBucket(t *testing.T) {
	for _, ns := range []int64{0, 500, 1000, 1001, 12345, 999_999, 8_333_333, 250_000_000} {
		b := histBucket(ns)
		up := HistBucketUpperMS(b) * 1e6
		if ns > 1000 && (up < float64(ns)*0.9999 || up > float64(ns)*histBase*1.0001) {
			t.Errorf("%d ns: bucket %d up to %.0f ns", ns, b, up)
		}
		if ns <= 1000 && b != 0 {
			t.Errorf("%d ns: bucket %d, want 0", ns, b)
		}
	}
}
