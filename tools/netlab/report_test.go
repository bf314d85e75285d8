package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/arcadexr/arcade/tools/netlab/internal/relay"
)

func TestBound(t *testing.T) {
	for _, tc := range []struct {
		rtt      float64
		rate     int
		b, bPlus float64
	}{
		{0.3, 120, 1000.0 / 120, 2000.0 / 120},
		{1000.0 / 120, 120, 1000.0 / 120, 2000.0 / 120}, // exactly one tick
		{9, 120, 2000.0 / 120, 3000.0 / 120},
		{4.1, 250, 8, 12},
	} {
		b, bp := bound(tc.rtt, tc.rate)
		if math.Abs(b-tc.b) > 1e-9 || math.Abs(bp-tc.bPlus) > 1e-9 {
			t.Errorf("bound(%v, %d) = %v, %v; want %v, %v", tc.rtt, tc.rate, b, bp, tc.b, tc.bPlus)
		}
	}
	if b, _ := bound(1, 0); !math.IsNaN(b) {
		t.Error("tick rate 0 gave a bound")
	}
}

func bot(t *testing.T, js string) botReport {
	var r botReport
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestMakeRow(t *testing.T) {
	reps := []botReport{
		bot(t, `{"clients_connected":1,"tick_rate":120,"snapshot_loss_pct":1,"input_to_state_ms":{"samples":900,"p50":5,"p99":9},"rtt_ms":{"samples":100,"p50":1.0,"p99":2}}`),
		bot(t, `{"clients_connected":1,"tick_rate":120,"snapshot_loss_pct":3,"input_to_state_ms":{"samples":900,"p50":7,"p99":12},"rtt_ms":{"samples":100,"p50":3.0,"p99":4}}`),
		bot(t, `{"clients_connected":1,"tick_rate":120,"snapshot_loss_pct":2,"input_to_state_ms":{"samples":900,"p50":6,"p99":10},"rtt_ms":{"samples":100,"p50":2.0,"p99":3}}`),
		bot(t, `{"clients_connected":0}`),
	}
	var st serverStats
	json.Unmarshal([]byte(`{"clients":3,"client_list":[{"delivery":"unicast"},{"delivery":"multicast"},{"delivery":"multicast"},{"delivery":"unicast"}]}`), &st)
	rs := relay.Stats{AddedP99: int64(2500 * time.Microsecond), LateP99: int64(40 * time.Microsecond)}
	r := makeRow("x", reps, &st, 60, rs)
	if r.Connected != 3 || r.Headsets != 4 {
		t.Errorf("connected %d of %d", r.Connected, r.Headsets)
	}
	if r.RTTP50 != 2 || r.I2SP50 != 6 || r.I2SP99 != 12 || r.SnapLoss != 2 {
		t.Errorf("aggregates %+v", r)
	}
	if math.Abs(r.Bound-1000.0/120) > 1e-9 || r.UnicastPct != 50 || r.RelayP99 != 2.5 || r.RelayLate != 0.04 {
		t.Errorf("bound %v unicast %v relay %v/%v", r.Bound, r.UnicastPct, r.RelayP99, r.RelayLate)
	}
	none := makeRow("y", []botReport{{}}, nil, 120, relay.Stats{})
	if !math.IsNaN(none.RTTP50) || !math.IsNaN(none.UnicastPct) || none.Connected != 0 {
		t.Errorf("empty run: %+v", none)
	}
	var old serverStats
	json.Unmarshal([]byte(`{"client_list":[{"addr":"10.77.0.11:1"}]}`), &old)
	if !math.IsNaN(unicastPct(&old)) {
		t.Error("a server without delivery gave a unicast share")
	}
}

func TestMedian(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median odd %v", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median even %v", m)
	}
}

