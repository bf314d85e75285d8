package relay

import "math"

// LossBand returns the interval [lo, hi] that the number of losses among n
// independent frames, each lost with probability p, falls outside of with
// probability at most alpha (at most alpha/2 on each side), from the exact
// binomial distribution. Tests use it to bound an observed loss count.
func LossBand(n int, p, alpha float64) (lo, hi int) {
	if n <= 0 || p <= 0 {
		return 0, 0
	}
	if p >= 1 {
		return n, n
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	lgn, _ := math.Lgamma(float64(n) + 1)
	pmf := func(k int) float64 {
		a, _ := math.Lgamma(float64(k) + 1)
		b, _ := math.Lgamma(float64(n-k) + 1)
		return math.Exp(lgn - a - b + float64(k)*lp + float64(n-k)*lq)
	}
	cdf := 0.0
	lo, hi = -1, n
	for k := 0; k <= n; k++ {
		cdf += pmf(k)
		if lo < 0 && cdf > alpha/2 {
			lo = k
		}
		if cdf >= 1-alpha/2 {
			hi = k
			break
		}
	}
	return max(lo, 0), hi
}
