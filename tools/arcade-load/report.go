package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// Report is a whole ramp.
type Report struct {
	Started         string    `json:"started"`
	CPUs            int       `json:"cpus"`
	TickRate        int       `json:"tick_rate"`
	Rate            int       `json:"pose_rate_hz"`
	Generator       string    `json:"generator"`                // gen (in process) or bots
	PerProc         int       `json:"headsets_per_bot_process"` // 0 with gen
	Nice            int       `json:"bot_nice"`
	SettleS         float64   `json:"settle_s"`
	HoldS           float64   `json:"hold_s"`
	SourceAddresses string    `json:"source_addresses"`
	ServerArgv      []string  `json:"server_argv"`
	Placement       placement `json:"placement"`
	Steps           []Step    `json:"steps"`
	Knee            *Knee     `json:"knee"` // nil: nothing saturated
	Stopped         string    `json:"stopped"`
}

// Knee is the first step at which a resource saturated.
type Knee struct {
	Step      int      `json:"step"`
	Headsets  int      `json:"headsets"`
	Saturated []string `json:"saturated"`
	// GeneratorLimited: see Step.
	GeneratorLimited string `json:"generator_limited,omitempty"`
}

// Saturation thresholds; see the command doc.
const (
	cpuLimitPct  = 90
	lossLimitPct = 0.1
)

// judge fills s.Saturated and s.GeneratorLimited.
func judge(s *Step, tickRate int) {
	s.Saturated = nil
	s.GeneratorLimited = ""
	if s.InputsSentPct != nil && *s.InputsSentPct < 95 {
		s.GeneratorLimited = fmt.Sprintf("the headsets sent %.1f%% of their inputs", *s.InputsSentPct)
	}
	if s.ServerCPUPct != nil && *s.ServerCPUPct >= cpuLimitPct {
		s.Saturated = append(s.Saturated, fmt.Sprintf("server CPU %.0f%% ≥ %d%% of a core", *s.ServerCPUPct, cpuLimitPct))
	}
	// Missed ticks count against Arcade when the late tick that skipped
	// them was Arcade's (its tick thread busy while the reference timer
	// was on time), as the server counts them; from a server that does
	// not, when the window's late ticks were mostly Arcade's.
	if s.MissedTicksArcade != nil {
		if *s.MissedTicksArcade > 0 {
			s.Saturated = append(s.Saturated, fmt.Sprintf("%.0f ticks missed through Arcade (%s through the wake, %s through the host)", *s.MissedTicksArcade, fmtp(s.MissedTicksWake, 0), fmtp(s.MissedTicksHost, 0)))
		}
	} else if s.MissedTicks != nil && *s.MissedTicks > 0 && s.TicksLateArcade != nil && *s.TicksLateArcade > 0 &&
		(s.TicksLateHost == nil || *s.TicksLateArcade >= *s.TicksLateHost) {
		s.Saturated = append(s.Saturated, fmt.Sprintf("%.0f ticks missed, late ticks Arcade's (%.0f Arcade, %s host)", *s.MissedTicks, *s.TicksLateArcade, fmtp(s.TicksLateHost, 0)))
	}
	// UDP drops: the server's sockets' and the generator's. The host's
	// counters take every process's sockets (other work on a shared box
	// too): they count only when the sockets' own could not be read.
	var drops []string
	counted := []struct {
		v    *float64
		name string
	}{{s.ServerSockDrops, "server sockets"}, {s.GenSockDrops, "generator sockets"}}
	if s.ServerSockDrops == nil || s.GenSockDrops == nil {
		counted = append(counted, []struct {
			v    *float64
			name string
		}{{s.UDPRcvbufErrors, "host RcvbufErrors"}, {s.UDPInErrors, "host InErrors"}}...)
	}
	for _, d := range counted {
		if d.v != nil && *d.v > 0 {
			drops = append(drops, fmt.Sprintf("%s %.0f", d.name, *d.v))
		}
	}
	if len(drops) > 0 {
		s.Saturated = append(s.Saturated, "UDP drops ("+strings.Join(drops, ", ")+")")
	}
	if s.SnapshotLoss != nil && *s.SnapshotLoss >= lossLimitPct {
		s.Saturated = append(s.Saturated, fmt.Sprintf("snapshot loss %.2f%% ≥ %.1f%%", *s.SnapshotLoss, lossLimitPct))
	}
	if lim := i2sLimitMS(s, tickRate); s.InputToState != nil && lim != nil && s.InputToState.P99 > *lim {
		s.Saturated = append(s.Saturated, fmt.Sprintf("input→state p99 %.2f ms > one tick + host lateness p99 (%.2f ms)", s.InputToState.P99, *lim))
	}
}

