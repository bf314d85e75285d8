package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/arcadexr/arcade/internal/testnet"
	"github.com/arcadexr/arcade/internal/wait"
	"github.com/arcadexr/arcade/wire"
)

// udpServer is a fake server over real loopback UDP, written with the wire
// codecs: it completes handshakes, answers pings, and answers every pose
// with an entity update caused by it and then a snapshot reporting it, by
// unicast or to a multicast group on lo.
type udpServer struct {
	t      *testing.T
	conn   *net.UDPConn
	group  netip.AddrPort // zero: unicast snapshots
	gtoken uint64         // the group token, random per server
	deny   wire.DenyReason
	silent bool // never answer
	start  time.Time
	wg     sync.WaitGroup

	mu          sync.Mutex
	poses       int
	disconnects int
	clients     map[netip.AddrPort]*udpPeer
	mseq        uint16
	tick        uint32
	epoch       uint32 // not 0: every unicast reply carries it (PROTOCOL §18.1)
}

type udpPeer struct {
	id    uint16
	token uint64
	seq   uint16
	last  uint32
	// From the client's delivery reports: how many, the multicast
	// datagrams they counted received and lost, and whether one said the
	// group was not joined.
	reports          int
	mcRecv, mcLost   uint64
	reportsNotJoined bool
}

func startUDPServer(t *testing.T, group netip.AddrPort, deny wire.DenyReason, silent bool) *udpServer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if group.IsValid() {
		lo, err := net.InterfaceByName("lo")
		if err != nil {
			t.Skip("no lo interface:", err)
		}
		if err := ipv4.NewPacketConn(conn).SetMulticastInterface(lo); err != nil {
			t.Skip("cannot send multicast on lo:", err)
		}
	}
	s := &udpServer{t: t, conn: conn, group: group, gtoken: rand.Uint64() | 1, deny: deny, silent: silent, start: time.Now(), clients: map[netip.AddrPort]*udpPeer{}}
	s.wg.Add(1)
	go s.run()
	t.Cleanup(s.stop)
	return s
}

func (s *udpServer) addr() string { return s.conn.LocalAddr().String() }

// reported returns what client c's delivery reports told the server so far.
func (s *udpServer) reported(c *Client) udpPeer {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The client's socket is bound to 0.0.0.0: match by port.
	for addr, p := range s.clients {
		if addr.Port() == c.LocalAddr().Port() {
			return *p
		}
	}
	return udpPeer{}
}

func (s *udpServer) stop() {
	s.conn.Close()
	s.wg.Wait()
}

func (s *udpServer) us() uint64 { return uint64(time.Since(s.start).Microseconds()) }

func (s *udpServer) run() {
	defer s.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if !s.silent {
			s.handle(buf[:n], from)
		}
	}
}

