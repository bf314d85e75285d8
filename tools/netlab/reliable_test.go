//go:build linux

package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/arcadexr/arcade/tools/netlab/internal/lab"
	"github.com/arcadexr/arcade/tools/netlab/internal/relay"
)

// The reliable-delivery lab test's namespace family.
const reliablePrefix = "arcrel"

// relTimeout bounds the whole test, lab included.
const relTimeout = 150 * time.Second

// TestReliableLab runs the reliable-channel scenario (see reliable.go)
// through the lab's relay on the wifi-busy profile (5 ± 4 ms one way, 2 %
// bursty loss, reordering) and checks what must always hold: each of the
// 10 000 messages handled exactly once, in order per stream, intact; every
// fragment lost on its first send resent. The resend delay is measured as
// the twin measures it and reported beside the RTT measured on the same
// path and the profile's; netlab (make lab) prints the same table.
func TestReliableLab(t *testing.T) {
	if err := lab.Available(); err != nil {
		t.Skipf("reliable lab test skipped: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
	defer cancel()
	l, err := lab.Build(ctx, lab.Config{Prefix: reliablePrefix, Headsets: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // registered first: runs last
		if err := l.Close(); err != nil {
			t.Errorf("teardown: %v", err)
		}
		if left, _ := lab.Namespaces(context.Background(), l.Prefix); len(left) > 0 {
			t.Errorf("namespaces left after teardown: %v", left)
		}
	})
	prof, ok := relay.ProfileByName(relProfile)
	if !ok {
		t.Fatalf("no relay profile %s", relProfile)
	}
	rcmd := selfCommand(t, l.AP, "relay", "--profile", relProfile, "--seed", fmt.Sprint(relSeed))
	res, err := runReliable(ctx, relConfig{Lab: l, Headset: l.Headsets[0], Profile: prof, Relay: rcmd})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	printReliable(&b, res)
	t.Log("\n" + strings.TrimRight(b.String(), "\n"))
	for _, d := range []struct {
		name string
		s    relay.DirStats
	}{{"to headsets", res.Relay.ToHeadsets}, {"to server", res.Relay.ToServer}} {
		t.Logf("relay (%s) %s: forwarded %d, dropped %d, pool full %d, txerr %d; actual delay p50 %v p99 %v",
			relProfile, d.name, d.s.Forwarded, d.s.Dropped, d.s.PoolFull, d.s.TxErrors,
			time.Duration(d.s.Actual.P50), time.Duration(d.s.Actual.P99))
	}
	if res.CaptureDrops > 0 {
		t.Logf("the capture dropped %d frames: the resend delays above are incomplete", res.CaptureDrops)
	}
	for _, p := range res.Problems {
		t.Error(p)
	}
}
