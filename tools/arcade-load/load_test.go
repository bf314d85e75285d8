package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/arcadexr/arcade/tools/internal/toolrun"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A tiny ramp against a real server, with either generator: the report
// has one step per count, every headset connects, and CPU and packet
// counters grow with the load. No figure is held to an absolute time.
func TestTinyRamp(t *testing.T) {
	for _, g := range []string{genInProcess, genBots} {
		t.Run(g, func(t *testing.T) { tinyRamp(t, g) })
	}
}

func tinyRamp(t *testing.T, generator string) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc: Linux only")
	}
	if testing.Short() {
		t.Skip("starts a server and bots (about 15 s)")
	}
	dir := t.TempDir()
	if err := toolrun.Build(context.Background(), dir, "./cmd/arcade-server", "./tools/arcade-bot"); err != nil {
		t.Fatal(err)
	}
	jsonPath, svgPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.svg")
	var out, errb bytes.Buffer
	code := run([]string{"--generator", generator, "--ramp", "0:8:4", "--step", "2s", "--settle", "500ms", "--per-proc", "4", "--past-knee", "-1",
		"--server-bin", filepath.Join(dir, "arcade-server"), "--bot-bin", filepath.Join(dir, "arcade-bot"),
		"--json", jsonPath, "--svg", svgPath}, &out, &errb)
	t.Logf("table:\n%s", out.String())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Steps) != 3 {
		t.Fatalf("%d steps, want 3", len(rep.Steps))
	}
	if rep.Generator != generator {
		t.Errorf("report's generator %q, want %q", rep.Generator, generator)
	}
	for i, s := range rep.Steps {
		want, procs := 4*i, i
		if generator == genInProcess {
			procs = 0
			if s.Gen == nil || i > 0 && (s.Gen.GroupPPS == 0 || s.Gen.Reports == 0 || s.Gen.Unexpected != 0) {
				t.Errorf("step %d: generator figures %+v", i, s.Gen)
			}
		}
		if s.Headsets != want || s.Connected != want || s.BotProcs != procs {
			t.Errorf("step %d: %d headsets, %d connected, %d bot processes; want %d, %d, %d", i, s.Headsets, s.Connected, s.BotProcs, want, want, procs)
		}
		if s.ServerCPUPct == nil || s.RxPPS == nil || s.TxPPS == nil || s.TickUS == nil || s.GeneratorCPU == nil || s.LoBytesPS == nil {
			t.Errorf("step %d: a server or host figure is missing: %+v", i, s)
			continue
		}
		if s.WindowS < 1 {
			t.Errorf("step %d: window %.2f s, want about 1.5", i, s.WindowS)
		}
		if len(s.Errors) > 0 {
			t.Errorf("step %d: %v", i, s.Errors)
		}
		if i == 0 {
			continue
		}
		if s.BotsConnected != want {
			t.Errorf("step %d: the bots counted %d connected, want %d", i, s.BotsConnected, want)
		}
		if s.InputToState == nil || s.I2SSamples == 0 || s.SnapshotLoss == nil || s.InputsSentPct == nil {
			t.Errorf("step %d: no headset measurements", i)
		} else if s.InputToState.P50 <= 0 || s.InputToState.P99 < s.InputToState.P50 || *s.InputsSentPct < 50 || *s.InputsSentPct > 110 {
			t.Errorf("step %d: implausible headset figures: i2s %+v, sent %.1f%%", i, *s.InputToState, *s.InputsSentPct)
		}
		p, idle := rep.Steps[i-1], rep.Steps[0]
		// Each headset sends 90 poses a second, which the server answers
		// (its own avatar's eager update, coalesced within a receive
		// batch): 4 headsets make about 360 datagrams a second each way
		// that an idle server does not. Growth from step to step is not
		// asserted: a busy host can halve one window's rates.
		if s.ServerWindowS == nil || *s.ServerWindowS < 1 {
			t.Errorf("step %d: server's window %v s, want about 1.5", i, s.ServerWindowS)
		}
		if *s.RxPPS < *idle.RxPPS+100 || *s.TxPPS < *idle.TxPPS+100 {
			j, _ := json.Marshal(s)
			t.Errorf("step %d: packets did not grow over the idle server's: rx %v→%v, tx %v→%v; step %s", i, *idle.RxPPS, *s.RxPPS, *idle.TxPPS, *s.TxPPS, j)
		}
		// Another bot process costs more; four in-process headsets
		// more are within the noise of the generator's idle loops.
		if generator == genBots && *s.GeneratorCPU <= *p.GeneratorCPU {
			t.Errorf("step %d: generator CPU did not grow: %v→%v", i, *p.GeneratorCPU, *s.GeneratorCPU)
		}
	}
	// Server CPU is read for the server process at every step: within a
	// machine's CPUs, and its user and system parts add up to it. (Its
	// growth with 8 headsets, about 0.3 % of a core, is within the noise
	// of an idle server's 7-10 % over a 1.5 s window: once the 8 read
	// less than none. The packets above show the load grew.)
	for i, s := range rep.Steps {
		c := *s.ServerCPUPct
		if c <= 0 || c > 100*float64(runtime.NumCPU()) {
			t.Errorf("step %d: server CPU %v%%", i, c)
		}
		if s.ServerUserPct == nil || s.ServerSysPct == nil || math.Abs(*s.ServerUserPct+*s.ServerSysPct-c) > 0.15 {
			t.Errorf("step %d: server CPU %v%%, user %v, system %v", i, c, s.ServerUserPct, s.ServerSysPct)
		}
	}
	if rep.Knee != nil && (rep.Knee.Step < 0 || rep.Knee.Step >= 3 || len(rep.Knee.Saturated) == 0) {
		t.Errorf("knee %+v", *rep.Knee)
	}
	svg, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "<polyline", "headsets connected", "saturated", "</svg>"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("SVG has no %q", want)
		}
	}
	if !strings.Contains(out.String(), "knee") || strings.Count(out.String(), "\n") < 5 {
		t.Errorf("table:\n%s", out.String())
	}
}

