package main

import (
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arcadexr/arcade/tools/netlab/internal/relay"
)

// botReport is the part of arcade-bot's --json report the lab uses.
type botReport struct {
	ClientsConnected int     `json:"clients_connected"`
	SnapshotPath     string  `json:"snapshot_path"`
	SnapshotLossPct  float64 `json:"snapshot_loss_pct"`
	TickRate         int     `json:"tick_rate"`
	InputToState     struct {
		Samples int     `json:"samples"`
		P50     float64 `json:"p50"`
		P99     float64 `json:"p99"`
		Max     float64 `json:"max"`
	} `json:"input_to_state_ms"`
	RTT struct {
		Samples int     `json:"samples"`
		P50     float64 `json:"p50"`
		P99     float64 `json:"p99"`
	} `json:"rtt_ms"`
	// Bots that joined on multicast and were later served by unicast, and
	// the longest time from connecting to that switch.
	// Samples are the raw input-to-state samples (ms), when the bot was
	// asked for them (--samples): the table's p50/p99 are then pooled over
	// all headsets instead of the median p50 and the worst p99.
	Samples         []float64 `json:"input_to_state_samples_ms"`
	OnUnicast       int       `json:"clients_on_unicast"`
	UnicastAfterMax float64   `json:"unicast_after_ms_max"`
	Error           string    `json:"-"`
}

// serverStats is the part of /api/stats the lab uses. Delivery is empty
// when the server does not report it.
type serverStats struct {
	Clients          int    `json:"clients"`
	DeliverySwitches uint64 `json:"delivery_switches"`
	ClientList       []struct {
		Addr           string `json:"addr"`
		Delivery       string `json:"delivery"`
		DeliveryReason string `json:"delivery_reason"`
	} `json:"client_list"`
}

// deliveryNote summarises why the server's clients were on unicast, one
// example per kind of reason (reasons differing only in their numbers are
// one kind) with the number of clients, e.g. "unicast because: multicast
// loss 3.3% (over 2%) ×5, client asked for unicast ×1"; empty when no
// client was on unicast or the server does not say why.
func deliveryNote(st *serverStats) string {
	if st == nil {
		return ""
	}
	count := map[string]int{}
	example := map[string]string{}
	var order []string
	for _, c := range st.ClientList {
		if c.Delivery != "unicast" || c.DeliveryReason == "" {
			continue
		}
		kind := numbers.ReplaceAllString(c.DeliveryReason, "#")
		if count[kind] == 0 {
			order = append(order, kind)
			example[kind] = c.DeliveryReason
		}
		count[kind]++
	}
	if len(order) == 0 {
		return ""
	}
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%s ×%d", example[k], count[k]))
	}
	return "unicast because: " + strings.Join(parts, ", ")
}

var numbers = regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)

// row is one line of the results table. Times are milliseconds; NaN means
// not measured.
type row struct {
	Profile    string
	Connected  int
	Headsets   int
	ProfileRTT float64 // the profile's configured mean round trip (both directions' Delay)
	RTTP50     float64
	I2SP50     float64
	I2SP99     float64
	Bound      float64 // ⌈RTT/Δt⌉·Δt
	BoundDt    float64 // Bound + Δt
	UnicastPct float64 // of the server's clients, during the run; NaN if unknown
	SnapLoss   float64 // mean over headsets, %
	SwitchMax  float64 // longest time from connect to unicast among switched headsets, ms; NaN if none switched
	Pooled     bool    // I2SP50/I2SP99 are pooled over every headset's samples
	RelayP99   float64 // relay's actual added delay, p99, larger direction
	RelayLate  float64 // relay's own lateness (see relay.DirStats.Late), p99
	ReadLag    float64 // kernel stamp to relay read, p99, larger direction
	Note       string
}

