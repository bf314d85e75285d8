package reliable

// rttEstimator smooths RTT samples as RFC 6298 does, and tracks jitter as
// the mean deviation of consecutive samples (RFC 3550 style, gain 1/16).
type rttEstimator struct {
	has    bool
	srtt   int64 // ns
	rttvar int64
	latest int64
	jitter int64
}

func (r *rttEstimator) sample(s int64) {
	if s < 0 {
		s = 0
	}
	if !r.has {
		r.has = true
		r.srtt, r.rttvar, r.latest = s, s/2, s
		return
	}
	r.rttvar += (absDiff(r.srtt, s) - r.rttvar) / 4
	r.srtt += (s - r.srtt) / 8
	r.jitter += (absDiff(s, r.latest) - r.jitter) / 16
	r.latest = s
}

// smoothed returns SRTT and RTTVAR, or the initial guesses before any sample.
func (r *rttEstimator) smoothed() (srtt, rttvar int64) {
	if !r.has {
		return int64(InitialRTT), int64(InitialRTT) / 2
	}
	return r.srtt, r.rttvar
}

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}
