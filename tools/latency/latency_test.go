package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseFlagsDefaults(t *testing.T) {
	o, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.duration != 10*time.Second || o.warmup != time.Second || o.echoCount != 10_000 || o.echoRate != 1000 {
		t.Errorf("defaults: %+v", o)
	}
	if len(o.headsets) != 2 || o.headsets[0] != 16 || o.headsets[1] != 64 {
		t.Errorf("--headsets default: %v", o.headsets)
	}
	if len(o.modes) != 2 || o.modes[0] != "eager" || o.modes[1] != "tick" {
		t.Errorf("--modes default: %v, want [eager tick]", o.modes)
	}
	o, err = parseFlags([]string{"--headsets", " 8 ", "--modes", "tick", "--duration", "5s", "--warmup", "0s"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.headsets) != 1 || o.headsets[0] != 8 || len(o.modes) != 1 || o.modes[0] != "tick" || o.warmup != 0 {
		t.Errorf("parsed: %+v", o)
	}
}

func TestParseFlagsErrors(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string // in the error
	}{
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--duration", "11m"}, "--duration"},
		{[]string{"--warmup", "-1s"}, "--warmup"},
		{[]string{"--warmup", "2m"}, "--warmup"},
		{[]string{"--headsets", ""}, "--headsets"},
		{[]string{"--headsets", "16,x"}, `--headsets: "16,x": "x" is not a number`},
		{[]string{"--headsets", "0"}, "--headsets"},
		{[]string{"--headsets", "2000"}, "--headsets"},
		{[]string{"--headsets", "16,16"}, "listed twice"},
		{[]string{"--headsets", "16,"}, "empty entry"},
		{[]string{"--modes", "fast"}, `--modes: "fast": "fast" is not eager, tick or sealed`},
		{[]string{"--modes", "tick,tick"}, "--modes"},
		{[]string{"--modes", ""}, "--modes"},
		{[]string{"--echo-count", "0"}, "--echo-count"},
		{[]string{"--echo-count", "2000000"}, "--echo-count"},
		{[]string{"--echo-rate", "0"}, "--echo-rate"},
		{[]string{"--echo-rate", "20000"}, "--echo-rate"},
		{[]string{"--ref-duration", "0s"}, "--ref-duration"},
		{[]string{"--ref-duration", "1ms"}, "--ref-duration: 1ms is shorter than one tick"},
		{[]string{"--bot-nice", "-1"}, "--bot-nice"},
		{[]string{"--bot-nice", "20"}, "--bot-nice"},
		{[]string{"--server-bin", filepath.Join(dir, "none")}, "--server-bin"},
		{[]string{"--bot-bin", plain}, "--bot-bin: " + plain + " is not an executable file"},
		{[]string{"--bot-bin", dir}, "--bot-bin"},
		{[]string{"--json", filepath.Join(dir, "no", "such.json")}, "--json: directory"},
		{[]string{"--json", dir}, "--json"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		_, err := parseFlags(tc.args, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
	// An unknown flag is the flag package's error, printed with the usage.
	var usage bytes.Buffer
	if _, err := parseFlags([]string{"--nope"}, &usage); err == nil || !strings.Contains(usage.String(), "-headsets") {
		t.Errorf("unknown flag: %v, usage %q", err, usage.String())
	}
	if code := run([]string{"--duration", "0s"}, &bytes.Buffer{}, &bytes.Buffer{}); code != 1 {
		t.Errorf("run with a bad flag: exit %d, want 1", code)
	}
	if code := run([]string{"-h"}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Errorf("run -h: exit %d, want 0", code)
	}
}

func TestSeedModel(t *testing.T) {
	for _, tc := range []struct {
		rttNs          int64
		rate           int
		ticks          int64
		bestMS, worstM float64
	}{
		{0, 120, 0, 0, 8.333333},
		{-5, 120, 0, 0, 8.333333},
		{1, 120, 1, 8.333333, 16.666667},
		{60_000, 120, 1, 8.333333, 16.666667},
		{8_333_333, 120, 1, 8.333333, 16.666667}, // just under Δt (8 333 333.3 ns)
		{8_333_334, 120, 2, 16.666667, 25},       // just over
		{25_000_000, 120, 3, 25, 33.333333},      // exactly 3 ticks
		{10_000_000, 100, 1, 10, 20},             // exactly Δt at 100 Hz
		{10_000_001, 100, 2, 20, 30},
		{45_000_000, 60, 3, 50, 66.666667},
	} {
		m := seedModel(tc.rttNs, tc.rate)
		if m.Ticks != tc.ticks || math.Abs(m.BestMS-tc.bestMS) > 1e-5 || math.Abs(m.WorstMS-tc.worstM) > 1e-5 {
			t.Errorf("seedModel(%d ns, %d Hz) = %d ticks, best %.6f, worst %.6f; want %d, %.6f, %.6f",
				tc.rttNs, tc.rate, m.Ticks, m.BestMS, m.WorstMS, tc.ticks, tc.bestMS, tc.worstM)
		}
		if d := 1e3 / float64(tc.rate); math.Abs(m.DtMS-d) > 1e-9 || math.Abs(m.WorstMS-m.BestMS-d) > 1e-9 {
			t.Errorf("seedModel(%d, %d): Δt %.6f, Lworst − Lbest %.6f, want %.6f", tc.rttNs, tc.rate, m.DtMS, m.WorstMS-m.BestMS, d)
		}
	}
}

func TestRatios(t *testing.T) {
	r := ratios(ratioInputs{
		EchoP50US: ptr(60.0), EchoP99US: ptr(100.0), RefP99US: ptr(400.0), TickP99US: ptr(200.0), HostProbeP99US: ptr(800.0),
		AvatarP50US: ptr(150.0), AvatarP99US: ptr(760.0), HeldP99US: ptr(740.0),
		InputP50MS: ptr(0.25), InputP99MS: ptr(16.0), GrabP99MS: ptr(17.0), WorstMS: ptr(16.667),
	})
	check := func(name string, got *float64, want float64) {
		t.Helper()
		if got == nil || math.Abs(*got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("tick ÷ ref", r.TickOverRef, 0.5)
	check("tick ÷ host probe", r.TickOverHostProbe, 0.25)
	check("avatar − echo", r.AvatarMinusEchoUS, 660)
	check("held − echo", r.HeldMinusEchoUS, 640)
	check("budget", r.BudgetUS, 750)
	check("avatar − budget", r.AvatarOverBudgetUS, 10)
	check("held − budget", r.HeldOverBudgetUS, -10)
	check("agreement", r.AgreementUS, 40)
	for _, b := range []struct {
		name string
		got  *bool
		want bool
	}{
		{"avatar within budget", r.AvatarWithinBudget, false},
		{"held within budget", r.HeldWithinBudget, true},
		{"avatar p50 within 150", r.AvatarP50Within, true}, // the bound is inclusive
		{"input within Lworst", r.InputWithinModel, true},
		{"grab within Lworst", r.GrabWithinModel, false},
	} {
		if b.got == nil || *b.got != b.want {
			t.Errorf("%s = %v, want %v", b.name, b.got, b.want)
		}
	}

	// Missing figures stay missing: no ratio, no mark.
	r = ratios(ratioInputs{TickP99US: ptr(200.0), RefP99US: ptr(0.0), AvatarP99US: ptr(1.0)})
	if r.TickOverRef != nil || r.TickOverHostProbe != nil || r.BudgetUS != nil || r.AvatarOverBudgetUS != nil ||
		r.AvatarWithinBudget != nil || r.AvatarMinusEchoUS != nil || r.AvatarP50Within != nil || r.InputWithinModel != nil {
		t.Errorf("ratios of missing figures: %+v", r)
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func val(p *float64) any {
	if p == nil {
		return "n/a"
	}
	return *p
}

// testdata/stats-old.json is /api/stats of a server from before the host
// probe and the late-tick counters; stats-probe.json one of a server that
// has them (both real, the client list cut to one).
func TestParseServerStats(t *testing.T) {
	s, err := parseServerStats(readTestdata(t, "stats-old.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		got  *float64
		want any
	}{
		{"clients", s.Clients, 4.0},
		{"ticks", s.Ticks, 385.0},
		{"missed_ticks", s.MissedTicks, 9.0},
		{"tick_lateness p99", s.TickLateness.p99(), 1.503},
		{"tick_lateness max", s.TickLateness.max(), 45.469},
		{"server_added p50", s.ServerAdded.p50(), 4718.591},
		{"server_added samples", s.ServerAddedSamples, 466.0},
		{"server_added_grab p99", s.ServerAddedGrab.p99(), 198.655},
		{"rx_delay p50", s.RxDelay.p50(), 52.223},
		// Not in this server: n/a, not 0.
		{"host_timer_lateness p99", s.HostTimerLateness.p99(), "n/a"},
		{"cpu_steal_pct", s.CPUStealPct, "n/a"},
		{"ticks_late_host", s.TicksLateHost, "n/a"},
		{"ticks_late_arcade", s.TicksLateArcade, "n/a"},
		{"send_syscall p50", s.SendSyscall.p50(), "n/a"},
		{"server_added_samples_dropped", s.SamplesDropped, "n/a"},
	} {
		if g := val(c.got); g != c.want {
			t.Errorf("old: %s = %v, want %v", c.name, g, c.want)
		}
	}
	if s.Eager == nil || !*s.Eager || s.HostProbe != nil || len(s.Unreadable) != 0 {
		t.Errorf("old: eager %v, host_probe %v, unreadable %v", s.Eager, s.HostProbe, s.Unreadable)
	}

	body := readTestdata(t, "stats-probe.json")
	s, err = parseServerStats(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		got  *float64
		want any
	}{
		{"host_timer_lateness p50", s.HostTimerLateness.p50(), 22.015},
		{"host_timer_lateness p99", s.HostTimerLateness.p99(), 348.159},
		{"host_timer_lateness max", s.HostTimerLateness.max(), 4035.999},
		{"cpu_steal_pct", s.CPUStealPct, 0.0}, // reported as 0: a figure, not n/a
		{"ticks_late_host", s.TicksLateHost, 3.0},
		{"ticks_late_arcade", s.TicksLateArcade, 0.0},
		{"ticks_late_unknown", s.TicksLateUnknown, 0.0},
		{"late_tick_us", s.LateTickUS, 1041.666},
		{"send_syscall p50", s.SendSyscall.p50(), 27.647},
		{"send_syscall p99", s.SendSyscall.p99(), 91.135},
		{"timer_wake_late p99", s.TimerWakeLate.p99(), 145.407},
		{"tick_lateness p99", s.TickLateness.p99(), 458.751},
		{"server_added samples", s.ServerAddedSamples, 2101.0},
		{"server_added_samples_dropped", s.SamplesDropped, 0.0},
	} {
		if g := val(c.got); g != c.want {
			t.Errorf("probe: %s = %v, want %v", c.name, g, c.want)
		}
	}
	if len(s.Unreadable) != 0 {
		t.Errorf("probe: unreadable %v", s.Unreadable)
	}

	// A server run without its probe reports zeros for it: n/a.
	off := bytes.Replace(body, []byte(`"host_probe": true`), []byte(`"host_probe": false`), 1)
	if bytes.Equal(off, body) {
		t.Fatal("stats-probe.json has no host_probe field")
	}
	if s, err = parseServerStats(off); err != nil {
		t.Fatal(err)
	}
	if s.HostTimerLateness != nil || s.CPUStealPct != nil || val(s.TicksLateHost) != 3.0 {
		t.Errorf("probe off: host lateness %v, steal %v, ticks late %v", s.HostTimerLateness, val(s.CPUStealPct), val(s.TicksLateHost))
	}

	// A field of another shape than expected is n/a and named; a
	// quantile left out (Max is omitempty on the server) is n/a.
	s, err = parseServerStats([]byte(`{"cpu_steal_pct": {"all": 3}, "tick_lateness_us": {"p50": 1, "p99": 2},
		"send_syscall_us": 7, "host_timer_lateness_us": null, "ticks": 10}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.CPUStealPct != nil || s.SendSyscall != nil || s.HostTimerLateness != nil || val(s.Ticks) != 10.0 ||
		s.TickLateness.max() != nil || val(s.TickLateness.p99()) != 2.0 {
		t.Errorf("odd shapes: %+v", s)
	}
	if strings.Join(s.Unreadable, ",") != "cpu_steal_pct,send_syscall_us" {
		t.Errorf("unreadable = %v", s.Unreadable)
	}
	if _, err := parseServerStats([]byte(`[1,2]`)); err == nil {
		t.Error("a JSON array parsed as /api/stats")
	}
	if samples(ptr(0.0)) || !samples(ptr(3.0)) || !samples(nil) {
		t.Error("samples: 0 must mean no data, an unknown count must not")
	}
}

func TestParseBotStats(t *testing.T) {
	b, err := parseBotStats(readTestdata(t, "bot.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		got  *float64
		want any
	}{
		{"clients_connected", b.ClientsConnected, 4.0},
		{"snapshot_loss_pct", b.SnapshotLossPct, 0.0},
		{"input_to_state p50", b.InputToState.p50(), 4.704},
		{"input_to_state p99", b.InputToState.p99(), 7.553},
		{"input_to_state samples", b.InputSamples, 488.0},
		{"grab_to_state p99", b.GrabToState.p99(), 0.232},
		{"grab_to_state samples", b.GrabSamples, 487.0},
		{"grabbing", b.Grabbing, 4.0},
		{"rtt p50", b.RTT.p50(), 0.068},
	} {
		if g := val(c.got); g != c.want {
			t.Errorf("%s = %v, want %v", c.name, g, c.want)
		}
	}
	if len(b.Errors) != 1 || !strings.HasPrefix(b.Errors[0], "bot-01: ended early") {
		t.Errorf("errors = %q", b.Errors)
	}
	// Without --grab there is no grab_to_state: n/a.
	b, err = parseBotStats([]byte(`{"clients_connected": 2, "input_to_state_ms": {"samples": 0, "p50": 0, "p99": 0}}`))
	if err != nil {
		t.Fatal(err)
	}
	if b.GrabToState != nil || b.GrabSamples != nil || samples(b.InputSamples) {
		t.Errorf("no grab: %+v", b)
	}
}

const procStat = `cpu  390349 778 140176 133207 1259 0 3764 5196 120 0
cpu0 196808 398 66964 68675 257 0 1848 2488 60 0
cpu1 193541 379 73211 64531 1001 0 1915 2708 60 0
intr 22865410 0 0 0
ctxt 71204123
btime 1764630000
cpu9
`

func TestParseProcStat(t *testing.T) {
	_, err := parseProcStat(procStat)
	if err == nil || !strings.Contains(err.Error(), "cpu9") {
		t.Errorf("a cpu line without fields: %v", err)
	}
	text := strings.Replace(procStat, "cpu9\n", "", 1)
	m, err := parseProcStat(text)
	if err != nil {
		t.Fatal(err)
	}
	// Guest time (the 9th field) is already in user: not added again.
	want := map[string]cpuTimes{
		"cpu":  {Total: 390349 + 778 + 140176 + 133207 + 1259 + 0 + 3764 + 5196, Steal: 5196},
		"cpu0": {Total: 196808 + 398 + 66964 + 68675 + 257 + 0 + 1848 + 2488, Steal: 2488},
		"cpu1": {Total: 193541 + 379 + 73211 + 64531 + 1001 + 0 + 1915 + 2708, Steal: 2708},
	}
	if len(m) != len(want) {
		t.Errorf("lines: %v", m)
	}
	for k, w := range want {
		if m[k] != w {
			t.Errorf("%s = %+v, want %+v", k, m[k], w)
		}
	}
	// An old kernel without the steal field.
	old, err := parseProcStat("cpu 10 0 10 80\n")
	if err != nil || old["cpu"] != (cpuTimes{Total: 100}) {
		t.Errorf("4-field line: %+v, %v", old, err)
	}
	if _, err := parseProcStat("cpu 1 2 x 4 5\n"); err == nil {
		t.Error("a non-numeric field parsed")
	}
	if _, err := parseProcStat("cpu0 1 2 3 4 5\n"); err == nil {
		t.Error("no aggregate line, no error")
	}

	a := map[string]cpuTimes{"cpu": {Total: 1000, Steal: 100}, "cpu0": {Total: 500, Steal: 50}}
	b := map[string]cpuTimes{"cpu": {Total: 1200, Steal: 150}, "cpu0": {Total: 600, Steal: 50}}
	s := stealBetween(a, b)
	if val(s.AllPct) != 25.0 || val(s.PerCPU["cpu0"]) != 0.0 {
		t.Errorf("steal: all %v, cpu0 %v; want 25, 0", val(s.AllPct), val(s.PerCPU["cpu0"]))
	}
	if stealPct(a["cpu"], a["cpu"]) != nil {
		t.Error("steal over no time is not n/a")
	}
}

func TestQuantile(t *testing.T) {
	seq := func(n int) []int64 {
		s := make([]int64, n)
		for i := range s {
			s[i] = int64(i + 1)
		}
		return s
	}
	for _, tc := range []struct {
		n    int
		q    float64
		want int64
	}{
		{1, 0.5, 1},
		{1, 0.999, 1},
		{2, 0.5, 1},
		{3, 0.5, 2},
		{4, 0.5, 2},
		{100, 0.99, 99},
		{101, 0.99, 100},
		{1000, 0.999, 999}, // q·n overshoots 999 in floating point
		{1000, 0.99, 990},
		{10000, 0.999, 9990},
		{10, 0, 1},
		{10, -1, 1},
		{10, 1, 10},
		{10, 2, 10},
		{10, math.NaN(), 1},
	} {
		if got := quantile(seq(tc.n), tc.q); got != tc.want {
			t.Errorf("quantile(1..%d, %v) = %d, want %d", tc.n, tc.q, got, tc.want)
		}
	}
	if quantile(nil, 0.5) != 0 {
		t.Error("quantile of nothing is not 0")
	}
	d := summarize([]int64{5000, 1000, 3000, 2000, 4000})
	if d.Samples != 5 || d.P50 != 3 || d.P99 != 5 || d.P999 != 5 || d.Max != 5 || d.Min != 1 || d.Mean != 3 {
		t.Errorf("summarize = %+v", d)
	}
	if d := summarize(nil); d != (Dist{}) {
		t.Errorf("summarize(nil) = %+v", d)
	}
}

// TestPrintTable prints a report whose server lacks the new fields and
// whose second run failed: the missing figures are n/a, never 0.
func TestPrintTable(t *testing.T) {
	st, err := parseServerStats(readTestdata(t, "stats-old.json"))
	if err != nil {
		t.Fatal(err)
	}
	bot, err := parseBotStats(readTestdata(t, "bot.json"))
	if err != nil {
		t.Fatal(err)
	}
	m := seedModel(300_000, tickRate)
	r := &Report{TickRateHz: tickRate, DtMS: 1e3 / tickRate, Placement: Placement{ServerCPU: -1, BotCPU: -1, Why: "test"},
		Echo:      &EchoResult{RTT: Dist{Samples: 10, P50: 60, P99: 300}},
		Reference: &LoopResult{Lateness: Dist{Samples: 10, P99: 120}},
		ModelP50:  &m, ModelP99: &m,
		Runs:     []*ArcadeRun{{Headsets: 16, Mode: "eager", Server: st, Bot: bot}, {Headsets: 64, Mode: "tick", Error: "boom"}},
		Problems: []string{"arcade 64 tick: boom"}}
	r.RTThrottle = RTThrottle{RuntimeUS: 950_000, PeriodUS: 1_000_000}
	r.Runs[0].Bot.Errors = []string{"bot-01: ended early: a", "bot-02: ended early: b", "bot-03: ended early: a"}
	r.fillRatios()
	var out bytes.Buffer
	printTable(&out, r)
	text := out.String()
	for _, want := range []string{
		"16 eager", "64 tick", "n/a/n/a/n/a", "✗", "✓", "arcade 64 tick: boom", "time.Ticker lateness (µs)                not measured",
		"16 eager: 3 of 16 bots ended early: 2 × ended early: a; 1 × ended early: b",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "server's host timer probe lateness p99") && !strings.Contains(line, "n/a") {
			t.Errorf("host probe without the field: %q", line)
		}
		if strings.HasPrefix(line, "tick lateness p99 ÷ reference") && !strings.Contains(line, "0.01×") {
			t.Errorf("tick ratio: %q", line)
		}
		if strings.HasPrefix(line, "longest stall") && !strings.Contains(line, "0.8") {
			t.Errorf("longest stall (rx delay max 772 µs): %q", line)
		}
	}
	if strings.Contains(text, "real-time budget") {
		t.Errorf("a 0.8 ms stall pointed out as throttling:\n%s", text)
	}

	// A stall near the real-time budget is pointed out.
	r.Runs[0].Server.RxDelay.Max = ptr(948_000.0)
	r.Placement = Placement{Pinned: true, ServerPinned: true, ServerCPU: 0, BotCPU: 1}
	out.Reset()
	printTable(&out, r)
	if !strings.Contains(out.String(), "16 eager: a 948 ms stall, close to the kernel's real-time budget (950 ms of every 1000 ms)") ||
		!strings.Contains(out.String(), "--pin-server=false") {
		t.Errorf("no stall note:\n%s", out.String())
	}
}

func TestTickIndex(t *testing.T) {
	const p = 1000
	for _, tc := range []struct{ sent, last, want int64 }{
		{1000, 0, 1},   // on time
		{1400, 0, 1},   // sent late: still the tick of deadline 1
		{2999, 0, 2},   // deadline 1 skipped by the ticker: missed
		{2100, 1, 2},   // the next one
		{1900, 1, 2},   // sent before the grid point it must be for
		{20000, 3, 20}, // a long stall
	} {
		if got := tickIndex(tc.sent, tc.last, p); got != tc.want {
			t.Errorf("tickIndex(%d, last %d) = %d, want %d", tc.sent, tc.last, got, tc.want)
		}
	}
}

// TestSmoke runs the echo and the reference loop for about 0.2 s each and
// checks only that they took samples: timing on a shared box says nothing
// about the code.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the echo and the reference loop for about 0.4 s; skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	e, err := runEcho(ctx, 200, 1000, rtPriority, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if e.Sent != 200 || e.RTT.Samples == 0 || e.Received+e.Lost != e.Sent {
		t.Errorf("echo: %d sent, %d received, %d lost, %d samples", e.Sent, e.Received, e.Lost, e.RTT.Samples)
	}
	t.Logf("echo RTT p50 %.1f µs (%s)", e.RTT.P50, e.Server.describe())
	ref, err := runTimerfdLoop(ctx, period, 24, rtPriority, -1)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Wakes != 24 || ref.Lateness.Samples != 24 || ref.Thread == nil {
		t.Errorf("reference: %d wakes, %d samples", ref.Wakes, ref.Lateness.Samples)
	}
	tk, err := runTickerLoop(ctx, period, 24)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Wakes != 24 {
		t.Errorf("ticker: %d wakes", tk.Wakes)
	}
}
