//go:build linux

package client

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/arcadexr/arcade/internal/testnet"
	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/internal/wait"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/tick"
	"github.com/arcadexr/arcade/wire"
)

// groupSender sends datagrams of the test's own making to a multicast group
// on lo.
type groupSender struct {
	t     *testing.T
	conn  *net.UDPConn
	group netip.AddrPort
	seq   map[uint64]uint16 // next group sequence per token
	tick  map[uint64]uint32
}

func newGroupSender(t *testing.T, group netip.AddrPort) *groupSender {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skip("no lo interface:", err)
	}
	if err := ipv4.NewPacketConn(conn).SetMulticastInterface(lo); err != nil {
		t.Skip("cannot send multicast on lo:", err)
	}
	return &groupSender{t: t, conn: conn, group: group, seq: map[uint64]uint16{}, tick: map[uint64]uint32{}}
}

// snapshot sends a one-part snapshot of the next tick with group token
// token and the next sequence number of that token.
func (g *groupSender) snapshot(token uint64) {
	g.t.Helper()
	g.tick[token]++
	h := wire.Header{Type: wire.TypeSnapshot, Token: token, Seq: g.seq[token]}
	g.seq[token]++
	g.raw(testSnapshot(g.tick[token], wire.PlayerState{ClientID: 1}).Append(h.Append(nil)))
}

func (g *groupSender) raw(dgram []byte) {
	g.t.Helper()
	if _, err := g.conn.WriteToUDPAddrPort(dgram, g.group); err != nil {
		g.t.Fatal(err)
	}
}

// counter counts a Client's snapshot callbacks.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) onSnapshot(*wire.Snapshot, int64, bool) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func dialShared(t *testing.T, srv *udpServer, hub *MulticastHub, iface string) (*Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return Dial(ctx, srv.addr(), Config{SessionConfig: SessionConfig{Name: "shared"}, MulticastIface: iface, SharedMulticast: hub})
}