// i2sLimitMS is one tick plus the host's timer lateness p99, ms.
func i2sLimitMS(s *Step, tickRate int) *float64 {
	if tickRate <= 0 {
		return nil
	}
	lim := 1e3 / float64(tickRate)
	if s.HostLatenessUS != nil {
		lim += s.HostLatenessUS.P99 / 1e3
	}
	return &lim
}

func finish(r *Report) *Report {
	r.Knee = nil
	for i := range r.Steps {
		judge(&r.Steps[i], r.TickRate)
		if r.Knee == nil && len(r.Steps[i].Saturated) > 0 {
			r.Knee = &Knee{Step: i, Headsets: r.Steps[i].Headsets, Saturated: r.Steps[i].Saturated, GeneratorLimited: r.Steps[i].GeneratorLimited}
		}
	}
	return r
}

func writeJSON(path string, r *Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func fmtp(p *float64, prec int) string {
	if p == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.*f", prec, *p)
}

func printTable(w io.Writer, r *Report) {
	gen := fmt.Sprintf("≤ %d per arcade-bot process at nice %d", r.PerProc, r.Nice)
	if r.Generator == genInProcess {
		gen = fmt.Sprintf("simulated in this process (package gen) at nice %d", r.Nice)
	}
	fmt.Fprintf(w, "arcade-load: %d CPUs, %s; server tick %d Hz, headsets at %d Hz, %s, settle %gs, window %gs; headsets from %s\n",
		r.CPUs, r.Placement, r.TickRate, r.Rate, gen, r.SettleS, r.HoldS, r.SourceAddresses)
	hdr := []string{"headsets", "conn", "procs", "srvCPU%", "usr%", "sys%", "RSS MB", "gor",
		"tick p50/p99 µs", "input p99", "grab p99", "phys p99", "bcast p99", "missed", "missed A/W/H", "late A/H",
		"drops S/G/H", "rx pps", "tx pps", "lo KB/s", "i2s p50/p99 ms", "loss%", "sent%", "gen CPU%"}
	rows := [][]string{hdr}
	stage := func(s Step, k string) string {
		if q, ok := s.StageUS[k]; ok {
			return fmt.Sprintf("%.0f", q.P99)
		}
		return "n/a"
	}
	for _, s := range r.Steps {
		tick := "n/a"
		if s.TickUS != nil {
			tick = fmt.Sprintf("%.0f/%.0f", s.TickUS.P50, s.TickUS.P99)
		}
		i2s := "n/a"
		if s.InputToState != nil {
			i2s = fmt.Sprintf("%.3f/%.3f", s.InputToState.P50, s.InputToState.P99)
		}
		host := 0.0
		for _, v := range []*float64{s.UDPRcvbufErrors, s.UDPInErrors} {
			if v != nil {
				host = math.Max(host, *v)
			}
		}
		drops := fmtp(s.ServerSockDrops, 0) + "/" + fmtp(s.GenSockDrops, 0) + "/" + fmt.Sprintf("%.0f", host)
		lo := "n/a"
		if s.LoBytesPS != nil {
			lo = fmt.Sprintf("%.0f", *s.LoBytesPS/1e3)
		}
		mark := ""
		if r.Knee != nil && r.Steps[r.Knee.Step].Headsets == s.Headsets {
			mark = " ◀ knee"
		}
		rows = append(rows, []string{fmt.Sprint(s.Headsets), fmt.Sprint(s.Connected), fmt.Sprint(s.BotProcs),
			fmtp(s.ServerCPUPct, 1), fmtp(s.ServerUserPct, 1), fmtp(s.ServerSysPct, 1), fmtp(s.ServerRSSMB, 1), fmtp(s.Goroutines, 0),
			tick, stage(s, "input"), stage(s, "grab"), stage(s, "physics"), stage(s, "broadcast"),
			fmtp(s.MissedTicks, 0), fmtp(s.MissedTicksArcade, 0) + "/" + fmtp(s.MissedTicksWake, 0) + "/" + fmtp(s.MissedTicksHost, 0),
			fmtp(s.TicksLateArcade, 0) + "/" + fmtp(s.TicksLateHost, 0),
			drops, fmtp(s.RxPPS, 0), fmtp(s.TxPPS, 0), lo, i2s,
			fmtp(s.SnapshotLoss, 3), fmtp(s.InputsSentPct, 1), fmtp(s.GeneratorCPU, 1) + mark})
	}
	width := make([]int, len(hdr))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i, c := range row {
			pad := width[i] - len([]rune(c))
			if i == len(row)-1 {
				b.WriteString(c)
			} else {
				b.WriteString(strings.Repeat(" ", pad) + c + "  ")
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	fmt.Fprintln(w, "  (stage columns: p99 µs; missed A/W/H: ticks missed through Arcade (its tick thread busy) / the wake (the thread slept through the deadline, woken late while the server's probe was on time) / the host (the probe as late); late A/H: ticks late through Arcade / the host; drops S/G/H: UDP drops at the server's sockets / the generator's / the host's (the larger of RcvbufErrors and InErrors, every process's sockets); lo: all loopback bytes; sent%: inputs sent of headsets × rate × window)")
	for _, s := range r.Steps {
		for _, e := range s.Errors {
			fmt.Fprintf(w, "  %d headsets: %s\n", s.Headsets, e)
		}
	}
	for _, s := range r.Steps {
		if s.GeneratorLimited != "" {
			fmt.Fprintf(w, "  %d headsets: generator-limited: %s (input→state, loss and the host's UDP drops are the generator's as much as the server's)\n", s.Headsets, s.GeneratorLimited)
		}
	}
	if k := r.Knee; k != nil {
		fmt.Fprintf(w, "knee: %d headsets: %s\n", k.Headsets, strings.Join(k.Saturated, "; "))
		if g := r.Steps[k.Step].GeneratorLimited; g != "" {
			fmt.Fprintf(w, "  (generator-limited at the knee: %s)\n", g)
		}
	} else {
		fmt.Fprintln(w, "knee: none within the ramp: nothing saturated")
	}
	fmt.Fprintf(w, "stopped: %s\n", r.Stopped)
}

// series is one polyline: each step's value as a percentage of the
// threshold at which it counts as saturated (100 = the knee line).
type series struct {
	name, color string
	val         func(s *Step, r *Report) *float64
}

var plotSeries = []series{
	{"server CPU (% of 90 % of a core)", "#d62728", func(s *Step, _ *Report) *float64 {
		if s.ServerCPUPct == nil {
			return nil
		}
		return ptr(*s.ServerCPUPct / cpuLimitPct * 100)
	}},
	{"input→state p99 (% of one tick + host p99)", "#1f77b4", func(s *Step, r *Report) *float64 {
		lim := i2sLimitMS(s, r.TickRate)
		if s.InputToState == nil || lim == nil {
			return nil
		}
		return ptr(s.InputToState.P99 / *lim * 100)
	}},
	{"tick time p99 (% of the tick period)", "#2ca02c", func(s *Step, r *Report) *float64 {
		if s.TickUS == nil || r.TickRate <= 0 {
			return nil
		}
		return ptr(s.TickUS.P99 / (1e6 / float64(r.TickRate)) * 100)
	}},
	{"snapshot loss (% of 0.1 %)", "#9467bd", func(s *Step, _ *Report) *float64 {
		if s.SnapshotLoss == nil {
			return nil
		}
		return ptr(*s.SnapshotLoss / lossLimitPct * 100)
	}},
	{"generator CPU (% of 90 % of a core)", "#ff7f0e", func(s *Step, _ *Report) *float64 {
		if s.GeneratorCPU == nil {
			return nil
		}
		return ptr(*s.GeneratorCPU / cpuLimitPct * 100)
	}},
}

// plotSVG draws every series against the headset count, with the
// saturation line (100 %) and the knee.
func plotSVG(r *Report) string {
	const W, H, L, R, T, B = 900, 520, 70, 330, 40, 60
	pw, ph := float64(W-L-R), float64(H-T-B)
	xmax := 1.0
	ymax := 150.0
	for i := range r.Steps {
		xmax = math.Max(xmax, float64(r.Steps[i].Headsets))
		for _, se := range plotSeries {
			if v := se.val(&r.Steps[i], r); v != nil {
				ymax = math.Max(ymax, math.Min(*v, 400))
			}
		}
	}
	ymax = math.Ceil(ymax/50) * 50
	x := func(v float64) float64 { return float64(L) + v/xmax*pw }
	y := func(v float64) float64 { return float64(T) + ph - math.Min(v, ymax)/ymax*ph }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", W, H)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15">arcade-load: resources against headsets (%d CPUs, tick %d Hz, poses %d Hz)</text>`+"\n", L, r.CPUs, r.TickRate, r.Rate)
	// Axes and grid.
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", L, T+int(ph), L+int(pw), T+int(ph))
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", L, T, L, T+int(ph))
	for v := 0.0; v <= ymax; v += 50 {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%.0f</text>`+"\n", L, y(v), L+int(pw), y(v), L-6, y(v)+4, v)
	}
	xstep := niceStep(xmax / 8)
	for v := 0.0; v <= xmax+1e-9; v += xstep {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black"/><text x="%.1f" y="%d" text-anchor="middle">%.0f</text>`+"\n", x(v), T+int(ph), x(v), T+int(ph)+5, x(v), T+int(ph)+18, v)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">headsets connected</text>`+"\n", float64(L)+pw/2, H-18)
	fmt.Fprintf(&b, `<text transform="translate(20 %.1f) rotate(-90)" text-anchor="middle">%% of saturation threshold</text>`+"\n", float64(T)+ph/2)
	// The saturation line.
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="black" stroke-dasharray="6 4"/><text x="%d" y="%.1f" text-anchor="end">saturated</text>`+"\n", L, y(100), L+int(pw), y(100), L+int(pw)-4, y(100)-4)
	// Series.
	for i, se := range plotSeries {
		var pts []string
		for j := range r.Steps {
			if v := se.val(&r.Steps[j], r); v != nil {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(float64(r.Steps[j].Headsets)), y(*v)))
			}
		}
		if len(pts) > 0 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", se.color, strings.Join(pts, " "))
			for _, p := range pts {
				xy := strings.Split(p, ",")
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="2.5" fill="%s"/>`+"\n", xy[0], xy[1], se.color)
			}
		}
		ly := T + 10 + i*20
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/><text x="%d" y="%d">%s</text>`+"\n", W-R+15, ly, W-R+40, ly, se.color, W-R+46, ly+4, esc(se.name))
	}
	// UDP drops: a mark at each step that had any.
	for j := range r.Steps {
		s := &r.Steps[j]
		for _, v := range s.Saturated {
			if strings.HasPrefix(v, "UDP drops") {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#8c564b">✕</text>`+"\n", x(float64(s.Headsets)), T+12)
				break
			}
		}
	}
	ly := T + 10 + len(plotSeries)*20
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#8c564b">✕ (top) UDP drops (server's or generator's sockets) at that step</text>`+"\n", W-R+15, ly+4)
	// The knee.
	if k := r.Knee; k != nil {
		kx := x(float64(k.Headsets))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#444" stroke-width="1.5"/>`+"\n", kx, T, kx, T+int(ph))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-weight="bold">knee: %d headsets</text>`+"\n", kx+4, T+28, k.Headsets)
		for i, s := range k.Saturated {
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11">%s</text>`+"\n", W-R+15, ly+30+i*16, esc(trim(s, 48)))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">knee at %d headsets:</text>`+"\n", W-R+15, ly+14, k.Headsets)
		if k.GeneratorLimited != "" {
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#ff7f0e">generator-limited: %s</text>`+"\n", W-R+15, ly+30+len(k.Saturated)*16, esc(trim(k.GeneratorLimited, 40)))
		}
	} else {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">no knee: nothing saturated</text>`+"\n", W-R+15, ly+14)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func niceStep(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func trim(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
