package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"arcade/capture"
	"arcade/client"
	"arcade/internal/udp"
	"arcade/scene"
	"arcade/server"
	"arcade/sim"
	"arcade/tick"
	"arcade/wire"
)

// capClient is one headset of the loopback test.
type capClient struct {
	c    *client.Client
	sent uint64 // PoseInputs sent

	mu     sync.Mutex
	target *wire.Vec3 // a grabbable object's position, for the grabber
}

// TestLoopbackCaptureStats runs the real server over loopback UDP with the
// capture tap, three clients streaming poses for a second (one grabbing an
// object, one on unicast, one pressing a button by RPC) and a fourth
// refused, then checks the capture
// with arcade-cap's own decoder and statistics.
func TestLoopbackCaptureStats(t *testing.T) {
	if testing.Short() {
		t.Skip("real-socket test skipped in -short mode")
	}
	group := netip.AddrPortFrom(server.DefaultMulticast.Addr(), freePort(t))
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
	// machine; the bound checked below is about the server, not the box.
	cfg := server.Config{Multicast: group, MaxClients: 3, World: world, Tap: capw, RealtimePriority: 10}
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
			SessionConfig:  client.SessionConfig{Name: name, Unicast: unicast},
			MulticastIface: "lo",
		})
	}
	clients := make([]*capClient, 3)
	for i := range clients {
		c, err := dial("cap"+string(rune('a'+i)), i == 1)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		clients[i] = &capClient{c: c}
	}
	if _, err := dial("refused", false); !errors.As(err, new(*client.DeniedError)) {
		t.Fatalf("fourth client: %v, want Denied(ServerFull)", err)
	}
	grabber := clients[0]
	grabber.c.OnSnapshot(func(s *wire.Snapshot, _ int64, _ bool) {
		grabber.mu.Lock()
		defer grabber.mu.Unlock()
		for _, e := range s.Entities {
			if grabber.target == nil && e.Flags&wire.EntityGrabbable != 0 {
				p := e.Pose.Pos
				grabber.target = &p
			}
		}
	})

	// Stream poses at 90 Hz for a second. The grabber puts its right hand
	// on the object with the grip open, then closes it and moves.
	tk := time.NewTicker(time.Second / 90)
	end := time.After(time.Second)
	var frame int
	grabFrame := -1
stream:
	for {
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
			if _, err := cc.c.SendPose(&in); err == nil {
				cc.sent++
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
	time.Sleep(50 * time.Millisecond) // the last inputs' snapshots
	for _, cc := range clients {
		cc.c.Close()
	}
	for deadline := time.Now().Add(2 * time.Second); srv.Stats().Clients.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	if n := srv.Stats().ButtonEvents.Load(); n != 2 {
		t.Errorf("server took %d ButtonEvents, want 2", n)
	}
	if capw.Dropped() != 0 {
		t.Errorf("capture dropped %d datagrams", capw.Dropped())
	}

	a := newAnalyzer(&options{stats: true, anyT: true}, io.Discard)
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
	a2 := newAnalyzer(&options{anyT: true}, io.Discard) // the refused client's handshake has no session
	countTypes(t, a2, path, seen)
	for ty := wire.PacketType(1); ty <= wire.MaxType; ty++ {
		if !seen[ty.String()] {
			t.Errorf("no %v in the capture", ty)
		}
	}

	// An input is in the snapshot of the first tick after it arrived, sent
	// in that tick: at most two tick periods. A sample above that means the
	// host held the server up (a late or missed tick, a late wake-up), which
	// the server reports; the bound for the tail adds what it reported.
	tickPeriod := time.Second / time.Duration(srv.Config().TickRate)
	sst := srv.Stats()
	late := time.Duration(sst.TickLateness.Max()+sst.RxDelay.Max()) + time.Duration(sst.MissedTicks.Load())*tickPeriod
	serverP50 := time.Duration(sst.ServerAdded.Quantile(0.5))
	t.Logf("server: %d ticks, %d missed, tick lateness max %v, rx delay max %v, its own server-added p50 %v max %v",
		sst.Ticks.Load(), sst.MissedTicks.Load(), time.Duration(sst.TickLateness.Max()), time.Duration(sst.RxDelay.Max()),
		serverP50, time.Duration(sst.ServerAdded.Max()))
	// The server measures the same span (kernel receive of a pose to the
	// return of the send carrying it) for the inputs it applies: the
	// capture's median must agree.
	if d := r.InputToState.P50 - ms(int64(serverP50)); d > 1 || d < -1 {
		t.Errorf("capture input→state p50 %.3f ms, server's own server-added p50 %v", r.InputToState.P50, serverP50)
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
		if limit := 2 * tickPeriod; m.P50 > ms(int64(limit)) {
			t.Errorf("client %d: input→state p50 %.3f ms above two ticks (%v)", id, m.P50, limit)
		}
		if limit := 2*tickPeriod + late; m.Max > ms(int64(limit)) {
			t.Errorf("client %d: input→state max %.3f ms above two ticks + the server's lateness (%v)", id, m.Max, limit)
		}
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

func freePort(t *testing.T) uint16 {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}
