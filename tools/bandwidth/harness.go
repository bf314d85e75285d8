package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/arcadexr/arcade/wire"
)

// Per-datagram overheads, bytes.
const (
	ipUDPOverhead = 28 // IPv4 (20) + UDP (8)
)

// RunConfig sets up the receivers of one measurement.
type RunConfig struct {
	Receivers int
	Loss      float64       // per datagram, per receiver, independent
	RTT       time.Duration // sender → receiver → sender
	Seed      uint64
	Warmup    float64 // s at the start left out of the figures
	// BudgetKbps is the payload budget of delta+budget.
	BudgetKbps int
}

// receivers simulates the multicast group's members and their
// acknowledgements, and is the Held the encoder sees.
//
// Every datagram of tick t reaches each receiver unless lost, each
// receiver drawing its own losses (a seeded stream per receiver) with
// probability Loss. A receiver that got every datagram of t holds t. After
// each tick every receiver sends one acknowledgement naming the datagrams
// it got of the last 64 ticks (an idealised ack: Arcade's header acks 33
// packets); it is lost with the same probability. One that
// arrives is visible to the sender from tick t + max(1, ⌈RTT·rate⌉) on:
// the tick's datagrams travel half the RTT, the acknowledgement the other
// half, and the sender reads acknowledgements before encoding a tick.
type receivers struct {
	loss     float64
	delay    int // ticks from sending to seeing the acknowledgement
	rngs     []*rand.Rand
	holds    [][]bool   // what each receiver really holds, by tick
	acked    [][]bool   // what the sender knows each holds, by tick
	rxGot    [][][]bool // per receiver, tick: which datagrams arrived
	gotAcked [][][]bool // the same, as far as the sender knows
	newest   []int
	queue    []ack

	sent, lost int // datagrams, over all receivers
	complete   int // (receiver, tick) pairs held
	ticks      int
}

type ack struct {
	visible, r, tick int
}

func newReceivers(cfg RunConfig, rate, ticks int) *receivers {
	rs := &receivers{loss: cfg.Loss, delay: max(1, int(math.Ceil(cfg.RTT.Seconds()*float64(rate)-1e-9)))}
	for r := range cfg.Receivers {
		rs.rngs = append(rs.rngs, rand.New(rand.NewPCG(cfg.Seed, 0x10551+uint64(r))))
		rs.holds = append(rs.holds, make([]bool, ticks))
		rs.acked = append(rs.acked, make([]bool, ticks))
		rs.rxGot = append(rs.rxGot, make([][]bool, ticks))
		rs.gotAcked = append(rs.gotAcked, make([][]bool, ticks))
		rs.rxGot = append(rs.rxGot, make([][]bool, ticks))
		rs.gotAcked = append(rs.gotAcked, make([][]bool, ticks))
		rs.newest = append(rs.newest, -1)
	}
	return rs
}

func (rs *receivers) Receivers() int { return len(rs.rngs) }

func (rs *receivers) Holds(r, u int) bool { return u >= 0 && u < len(rs.acked[r]) && rs.acked[r][u] }

func (rs *receivers) Newest(r int) int { return rs.newest[r] }

func (rs *receivers) Got(r, u, i int) bool {
	if u < 0 || u >= len(rs.gotAcked[r]) {
		return false
	}
	g := rs.gotAcked[r][u]
	return i >= 0 && i < len(g) && g[i]
}

func (rs *receivers) Baseline() int {
	if len(rs.newest) == 0 {
		return -1
	}
	u := slices.Min(rs.newest)
	for stop := u - BaselineWindow; u >= 0 && u > stop; u-- {
		all := true
		for r := range rs.acked {
			if !rs.acked[r][u] {
				all = false
				break
			}
		}
		if all {
			return u
		}
	}
	return -1
}

// see applies the acknowledgements visible at tick t.
func (rs *receivers) see(t int) {
	q := rs.queue[:0]
	for _, a := range rs.queue {
		if a.visible > t {
			q = append(q, a)
			continue
		}
		for u := max(0, a.tick-63); u <= a.tick; u++ {
			if g := rs.rxGot[a.r][u]; rs.gotAcked[a.r][u] == nil && g != nil {
				rs.gotAcked[a.r][u] = g // got is final once the tick is delivered
			}
			if rs.holds[a.r][u] {
				rs.acked[a.r][u] = true
				rs.newest[a.r] = max(rs.newest[a.r], u)
			}
		}
	}
	rs.queue = q
}