// Knee rules, on made-up steps.
func TestJudge(t *testing.T) {
	f := ptr
	s := Step{ServerCPUPct: f(50), TicksLateArcade: f(1), TicksLateHost: f(0), MissedTicks: f(0),
		SnapshotLoss: f(0.05), InputToState: &Quant{P50: 1, P99: 8}, HostLatenessUS: &Quant{P99: 200}}
	judge(&s, 120)
	if len(s.Saturated) != 0 {
		t.Errorf("nothing saturated, got %v", s.Saturated)
	}
	s.ServerCPUPct, s.MissedTicks, s.SnapshotLoss, s.UDPRcvbufErrors = f(95), f(3), f(0.2), f(1)
	s.InputToState.P99 = 9
	judge(&s, 120)
	if len(s.Saturated) != 5 {
		t.Errorf("CPU, missed ticks, drops, loss and latency saturated, got %v", s.Saturated)
	}
	// A server that counts missed ticks by cause: those through the host
	// do not saturate, whatever the late ticks; those through Arcade do.
	m := Step{MissedTicks: f(4), MissedTicksHost: f(4), MissedTicksArcade: f(0), TicksLateArcade: f(3), TicksLateHost: f(1)}
	judge(&m, 120)
	if len(m.Saturated) != 0 {
		t.Errorf("4 ticks missed through the host: %v", m.Saturated)
	}
	m.MissedTicksHost, m.MissedTicksArcade = f(3), f(1)
	judge(&m, 120)
	if len(m.Saturated) != 1 || !strings.Contains(m.Saturated[0], "1 ticks missed through Arcade") {
		t.Errorf("1 tick missed through Arcade: %v", m.Saturated)
	}
	// The host's drops are every process's: with the server's and the
	// generator's own sockets read, only those count.
	d := Step{ServerSockDrops: f(0), GenSockDrops: f(0), UDPRcvbufErrors: f(30)}
	judge(&d, 120)
	if len(d.Saturated) != 0 {
		t.Errorf("host drops beside none at the rig's sockets: %v", d.Saturated)
	}
	d.GenSockDrops = f(2)
	judge(&d, 120)
	if len(d.Saturated) != 1 || !strings.Contains(d.Saturated[0], "generator sockets 2") {
		t.Errorf("the generator's drops: %v", d.Saturated)
	}
}

func TestPlace(t *testing.T) {
	for _, tc := range []struct {
		pin     bool
		allowed []int
		want    placement
	}{
		{true, []int{0, 1}, placement{Pinned: true, TickCPU: 0, GenCPU: 1}},
		{true, []int{2, 5, 7}, placement{Pinned: true, TickCPU: 2, GenCPU: 7}},
		{true, []int{3}, placement{TickCPU: -1, GenCPU: -1, Why: "1 CPU allowed"}},
		{false, []int{0, 1}, placement{TickCPU: -1, GenCPU: -1, Why: "--pin=false"}},
	} {
		if got := place(tc.pin, tc.allowed); got != tc.want {
			t.Errorf("place(%v, %v) = %+v, want %+v", tc.pin, tc.allowed, got, tc.want)
		}
	}
}