func (s *udpServer) handle(b []byte, from netip.AddrPort) {
	s.mu.Lock()
	defer s.mu.Unlock()
	recv := s.us()
	var h wire.Header
	n, err := h.Parse(b)
	if err != nil {
		return
	}
	body := b[n:]
	reply := func(t wire.PacketType, token uint64, p *udpPeer, m interface{ Append([]byte) []byte }) {
		rh := wire.Header{Type: t, Token: token}
		if p != nil {
			rh.Seq = p.seq
			p.seq++
		}
		d := m.Append(rh.Append(nil))
		if s.epoch != 0 {
			d = wire.StampEpoch(d, s.epoch)
		}
		s.conn.WriteToUDPAddrPort(d, from)
	}
	switch h.Type {
	case wire.TypeConnectRequest:
		var m wire.ConnectRequest
		if _, err := m.Parse(body); err != nil {
			return
		}
		reply(wire.TypeChallenge, 0, nil, &wire.Challenge{ClientNonce: m.ClientNonce})
	case wire.TypeChallengeResponse:
		var m wire.ChallengeResponse
		if _, err := m.Parse(body); err != nil {
			return
		}
		if s.deny != 0 {
			reply(wire.TypeDenied, 0, nil, &wire.Denied{ClientNonce: m.ClientNonce, Reason: s.deny})
			return
		}
		p := s.clients[from]
		if p == nil {
			p = &udpPeer{id: uint16(len(s.clients) + 1), token: uint64(len(s.clients)+1) << 32}
			s.clients[from] = p
		}
		acc := &wire.Accepted{ClientNonce: m.ClientNonce, ClientID: p.id, TickRate: 120, ServerTime: recv, Multicast: s.group, GroupToken: s.gtoken}
		if !s.group.IsValid() {
			acc.Flags = wire.AcceptedUnicast
		}
		reply(wire.TypeAccepted, p.token, p, acc)
	case wire.TypePing:
		p := s.clients[from]
		var m wire.Ping
		if p == nil || h.Token != p.token {
			return
		}
		if _, err := m.Parse(body); err != nil {
			return
		}
		reply(wire.TypePong, p.token, p, &wire.Pong{PingID: m.PingID, ClientTime: m.ClientTime, ServerRecvTime: recv, ServerSendTime: s.us()})
	case wire.TypePoseInput:
		p := s.clients[from]
		var m wire.PoseInput
		if p == nil || h.Token != p.token {
			return
		}
		if _, err := m.Parse(body); err != nil {
			return
		}
		s.poses++
		p.last = m.InputSeq
		held := []wire.EntityState{{ID: 1, Flags: wire.EntityHeld | wire.EntityGrabbable, Pose: m.Hands[wire.Right]}}
		upd := &wire.EntityUpdate{Tick: s.tick, ServerTime: s.us(), Causes: []wire.UpdateCause{{Client: p.id, Input: m.InputSeq}}, Entities: held}
		s.tick++
		snap := &wire.Snapshot{Tick: s.tick, ServerTime: s.us(), Parts: 1, PlayerCount: 1,
			Players: []wire.PlayerState{{ClientID: p.id, LastInputSeq: p.last, Head: m.Head}}, Entities: held}
		if s.group.IsValid() {
			mh := wire.Header{Type: wire.TypeEntityUpdate, Token: s.gtoken, Seq: s.mseq}
			s.conn.WriteToUDPAddrPort(upd.Append(mh.Append(nil)), s.group)
			mh.Type, mh.Seq = wire.TypeSnapshot, s.mseq+1
			s.mseq += 2
			s.conn.WriteToUDPAddrPort(snap.Append(mh.Append(nil)), s.group)
		} else {
			reply(wire.TypeEntityUpdate, p.token, p, upd)
			reply(wire.TypeSnapshot, p.token, p, snap)
		}
	case wire.TypeDisconnect:
		if p := s.clients[from]; p != nil && h.Token == p.token {
			s.disconnects++
		}
	case wire.TypeDeliveryReport:
		p := s.clients[from]
		var m wire.DeliveryReport
		if p == nil || h.Token != p.token {
			return
		}
		if _, err := m.Parse(body); err != nil {
			return
		}
		p.reports++
		p.mcRecv += uint64(m.McastReceived)
		p.mcLost += uint64(m.McastLost)
		p.reportsNotJoined = p.reportsNotJoined || m.Flags&wire.DeliveryNotJoined != 0
	}
}

// waitTimeout bounds the waits for what loopback delivers at once, so that
// only a failing test waits that long.
const waitTimeout = 10 * time.Second

// waitGoroutines waits for the goroutine count to fall back to base.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	if !wait.Until(waitTimeout, func() bool { return runtime.NumGoroutine() <= base }) {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines, want %d:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
	}
}

// snapshotWaiter records what a Client's callbacks saw.
type snapshotWaiter struct {
	mu    sync.Mutex
	got   chan struct{}
	seqs  []uint32
	rx    []int64
	multi []bool
}

func newSnapshotWaiter() *snapshotWaiter { return &snapshotWaiter{got: make(chan struct{}, 64)} }

func (w *snapshotWaiter) onSnapshot(id uint16) func(*wire.Snapshot, int64, bool) {
	return func(snap *wire.Snapshot, rx int64, viaMulticast bool) {
		for _, p := range snap.Players {
			if p.ClientID == id {
				w.mu.Lock()
				w.seqs = append(w.seqs, p.LastInputSeq)
				w.rx = append(w.rx, rx)
				w.multi = append(w.multi, viaMulticast)
				w.mu.Unlock()
				select {
				case w.got <- struct{}{}:
				default:
				}
			}
		}
	}
}

// onEntityUpdate records the updates caused by client id like snapshots:
// the newest input of id among the causes into seqs.
func (w *snapshotWaiter) onEntityUpdate(id uint16) func(*wire.EntityUpdate, int64, bool) {
	return func(u *wire.EntityUpdate, rx int64, viaMulticast bool) {
		seq, ok := u.NewestInput(id)
		if !ok || len(u.Entities) != 1 || u.Entities[0].Flags&wire.EntityHeld == 0 {
			return
		}
		w.mu.Lock()
		w.seqs = append(w.seqs, seq)
		w.rx = append(w.rx, rx)
		w.multi = append(w.multi, viaMulticast)
		w.mu.Unlock()
		select {
		case w.got <- struct{}{}:
		default:
		}
	}
}

func (w *snapshotWaiter) wait(t *testing.T) {
	t.Helper()
	select {
	case <-w.got:
	case <-time.After(waitTimeout):
		t.Fatal("no snapshot reporting the pose")
	}
}

