package main

import (
	"arcade/tools/internal/toolrun"
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestRestartRejoin: eight arcade-bot headsets (default flags, four of
// them grabbing) whose server is killed with SIGKILL and started again on
// the same ports 70 ms later all rejoin by themselves: the new server
// counts them all soon after it answers. (What the headsets held is not
// restored: the server keeps no checkpoint yet.)
func TestRestartRejoin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server and the bots; skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	if err := toolrun.Build(ctx, dir, "./cmd/arcade-server", "./tools/arcade-bot"); err != nil {
		t.Fatal(err)
	}
	gamePort, err := toolrun.FreePort("udp")
	if err != nil {
		t.Fatal(err)
	}
	groupPort, err := toolrun.FreePort("udp")
	if err != nil {
		t.Fatal(err)
	}
	httpPort, err := toolrun.FreePort("tcp")
	if err != nil {
		t.Fatal(err)
	}
	game := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(gamePort))
	group := fmt.Sprintf("239.255.%d.%d:%d", 1+gamePort%250, 1+groupPort%250, groupPort)
	api := fmt.Sprintf("http://127.0.0.1:%d/api/stats", httpPort)
	bin := filepath.Join(dir, "arcade-server")
	srv, err := startServer(bin, game, httpPort, group, "", 64)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.kill() }()
	if err := waitStats(ctx, api, srv, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	var bots []*exec.Cmd
	for i, grab := range []bool{true, false} {
		args := []string{"--server", game.String(), "--clients", "4", "--duration", "8s", "--iface", "lo", "--json",
			"--source-net", "127." + strconv.Itoa(20+i) + ".0.0/24"}
		if grab {
			args = append(args, "--grab")
		}
		b := exec.CommandContext(ctx, filepath.Join(dir, "arcade-bot"), args...)
		b.SysProcAttr = childAttr()
		if err := b.Start(); err != nil {
			t.Fatal(err)
		}
		bots = append(bots, b)
	}
	defer func() {
		for _, b := range bots {
			b.Process.Kill()
			b.Wait()
		}
	}()
	if !until(ctx, 10*time.Second, func() bool { s, err := getStats(api); return err == nil && s.Clients == 8 }) {
		t.Fatal("the 8 headsets did not connect")
	}
	time.Sleep(500 * time.Millisecond) // they stream, the grabbers hold
	srv.kill()                         // SIGKILL: no goodbye to anyone
	time.Sleep(70 * time.Millisecond)
	srv, err = startServer(bin, game, httpPort, group, "", 64)
	if err != nil {
		t.Fatal(err)
	}
	if err := waitStats(ctx, api, srv, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	answered := time.Now()
	if !until(ctx, 5*time.Second, func() bool { s, err := getStats(api); return err == nil && s.Clients == 8 }) {
		s, _ := getStats(api)
		t.Fatalf("after the restart %v headsets came back within 5 s, want 8", s)
	}
	t.Logf("all 8 headsets back %v after the new server answered", time.Since(answered).Round(time.Millisecond))
}

// until polls cond every 10 ms for at most d.
func until(ctx context.Context, d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) && ctx.Err() == nil {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}
