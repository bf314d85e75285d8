package operator

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/arcadexr/arcade/internal/wait"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/wire"
)

// sseEvent is one parsed Server-Sent Event.
type sseEvent struct {
	name string
	data string
}

// sseReader parses an event stream.
type sseReader struct{ sc *bufio.Scanner }

func newSSEReader(r io.Reader) *sseReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	return &sseReader{sc}
}

// next returns the next event that carries data.
func (r *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	for r.sc.Scan() {
		line := r.sc.Text()
		switch {
		case line == "":
			if ev.data != "" {
				return ev, nil
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data += strings.TrimPrefix(line, "data: ")
		}
	}
	if err := r.sc.Err(); err != nil {
		return ev, err
	}
	return ev, io.EOF
}

// fakeSource stands in for a running server: a report whose client
// list advances by 9 inputs per call, and a fixed world. Every stream calls
// it from its own goroutine.
type fakeSource struct {
	calls atomic.Uint64
}

func (f *fakeSource) report() server.StatsReport {
	n := f.calls.Add(1)
	return server.StatsReport{
		TickRate: 120,
		StageUS:  map[string]server.Quantiles{"input": {P50: 2, P99: 10}, "broadcast": {P50: 40, P99: 90}},
		ClientList: []server.ClientInfo{
			{ID: 1, Name: "quest-a", Addr: "10.0.0.2:5000", Delivery: "multicast", DeliveryReason: "multicast", Inputs: 9 * n, LastInputSeq: uint32(9 * n)},
			{ID: 2, Name: "quest-b", Addr: "10.0.0.3:5000", Delivery: "unicast", Fallback: true, DeliveryReason: "no multicast received while unicast probes arrived", IdleMs: 900},
			{ID: 3, Name: "quest-c", Addr: "10.0.0.4:5000", Delivery: "unicast", DeliveryReason: "client asked for unicast"},
		},
	}
}

func (f *fakeSource) world() ([]wire.PlayerState, []wire.EntityState) {
	// Head at (1, 1.7, 2) turned 90° left (yaw +90° about Y): facing -X.
	s := float32(math.Sqrt2 / 2)
	players := []wire.PlayerState{{ClientID: 1, Head: wire.Pose{Pos: wire.Vec3{X: 1, Y: 1.7, Z: 2}, Rot: wire.Quat{Y: s, W: s}}}}
	entities := []wire.EntityState{{ID: 4, Flags: wire.EntityHeld | wire.EntityGrabbable, Pose: wire.Pose{Pos: wire.Vec3{X: -0.5, Y: 1, Z: 0.25}, Rot: wire.Quat{W: 1}}}}
	return players, entities
}

// newTestDashboard returns a dashboard over a fakeSource with a short
// interval, and a test server for it.
func newTestDashboard(t *testing.T, base context.Context) (*dashboard, *httptest.Server) {
	t.Helper()
	return newTestDashboardOn(t, base, nil)
}

// newTestDashboardOn is newTestDashboard with the server's listener
// wrapped by wrap, if not nil.
func newTestDashboardOn(t *testing.T, base context.Context, wrap func(net.Listener) net.Listener) (*dashboard, *httptest.Server) {
	t.Helper()
	f := &fakeSource{}
	d := newDashboardFrom(f.report, f.world, scene.Default(), "test", dashServer{Name: "test-box", Discovery: "n/a", TickRate: 120})
	d.interval = 20 * time.Millisecond
	mux := http.NewServeMux()
	d.register(mux)
	srv := httptest.NewUnstartedServer(mux)
	if base != nil {
		srv.Config.BaseContext = func(net.Listener) context.Context { return base }
	}
	if wrap != nil {
		srv.Listener = wrap(srv.Listener)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return d, srv
}

func openEvents(t *testing.T, ctx context.Context, url string) (*http.Response, *sseReader) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/api/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("GET /api/events: %s", resp.Status)
	}
	return resp, newSSEReader(resp.Body)
}

