package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/arcadexr/arcade/tools/arcade-load/gen"
)

// Step is one step's measurements. Rates are over the window; a figure
// that could not be read is nil.
type Step struct {
	Headsets  int     `json:"headsets"`
	Connected int     `json:"connected"` // as the server counted them at the end of the window
	BotProcs  int     `json:"bot_processes"`
	ConnectS  float64 `json:"connect_s"` // from adding the step's bots to the server counting them
	WindowS   float64 `json:"window_s"`
	// ServerWindowS is the same window on the server's own clock: the
	// deadlines it ticked or missed over the tick rate. Its packet rates
	// are counted over it, since a busy host can delay the API request
	// that opens or closes the window by a good part of a second.
	ServerWindowS *float64 `json:"server_window_s,omitempty"`

	ServerCPUPct  *float64 `json:"server_cpu_pct"` // user+sys, % of one core
	ServerUserPct *float64 `json:"server_user_pct"`
	ServerSysPct  *float64 `json:"server_sys_pct"`
	ServerRSSMB   *float64 `json:"server_rss_mb"`
	Goroutines    *float64 `json:"server_goroutines"`

	TickUS  *Quant           `json:"tick_us"`
	StageUS map[string]Quant `json:"stage_us"`
	// HostLatenessUS is the server's reference timerfd loop's lateness.
	HostLatenessUS  *Quant   `json:"host_timer_lateness_us"`
	Ticks           *float64 `json:"ticks"`
	MissedTicks     *float64 `json:"missed_ticks"`
	TicksLateHost   *float64 `json:"ticks_late_host"`
	TicksLateArcade *float64 `json:"ticks_late_arcade"`
	TicksLateUnkn   *float64 `json:"ticks_late_unknown"`
	// Missed ticks by the fault of the late tick that skipped them (the
	// server's missed_ticks_host and _arcade; nil from a server without).
	MissedTicksHost   *float64 `json:"missed_ticks_host"`
	MissedTicksArcade *float64 `json:"missed_ticks_arcade"`
	// MissedTicksWake: the tick thread slept through the deadline, its
	// wake-up late while the server's probe was on time (the operating
	// system's, not Arcade's work).
	MissedTicksWake *float64 `json:"missed_ticks_wake"`

	UDPInErrors     *float64 `json:"udp_in_errors"`          // host-wide /proc/net/snmp delta
	UDPRcvbufErrors *float64 `json:"udp_rcvbuf_errors"`      // host-wide
	ServerSockDrops *float64 `json:"server_socket_drops"`    // the server's sockets
	GenSockDrops    *float64 `json:"generator_socket_drops"` // the generator's (this process's and the bots')
	ServerDropped   *float64 `json:"server_dropped"`         // the server's own drop counters (rate limits, junk…), summed

	RxPPS       *float64 `json:"server_rx_pps"` // datagrams the server received per second
	TxPPS       *float64 `json:"server_tx_pps"` // datagrams the server sent per second (a multicast datagram once)
	LoBytesPS   *float64 `json:"lo_bytes_per_s"`
	LoPacketsPS *float64 `json:"lo_packets_per_s"`

	InputToState   *Quant   `json:"input_to_state_ms"`
	I2SSamples     int      `json:"input_to_state_samples"`
	SnapshotLoss   *float64 `json:"snapshot_loss_pct"`
	InputsSentPct  *float64 `json:"inputs_sent_pct"` // of headsets × rate × window: well below 100, the bots were starved
	BotsConnected  int      `json:"bots_connected"`  // headsets the bots counted connected
	GeneratorCPU   *float64 `json:"generator_cpu_pct"`
	GeneratorPerHS *float64 `json:"generator_cpu_pct_per_headset"`

	// Saturated names what saturated at this step (see the command doc).
	Saturated []string `json:"saturated,omitempty"`
	// GeneratorLimited says why the headsets' own figures (input→state,
	// loss, the host's UDP drops, which count the bots' sockets too) are
	// the generator's as much as the server's: the headsets sent under 95 %
	// of the inputs asked of them (they were short of CPU).
	GeneratorLimited string   `json:"generator_limited,omitempty"`
	Errors           []string `json:"errors,omitempty"`
	// Gen is what the in-process generator counted (--generator gen).
	Gen *GenStep `json:"generator,omitempty"`
}

