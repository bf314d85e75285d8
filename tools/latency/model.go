package main

// Model is the seed model for one round-trip time: a player sees an object
// they move at best Lbest = ⌈RTT/Δt⌉·Δt later and at worst Lworst = Lbest
// + Δt, if nothing on the server waits for a later tick.
type Model struct {
	RTTUS   float64 `json:"rtt_us"`
	DtMS    float64 `json:"dt_ms"`
	Ticks   int64   `json:"ceil_rtt_over_dt"`
	BestMS  float64 `json:"l_best_ms"`
	WorstMS float64 `json:"l_worst_ms"`
}

// seedModel evaluates the model for rttNs nanoseconds at rateHz ticks per
// second. ⌈RTT/Δt⌉ = ⌈RTT·rate/1e9⌉ is computed in integers, so an RTT of
// exactly k ticks gives k, not k+1. A negative RTT counts as 0.
func seedModel(rttNs int64, rateHz int) Model {
	rttNs = max(rttNs, 0)
	r := int64(rateHz)
	k := (rttNs*r + 1e9 - 1) / 1e9
	dt := 1e9 / float64(rateHz) // ns
	best := float64(k) * 1e9 / float64(rateHz)
	return Model{
		RTTUS:   float64(rttNs) / 1e3,
		DtMS:    dt / 1e6,
		Ticks:   k,
		BestMS:  best / 1e6,
		WorstMS: (best + dt) / 1e6,
	}
}
