//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/arcadexr/arcade/internal/testnet"
	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/tick"
)

// startServer runs the real server on loopback with a multicast group of
// the test's own, until the test ends; it returns the game address.
func startServer(t *testing.T) string {
	t.Helper()
	conn, err := udp.Listen(udp.Config{Listen: netip.MustParseAddrPort("127.0.0.1:0"), Timestamps: true, MulticastIface: "lo"})
	if err != nil {
		t.Fatal(err)
	}
	// A long idle timeout: a loaded machine that stalls the test process
	// for a while must not end the sessions.
	srv, err := server.New(server.Config{Multicast: testnet.Group(t), IdleTimeout: 30 * time.Second}, conn, tick.Now())
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
	return conn.LocalAddr().String()
}

// TestBotsLoopback runs four bots against the real server over loopback,
// on one shared multicast socket and on sockets of their own: either way
// they all connect and see each other, and the report says which socket
// arrangement it was.
func TestBotsLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("real-socket test skipped in -short mode")
	}
	for _, perClient := range []bool{false, true} {
		name := "shared"
		if perClient {
			name = "per-client"
		}
		t.Run(name, func(t *testing.T) {
			addr := startServer(t)
			args := []string{"--server", addr, "--clients", "4", "--duration", "1s", "--iface", "lo", "--json"}
			if perClient {
				args = append(args, "--per-client-mcast")
			}
			var out, errb bytes.Buffer
			if code := run(args, &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s%s", code, errb.String(), out.String())
			}
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(out.Bytes(), &raw); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"shared_multicast", "pinned_cpus", "nice", "gomaxprocs", "input_to_state_ms", "saw_all_peers"} {
				if _, ok := raw[k]; !ok {
					t.Errorf("report has no %q", k)
				}
			}
			if string(raw["pinned_cpus"]) != "null" {
				t.Errorf("pinned_cpus %s without --cpu, want null", raw["pinned_cpus"])
			}
			var rep Report
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			t.Logf("input to state %+v, hub %+v", rep.InputToState, rep.MulticastHub)
			if rep.ClientsConnected != 4 || !rep.SawAllPeers || rep.SnapshotPath != "multicast" || rep.SnapshotsRecv == 0 {
				t.Errorf("%d of 4 connected, saw all peers %v, path %s, %d snapshots", rep.ClientsConnected, rep.SawAllPeers, rep.SnapshotPath, rep.SnapshotsRecv)
			}
			if rep.SharedMulticast == perClient {
				t.Errorf("shared_multicast %v with --per-client-mcast %v", rep.SharedMulticast, perClient)
			}
			h := rep.MulticastHub
			switch {
			case perClient && h != nil:
				t.Errorf("multicast_hub %+v with sockets per bot", h)
			case !perClient && h == nil:
				t.Error("no multicast_hub with a shared socket")
			case !perClient:
				// Every datagram read once and handed to at most the four
				// bots, to fewer only while they were still joining.
				if h.Datagrams == 0 || h.Unmatched != 0 || h.ReadErrors != 0 || h.Deliveries < h.Datagrams || h.Deliveries > 4*h.Datagrams {
					t.Errorf("multicast_hub %+v", h)
				}
			}
		})
	}
}