// GenStep is the in-process generator's own view of a window.
type GenStep struct {
	Handshakes  uint64  `json:"sessions_opened"`
	Ended       uint64  `json:"sessions_ended_by_server"`
	Denied      uint64  `json:"denied"`
	GroupPPS    float64 `json:"group_datagrams_per_s"` // read once for all headsets
	UnicastPPS  float64 `json:"unicast_datagrams_per_s"`
	UnicastLost uint64  `json:"unicast_lost"`
	Reports     uint64  `json:"delivery_reports"`
	Starved     uint64  `json:"delivery_reports_starved"`
	ReadLatePct float64 `json:"read_late_pct"` // datagrams read > 4 ms after the kernel received them
	Unexpected  uint64  `json:"unexpected"`
	SendErrors  uint64  `json:"send_errors"`
}

// Quant is p50/p99 (and max when known).
type Quant struct {
	P50 float64  `json:"p50"`
	P99 float64  `json:"p99"`
	Max *float64 `json:"max,omitempty"`
}

// sample is what is read at either end of a window.
type sample struct {
	t                    time.Time
	srvUser, srvSys      float64
	gen                  float64
	inErr, rcvbuf        float64
	sockDrops, genDrops  float64
	loB, loP             float64
	stats                map[string]any
	okSrv, okSNMP, okLo  bool
	okSock, okGen, okAPI bool
	okGenDrops           bool
}

func (r *rig) read() sample {
	s := sample{t: time.Now()}
	var err error
	s.stats, err = getJSON(r.api)
	s.okAPI = err == nil
	u, sy, err := procCPU(r.server.pid())
	s.srvUser, s.srvSys, s.okSrv = u, sy, err == nil
	s.okGen = true
	for _, b := range append([]*child{}, r.bots...) {
		u, sy, err := procCPU(b.pid())
		if err != nil {
			s.okGen = false
			continue
		}
		s.gen += u + sy
	}
	if u, sy, err := procCPU(os.Getpid()); err == nil {
		s.gen += u + sy
	}
	s.inErr, s.rcvbuf, err = udpSNMP()
	s.okSNMP = err == nil
	s.sockDrops, err = socketDrops(r.server.pid())
	s.okSock = err == nil
	s.okGenDrops = true
	for _, pid := range append(r.botPIDs(), os.Getpid()) {
		d, err := socketDrops(pid)
		s.genDrops += d
		s.okGenDrops = s.okGenDrops && err == nil
	}
	s.loB, s.loP, err = loBytes()
	s.okLo = err == nil
	return s
}

func num(m map[string]any, k string) *float64 {
	if v, ok := m[k].(float64); ok {
		return &v
	}
	return nil
}

func quant(v any) *Quant {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	p50, ok1 := m["p50"].(float64)
	p99, ok2 := m["p99"].(float64)
	if !ok1 || !ok2 {
		return nil
	}
	q := &Quant{P50: p50, P99: p99}
	if mx, ok := m["max"].(float64); ok {
		q.Max = &mx
	}
	return q
}

func diff(a, b map[string]any, k string) *float64 {
	x, y := num(a, k), num(b, k)
	if x == nil || y == nil {
		return nil
	}
	d := *y - *x
	return &d
}

func ptr(v float64) *float64 { return &v }

func round(v float64, d int) float64 {
	p := math.Pow(10, float64(d))
	return math.Round(v*p) / p
}

// botPIDs are the bot processes still running.
func (r *rig) botPIDs() []int {
	var p []int
	for _, b := range r.bots {
		if !b.exited() {
			p = append(p, b.pid())
		}
	}
	return p
}

// catchesUSR1 reports whether the process has a handler for SIGUSR1 (the
// bot's --interval-reports is set up): its default action would end it.
func catchesUSR1(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	for l := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(l, "SigCgt:"); ok {
			v, err := strconv.ParseUint(strings.TrimSpace(rest), 16, 64)
			return err == nil && v&(1<<(int(syscall.SIGUSR1)-1)) != 0
		}
	}
	return false
}

