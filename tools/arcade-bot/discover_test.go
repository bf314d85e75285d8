package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/arcadexr/arcade/discovery"
)

// TestDiscoverFallsBackToBeacon: when mDNS fails (here: no such
// interface), the beacon finds the server, and the report says both.
func TestDiscoverFallsBackToBeacon(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets; skipped in -short mode")
	}
	lo, err := discovery.LookupInterface("lo")
	if err != nil {
		t.Skip(err)
	}
	conn, err := discovery.ListenUDP(0)
	if err != nil {
		t.Fatal(err)
	}
	// The beacon responder's port: probe it through a second socket to learn it.
	port := localPort(t, conn)
	name := fmt.Sprintf("Bot Test %04x", os.Getpid()&0xffff)
	br, err := discovery.NewBeaconResponder(discovery.Config{Advert: discovery.Advert{Instance: name, Host: "bot-test", Port: 17790, Capacity: 4}, Interfaces: []discovery.Interface{lo}}, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { br.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	d := discover(context.Background(), "nosuchif0", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port))
	if d.Method != "beacon" || d.Service == nil || d.Service.Instance != name || d.Service.Addr.String() != "127.0.0.1:17790" {
		t.Fatalf("report %+v", d)
	}
	if !strings.Contains(d.MDNSError, "nosuchif0") || d.BeaconError != "" || d.MS <= 0 {
		t.Errorf("errors %q / %q, %v ms", d.MDNSError, d.BeaconError, d.MS)
	}
	var out strings.Builder
	printDiscovery(&out, &d)
	if !strings.Contains(out.String(), "by beacon") || !strings.Contains(out.String(), "mDNS failed: ") {
		t.Errorf("table output %q", out.String())
	}
}

// localPort returns the port a discovery transport is bound to.
func localPort(t *testing.T, conn discovery.Transport) uint16 {
	t.Helper()
	type localAddrer interface{ LocalAddr() netip.AddrPort }
	la, ok := conn.(localAddrer)
	if !ok {
		t.Fatal("transport does not report its address")
	}
	return la.LocalAddr().Port()
}

func TestDiscoverFlags(t *testing.T) {
	var errb strings.Builder
	if _, err := parseFlags([]string{"--discover", "--server", "127.0.0.1:7777"}, &errb); err == nil || !strings.Contains(err.Error(), "--discover") {
		t.Errorf("--discover with --server: %v", err)
	}
	if _, err := parseFlags([]string{"--beacon", "127.0.0.1:7779"}, &errb); err == nil || !strings.Contains(err.Error(), "--beacon") {
		t.Errorf("--beacon without --discover: %v", err)
	}
	if _, err := parseFlags([]string{"--discover", "--beacon", "nohost"}, &errb); err == nil || !strings.Contains(err.Error(), "--beacon") {
		t.Errorf("bad --beacon: %v", err)
	}
	o, err := parseFlags([]string{"--discover", "--beacon", "127.0.0.1:7779"}, &errb)
	if err != nil || !o.discover || o.beacon.String() != "127.0.0.1:7779" {
		t.Errorf("parseFlags = %+v, %v", o, err)
	}
}
