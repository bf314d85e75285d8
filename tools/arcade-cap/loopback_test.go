package main

import (
	"context"
	"errors"
	"io"
	"math"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arcadexr/arcade/capture"
	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/internal/testnet"
	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/internal/wait"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/sim"
	"github.com/arcadexr/arcade/tick"
	"github.com/arcadexr/arcade/wire"
)

// stallTimeout is the server's idle timeout and the clients' server
// timeout, far above the defaults (2 s).
const stallTimeout = 30 * time.Second

// capClient is one headset of the loopback test.
type capClient struct {
	c       *client.Client
	id      uint16
	grabber bool
	sent    uint64 // PoseInputs sent
	last    uint32 // the newest one's input sequence

	acked atomic.Uint32 // LastInputSeq of this headset in the newest snapshot it got

	mu     sync.Mutex
	target *wire.Vec3 // a grabbable object's position, for the grabber
}

// onSnapshot notes what the server reports of this headset's inputs and,
// for the grabber, where a grabbable object is. It runs with the client's
// lock held: it must not call the client.
func (cc *capClient) onSnapshot(s *wire.Snapshot, _ int64, _ bool) {
	for _, p := range s.Players {
		if p.ClientID == cc.id {
			cc.acked.Store(p.LastInputSeq)
		}
	}
	if !cc.grabber {
		return
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for _, e := range s.Entities {
		if cc.target == nil && e.Flags&wire.EntityGrabbable != 0 {
			p := e.Pose.Pos
			cc.target = &p
		}
	}
}

// reported says whether a snapshot has reported the newest input sent.
func (cc *capClient) reported() bool {
	return cc.sent > 0 && !wire.InputSeqNewer(cc.last, cc.acked.Load())
}

// TestLoopbackCaptureStats runs the real server over loopback UDP with the
// capture tap, three clients streaming poses for a second (one grabbing an
// object, one on unicast, one pressing a button by RPC) and a fourth
// refused, then checks the capture with arcade-cap's own decoder and
// statistics. The latencies are logged, not held to a bound in time (the
// machine running the test decides those); what is checked is behaviour
// (every input is in the snapshot of the tick that took it or the next)
// and that the capture and the server agree on the same inputs. It runs
// with the server's default StateDelta stream, which arcade-cap assembles
// into ticks from the capture alone; with it and no eager updates (so
// that every input is reported by a StateDelta tick); and with
// --delta-state=false (Snapshots only).
func TestLoopbackCaptureStats(t *testing.T) {
	if testing.Short() {
		t.Skip("real-socket test skipped in -short mode")
	}
	t.Run("StateDelta", func(t *testing.T) { testLoopbackCapture(t, true, true) })
	t.Run("StateDeltaNoEager", func(t *testing.T) { testLoopbackCapture(t, true, false) })
	t.Run("Snapshot", func(t *testing.T) { testLoopbackCapture(t, false, true) })
}

func testLoopbackCapture(t *testing.T, delta, eager bool) {
	group := testnet.Group(t) // this run's own: another run's datagrams do not reach it
	conn, err := udp.Listen(udp.Config{
		Listen:         netip.MustParseAddrPort("127.0.0.1:0"),
		Timestamps:     true,
		MulticastIface: "lo",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	path := filepath.Join(t.TempDir(), "loopback.pcapng")
	capw, err := capture.New(path, conn.LocalAddr(), capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	world, err := sim.New(scene.Default())
	if err != nil {
		t.Fatal(err)
	}
	// SCHED_FIFO (when permitted) keeps the tick on time on a busy test
	// machine.
	// A long idle timeout: a loaded machine that stalls the test process
	// for a while must not end the sessions (the headsets leave by
	// Disconnect).
	cfg := server.Config{Multicast: group, MaxClients: 3, World: world, Tap: capw, RealtimePriority: 10, IdleTimeout: stallTimeout, NoDeltaState: !delta, NoEager: !eager}
	srv, err := server.New(cfg, conn, tick.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(ctx, conn.Fd()) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := capw.Close(); err != nil {
			t.Errorf("capture: %v", err)
		}
	}
	defer stop()

	dial := func(name string, unicast bool) (*client.Client, error) {
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		return client.Dial(dctx, conn.LocalAddr().String(), client.Config{
			SessionConfig:  client.SessionConfig{Name: name, Unicast: unicast, ServerTimeout: stallTimeout},
			MulticastIface: "lo",
		})
	}
	clients := make([]*capClient, 3)
	for i := range clients {
		c, err := dial("cap"+string(rune('a'+i)), i == 1)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		cc := &capClient{c: c, id: c.ClientID(), grabber: i == 0}
		c.OnSnapshot(cc.onSnapshot)
		clients[i] = cc
	}
	if _, err := dial("refused", false); !errors.As(err, new(*client.DeniedError)) {
		t.Fatalf("fourth client: %v, want Denied(ServerFull)", err)
	}
	grabber := clients[0]

	// Stream poses at 90 Hz: 90 frames, and on until the grabber has held
	// the object for 30 (bounded in frames and time). The grabber puts its
	// right hand on the object with the grip open, then closes it and
	// moves.
	const minFrames, maxFrames, heldFrames = 90, 900, 30
	tk := time.NewTicker(time.Second / 90)
	end := time.After(20 * time.Second)
	var frame int
	grabFrame := -1
stream:
	for frame < maxFrames && (frame < minFrames || grabFrame < 0 || frame-grabFrame < heldFrames) {
		select {
		case <-tk.C:
		case <-end:
			break stream
		}
		frame++
		for i, cc := range clients {
			var in wire.PoseInput
			in.Tracking = wire.TrackHead | wire.TrackLeft | wire.TrackRight
			in.Head.Pos = wire.Vec3{X: float32(i), Y: 1.7, Z: float32(frame%100) * 0.01}
			in.Head.Rot.W, in.Hands[0].Rot.W, in.Hands[1].Rot.W = 1, 1, 1
			if cc == grabber {
				cc.mu.Lock()
				if target := cc.target; target != nil {
					if grabFrame < 0 {
						grabFrame = frame
					}
					in.Hands[wire.Right].Pos = *target
					if frame-grabFrame >= 3 {
						in.Grip[wire.Right] = 1
						in.Hands[wire.Right].Pos.Y += float32(frame-grabFrame-3) * 0.002
					}
				}
				cc.mu.Unlock()
			}
			if seq, err := cc.c.SendPose(&in); err == nil {
				cc.sent++
				cc.last = seq
			}
		}
		// A button press and release by RPC: Message datagrams both ways
		// (the requests, the server's acknowledgements).
		if frame == 30 || frame == 40 {
			if err := clients[2].c.Button(1, frame == 30); err != nil {
				t.Errorf("Button: %v", err)
			}
		}
	}
	tk.Stop()
	t.Logf("streamed %d frames; the grabber closed its grip at frame %d", frame, grabFrame+3)
	// The last inputs' snapshots: every headset has seen its newest input
	// reported.
	if !wait.Until(10*time.Second, func() bool {
		for _, cc := range clients {
			if !cc.reported() {
				return false
			}
		}
		return true
	}) {
		for i, cc := range clients {
			t.Errorf("client %d: newest input %d sent, %d reported", i, cc.last, cc.acked.Load())
		}
	}
	// The goodbyes: the server has heard every Disconnect.
	for _, cc := range clients {
		cc.c.Close()
	}
	if !wait.Until(10*time.Second, func() bool { return srv.Stats().Clients.Load() == 0 }) {
		t.Errorf("the server still has %d clients after all closed", srv.Stats().Clients.Load())
	}
	stop()
	if n := srv.Stats().ButtonEvents.Load(); n != 2 {
		t.Errorf("server took %d ButtonEvents, want 2", n)
	}
	if capw.Dropped() != 0 {
		t.Errorf("capture dropped %d datagrams", capw.Dropped())
	}

	a := newAnalyzer(&options{stats: true, anyT: true}, io.Discard, io.Discard)
	if err := a.file(path); err != nil {
		t.Fatal(err)
	}
	r := a.st.report(nil)
	t.Logf("%d datagrams over %.2f s, input→state all clients: %+v", r.Datagrams, r.DurationS, r.InputToState)
	if r.Datagrams != capw.Captured() || r.Malformed != 0 {
		t.Errorf("decoded %d datagrams (%d malformed), the capture holds %d", r.Datagrams, r.Malformed, capw.Captured())
	}

	// Every message type is in the capture and decoded.
	seen := map[string]bool{}
	for _, c := range r.Clients {
		for ty := range c.FromClientTypes {
			seen[ty] = true
		}
		for ty := range c.ToClientTypes {
			seen[ty] = true
		}
	}
	for _, g := range r.Groups {
		for ty := range g.Types {
			seen[ty] = true
		}
	}
	a2 := newAnalyzer(&options{anyT: true}, io.Discard, io.Discard) // the refused client's handshake has no session
	countTypes(t, a2, path, seen)
	// The tick's state comes one way or the other, never both: every
	// client asks for StateDelta. EntityUpdates are the eager ones.
	stateType, notType := wire.TypeStateDelta, wire.TypeSnapshot
	if !delta {
		stateType, notType = notType, stateType
	}
	for ty := wire.PacketType(1); ty <= wire.MaxType; ty++ {
		switch {
		case ty == notType && seen[ty.String()]:
			t.Errorf("%v in the capture, the state should be all %v", ty, stateType)
		case ty == wire.TypeEntityUpdate && !eager:
		case ty != notType && !seen[ty.String()]:
			t.Errorf("no %v in the capture", ty)
		}
	}
	// Every StateDelta part decodes from the capture alone (it holds every
	// datagram the server sent): no baseline missing, none corrupt.
	var dr DeltaReport
	var reports []*DeltaReport
	for _, c := range r.Clients {
		reports = append(reports, c.StateDelta)
	}
	for _, g := range r.Groups {
		reports = append(reports, g.StateDelta)
	}
	for _, d := range reports {
		if d != nil {
			dr.Parts += d.Parts
			dr.Ticks += d.Ticks
			dr.NoBaseline += d.NoBaseline
			dr.Bad += d.Bad
		}
	}
	t.Logf("StateDelta: %+v", dr)
	if delta && (dr.Ticks == 0 || dr.NoBaseline != 0 || dr.Bad != 0) {
		t.Errorf("StateDelta parts: %+v, want whole ticks and none without baseline or bad", dr)
	}
	if !delta && dr.Parts != 0 {
		t.Errorf("StateDelta parts with --delta-state=false: %+v", dr)
	}

	// The server's own view of the same inputs, for the log and for the
	// agreement check below.
	sst := srv.Stats()
	t.Logf("server: %d ticks, %d missed, tick lateness max %v, rx delay max %v, server-added %d samples p50 %v max %v",
		sst.Ticks.Load(), sst.MissedTicks.Load(), time.Duration(sst.TickLateness.Max()), time.Duration(sst.RxDelay.Max()),
		sst.ServerAdded.Count(), time.Duration(sst.ServerAdded.Quantile(0.5)), time.Duration(sst.ServerAdded.Max()))
	tr := traceInputs(t, a.ss, path)
	checkServerAdded(t, tr.applied, &sst.ServerAdded)
	// The clients acknowledge the ticks they hold in their PoseInputs when
	// they take StateDelta, and only then.
	t.Logf("PoseInputs with a state acknowledgement: %d", tr.acks)
	if delta && tr.acks == 0 || !delta && tr.acks != 0 {
		t.Errorf("%d PoseInputs with a state acknowledgement (delta state %v)", tr.acks, delta)
	}

	byID := map[uint16]ClientReport{}
	for _, c := range r.Clients {
		byID[c.ClientID] = c
	}
	for i, cc := range clients {
		id := cc.c.ClientID()
		cr, ok := byID[id]
		if !ok {
			t.Errorf("client %d (id %d) not in the report", i, id)
			continue
		}
		st := cc.c.Stats()
		t.Logf("client %d: from %d to %d, poses %d, jitter %.3f ms, inter-arrival %.3f±%.3f ms, input→state %+v",
			id, cr.FromClient, cr.ToClient, cr.Poses, cr.JitterMs, cr.InterarrivalMs, cr.InterarrivalSDMs, cr.InputToState)
		if got := cr.FromClientTypes["PoseInput"]; got != cc.sent {
			t.Errorf("client %d: %d PoseInputs captured, %d sent", id, got, cc.sent)
		}
		if cr.FromClient != st.Sent {
			t.Errorf("client %d: %d datagrams from it captured, it sent %d", id, cr.FromClient, st.Sent)
		}
		if cr.UpLoss.Lost != 0 || cr.DownLoss.Lost != 0 {
			t.Errorf("client %d: loss on loopback: up %+v down %+v", id, cr.UpLoss, cr.DownLoss)
		}
		m := cr.InputToState
		if m.Samples == 0 || m.Samples+int(cr.Unreported) != int(cc.sent) {
			t.Errorf("client %d: %d input→state samples + %d unreported, %d inputs sent", id, m.Samples, cr.Unreported, cc.sent)
		}
		for s, c := range a.st.clients {
			if s.id == id {
				for _, l := range c.latency {
					if l <= 0 {
						t.Errorf("client %d: input→state sample %d ns is not positive", id, l)
						break
					}
				}
			}
		}
		// An input is in the eager update of the batch that read it
		// (before any tick: 0), else in the snapshot of the tick that took
		// it, or of the next one when it was read while a tick was under
		// way: at most the second tick to reach the client from the input
		// on, in the capture's order (the order the server handled the
		// datagrams in), however late the host ran the ticks.
		ticks := tr.ticks[id]
		if len(ticks) != m.Samples {
			t.Errorf("client %d: %d inputs traced to a snapshot, the report has %d samples", id, len(ticks), m.Samples)
		}
		var byTicks [4]int
		for _, n := range ticks {
			byTicks[min(n, len(byTicks)-1)]++
		}
		t.Logf("client %d: inputs reported before any tick (eager) %d, in the 1st tick to reach it %d, 2nd %d, later %d", id, byTicks[0], byTicks[1], byTicks[2], byTicks[3])
		if byTicks[3] != 0 {
			t.Errorf("client %d: %d inputs reported only in the 3rd tick to reach it or later", id, byTicks[3])
		}
		if eager && byTicks[0] == 0 {
			t.Errorf("client %d: no input reported by an eager update", id)
		}
		if !eager && byTicks[0] != 0 {
			t.Errorf("client %d: %d inputs reported before any tick without eager updates", id, byTicks[0])
		}
	}
}

// inputTrace is what traceInputs finds in a capture.
type inputTrace struct {
	// ticks holds, per client id, for every input a snapshot or an
	// update reflected: how many ticks had sent snapshots on the client's
	// path from the input's capture on, the reflecting one included (0:
	// an eager update reflected it first).
	ticks map[uint16][]int
	// applied holds the input → state latency, in ns, of every input, to
	// the first snapshot or update that reflects it (LastInputSeq it or
	// newer: a tick that took two inputs of a client names the newer).
	applied []int64
	// acks counts the PoseInputs with a state acknowledgement.
	acks int
}

// traceInputs reads the capture at path in file order with the sessions
// ss learned, and follows every PoseInput to the first snapshot or update
// on its client's path that reflects it, as the --stats report does.
func traceInputs(t *testing.T, ss *sessions, path string) inputTrace {
	t.Helper()
	src, err := openFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	type waiting struct {
		seq   uint32
		at    int64
		ticks int
		tick  uint32 // the last tick counted
	}
	tr := inputTrace{ticks: map[uint16][]int{}}
	pending := map[*session][]*waiting{}
	seen := map[*session]map[uint32]bool{}
	var d datagram
	dt := newDeltaTracker(ss)
	for {
		f, err := src.next()
		if errors.Is(err, io.EOF) {
			return tr
		}
		if err != nil {
			t.Fatal(err)
		}
		if !d.decode(f) || d.err != nil {
			continue
		}
		dt.observe(&d)
		switch d.hdr.Type {
		case wire.TypePoseInput:
			s := ss.owner(&d)
			if s == nil || !ss.clientToServer(&d) {
				continue
			}
			if seen[s] == nil {
				seen[s] = map[uint32]bool{}
			}
			if seq := d.pose.InputSeq; !seen[s][seq] {
				seen[s][seq] = true
				pending[s] = append(pending[s], &waiting{seq: seq, at: d.at})
			}
			if d.pose.HasStateAck {
				tr.acks++
			}
		case wire.TypeSnapshot, wire.TypeEntityUpdate, wire.TypeStateDelta:
			// A tick reaches a client as a Snapshot part, or as the
			// StateDelta part that makes it whole.
			players := statePlayers(&d)
			isTick, tick := d.hdr.Type == wire.TypeSnapshot, d.snap.Tick
			if d.hdr.Type == wire.TypeStateDelta {
				isTick, tick = true, d.delta.Tick
			}
			for _, p := range players {
				s := ss.byClientAt(p.ClientID, d.at)
				if s == nil || (d.dst != s.addr && !d.dst.Addr().IsMulticast()) {
					continue
				}
				keep := pending[s][:0]
				for _, in := range pending[s] {
					if isTick && (in.ticks == 0 || in.tick != tick) {
						in.ticks++
						in.tick = tick
					}
					if wire.InputSeqNewer(in.seq, p.LastInputSeq) {
						keep = append(keep, in)
						continue
					}
					tr.ticks[s.id] = append(tr.ticks[s.id], in.ticks)
					// An input a newer one superseded before the tick
					// counts too, as the server counts it: its effect
					// went out with this send.
					tr.applied = append(tr.applied, d.at-in.at)
				}
				pending[s] = keep
			}
		}
	}
}

// checkServerAdded compares the capture's latency of the applied inputs
// with the server's own server-added latency histogram. Both measure the
// same inputs over the same span, from the kernel's receive timestamp to
// the send carrying their effect (the capture reads the clock just before
// handing the sent datagrams to the tap, the server just after): the
// server's median is the capture's, rounded up to its bucket (at most
// 1/64 more). The check allows 2 % of the samples to differ between the
// two (a snapshot the send dropped, a preemption between the two clock
// reads): the server's median must lie between the capture's 48th and
// 52nd percentiles, the latter rounded up as the histogram does.
func checkServerAdded(t *testing.T, applied []int64, h interface {
	Count() uint64
	Quantile(float64) int64
}) {
	t.Helper()
	if len(applied) == 0 || h.Count() == 0 {
		t.Errorf("applied inputs: %d in the capture, %d in the server's histogram", len(applied), h.Count())
		return
	}
	sorted := slices.Clone(applied)
	slices.Sort(sorted)
	srvP50 := h.Quantile(0.5)
	lo, p50, hi := percentile(sorted, 48), percentile(sorted, 50), percentile(sorted, 52)
	t.Logf("applied inputs: capture %d samples p48 %v p50 %v p52 %v max %v; server %d samples p50 %v",
		len(sorted), time.Duration(lo), time.Duration(p50), time.Duration(hi), time.Duration(sorted[len(sorted)-1]),
		h.Count(), time.Duration(srvP50))
	if n, m := float64(len(sorted)), float64(h.Count()); math.Abs(n-m) > 0.02*m+2 {
		t.Errorf("applied inputs: %d in the capture, %d in the server's histogram", len(sorted), h.Count())
	}
	if up := hi + hi/64 + int64(10*time.Microsecond); srvP50 < lo || srvP50 > up {
		t.Errorf("server-added p50 %v outside the capture's p48–p52 %v–%v (rounded up: %v)",
			time.Duration(srvP50), time.Duration(lo), time.Duration(hi), time.Duration(up))
	}
}

// countTypes adds the types of every datagram in path to seen.
func countTypes(t *testing.T, a *analyzer, path string, seen map[string]bool) {
	t.Helper()
	src, err := openFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for {
		f, err := src.next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if a.d.decode(f) {
			if a.d.err != nil {
				t.Errorf("%v → %v: %v", f.src, f.dst, a.d.err)
			}
			seen[a.d.hdr.Type.String()] = true
		}
	}
}
