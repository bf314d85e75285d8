package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcadexr/arcade/internal/wait"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/net/ipv4"
)

// loopback returns the lo interface, or skips.
func loopback(t *testing.T) Interface {
	t.Helper()
	in, err := LookupInterface("lo")
	if err != nil {
		t.Skipf("no loopback interface: %v", err)
	}
	return in
}

// requireMulticast skips the test unless a datagram multicast to
// 224.0.0.251:5353 on lo comes back to an mDNS socket joined there.
func requireMulticast(t *testing.T, lo Interface) {
	t.Helper()
	c, err := ListenMDNS([]Interface{lo})
	if err != nil {
		t.Skipf("multicast on lo unavailable: cannot open an mDNS socket on lo: %v", err)
	}
	defer c.Close()
	ping := []byte("arcade multicast check " + runTag)
	if err := c.WriteTo(ping, lo.Index, MDNSGroup); err != nil {
		t.Skipf("multicast on lo unavailable: send to %v: %v", MDNSGroup, err)
	}
	// The datagram comes back at once where multicast on lo works; the
	// deadline only bounds the wait where it does not.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	for {
		n, _, _, err := c.ReadFrom(buf)
		if err != nil {
			t.Skipf("multicast on lo unavailable: a datagram sent to %v on lo did not come back: %v", MDNSGroup, err)
		}
		if string(buf[:n]) == string(ping) {
			return
		}
	}
}

// startResponder runs a real responder on lo until the test ends, and
// returns once its first announcement was multicast (it has probed and
// claimed its name, after any rename).
func startResponder(t *testing.T, adv Advert) *Responder {
	t.Helper()
	return startResponderOn(t, adv, loopback(t))
}