// deliver sends tick t's n datagrams to every receiver, then their
// acknowledgements.
func (rs *receivers) deliver(t, n int) {
	rs.ticks++
	for r, rng := range rs.rngs {
		got := true
		g := make([]bool, n)
		for i := range n {
			rs.sent++
			g[i] = rng.Float64() >= rs.loss
			if !g[i] {
				rs.lost++
				got = false
			}
		}
		rs.rxGot[r][t] = g
		if got {
			rs.holds[r][t] = true
			rs.complete++
		}
		if rng.Float64() >= rs.loss {
			rs.queue = append(rs.queue, ack{visible: t + rs.delay, r: r, tick: t})
		}
	}
}

// Result is the measurement of one encoder on one trace.
type Result struct {
	Scene     string  `json:"scene"`
	Rate      int     `json:"rate_hz"`
	Encoder   string  `json:"encoder"`
	Loss      float64 `json:"loss"`
	Receivers int     `json:"receivers"`
	RTTms     float64 `json:"rtt_ms"`
	Ticks     int     `json:"ticks_measured"`
	Seconds   float64 `json:"seconds_measured"`

	BodyBytesPerTick float64 `json:"body_bytes_per_tick"`
	DatagramsPerTick float64 `json:"datagrams_per_tick"`
	MaxDatagrams     int     `json:"max_datagrams_per_tick"`
	// kbps: bodies only; with the 22-byte Arcade header per datagram; with
	// that and IPv4+UDP (28 bytes). Means over the measured ticks, p95 over
	// one-second windows.
	KbpsBody      float64 `json:"kbps_body"`
	KbpsArcade    float64 `json:"kbps_arcade"`
	KbpsWire      float64 `json:"kbps_wire"`
	P95KbpsArcade float64 `json:"p95_kbps_arcade"`
	P95KbpsWire   float64 `json:"p95_kbps_wire"`

	LostShare     float64 `json:"datagrams_lost_share"` // measured, over all receivers
	CompleteShare float64 `json:"ticks_complete_share"` // (receiver, tick) pairs with every datagram
	// BaselineAge is the mean of t − Baseline() over the measured ticks
	// that had a baseline; NoBaseline the share that had none.
	BaselineAge float64 `json:"baseline_age_ticks"`
	NoBaseline  float64 `json:"no_baseline_share"`

	// Delta coders, which decode at their own receivers: unicast repairs
	// (kbps with both headers, all receivers together); the longest, and
	// the 99th percentile, of the runs of time a receiver showed a record
	// other than the one sent (after a loss), ms; ticks decoded to
	// anything but the sender's state (must be 0); ticks decoded whole,
	// over all receivers.
	RepairKbpsWire float64 `json:"repair_kbps_wire,omitempty"`
	WorstGapMs     float64 `json:"worst_stale_ms,omitempty"`
	StaleP99Ms     float64 `json:"p99_stale_ms,omitempty"`
	Mismatches     int     `json:"mismatches,omitempty"`
	// Coded streams: parity parts (kbps of bodies, within kbps body) and
	// parts receivers rebuilt from them.
	ParityKbps float64 `json:"parity_kbps_body,omitempty"`
	Recovered  int     `json:"parts_rebuilt,omitempty"`
	// GroupBaseAge is the mean age in ticks of the baseline the delta
	// coders' group coded against (statesync.Group).
	GroupBaseAge float64 `json:"group_baseline_age_ticks,omitempty"`
	Decoded      int     `json:"ticks_decoded,omitempty"`
	// Under a budget (delta+budget): the payload budget, entities held
	// back a tick on average, and the longest one waited, ms.
	BudgetKbps      int     `json:"budget_kbps,omitempty"`
	DeferredPerTick float64 `json:"deferred_per_tick,omitempty"`
	LongestWaitMs   float64 `json:"longest_wait_ms,omitempty"`
}

// stream is one encoder with its own receivers and tallies.
type stream struct {
	enc   Encoder
	rx    *receivers
	res   Result
	sizes []int
	// per measured tick
	body, dgrams []int
	ageSum       float64
	ageN, noBase int
}