// streamGoroutines counts the goroutines serving an event stream: those
// with serveEvents on their stack (once each, whether or not they are in
// one of its closures, which the compiler may or may not inline).
func streamGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "(*dashboard).serveEvents") {
			n++
		}
	}
	return n
}

// waitStreams waits for the number of stream goroutines to become want.
func waitStreams(t *testing.T, want int) {
	t.Helper()
	if !wait.Until(10*time.Second, func() bool { return streamGoroutines() == want }) {
		t.Fatalf("%d event stream goroutines, want %d", streamGoroutines(), want)
	}
}

func TestDashboardEventStream(t *testing.T) {
	d, srv := newTestDashboard(t, nil)
	// The dashboard's clock advances 20 ms per state event, as the fake
	// adds 9 inputs per report: 450 inputs a second, whatever the
	// scheduling of the test.
	var events atomic.Int64
	t0 := time.Unix(1000, 0)
	d.now = func() time.Time { return t0.Add(time.Duration(events.Add(1)) * 20 * time.Millisecond) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, r := openEvents(t, ctx, srv.URL)
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}

	ev, err := r.next()
	if err != nil || ev.name != "scene" {
		t.Fatalf("first event %q, %v; want the scene", ev.name, err)
	}
	var sc dashScene
	if err := json.Unmarshal([]byte(ev.data), &sc); err != nil {
		t.Fatal(err)
	}
	if sc.Name != "Demo Arcade" || len(sc.Objects) != len(scene.Default().Objects) {
		t.Errorf("scene %q with %d objects", sc.Name, len(sc.Objects))
	}

	// The first state event comes at once, with no input rate yet; a later
	// one has it.
	var last dashEvent
	for i := 0; i < 20; i++ {
		ev, err := r.next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.name != "" {
			t.Fatalf("event %q, want unnamed state events", ev.name)
		}
		last = dashEvent{}
		if err := json.Unmarshal([]byte(ev.data), &last); err != nil {
			t.Fatal(err)
		}
		if i == 0 && last.Clients[0].InputRateHz != nil {
			t.Errorf("first event has an input rate %v", *last.Clients[0].InputRateHz)
		}
	}
	c := last.Clients
	if len(c) != 3 || c[0].Name != "quest-a" || c[0].Inputs == 0 {
		t.Fatalf("clients %+v", c)
	}
	if c[0].InputRateHz == nil || math.Abs(*c[0].InputRateHz-450) > 1e-6 {
		t.Errorf("input rate %v, want 450 Hz", c[0].InputRateHz)
	}
	if c[0].RTTMs != nil {
		t.Errorf("RTT %v: the server does not measure it", *c[0].RTTMs)
	}
	if c[0].Lagging || !c[1].Lagging || c[2].Lagging {
		t.Errorf("lagging a=%v b=%v c=%v, want only b (idle, fallback)", c[0].Lagging, c[1].Lagging, c[2].Lagging)
	}
	if last.Stats.ClientList != nil {
		t.Errorf("stats repeat the client list")
	}
	if last.Stats.TickRate != 120 || last.Stats.StageUS["broadcast"].P99 != 90 {
		t.Errorf("stats %+v", last.Stats)
	}
	if last.Server.Name != "test-box" || last.Server.Discovery != "n/a" || last.Server.Subscribers != 1 {
		t.Errorf("server %+v", last.Server)
	}
	w := last.World
	if len(w.Players) != 1 || w.Players[0].Head != (dashVec{1, 1.7, 2}) {
		t.Fatalf("players %+v", w.Players)
	}
	if f := w.Players[0].Facing; math.Abs(float64(f[0])+1) > 1e-3 || math.Abs(float64(f[1])) > 1e-3 {
		t.Errorf("facing %v, want (-1, 0)", f)
	}
	if len(w.Entities) != 1 {
		t.Fatalf("entities %+v", w.Entities)
	}
	if e := w.Entities[0]; e.Name != "paddle-1" || e.Tag != "paddle" || !e.Flags.Held || !e.Flags.Grabbable || e.Flags.Sleeping || e.X != -0.5 {
		t.Errorf("entity %+v", e)
	}
}