// startResponderOn is startResponder on lo described as lo (its subnets
// may be narrowed, to make some loopback sources off-link).
func startResponderOn(t *testing.T, adv Advert, lo Interface) *Responder {
	t.Helper()
	requireMulticast(t, lo)
	// Listen before the responder starts, so its announcement is not missed.
	watch, err := ListenMDNS([]Interface{lo})
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	r, err := Listen(Config{Advert: adv, Interfaces: []Interface{lo}, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := r.Run(ctx); err != nil {
			t.Errorf("responder: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	waitAnnounced(t, watch, r)
	return r
}

// announceTimeout bounds the wait for a responder's first announcement:
// probing takes about a second (250 ms + 3 × 250 ms), a rename another.
const announceTimeout = 20 * time.Second

// waitAnnounced reads the mDNS traffic on watch until r multicasts its
// announcement: an unsolicited response holding r's SRV record, under the
// name r claims and with its port. Other processes' adverts on lo, and
// another responder's answers to r's probes, do not match.
func waitAnnounced(t *testing.T, watch Transport, r *Responder) {
	t.Helper()
	start := time.Now()
	watch.SetReadDeadline(start.Add(announceTimeout))
	buf := make([]byte, maxMessage)
	for {
		n, _, src, err := watch.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no announcement of %q seen on lo in %v: %v", r.Name(), announceTimeout, err)
		}
		m, ok := parseMessage(buf[:n])
		if !ok || !m.h.Response || m.h.ID != 0 || src.Port() != MDNSPort {
			continue
		}
		want := r.Name() + "." + ServiceType
		for _, rr := range m.ans {
			if srv, ok := rr.Body.(*dnsmessage.SRVResource); ok && strings.EqualFold(rr.Header.Name.String(), want) && srv.Port == r.cfg.Advert.Port {
				t.Logf("%q announced after %v", r.Name(), time.Since(start).Round(time.Millisecond))
				return
			}
		}
	}
}

// runTag is unique to this test process: other test runs on the same
// machine may advertise on lo at the same time.
var runTag = fmt.Sprintf("%04x%04x", os.Getpid()&0xffff, rand.Uint32()&0xffff)

// unique makes a name unique to this test process.
func unique(name string) string { return name + " " + runTag }

// browseFor browses lo until every name in want is found, each Browse
// collecting answers for 1.5 s (which covers its query retry at 1 s), and
// returns what the last one found. Other processes may advertise on lo too.
func browseFor(t *testing.T, want ...string) []Service {
	t.Helper()
	var svcs []Service
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		var err error
		svcs, err = Browse(ctx, "lo")
		cancel()
		if err != nil && !errors.Is(err, ErrNotFound) { // nothing found in time: ask again
			t.Fatal(err)
		}
		found := 0
		for _, name := range want {
			for _, s := range svcs {
				if s.Instance == name {
					found++
					break
				}
			}
		}
		if found == len(want) || time.Now().After(deadline) {
			return svcs
		}
	}
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

func TestLoopbackBrowse(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets and multicast on lo; skipped in -short mode")
	}
	r := startResponder(t, Advert{Instance: unique("Loop Arena"), Host: "arcade-test", Port: 17777, Scene: "demo", Capacity: 8, Multicast: netip.MustParseAddrPort("239.255.77.77:7778"), Players: func() int { return 3 }})
	svcs := browseFor(t, r.Name())
	var s *Service
	for i := range svcs {
		if svcs[i].Instance == r.Name() {
			s = &svcs[i]
		}
	}
	if s == nil {
		t.Fatalf("browse found %+v, not %q", svcs, r.Name())
	}
	if s.Addr != netip.MustParseAddrPort("127.0.0.1:17777") || s.Players != 3 || s.Capacity != 8 || s.Scene != "demo" || s.Version != 1 || s.TickRate != 120 || s.Multicast != "239.255.77.77:7778" {
		t.Errorf("service %+v", *s)
	}
	if !strings.EqualFold(s.Host, "arcade-test.local.") {
		t.Errorf("host %q", s.Host)
	}
}

func TestLoopbackRename(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets and multicast on lo; skipped in -short mode")
	}
	twin := unique("Twin")
	a := startResponder(t, Advert{Instance: twin, Host: "arcade-test", Port: 17781})
	b := startResponder(t, Advert{Instance: twin, Host: "arcade-test", Port: 17782})
	// b announced under the name it settled on.
	if a.Name() != twin || b.Name() != twin+" (2)" {
		t.Fatalf("names %q and %q, want %q and %q", a.Name(), b.Name(), twin, twin+" (2)")
	}
	svcs := browseFor(t, twin, twin+" (2)")
	got := map[string]netip.AddrPort{}
	for _, s := range svcs {
		got[s.Instance] = s.Addr
	}
	if got[twin].Port() != 17781 || got[twin+" (2)"].Port() != 17782 {
		t.Errorf("browse found %v", got)
	}
}

// TestLoopbackLegacyQuery asks like `dig -p 5353 @127.0.0.1
// _arcade._udp.local PTR` would, from an ephemeral port, and expects a
// legacy unicast reply: the id echoed, the question repeated, TTLs at
// most 10 s and no cache-flush bit. The query goes to 224.0.0.251 on lo
// (a unicast query to 127.0.0.1:5353 may reach another process sharing
// the port).
func TestLoopbackLegacyQuery(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets and multicast on lo; skipped in -short mode")
	}
	lo := loopback(t)
	r := startResponder(t, Advert{Instance: unique("Legacy"), Host: "arcade-test", Port: 17783})
	conn, err := ListenUDP(0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	q, err := buildQuery(0x4242, []dnsmessage.Question{{Name: dnsmessage.MustNewName(ServiceType), Type: dnsmessage.TypePTR, Class: classIN}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The query is sent again every second until r's reply comes, or the
	// deadline passes.
	deadline := time.Now().Add(15 * time.Second)
	var resend time.Time
	buf := make([]byte, maxMessage)
	for {
		if now := time.Now(); !now.Before(resend) {
			if now.After(deadline) {
				t.Fatal("no legacy reply")
			}
			if err := conn.WriteTo(q, lo.Index, MDNSGroup); err != nil {
				t.Fatal(err)
			}
			resend = now.Add(time.Second)
			conn.SetReadDeadline(resend)
		}
		n, _, src, err := conn.ReadFrom(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		m, ok := parseMessage(buf[:n])
		if !ok || !m.h.Response || src.Port() != MDNSPort {
			continue
		}
		checkLegacy(t, m, 0x4242)
		for _, rr := range m.ans {
			if p, ok := rr.Body.(*dnsmessage.PTRResource); ok && strings.HasPrefix(p.PTR.String(), r.Name()+".") {
				return
			}
		}
	}
}

// checkLegacy checks the rules of a legacy unicast reply.
func checkLegacy(t *testing.T, m message, id uint16) {
	t.Helper()
	if m.h.ID != id {
		t.Errorf("id %#x, want %#x echoed", m.h.ID, id)
	}
	if len(m.qs) != 1 || m.qs[0].Name.String() != ServiceType || m.qs[0].Type != dnsmessage.TypePTR {
		t.Errorf("question not repeated: %v", m.qs)
	}
	for _, rr := range append(m.ans, m.addit...) {
		if rr.Header.TTL > legacyTTL {
			t.Errorf("%v: TTL %d > %d", rr.Header.Name, rr.Header.TTL, legacyTTL)
		}
		if rr.Header.Class&classTop != 0 {
			t.Errorf("%v: cache-flush bit in a legacy reply", rr.Header.Name)
		}
	}
}

func TestLoopbackBeacon(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets; skipped in -short mode")
	}
	lo := loopback(t)
	conn, err := ListenUDP(0)
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddrPort(conn.(*udpTransport).c.LocalAddr().String())
	br, err := NewBeaconResponder(Config{Advert: Advert{Instance: "Beacon Arena", Host: "arcade-test", Port: 17784, Capacity: 16, Players: func() int { return 2 }}, Interfaces: []Interface{lo}}, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); br.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()

	// Each Beacon collects replies for a second; ask again (bounded) if a
	// busy machine kept the reply past it.
	var svcs []Service
	for range 10 {
		bctx, bcancel := context.WithTimeout(context.Background(), time.Second)
		svcs, err = Beacon(bctx, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), addr.Port()))
		bcancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(svcs) > 0 {
			break
		}
	}
	if len(svcs) != 1 {
		t.Fatalf("got %+v", svcs)
	}
	s := svcs[0]
	if s.Instance != "Beacon Arena" || s.Addr != netip.MustParseAddrPort("127.0.0.1:17784") || s.Players != 2 || s.Capacity != 16 || s.Version != 1 || s.Truncated {
		t.Errorf("service %+v", s)
	}
}

// TestLoopbackUnicastQuery sends the legacy query to 127.0.0.1:5353, as
// `dig -p 5353 @127.0.0.1 _arcade._udp.local PTR` does. The kernel hands a
// unicast datagram to one of the sockets sharing port 5353, by its source
// port: another process's (avahi, another test run) may get it. So the
// query is tried from a few source ports; if r never gets it, skip.
func TestLoopbackUnicastQuery(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets and multicast on lo; skipped in -short mode")
	}
	r := startResponder(t, Advert{Instance: unique("Dig"), Host: "arcade-test", Port: 17785})
	q, _ := buildQuery(0x0d19, []dnsmessage.Question{{Name: dnsmessage.MustNewName(ServiceType), Type: dnsmessage.TypePTR, Class: classIN}}, nil)
	const tries = 8
	for range tries {
		if unicastQuery(t, q, 0x0d19, r.Name()) {
			return
		}
	}
	t.Skipf("no reply from %q to a query to 127.0.0.1:5353 from %d source ports (other processes sharing the port may have taken them)", r.Name(), tries)
}