// TestHubDeliversOncePerClient shares one socket between three clients of
// one server and one of another server on the same group: every datagram
// with a group token reaches each client of that token once and no other
// client; datagrams of no known token, or not Arcade, reach nobody.
func TestHubDeliversOncePerClient(t *testing.T) {
	base := runtime.NumGoroutine()
	group := testnet.Group(t)
	srvA := startUDPServer(t, group, 0, false)
	srvB := startUDPServer(t, group, 0, false)
	if srvA.gtoken == srvB.gtoken {
		srvB.gtoken++
	}
	hub := NewMulticastHub()
	if g, ifname := hub.Group(); g.IsValid() || ifname != "" {
		t.Fatalf("new hub joined %v on %q", g, ifname)
	}
	var clients []*Client
	var counts []*counter
	for i, srv := range []*udpServer{srvA, srvA, srvA, srvB} {
		c, err := dialShared(t, srv, hub, "lo")
		if err != nil {
			if strings.Contains(err.Error(), "join multicast") {
				t.Skip("multicast unavailable on lo:", err)
			}
			t.Fatal(err)
		}
		if g, ifname := c.Group(); g != group || ifname != "lo" {
			t.Fatalf("client %d joined %v on %q", i, g, ifname)
		}
		n := &counter{}
		c.OnSnapshot(n.onSnapshot)
		clients = append(clients, c)
		counts = append(counts, n)
	}
	if g, ifname := hub.Group(); g != group || ifname != "lo" {
		t.Fatalf("hub joined %v on %q", g, ifname)
	}
	if st := hub.Stats(); st.Clients != 4 {
		t.Fatalf("hub stats %+v, want 4 clients", st)
	}

	gs := newGroupSender(t, group)
	const nA, nB, nOther = 20, 7, 5
	for range nA {
		gs.snapshot(srvA.gtoken)
	}
	for range nB {
		gs.snapshot(srvB.gtoken)
	}
	for range nOther {
		gs.snapshot(srvA.gtoken ^ srvB.gtoken ^ 0xf00) // nobody's token
	}
	gs.raw([]byte{1, 2, 3})                                               // short
	gs.raw(append([]byte("not an arcade datagram"), make([]byte, 40)...)) // bad magic
	total := uint64(nA + nB + nOther + 2)
	wait.For(t, waitTimeout, "the hub to read every datagram sent", func() bool { return hub.Stats().Datagrams >= total })

	want := []int{nA, nA, nA, nB}
	check := func(stage string) {
		t.Helper()
		// The hub hands each datagram to its clients; each client decodes on
		// its own goroutine, so reading every datagram is not yet delivering it.
		for i, c := range clients {
			if i == 0 && stage != "first round" {
				continue // closed
			}
			wait.For(t, waitTimeout, stage+": every client to decode what the hub handed it", func() bool {
				return c.Stats().Snapshots >= uint64(want[i]) && counts[i].get() >= want[i]
			})
		}
		for i, c := range clients {
			st := c.Stats()
			if st.Multicast.Received != uint64(want[i]) || st.Multicast.Lost != 0 || st.Snapshots != uint64(want[i]) || st.TotalDropped() != 0 {
				t.Errorf("%s: client %d: multicast %+v, %d snapshots, %d dropped; want %d received, none lost or dropped",
					stage, i, st.Multicast, st.Snapshots, st.TotalDropped(), want[i])
			}
			if got := counts[i].get(); got != want[i] {
				t.Errorf("%s: client %d: %d snapshot callbacks, want %d", stage, i, got, want[i])
			}
		}
	}
	check("first round")
	// Each client's delivery reports count its own multicast datagrams.
	servers := []*udpServer{srvA, srvA, srvA, srvB}
	for i, c := range clients {
		wait.For(t, waitTimeout, "the delivery reports to count every datagram", func() bool {
			return servers[i].reported(c).mcRecv >= uint64(want[i])
		})
		if r := servers[i].reported(c); r.mcRecv != uint64(want[i]) || r.mcLost != 0 || r.reportsNotJoined {
			t.Errorf("client %d: reports counted %d received, %d lost, not joined %v; want %d, 0, false", i, r.mcRecv, r.mcLost, r.reportsNotJoined, want[i])
		}
	}
	st := hub.Stats()
	if st.Datagrams != total || st.Deliveries != 3*nA+nB || st.Unmatched != nOther+2 || st.ReadErrors != 0 || st.Batches == 0 || st.Batches > st.Datagrams {
		t.Errorf("hub stats %+v, want %d datagrams, %d deliveries, %d unmatched", st, total, 3*nA+nB, nOther+2)
	}

	// A closed client leaves the hub; the others go on.
	clients[0].Close()
	if st := hub.Stats(); st.Clients != 3 {
		t.Errorf("after one Close: %d clients on the hub, want 3", st.Clients)
	}
	for range nA {
		gs.snapshot(srvA.gtoken)
	}
	wait.For(t, waitTimeout, "the second round", func() bool { return hub.Stats().Datagrams >= total+nA })
	want = []int{nA, 2 * nA, 2 * nA, nB}
	check("after one client closed")
	if st := hub.Stats(); st.Deliveries != 3*nA+nB+2*nA {
		t.Errorf("hub stats %+v, want %d deliveries", st, 3*nA+nB+2*nA)
	}

	for _, c := range clients {
		c.Close()
	}
	if st := hub.Stats(); st.Clients != 0 {
		t.Errorf("after Close: %d clients on the hub", st.Clients)
	}
	hub.Close()
	hub.Close() // idempotent
	srvA.stop()
	srvB.stop()
	waitGoroutines(t, base)
}

