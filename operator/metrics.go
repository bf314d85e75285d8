package operator

import (
	"net/http"
	"runtime"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/arcadexr/arcade/internal/metrics"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/wire"
)

// /metrics is served by Prometheus' own client library: a collector reads
// the server's lock-free counters and histograms at scrape time (nothing
// here touches the tick thread), beside the library's Go runtime and
// process collectors. The Go collector reads runtime/metrics, which does
// not stop the world (runtime.ReadMemStats would, tick thread included).
//
// Latencies are Prometheus histograms, in seconds, cumulative since the
// server started or since the last POST /api/stats/reset (a reset is a
// counter reset to Prometheus: rate() and increase() handle it), so they
// aggregate across servers and windows are a query away, e.g. the tick
// lateness p99 over the last 10 s:
//
//	histogram_quantile(0.99, rate(arcade_tick_lateness_seconds_bucket[10s]))
//
// The buckets are a coarse view of the server's own histograms (a relative
// error under 1.6 %): a value is counted under the first bound at or above
// its own bucket's upper end, so at most 1.6 % late, never early.

// latencyBounds are the histograms' bucket upper bounds (ns): from 5 µs to
// 1 s, roughly ×2 a step, with the tick's own scale (1–16 ms) resolved.
var latencyBounds = []int64{
	5e3, 10e3, 25e3, 50e3, 100e3, 250e3, 500e3,
	1e6, 2e6, 4e6, 8e6, 16e6, 32e6, 64e6, 128e6, 256e6, 512e6, 1e9,
}

// latencyBoundsSeconds is latencyBounds in seconds, the keys of a const
// histogram's buckets.
var latencyBoundsSeconds = func() []float64 {
	s := make([]float64, len(latencyBounds))
	for i, b := range latencyBounds {
		s[i] = float64(b) / 1e9
	}
	return s
}()

// newRegistry returns the registry /metrics serves: Arcade's figures, Go's
// runtime and the process.
func newRegistry(s Source) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		newCollector(s),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// metricsHandler serves reg in the exposition format the scraper asks for
// (text or protobuf); a collector that fails is an error in the answer,
// not a crash.
func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, MaxRequestsInFlight: 2})
}

// collector exports the server's Stats, Report and Loop figures.
type collector struct {
	s Source

	counters   []counterDesc
	histograms []histDesc
	dropped    *prometheus.Desc
	late       *prometheus.Desc
	missed     *prometheus.Desc
	datagrams  *prometheus.Desc
	bytes      *prometheus.Desc
	stage      *prometheus.Desc
	clients    *prometheus.Desc
	tickRate   *prometheus.Desc
	steal      *prometheus.Desc
	hostLate   *prometheus.Desc
	spin       *prometheus.Desc
	wakeLate   *prometheus.Desc
	yield      *prometheus.Desc
	buildInfo  *prometheus.Desc
	perClient  []clientDesc
}

type counterDesc struct {
	d *prometheus.Desc
	v func(st *server.Stats) uint64
}

type histDesc struct {
	d *prometheus.Desc
	h func(st *server.Stats) *metrics.Histogram
}

// clientDesc is one per-headset figure. Its labels are the headset's
// client id and name: at most Config.MaxClients series a figure at any
// time, and a headset that leaves takes its series with it.
type clientDesc struct {
	d   *prometheus.Desc
	typ prometheus.ValueType
	v   func(c *server.ClientInfo) (float64, bool)
}