// unicastQuery sends q to 127.0.0.1:5353 from a new ephemeral port and
// reports whether the legacy reply from the responder named name came
// within a second. Every reply read is checked as a legacy reply to id.
func unicastQuery(t *testing.T, q []byte, id uint16, name string) bool {
	t.Helper()
	conn, err := ListenUDP(0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.WriteTo(q, 0, netip.MustParseAddrPort("127.0.0.1:5353")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, maxMessage)
	for {
		n, _, _, err := conn.ReadFrom(buf)
		if err != nil {
			return false
		}
		m, ok := parseMessage(buf[:n])
		if !ok || !m.h.Response {
			continue
		}
		checkLegacy(t, m, id)
		for _, rr := range m.ans {
			if p, ok := rr.Body.(*dnsmessage.PTRResource); ok && strings.HasPrefix(p.PTR.String(), name+".") {
				return true
			}
		}
	}
}

// narrowLoopback is lo with its subnet narrowed to 127.0.0.1/32: on it,
// 127.0.0.2 is off-link (this host has 127.0.0.0/8 on lo, but lists only
// 127.0.0.1 as its address).
func narrowLoopback(t *testing.T) Interface {
	lo := loopback(t)
	lo.Addrs = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	lo.Nets = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	if localAddrs()[netip.MustParseAddr("127.0.0.2")] {
		t.Skip("127.0.0.2 is an address of this host: it cannot stand for an off-link source")
	}
	return lo
}

// srcConn is a UDP socket on a loopback address of the test's choosing,
// multicasting on lo. It sends without IP_PKTINFO, which would let the
// kernel pick another source address.
type srcConn struct{ *udpTransport }

func (c srcConn) send(b []byte, dst netip.AddrPort) error {
	_, err := c.c.WriteToUDPAddrPort(b, dst)
	return err
}

// listenFrom opens a UDP socket on addr:0 that multicasts on lo.
func listenFrom(t *testing.T, addr string, lo Interface) srcConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(addr)})
	if err != nil {
		t.Skipf("cannot bind %s: %v", addr, err)
	}
	tr := &udpTransport{c: c, pc: ipv4.NewPacketConn(c), byAddr: map[netip.Addr]int{}}
	t.Cleanup(func() { tr.Close() })
	ifi, err := net.InterfaceByIndex(lo.Index)
	if err == nil {
		err = tr.pc.SetMulticastInterface(ifi)
	}
	if err != nil {
		t.Fatal(err)
	}
	return srcConn{tr}
}