// A hub joins one group on one interface: a client offered another, or
// naming another interface, cannot use it, and neither can one dialed after
// the hub closed. With the interface named that fails the Dial; with it
// guessed, the client gets snapshots by unicast.
func TestHubRefusesOtherGroup(t *testing.T) {
	base := runtime.NumGoroutine()
	group := testnet.Group(t)
	srv := startUDPServer(t, group, 0, false)
	other := startUDPServer(t, netip.AddrPortFrom(testnet.GroupAddr(), group.Port()), 0, false)
	if other.group.Addr() == group.Addr() {
		t.Skip("drew the same group twice")
	}
	hub := NewMulticastHub()
	c, err := dialShared(t, srv, hub, "lo")
	if err != nil {
		if strings.Contains(err.Error(), "join multicast") {
			t.Skip("multicast unavailable on lo:", err)
		}
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := dialShared(t, other, hub, "lo"); err == nil || !strings.Contains(err.Error(), "shared multicast socket") || !strings.Contains(err.Error(), other.group.String()) {
		t.Errorf("Dial to a server of another group = %v, want an error naming the group and the shared socket", err)
	}
	guessed, err := dialShared(t, other, hub, "")
	if err != nil {
		t.Fatalf("Dial to a server of another group, interface guessed: %v", err)
	}
	if g, _ := guessed.Group(); g.IsValid() || guessed.MulticastError() == nil {
		t.Errorf("guessed interface: joined %v, MulticastError %v; want no group and an error", g, guessed.MulticastError())
	}
	// Its delivery reports tell the server, which may then switch it to
	// unicast.
	wait.For(t, waitTimeout, "a delivery report saying the group was not joined", func() bool { return other.reported(guessed).reportsNotJoined })
	guessed.Close()
	hub.Close()
	if _, err := dialShared(t, srv, hub, "lo"); !errors.Is(err, errHubClosed) {
		t.Errorf("Dial with a closed hub = %v, want %v", err, errHubClosed)
	}
	c.Close()
	srv.stop()
	other.stop()
	waitGoroutines(t, base)
}

// hubTestClient is a Client with a connected session and no sockets or
// goroutines, for driving a hub's delivery alone.
func hubTestClient(t *testing.T) (*Client, *counter) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{})
	f.connect(s, now())
	c := &Client{
		s:       s,
		settled: make(chan struct{}),
		done:    make(chan struct{}),
		quit:    make(chan struct{}),
		kick:    make(chan struct{}, 1),
	}
	c.sendFn = func([]byte) {}
	n := &counter{}
	s.OnSnapshot(n.onSnapshot)
	return c, n
}

