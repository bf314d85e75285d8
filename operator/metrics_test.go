package operator

import (
	"io"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"arcade/server"
)

// withClients is a server whose report lists the given clients.
type withClients struct {
	*server.Server
	clients []server.ClientInfo
}

func (w withClients) Report() server.StatsReport {
	r := w.Server.Report()
	r.ClientList = w.clients
	return r
}

func TestMetricsExposition(t *testing.T) {
	srvr, err := server.New(server.Config{Seed: 1}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	st := srvr.Stats()
	st.RxPackets.Add(42)
	st.Dropped[server.DropBadCookie].Add(3)
	for _, v := range []int64{1000, 2000, 3000, 4000} {
		st.ServerAdded.Record(v * 1000) // 1..4 ms
	}
	s := withClients{srvr, []server.ClientInfo{{ID: 7, Name: "a \"quoted\" name\\with\nnewline", Delivery: "unicast", McastLossPct: 5,
		RTTMs: 2.5, UpstreamLossPct: 6, UnicastLossPct: -1, BytesIn: 1234}}}
	srv := httptest.NewServer(Handler(s, Options{}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("content type %q", ct)
	}
	// Every sample line is `name{labels} value` with a parseable value,
	// and belongs to a declared family.
	families := metricNames(text)
	line := regexp.MustCompile(`^([a-z_]+)(\{[^}]*\})? (\S+)$`)
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("malformed sample line %q", l)
		}
		if _, err := strconv.ParseFloat(m[3], 64); err != nil {
			t.Fatalf("bad value in %q", l)
		}
		base := strings.TrimSuffix(strings.TrimSuffix(m[1], "_sum"), "_count")
		if !families[base] && !families[m[1]] {
			t.Fatalf("sample %q of an undeclared family", l)
		}
	}
	for _, want := range []string{
		"arcade_rx_packets_total 42\n",
		`arcade_dropped_total{reason="bad_cookie"} 3` + "\n",
		"arcade_server_added_latency_seconds_count 4\n",
		`arcade_client_unicast{client="7",name="a \"quoted\" name\\with\nnewline"} 1` + "\n",
		`arcade_client_mcast_loss_ratio{client="7",name="a \"quoted\" name\\with\nnewline"} 0.05` + "\n",
		`arcade_client_rtt_seconds{client="7",name="a \"quoted\" name\\with\nnewline"} 0.0025` + "\n",
		`arcade_client_upstream_loss_ratio{client="7",name="a \"quoted\" name\\with\nnewline"} 0.06` + "\n",
		`arcade_client_received_bytes_total{client="7",name="a \"quoted\" name\\with\nnewline"} 1234` + "\n",
		"arcade_build_info{version=",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q", want)
		}
	}
	// An unknown unicast loss is left out, not shown as 0.
	if strings.Contains(text, "arcade_client_unicast_loss_ratio{") {
		t.Error("an unknown unicast loss was exported")
	}
	// The median of 1..4 ms lies within the histogram's resolution.
	m := regexp.MustCompile(`arcade_server_added_latency_seconds\{quantile="0.5"\} (\S+)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatal("no median")
	}
	if v, _ := strconv.ParseFloat(m[1], 64); v < 0.0019 || v > 0.0031 {
		t.Errorf("median %v s, want about 2 ms", v)
	}
	// The process gauges, as Prometheus' standard collectors name them.
	for _, name := range []string{"process_resident_memory_bytes", "go_memstats_heap_inuse_bytes", "go_goroutines"} {
		m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(text)
		if !families[name] || m == nil {
			t.Errorf("no gauge %s", name)
			continue
		}
		if v, _ := strconv.ParseFloat(m[1], 64); v <= 0 {
			t.Errorf("%s is %v", name, v)
		}
	}
	for _, stage := range []string{"input", "grab", "physics", "broadcast"} {
		if !strings.Contains(text, `arcade_stage_seconds_count{stage="`+stage+`"}`) {
			t.Errorf("no stage %s", stage)
		}
	}
}
