package operator

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"runtime"
	rtmetrics "runtime/metrics"
	"strconv"
	"strings"

	"arcade/internal/metrics"
	"arcade/server"
)

// writeMetrics writes the same figures as /api/stats in the Prometheus text
// exposition format (version 0.0.4). Histograms are exported as summaries
// (quantiles 0.5, 0.9, 0.99 plus _sum and _count) in seconds. Everything is
// read from the lock-free counters the tick thread updates; nothing here
// touches the tick.
func writeMetrics(s Source, w *bufio.Writer) {
	st := s.Stats()
	cfg := s.Config()
	counter := func(name, help string, v uint64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	gauge := func(name, help string, v float64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, help, name, name, num(v))
	}
	summaryHead := func(name, help string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s summary\n", name, help, name)
	}
	summary := func(name, labels string, h *metrics.Histogram) {
		sep := ""
		if labels != "" {
			sep = ","
		}
		for _, q := range []float64{0.5, 0.9, 0.99} {
			fmt.Fprintf(w, "%s{%s%squantile=\"%s\"} %s\n", name, labels, sep, num(q), num(float64(h.Quantile(q))/1e9))
		}
		braces := ""
		if labels != "" {
			braces = "{" + labels + "}"
		}
		fmt.Fprintf(w, "%s_sum%s %s\n%s_count%s %d\n", name, braces, num(float64(h.Sum())/1e9), name, braces, h.Count())
	}

	gauge("arcade_clients", "Connected headsets.", float64(st.Clients.Load()))
	gauge("arcade_tick_rate_hz", "Configured ticks per second.", float64(cfg.TickRate))
	counter("arcade_ticks_total", "Ticks run.", st.Ticks.Load())
	counter("arcade_missed_ticks_total", "Tick deadlines skipped because the loop woke too late.", st.MissedTicks.Load())
	counter("arcade_rx_packets_total", "Datagrams received.", st.RxPackets.Load())
	counter("arcade_tx_packets_total", "Datagrams sent.", st.TxPackets.Load())
	counter("arcade_eager_updates_total", "EntityUpdate datagrams sent between ticks.", st.EagerUpdates.Load())
	counter("arcade_delivery_switches_total", "Headsets moved between multicast and unicast delivery.", st.DeliverySwitches.Load())
	counter("arcade_fallback_deferred_total", "Moves to unicast the fallback's limits held back.", st.FallbackDeferred.Load())
	counter("arcade_state_repairs_total", "Ticks sent by unicast to a headset on the group that lacked the group's baseline.", st.StateRepairs.Load())
	counter("arcade_state_deferred_total", "Entity records held back a tick by the state budget.", st.StateDeferred.Load())
	counter("arcade_departed_evicted_total", "Departed players forgotten before their resume window ended (table full).", st.DepartedEvicted.Load())

	fmt.Fprintf(w, "# HELP arcade_dropped_total Datagrams dropped, by reason.\n# TYPE arcade_dropped_total counter\n")
	for r := server.DropReason(0); r < server.NumDropReasons; r++ {
		fmt.Fprintf(w, "arcade_dropped_total{reason=%s} %d\n", label(r.String()), st.Dropped[r].Load())
	}

	summaryHead("arcade_tick_lateness_seconds", "How late a tick started after its deadline.")
	summary("arcade_tick_lateness_seconds", "", &st.TickLateness)
	fmt.Fprintf(w, "# HELP arcade_ticks_late_total Ticks that started LateTick or more after their deadline, by whose fault.\n# TYPE arcade_ticks_late_total counter\n")
	for _, c := range []struct {
		cause string
		n     uint64
	}{{"host", st.TicksLateHost.Load()}, {"arcade", st.TicksLateArcade.Load()}, {"unknown", st.TicksLateUnknown.Load()}} {
		fmt.Fprintf(w, "arcade_ticks_late_total{cause=%s} %d\n", label(c.cause), c.n)
	}
	if p := cfg.HostProbe; p != nil {
		summaryHead("arcade_host_timer_lateness_seconds", "Wake-up lateness of a bare timerfd loop on this host, the reference the tick is held against.")
		summary("arcade_host_timer_lateness_seconds", "", p.Lateness())
		gauge("arcade_cpu_steal_ratio", "CPU time the hypervisor gave to others, over the last sampling interval.", p.StealPct()/100)
	}
	if l := s.Loop(); l != nil {
		summaryHead("arcade_tick_spin_seconds", "Time spun per deadline between an early timer wake and the deadline.")
		summary("arcade_tick_spin_seconds", "", &l.Spin)
		summaryHead("arcade_timer_wake_late_seconds", "How late the tick thread's timer woke after the instant it was armed for.")
		summary("arcade_timer_wake_late_seconds", "", &l.WakeLate)
	}
	summaryHead("arcade_stage_seconds", "Duration of each tick stage.")
	for i, name := range server.StageNames {
		summary("arcade_stage_seconds", "stage="+label(name), &st.Stage[i])
	}
	summaryHead("arcade_send_syscall_seconds", "Time inside the send calls of one flush (on loopback: with the delivery of every multicast copy).")
	summary("arcade_send_syscall_seconds", "", &st.SendSyscall)
	summaryHead("arcade_server_added_latency_seconds", "Kernel receive of every pose input to the hand-off of the first send carrying it.")
	summary("arcade_server_added_latency_seconds", "", &st.ServerAdded)
	summaryHead("arcade_server_added_grab_latency_seconds", "The same for poses of headsets holding objects, to the send carrying the held objects.")
	summary("arcade_server_added_grab_latency_seconds", "", &st.ServerAddedGrab)
	summaryHead("arcade_rx_delay_seconds", "Kernel receive timestamp to the server reading the datagram.")
	summary("arcade_rx_delay_seconds", "", &st.RxDelay)
	summaryHead("arcade_grab_physics_seconds", "Grab and physics stages together.")
	summary("arcade_grab_physics_seconds", "", &st.GrabPhysics)

	clients := s.Report().ClientList
	fmt.Fprintf(w, "# HELP arcade_client_unicast Whether a headset's snapshots go by unicast (1) or multicast (0).\n# TYPE arcade_client_unicast gauge\n")
	for _, c := range clients {
		v := 0
		if c.Delivery == "unicast" {
			v = 1
		}
		fmt.Fprintf(w, "arcade_client_unicast{client=\"%d\",name=%s} %d\n", c.ID, label(c.Name), v)
	}
	fmt.Fprintf(w, "# HELP arcade_client_mcast_loss_ratio Multicast loss in the headset's latest delivery report.\n# TYPE arcade_client_mcast_loss_ratio gauge\n")
	for _, c := range clients {
		fmt.Fprintf(w, "arcade_client_mcast_loss_ratio{client=\"%d\",name=%s} %s\n", c.ID, label(c.Name), num(c.McastLossPct/100))
	}
	fmt.Fprintf(w, "# HELP arcade_client_mcast_excess_seconds Multicast arrival after unicast, p90 of the latest delivery report.\n# TYPE arcade_client_mcast_excess_seconds gauge\n")
	for _, c := range clients {
		fmt.Fprintf(w, "arcade_client_mcast_excess_seconds{client=\"%d\",name=%s} %s\n", c.ID, label(c.Name), num(c.McastExcessP90Ms/1e3))
	}

	perClient := func(name, typ, help string, v func(c *server.ClientInfo) (float64, bool)) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		for i := range clients {
			if x, ok := v(&clients[i]); ok {
				fmt.Fprintf(w, "%s{client=\"%d\",name=%s} %s\n", name, clients[i].ID, label(clients[i].Name), num(x))
			}
		}
	}
	perClient("arcade_client_rtt_seconds", "gauge", "Smallest round trip of the last 1–2 s, from the acknowledgements in the headset's datagrams.",
		func(c *server.ClientInfo) (float64, bool) { return c.RTTMs / 1e3, c.RTTMs > 0 })
	perClient("arcade_client_jitter_seconds", "gauge", "Round-trip jitter of the headset's reliable channel.",
		func(c *server.ClientInfo) (float64, bool) { return c.JitterMs / 1e3, true })
	perClient("arcade_client_upstream_loss_ratio", "gauge", "Loss of the headset's datagrams to the server, from their sequence numbers.",
		func(c *server.ClientInfo) (float64, bool) { return c.UpstreamLossPct / 100, true })
	perClient("arcade_client_unicast_loss_ratio", "gauge", "Loss of the server's unicast datagrams to the headset, from its reports (absent when unknown).",
		func(c *server.ClientInfo) (float64, bool) { return c.UnicastLossPct / 100, c.UnicastLossPct >= 0 })
	perClient("arcade_client_received_bytes_total", "counter", "Reliable-channel bytes received from the headset.",
		func(c *server.ClientInfo) (float64, bool) { return float64(c.BytesIn), true })
	perClient("arcade_client_sent_bytes_total", "counter", "Reliable-channel bytes sent to the headset.",
		func(c *server.ClientInfo) (float64, bool) { return float64(c.BytesOut), true })
	fmt.Fprintf(w, "# HELP arcade_build_info The server's build: its version and Go's.\n# TYPE arcade_build_info gauge\narcade_build_info{version=%s,goversion=%s} 1\n",
		label(buildVersion()), label(runtime.Version()))

	// The process, under the names of Prometheus' standard collectors,
	// read at scrape time (runtime/metrics does not stop the world, as
	// runtime.ReadMemStats would, tick thread included).
	if rss, ok := residentBytes(); ok {
		gauge("process_resident_memory_bytes", "Resident memory size in bytes.", float64(rss))
	}
	gauge("go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use.", float64(heapInuseBytes()))
	gauge("go_goroutines", "Number of goroutines that currently exist.", float64(runtime.NumGoroutine()))
}

// residentBytes returns the process's resident set size from
// /proc/self/statm (Linux), and false where there is none.
func residentBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}

// heapInuseBytes is runtime.MemStats.HeapInuse: the bytes of in-use heap
// spans, objects and the free space among them.
func heapInuseBytes() uint64 {
	s := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	rtmetrics.Read(s)
	var n uint64
	for _, x := range s {
		if x.Value.Kind() == rtmetrics.KindUint64 {
			n += x.Value.Uint64()
		}
	}
	return n
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// labelEscaper escapes a label value as the exposition format requires.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// label returns a quoted label value.
func label(v string) string { return `"` + labelEscaper.Replace(v) + `"` }

func serveMetrics(s Source, w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriter(w)
	writeMetrics(s, bw)
	bw.Flush()
}

// metricNames lists the metric families /metrics exposes (for tests).
func metricNames(text string) map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "# TYPE ") {
			m[strings.Fields(line)[2]] = true
		}
	}
	return m
}
