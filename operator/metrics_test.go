package operator

import (
	"bytes"
	"io"
	"math"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/wire"
)

// scrape GETs /metrics and returns its text and parsed families.
func scrape(t *testing.T, s Source) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	srv := httptest.NewServer(Handler(s, Options{}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %s: %s", resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("content type %q", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, body)
	}
	return string(body), fams
}

// sample returns the value of family name's metric whose labels include
// want, and false if there is none.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (*dto.Metric, bool) {
	f := fams[name]
	if f == nil {
		return nil, false
	}
next:
	for _, m := range f.Metric {
		for k, v := range want {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m, true
	}
	return nil, false
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return math.NaN()
}

func TestMetricsExposition(t *testing.T) {
	srvr, err := server.New(server.Config{Seed: 1}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	st := srvr.Stats()
	st.RxPackets.Add(42)
	st.Dropped[server.DropBadCookie].Add(3)
	st.Rx[wire.TypePoseInput].Add(5)
	st.RxBytes[wire.TypePoseInput].Add(500)
	st.Tx[wire.TypeSnapshot].Add(2)
	for _, v := range []int64{1000, 2000, 3000, 4000} {
		st.ServerAdded.Record(v * 1000) // 1..4 ms
	}
	text, fams := scrape(t, srvr)

	// The linter promtool check metrics runs.
	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	if path, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(path, "check", "metrics")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	} else {
		t.Log("promtool not installed: checked with promlint, its linter, only")
	}

	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"arcade_rx_packets_total", nil, 42},
		{"arcade_dropped_total", map[string]string{"reason": "bad_cookie"}, 3},
		{"arcade_datagrams_total", map[string]string{"direction": "rx", "type": "PoseInput"}, 5},
		{"arcade_datagram_bytes_total", map[string]string{"direction": "rx", "type": "PoseInput"}, 500},
		{"arcade_datagrams_total", map[string]string{"direction": "tx", "type": "Snapshot"}, 2},
		{"arcade_build_info", nil, 1},
	} {
		m, ok := sample(fams, c.name, c.labels)
		if !ok {
			t.Errorf("no %s%v", c.name, c.labels)
			continue
		}
		if v := value(m); v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}
	// Server-added latency is a histogram: 4 samples of 1..4 ms, each
	// counted under the first bound at or above it (within 1.6 %).
	m, ok := sample(fams, "arcade_server_added_latency_seconds", nil)
	if !ok || m.Histogram == nil {
		t.Fatal("no server-added histogram")
	}
	h := m.Histogram
	if h.GetSampleCount() != 4 || math.Abs(h.GetSampleSum()-0.010) > 0.0002 {
		t.Errorf("count %d sum %v, want 4 and 10 ms", h.GetSampleCount(), h.GetSampleSum())
	}
	if len(h.Bucket) < 10 {
		t.Errorf("%d buckets", len(h.Bucket))
	}
	for _, b := range h.Bucket {
		var atMost, wellBelow uint64
		for _, v := range []float64{1e-3, 2e-3, 3e-3, 4e-3} {
			if v <= b.GetUpperBound() {
				atMost++
			}
			if v <= b.GetUpperBound()*(1-1.0/64) {
				wellBelow++
			}
		}
		if got := b.GetCumulativeCount(); got < wellBelow || got > atMost {
			t.Errorf("≤ %v s: %d, want %d..%d", b.GetUpperBound(), got, wellBelow, atMost)
		}
	}
	for _, stage := range []string{"input", "grab", "physics", "broadcast"} {
		if m, ok := sample(fams, "arcade_stage_seconds", map[string]string{"stage": stage}); !ok || m.Histogram == nil {
			t.Errorf("no stage %s histogram", stage)
		}
	}
	// The library's runtime and process collectors.
	for _, name := range []string{"process_resident_memory_bytes", "go_goroutines", "go_memstats_heap_inuse_bytes"} {
		if m, ok := sample(fams, name, nil); !ok || value(m) <= 0 {
			t.Errorf("no positive %s", name)
		}
	}
}

// TestMetricsPerHeadset: every headset has its figures, labelled with its
// id and name (escaped), unknown values are left out rather than shown as
// 0, and a name that is not UTF-8 cannot fail the scrape.
func TestMetricsPerHeadset(t *testing.T) {
	srvr, err := server.New(server.Config{Seed: 1}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	name := "a \"quoted\" name\\with\nnewline"
	clients := []server.ClientInfo{
		{ID: 7, Name: name, Delivery: "unicast", McastLossPct: 5, RTTMs: 2.5, UpstreamLossPct: 6, UnicastLossPct: -1, BytesIn: 1234, Inputs: 900, DesyncChecks: 400, DesyncMismatches: 3},
		{ID: 8, Name: "bad \xff utf-8", Delivery: "multicast", UnicastLossPct: 2},
	}
	text, fams := scrape(t, withClients{srvr, clients})
	me := map[string]string{"client": "7", "name": name}
	for _, c := range []struct {
		name string
		want float64
	}{
		{"arcade_client_unicast", 1},
		{"arcade_client_mcast_loss_ratio", 0.05},
		{"arcade_client_rtt_seconds", 0.0025},
		{"arcade_client_upstream_loss_ratio", 0.06},
		{"arcade_client_received_bytes_total", 1234},
		{"arcade_client_inputs_total", 900},
		{"arcade_client_desync_checks_total", 400},
		{"arcade_client_desync_mismatches_total", 3},
	} {
		m, ok := sample(fams, c.name, me)
		if !ok {
			t.Errorf("no %s for client 7", c.name)
			continue
		}
		if v := value(m); math.Abs(v-c.want) > 1e-12 {
			t.Errorf("%s = %v, want %v", c.name, v, c.want)
		}
	}
	if _, ok := sample(fams, "arcade_client_unicast_loss_ratio", map[string]string{"client": "7"}); ok {
		t.Error("an unknown unicast loss was exported")
	}
	if m, ok := sample(fams, "arcade_client_unicast_loss_ratio", map[string]string{"client": "8", "name": "bad \uFFFD utf-8"}); !ok || value(m) != 0.02 {
		t.Errorf("client 8 (a name that is not UTF-8): %v %v", m, ok)
	}
	if !strings.Contains(text, `name="a \"quoted\" name\\with\nnewline"`) {
		t.Error("the name is not escaped as the text format wants")
	}
}

// withClients is a server whose published client list is clients.
type withClients struct {
	*server.Server
	clients []server.ClientInfo
}

func (w withClients) ClientList() []server.ClientInfo { return w.clients }
