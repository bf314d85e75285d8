package operator

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arcadexr/arcade/internal/metrics"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/wire"
)

// The operator dashboard: a page (embedded, plain JavaScript, nothing fetched
// from elsewhere) that subscribes to GET /api/events, a Server-Sent Events
// stream of what Report and Stats.WorldView publish. Each subscriber is
// served by its own request goroutine, which reads only the published
// figures (never the tick thread's state) and returns when the client goes
// away (the request's context ends), a write stalls for dashWriteTimeout,
// or the http.Server serving it shuts down.

//go:embed web
var webFiles embed.FS

// Dashboard tuning.
const (
	dashInterval       = 250 * time.Millisecond // between two state events
	dashWriteTimeout   = 5 * time.Second        // a subscriber that reads nothing for this long is dropped
	dashMaxSubscribers = 16                     // concurrent event streams; more get 503
	dashRetryMs        = 1000                   // EventSource reconnect delay after the stream ends
	rateWindow         = time.Second            // input rate is averaged over at least this span
	minRateSpan        = 200 * time.Millisecond // no input rate until samples span this long
)

// A headset is flagged as lagging when any of these holds.
const (
	lagIdleMs  = 500 // nothing heard for longer than this
	lagLossPct = 2.0 // loss either way over the last seconds, percent: multicast (its last 8 reports, ~2 s) or unicast (~4 s) to it, or from it (the server's count, 5 s)
	// input rate below this share of the headset's own session average
	// (once that is at least minUsualRate, after usualRateAfter)
	lagRateShare   = 0.5
	minUsualRate   = 10.0
	usualRateAfter = 3 * time.Second
	// or: the server moved it to unicast because multicast failed it
)

// dashboard serves the page and the event stream of one Handler.
type dashboard struct {
	report func() server.StatsReport
	// stats gives the histograms the recent window is taken from (nil:
	// lifetime figures only).
	stats    func() *server.Stats
	world    func() ([]wire.PlayerState, []wire.EntityState)
	now      func() time.Time
	interval time.Duration
	writeTO  time.Duration
	maxSubs  int32
	scene    dashScene
	objects  map[uint16]*dashObject // by entity id, from scene
	info     dashServer
	describe func() server.Description // live name, version, discovery; may be nil

	subs atomic.Int32 // event streams being served

	mu       sync.Mutex
	shutdown map[*http.Server]chan struct{} // closed when that server shuts down
}

// sceneSource is what a World that knows its scene implements; the
// dashboard then draws that scene. Otherwise it assumes the embedded demo.
type sceneSource interface{ Scene() *scene.Scene }

// newDashboard builds the dashboard of s from what s publishes.
func newDashboard(s Source) *dashboard {
	cfg := s.Config()
	sc, source := scene.Default(), "embedded demo (assumed: the world does not say which scene it runs)"
	if cfg.World == nil {
		sc, source = &scene.Scene{Name: "none"}, "no world"
	} else if ss, ok := cfg.World.(sceneSource); ok && ss.Scene() != nil {
		sc, source = ss.Scene(), "world"
	}
	mc := "off"
	if !cfg.NoMulticast {
		mc = cfg.Multicast.String()
	}
	// The name arcade-server advertises by default (its --name flag is not
	// passed down to the server package).
	host, err := os.Hostname()
	host, _, _ = strings.Cut(host, ".")
	if err != nil || host == "" {
		host = "arcade"
	}
	info := dashServer{
		Name:      host,
		Version:   buildVersion(),
		Multicast: mc,
		Discovery: "n/a",
		TickRate:  cfg.TickRate,
		Scene:     sc.Name,
	}
	d := newDashboardFrom(s.Report, s.Stats().WorldView, sc, source, info)
	d.describe = cfg.Describe
	d.stats = s.Stats
	return d
}

func newDashboardFrom(report func() server.StatsReport, world func() ([]wire.PlayerState, []wire.EntityState),
	sc *scene.Scene, source string, info dashServer) *dashboard {
	d := &dashboard{
		report:   report,
		world:    world,
		now:      time.Now,
		interval: dashInterval,
		writeTO:  dashWriteTimeout,
		maxSubs:  dashMaxSubscribers,
		objects:  make(map[uint16]*dashObject, len(sc.Objects)),
		shutdown: make(map[*http.Server]chan struct{}),
		info:     info,
	}
	d.scene = dashScene{Name: sc.Name, Source: source, Objects: make([]dashObject, 0, len(sc.Objects))}
	for i := range sc.Objects {
		d.scene.Objects = append(d.scene.Objects, newDashObject(&sc.Objects[i]))
	}
	for i := range d.scene.Objects {
		d.objects[d.scene.Objects[i].ID] = &d.scene.Objects[i]
	}
	return d
}

