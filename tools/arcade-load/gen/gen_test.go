//go:build linux

package gen

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/arcadexr/arcade/internal/testnet"
	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/tick"
)

// startServer runs the real server on loopback with a multicast group of
// the test's own until the test ends, and returns it and its game address.
func startServer(t *testing.T) (*server.Server, netip.AddrPort) {
	t.Helper()
	conn, err := udp.Listen(udp.Config{Listen: netip.MustParseAddrPort("127.0.0.1:0"), Timestamps: true, MulticastIface: "lo"})
	if err != nil {
		t.Fatal(err)
	}
	// A long idle timeout: a loaded machine that stalls the test process
	// must not end the sessions.
	srv, err := server.New(server.Config{Multicast: testnet.Group(t), IdleTimeout: 30 * time.Second, MaxClients: 64}, conn, tick.Now())
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(ctx, conn.Fd()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
		conn.Close()
	})
	return srv, conn.LocalAddr()
}

// Headsets added in two steps all connect, each from an address of its
// own, stream poses, hear their own inputs back in the group's state, and
// report delivery; closing them ends their sessions on the server.
func TestGenLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("real-socket test skipped in -short mode")
	}
	srv, addr := startServer(t)
	g, err := Start(Config{Server: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	wait := func(n int) Counters {
		t.Helper()
		end := time.Now().Add(10 * time.Second)
		for {
			c := g.Counters()
			if c.Connected == n && srv.Stats().Clients.Load() == int64(n) {
				return c
			}
			if time.Now().After(end) {
				t.Fatalf("%d of %d connected (server: %d): %+v", c.Connected, n, srv.Stats().Clients.Load(), c)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := g.SetHeadsets(3); err != nil {
		t.Fatal(err)
	}
	wait(3)
	if err := g.SetHeadsets(12); err != nil {
		t.Fatal(err)
	}
	a := wait(12)
	time.Sleep(time.Second)
	b := g.Counters()
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("over 1 s: %d inputs sent (%d due), %d samples, group %d received %d lost, unicast %d/%d, %d reports (%d starved), %d reads (%d late), %d unexpected",
		b.InputsSent-a.InputsSent, b.InputsDue-a.InputsDue, b.Samples-a.Samples, b.GroupReceived-a.GroupReceived, b.GroupLost-a.GroupLost,
		b.UnicastReceived-a.UnicastReceived, b.UnicastLost-a.UnicastLost, b.Reports-a.Reports, b.Starved-a.Starved, b.Reads-a.Reads, b.ReadLate-a.ReadLate, b.Unexpected-a.Unexpected)
	if b.Handshakes != 12 || b.Ended != 0 || b.Denied != 0 {
		t.Errorf("%d sessions opened, %d ended, %d denied; want 12, 0, 0", b.Handshakes, b.Ended, b.Denied)
	}
	if sent := b.InputsSent - a.InputsSent; sent < 12*30 {
		t.Errorf("%d inputs in about a second from 12 headsets at 90 Hz", sent)
	}
	if b.Samples-a.Samples < 12*30 || b.GroupReceived == a.GroupReceived || b.Reports-a.Reports < 12 {
		t.Errorf("no state heard back or no reports: %+v", b)
	}
	if b.Unexpected != 0 {
		t.Errorf("%d unexpected datagrams", b.Unexpected)
	}
	// Every headset spoke from its own address.
	seen := map[netip.Addr]bool{}
	for _, c := range srv.ClientList() {
		if ap, err := netip.ParseAddrPort(c.Addr); err == nil {
			seen[ap.Addr()] = true
		}
	}
	for i := range 12 {
		if !seen[Addr(i)] {
			t.Errorf("no session from %v (headset %d); the server has %v", Addr(i), i, seen)
		}
	}
	g.Close()
	end := time.Now().Add(5 * time.Second)
	for srv.Stats().Clients.Load() != 0 && time.Now().Before(end) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := srv.Stats().Clients.Load(); n != 0 {
		t.Errorf("%d sessions left after Close", n)
	}
}

func TestAddr(t *testing.T) {
	seen := map[netip.Addr]int{}
	for i := range MaxHeadsets {
		a := Addr(i)
		b := a.As4()
		if b[0] != 127 || b[3] == 0 || b[3] == 255 {
			t.Fatalf("headset %d: %v", i, a)
		}
		if j, ok := seen[a]; ok {
			t.Fatalf("headsets %d and %d share %v", j, i, a)
		}
		seen[a] = i
	}
}

func TestHistBucket(t *testing.T) {
	for _, ns := range []int64{-5, 0, 1000, 1500, 8333e3, 1e12} {
		b := histBucket(ns)
		if b < 0 || b >= HistBuckets {
			t.Fatalf("%d ns: bucket %d", ns, b)
		}
		if ns > 1000 && ns < 1e10 && (HistBucketUpperMS(b)*1e6 < float64(ns) || HistBucketUpperMS(b)*1e6 > 1.021*float64(ns)) {
			t.Errorf("%d ns in bucket %d, up to %v ms", ns, b, HistBucketUpperMS(b))
		}
	}
}
