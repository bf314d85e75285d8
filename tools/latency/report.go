package main

import (
	"fmt"
	"io"
)

// Report is everything one run measured; --json writes it.
type Report struct {
	Started    string    `json:"started"`
	Kernel     string    `json:"kernel"`
	GoVersion  string    `json:"go_version"`
	Placement  Placement `json:"placement"`
	TickRateHz int       `json:"tick_rate_hz"`
	DtMS       float64   `json:"dt_ms"`

	Echo      *EchoResult `json:"udp_echo"`
	Reference *LoopResult `json:"reference_timerfd_loop"`
	Ticker    *LoopResult `json:"time_ticker"`

	// The seed model at the echo's RTT p50 and p99.
	ModelP50 *Model `json:"model_at_echo_p50"`
	ModelP99 *Model `json:"model_at_echo_p99"`

	// Problems lists what could not be measured; any makes the exit
	// status 1.
	Problems []string `json:"problems"`
}

// num formats an optional figure; nil is "n/a".
func num(v *float64, format string) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf(format, *v)
}

// printTable writes the human-readable report.
func printTable(w io.Writer, r *Report) {
	fmt.Fprintf(w, "Latency limits of this box, %s; %s, %s\n", r.Started, r.Kernel, r.GoVersion)
	fmt.Fprintf(w, "placement: %s\n", r.Placement.describe())
	fmt.Fprintf(w, "tick %d Hz, Δt = %.3f ms\n\n", r.TickRateHz, r.DtMS)

	fmt.Fprintln(w, "== This box's own limits (loopback, this run) ==")
	fmt.Fprintf(w, "%-40s %8s %9s %9s %9s %9s %7s\n", "", "samples", "p50", "p99", "p99.9", "max", "steal")
	dist := func(name string, d Dist, st Steal) {
		fmt.Fprintf(w, "%-40s %8d %9.1f %9.1f %9.1f %9.1f %7s\n", name, d.Samples, d.P50, d.P99, d.P999, d.Max, num(st.AllPct, "%.1f%%"))
	}
	if e := r.Echo; e != nil {
		dist("UDP echo RTT (µs)", e.RTT, e.Steal)
	} else {
		fmt.Fprintf(w, "%-40s not measured\n", "UDP echo RTT (µs)")
	}
	if l := r.Reference; l != nil {
		dist("reference timerfd loop lateness (µs)", l.Lateness, l.Steal)
	} else {
		fmt.Fprintf(w, "%-40s not measured\n", "reference timerfd loop lateness (µs)")
	}
	if l := r.Ticker; l != nil {
		dist("time.Ticker lateness (µs)", l.Lateness, l.Steal)
	} else {
		fmt.Fprintf(w, "%-40s not measured\n", "time.Ticker lateness (µs)")
	}
	if e := r.Echo; e != nil {
		fmt.Fprintf(w, "  echo: %d × %d B at %d Hz, %d received, %d lost; echo thread %s; client thread %s\n",
			e.Sent, e.Payload, e.RateHz, e.Received, e.Lost, e.Server.describe(), e.Client.describe())
	}
	if l := r.Reference; l != nil && l.Thread != nil {
		fmt.Fprintf(w, "  reference: %s, %s, %d missed deadlines\n", l.Kind, l.Thread.describe(), l.Missed)
	}
	if l := r.Ticker; l != nil {
		fmt.Fprintf(w, "  ticker: %s, %d missed deadlines\n", l.Kind, l.Missed)
	}

	fmt.Fprintf(w, "\n== Seed model, Δt = %.3f ms: Lbest = ⌈RTT/Δt⌉·Δt, Lworst = Lbest + Δt ==\n", r.DtMS)
	for _, m := range []struct {
		name string
		m    *Model
	}{{"echo p50", r.ModelP50}, {"echo p99", r.ModelP99}} {
		if m.m == nil {
			fmt.Fprintf(w, "RTT = %s: n/a\n", m.name)
			continue
		}
		fmt.Fprintf(w, "RTT = %s = %.1f µs: ⌈RTT/Δt⌉ = %d, Lbest = %.3f ms, Lworst = %.3f ms\n",
			m.name, m.m.RTTUS, m.m.Ticks, m.m.BestMS, m.m.WorstMS)
	}

	printProblems(w, r)
}

func printProblems(w io.Writer, r *Report) {
	if len(r.Problems) == 0 {
		return
	}
	fmt.Fprintln(w, "\nnot measured:")
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  %s\n", p)
	}
}
