package server_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/wire"
)

var serverAddr = netip.MustParseAddrPort("10.0.0.1:7777")

// rig runs a Server on the in-memory network on virtual time.
type rig struct {
	t   testing.TB
	net *netsim.Network
	srv *server.Server
	ep  *netsim.Endpoint
	cfg server.Config
}

const start = int64(1_000_000_000)

func newRig(t testing.TB, ncfg netsim.Config, cfg server.Config) *rig {
	t.Helper()
	n := netsim.New(ncfg, start)
	ep := n.Endpoint(serverAddr)
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	cfg.WallClock = n.Now
	cfg.MonoClock = n.Now
	srv, err := server.New(cfg, ep, start)
	if err != nil {
		t.Fatal(err)
	}
	cfg = srv.Config()
	return &rig{t: t, net: n, srv: srv, ep: ep, cfg: cfg}
}

// advance moves virtual time forward by d in 50 µs steps, running the
// server's Step at every step (it receives whatever arrived and ticks on
// its own schedule) and again whenever it asks for an earlier time.
// between runs after every step (clients act there).
func (r *rig) advance(d time.Duration, between func(now int64)) {
	end := r.net.Now() + int64(d)
	for now := r.net.Now(); now < end; {
		now += int64(50 * time.Microsecond)
		r.net.SetNow(now)
		for range 100 {
			if r.srv.Step(now) > now {
				break
			}
		}
		if between != nil {
			between(now)
		}
	}
}

// rawClient speaks the protocol by hand over the in-memory network.
type rawClient struct {
	t      testing.TB
	ep     *netsim.Endpoint
	nonce  uint64
	token  uint64
	seq    uint16
	id     uint16
	group  uint64
	inbox  []received
	buf    []byte
	denied wire.DenyReason
}

type received struct {
	h     wire.Header
	body  []byte
	size  int
	mcast bool
}

func (r *rig) client(addr string) *rawClient {
	return &rawClient{t: r.t, ep: r.net.Endpoint(netip.MustParseAddrPort(addr)), nonce: rand.Uint64() | 1}
}

func (c *rawClient) send(t wire.PacketType, body func([]byte) []byte) {
	h := wire.Header{Type: t, Token: c.token, Seq: c.seq}
	c.seq++
	b := h.Append(c.buf[:0])
	b = body(b)
	c.ep.Send(serverAddr, b)
}

func (c *rawClient) recv() []received {
	out := c.inbox[:0:0]
	c.ep.Recv(func(data []byte, from netip.AddrPort, rx int64, mc bool) {
		var h wire.Header
		n, err := h.Parse(data)
		if err != nil {
			c.t.Errorf("client got malformed datagram: %v", err)
			return
		}
		out = append(out, received{h: h, body: data[n:], size: len(data), mcast: mc})
	})
	return out
}

// connect runs the handshake and returns once accepted (or denied).
func (r *rig) connect(c *rawClient, flags uint8) {
	r.t.Helper()
	req := wire.ConnectRequest{ClientNonce: c.nonce, Flags: flags}
	req.SetName("bot")
	c.send(wire.TypeConnectRequest, req.Append)
	var ch wire.Challenge
	got := false
	r.advance(2*time.Millisecond, func(int64) {
		for _, m := range c.recv() {
			if m.h.Type == wire.TypeChallenge {
				if _, err := ch.Parse(m.body); err != nil {
					r.t.Fatal(err)
				}
				got = true
			}
		}
	})
	if !got {
		r.t.Fatal("no challenge")
	}
	resp := wire.ChallengeResponse{ClientNonce: c.nonce, Flags: flags, Cookie: ch.Cookie}
	c.send(wire.TypeChallengeResponse, resp.Append)
	done := false
	r.advance(2*time.Millisecond, func(int64) {
		for _, m := range c.recv() {
			switch m.h.Type {
			case wire.TypeAccepted:
				var a wire.Accepted
				if _, err := a.Parse(m.body); err != nil {
					r.t.Fatal(err)
				}
				c.token, c.id, c.group = m.h.Token, a.ClientID, a.GroupToken
				done = true
			case wire.TypeDenied:
				var d wire.Denied
				d.Parse(m.body)
				c.denied = d.Reason
				done = true
			}
		}
	})
	if !done {
		r.t.Fatal("no accepted/denied")
	}
}

