package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
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
	ping := []byte(fmt.Sprintf("arcade multicast check %d", os.Getpid()))
	if err := c.WriteTo(ping, lo.Index, MDNSGroup); err != nil {
		t.Skipf("multicast on lo unavailable: send to %v: %v", MDNSGroup, err)
	}
	c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
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

// startResponder runs a real responder on lo until the test ends.
func startResponder(t *testing.T, adv Advert) *Responder {
	t.Helper()
	lo := loopback(t)
	requireMulticast(t, lo)
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
	return r
}

// unique makes a name unique to this test process: other test runs on the
// same machine may advertise on lo at the same time.
func unique(name string) string {
	return fmt.Sprintf("%s %04x", name, os.Getpid()&0xffff)
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

// waitAdvertised waits until r has probed and announced.
func waitAdvertised(t *testing.T, r *Responder) {
	t.Helper()
	// Probing takes at most 250 + 3×250 ms; the first announcement follows.
	time.Sleep(1200 * time.Millisecond)
}

func TestLoopbackBrowse(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets and multicast on lo; skipped in -short mode")
	}
	r := startResponder(t, Advert{Instance: unique("Loop Arena"), Host: "arcade-test", Port: 17777, Scene: "demo", Capacity: 8, Multicast: netip.MustParseAddrPort("239.255.77.77:7778"), Players: func() int { return 3 }})
	waitAdvertised(t, r)
	// With a deadline Browse collects every answer until then (other tests
	// may advertise on lo too); 1.5 s covers its query retry at 1 s.
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	svcs, err := Browse(ctx, "lo")
	if err != nil {
		t.Fatal(err)
	}
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
	waitAdvertised(t, a)
	b := startResponder(t, Advert{Instance: twin, Host: "arcade-test", Port: 17782})
	waitAdvertised(t, b)
	time.Sleep(300 * time.Millisecond)
	if a.Name() != twin || b.Name() != twin+" (2)" {
		t.Fatalf("names %q and %q, want %q and %q", a.Name(), b.Name(), twin, twin+" (2)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	svcs, err := Browse(ctx, "lo")
	if err != nil {
		t.Fatal(err)
	}
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
	waitAdvertised(t, r)
	conn, err := ListenUDP(0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	q, err := buildQuery(0x4242, []dnsmessage.Question{{Name: dnsmessage.MustNewName(ServiceType), Type: dnsmessage.TypePTR, Class: classIN}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.WriteTo(q, lo.Index, MDNSGroup); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, maxMessage)
	for {
		n, _, src, err := conn.ReadFrom(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("no legacy reply")
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

	bctx, bcancel := context.WithTimeout(context.Background(), time.Second)
	defer bcancel()
	svcs, err := Beacon(bctx, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), addr.Port()))
	if err != nil {
		t.Fatal(err)
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
// `dig -p 5353 @127.0.0.1 _arcade._udp.local PTR` does. Another process
// sharing port 5353 (avahi) may get the datagram instead; then skip.
func TestLoopbackUnicastQuery(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets and multicast on lo; skipped in -short mode")
	}
	r := startResponder(t, Advert{Instance: unique("Dig"), Host: "arcade-test", Port: 17785})
	waitAdvertised(t, r)
	conn, err := ListenUDP(0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	q, _ := buildQuery(0x0d19, []dnsmessage.Question{{Name: dnsmessage.MustNewName(ServiceType), Type: dnsmessage.TypePTR, Class: classIN}}, nil)
	if err := conn.WriteTo(q, 0, netip.MustParseAddrPort("127.0.0.1:5353")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, maxMessage)
	for {
		n, _, _, err := conn.ReadFrom(buf)
		if err != nil {
			t.Skipf("no reply from 127.0.0.1:5353 (another process sharing the port may have taken the query): %v", err)
		}
		m, ok := parseMessage(buf[:n])
		if !ok || !m.h.Response {
			continue
		}
		checkLegacy(t, m, 0x0d19)
		for _, rr := range m.ans {
			if p, ok := rr.Body.(*dnsmessage.PTRResource); ok && strings.HasPrefix(p.PTR.String(), r.Name()+".") {
				return
			}
		}
	}
}