func TestTables(t *testing.T) {
	var b bytes.Buffer
	rows := []row{{Profile: "wired", Connected: 8, Headsets: 8, RTTP50: 0.4, I2SP50: 4, I2SP99: 9, Bound: 8.333, BoundDt: 16.667, UnicastPct: math.NaN(), Note: "n"}}
	printTable(&b, rows, 120)
	printRelay(&b, []relay.Stats{{Profile: "wired"}})
	out := b.String()
	for _, want := range []string{"wired", "8/8", "0.40", "16.67", "—", "wired: n", "→ headsets", "late p50/p99/max"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// Columns line up: every row of the results table has the separators
	// at the same rune offsets as the header.
	lines := strings.Split(out, "\n")
	if strings.Index(lines[1], "|") != strings.Index(lines[3], "|") {
		t.Errorf("columns not aligned:\n%s\n%s", lines[1], lines[3])
	}
}

func TestFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--headsets", "0"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "--headsets") {
		t.Errorf("--headsets 0: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"--profiles", "wired,moon"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "moon") {
		t.Errorf("unknown profile: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"fly"}, &out, &errb); code != 1 {
		t.Errorf("unknown command: exit %d", code)
	}
	errb.Reset()
	if code := run([]string{"--nope"}, &out, &errb); code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
	errb.Reset()
	if code := run([]string{"relay", "--profile", "moon"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "moon") {
		t.Errorf("relay with unknown profile: exit %d, %q", code, errb.String())
	}
}

func TestDeliveryNote(t *testing.T) {
	var st serverStats
	json.Unmarshal([]byte(`{"client_list":[
		{"delivery":"unicast","delivery_reason":"multicast loss 3.3% (over 2%)"},
		{"delivery":"multicast","delivery_reason":"multicast"},
		{"delivery":"unicast","delivery_reason":"multicast loss 4.1% (over 2%)"},
		{"delivery":"unicast","delivery_reason":"client asked for unicast"}]}`), &st)
	if got, want := deliveryNote(&st), "unicast because: multicast loss 3.3% (over 2%) ×2, client asked for unicast ×1"; got != want {
		t.Errorf("deliveryNote = %q, want %q", got, want)
	}
	if deliveryNote(nil) != "" || deliveryNote(&serverStats{}) != "" {
		t.Error("note without clients")
	}
}

// TestMakeRowPooled: with raw samples the quantiles are pooled over all
// headsets, not the median p50 and the worst p99.
func TestMakeRowPooled(t *testing.T) {
	var a, b []string
	for i := 1; i <= 100; i++ {
		a = append(a, fmt.Sprint(i))      // 1..100
		b = append(b, fmt.Sprint(1000+i)) // 1001..1100: one slow headset
	}
	reps := []botReport{
		bot(t, `{"clients_connected":1,"tick_rate":120,"input_to_state_ms":{"samples":100,"p50":50,"p99":99},"input_to_state_samples_ms":[`+strings.Join(a, ",")+`]}`),
		bot(t, `{"clients_connected":1,"tick_rate":120,"input_to_state_ms":{"samples":100,"p50":1050,"p99":1099},"input_to_state_samples_ms":[`+strings.Join(b, ",")+`]}`),
	}
	r := makeRow("p", reps, nil, 120, relay.Stats{})
	if !r.Pooled || r.I2SP50 != 100 || r.I2SP99 != 1098 {
		t.Fatalf("pooled p50 %v p99 %v (pooled %v), want 100 and 1098", r.I2SP50, r.I2SP99, r.Pooled)
	}
}

func TestConfiguredDelay(t *testing.T) {
	for name, want := range map[string][2]string{
		"wired":          {"0", "0"},
		"wifi-good":      {"2±1", "2±1"},
		"wifi-busy":      {"5±4", "5±4"},
		"wifi-powersave": {"2±1+DTIM", "2±1"},
	} {
		p, ok := relay.ProfileByName(name)
		if !ok {
			t.Fatalf("no profile %s", name)
		}
		if got := [2]string{configuredDelay(p.ToHeadsets), configuredDelay(p.ToServer)}; got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

func TestProfileOf(t *testing.T) {
	for label, want := range map[string]string{
		"wifi-busy": "wifi-busy", "wifi-busy (reliable)": "wifi-busy", "wifi-powersave, no fallback": "wifi-powersave",
		"wired": "wired", "wifi-goodish": "", "moon": "",
	} {
		p, ok := profileOf(label)
		if ok != (want != "") || p.Name != want {
			t.Errorf("profileOf(%q) = %q, %v; want %q", label, p.Name, ok, want)
		}
	}
}

// TestPrintReliable: the resend delay is printed beside both RTTs, as
// ratios to each.
func TestPrintReliable(t *testing.T) {
	p, _ := relay.ProfileByName("wifi-busy")
	r := &relResult{Profile: p, Messages: 10, Bytes: 1000, Delivered: time.Second, ClientRTT: 20 * time.Millisecond,
		Delays: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}}
	var b bytes.Buffer
	printReliable(&b, r)
	out := b.String()
	for _, want := range []string{"wifi-busy", "measured 20.00 ms", "profile 10.00 ms", "every message delivered once",
		"settled 0s after", "÷ measured RTT", "÷ profile RTT", "20.00", "2.00", "4.00"} {
		if !strings.Contains(out, want) {
			t.Errorf("reliable report lacks %q:\n%s", want, out)
		}
	}
	r.Problems = []string{"x"}
	b.Reset()
	printReliable(&b, r)
	if !strings.Contains(b.String(), "1 problems") {
		t.Errorf("problems not shown:\n%s", b.String())
	}
}