func TestDashboardStreamsEndWithTheirClients(t *testing.T) {
	_, srv := newTestDashboard(t, nil)
	before := streamGoroutines()
	var cancels []context.CancelFunc
	for i := 0; i < 5; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		cancels = append(cancels, cancel)
		resp, r := openEvents(t, ctx, srv.URL)
		defer resp.Body.Close()
		if _, err := r.next(); err != nil {
			t.Fatal(err)
		}
	}
	waitStreams(t, before+5)
	for _, cancel := range cancels {
		cancel()
	}
	waitStreams(t, before)
}

func TestDashboardStreamsEndWithTheServer(t *testing.T) {
	for _, how := range []string{"Shutdown", "BaseContext"} {
		t.Run(how, func(t *testing.T) {
			base, stop := context.WithCancel(context.Background())
			defer stop()
			_, srv := newTestDashboard(t, base)
			before := streamGoroutines()
			var readers []*sseReader
			for i := 0; i < 3; i++ {
				resp, r := openEvents(t, context.Background(), srv.URL)
				defer resp.Body.Close()
				readers = append(readers, r)
			}
			waitStreams(t, before+3)
			if how == "Shutdown" {
				// What arcade-server does on SIGTERM: Shutdown with a
				// one-second budget, which open streams must not use up.
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				if err := srv.Config.Shutdown(ctx); err != nil {
					t.Errorf("Shutdown: %v", err)
				}
			} else {
				stop()
			}
			waitStreams(t, before)
			for i, r := range readers {
				for {
					if _, err := r.next(); err != nil {
						if err != io.EOF {
							t.Errorf("stream %d ended with %v, want EOF", i, err)
						}
						break
					}
				}
			}
		})
	}
}

// smallSendBuffers wraps a listener so that the server's side of every
// connection it accepts buffers little.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

func TestDashboardStalledReaderIsDropped(t *testing.T) {
	d, srv := newTestDashboardOn(t, nil, func(l net.Listener) net.Listener { return smallSendBuffers{l} })
	d.interval = time.Millisecond
	d.writeTO = 200 * time.Millisecond
	before := streamGoroutines()
	// A client that sends the request and never reads: the socket buffers
	// (small on both sides, so that a few events fill them however fast or
	// slow the machine makes events) fill, a write blocks, and its deadline
	// ends the stream.
	dialer := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); err != nil {
			return err
		}
		return serr
	}}
	conn, err := dialer.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
	waitStreams(t, before+1)
	start := time.Now()
	if !wait.Until(60*time.Second, func() bool { return streamGoroutines() == before }) {
		t.Fatal("the stream to a client that reads nothing is still served")
	}
	t.Logf("the stalled stream ended after %v", time.Since(start).Round(time.Millisecond))
}

func TestDashboardSubscriberLimit(t *testing.T) {
	d, srv := newTestDashboard(t, nil)
	d.maxSubs = 2
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 0; i < 2; i++ {
		resp, _ := openEvents(t, ctx, srv.URL)
		defer resp.Body.Close()
	}
	resp, err := http.Get(srv.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("third subscriber got %s, want 503", resp.Status)
	}
}

func TestDashboardPageAndAssets(t *testing.T) {
	s, err := server.New(server.Config{Seed: 1}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(s, Options{}))
	defer srv.Close()
	for path, want := range map[string]string{
		"/":                  "<canvas id=\"venue\"",
		"/static/app.js":     "new EventSource('api/events')",
		"/static/style.css":  "tr.lagging",
		"/api/stats":         "\"tick_rate\"",
		"/static/missing.js": "404",
	} {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %s, body does not contain %q", path, resp.Status, want)
		}
	}
	// Nothing on the page comes from another host.
	for _, name := range []string{"web/index.html", "web/app.js", "web/style.css"} {
		b, _ := webFiles.ReadFile(name)
		if strings.Contains(string(b), "http://") || strings.Contains(string(b), "https://") || strings.Contains(string(b), "//cdn") {
			t.Errorf("%s refers to another host", name)
		}
	}
}