// Run plays the trace through every encoder made by names, once per loss
// rate, each with its own receivers, and returns one Result per encoder and
// loss, in that order, and the time spent reading the trace's states.
func Run(tr Trace, names []string, losses []float64, cfg RunConfig) ([]Result, time.Duration, error) {
	rate := tr.Rate()
	var ss []*stream
	for _, loss := range losses {
		c := cfg
		c.Loss = loss
		encs, err := newEncoders(names, EncoderConfig{Rate: rate, HashEvery: 12, Run: c, BudgetKbps: cfg.BudgetKbps})
		if err != nil {
			return nil, 0, err
		}
		for _, e := range encs {
			ss = append(ss, &stream{enc: e, rx: newReceivers(c, rate, tr.Len()), res: Result{
				Scene: tr.Name(), Rate: rate, Encoder: e.Name(), Loss: loss, Receivers: cfg.Receivers,
				RTTms: float64(cfg.RTT) / float64(time.Millisecond),
			}})
		}
	}
	warm := int(math.Round(cfg.Warmup * float64(rate)))
	var s State
	var read time.Duration
	for t := range tr.Len() {
		t0 := time.Now()
		tr.State(t, &s)
		read += time.Since(t0)
		for _, st := range ss {
			st.rx.see(t)
			base := st.rx.Baseline()
			st.sizes = st.enc.Tick(t, &s, st.rx, st.sizes[:0])
			st.rx.deliver(t, len(st.sizes))
			if t < warm {
				continue
			}
			sum := 0
			for _, n := range st.sizes {
				sum += n
			}
			st.body = append(st.body, sum)
			st.dgrams = append(st.dgrams, len(st.sizes))
			if base >= 0 {
				st.ageSum += float64(t - base)
				st.ageN++
			} else {
				st.noBase++
			}
		}
	}
	var out []Result
	for _, st := range ss {
		out = append(out, st.result(rate))
	}
	return out, read, nil
}

func (st *stream) result(rate int) Result {
	r := st.res
	n := len(st.body)
	r.Ticks = n
	r.Seconds = float64(n) / float64(rate)
	if n == 0 {
		return r
	}
	var body, dg float64
	for i := range n {
		body += float64(st.body[i])
		dg += float64(st.dgrams[i])
		r.MaxDatagrams = max(r.MaxDatagrams, st.dgrams[i])
	}
	r.BodyBytesPerTick = body / float64(n)
	r.DatagramsPerTick = dg / float64(n)
	kbps := func(bytesPerTick float64) float64 { return bytesPerTick * 8 * float64(rate) / 1000 }
	r.KbpsBody = kbps(r.BodyBytesPerTick)
	r.KbpsArcade = kbps(r.BodyBytesPerTick + wire.HeaderSize*r.DatagramsPerTick)
	r.KbpsWire = kbps(r.BodyBytesPerTick + (wire.HeaderSize+ipUDPOverhead)*r.DatagramsPerTick)
	// One-second windows; a last partial window counts if at least half full.
	var arc, wr []float64
	for i := 0; i < n; i += rate {
		j := min(i+rate, n)
		if j-i < rate/2 && len(arc) > 0 {
			break
		}
		var b, d float64
		for k := i; k < j; k++ {
			b += float64(st.body[k])
			d += float64(st.dgrams[k])
		}
		m := float64(j - i)
		arc = append(arc, kbps((b+wire.HeaderSize*d)/m))
		wr = append(wr, kbps((b+(wire.HeaderSize+ipUDPOverhead)*d)/m))
	}
	r.P95KbpsArcade = percentile(arc, 0.95)
	r.P95KbpsWire = percentile(wr, 0.95)
	if st.rx.sent > 0 {
		r.LostShare = float64(st.rx.lost) / float64(st.rx.sent)
	}
	if st.rx.ticks > 0 && st.rx.Receivers() > 0 {
		r.CompleteShare = float64(st.rx.complete) / float64(st.rx.ticks*st.rx.Receivers())
	}
	if st.ageN > 0 {
		r.BaselineAge = st.ageSum / float64(st.ageN)
	}
	r.NoBaseline = float64(st.noBase) / float64(n)
	if x, ok := st.enc.(extras); ok {
		x.fill(&r)
	}
	return r
}

// percentile returns the q quantile of xs by the nearest-rank method.
func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}