// intervalLine is the part of arcade-bot's IntervalReport read here.
type intervalLine struct {
	Interval     bool     `json:"interval"`
	Connected    int      `json:"connected"`
	InputsSent   uint64   `json:"inputs_sent"`
	PathReceived uint64   `json:"path_received"`
	PathLost     uint64   `json:"path_lost"`
	Hist         [][2]int `json:"input_to_state_hist"`
	Samples      int      `json:"input_to_state_samples"`
}

// mark asks every bot for an interval line and returns them (nil for a bot
// that gave none: errs says why).
func (r *rig) mark() ([]*intervalLine, []string) {
	out := make([]*intervalLine, len(r.bots))
	var errs []string
	asked := make([]bool, len(r.bots))
	for i, b := range r.bots {
		if b.exited() || !catchesUSR1(b.pid()) {
			errs = append(errs, fmt.Sprintf("arcade-bot %d: not taking interval requests (exited or not started): %s", i, b.stderr.Tail(2)))
			continue
		}
		b.cmd.Process.Signal(syscall.SIGUSR1)
		asked[i] = true
	}
	for i, b := range r.bots {
		if !asked[i] {
			continue
		}
		for {
			l, err := b.nextLine(5 * time.Second)
			if err != nil {
				errs = append(errs, fmt.Sprintf("arcade-bot %d: %v", i, err))
				break
			}
			var il intervalLine
			if json.Unmarshal(l, &il) == nil && il.Interval {
				out[i] = &il
				break
			}
			// The final report of a bot that ended: not an interval.
		}
	}
	return out, errs
}