// buildVersion describes the running binary from its build information.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 12:
			v += " " + s.Value[:12]
		case s.Key == "vcs.modified" && s.Value == "true":
			v += "+dirty"
		}
	}
	return v + " " + bi.GoVersion
}

// register adds the dashboard's routes to mux.
func (d *dashboard) register(mux *http.ServeMux) {
	static, _ := fs.Sub(webFiles, "web")
	files := http.FileServerFS(static)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, static, "index.html")
	})
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})))
	mux.HandleFunc("GET /api/events", d.serveEvents)
}

// serveEvents streams the dashboard's events to one subscriber: a "scene"
// event with the static layout, then a state event (unnamed, so
// EventSource.onmessage sees it) at once and every interval.
func (d *dashboard) serveEvents(w http.ResponseWriter, r *http.Request) {
	if d.subs.Add(1) > d.maxSubs {
		d.subs.Add(-1)
		http.Error(w, "too many dashboard subscribers", http.StatusServiceUnavailable)
		return
	}
	defer d.subs.Add(-1)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	rc := http.NewResponseController(w)
	var buf bytes.Buffer
	send := func(event string, v any) error {
		buf.Reset()
		if event != "" {
			buf.WriteString("event: " + event + "\n")
		}
		buf.WriteString("data: ")
		if err := json.NewEncoder(&buf).Encode(v); err != nil {
			return nil // a value JSON cannot carry (NaN): skip this event
		}
		buf.WriteString("\n")
		rc.SetWriteDeadline(time.Now().Add(d.writeTO)) // unsupported by some writers; then writes just block
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
		return rc.Flush()
	}

	fmt.Fprintf(w, "retry: %d\n\n", dashRetryMs)
	if send("scene", &d.scene) != nil {
		return
	}
	rates := newRateTracker()
	if send("", d.event(rates)) != nil {
		return
	}
	t := time.NewTicker(d.interval)
	defer t.Stop()
	ctx, down := r.Context(), d.shutdownOf(r)
	for {
		select {
		case <-ctx.Done():
			return
		case <-down:
			return
		case <-t.C:
			if send("", d.event(rates)) != nil {
				return
			}
		}
	}
}

// shutdownOf returns a channel that is closed when the http.Server serving
// r shuts down: http.Server.Shutdown waits for connections to go idle, and
// an event stream never does by itself. Nil (never ready) if r names no
// server.
func (d *dashboard) shutdownOf(r *http.Request) <-chan struct{} {
	hs, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if hs == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	ch, ok := d.shutdown[hs]
	if !ok {
		ch = make(chan struct{})
		d.shutdown[hs] = ch
		hs.RegisterOnShutdown(func() { close(ch) })
	}
	return ch
}

// dashEvent is the data of one state event.
type dashEvent struct {
	// Stats is Report() without its client list, which Clients carries.
	Stats server.StatsReport `json:"stats"`
	// Recent is the same quantiles over the last WindowS seconds or so
	// (absent until a window has passed): "now", not since the start.
	Recent  *dashRecent  `json:"recent,omitempty"`
	Clients []dashClient `json:"clients"`
	World   dashWorld    `json:"world"`
	Server  dashServer   `json:"server"`
}

// dashClient is server.ClientInfo with the figures the dashboard derives.
type dashClient struct {
	server.ClientInfo
	// InputRateHz is the rate of applied inputs over the last second or
	// so, from the change of Inputs; null until two samples span
	// minRateSpan.
	InputRateHz *float64 `json:"input_rate_hz"`
	// UsualRateHz is the headset's input rate over its whole session (its
	// own norm, against which InputRateHz is judged); null in its first
	// usualRateAfter.
	UsualRateHz *float64 `json:"usual_rate_hz"`
	// RTTMs is the round-trip time; null until the server has a sample.
	RTTMs      *float64 `json:"rtt_ms"`
	Lagging    bool     `json:"lagging"`
	LagReasons []string `json:"lag_reasons,omitempty"`
}

type dashVec struct {
	X float32 `json:"x"`
	Y float32 `json:"y"`
	Z float32 `json:"z"`
}

type dashWorld struct {
	Players  []dashPlayer `json:"players"`
	Entities []dashEntity `json:"entities"`
}