// TestHubAllocs checks that a multicast datagram costs no allocation on the
// shared path: recvmmsg, the header, and the hand-off to four sessions,
// their callbacks included.
func TestHubAllocs(t *testing.T) {
	group := testnet.Group(t)
	hub := NewMulticastHub()
	defer hub.Close()
	var counts []*counter
	var token uint64
	for range 4 {
		c, n := hubTestClient(t)
		token = c.s.Accepted().GroupToken
		if _, err := hub.attach(context.Background(), c, group, token, "lo", netip.AddrPort{}); err != nil {
			t.Skip("multicast unavailable on lo:", err)
		}
		counts = append(counts, n)
	}
	tx, err := udp.Listen(udp.Config{Listen: netip.MustParseAddrPort("127.0.0.1:0"), MulticastIface: "lo"})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	b := udp.NewBatch(1, wire.MaxDatagramSize)
	players := make([]wire.PlayerState, 16)
	for i := range players {
		players[i] = wire.PlayerState{ClientID: uint16(i + 1), Head: wire.Pose{Rot: wire.Quat{W: 1}}}
	}
	snap := testSnapshot(0, players...)
	var sent uint64
	allocs := testing.AllocsPerRun(200, func() {
		snap.Tick++
		snap.ServerTime = stampOf(snap.Tick)
		h := wire.Header{Type: wire.TypeSnapshot, Token: token, Seq: uint16(sent)}
		m := &b.Msgs[0]
		m.N = len(snap.Append(h.Append(m.Buf[:0])))
		m.Addr = group
		if _, err := tx.WriteBatch(b, 1); err != nil {
			t.Fatal(err)
		}
		sent++
		deadline := time.Now().Add(waitTimeout)
		for _, n := range counts {
			for n.get() < int(sent) {
				if time.Now().After(deadline) {
					t.Fatalf("datagram %d not delivered", sent)
				}
				runtime.Gosched()
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocs per multicast datagram on the shared path, want 0", allocs)
	}
	for i, n := range counts {
		if got := n.get(); got != int(sent) {
			t.Errorf("client %d: %d snapshots delivered, want %d", i, got, sent)
		}
	}
}

// peerWatch records which players a client saw, and whether their
// LastInputSeq advanced.
type peerWatch struct {
	mu    sync.Mutex
	first map[uint16]uint32
	adv   map[uint16]bool
	mc    int // snapshots by multicast
}

func (w *peerWatch) onSnapshot(s *wire.Snapshot, _ int64, viaMulticast bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if viaMulticast {
		w.mc++
	}
	for _, p := range s.Players {
		if f, ok := w.first[p.ClientID]; !ok {
			w.first[p.ClientID] = p.LastInputSeq
		} else if p.LastInputSeq != f {
			w.adv[p.ClientID] = true
		}
	}
}

func (w *peerWatch) sawAll(ids []uint16) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range ids {
		if !w.adv[id] {
			return false
		}
	}
	return true
}

// TestRealServerPeers connects eight clients to the real server over
// loopback, on one shared multicast socket and on sockets of their own:
// either way each sees every other's inputs advance.
func TestRealServerPeers(t *testing.T) {
	if testing.Short() {
		t.Skip("real-socket test skipped in -short mode")
	}
	for _, shared := range []bool{true, false} {
		name := "per-client"
		if shared {
			name = "shared"
		}
		t.Run(name, func(t *testing.T) { realServerPeers(t, shared) })
	}
}

func realServerPeers(t *testing.T, shared bool) {
	const n = 8
	// A long idle and server timeout: a loaded machine that stalls the test
	// process for a while must not end the sessions.
	const stall = 30 * time.Second
	group := testnet.Group(t)
	conn, err := udp.Listen(udp.Config{Listen: netip.MustParseAddrPort("127.0.0.1:0"), Timestamps: true, MulticastIface: "lo"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	srv, err := server.New(server.Config{Multicast: group, IdleTimeout: stall}, conn, tick.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(ctx, conn.Fd()) }()
	defer func() {
		cancel()
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	var hub *MulticastHub
	if shared {
		hub = NewMulticastHub()
		defer hub.Close()
	}
	clients := make([]*Client, n)
	watches := make([]*peerWatch, n)
	ids := make([]uint16, n)
	for i := range clients {
		dctx, dcancel := context.WithTimeout(context.Background(), waitTimeout)
		c, err := Dial(dctx, conn.LocalAddr().String(), Config{
			SessionConfig:   SessionConfig{Name: "peer", ServerTimeout: stall},
			MulticastIface:  "lo",
			SharedMulticast: hub,
		})
		dcancel()
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		defer c.Close()
		if g, ifname := c.Group(); g != group || ifname != "lo" {
			t.Fatalf("client %d joined %v on %q", i, g, ifname)
		}
		w := &peerWatch{first: map[uint16]uint32{}, adv: map[uint16]bool{}}
		c.OnSnapshot(w.onSnapshot)
		clients[i], watches[i], ids[i] = c, w, c.ClientID()
	}
	in := wire.PoseInput{Tracking: wire.TrackHead, Head: wire.Pose{Pos: wire.Vec3{Y: 1.7}, Rot: wire.Quat{W: 1}}}
	wait.For(t, waitTimeout, "every client to see every client's inputs advance", func() bool {
		for _, c := range clients {
			in.Head.Pos.X += 0.001
			c.SendPose(&in)
		}
		for _, w := range watches {
			if !w.sawAll(ids) {
				return false
			}
		}
		return true
	})
	var received uint64
	for i, c := range clients {
		st := c.Stats()
		received += st.Multicast.Received
		watches[i].mu.Lock()
		mc := watches[i].mc
		watches[i].mu.Unlock()
		t.Logf("client %d: %d snapshots by multicast, multicast path %+v, dropped %v", i, mc, st.Multicast, st.Dropped)
	}
	if received == 0 {
		t.Error("no client received anything by multicast")
	}
	if hub != nil {
		st := hub.Stats()
		t.Logf("hub %+v", st)
		// Each datagram read once and handed to every client.
		if st.Clients != n || st.Datagrams == 0 || st.Deliveries < received || st.Deliveries > n*st.Datagrams {
			t.Errorf("hub stats %+v with %d multicast datagrams received by the clients", st, received)
		}
	}
}