func TestLagReasons(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		c           server.ClientInfo
		rate, usual *float64
		want        string
	}{
		{server.ClientInfo{Delivery: "multicast", IdleMs: 12}, nil, nil, ""},
		{server.ClientInfo{Delivery: "multicast", IdleMs: 500}, nil, nil, ""},
		{server.ClientInfo{Delivery: "multicast", IdleMs: 501}, nil, nil, "idle 501 ms"},
		{server.ClientInfo{Delivery: "multicast", DeliveryReason: "multicast recovered", McastLossRecentPct: 2}, nil, nil, ""},
		{server.ClientInfo{Delivery: "multicast", McastLossRecentPct: 2.5}, nil, nil, "multicast loss 2.5 %"},
		// Judged on the recent figures: a past loss no longer flags.
		{server.ClientInfo{Delivery: "multicast", McastLossPct: 9, UpstreamLossPct: 9}, nil, nil, ""},
		{server.ClientInfo{Delivery: "multicast", UpstreamLossRecentPct: 6}, nil, nil, "headset→server loss 6.0 %"},
		{server.ClientInfo{Delivery: "unicast", UnicastLossPct: 6}, nil, nil, "server→headset unicast loss 6.0 %"},
		{server.ClientInfo{Delivery: "multicast", UnicastLossPct: -1}, nil, nil, ""},
		{server.ClientInfo{Delivery: "unicast", DeliveryReason: "client asked for unicast"}, nil, nil, ""},
		{server.ClientInfo{Delivery: "unicast", DeliveryReason: "multicast disabled on the server"}, nil, nil, ""},
		{server.ClientInfo{Delivery: "unicast", Fallback: true, DeliveryReason: "client could not join the multicast group"}, nil, nil,
			"unicast fallback: client could not join the multicast group"},
		// On unicast, the multicast figures are no longer its path.
		{server.ClientInfo{Delivery: "unicast", Fallback: true, DeliveryReason: "multicast loss 7.0% (over 5%)", McastLossRecentPct: 7, IdleMs: 800}, nil, nil,
			"idle 800 ms; unicast fallback: multicast loss 7.0% (over 5%)"},
		// The input rate against the headset's own norm.
		{server.ClientInfo{Delivery: "multicast"}, f(40), f(90), "input rate 40 Hz, usually 90 Hz"},
		{server.ClientInfo{Delivery: "multicast"}, f(46), f(90), ""},
		{server.ClientInfo{Delivery: "multicast"}, f(2), f(5), ""}, // a headset that barely sends
		{server.ClientInfo{Delivery: "multicast"}, f(0), nil, ""},  // too young to have a norm
		// A recent state hash mismatch flags; an old one no longer does.
		{server.ClientInfo{Delivery: "multicast", DesyncChecks: 90, DesyncMismatches: 2, DesyncChecksRecent: 80, DesyncMismatchesRecent: 2}, nil, nil,
			"desync: 2 of 80 state hashes differed in the last 10 s"},
		{server.ClientInfo{Delivery: "multicast", DesyncChecks: 190, DesyncMismatches: 2, DesyncChecksRecent: 80}, nil, nil, ""},
	} {
		if got := strings.Join(lagReasons(&tc.c, tc.rate, tc.usual), "; "); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.c, got, tc.want)
		}
	}
}

