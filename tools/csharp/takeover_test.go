package csharp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arcadexr/arcade/internal/testnet"
	"github.com/arcadexr/arcade/internal/wait"
	"github.com/arcadexr/arcade/tools/internal/toolrun"
)

// TestIntegrationPair: C# headsets follow a standby pair's takeover
// (PROTOCOL §18.5). Two arcade-server processes run as a pair on loopback,
// the primary on 127.0.0.1 and the standby on 127.0.0.2 (same game port);
// two C# clients, one on the group and one by unicast, connect to the
// primary; when the C# test prints KILL the primary gets SIGKILL, and the
// clients must go on with the standby under epoch 3 without a new handshake
// (IntegrationTests.PairTakeover); when it prints KILL2 the primary runs
// again, follows the standby, and the standby gets SIGKILL: the clients go
// back to the primary under epoch 4. Go's own client does the same in
// cmd/arcade-server's TestPairTakeover.
func TestIntegrationPair(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two arcade-servers and Mono; skipped in -short mode")
	}
	b := compile(t)
	bin := buildServer(t)
	dir := t.TempDir()
	key, err := toolrun.WriteSecret("arcade-csharp-pair-", "a pair key of the C# takeover test")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(key)
	ports := testnet.UDPPorts(t, 4)
	group := fmt.Sprintf("%s:%d", testnet.GroupAddr(), ports[3])
	game := [2]string{"127.0.0.1:" + strconv.Itoa(int(ports[0])), "127.0.0.2:" + strconv.Itoa(int(ports[0]))}
	pairAt := [2]string{"127.0.0.1:" + strconv.Itoa(int(ports[1])), "127.0.0.2:" + strconv.Itoa(int(ports[2]))}
	var procs [2]*exec.Cmd
	var logs [2]*toolrun.CapBuffer
	start := func(i int) {
		role, peer := "--pair", pairAt[1]
		if i == 1 {
			role, peer = "--standby", pairAt[0]
		}
		logs[i] = &toolrun.CapBuffer{Max: 256 << 10}
		procs[i] = exec.Command(bin, "--listen", game[i], "--http", "off", "--iface", "lo", "--multicast", group,
			"--rt-priority", "0", "--discovery=false", "--beacon-port", "0", "--host-probe=false", "--dscp", "-1", "--echo-rpc",
			role, peer, "--pair-listen", pairAt[i], "--pair-key-file", key, "--epoch-file", filepath.Join(dir, fmt.Sprint("epoch", i)),
			// Not the 30 ms default: on a box whose two cores run other tests too, a primary can
			// stall that long and its standby take over while it lives (safe, §18.4, but then
			// the epochs the test expects are not the ones it gets).
			"--takeover-silence", "200ms")
		procs[i].Stderr, procs[i].Stdout = logs[i], logs[i]
		if err := procs[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	kill := func(i int) {
		if procs[i] != nil && procs[i].Process != nil {
			procs[i].Process.Kill() // SIGKILL: not a word to anyone
			procs[i].Wait()
			procs[i] = nil
		}
	}
	defer kill(0)
	defer kill(1)
	has := func(i int, s string) func() bool { return func() bool { return strings.Contains(logs[i].String(), s) } }
	start(0)
	if !wait.Until(20*time.Second, has(0, "msg=active epoch=2")) {
		t.Fatalf("the primary never became active:\n%s", logs[0].Tail(20))
	}
	start(1)
	if !wait.Until(20*time.Second, has(1, "standby: following")) {
		t.Fatalf("the standby never followed:\n%s", logs[1].Tail(20))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	root, _ := filepath.Abs(repoRoot)
	cmd := exec.CommandContext(ctx, b.Mono, "--debug", b.Tests, root, "IntegrationTests.PairTakeover")
	cmd.Env = append(cmd.Environ(), "ARCADE_SERVER="+game[0], "ARCADE_STANDBY="+game[1])
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		switch strings.TrimSpace(line) {
		case "KILL":
			kill(0)
			io.WriteString(stdin, "go\n")
		case "KILL2":
			start(0)
			if !wait.Until(20*time.Second, func() bool { return has(0, "standby: following")() && has(0, "stored_epoch=2")() }) {
				t.Errorf("the returning primary did not follow with its stored epoch:\n%s", logs[0].Tail(20))
				io.WriteString(stdin, "failed\n")
				continue
			}
			// "following" is logged as it starts to listen: a second of the active's copies
			// (120 a second) before the kill, or it would take over with no copy (a world of
			// its own, which no headset's token matches).
			time.Sleep(time.Second)
			kill(1)
			io.WriteString(stdin, "go\n")
		}
	}
	err = cmd.Wait()
	t.Logf("mono %s IntegrationTests.PairTakeover:\n%s", filepath.Base(b.Tests), out.String())
	if err != nil {
		t.Fatalf("C# pair test failed: %v\nthe standby's last lines:\n%s\nthe primary's last lines:\n%s", err, logs[1].Tail(15), logs[0].Tail(15))
	}
	if !strings.Contains(out.String(), "ok   IntegrationTests.PairTakeover ") || strings.Contains(out.String(), "not run") {
		t.Fatal("the C# takeover test did not run and pass")
	}
	if !has(1, "msg=\"taking over\" epoch=3 copy=true")() || !has(1, "sessions=2")() {
		t.Fatalf("the standby took over without the primary's copy of both sessions:\n%s", logs[1].Tail(20))
	}
	if !has(0, "msg=\"taking over\" epoch=4 copy=true")() {
		t.Fatalf("the returning primary took over without the standby's copy:\n%s", logs[0].Tail(20))
	}
}