// step brings the headsets to n and measures one window.
func (r *rig) step(ctx context.Context, n int) (*Step, error) {
	st := &Step{Headsets: n}
	t0 := time.Now()
	if err := r.addBots(n); err != nil {
		return nil, err
	}
	st.BotProcs = len(r.bots)
	for end := t0.Add(r.o.connectWait); ; {
		m, err := getJSON(r.api)
		if err == nil {
			if c := num(m, "clients"); c != nil && int(*c) >= n {
				break
			}
		}
		if r.server.exited() {
			return nil, fmt.Errorf("arcade-server exited: %s", r.server.stderr.Tail(6))
		}
		if time.Now().After(end) {
			st.Errors = append(st.Errors, fmt.Sprintf("not all headsets connected within %v", r.o.connectWait))
			break
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return nil, err
		}
	}
	st.ConnectS = round(time.Since(t0).Seconds(), 2)
	if err := sleep(ctx, r.o.settle); err != nil {
		return nil, err
	}
	if err := postReset(r.reset, r.token); err != nil {
		return nil, err
	}
	a := r.read()
	var ga, gb gen.Counters
	var lines []*intervalLine
	if r.gen != nil {
		ga = r.gen.Counters()
	} else {
		_, errs := r.mark()
		st.Errors = append(st.Errors, errs...)
	}
	if err := sleep(ctx, r.o.hold-time.Since(a.t)); err != nil {
		return nil, err
	}
	b := r.read()
	if r.gen != nil {
		gb = r.gen.Counters()
		if err := r.gen.Err(); err != nil {
			st.Errors = append(st.Errors, err.Error())
		}
	} else {
		var errs []string
		lines, errs = r.mark()
		st.Errors = append(st.Errors, errs...)
	}
	if r.server.exited() {
		return st, fmt.Errorf("arcade-server exited: %s", r.server.stderr.Tail(6))
	}
	w := b.t.Sub(a.t).Seconds()
	st.WindowS = round(w, 3)
	if !a.okAPI || !b.okAPI {
		return st, fmt.Errorf("GET %s failed", r.api)
	}
	if c := num(b.stats, "clients"); c != nil {
		st.Connected = int(*c)
	}
	if a.okSrv && b.okSrv {
		u, s := (b.srvUser-a.srvUser)/w*100, (b.srvSys-a.srvSys)/w*100
		st.ServerUserPct, st.ServerSysPct, st.ServerCPUPct = ptr(round(u, 1)), ptr(round(s, 1)), ptr(round(u+s, 1))
	}
	if a.okGen && b.okGen {
		g := (b.gen - a.gen) / w * 100
		st.GeneratorCPU = ptr(round(g, 1))
		if n > 0 {
			st.GeneratorPerHS = ptr(round(g/float64(n), 3))
		}
	}
	if met, err := getMetrics(r.metrics); err == nil {
		if v, ok := met["process_resident_memory_bytes"]; ok {
			st.ServerRSSMB = ptr(round(v/(1<<20), 1))
		}
		if v, ok := met["go_goroutines"]; ok {
			st.Goroutines = &v
		}
	} else {
		st.Errors = append(st.Errors, err.Error())
	}
	if st.ServerRSSMB == nil {
		if v, err := procRSS(r.server.pid()); err == nil {
			st.ServerRSSMB = ptr(round(v/(1<<20), 1))
		}
	}
	st.TickUS = quant(b.stats["tick_us"])
	st.HostLatenessUS = quant(b.stats["host_timer_lateness_us"])
	if hp, ok := b.stats["host_probe"].(bool); ok && !hp {
		st.HostLatenessUS = nil
	}
	if sm, ok := b.stats["stage_us"].(map[string]any); ok {
		st.StageUS = map[string]Quant{}
		for k, v := range sm {
			if q := quant(v); q != nil {
				st.StageUS[k] = *q
			}
		}
	}
	st.Ticks = diff(a.stats, b.stats, "ticks")
	st.MissedTicks = diff(a.stats, b.stats, "missed_ticks")
	st.TicksLateHost = diff(a.stats, b.stats, "ticks_late_host")
	st.TicksLateArcade = diff(a.stats, b.stats, "ticks_late_arcade")
	st.TicksLateUnkn = diff(a.stats, b.stats, "ticks_late_unknown")
	st.MissedTicksHost = diff(a.stats, b.stats, "missed_ticks_host")
	st.MissedTicksArcade = diff(a.stats, b.stats, "missed_ticks_arcade")
	st.MissedTicksWake = diff(a.stats, b.stats, "missed_ticks_wake")
	ws := w
	if t, m := st.Ticks, st.MissedTicks; t != nil && m != nil && *t+*m > 0 && r.o.tickRate > 0 {
		ws = (*t + *m) / float64(r.o.tickRate)
		st.ServerWindowS = ptr(round(ws, 3))
	}
	if rx := diff(a.stats, b.stats, "rx_packets"); rx != nil {
		st.RxPPS = ptr(round(*rx/ws, 0))
	}
	if tx := diff(a.stats, b.stats, "tx_packets"); tx != nil {
		st.TxPPS = ptr(round(*tx/ws, 0))
	}
	da, _ := a.stats["dropped"].(map[string]any)
	db, _ := b.stats["dropped"].(map[string]any)
	if da != nil && db != nil {
		var sum float64
		for k := range db {
			if d := diff(da, db, k); d != nil {
				sum += *d
			}
		}
		st.ServerDropped = &sum
	}
	if a.okSNMP && b.okSNMP {
		st.UDPInErrors, st.UDPRcvbufErrors = ptr(b.inErr-a.inErr), ptr(b.rcvbuf-a.rcvbuf)
	}
	if a.okSock && b.okSock {
		st.ServerSockDrops = ptr(b.sockDrops - a.sockDrops)
	}
	if a.okGenDrops && b.okGenDrops {
		st.GenSockDrops = ptr(b.genDrops - a.genDrops)
	}
	if a.okLo && b.okLo {
		st.LoBytesPS, st.LoPacketsPS = ptr(round((b.loB-a.loB)/w, 0)), ptr(round((b.loP-a.loP)/w, 0))
	}

	if r.gen != nil {
		genFigures(st, &ga, &gb, n, r.o.rate, w)
		judge(st, r.o.tickRate)
		return st, nil
	}
	// The headsets: pooled over every bot process.
	hist := map[int]int{}
	var recv, lost, sent uint64
	got := 0
	for _, l := range lines {
		if l == nil {
			continue
		}
		got++
		st.BotsConnected += l.Connected
		recv += l.PathReceived
		lost += l.PathLost
		sent += l.InputsSent
		st.I2SSamples += l.Samples
		for _, p := range l.Hist {
			hist[p[0]] += p[1]
		}
	}
	if n > 0 && got > 0 {
		if recv+lost > 0 {
			st.SnapshotLoss = ptr(round(100*float64(lost)/float64(recv+lost), 3))
		}
		st.InputsSentPct = ptr(round(100*float64(sent)/(float64(n)*float64(r.o.rate)*w), 1))
		st.InputToState = histQuant(hist)
	}
	judge(st, r.o.tickRate)
	return st, nil
}