func TestRateTracker(t *testing.T) {
	rt := newRateTracker()
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	if _, ok := rt.observe(1, 0, at(0)); ok {
		t.Error("rate from one sample")
	}
	if _, ok := rt.observe(1, 9, at(100)); ok {
		t.Error("rate from a span under minRateSpan")
	}
	// 80 inputs a second, sampled every 250 ms.
	for ms := 250; ms <= 3000; ms += 250 {
		r, ok := rt.observe(1, uint64(ms*80/1000), at(ms))
		if !ok || math.Abs(r-80) > 0.5 {
			t.Fatalf("at %d ms: %v %v, want 80", ms, r, ok)
		}
	}
	if n := len(rt.hist[1]); n > int(rateWindow/(250*time.Millisecond))+1 {
		t.Errorf("history of %d samples is not bounded by the window", n)
	}
	// The rate follows a change within the window.
	var r float64
	for ms := 3250; ms <= 4500; ms += 250 {
		r, _ = rt.observe(1, 240+uint64(ms-3000)*40/1000, at(ms))
	}
	if math.Abs(r-40) > 0.5 {
		t.Errorf("after slowing down: %v, want 40", r)
	}
	// An id taken by a new client (counter went back) starts over.
	if _, ok := rt.observe(1, 3, at(4750)); ok {
		t.Error("rate across a counter reset")
	}
	rt.observe(2, 0, at(4750))
	rt.forgetOthers([]server.ClientInfo{{ID: 2}})
	if _, ok := rt.hist[1]; ok || len(rt.hist) != 1 {
		t.Errorf("history of gone clients kept: %v", rt.hist)
	}
}

func TestFacingAndYaw(t *testing.T) {
	s := float32(math.Sqrt2 / 2)
	for _, tc := range []struct {
		q      wire.Quat
		fx, fz float32
		yaw    float64
	}{
		{wire.Quat{W: 1}, 0, -1, 0},                  // identity looks down -Z
		{wire.Quat{Y: 1}, 0, 1, math.Pi},             // turned around
		{wire.Quat{Y: s, W: s}, -1, 0, -math.Pi / 2}, // 90° left: local X points to -Z
	} {
		f := facingOf(tc.q)
		if math.Abs(float64(f[0]-tc.fx)) > 1e-5 || math.Abs(float64(f[1]-tc.fz)) > 1e-5 {
			t.Errorf("facing of %+v: %v, want (%v, %v)", tc.q, f, tc.fx, tc.fz)
		}
		y := yawOf(float64(tc.q.X), float64(tc.q.Y), float64(tc.q.Z), float64(tc.q.W))
		if d := math.Abs(math.Remainder(y-tc.yaw, 2*math.Pi)); d > 1e-5 {
			t.Errorf("yaw of %+v: %v, want %v", tc.q, y, tc.yaw)
		}
	}
	// Looking straight down: facing falls back to -Z instead of NaN.
	if f := facingOf(wire.Quat{X: -s, W: s}); f != [2]float32{0, -1} {
		t.Errorf("facing straight down: %v", f)
	}
}

// countingResets is a server that counts ResetMeasurements calls.
type countingResets struct {
	*server.Server
	resets atomic.Int32
}

func (c *countingResets) ResetMeasurements() {
	c.resets.Add(1)
	c.Server.ResetMeasurements()
}