// makeRow aggregates the per-headset reports. Each bot process measured
// one headset, and the bots report quantiles, not samples, so: the p50s
// are the median of the headsets' p50s, and the input-to-state p99 is the
// worst headset's p99 (an upper bound on the pooled p99, which lies
// between the smallest and largest of them).
func makeRow(label string, reps []botReport, during *serverStats, tickRate int, rs relay.Stats) row {
	rw := row{Profile: label, Headsets: len(reps), RTTP50: math.NaN(), I2SP50: math.NaN(), I2SP99: math.NaN(),
		Bound: math.NaN(), BoundDt: math.NaN(), UnicastPct: math.NaN(), SnapLoss: math.NaN(), SwitchMax: math.NaN()}
	var rtt, p50, p99, loss, pooled []float64
	for _, r := range reps {
		if r.ClientsConnected == 0 {
			continue
		}
		rw.Connected += r.ClientsConnected
		if r.TickRate > 0 {
			tickRate = r.TickRate
		}
		if r.RTT.Samples > 0 {
			rtt = append(rtt, r.RTT.P50)
		}
		if r.InputToState.Samples > 0 {
			p50 = append(p50, r.InputToState.P50)
			p99 = append(p99, r.InputToState.P99)
		}
		pooled = append(pooled, r.Samples...)
		loss = append(loss, r.SnapshotLossPct)
		if r.OnUnicast > 0 && (math.IsNaN(rw.SwitchMax) || r.UnicastAfterMax > rw.SwitchMax) {
			rw.SwitchMax = r.UnicastAfterMax
		}
	}
	if len(rtt) > 0 {
		rw.RTTP50 = median(rtt)
		rw.Bound, rw.BoundDt = bound(rw.RTTP50, tickRate)
	}
	if len(p50) > 0 {
		rw.I2SP50 = median(p50)
		rw.I2SP99 = slices.Max(p99)
	}
	if len(pooled) > 0 {
		slices.Sort(pooled)
		rw.I2SP50 = nearestRank(pooled, 0.50)
		rw.I2SP99 = nearestRank(pooled, 0.99)
		rw.Pooled = true
	}
	if len(loss) > 0 {
		rw.SnapLoss = mean(loss)
	}
	rw.UnicastPct = unicastPct(during)
	rw.RelayP99 = float64(rs.AddedP99) / 1e6
	rw.RelayLate = float64(rs.LateP99) / 1e6
	rw.ReadLag = float64(max(rs.ToHeadsets.ReadLag.P99, rs.ToServer.ReadLag.P99)) / 1e6
	return rw
}

// bound returns ⌈rtt/Δt⌉·Δt and that plus Δt, in ms, for a tick rate in
// Hz: input-to-state cannot beat the round trip, and a state only leaves
// on a tick.
func bound(rttMs float64, tickRate int) (b, bDt float64) {
	if tickRate <= 0 {
		return math.NaN(), math.NaN()
	}
	dt := 1000 / float64(tickRate)
	b = math.Ceil(rttMs/dt-1e-9) * dt
	return b, b + dt
}