func newCollector(s Source) *collector {
	c := &collector{s: s}
	counter := func(name, help string, v func(st *server.Stats) uint64) {
		c.counters = append(c.counters, counterDesc{prometheus.NewDesc(name, help, nil, nil), v})
	}
	hist := func(name, help string, h func(st *server.Stats) *metrics.Histogram) {
		c.histograms = append(c.histograms, histDesc{prometheus.NewDesc(name, help, nil, nil), h})
	}
	counter("arcade_ticks_total", "Ticks run.", func(st *server.Stats) uint64 { return st.Ticks.Load() })
	counter("arcade_missed_ticks_total", "Tick deadlines skipped because the loop woke too late.", func(st *server.Stats) uint64 { return st.MissedTicks.Load() })
	counter("arcade_rx_packets_total", "Datagrams received.", func(st *server.Stats) uint64 { return st.RxPackets.Load() })
	counter("arcade_tx_packets_total", "Datagrams sent.", func(st *server.Stats) uint64 { return st.TxPackets.Load() })
	counter("arcade_eager_updates_total", "EntityUpdate datagrams sent between ticks.", func(st *server.Stats) uint64 { return st.EagerUpdates.Load() })
	counter("arcade_delivery_switches_total", "Headsets moved between multicast and unicast delivery.", func(st *server.Stats) uint64 { return st.DeliverySwitches.Load() })
	counter("arcade_fallback_deferred_total", "Moves to unicast the fallback's limits held back.", func(st *server.Stats) uint64 { return st.FallbackDeferred.Load() })
	counter("arcade_reports_starved_total", "Delivery reports from headsets too busy to read their sockets in time (not blamed on multicast).", func(st *server.Stats) uint64 { return st.ReportsStarved.Load() })
	counter("arcade_state_repairs_total", "Ticks sent by unicast to a headset on the group that lacked the group's baseline.", func(st *server.Stats) uint64 { return st.StateRepairs.Load() })
	counter("arcade_state_deferred_total", "Entity records held back a tick by the state budget.", func(st *server.Stats) uint64 { return st.StateDeferred.Load() })
	counter("arcade_departed_evicted_total", "Departed players forgotten before their resume window ended (table full).", func(st *server.Stats) uint64 { return st.DepartedEvicted.Load() })
	counter("arcade_unknown_session_notices_total", "Disconnect(UnknownSession) answers to datagrams with a token the server does not hold.", func(st *server.Stats) uint64 { return st.UnknownSessionNotices.Load() })
	counter("arcade_events_dropped_total", "Join and leave log events dropped because the logger fell behind.", func(st *server.Stats) uint64 { return st.EventsDropped.Load() })
	counter("arcade_latency_samples_dropped_total", "Latency samples not recorded (sample table full).", func(st *server.Stats) uint64 { return st.SamplesDropped.Load() })
	counter("arcade_rpc_received_total", "Reliable-channel RPC messages received.", func(st *server.Stats) uint64 { return st.RPCIn.Load() })
	counter("arcade_rpc_sent_total", "Reliable-channel RPC messages sent.", func(st *server.Stats) uint64 { return st.RPCOut.Load() })
	counter("arcade_rpc_send_failed_total", "RPC messages that could not be queued (the headset's reliable window was full).", func(st *server.Stats) uint64 { return st.RPCSendFailed.Load() })
	counter("arcade_grabs_refused_total", "Grab requests refused.", func(st *server.Stats) uint64 { return st.GrabsRefused.Load() })
	counter("arcade_desync_checks_total", "State hashes headsets compared with the hash of the state they hold (PROTOCOL §10.5).", func(st *server.Stats) uint64 { return st.DesyncChecks.Load() })
	counter("arcade_desync_mismatches_total", "State hash checks that found a headset's state differing from the server's.", func(st *server.Stats) uint64 { return st.DesyncMismatches.Load() })

	hist("arcade_tick_lateness_seconds", "How late a tick started after its deadline.", func(st *server.Stats) *metrics.Histogram { return &st.TickLateness })
	hist("arcade_send_syscall_seconds", "Time inside the send calls of one flush (on loopback: with the delivery of every multicast copy).", func(st *server.Stats) *metrics.Histogram { return &st.SendSyscall })
	hist("arcade_server_added_latency_seconds", "Kernel receive of every pose input to the hand-off of the first send carrying it.", func(st *server.Stats) *metrics.Histogram { return &st.ServerAdded })
	hist("arcade_server_added_grab_latency_seconds", "The same for poses of headsets holding objects, to the send carrying the held objects.", func(st *server.Stats) *metrics.Histogram { return &st.ServerAddedGrab })
	hist("arcade_rx_delay_seconds", "Kernel receive timestamp to the server reading the datagram.", func(st *server.Stats) *metrics.Histogram { return &st.RxDelay })
	hist("arcade_grab_physics_seconds", "Grab and physics stages together.", func(st *server.Stats) *metrics.Histogram { return &st.GrabPhysics })
	hist("arcade_substep_io_seconds", "The socket served between physics sub-steps (receive, apply, sends), apart from the physics stage.", func(st *server.Stats) *metrics.Histogram { return &st.SubStepIO })
	hist("arcade_tick_seconds", "Duration of a whole tick.", func(st *server.Stats) *metrics.Histogram { return &st.TickTotal })

	c.dropped = prometheus.NewDesc("arcade_dropped_total", "Datagrams dropped, by reason.", []string{"reason"}, nil)
	c.late = prometheus.NewDesc("arcade_ticks_late_total", "Ticks that started LateTick or more after their deadline, by whose fault: the host's (its reference timer loop was late too), Arcade's, or unknown (no reference).", []string{"cause"}, nil)
	c.missed = prometheus.NewDesc("arcade_missed_ticks_by_cause_total", "arcade_missed_ticks_total by the fault of the late tick that skipped them: the host's, the wake's (the tick thread slept through its deadline, woken late while the reference was on time), Arcade's or unknown.", []string{"cause"}, nil)
	c.datagrams = prometheus.NewDesc("arcade_datagrams_total", "Datagrams by direction and packet type (rx type \"unparsed\": the header did not parse).", []string{"direction", "type"}, nil)
	c.bytes = prometheus.NewDesc("arcade_datagram_bytes_total", "Datagram bytes (headers and seals included) by direction and packet type.", []string{"direction", "type"}, nil)
	c.stage = prometheus.NewDesc("arcade_stage_seconds", "Duration of each tick stage.", []string{"stage"}, nil)
	c.clients = prometheus.NewDesc("arcade_clients", "Connected headsets.", nil, nil)
	c.tickRate = prometheus.NewDesc("arcade_tick_rate_hz", "Configured ticks per second.", nil, nil)
	c.hostLate = prometheus.NewDesc("arcade_host_timer_lateness_seconds", "Wake-up lateness of a bare timerfd loop on this host, the reference the tick is held against.", nil, nil)
	c.steal = prometheus.NewDesc("arcade_cpu_steal_ratio", "CPU time the hypervisor gave to others, over the last sampling interval.", nil, nil)
	c.spin = prometheus.NewDesc("arcade_tick_spin_seconds", "Time spun per deadline between an early timer wake and the deadline.", nil, nil)
	c.wakeLate = prometheus.NewDesc("arcade_timer_wake_late_seconds", "How late the tick thread's timer woke after the instant it was armed for.", nil, nil)
	c.yield = prometheus.NewDesc("arcade_tick_yield_seconds", "Time the tick thread spent passing through Go's scheduler just after a tick.", nil, nil)
	c.buildInfo = prometheus.NewDesc("arcade_build_info", "The server's build: its version and Go's.", []string{"version", "goversion"}, nil)

	client := func(name string, typ prometheus.ValueType, help string, v func(c *server.ClientInfo) (float64, bool)) {
		c.perClient = append(c.perClient, clientDesc{prometheus.NewDesc(name, help, []string{"client", "name"}, nil), typ, v})
	}
	client("arcade_client_unicast", prometheus.GaugeValue, "Whether a headset's state goes by unicast (1) or multicast (0).",
		func(c *server.ClientInfo) (float64, bool) { return b2f(c.Delivery == "unicast"), true })
	client("arcade_client_mcast_loss_ratio", prometheus.GaugeValue, "Multicast loss in the headset's latest delivery report.",
		func(c *server.ClientInfo) (float64, bool) { return c.McastLossPct / 100, true })
	client("arcade_client_mcast_loss_recent_ratio", prometheus.GaugeValue, "Multicast loss over the headset's last 8 delivery reports (about 2 s): what flags it on the dashboard.",
		func(c *server.ClientInfo) (float64, bool) { return c.McastLossRecentPct / 100, true })
	client("arcade_client_mcast_excess_seconds", prometheus.GaugeValue, "Multicast arrival after unicast, p90 of the headset's latest delivery report.",
		func(c *server.ClientInfo) (float64, bool) { return c.McastExcessP90Ms / 1e3, true })
	client("arcade_client_rtt_seconds", prometheus.GaugeValue, "Smallest round trip of the last 1–2 s, from the acknowledgements in the headset's datagrams.",
		func(c *server.ClientInfo) (float64, bool) { return c.RTTMs / 1e3, c.RTTMs > 0 })
	client("arcade_client_jitter_seconds", prometheus.GaugeValue, "Round-trip jitter of the headset's reliable channel.",
		func(c *server.ClientInfo) (float64, bool) { return c.JitterMs / 1e3, true })
	client("arcade_client_upstream_loss_ratio", prometheus.GaugeValue, "Loss of the headset's datagrams to the server, from their sequence numbers.",
		func(c *server.ClientInfo) (float64, bool) { return c.UpstreamLossPct / 100, true })
	client("arcade_client_upstream_loss_recent_ratio", prometheus.GaugeValue, "Loss of the headset's datagrams to the server over the last 5 s: what flags it on the dashboard.",
		func(c *server.ClientInfo) (float64, bool) { return c.UpstreamLossRecentPct / 100, true })
	client("arcade_client_unicast_loss_ratio", prometheus.GaugeValue, "Loss of the server's unicast datagrams to the headset over its last reports (absent when unknown).",
		func(c *server.ClientInfo) (float64, bool) { return c.UnicastLossPct / 100, c.UnicastLossPct >= 0 })
	client("arcade_client_latency_p99_seconds", prometheus.GaugeValue, "Server-added latency p99 of the headset's last 128 inputs.",
		func(c *server.ClientInfo) (float64, bool) { return c.LatencyP99Ms / 1e3, c.LatencyP99Ms > 0 })
	client("arcade_client_inputs_total", prometheus.CounterValue, "Pose inputs applied from the headset (rate() of it against the headset's tracking rate).",
		func(c *server.ClientInfo) (float64, bool) { return float64(c.Inputs), true })
	client("arcade_client_received_bytes_total", prometheus.CounterValue, "Reliable-channel bytes received from the headset.",
		func(c *server.ClientInfo) (float64, bool) { return float64(c.BytesIn), true })
	client("arcade_client_sent_bytes_total", prometheus.CounterValue, "Reliable-channel bytes sent to the headset.",
		func(c *server.ClientInfo) (float64, bool) { return float64(c.BytesOut), true })
	client("arcade_client_retransmits_total", prometheus.CounterValue, "Reliable-channel fragments resent to the headset.",
		func(c *server.ClientInfo) (float64, bool) { return float64(c.Retransmits), true })
	client("arcade_client_desync_checks_total", prometheus.CounterValue, "State hashes the headset checked against its own state.",
		func(c *server.ClientInfo) (float64, bool) { return float64(c.DesyncChecks), true })
	client("arcade_client_desync_mismatches_total", prometheus.CounterValue, "State hash checks of the headset that mismatched (rate() over checks: its desync rate).",
		func(c *server.ClientInfo) (float64, bool) { return float64(c.DesyncMismatches), true })
	return c
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Describe sends every fixed descriptor.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.counters {
		ch <- d.d
	}
	for _, d := range c.histograms {
		ch <- d.d
	}
	for _, d := range []*prometheus.Desc{c.dropped, c.late, c.missed, c.datagrams, c.bytes, c.stage, c.clients, c.tickRate,
		c.hostLate, c.steal, c.spin, c.wakeLate, c.yield, c.buildInfo} {
		ch <- d
	}
	for _, d := range c.perClient {
		ch <- d.d
	}
}

