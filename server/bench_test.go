package server_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/arcadexr/arcade/capture"
	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/sim"
	"github.com/arcadexr/arcade/wire"
)

// switchTransport lets a test set up sessions on the simulated network and
// then drive the hot path with a replaying transport.
type switchTransport struct{ inner server.Transport }

func (s *switchTransport) ReadBatch(b *udp.Batch) (int, error) { return s.inner.ReadBatch(b) }
func (s *switchTransport) WriteBatchRange(b *udp.Batch, from, to int) (int, error) {
	return s.inner.WriteBatchRange(b, from, to)
}

// replay hands out one pose datagram per client per round, bumping each
// client's input sequence in place, and swallows what the server sends. It
// never allocates.
type replay struct {
	dgrams [][]byte
	from   []netip.AddrPort
	seq    uint32
	queued bool
	sent   int
	rx     int64
	// ack, when set, gives the tick the clients acknowledge holding, with
	// every tick before it (pose datagrams with a state acknowledgement).
	ack  func() uint32
	next int // the next datagram to hand out of this round's
}

func (r *replay) ReadBatch(b *udp.Batch) (int, error) {
	if !r.queued {
		return 0, nil
	}
	n := min(len(r.dgrams)-r.next, len(b.Msgs))
	for i, d := range r.dgrams[r.next : r.next+n] {
		binary.LittleEndian.PutUint32(d[wire.HeaderSize:], r.seq)
		if r.ack != nil && len(d) >= wire.HeaderSize+wire.PoseInputAckSize {
			binary.LittleEndian.PutUint32(d[wire.HeaderSize+wire.PoseInputSize:], r.ack())
			binary.LittleEndian.PutUint64(d[wire.HeaderSize+wire.PoseInputSize+4:], ^uint64(0))
		}
		m := &b.Msgs[i]
		m.N = copy(m.Buf[:cap(m.Buf)], d)
		m.Addr = r.from[r.next+i]
		m.RxTime = r.rx
		m.Truncated = false
	}
	if r.next += n; r.next == len(r.dgrams) {
		r.queued, r.next = false, 0
	}
	return n, nil
}

func (r *replay) WriteBatchRange(b *udp.Batch, from, to int) (int, error) {
	r.sent += to - from
	return to - from, nil
}

// hotPathWorld connects n clients (unicast or multicast) over the
// simulated network, then switches the server to a replaying transport.
// With world, the demo arcade is loaded and every client's right hand holds
// its own grabbable object, squeezed at connect.
func hotPathWorld(tb testing.TB, n int, unicast, world bool) (*server.Server, *replay, *int64) {
	return hotPathTap(tb, n, unicast, world, nil)
}

// hotPathTap is hotPathWorld with a capture tap on every datagram.
func hotPathTap(tb testing.TB, n int, unicast, world bool, tap server.Tap) (*server.Server, *replay, *int64) {
	return hotPathConfig(tb, n, unicast, world, server.Config{Tap: tap})
}

// hotPathConfig is hotPathWorld with cfg's settings.
func hotPathConfig(tb testing.TB, n int, unicast, world bool, cfg server.Config) (*server.Server, *replay, *int64) {
	return hotPathClients(tb, n, unicast, world, false, cfg)
}

// hotPathClients is hotPathConfig with clients that take StateDelta when
// delta is set: their poses acknowledge a tick, always the same (the
// replay does not change), so the server codes against it while it keeps
// it and repairs them once it does not.
func hotPathClients(tb testing.TB, n int, unicast, world, delta bool, cfg server.Config) (*server.Server, *replay, *int64) {
	tb.Helper()
	nw := netsim.New(netsim.Config{}, start)
	sw := &switchTransport{inner: nw.Endpoint(serverAddr)}
	now := start
	cfg.Seed, cfg.WallClock, cfg.MonoClock = 1, func() int64 { return now }, func() int64 { return now }
	var grabbables []scene.Object
	if world {
		w, err := sim.New(scene.Default())
		if err != nil {
			tb.Fatal(err)
		}
		cfg.World = w
		for _, o := range scene.Default().Objects {
			if o.Grab != scene.GrabNone {
				grabbables = append(grabbables, o)
			}
		}
	}
	srv, err := server.New(cfg, sw, start)
	if err != nil {
		tb.Fatal(err)
	}
	r := &rig{t: tb, net: nw, srv: srv, ep: nw.Endpoint(serverAddr)}
	rp := &replay{}
	var flags uint8
	if unicast {
		flags = wire.ConnectWantUnicast
	}
	if delta {
		flags |= wire.ConnectDeltaState
	}
	for i := range n {
		c := r.client(fmt.Sprintf("10.0.%d.%d:4000", 1+(i+1)/250, 1+(i+1)%250))
		r.connect(c, flags)
		now = nw.Now()
		in := wire.PoseInput{Tracking: 7, HasStateAck: delta, StateTick: 2, StateHeld: 1}
		in.Head.Rot.W, in.Hands[0].Rot.W, in.Hands[1].Rot.W = 1, 1, 1
		if world && i < len(grabbables) {
			p := grabbables[i].Pose.Pos
			in.Hands[wire.Right].Pos = wire.Vec3{X: float32(p.X), Y: float32(p.Y), Z: float32(p.Z)}
			in.Grip[wire.Right] = 1
		}
		h := wire.Header{Type: wire.TypePoseInput, Token: c.token}
		rp.dgrams = append(rp.dgrams, in.Append(h.Append(nil)))
		rp.from = append(rp.from, c.ep.Addr())
	}
	sw.inner = rp
	now = nw.Now()
	return srv, rp, &now
}