// unicastPct is the share of the server's clients on unicast, or NaN when
// there is no view or the server does not report delivery.
func unicastPct(st *serverStats) float64 {
	if st == nil || len(st.ClientList) == 0 {
		return math.NaN()
	}
	n := 0
	for _, c := range st.ClientList {
		switch c.Delivery {
		case "":
			return math.NaN()
		case "unicast":
			n++
		}
	}
	return 100 * float64(n) / float64(len(st.ClientList))
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func mean(v []float64) float64 {
	t := 0.0
	for _, x := range v {
		t += x
	}
	return t / float64(len(v))
}

func num(v float64, prec int) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

// printTable prints the results, one row per run.
func printTable(w io.Writer, rows []row, tickRate int) {
	dt := 1000 / float64(tickRate)
	how := "p50 = median of headsets' p50, p99 = worst headset's p99"
	if len(rows) > 0 && rows[0].Pooled {
		how = "p50 and p99 pooled over all headsets' samples"
	}
	fmt.Fprintf(w, "Results (ms; Δt = %.3f ms at %d Hz; %s, after the warm-up; to unicast = longest connect-to-unicast time)\n", dt, tickRate, how)
	head := []string{"profile", "headsets", "profile RTT", "RTT p50", "input→state p50", "p99", "⌈RTT/Δt⌉·Δt", "+Δt", "% unicast", "to unicast ≤", "snap loss %", "relay delay p99", "read lag p99", "relay late p99"}
	cells := [][]string{head}
	for _, r := range rows {
		cells = append(cells, []string{
			r.Profile, fmt.Sprintf("%d/%d", r.Connected, r.Headsets), num(r.ProfileRTT, 2), num(r.RTTP50, 2), num(r.I2SP50, 2), num(r.I2SP99, 2),
			num(r.Bound, 2), num(r.BoundDt, 2), num(r.UnicastPct, 0), num(r.SwitchMax, 0), num(r.SnapLoss, 2), num(r.RelayP99, 2), num(r.ReadLag, 2), num(r.RelayLate, 3),
		})
	}
	writeCells(w, cells)
	for _, r := range rows {
		if r.Note != "" {
			fmt.Fprintf(w, "  %s: %s\n", r.Profile, r.Note)
		}
	}
}

// printRelay prints the relay's own measurements per run and direction.
func printRelay(w io.Writer, stats []relay.Stats) {
	fmt.Fprintln(w, "Relay self-measurement (µs). profile = the configured one-way delay (ms), and the DTIM hold of group frames;")
	fmt.Fprintln(w, "intended = scheduled − arrival (the profile's draws); actual = sent − arrival;")
	fmt.Fprintln(w, "read lag = relay's read − kernel stamp (kernel delivery + wake-up); late = sent − max(scheduled, read) (the relay's own);")
	fmt.Fprintln(w, "overdue = frames read after their scheduled time; wake = timer wake-up lateness of the relay thread.")
	cells := [][]string{{"profile", "direction", "profile", "fwd", "drop", "held", "non-UDP", "err", "overdue",
		"intended p50/p99", "actual p50/p99", "read lag p50/p99", "late p50/p99/max", "wake p50/p99/max"}}
	for _, s := range stats {
		prof, known := profileOf(s.Profile)
		for i, d := range []struct {
			name string
			s    relay.DirStats
			cfg  relay.Dir
		}{{"→ headsets", s.ToHeadsets, prof.ToHeadsets}, {"→ server", s.ToServer, prof.ToServer}} {
			wake := ""
			if i == 0 {
				wake = us(s.Wake.P50) + "/" + us(s.Wake.P99) + "/" + us(s.Wake.Max)
			}
			configured := "—"
			if known {
				configured = configuredDelay(d.cfg)
			}
			cells = append(cells, []string{
				s.Profile, d.name, configured, fmt.Sprint(d.s.Forwarded), fmt.Sprint(d.s.Dropped), fmt.Sprint(d.s.Held), fmt.Sprint(d.s.NonUDP),
				fmt.Sprint(d.s.TxErrors + d.s.Oversize + d.s.PoolFull), fmt.Sprint(d.s.Overdue),
				us(d.s.Intended.P50) + "/" + us(d.s.Intended.P99),
				us(d.s.Actual.P50) + "/" + us(d.s.Actual.P99),
				us(d.s.ReadLag.P50) + "/" + us(d.s.ReadLag.P99),
				us(d.s.Late.P50) + "/" + us(d.s.Late.P99) + "/" + us(d.s.Late.Max),
				wake,
			})
		}
		if s.RealtimeErr != "" {
			fmt.Fprintf(w, "  %s: relay ran at normal priority: %s\n", s.Profile, s.RealtimeErr)
		}
	}
	writeCells(w, cells)
}

func us(ns int64) string { return fmt.Sprintf("%.0f", float64(ns)/1e3) }

// profileOf returns the standard profile a run's label names: the profile's
// name, alone or followed by a note ("wifi-powersave, no fallback",
// "wifi-busy (reliable)").
func profileOf(label string) (relay.Profile, bool) {
	for _, p := range relay.Profiles {
		if rest, ok := strings.CutPrefix(label, p.Name); ok && (rest == "" || rest[0] == ' ' || rest[0] == ',') {
			return p, true
		}
	}
	return relay.Profile{}, false
}

// configuredDelay is a direction's configured delay, "2±1" (ms), with
// "+DTIM" when group frames are held.
func configuredDelay(d relay.Dir) string {
	ms := func(v time.Duration) string { return strconv.FormatFloat(float64(v)/1e6, 'f', -1, 64) }
	s := ms(d.Delay)
	if d.Jitter > 0 {
		s += "±" + ms(d.Jitter)
	}
	if d.GroupHold > 0 {
		s += "+DTIM"
	}
	return s
}

// writeCells prints a table with columns padded to their widest cell
// (counting runes, so "→" and "Δ" take one column).
func writeCells(w io.Writer, cells [][]string) {
	width := make([]int, len(cells[0]))
	for _, r := range cells {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	for j, r := range cells {
		var b strings.Builder
		for i, c := range r {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", width[i]-len([]rune(c))))
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		if j == 0 {
			var sep strings.Builder
			for i := range r {
				if i > 0 {
					sep.WriteString("-|-")
				}
				sep.WriteString(strings.Repeat("-", width[i]))
			}
			fmt.Fprintln(w, sep.String())
		}
	}
}

// nearestRank returns the nearest-rank q-quantile of sorted samples.
func nearestRank(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
