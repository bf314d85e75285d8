package main

import (
	"fmt"
	"io"
	"strings"
)

// Report is everything one run measured; --json writes it.
type Report struct {
	Started    string     `json:"started"`
	Kernel     string     `json:"kernel"`
	GoVersion  string     `json:"go_version"`
	Placement  Placement  `json:"placement"`
	RTThrottle RTThrottle `json:"rt_throttle"`
	TickRateHz int        `json:"tick_rate_hz"`
	DtMS       float64    `json:"dt_ms"`

	Echo      *EchoResult `json:"udp_echo"`
	Reference *LoopResult `json:"reference_timerfd_loop"`
	Ticker    *LoopResult `json:"time_ticker"`

	// The seed model at the echo's RTT p50 and p99.
	ModelP50 *Model `json:"model_at_echo_p50"`
	ModelP99 *Model `json:"model_at_echo_p99"`

	Targets struct {
		BudgetSlackUS float64 `json:"budget_slack_us"`
		AvatarP50US   float64 `json:"avatar_server_added_p50_us"`
	} `json:"targets"`

	Runs []*ArcadeRun `json:"arcade"`

	// Problems lists what could not be measured; any makes the exit
	// status 1.
	Problems []string `json:"problems"`
}

// figures derived from the box's own measurements, nil when missing.
func (r *Report) echoP99() *float64 {
	if r.Echo == nil || r.Echo.RTT.Samples == 0 {
		return nil
	}
	return ptr(r.Echo.RTT.P99)
}

func (r *Report) refP99() *float64 {
	if r.Reference == nil || r.Reference.Lateness.Samples == 0 {
		return nil
	}
	return ptr(r.Reference.Lateness.P99)
}

// fillRatios computes every run's ratios.
func (r *Report) fillRatios() {
	var worst *float64
	if r.ModelP99 != nil {
		worst = ptr(r.ModelP99.WorstMS)
	}
	for _, run := range r.Runs {
		in := ratioInputs{EchoP99US: r.echoP99(), RefP99US: r.refP99(), WorstMS: worst}
		if r.Echo != nil && r.Echo.RTT.Samples > 0 {
			in.EchoP50US = ptr(r.Echo.RTT.P50)
		}
		if s := run.Server; s != nil {
			in.TickP99US = s.TickLateness.p99()
			in.HostProbeP99US = s.HostTimerLateness.p99()
			if samples(s.ServerAddedSamples) {
				in.AvatarP50US, in.AvatarP99US = s.ServerAdded.p50(), s.ServerAdded.p99()
			}
			if samples(s.ServerAddedGrabSamples) {
				in.HeldP99US = s.ServerAddedGrab.p99()
			}
		}
		if b := run.Bot; b != nil {
			if samples(b.InputSamples) {
				in.InputP50MS, in.InputP99MS = b.InputToState.p50(), b.InputToState.p99()
			}
			if samples(b.GrabSamples) {
				in.GrabP99MS = b.GrabToState.p99()
			}
		}
		run.Ratios = ratios(in)
	}
}

func (q *Quant) p50() *float64 {
	if q == nil {
		return nil
	}
	return q.P50
}

func (q *Quant) p99() *float64 {
	if q == nil {
		return nil
	}
	return q.P99
}

func (q *Quant) max() *float64 {
	if q == nil {
		return nil
	}
	return q.Max
}

// num formats an optional figure; nil is "n/a".
func num(v *float64, format string) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf(format, *v)
}

func mark(ok *bool) string {
	switch {
	case ok == nil:
		return ""
	case *ok:
		return " ✓"
	default:
		return " ✗"
	}
}

const (
	labelW = 58
	colW   = 13
)