func (c *rawClient) pose(seq uint32, x float32) {
	in := wire.PoseInput{InputSeq: seq, Tracking: wire.TrackHead}
	in.Head.Pos.X = x
	in.Head.Rot.W = 1
	in.Hands[0].Rot.W, in.Hands[1].Rot.W = 1, 1
	c.send(wire.TypePoseInput, in.Append)
}

func TestHandshakeAmplificationAndState(t *testing.T) {
	r := newRig(t, netsim.Config{}, server.Config{})
	c := r.client("10.0.0.2:5000")
	req := wire.ConnectRequest{ClientNonce: 42}
	c.send(wire.TypeConnectRequest, req.Append)
	var replies []received
	r.advance(time.Millisecond, func(int64) { replies = append(replies, c.recv()...) })
	if len(replies) != 1 || replies[0].h.Type != wire.TypeChallenge {
		t.Fatalf("replies = %+v, want one challenge", replies)
	}
	if replies[0].size >= wire.MinConnectRequestSize {
		t.Errorf("challenge is %d bytes, not smaller than the %d-byte request", replies[0].size, wire.MinConnectRequestSize)
	}
	if n := r.srv.Stats().Clients.Load(); n != 0 {
		t.Errorf("an unverified source created state: %d clients", n)
	}
	// An unpadded request gets nothing back and is counted.
	short := wire.Header{Type: wire.TypeConnectRequest}
	b := short.Append(nil)
	b = append(b, make([]byte, 40)...)
	c.ep.Send(serverAddr, b)
	r.advance(time.Millisecond, nil)
	if got := c.recv(); len(got) != 0 {
		t.Errorf("unpadded request got %d replies", len(got))
	}
	if r.srv.Stats().Dropped[server.DropNotPadded].Load() != 1 {
		t.Error("unpadded request not counted")
	}

	r.connect(c, 0)
	if c.token == 0 || c.id != 1 {
		t.Fatalf("token=%x id=%d", c.token, c.id)
	}
	if n := r.srv.Stats().Clients.Load(); n != 1 {
		t.Fatalf("clients = %d, want 1", n)
	}
}

func TestCookieChecks(t *testing.T) {
	r := newRig(t, netsim.Config{}, server.Config{})
	a := r.client("10.0.0.2:5000")
	b := r.client("10.0.0.3:5000")
	req := wire.ConnectRequest{ClientNonce: 7}
	a.send(wire.TypeConnectRequest, req.Append)
	var ch wire.Challenge
	r.advance(time.Millisecond, func(int64) {
		for _, m := range a.recv() {
			ch.Parse(m.body)
		}
	})
	cases := []struct {
		name string
		from *rawClient
		mod  func(*wire.ChallengeResponse)
		wait time.Duration
	}{
		{"other source", b, func(*wire.ChallengeResponse) {}, 0},
		{"other nonce", a, func(m *wire.ChallengeResponse) { m.ClientNonce++ }, 0},
		{"flipped bit", a, func(m *wire.ChallengeResponse) { m.Cookie[20] ^= 1 }, 0},
		{"expired", a, func(*wire.ChallengeResponse) {}, 6 * time.Second},
	}
	for i, tc := range cases {
		r.advance(tc.wait, nil)
		resp := wire.ChallengeResponse{ClientNonce: 7, Cookie: ch.Cookie}
		tc.mod(&resp)
		tc.from.send(wire.TypeChallengeResponse, resp.Append)
		var got []received
		r.advance(time.Millisecond, func(int64) { got = append(got, tc.from.recv()...) })
		if len(got) != 1 || got[0].h.Type != wire.TypeDenied {
			t.Fatalf("%s: got %+v, want one Denied", tc.name, got)
		}
		if r.srv.Stats().Clients.Load() != 0 {
			t.Fatalf("%s: state created", tc.name)
		}
		if n := r.srv.Stats().Dropped[server.DropBadCookie].Load(); n != uint64(i+1) {
			t.Fatalf("%s: bad_cookie = %d, want %d", tc.name, n, i+1)
		}
	}
}