func TestClientUnicast(t *testing.T) {
	base := runtime.NumGoroutine()
	srv := startUDPServer(t, netip.AddrPort{}, 0, false)
	dialed := time.Now()
	c, err := Dial(context.Background(), srv.addr(), Config{SessionConfig: SessionConfig{Name: "uni", Unicast: true, PingInterval: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if c.State() != Connected || c.ClientID() != 1 || c.Accepted().TickRate != 120 {
		t.Fatalf("state %v id %d accepted %+v", c.State(), c.ClientID(), c.Accepted())
	}
	if g, _ := c.Group(); g.IsValid() {
		t.Errorf("unicast client joined %v", g)
	}
	w := newSnapshotWaiter()
	c.OnSnapshot(w.onSnapshot(c.ClientID()))
	uw := newSnapshotWaiter()
	c.OnEntityUpdate(uw.onEntityUpdate(c.ClientID()))
	pongs := make(chan int64, 16)
	c.OnPong(func(rtt, _ int64) {
		select {
		case pongs <- rtt:
		default:
		}
	})

	in := wire.PoseInput{Head: wire.Pose{Pos: wire.Vec3{Y: 1.6}, Rot: wire.Quat{W: 1}}}
	before := Now()
	seq, err := c.SendPose(&in)
	if err != nil || seq != 1 {
		t.Fatalf("SendPose = %d, %v", seq, err)
	}
	w.wait(t)
	w.mu.Lock()
	if w.seqs[0] != 1 || w.multi[0] {
		t.Errorf("snapshot reported input %d (multicast %v), want 1 by unicast", w.seqs[0], w.multi[0])
	}
	// The kernel timestamp is on the client clock, after the send.
	if rx := w.rx[0]; rx < before || rx > Now() {
		t.Errorf("rx time %d not between send %d and now", rx, before)
	}
	w.mu.Unlock()
	if sent := int64(in.ClientTime) * 1000; sent < before-1000 || sent > Now() {
		t.Errorf("ClientTime %d µs not the send time", in.ClientTime)
	}
	// The entity update the pose caused came first, on the same path.
	uw.wait(t)
	uw.mu.Lock()
	if uw.seqs[0] != 1 || uw.multi[0] || uw.rx[0] < before || uw.rx[0] > w.rx[0] {
		t.Errorf("entity update for input %d (multicast %v) at %d, want input 1 by unicast before the snapshot at %d", uw.seqs[0], uw.multi[0], uw.rx[0], w.rx[0])
	}
	uw.mu.Unlock()

	// A round trip is positive and fits in the time since Dial began.
	select {
	case rtt := <-pongs:
		if life := time.Since(dialed); rtt <= 0 || rtt > int64(life) {
			t.Errorf("rtt %v, not within the %v since Dial began", time.Duration(rtt), life)
		}
		t.Logf("rtt %v", time.Duration(rtt))
	case <-time.After(waitTimeout):
		t.Fatal("no pong")
	}
	// ServerTime is on the server's clock (µs since it started), off by at
	// most a round trip, so by less than the time since Dial began.
	lo := int64(srv.us())
	serverTime := c.ServerTime()
	hi := int64(srv.us())
	if life := time.Since(dialed).Microseconds(); serverTime <= 0 || serverTime < lo-life || serverTime > hi+life {
		t.Errorf("ServerTime %d µs, the server's clock read %d to %d µs around it (±%d µs)", serverTime, lo, hi, life)
	}

	c.Close()
	c.Close() // idempotent
	if c.State() != Closed || !errors.Is(c.Err(), ErrClosed) {
		t.Errorf("after Close: %v %v", c.State(), c.Err())
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done not closed")
	}
	if _, err := c.SendPose(&in); err == nil {
		t.Error("SendPose after Close succeeded")
	}
	st := c.Stats()
	if st.Snapshots == 0 || st.EntityUpdates == 0 || st.Unicast.Received == 0 || st.Unicast.Lost != 0 || st.TotalDropped() != 0 || st.WriteErrors != 0 {
		t.Errorf("stats %+v", st)
	}
	// The server heard the goodbye (both copies, over loopback).
	disconnects := func() int {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return srv.disconnects
	}
	if !wait.Until(waitTimeout, func() bool { return disconnects() >= 2 }) || disconnects() != 2 {
		t.Fatalf("server got %d disconnects, want 2", disconnects())
	}
	srv.stop()
	waitGoroutines(t, base)
}

func TestClientMulticast(t *testing.T) {
	base := runtime.NumGoroutine()
	// A group of this run's own: another run's datagrams do not reach it.
	group := testnet.Group(t)
	srv := startUDPServer(t, group, 0, false)

	// Two clients on one host both receive the group (SO_REUSEPORT).
	var clients []*Client
	var waiters, uwaiters []*snapshotWaiter
	for i := range 2 {
		c, err := Dial(context.Background(), srv.addr(), Config{SessionConfig: SessionConfig{Name: "multi"}, MulticastIface: "lo"})
		if err != nil {
			if strings.Contains(err.Error(), "join multicast") {
				t.Skip("multicast unavailable on lo:", err)
			}
			t.Fatal(err)
		}
		if g, ifname := c.Group(); g != group || ifname != "lo" {
			t.Fatalf("client %d joined %v on %q", i, g, ifname)
		}
		w := newSnapshotWaiter()
		c.OnSnapshot(w.onSnapshot(1)) // both watch the first client
		uw := newSnapshotWaiter()
		c.OnEntityUpdate(uw.onEntityUpdate(1))
		clients = append(clients, c)
		waiters = append(waiters, w)
		uwaiters = append(uwaiters, uw)
	}
	in := wire.PoseInput{Head: wire.Pose{Rot: wire.Quat{W: 1}}}
	if _, err := clients[0].SendPose(&in); err != nil {
		t.Fatal(err)
	}
	for i, w := range append(waiters, uwaiters...) {
		w.wait(t)
		w.mu.Lock()
		if w.seqs[0] != 1 || !w.multi[0] || w.rx[0] == 0 {
			t.Errorf("waiter %d saw input %d multicast %v rx %d", i, w.seqs[0], w.multi[0], w.rx[0])
		}
		w.mu.Unlock()
	}
	for _, c := range clients {
		// Updates and snapshots share the group sequence: no gap.
		if st := c.Stats(); st.Multicast.Received < 2 || st.Multicast.Lost != 0 || st.EntityUpdates == 0 {
			t.Errorf("multicast path %+v", st.Multicast)
		}
		c.Close()
	}
	srv.stop()
	waitGoroutines(t, base)
}

func TestDialDenied(t *testing.T) {
	base := runtime.NumGoroutine()
	srv := startUDPServer(t, netip.AddrPort{}, wire.DenyServerFull, false)
	_, err := Dial(context.Background(), srv.addr(), Config{SessionConfig: SessionConfig{Unicast: true}})
	var de *DeniedError
	if !errors.As(err, &de) || de.Reason != wire.DenyServerFull {
		t.Fatalf("Dial = %v, want denied: server full", err)
	}
	srv.stop()
	waitGoroutines(t, base)
}

func TestDialTimeout(t *testing.T) {
	base := runtime.NumGoroutine()
	srv := startUDPServer(t, netip.AddrPort{}, 0, true)
	// ConnectTimeout ends the handshake, before a context deadline ten
	// times as long, which itself comes before DefaultConnectTimeout.
	start := time.Now()
	const connectTimeout = 300 * time.Millisecond
	tctx, tcancel := context.WithTimeout(context.Background(), 10*connectTimeout)
	defer tcancel()
	_, err := Dial(tctx, srv.addr(), Config{SessionConfig: SessionConfig{ConnectTimeout: connectTimeout}})
	if !errors.Is(err, ErrConnectTimeout) {
		t.Fatalf("Dial = %v, want ErrConnectTimeout (ConnectTimeout %v, context deadline %v)", err, connectTimeout, 10*connectTimeout)
	}
	t.Logf("Dial gave up after %v", time.Since(start))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Dial(ctx, srv.addr(), Config{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial = %v, want the context's error", err)
	}
	srv.stop()
	waitGoroutines(t, base)
}

func TestDialJoinError(t *testing.T) {
	base := runtime.NumGoroutine()
	group := netip.MustParseAddrPort("239.77.12.35:40000")
	srv := startUDPServer(t, group, 0, false)
	_, err := Dial(context.Background(), srv.addr(), Config{MulticastIface: "nosuchif0"})
	if err == nil || !strings.Contains(err.Error(), "239.77.12.35") || !strings.Contains(err.Error(), "nosuchif0") {
		t.Fatalf("Dial = %v, want an error naming the group and the interface", err)
	}
	srv.stop()
	waitGoroutines(t, base)
}

func TestDialBadConfig(t *testing.T) {
	if _, err := Dial(context.Background(), "127.0.0.1:1", Config{SessionConfig: SessionConfig{PingInterval: -time.Second}}); err == nil || !strings.Contains(err.Error(), "PingInterval") {
		t.Errorf("Dial = %v, want an error naming PingInterval", err)
	}
	if _, err := Dial(context.Background(), "127.0.0.1", Config{}); err == nil {
		t.Error("Dial without a port succeeded")
	}
	if _, err := Dial(context.Background(), "[::1]:7777", Config{}); err == nil {
		t.Error("Dial to IPv6 succeeded")
	}
}

func TestRouteInterfaceLoopback(t *testing.T) {
	ifi, err := routeInterface(netip.MustParseAddrPort("127.0.0.1:7777"))
	if err != nil {
		t.Fatal(err)
	}
	if ifi.Flags&net.FlagLoopback == 0 {
		t.Errorf("loopback server routes via %s", ifi.Name)
	}
}