type dashPlayer struct {
	ID           uint16  `json:"id"`
	LastInputSeq uint32  `json:"last_input_seq"`
	Tracking     uint8   `json:"tracking"`
	Head         dashVec `json:"head"`
	// Facing is the head's forward direction (-Z of the headset) in the
	// x/z plane, unit length unless looking straight up or down.
	Facing [2]float32 `json:"facing"`
	Left   dashVec    `json:"left"`
	Right  dashVec    `json:"right"`
}

type dashFlags struct {
	Held      bool `json:"held"`
	Sleeping  bool `json:"sleeping"`
	Grabbable bool `json:"grabbable"`
}

type dashEntity struct {
	ID   uint16  `json:"id"`
	Name string  `json:"name"`
	Tag  string  `json:"tag"`
	X    float32 `json:"x"`
	Y    float32 `json:"y"`
	Z    float32 `json:"z"`
	// Yaw is the angle of the object's local X axis in the x/z plane,
	// radians from +X towards +Z.
	Yaw   float64   `json:"yaw"`
	Flags dashFlags `json:"flags"`
}

// dashServer describes the server in the info panel.
type dashServer struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Multicast   string `json:"multicast"`
	Discovery   string `json:"discovery"`
	Pair        string `json:"pair,omitempty"`
	TickRate    int    `json:"tick_rate"`
	Scene       string `json:"scene"`
	Subscribers int32  `json:"subscribers"`
}

// dashScene is the data of the "scene" event: every object of the scene,
// for the top-down view.
type dashScene struct {
	Name    string       `json:"name"`
	Source  string       `json:"source"`
	Objects []dashObject `json:"objects"`
}

type dashObject struct {
	ID     uint16  `json:"id"`
	Name   string  `json:"name"`
	Tag    string  `json:"tag"`
	Shape  string  `json:"shape"`
	Kind   string  `json:"kind"`
	Grab   string  `json:"grab"`
	Radius float64 `json:"radius,omitempty"`
	// Half extents of a box along its local axes.
	Half [3]float64 `json:"half"`
	X    float64    `json:"x"`
	Y    float64    `json:"y"`
	Z    float64    `json:"z"`
	Yaw  float64    `json:"yaw"`
}

func newDashObject(o *scene.Object) dashObject {
	q := o.Pose.Rot
	return dashObject{
		ID: o.ID, Name: o.Name, Tag: o.Tag,
		Shape: o.Shape.String(), Kind: o.Kind.String(), Grab: o.Grab.String(),
		Radius: o.Radius,
		Half:   [3]float64{o.Half.X, o.Half.Y, o.Half.Z},
		X:      o.Pose.Pos.X, Y: o.Pose.Pos.Y, Z: o.Pose.Pos.Z,
		Yaw: yawOf(q.X, q.Y, q.Z, q.W),
	}
}

// yawOf returns the angle of the rotated local X axis in the x/z plane,
// radians from +X towards +Z.
func yawOf(x, y, z, w float64) float64 {
	ax := 1 - 2*(y*y+z*z)
	az := 2 * (x*z - w*y)
	if ax == 0 && az == 0 {
		return 0
	}
	return math.Atan2(az, ax)
}

// facingOf returns the x and z of the rotated forward axis (-Z),
// normalized in the x/z plane.
func facingOf(q wire.Quat) [2]float32 {
	x, y, z, w := float64(q.X), float64(q.Y), float64(q.Z), float64(q.W)
	fx := -2 * (x*z + w*y)
	fz := -(1 - 2*(x*x+y*y))
	n := math.Hypot(fx, fz)
	if n < 1e-6 {
		return [2]float32{0, -1}
	}
	return [2]float32{float32(fx / n), float32(fz / n)}
}

func vecOf(v wire.Vec3) dashVec { return dashVec{v.X, v.Y, v.Z} }

