package csharp

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/arcadexr/arcade/discovery"
	"github.com/arcadexr/arcade/tools/internal/toolrun"
)

// TestDiscoveryStandbyPair: the C# mDNS browse against the two servers of
// a standby pair advertising one name on lo (docs/PROTOCOL.md §18.7): it
// finds the active at epoch 2 while the other is the standby, and once
// the other is active at epoch 3 with the first still answering under 2
// (a stale writer), it takes epoch 3 and says it left answers out.
func TestDiscoveryStandbyPair(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets, multicast on lo and Mono; skipped in -short mode")
	}
	b := compile(t)
	lo, err := discovery.LookupInterface("lo")
	if err != nil {
		t.Skipf("no loopback interface: %v", err)
	}
	name := fmt.Sprintf("csharp-pair-%d", os.Getpid())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	start := func(host string, role func(*discovery.Responder)) (*discovery.Responder, int) {
		port, err := toolrun.FreePort("udp") // advertised only: nothing listens on it
		if err != nil {
			t.Fatal(err)
		}
		r, err := discovery.Listen(discovery.Config{Advert: discovery.Advert{Instance: name, Host: host, Port: uint16(port), Capacity: 8},
			Interfaces: []discovery.Interface{lo}})
		if err != nil {
			t.Skipf("cannot open the mDNS socket on lo: %v", err)
		}
		role(r)
		wg.Go(func() {
			if err := r.Run(ctx); err != nil {
				t.Errorf("responder %s: %v", host, err)
			}
		})
		return r, port
	}
	_, portA := start("csharp-pair-a", func(r *discovery.Responder) { r.SetActive(2) })
	second, portB := start("csharp-pair-b", func(r *discovery.Responder) { r.SetStandby() })
	run := func(port int, epoch uint32, stale bool) {
		t.Helper()
		env := []string{"ARCADE_PAIR_NAME=" + name, "ARCADE_PAIR_PORT=" + strconv.Itoa(port),
			fmt.Sprintf("ARCADE_PAIR_EPOCH=%d", epoch), fmt.Sprintf("ARCADE_PAIR_STALE=%d", map[bool]int{false: 0, true: 1}[stale])}
		out := runTests(t, b, env, "StandbyPairTests.")
		if !strings.Contains(out, "ok   StandbyPairTests.BrowseTakesTheHigherEpoch ") || strings.Contains(out, "not run") {
			t.Fatal("the standby pair test did not run and pass")
		}
	}
	run(portA, 2, false)
	second.SetActive(3) // the first stays active under 2
	run(portB, 3, true)
	if n := second.Stats().Conflicts.Load(); n != 0 || second.Name() != name {
		t.Errorf("the second server saw %d conflicts, is named %q", n, second.Name())
	}
}
