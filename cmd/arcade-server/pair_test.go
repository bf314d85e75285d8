package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/internal/testnet"
	"github.com/arcadexr/arcade/internal/wait"
	"github.com/arcadexr/arcade/wire"
)

// logBuf is a process's stderr, read while it runs.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Contains(l.b.String(), s)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPairTakeover runs a standby pair of the real binary on loopback
// (the primary on 127.0.0.1, the standby on 127.0.0.2) with a headset
// streaming poses. kill -9 of the primary: the standby takes over under
// epoch 3 and the headset goes on with it, same client id, no handshake,
// its poses reflected. The primary, started again with the same flags,
// follows (it has a stored epoch) and does not take over while the other
// lives; kill -9 of that one: the first takes over under epoch 4 and the
// headset moves back.
func TestPairTakeover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped in -short mode")
	}
	bin := serverBinary(t)
	dir := t.TempDir()
	ports := testnet.UDPPorts(t, 4)
	group := netip.AddrPortFrom(testnet.GroupAddr(), ports[3])
	game := [2]string{"127.0.0.1:" + strconv.Itoa(int(ports[0])), "127.0.0.2:" + strconv.Itoa(int(ports[0]))}
	pairAt := [2]string{"127.0.0.1:" + strconv.Itoa(int(ports[1])), "127.0.0.2:" + strconv.Itoa(int(ports[2]))}
	key := "testdata/pair.key"
	start := func(i int) (*exec.Cmd, *logBuf) {
		role, peer := "--pair", pairAt[1]
		if i == 1 {
			role, peer = "--standby", pairAt[0]
		}
		cmd := exec.Command(bin, "--listen", game[i], "--http", "off", "--iface", "lo", "--multicast", group.String(),
			"--rt-priority", "0", "--discovery=false", "--beacon-port", "0",
			role, peer, "--pair-listen", pairAt[i], "--pair-key-file", key, "--epoch-file", filepath.Join(dir, fmt.Sprint("epoch", i)),
			// Longer than the default: on a test box beside other tests a
			// copy can be late by more than 30 ms, and a takeover while the
			// active was only late, safe as it is, is not this test's story.
			"--takeover-silence", "200ms")
		lb := &logBuf{}
		cmd.Stderr = lb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd, lb
	}
	kill := func(cmd *exec.Cmd) {
		cmd.Process.Kill() // SIGKILL: not a word to anyone
		cmd.Wait()
	}
	a, alog := start(0)
	if !wait.Until(20*time.Second, func() bool { return alog.has("msg=active epoch=2") }) {
		t.Fatalf("the primary never became active:\n%s", alog)
	}
	b, blog := start(1)
	if !wait.Until(20*time.Second, func() bool { return blog.has("standby: following") }) {
		t.Fatalf("the standby never followed:\n%s", blog)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	c, err := client.Dial(ctx, game[0], client.Config{SessionConfig: client.SessionConfig{Name: "pair"}, MulticastIface: "lo"})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id := c.ClientID()
	var reflected atomic.Uint32 // newest input seq the server's state showed
	c.OnSnapshot(func(s *wire.Snapshot, _ int64, _ bool) {
		for i := range s.Players {
			if s.Players[i].ClientID == id {
				reflected.Store(s.Players[i].LastInputSeq)
			}
		}
	})
	var sent atomic.Uint32
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // poses at 90 Hz, as a headset sends them
		defer close(done)
		in := wire.PoseInput{Head: wire.Pose{Pos: wire.Vec3{Y: 1.6}, Rot: wire.Quat{W: 1}}}
		for {
			select {
			case <-stop:
				return
			case <-time.After(11 * time.Millisecond):
			}
			if seq, err := c.SendPose(&in); err == nil {
				sent.Store(seq)
			}
		}
	}()
	defer func() { close(stop); <-done }()
	// The standby has copies of the headset's session once the headset's
	// poses show in the state.
	if !wait.Until(10*time.Second, func() bool { return reflected.Load() > 5 }) {
		t.Fatalf("the primary's state never showed the headset's poses (sent %d)", sent.Load())
	}
	time.Sleep(100 * time.Millisecond)

	moveTo := func(epoch uint32, moves uint64, killed *exec.Cmd, log *logBuf) {
		t.Helper()
		killAt := time.Now()
		kill(killed)
		if !wait.Until(10*time.Second, func() bool { e, _ := c.Epoch(); return e == epoch && c.Stats().ServerMoves == moves }) {
			e, _ := c.Epoch()
			t.Fatalf("the headset is at epoch %d after %d moves, want %d after %d:\n%s", e, c.Stats().ServerMoves, epoch, moves, log)
		}
		moved := time.Since(killAt)
		after := sent.Load()
		if !wait.Until(10*time.Second, func() bool { return wire.InputSeqNewer(reflected.Load(), after) || reflected.Load() == after }) {
			t.Fatalf("the new server's state never showed input %d (shows %d)", after, reflected.Load())
		}
		if c.ClientID() != id || c.Stats().Restarts != 0 {
			t.Fatalf("the headset is client %d after %d new handshakes, want %d after none", c.ClientID(), c.Stats().Restarts, id)
		}
		t.Logf("epoch %d: the headset moved %v after the kill", epoch, moved.Round(time.Millisecond))
	}
	moveTo(3, 1, a, blog)
	if !blog.has("msg=\"taking over\" epoch=3 copy=true") || !blog.has("sessions=1") {
		t.Fatalf("the standby took over without the primary's copy:\n%s", blog)
	}

	// The primary comes back: it follows, and stays a standby while the
	// active lives.
	a, alog = start(0)
	if !wait.Until(20*time.Second, func() bool { return alog.has("standby: following") && alog.has("stored_epoch=2") }) {
		t.Fatalf("the returning primary did not follow with its stored epoch:\n%s", alog)
	}
	time.Sleep(time.Second) // it has copies by then
	if alog.has("taking over") {
		t.Fatalf("the returning primary took over while the active lives:\n%s", alog)
	}
	moveTo(4, 2, b, alog)
	if !alog.has("msg=\"taking over\" epoch=4 copy=true") {
		t.Fatalf("the returning primary took over without the other's copy:\n%s", alog)
	}
}