// round is one receive → tick → send cycle with every client's pose: a
// Step that reads the poses (and sends their eager update), then a Step at
// the next tick's deadline.
func round(srv *server.Server, rp *replay, now *int64) {
	rp.seq++
	*now += int64(time.Millisecond)
	rp.rx = *now
	rp.queued = true
	srv.Step(*now)
	*now = max(*now, srv.NextTick())
	srv.Step(*now)
}

func TestHotPathAllocationFree(t *testing.T) {
	for _, tc := range []struct{ unicast, world bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		unicast := tc.unicast
		srv, rp, now := hotPathWorld(t, 16, tc.unicast, tc.world)
		allocs := testing.AllocsPerRun(200, func() {
			round(srv, rp, now)
		})
		if allocs != 0 {
			t.Errorf("unicast=%v world=%v: %.1f allocations per receive→tick→send round, want 0", unicast, tc.world, allocs)
		}
		if tc.world && srv.Stats().EagerUpdates.Load() == 0 {
			t.Error("no eager updates: the clients hold nothing")
		}
		if rp.sent == 0 {
			t.Fatal("nothing was sent")
		}
		if srv.Stats().Dropped[server.DropStaleInput].Load() != 0 {
			t.Fatal("replayed inputs were treated as stale")
		}
	}
}

// TestHotPathAllocationFreeDelta: with clients that take StateDelta (on
// the group and on unicast, with repairs), still no allocation per round.
func TestHotPathAllocationFreeDelta(t *testing.T) {
	skipUnderRace(t)
	for _, tc := range []struct{ unicast, world bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		srv, rp, now := hotPathClients(t, 16, tc.unicast, tc.world, true, server.Config{})
		for range 300 { // past the history's window, with the same acknowledgement: repairs
			round(srv, rp, now)
		}
		if allocs := testing.AllocsPerRun(200, func() { round(srv, rp, now) }); allocs != 0 {
			t.Errorf("unicast=%v world=%v: %.1f allocations per round with StateDelta, want 0", tc.unicast, tc.world, allocs)
		}
		if !tc.unicast && srv.Stats().StateRepairs.Load() == 0 {
			t.Errorf("world=%v: no repairs, though the clients' acknowledgement went stale", tc.world)
		}
		// Clients that acknowledge every tick: coded against recent ones.
		rp.ack = ackNewest(srv, now)
		if allocs := testing.AllocsPerRun(200, func() { round(srv, rp, now) }); allocs != 0 {
			t.Errorf("unicast=%v world=%v: %.1f allocations per round with StateDelta acknowledged, want 0", tc.unicast, tc.world, allocs)
		}
	}
}

// TestHotPathAllocationFreeTickOnly: eager propagation off, the inputs
// wait for the tick; still no allocation per round.
func TestHotPathAllocationFreeTickOnly(t *testing.T) {
	for _, world := range []bool{false, true} {
		srv, rp, now := hotPathConfig(t, 16, false, world, server.Config{NoEager: true})
		if allocs := testing.AllocsPerRun(200, func() { round(srv, rp, now) }); allocs != 0 {
			t.Errorf("world=%v: %.1f allocations per round without eager propagation, want 0", world, allocs)
		}
		if srv.Stats().EagerUpdates.Load() != 0 || srv.Stats().ServerAdded.Count() == 0 {
			t.Errorf("world=%v: %d eager updates, %d samples", world, srv.Stats().EagerUpdates.Load(), srv.Stats().ServerAdded.Count())
		}
	}
}

// BenchmarkReceiveTickSend measures the server's whole hot path per datagram:
// 16 clients' pose datagrams are handled, one tick applies them and sends
// the snapshot (or, delta-*, the StateDelta). ns/op and allocs/op are per
// received datagram.
func BenchmarkReceiveTickSend(b *testing.B) {
	for _, tc := range []struct {
		name    string
		clients int
		unicast bool
		world   bool
		delta   bool
	}{{"multicast-16", 16, false, false, false}, {"unicast-16", 16, true, false, false}, {"multicast-64", 64, false, false, false},
		{"arcade-grabbing-16", 16, false, true, false},
		{"delta-multicast-16", 16, false, false, true}, {"delta-unicast-16", 16, true, false, true}, {"delta-multicast-64", 64, false, false, true},
		{"delta-arcade-grabbing-16", 16, false, true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			srv, rp, now := hotPathClients(b, tc.clients, tc.unicast, tc.world, tc.delta, server.Config{})
			if tc.delta {
				rp.ack = ackNewest(srv, now)
			}
			b.ReportAllocs()
			b.ResetTimer()
			rounds := 0
			for i := 0; i < b.N; i += tc.clients {
				rounds++
				round(srv, rp, now)
			}
			b.ReportMetric(float64(rp.sent)/float64(rounds), "sent/round")
		})
	}
}

// TestHotPathAllocationFreeWithCapture: packet capture on, still no
// allocation per receive -> tick -> send round.
func TestHotPathAllocationFreeWithCapture(t *testing.T) {
	w, err := capture.NewWriter(io.Discard, serverAddr, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	srv, rp, now := hotPathTap(t, 16, false, true, w)
	if allocs := testing.AllocsPerRun(200, func() {
		round(srv, rp, now)
	}); allocs != 0 {
		t.Fatalf("%.1f allocations per round with capture on, want 0", allocs)
	}
}

// ackNewest is a replay's acknowledgement: the tick whose deadline last
// passed at *now, as a client that received everything holds.
func ackNewest(srv *server.Server, now *int64) func() uint32 {
	period := int64(srv.Config().Period())
	return func() uint32 { return uint32((*now-start)/period) - 1 }
}