// TestTokenRequired: a request that changes state needs the operator
// token as a bearer token (401 without it or with a wrong one, with a
// WWW-Authenticate challenge); GET and HEAD need none.
func TestTokenRequired(t *testing.T) {
	s, err := server.New(server.Config{Seed: 1}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	const token = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	src := &countingResets{Server: s}
	srv := httptest.NewServer(Handler(src, Options{Token: token}))
	defer srv.Close()
	do := func(method, path, auth string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct {
		method, path, auth string
		status             int
		challenge          string // WWW-Authenticate, for a 401
	}{
		{"POST", "/api/stats/reset", "", 401, `Bearer realm="arcade operator"`},
		{"POST", "/api/stats/reset", "Bearer", 401, `Bearer realm="arcade operator"`},
		{"POST", "/api/stats/reset", "Basic " + token, 401, `Bearer realm="arcade operator"`},
		{"POST", "/api/stats/reset", "Bearer wrong", 401, `Bearer realm="arcade operator", error="invalid_token"`},
		{"POST", "/api/stats/reset", "Bearer " + token[:63], 401, `Bearer realm="arcade operator", error="invalid_token"`},
		{"POST", "/api/stats/reset", "Bearer " + token + "0", 401, `Bearer realm="arcade operator", error="invalid_token"`},
		// Every method but GET and HEAD, on any path, before routing.
		{"PUT", "/api/stats", "", 401, `Bearer realm="arcade operator"`},
		{"DELETE", "/api/stats", "", 401, `Bearer realm="arcade operator"`},
		{"PATCH", "/api/stats/reset", "Bearer wrong", 401, `Bearer realm="arcade operator", error="invalid_token"`},
		{"OPTIONS", "/api/stats/reset", "", 401, `Bearer realm="arcade operator"`},
		{"POST", "/api/no-such-thing", "", 401, `Bearer realm="arcade operator"`},
		// With the token: done, or the route's own answer.
		{"POST", "/api/stats/reset", "Bearer " + token, 204, ""},
		{"POST", "/api/stats/reset", "bearer  " + token + " ", 204, ""},
		{"DELETE", "/api/stats", "Bearer " + token, 405, ""},
		// Reading needs nothing.
		{"GET", "/api/stats", "", 200, ""},
		{"GET", "/metrics", "", 200, ""},
		{"GET", "/", "", 200, ""},
		{"HEAD", "/api/stats", "", 200, ""},
		{"GET", "/api/stats", "Bearer wrong", 200, ""},
	} {
		resp := do(tc.method, tc.path, tc.auth)
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s (Authorization %q): %s, want %d", tc.method, tc.path, tc.auth, resp.Status, tc.status)
		}
		if got := resp.Header.Get("WWW-Authenticate"); got != tc.challenge {
			t.Errorf("%s %s (Authorization %q): WWW-Authenticate %q, want %q", tc.method, tc.path, tc.auth, got, tc.challenge)
		}
	}
	if n := src.resets.Load(); n != 2 {
		t.Errorf("%d resets, want 2 (the two with the token)", n)
	}

	// Without a token configured, nothing that changes state is accepted.
	src2 := &countingResets{Server: s}
	srv2 := httptest.NewServer(Handler(src2, Options{}))
	defer srv2.Close()
	for _, auth := range []string{"", "Bearer ", "Bearer x"} {
		req, _ := http.NewRequest("POST", srv2.URL+"/api/stats/reset", nil)
		req.Header.Set("Authorization", auth)
		resp, err := srv2.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("no token configured, Authorization %q: %s, want 401", auth, resp.Status)
		}
	}
	if src2.resets.Load() != 0 {
		t.Error("reset without a configured token")
	}
}

// TestRecentWindow: the dashboard's recent quantiles cover the last
// seconds only: a spike at the start is in the lifetime figure but leaves
// the window once it has passed.
func TestRecentWindow(t *testing.T) {
	var st server.Stats
	var w windowTracker
	t0 := time.Unix(1000, 0)
	for range 30 {
		st.TickLateness.Record(132_000_000) // a 132 ms stall at start-up: 2.4 % of all
	}
	if r := w.observe(t0, &st); r != nil {
		t.Fatal("a window before a step has passed")
	}
	for i := 1; i <= 12; i++ {
		for range 100 {
			st.TickLateness.Record(20_000) // 20 µs from then on
		}
		w.observe(t0.Add(time.Duration(i)*time.Second), &st)
	}
	r := w.observe(t0.Add(13*time.Second), &st)
	if r == nil || r.TickLatenessUS.P99 > 25 || r.WindowS > 12.1 {
		t.Fatalf("recent %+v: want a p99 of about 20 µs over about 10 s", r)
	}
	if st.TickLateness.Quantile(0.99) < 100_000_000 {
		t.Fatal("the lifetime p99 lost the stall")
	}
}
