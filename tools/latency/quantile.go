package main

import (
	"math"
	"slices"
)

// quantile returns the nearest-rank q-quantile of sorted (ascending): the
// smallest sample such that at least a fraction q of the samples are at most
// it. q is clamped to [0, 1]; q = 0 gives the minimum. It returns 0 for no
// samples. The quantiles are exact: every sample is kept and sorted (a run
// holds at most a few hundred thousand), so no histogram bucket widens them.
func quantile(sorted []int64, q float64) int64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if !(q > 0) { // also NaN
		return sorted[0]
	}
	q = min(q, 1)
	// The epsilon keeps q·n from landing one rank too high when it is an
	// integer that floating point overshoots (0.999 × 1000 = 999.0000…01).
	rank := int(math.Ceil(q*float64(n) - 1e-9))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// Dist is a distribution of durations: exact nearest-rank quantiles, in
// microseconds in JSON.
type Dist struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50_us"`
	P99     float64 `json:"p99_us"`
	P999    float64 `json:"p99_9_us"`
	Max     float64 `json:"max_us"`
	Min     float64 `json:"min_us"`
	Mean    float64 `json:"mean_us"`
}

// summarize sorts ns (nanoseconds) in place and summarises it.
func summarize(ns []int64) Dist {
	d := Dist{Samples: len(ns)}
	if len(ns) == 0 {
		return d
	}
	slices.Sort(ns)
	var sum float64
	for _, v := range ns {
		sum += float64(v)
	}
	d.P50 = us(quantile(ns, 0.50))
	d.P99 = us(quantile(ns, 0.99))
	d.P999 = us(quantile(ns, 0.999))
	d.Max = us(ns[len(ns)-1])
	d.Min = us(ns[0])
	d.Mean = sum / float64(len(ns)) / 1e3
	return d
}

func us(ns int64) float64 { return float64(ns) / 1e3 }
