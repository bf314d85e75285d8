package main

import (
	"bytes"
	"context"
	"math"
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
	if o.echoCount != 10_000 || o.echoRate != 1000 || o.refDuration != 10*time.Second || !o.pin {
		t.Errorf("defaults: %+v", o)
	}
}

func TestParseFlagsErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string // in the error
	}{
		{[]string{"--echo-count", "0"}, "--echo-count"},
		{[]string{"--echo-count", "2000000"}, "--echo-count"},
		{[]string{"--echo-rate", "0"}, "--echo-rate"},
		{[]string{"--echo-rate", "20000"}, "--echo-rate"},
		{[]string{"--ref-duration", "0s"}, "--ref-duration"},
		{[]string{"--ref-duration", "1ms"}, "--ref-duration: 1ms is shorter than one tick"},
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
	if _, err := parseFlags([]string{"--nope"}, &usage); err == nil || !strings.Contains(usage.String(), "-echo-count") {
		t.Errorf("unknown flag: %v, usage %q", err, usage.String())
	}
	if code := run([]string{"--echo-count", "0"}, &bytes.Buffer{}, &bytes.Buffer{}); code != 1 {
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

func val(p *float64) any {
	if p == nil {
		return "n/a"
	}
	return *p
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