// histogram makes a const histogram of h. Collect may run concurrently
// (two scrapes), so the cumulative counts go into a fresh map each time.
func (c *collector) histogram(d *prometheus.Desc, h *metrics.Histogram, labels ...string) prometheus.Metric {
	cum := make([]uint64, len(latencyBounds))
	count, sum := h.Cumulative(latencyBounds, cum)
	buckets := make(map[float64]uint64, len(cum))
	for i, n := range cum {
		buckets[latencyBoundsSeconds[i]] = n
	}
	return prometheus.MustNewConstHistogram(d, count, float64(sum)/1e9, buckets, labels...)
}

// Collect reads the figures.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	cfg := c.s.Config()
	ch <- prometheus.MustNewConstMetric(c.clients, prometheus.GaugeValue, float64(st.Clients.Load()))
	ch <- prometheus.MustNewConstMetric(c.tickRate, prometheus.GaugeValue, float64(cfg.TickRate))
	for _, d := range c.counters {
		ch <- prometheus.MustNewConstMetric(d.d, prometheus.CounterValue, float64(d.v(st)))
	}
	for r := server.DropReason(0); r < server.NumDropReasons; r++ {
		ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(st.Dropped[r].Load()), r.String())
	}
	for _, l := range []struct {
		cause string
		n     uint64
	}{{"host", st.TicksLateHost.Load()}, {"arcade", st.TicksLateArcade.Load()}, {"unknown", st.TicksLateUnknown.Load()}} {
		ch <- prometheus.MustNewConstMetric(c.late, prometheus.CounterValue, float64(l.n), l.cause)
	}
	for _, l := range []struct {
		cause string
		n     uint64
	}{{"host", st.MissedTicksHost.Load()}, {"wake", st.MissedTicksWake.Load()}, {"arcade", st.MissedTicksArcade.Load()}, {"unknown", st.MissedTicksUnknown.Load()}} {
		ch <- prometheus.MustNewConstMetric(c.missed, prometheus.CounterValue, float64(l.n), l.cause)
	}
	for t := range wire.MaxType + 1 {
		name := wire.PacketType(t).String()
		if t == 0 {
			name = "unparsed"
		}
		if n := st.Rx[t].Load(); n > 0 || t > 0 {
			ch <- prometheus.MustNewConstMetric(c.datagrams, prometheus.CounterValue, float64(n), "rx", name)
			ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(st.RxBytes[t].Load()), "rx", name)
		}
		if t > 0 {
			ch <- prometheus.MustNewConstMetric(c.datagrams, prometheus.CounterValue, float64(st.Tx[t].Load()), "tx", name)
			ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(st.TxBytes[t].Load()), "tx", name)
		}
	}
	for _, d := range c.histograms {
		ch <- c.histogram(d.d, d.h(st))
	}
	for i, name := range server.StageNames {
		ch <- c.histogram(c.stage, &st.Stage[i], name)
	}
	if p := cfg.HostProbe; p != nil {
		ch <- c.histogram(c.hostLate, p.Lateness())
		ch <- prometheus.MustNewConstMetric(c.steal, prometheus.GaugeValue, p.StealPct()/100)
	}
	if l := c.s.Loop(); l != nil {
		ch <- c.histogram(c.spin, &l.Spin)
		ch <- c.histogram(c.wakeLate, &l.WakeLate)
		ch <- c.histogram(c.yield, &l.Yield)
	}
	ch <- prometheus.MustNewConstMetric(c.buildInfo, prometheus.GaugeValue, 1, buildVersion(), runtime.Version())

	clients := c.s.ClientList()
	for _, d := range c.perClient {
		for i := range clients {
			v, ok := d.v(&clients[i])
			if !ok {
				continue
			}
			// Names are checked UTF-8 on arrival (PROTOCOL §4); made
			// valid again here so that no name can fail a scrape.
			m, err := prometheus.NewConstMetric(d.d, d.typ, v, strconv.Itoa(int(clients[i].ID)), strings.ToValidUTF8(clients[i].Name, "\uFFFD"))
			if err == nil {
				ch <- m
			}
		}
	}
}