// replyFor reads datagrams on conn until d passes and returns the size of
// the first response answering with a PTR to name (0 if none came).
func replyFor(conn Transport, name string, d time.Duration) int {
	conn.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, maxMessage)
	for {
		n, _, _, err := conn.ReadFrom(buf)
		if err != nil {
			return 0
		}
		m, ok := parseMessage(buf[:n])
		if !ok || !m.h.Response {
			continue
		}
		for _, rr := range m.ans {
			if p, ok := rr.Body.(*dnsmessage.PTRResource); ok && strings.HasPrefix(p.PTR.String(), name+".") {
				return n
			}
		}
	}
}

// TestLoopbackOffLink runs a real responder and beacon responder on lo
// narrowed to 127.0.0.1/32. A legacy query multicast on lo from 127.0.0.2
// (off-link there) gets no reply and is counted off_link_unicast; the same
// query from 127.0.0.1 is answered. A beacon probe from 127.0.0.2 gets no
// reply and is counted off_link; from 127.0.0.1 it is answered with no
// more bytes than the probe.
func TestLoopbackOffLink(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets and multicast on lo; skipped in -short mode")
	}
	lo := narrowLoopback(t)
	r := startResponderOn(t, Advert{Instance: unique("OffLink"), Host: "arcade-test", Port: 17786}, lo)
	qb, err := buildQuery(0x0ff1, []dnsmessage.Question{{Name: dnsmessage.MustNewName(ServiceType), Type: dnsmessage.TypePTR, Class: classIN}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	off := listenFrom(t, "127.0.0.2", lo)
	dropped := func() uint64 { return r.Stats().Dropped[DropOffLinkUnicast].Load() }
	if err := off.send(qb, MDNSGroup); err != nil {
		t.Fatal(err)
	}
	// The count says the responder has seen the query and dropped it; any
	// reply of its would have been sent by then.
	if !wait.Until(10*time.Second, func() bool { return dropped() >= 1 }) {
		t.Fatalf("the off-link query was not counted: received %d, dropped %v", r.Stats().Received.Load(), r.Stats().DroppedByName())
	}
	if n := replyFor(off, r.Name(), 300*time.Millisecond); n != 0 {
		t.Errorf("the %d-byte legacy query from 127.0.0.2 got a %d-byte reply", len(qb), n)
	}
	t.Logf("mDNS legacy query from 127.0.0.2 (off-link): %d bytes in, 0 out; dropped %v", len(qb), r.Stats().DroppedByName())

	on := listenFrom(t, "127.0.0.1", lo)
	var n int
	for range 10 { // a reply lost on a busy machine is asked for again
		if err := on.send(qb, MDNSGroup); err != nil {
			t.Fatal(err)
		}
		if n = replyFor(on, r.Name(), time.Second); n > 0 {
			break
		}
	}
	if n == 0 {
		t.Fatal("the legacy query from 127.0.0.1 got no reply")
	}
	t.Logf("mDNS legacy query from 127.0.0.1 (on-link): %d bytes in, %d out (%.2f×)", len(qb), n, float64(n)/float64(len(qb)))

	// The beacon.
	conn, err := ListenUDP(0)
	if err != nil {
		t.Fatal(err)
	}
	port := conn.(*udpTransport).LocalAddr().Port()
	br, err := NewBeaconResponder(Config{Advert: Advert{Instance: unique("OffLink"), Host: "arcade-test", Port: 17786}, Interfaces: []Interface{lo}}, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { br.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	target := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
	probe := AppendProbe(nil, BeaconProbe{Nonce: 0x0ff1}, BeaconProbeSize)
	beaconReply := func(c Transport, d time.Duration) int {
		c.SetReadDeadline(time.Now().Add(d))
		buf := make([]byte, BeaconMaxSize)
		for {
			n, _, _, err := c.ReadFrom(buf)
			if err != nil {
				return 0
			}
			if rp, _, err := ParseReply(buf[:n]); err == nil && rp.Nonce == 0x0ff1 {
				return n
			}
		}
	}
	if err := off.send(probe, target); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, "the off-link probe to be counted", func() bool { return br.Stats().Dropped[DropOffLink].Load() >= 1 })
	if n := beaconReply(off, 300*time.Millisecond); n != 0 {
		t.Errorf("the %d-byte probe from 127.0.0.2 got a %d-byte reply", len(probe), n)
	}
	for range 10 {
		if err := on.send(probe, target); err != nil {
			t.Fatal(err)
		}
		if n = beaconReply(on, time.Second); n > 0 {
			break
		}
	}
	if n == 0 || n > len(probe) {
		t.Fatalf("the %d-byte probe from 127.0.0.1 got a %d-byte reply, want 1..%d", len(probe), n, len(probe))
	}
	t.Logf("beacon probe: from 127.0.0.2 (off-link) %d bytes in, 0 out; from 127.0.0.1 %d in, %d out", len(probe), len(probe), n)
}

// TestBrowseLongDeadline: a browse given more than the 3 s of its query
// retries (it used to panic once both were spent) runs to its deadline
// and returns what it found.
func TestBrowseLongDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets and multicast on lo; skipped in -short mode")
	}
	r := startResponder(t, Advert{Instance: unique("Long Browse"), Host: "arcade-test", Port: 17779, Scene: "demo", Capacity: 8,
		Multicast: netip.MustParseAddrPort("239.255.77.77:7778"), Players: func() int { return 0 }})
	ctx, cancel := context.WithTimeout(context.Background(), 3500*time.Millisecond)
	defer cancel()
	svcs, err := Browse(ctx, "lo")
	if err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	found := false
	for _, s := range svcs {
		found = found || s.Instance == r.Name()
	}
	if !found {
		t.Errorf("a 3.5 s browse found %d services, not %q", len(svcs), r.Name())
	}
}