// event builds one state event; rates carries a subscriber's input-rate
// history from event to event.
func (d *dashboard) event(rates *rateTracker) *dashEvent {
	now := d.now()
	st := d.report()
	list := st.ClientList
	st.ClientList = nil
	ev := &dashEvent{Stats: st, Clients: make([]dashClient, 0, len(list)), Server: d.info}
	if d.stats != nil {
		ev.Recent = rates.window.observe(now, d.stats())
	}
	if d.describe != nil {
		desc := d.describe()
		if desc.Name != "" {
			ev.Server.Name = desc.Name
		}
		if desc.Version != "" {
			ev.Server.Version = desc.Version
		}
		if desc.Discovery != "" {
			ev.Server.Discovery = desc.Discovery
		}
		ev.Server.Pair = desc.Pair
	}
	ev.Server.Subscribers = d.subs.Load()
	for _, c := range list {
		dc := dashClient{ClientInfo: c}
		if c.RTTMs > 0 {
			rtt := c.RTTMs
			dc.RTTMs = &rtt
		}
		if r, ok := rates.observe(c.ID, c.Inputs, now); ok {
			dc.InputRateHz = &r
		}
		if c.ConnectedMs >= usualRateAfter.Milliseconds() {
			u := float64(c.Inputs) / (float64(c.ConnectedMs) / 1e3)
			dc.UsualRateHz = &u
		}
		dc.LagReasons = lagReasons(&c, dc.InputRateHz, dc.UsualRateHz)
		dc.Lagging = len(dc.LagReasons) > 0
		ev.Clients = append(ev.Clients, dc)
	}
	rates.forgetOthers(list)

	players, entities := d.world()
	ev.World.Players = make([]dashPlayer, 0, len(players))
	for i := range players {
		p := &players[i]
		ev.World.Players = append(ev.World.Players, dashPlayer{
			ID: p.ClientID, LastInputSeq: p.LastInputSeq, Tracking: p.Tracking,
			Head: vecOf(p.Head.Pos), Facing: facingOf(p.Head.Rot),
			Left: vecOf(p.Hands[wire.Left].Pos), Right: vecOf(p.Hands[wire.Right].Pos),
		})
	}
	ev.World.Entities = make([]dashEntity, 0, len(entities))
	for i := range entities {
		e := &entities[i]
		q := e.Pose.Rot
		de := dashEntity{
			ID: e.ID, X: e.Pose.Pos.X, Y: e.Pose.Pos.Y, Z: e.Pose.Pos.Z,
			Yaw: yawOf(float64(q.X), float64(q.Y), float64(q.Z), float64(q.W)),
			Flags: dashFlags{
				Held:      e.Flags&wire.EntityHeld != 0,
				Sleeping:  e.Flags&wire.EntitySleeping != 0,
				Grabbable: e.Flags&wire.EntityGrabbable != 0,
			},
		}
		if o := d.objects[e.ID]; o != nil {
			de.Name, de.Tag = o.Name, o.Tag
		}
		ev.World.Entities = append(ev.World.Entities, de)
	}
	return ev
}

// lagReasons says why a headset needs the operator's attention, if it
// does, from its recent figures (the last few seconds), so that a headset
// is flagged while it suffers and cleared once it no longer does.
func lagReasons(c *server.ClientInfo, rate, usual *float64) []string {
	var r []string
	pct := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + " %" }
	if c.IdleMs > lagIdleMs {
		r = append(r, "idle "+strconv.FormatInt(c.IdleMs, 10)+" ms")
	}
	if c.Delivery != "unicast" && c.McastLossRecentPct > lagLossPct {
		r = append(r, "multicast loss "+pct(c.McastLossRecentPct))
	}
	if c.UnicastLossPct > lagLossPct {
		r = append(r, "server→headset unicast loss "+pct(c.UnicastLossPct))
	}
	if c.UpstreamLossRecentPct > lagLossPct {
		r = append(r, "headset→server loss "+pct(c.UpstreamLossRecentPct))
	}
	if rate != nil && usual != nil && *usual >= minUsualRate && *rate < lagRateShare**usual {
		r = append(r, "input rate "+strconv.FormatFloat(*rate, 'f', 0, 64)+" Hz, usually "+strconv.FormatFloat(*usual, 'f', 0, 64)+" Hz")
	}
	if c.Fallback {
		r = append(r, "unicast fallback: "+c.DeliveryReason)
	}
	if c.DesyncMismatchesRecent > 0 {
		r = append(r, "desync: "+strconv.FormatUint(c.DesyncMismatchesRecent, 10)+" of "+strconv.FormatUint(c.DesyncChecksRecent, 10)+" state hashes differed in the last 10 s")
	}
	return r
}

// rateTracker derives each client's input rate from successive values of
// its Inputs counter. One per subscriber; not safe for concurrent use.
type rateTracker struct {
	hist   map[uint16][]rateSample
	window windowTracker // the recent quantiles' snapshots
}

type rateSample struct {
	t      time.Time
	inputs uint64
}

func newRateTracker() *rateTracker { return &rateTracker{hist: make(map[uint16][]rateSample)} }

// recentWindow is how far back the dashboard's "now" figures look, and
// recentStep how often a subscriber keeps the histograms' counts.
const (
	recentWindow = 10 * time.Second
	recentStep   = 2 * time.Second
)

