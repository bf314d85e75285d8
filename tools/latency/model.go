package main

// Targets of the ratios (see the package comment).
const (
	// budgetSlackUS is what the server may add beyond the network floor
	// (echo p99) and the box's own timer lateness (reference p99).
	budgetSlackUS = 250.0
	// avatarP50TargetUS bounds the avatars' median server-added latency.
	avatarP50TargetUS = 150.0
)

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

// ratioInputs are the figures the ratios are made of; nil = not measured.
type ratioInputs struct {
	EchoP50US      *float64 // UDP echo RTT p50
	EchoP99US      *float64 // UDP echo RTT p99
	RefP99US       *float64 // reference timerfd loop lateness p99
	TickP99US      *float64 // Arcade tick lateness p99
	HostProbeP99US *float64 // the server's in-process reference probe p99
	AvatarP50US    *float64 // server-added latency, avatars
	AvatarP99US    *float64
	HeldP99US      *float64 // server-added latency, held objects
	InputP50MS     *float64 // bot input_to_state p50
	InputP99MS     *float64 // bot input_to_state p99
	GrabP99MS      *float64 // bot grab_to_state p99
	WorstMS        *float64 // Lworst at the echo's p99
}

// Ratios are an Arcade run's figures set against this box's own limits.
// Differences are in µs; a *Within is nil when a figure is missing.
type Ratios struct {
	TickOverRef       *float64 `json:"tick_lateness_p99_over_reference_p99"`
	TickOverHostProbe *float64 `json:"tick_lateness_p99_over_host_probe_p99"`

	AvatarMinusEchoUS *float64 `json:"avatar_server_added_p99_minus_echo_p99_us"`
	HeldMinusEchoUS   *float64 `json:"held_server_added_p99_minus_echo_p99_us"`

	// BudgetUS = echo p99 + budgetSlackUS + reference p99; *OverBudgetUS
	// = server-added p99 − BudgetUS, negative within the target.
	BudgetUS           *float64 `json:"budget_us"`
	AvatarOverBudgetUS *float64 `json:"avatar_server_added_p99_minus_budget_us"`
	AvatarWithinBudget *bool    `json:"avatar_within_budget"`
	HeldOverBudgetUS   *float64 `json:"held_server_added_p99_minus_budget_us"`
	HeldWithinBudget   *bool    `json:"held_within_budget"`

	AvatarP50US     *float64 `json:"avatar_server_added_p50_us"`
	AvatarP50Within *bool    `json:"avatar_p50_within_target"`

	// AgreementUS = the bots' input_to_state p50 − (avatar server-added
	// p50 + echo p50): what the headsets measured end to end less what
	// the server says it added and the network's round trip; near 0
	// when the server's figure accounts for everything it does.
	AgreementUS *float64 `json:"input_to_state_p50_minus_server_added_p50_minus_echo_p50_us"`

	// The bots' end-to-end p99 against Lworst at the echo's p99.
	InputWithinModel *bool `json:"input_to_state_p99_within_l_worst"`
	GrabWithinModel  *bool `json:"grab_to_state_p99_within_l_worst"`
}

func ratios(in ratioInputs) Ratios {
	var r Ratios
	div := func(a, b *float64) *float64 {
		if a == nil || b == nil || *b <= 0 {
			return nil
		}
		return ptr(*a / *b)
	}
	sub := func(a, b *float64) *float64 {
		if a == nil || b == nil {
			return nil
		}
		return ptr(*a - *b)
	}
	atMost := func(a, b *float64) *bool {
		if a == nil || b == nil {
			return nil
		}
		return ptr(*a <= *b)
	}
	r.TickOverRef = div(in.TickP99US, in.RefP99US)
	r.TickOverHostProbe = div(in.TickP99US, in.HostProbeP99US)
	r.AvatarMinusEchoUS = sub(in.AvatarP99US, in.EchoP99US)
	r.HeldMinusEchoUS = sub(in.HeldP99US, in.EchoP99US)
	if in.EchoP99US != nil && in.RefP99US != nil {
		r.BudgetUS = ptr(*in.EchoP99US + budgetSlackUS + *in.RefP99US)
	}
	r.AvatarOverBudgetUS = sub(in.AvatarP99US, r.BudgetUS)
	r.AvatarWithinBudget = atMost(in.AvatarP99US, r.BudgetUS)
	r.HeldOverBudgetUS = sub(in.HeldP99US, r.BudgetUS)
	r.HeldWithinBudget = atMost(in.HeldP99US, r.BudgetUS)
	r.AvatarP50US = in.AvatarP50US
	r.AvatarP50Within = atMost(in.AvatarP50US, ptr(avatarP50TargetUS))
	if in.InputP50MS != nil && in.AvatarP50US != nil && in.EchoP50US != nil {
		r.AgreementUS = ptr(*in.InputP50MS*1e3 - *in.AvatarP50US - *in.EchoP50US)
	}
	r.InputWithinModel = atMost(in.InputP99MS, in.WorstMS)
	r.GrabWithinModel = atMost(in.GrabP99MS, in.WorstMS)
	return r
}

func ptr[T any](v T) *T { return &v }