// snapshotsOf decodes the snapshots in a batch of received datagrams.
func snapshotsOf(t testing.TB, ms []received) []wire.Snapshot {
	var out []wire.Snapshot
	for _, m := range ms {
		if m.h.Type != wire.TypeSnapshot {
			continue
		}
		var s wire.Snapshot
		if _, err := s.Parse(m.body); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func TestNewestInputAppliedInSameTick(t *testing.T) {
	r := newRig(t, netsim.Config{}, server.Config{})
	a := r.client("10.0.0.2:5000")
	r.connect(a, wire.ConnectWantUnicast)
	// Align to just after a tick, then send three inputs out of order and a
	// duplicate before the next tick.
	r.advance(time.Duration(r.srv.NextTick()-r.net.Now())+100*time.Microsecond, nil)
	a.recv()
	a.pose(5, 1.0)
	a.pose(7, 2.0)
	a.pose(6, 3.0) // older than 7: ignored
	a.pose(7, 4.0) // duplicate: ignored
	var snaps []wire.Snapshot
	tickAt := r.srv.NextTick()
	r.advance(time.Duration(tickAt-r.net.Now())+50*time.Microsecond, func(int64) {
		snaps = append(snaps, snapshotsOf(t, a.recv())...)
	})
	if len(snaps) != 1 {
		t.Fatalf("got %d snapshots in one tick, want 1", len(snaps))
	}
	p := snaps[0].Players
	if len(p) != 1 || p[0].LastInputSeq != 7 || p[0].Head.Pos.X != 2.0 {
		t.Fatalf("players = %+v, want seq 7 at x=2", p)
	}
	if n := r.srv.Stats().Dropped[server.DropStaleInput].Load(); n != 2 {
		t.Errorf("stale inputs counted %d, want 2", n)
	}
	// The server-added latency of the applied input is at most one tick.
	st := r.srv.Stats()
	if st.ServerAdded.Count() == 0 || st.ServerAdded.Max() > r.cfg.Period()+int64(100*time.Microsecond) {
		t.Errorf("server added latency count=%d max=%d, want within one period %d", st.ServerAdded.Count(), st.ServerAdded.Max(), r.cfg.Period())
	}
}

func TestMulticastAndUnicastDelivery(t *testing.T) {
	r := newRig(t, netsim.Config{}, server.Config{})
	group := server.DefaultMulticast
	m := r.client("10.0.0.2:5000")
	m.ep.Join(group)
	u := r.client("10.0.0.3:5000")
	r.connect(m, 0)
	r.connect(u, wire.ConnectWantUnicast)
	m.pose(1, 0.5)
	u.pose(1, -0.5)
	var mGot, uGot []received
	r.advance(50*time.Millisecond, func(int64) {
		mGot = append(mGot, m.recv()...)
		uGot = append(uGot, u.recv()...)
	})
	var mSnaps, uSnaps int
	for _, x := range mGot {
		if x.h.Type == wire.TypeSnapshot {
			if !x.mcast || x.h.Token != m.group {
				t.Fatalf("multicast client got snapshot mcast=%v token=%x, want group token %x", x.mcast, x.h.Token, m.group)
			}
			mSnaps++
		}
	}
	for _, x := range uGot {
		if x.h.Type == wire.TypeSnapshot {
			if x.mcast || x.h.Token != u.token {
				t.Fatalf("unicast client got snapshot mcast=%v token=%x, want its token", x.mcast, x.h.Token)
			}
			uSnaps++
		}
	}
	if mSnaps < 5 || uSnaps < 5 {
		t.Fatalf("snapshots: multicast %d, unicast %d", mSnaps, uSnaps)
	}
	last := snapshotsOf(t, uGot)
	ps := last[len(last)-1].Players
	if len(ps) != 2 || ps[0].ClientID != m.id || ps[1].ClientID != u.id {
		t.Fatalf("players = %+v", ps)
	}
}

func TestIdleTimeoutAndWrongSource(t *testing.T) {
	r := newRig(t, netsim.Config{}, server.Config{})
	a := r.client("10.0.0.2:5000")
	b := r.client("10.0.0.3:5000")
	r.connect(a, wire.ConnectWantUnicast)
	r.connect(b, wire.ConnectWantUnicast)

	// b's token from a's address is refused.
	spoof := *b
	spoof.ep = a.ep
	spoof.pose(1, 9)
	r.advance(time.Millisecond, nil)
	if r.srv.Stats().Dropped[server.DropWrongSource].Load() != 1 {
		t.Fatal("spoofed source not counted")
	}

	// a keeps sending; b goes silent and is removed after the idle timeout.
	var bDisc wire.Disconnect
	var seq uint32
	var aSnaps []wire.Snapshot
	r.advance(2500*time.Millisecond, func(now int64) {
		if now%int64(10*time.Millisecond) == 0 {
			seq++
			a.pose(seq, 0)
		}
		if got := snapshotsOf(t, a.recv()); len(got) > 0 {
			aSnaps = got
		}
		for _, m := range b.recv() {
			if m.h.Type == wire.TypeDisconnect {
				bDisc.Parse(m.body)
			}
		}
	})
	if bDisc.Reason != wire.DisconnectTimeout {
		t.Fatalf("b was not told of its timeout (reason %d)", bDisc.Reason)
	}
	if r.srv.Stats().Clients.Load() != 1 {
		t.Fatalf("clients = %d, want 1", r.srv.Stats().Clients.Load())
	}
	if len(aSnaps) == 0 {
		t.Fatal("a got no snapshots")
	}
	last := aSnaps[len(aSnaps)-1]
	if last.PlayerCount != 1 || len(last.Players) != 1 || last.Players[0].ClientID != a.id {
		t.Fatalf("a still sees %+v", last.Players)
	}
}

func TestServerFullAndShutdown(t *testing.T) {
	r := newRig(t, netsim.Config{}, server.Config{MaxClients: 2})
	cs := []*rawClient{r.client("10.0.0.2:1"), r.client("10.0.0.3:1"), r.client("10.0.0.4:1")}
	for _, c := range cs {
		r.connect(c, wire.ConnectWantUnicast)
	}
	if cs[2].denied != wire.DenyServerFull || cs[2].token != 0 {
		t.Fatalf("third client: denied=%d token=%x", cs[2].denied, cs[2].token)
	}
	r.srv.Shutdown(r.net.Now())
	r.advance(time.Millisecond, nil)
	for _, c := range cs[:2] {
		told := 0
		for _, m := range c.recv() {
			var d wire.Disconnect
			if m.h.Type == wire.TypeDisconnect && m.h.Token == c.token {
				d.Parse(m.body)
				if d.Reason == wire.DisconnectServerShutdown {
					told++
				}
			}
		}
		if told == 0 {
			t.Fatalf("client %d not told of shutdown", c.id)
		}
	}
	if r.srv.Stats().Clients.Load() != 0 {
		t.Fatal("clients remain after shutdown")
	}
}

func TestGarbageNeverCrashes(t *testing.T) {
	r := newRig(t, netsim.Config{}, server.Config{})
	a := r.client("10.0.0.2:5000")
	r.connect(a, wire.ConnectWantUnicast)
	rng := rand.New(rand.NewPCG(3, 4))
	h := wire.Header{Type: wire.TypePoseInput, Token: a.token}
	valid := h.Append(nil)
	for i := range 5000 {
		var b []byte
		switch i % 3 {
		case 0: // random bytes
			b = make([]byte, rng.IntN(1300))
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
		case 1: // a valid header of any type but Disconnect, then garbage
			b = append([]byte(nil), valid...)
			b[4] = byte(rng.IntN(10))
			for range rng.IntN(200) {
				b = append(b, byte(rng.Uint32()))
			}
		case 2: // truncated valid header
			b = valid[:rng.IntN(len(valid))]
		}
		a.ep.Send(serverAddr, b)
		if i%64 == 0 {
			r.advance(100*time.Microsecond, nil)
		}
	}
	r.advance(10*time.Millisecond, nil)
	var dropped uint64
	for i := range server.NumDropReasons {
		dropped += r.srv.Stats().Dropped[i].Load()
	}
	if dropped < 3000 {
		t.Fatalf("only %d of 5000 garbage datagrams counted as dropped", dropped)
	}
	if r.srv.Stats().Clients.Load() != 1 {
		t.Fatal("garbage disturbed the session")
	}
}

// refuseGroup is a transport whose kernel has no route to multicast groups.
type refuseGroup struct{ *netsim.Endpoint }

func (r refuseGroup) WriteBatchRange(b *udp.Batch, from, to int) (int, error) {
	for i := from; i < to; i++ {
		if b.Msgs[i].Addr.Addr().IsMulticast() {
			return i - from, unix.ENETUNREACH
		}
		r.Send(b.Msgs[i].Addr, b.Msgs[i].Buf[:b.Msgs[i].N])
	}
	return to - from, nil
}

func TestRefusedDestinationDoesNotStopTheRest(t *testing.T) {
	n := netsim.New(netsim.Config{}, start)
	ep := n.Endpoint(serverAddr)
	srv, err := server.New(server.Config{Seed: 1, WallClock: n.Now, MonoClock: n.Now}, refuseGroup{ep}, start)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, net: n, srv: srv, ep: ep, cfg: srv.Config()}
	m := r.client("10.0.0.2:5000")
	u := r.client("10.0.0.3:5000")
	r.connect(m, 0)
	r.connect(u, wire.ConnectWantUnicast)
	var got int
	r.advance(100*time.Millisecond, func(int64) { got += len(snapshotsOf(t, u.recv())) })
	if got < 10 {
		t.Fatalf("unicast client got %d snapshots while the group was unreachable", got)
	}
	if srv.Stats().Dropped[server.DropSendError].Load() < 10 {
		t.Fatalf("refused multicast sends not counted: %d", srv.Stats().Dropped[server.DropSendError].Load())
	}
}

// countTap counts what a Tap is shown.
type countTap struct{ rx, tx int }

func (c *countTap) Received(m *udp.Message)      { c.rx++ }
func (c *countTap) Sent(m *udp.Message, _ int64) { c.tx++ }

func TestTapSeesEveryDatagram(t *testing.T) {
	tap := &countTap{}
	r := newRig(t, netsim.Config{}, server.Config{Tap: tap})
	c := r.client("10.0.0.2:5000")
	r.connect(c, wire.ConnectWantUnicast)
	for i := range 20 {
		c.pose(uint32(i+1), 0)
		r.advance(5*time.Millisecond, nil)
	}
	st := r.srv.Stats()
	if tap.rx != int(st.RxPackets.Load()) || tap.tx != int(st.TxPackets.Load()) || tap.rx < 20 || tap.tx < 10 {
		t.Fatalf("tap saw rx %d tx %d, server counted rx %d tx %d", tap.rx, tap.tx, st.RxPackets.Load(), st.TxPackets.Load())
	}
}

func TestAllowDenyLists(t *testing.T) {
	r := newRig(t, netsim.Config{}, server.Config{
		Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")},
		Deny:  []netip.Prefix{netip.MustParsePrefix("10.0.0.66/32")},
	})
	ok := r.client("10.0.0.2:5000")
	r.connect(ok, wire.ConnectWantUnicast)
	if ok.token == 0 {
		t.Fatal("allowed source not accepted")
	}
	for _, addr := range []string{"10.0.0.66:5000", "10.0.9.1:5000"} {
		c := r.client(addr)
		req := wire.ConnectRequest{ClientNonce: 1}
		c.send(wire.TypeConnectRequest, req.Append)
		r.advance(time.Millisecond, nil)
		if got := c.recv(); len(got) != 0 {
			t.Fatalf("%s got %d replies", addr, len(got))
		}
	}
	if n := r.srv.Stats().Dropped[server.DropDenied].Load(); n != 2 {
		t.Fatalf("denied_source = %d, want 2", n)
	}
}

func TestHandshakeAndSessionFloodsAreLimited(t *testing.T) {
	r := newRig(t, netsim.Config{}, server.Config{HandshakeRate: 50})
	good := r.client("10.0.0.2:5000")
	r.connect(good, wire.ConnectWantUnicast)

	// One source floods connect requests: only its burst is answered.
	flood := r.client("10.0.0.9:5000")
	req := wire.ConnectRequest{ClientNonce: 5}
	for range 1000 {
		flood.send(wire.TypeConnectRequest, req.Append)
	}
	r.advance(2*time.Millisecond, nil)
	if got := len(flood.recv()); got > 100 || got == 0 {
		t.Fatalf("flooding source got %d challenges, want its burst of 100", got)
	}
	if r.srv.Stats().Dropped[server.DropRateLimited].Load() < 800 {
		t.Fatal("flood not counted as rate_limited")
	}
	// Another source still gets in.
	other := r.client("10.0.0.3:5000")
	r.connect(other, wire.ConnectWantUnicast)
	if other.token == 0 {
		t.Fatal("a second source was locked out by the flood")
	}

	// A connected session floods poses: the excess is dropped, the session
	// survives and its newest allowed input still applies.
	before := r.srv.Stats().Dropped[server.DropRateLimited].Load()
	for i := range 3000 {
		good.pose(uint32(i+1), 1)
	}
	r.advance(20*time.Millisecond, nil)
	if r.srv.Stats().Dropped[server.DropRateLimited].Load()-before < 2000 {
		t.Fatal("session flood not limited")
	}
	if r.srv.Stats().Clients.Load() != 2 {
		t.Fatal("the flood cost a session")
	}
}