// dashRecent is the quantiles of the last window.
type dashRecent struct {
	WindowS         float64          `json:"window_s"`
	TickLatenessUS  server.Quantiles `json:"tick_lateness_us"`
	ServerAddedUS   server.Quantiles `json:"server_added_latency_us"`
	ServerAddedN    uint64           `json:"server_added_samples"`
	ServerAddedGrab server.Quantiles `json:"server_added_grab_latency_us"`
	GrabN           uint64           `json:"server_added_grab_samples"`
	// MissedTicks is how many tick deadlines were skipped in the window.
	MissedTicks uint64 `json:"missed_ticks"`
}

// windowTracker keeps, per subscriber, the counts of the histograms the
// recent figures come from, every recentStep over recentWindow.
type windowTracker struct {
	snaps []windowSnap
}

type windowSnap struct {
	at                 time.Time
	tick, added, grabs *[metrics.NumBuckets]uint64
	missed             uint64
}

// observe keeps a snapshot when one is due and returns the quantiles
// since the oldest one kept, or nil before a step has passed.
func (w *windowTracker) observe(now time.Time, st *server.Stats) *dashRecent {
	if n := len(w.snaps); n == 0 || now.Sub(w.snaps[n-1].at) >= recentStep {
		s := windowSnap{at: now, tick: new([metrics.NumBuckets]uint64), added: new([metrics.NumBuckets]uint64), grabs: new([metrics.NumBuckets]uint64)}
		if len(w.snaps) > int(recentWindow/recentStep) {
			s.tick, s.added, s.grabs = w.snaps[0].tick, w.snaps[0].added, w.snaps[0].grabs // reuse the oldest's arrays
			w.snaps = append(w.snaps[:0], w.snaps[1:]...)
		}
		st.TickLateness.Counts(s.tick)
		st.ServerAdded.Counts(s.added)
		st.ServerAddedGrab.Counts(s.grabs)
		s.missed = st.MissedTicks.Load()
		w.snaps = append(w.snaps, s)
	}
	if len(w.snaps) < 2 {
		return nil
	}
	old := w.snaps[0]
	var cur [metrics.NumBuckets]uint64
	q := func(h *metrics.Histogram, then *[metrics.NumBuckets]uint64) (server.Quantiles, uint64) {
		h.Counts(&cur)
		var n uint64
		for i := range cur {
			cur[i] -= min(cur[i], then[i]) // a reset in between: count from zero
			n += cur[i]
		}
		var out server.Quantiles
		if p50, ok := metrics.QuantileOf(&cur, 0.5); ok {
			p99, _ := metrics.QuantileOf(&cur, 0.99)
			out.P50, out.P99 = float64(p50)/1e3, float64(p99)/1e3
		}
		return out, n
	}
	r := &dashRecent{WindowS: now.Sub(old.at).Seconds()}
	r.TickLatenessUS, _ = q(&st.TickLateness, old.tick)
	r.ServerAddedUS, r.ServerAddedN = q(&st.ServerAdded, old.added)
	r.ServerAddedGrab, r.GrabN = q(&st.ServerAddedGrab, old.grabs)
	r.MissedTicks = st.MissedTicks.Load() - min(st.MissedTicks.Load(), old.missed)
	return r
}

// observe records a sample and returns the rate over the samples of the
// last rateWindow (plus the one before, so the span reaches the window).
func (rt *rateTracker) observe(id uint16, inputs uint64, now time.Time) (float64, bool) {
	h := rt.hist[id]
	if n := len(h); n > 0 && inputs < h[n-1].inputs {
		h = h[:0] // the id went to a new client
	}
	h = append(h, rateSample{now, inputs})
	// Keep one sample at or before now-rateWindow, drop older ones.
	cut := 0
	for cut+1 < len(h) && !h[cut+1].t.After(now.Add(-rateWindow)) {
		cut++
	}
	h = append(h[:0], h[cut:]...)
	rt.hist[id] = h
	first, last := h[0], h[len(h)-1]
	span := last.t.Sub(first.t)
	if span < minRateSpan {
		return 0, false
	}
	return float64(last.inputs-first.inputs) / span.Seconds(), true
}

// forgetOthers drops the history of clients not in list.
func (rt *rateTracker) forgetOthers(list []server.ClientInfo) {
	if len(rt.hist) == len(list) {
		return
	}
	keep := make(map[uint16]bool, len(list))
	for _, c := range list {
		keep[c.ID] = true
	}
	for id := range rt.hist {
		if !keep[id] {
			delete(rt.hist, id)
		}
	}
}