// printTable writes the human-readable report.
func printTable(w io.Writer, r *Report) {
	fmt.Fprintf(w, "Arcade latency on this box, %s; %s, %s\n", r.Started, r.Kernel, r.GoVersion)
	fmt.Fprintf(w, "placement: %s\n", r.Placement.describe())
	fmt.Fprintf(w, "tick %d Hz, Δt = %.3f ms. Every Arcade figure below is set against this box's own limits measured in this same run.\n\n", r.TickRateHz, r.DtMS)

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

	if len(r.Runs) == 0 {
		printProblems(w, r)
		return
	}
	fmt.Fprintf(w, "\n== Arcade: arcade-server --tick-rate %d --rt-priority %d, arcade-bot --rate %d --grab, by multicast on lo ==\n",
		r.TickRateHz, rtPriority, botRate)
	header := func() {
		fmt.Fprintf(w, "%-*s", labelW, "")
		for _, run := range r.Runs {
			fmt.Fprintf(w, " %*s", colW, run.label())
		}
		fmt.Fprintln(w)
	}
	row := func(label string, cell func(*ArcadeRun) string) {
		fmt.Fprintf(w, "%-*s", labelW, label)
		for _, run := range r.Runs {
			c := "-"
			if run.Server != nil || run.Bot != nil {
				c = cell(run)
			}
			fmt.Fprintf(w, " %*s", colW, c)
		}
		fmt.Fprintln(w)
	}
	srvQ := func(get func(*ServerStats) *Quant, pick func(*Quant) *float64, count func(*ServerStats) *float64) func(*ArcadeRun) string {
		return func(run *ArcadeRun) string {
			if run.Server == nil {
				return "n/a"
			}
			if count != nil && !samples(count(run.Server)) {
				return "no samples"
			}
			return num(pick(get(run.Server)), "%.1f")
		}
	}
	srvN := func(get func(*ServerStats) *float64, format string) func(*ArcadeRun) string {
		return func(run *ArcadeRun) string {
			if run.Server == nil {
				return "n/a"
			}
			return num(get(run.Server), format)
		}
	}
	botQ := func(get func(*BotStats) *Quant, pick func(*Quant) *float64, count func(*BotStats) *float64) func(*ArcadeRun) string {
		return func(run *ArcadeRun) string {
			if run.Bot == nil {
				return "n/a"
			}
			if !samples(count(run.Bot)) {
				return "no samples"
			}
			return num(pick(get(run.Bot)), "%.3f")
		}
	}
	p50, p99, mx := (*Quant).p50, (*Quant).p99, (*Quant).max
	tickL := func(s *ServerStats) *Quant { return s.TickLateness }
	host := func(s *ServerStats) *Quant { return s.HostTimerLateness }
	av := func(s *ServerStats) *Quant { return s.ServerAdded }
	avN := func(s *ServerStats) *float64 { return s.ServerAddedSamples }
	held := func(s *ServerStats) *Quant { return s.ServerAddedGrab }
	heldN := func(s *ServerStats) *float64 { return s.ServerAddedGrabSamples }
	rx := func(s *ServerStats) *Quant { return s.RxDelay }
	send := func(s *ServerStats) *Quant { return s.SendSyscall }
	in := func(b *BotStats) *Quant { return b.InputToState }
	inN := func(b *BotStats) *float64 { return b.InputSamples }
	grab := func(b *BotStats) *Quant { return b.GrabToState }
	grabN := func(b *BotStats) *float64 { return b.GrabSamples }
	rtt := func(b *BotStats) *Quant { return b.RTT }
	rttN := func(b *BotStats) *float64 { return nil }

	header()
	row("bots connected", func(run *ArcadeRun) string {
		if run.Bot == nil {
			return "n/a"
		}
		return num(run.Bot.ClientsConnected, "%.0f") + "/" + fmt.Sprint(run.Headsets)
	})
	row("bots holding an object", func(run *ArcadeRun) string {
		if run.Bot == nil {
			return "n/a"
		}
		return num(run.Bot.Grabbing, "%.0f")
	})
	row("bots' poses sent, % of headsets × 90 Hz × run", func(run *ArcadeRun) string { return num(run.inputsSentPct(), "%.1f") })
	row("all bots connected after (s)", func(run *ArcadeRun) string {
		if !run.AllConnected {
			return fmt.Sprintf("not %.2f", run.ConnectedAfterS)
		}
		return fmt.Sprintf("%.2f", run.ConnectedAfterS)
	})
	row("measured window (s)", func(run *ArcadeRun) string {
		if run.WindowEnd != "duration" && run.WindowEnd != "" {
			return fmt.Sprintf("%.2f (bots)", run.WindowS) // ended by the bots stopping
		}
		return fmt.Sprintf("%.2f", run.WindowS)
	})
	row("CPU steal over the window, /proc/stat (%)", func(run *ArcadeRun) string { return num(run.Steal.AllPct, "%.1f") })
	if r.Placement.Pinned {
		cpu := fmt.Sprintf("cpu%d", r.Placement.ServerCPU)
		row(fmt.Sprintf("  of which on the server's CPU %d (%%)", r.Placement.ServerCPU), func(run *ArcadeRun) string {
			return num(run.Steal.PerCPU[cpu], "%.1f")
		})
	}
	row("CPU steal, server's cpu_steal_pct (%)", srvN(func(s *ServerStats) *float64 { return s.CPUStealPct }, "%.1f"))
	row("ticks in the window", func(run *ArcadeRun) string { return num(run.Counters.Ticks, "%.0f") })
	row("missed ticks", func(run *ArcadeRun) string { return num(run.Counters.MissedTicks, "%.0f") })
	row("ticks late: host / arcade / unknown", func(run *ArcadeRun) string {
		return num(run.Counters.TicksLateHost, "%.0f") + "/" + num(run.Counters.TicksLateArcade, "%.0f") + "/" + num(run.Counters.TicksLateUnkn, "%.0f")
	})
	row("  late means later than (µs)", srvN(func(s *ServerStats) *float64 { return s.LateTickUS }, "%.0f"))
	row("longest stall: max(receive delay, tick lateness) (ms)", func(run *ArcadeRun) string { return num(run.longestStallMS(), "%.1f") })
	row("tick lateness p50 (µs)", srvQ(tickL, p50, nil))
	row("tick lateness p99 (µs)", srvQ(tickL, p99, nil))
	row("tick lateness max (µs)", srvQ(tickL, mx, nil))
	wake := func(s *ServerStats) *Quant { return s.TimerWakeLate }
	row("tick thread's timer wake lateness p99 (µs)", srvQ(wake, p99, nil))
	spin := func(s *ServerStats) *Quant { return s.TickSpin }
	row("tick spin to the deadline p50 (µs)", srvQ(spin, p50, nil))
	row("tick spin to the deadline p99 (µs)", srvQ(spin, p99, nil))
	row("server's host timer probe lateness p50 (µs)", srvQ(host, p50, nil))
	row("server's host timer probe lateness p99 (µs)", srvQ(host, p99, nil))
	row("server's host timer probe lateness max (µs)", srvQ(host, mx, nil))
	row("server-added, avatars p50 (µs)", srvQ(av, p50, avN))
	row("server-added, avatars p99 (µs)", srvQ(av, p99, avN))
	row("server-added, avatars max (µs)", srvQ(av, mx, avN))
	row("server-added, avatars samples (dropped)", func(run *ArcadeRun) string {
		if run.Server == nil {
			return "n/a"
		}
		return num(run.Server.ServerAddedSamples, "%.0f") + " (" + num(run.Server.SamplesDropped, "%.0f") + ")"
	})
	row("server-added, held objects p50 (µs)", srvQ(held, p50, heldN))
	row("server-added, held objects p99 (µs)", srvQ(held, p99, heldN))
	row("server-added, held objects max (µs)", srvQ(held, mx, heldN))
	row("server-added, held objects samples", srvN(heldN, "%.0f"))
	row("receive delay, kernel → read p50 (µs)", srvQ(rx, p50, nil))
	row("receive delay, kernel → read p99 (µs)", srvQ(rx, p99, nil))
	row("receive delay, kernel → read max (µs)", srvQ(rx, mx, nil))
	row("sendmmsg time p50 (µs) (on lo: + multicast fan-out)", srvQ(send, p50, nil))
	row("sendmmsg time p99 (µs) (on lo: + multicast fan-out)", srvQ(send, p99, nil))
	row("bot input_to_state p50 (ms)", botQ(in, p50, inN))
	row("bot input_to_state p99 (ms)", botQ(in, p99, inN))
	row("bot grab_to_state p50 (ms)", botQ(grab, p50, grabN))
	row("bot grab_to_state p99 (ms)", botQ(grab, p99, grabN))
	row("bot ping RTT p50 (ms)", botQ(rtt, p50, rttN))
	row("bot ping RTT p99 (ms)", botQ(rtt, p99, rttN))
	row("snapshot loss (%)", func(run *ArcadeRun) string {
		if run.Bot == nil {
			return "n/a"
		}
		return num(run.Bot.SnapshotLossPct, "%.2f")
	})

	fmt.Fprintf(w, "\n== Ratios against this box's limits (✓/✗ against the targets; the exit status ignores them) ==\n")
	fmt.Fprintf(w, "echo p99 = %s µs, reference loop p99 = %s µs, budget = echo p99 + %.0f µs + reference p99 = %s µs\n",
		num(r.echoP99(), "%.1f"), num(r.refP99(), "%.1f"), budgetSlackUS, num(budget(r), "%.1f"))
	fmt.Fprintln(w, "(the server spins up to its --tick-spin before each deadline, the reference loop does not: a tick ratio below 1 is the spin's doing)")
	header()
	row("tick lateness p99 ÷ reference loop p99", func(run *ArcadeRun) string { return num(run.Ratios.TickOverRef, "%.2f×") })
	row("tick lateness p99 ÷ server's host probe p99", func(run *ArcadeRun) string { return num(run.Ratios.TickOverHostProbe, "%.2f×") })
	row("avatars: server-added p99 − echo p99 (µs)", func(run *ArcadeRun) string { return num(run.Ratios.AvatarMinusEchoUS, "%+.1f") })
	row("held objects: server-added p99 − echo p99 (µs)", func(run *ArcadeRun) string { return num(run.Ratios.HeldMinusEchoUS, "%+.1f") })
	row("avatars: server-added p99 − budget (µs), target ≤ 0", func(run *ArcadeRun) string {
		return num(run.Ratios.AvatarOverBudgetUS, "%+.1f") + mark(run.Ratios.AvatarWithinBudget)
	})
	row("held objects: server-added p99 − budget (µs), target ≤ 0", func(run *ArcadeRun) string {
		return num(run.Ratios.HeldOverBudgetUS, "%+.1f") + mark(run.Ratios.HeldWithinBudget)
	})
	row(fmt.Sprintf("avatars: server-added p50 (µs), target ≤ %.0f", avatarP50TargetUS), func(run *ArcadeRun) string {
		return num(run.Ratios.AvatarP50US, "%.1f") + mark(run.Ratios.AvatarP50Within)
	})
	row("agreement: bot input→state p50 − (server-added p50 + echo p50) (µs)", func(run *ArcadeRun) string {
		return num(run.Ratios.AgreementUS, "%+.1f")
	})
	worst := "n/a"
	if r.ModelP99 != nil {
		worst = fmt.Sprintf("%.3f ms", r.ModelP99.WorstMS)
	}
	row("bot input_to_state p99 ≤ Lworst(echo p99) = "+worst, func(run *ArcadeRun) string { return within(run.Ratios.InputWithinModel) })
	row("bot grab_to_state p99 ≤ Lworst(echo p99) = "+worst, func(run *ArcadeRun) string { return within(run.Ratios.GrabWithinModel) })
	fmt.Fprintln(w, "n/a: not reported by this server or bot (a missing field is never read as 0); no samples: the histogram was empty.")
	for _, run := range r.Runs {
		if run.WindowEnd != "duration" && run.WindowEnd != "" {
			fmt.Fprintln(w, "(bots): the window ended when the bots stopped, before --duration.")
			break
		}
	}
	for _, run := range r.Runs {
		if run.Server != nil && len(run.Server.Unreadable) > 0 {
			fmt.Fprintf(w, "%s: /api/stats fields of an unexpected shape, read as n/a: %s\n", run.label(), strings.Join(run.Server.Unreadable, ", "))
		}
		if run.Bot != nil && len(run.Bot.Errors) > 0 {
			fmt.Fprintf(w, "%s: %d of %d bots ended early: %s\n", run.label(), len(run.Bot.Errors), run.Headsets, groupErrors(run.Bot.Errors))
		}
		if st := run.longestStallMS(); st != nil && r.RTThrottle.RuntimeUS > 0 && *st >= stallShare*float64(r.RTThrottle.RuntimeUS)/1e3 {
			fmt.Fprintf(w, "%s: a %.0f ms stall, close to the kernel's real-time budget (%d ms of every %d ms): consistent with the SCHED_FIFO tick thread running without sleeping until throttled",
				run.label(), *st, r.RTThrottle.RuntimeUS/1000, r.RTThrottle.PeriodUS/1000)
			if r.Placement.ServerPinned {
				fmt.Fprintf(w, "; every thread of the server shares CPU %d with it (--pin-server=false leaves them free)", r.Placement.ServerCPU)
			}
			fmt.Fprintln(w)
		}
	}
	printProblems(w, r)
}

// stallShare: a stall this share of the real-time budget or longer is
// pointed out.
const stallShare = 0.8

// groupErrors counts the bots' errors by text ("name: text" each).
func groupErrors(errs []string) string {
	count := map[string]int{}
	var order []string
	for _, e := range errs {
		_, text, ok := strings.Cut(e, ": ")
		if !ok {
			text = e
		}
		if count[text] == 0 {
			order = append(order, text)
		}
		count[text]++
	}
	parts := make([]string, len(order))
	for i, text := range order {
		parts[i] = fmt.Sprintf("%d × %s", count[text], text)
	}
	return strings.Join(parts, "; ")
}

func within(ok *bool) string {
	if ok == nil {
		return "n/a"
	}
	if *ok {
		return "yes ✓"
	}
	return "no ✗"
}

func budget(r *Report) *float64 {
	e, ref := r.echoP99(), r.refP99()
	if e == nil || ref == nil {
		return nil
	}
	return ptr(*e + budgetSlackUS + *ref)
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