// genFigures fills the headsets' figures from the in-process generator's
// counters at either end of a window of w seconds.
func genFigures(st *Step, a, b *gen.Counters, n, rate int, w float64) {
	st.BotsConnected = b.Connected
	st.Gen = &GenStep{
		Handshakes: b.Handshakes - a.Handshakes, Ended: b.Ended - a.Ended, Denied: b.Denied - a.Denied,
		GroupPPS: round(float64(b.GroupReceived-a.GroupReceived)/w, 0), UnicastPPS: round(float64(b.UnicastReceived-a.UnicastReceived)/w, 0),
		UnicastLost: b.UnicastLost - a.UnicastLost, Reports: b.Reports - a.Reports, Starved: b.Starved - a.Starved,
		ReadLatePct: pct(b.ReadLate-a.ReadLate, b.Reads-a.Reads), Unexpected: b.Unexpected - a.Unexpected, SendErrors: b.SendErrors - a.SendErrors,
	}
	if n == 0 {
		return
	}
	recv, lost := b.GroupReceived-a.GroupReceived, int64(b.GroupLost)-int64(a.GroupLost)
	if lost < 0 {
		lost = 0
	}
	if recv+uint64(lost) > 0 {
		st.SnapshotLoss = ptr(round(100*float64(lost)/float64(recv+uint64(lost)), 3))
	}
	st.InputsSentPct = ptr(round(100*float64(b.InputsSent-a.InputsSent)/(float64(n)*float64(rate)*w), 1))
	hist := map[int]int{}
	for i := range b.Latency {
		if d := b.Latency[i] - a.Latency[i]; d > 0 {
			hist[i] = int(d)
		}
	}
	st.I2SSamples = int(b.Samples - a.Samples)
	st.InputToState = histQuant(hist)
}

func pct(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return round(100*float64(a)/float64(b), 2)
}

// histQuant reads p50, p99 and max (ms) from an arcade-bot histogram.
func histQuant(h map[int]int) *Quant {
	keys := slices.Sorted(func(yield func(int) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	})
	total := 0
	for _, k := range keys {
		total += h[k]
	}
	if total == 0 {
		return nil
	}
	at := func(q float64) float64 {
		rank := int(math.Ceil(q * float64(total)))
		c := 0
		for _, k := range keys {
			c += h[k]
			if c >= rank {
				return round(bucketUpperMS(k), 3)
			}
		}
		return round(bucketUpperMS(keys[len(keys)-1]), 3)
	}
	return &Quant{P50: at(0.5), P99: at(0.99), Max: ptr(round(bucketUpperMS(keys[len(keys)-1]), 3))}
}

// bucketUpperMS is arcade-bot's HistBucketUpperMS: bucket b holds
// latencies up to 1.02^b µs.
func bucketUpperMS(b int) float64 { return math.Pow(1.02, float64(b)) / 1e3 }

func (s *Step) summary() string {
	f := func(p *float64) string {
		if p == nil {
			return "n/a"
		}
		return strconv.FormatFloat(*p, 'f', -1, 64)
	}
	i2s := "n/a"
	if s.InputToState != nil {
		i2s = fmt.Sprintf("%.3f/%.3f ms", s.InputToState.P50, s.InputToState.P99)
	}
	sat := ""
	if len(s.Saturated) > 0 {
		sat = " saturated: " + strings.Join(s.Saturated, ", ")
	}
	return fmt.Sprintf("%d headsets (%d connected): server CPU %s%%, i2s %s, loss %s%%, generator %s%%%s",
		s.Headsets, s.Connected, f(s.ServerCPUPct), i2s, f(s.SnapshotLoss), f(s.GeneratorCPU), sat)
}
