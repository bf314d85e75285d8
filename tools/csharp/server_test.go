package csharp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arcadexr/arcade/tools/internal/toolrun"
)

// server is an arcade-server process on loopback ports of its own.
type server struct {
	bin        string
	args       []string
	cmd        *exec.Cmd
	stderr     *toolrun.CapBuffer
	game, http string
	env        []string // more for the C# tests
}

// startServer builds nothing: bin is arcade-server. passFile, if not
// empty, is its --passphrase-file.
func newServer(t *testing.T, bin, passFile string, extra ...string) *server {
	t.Helper()
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
	s := &server{bin: bin, game: fmt.Sprintf("127.0.0.1:%d", gamePort), http: fmt.Sprintf("127.0.0.1:%d", httpPort)}
	group := fmt.Sprintf("239.255.%d.%d:%d", 1+gamePort%250, 1+groupPort%250, groupPort)
	s.args = []string{"--listen", s.game, "--http", s.http, "--iface", "lo", "--multicast", group,
		"--discovery=false", "--rt-priority", "0", "--host-probe=false", "--dscp", "-1", "--echo-rpc"}
	if passFile != "" {
		s.args = append(s.args, "--passphrase-file", passFile)
	}
	s.args = append(s.args, extra...) // later flags win
	return s
}

func (s *server) start(ctx context.Context) error {
	s.stderr = &toolrun.CapBuffer{Max: 64 << 10}
	s.cmd = exec.Command(s.bin, s.args...)
	s.cmd.Stderr = s.stderr
	s.cmd.Stdout = s.stderr
	if err := s.cmd.Start(); err != nil {
		return err
	}
	// Ready when the operator API answers.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		resp, err := http.Get("http://" + s.http + "/api/stats")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("arcade-server did not answer on %s within 10 s:\n%s", s.http, s.stderr.Tail(20))
}

func (s *server) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// runWithServer runs the C# tests named by filters against a fresh
// arcade-server (with passphrase pass, if not empty), restarting the server
// whenever the tests print RESTART, and returns their output.
func runWithServer(t *testing.T, b *Build, srv *server, pass string, filters ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := srv.start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.kill() }()
	root, _ := filepath.Abs(repoRoot)
	cmd := exec.CommandContext(ctx, b.Mono, append([]string{"--debug", b.Tests, root}, filters...)...)
	cmd.Env = append(cmd.Environ(), "ARCADE_SERVER="+srv.game, "ARCADE_PASSPHRASE="+pass)
	cmd.Env = append(cmd.Env, srv.env...)
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
		if strings.TrimSpace(line) == "RESTART" {
			srv.kill() // SIGKILL: no goodbye to anyone
			if err := srv.start(ctx); err != nil {
				t.Error(err)
				io.WriteString(stdin, "failed\n")
				continue
			}
			io.WriteString(stdin, "go\n")
		}
	}
	err = cmd.Wait()
	t.Logf("mono %s %s:\n%s", filepath.Base(b.Tests), strings.Join(filters, " "), out.String())
	if err != nil {
		t.Fatalf("C# integration tests failed: %v\narcade-server's last lines:\n%s", err, srv.stderr.Tail(15))
	}
	return out.String()
}

// built is the one build of arcade-server and arcade-bot for all the
// tests of this run, removed by TestMain.
var built = toolrun.NewBinaries("./cmd/arcade-server", "./tools/arcade-bot")

func TestMain(m *testing.M) {
	code := m.Run()
	built.Remove()
	os.Exit(code)
}

// buildBinaries builds arcade-server and arcade-bot, once for all the
// tests, and returns the directory holding them.
func buildBinaries(t *testing.T) string {
	t.Helper()
	return built.Dir(t)
}

func buildServer(t *testing.T) string {
	t.Helper()
	return filepath.Join(buildBinaries(t), "arcade-server")
}

// TestIntegration: two C# clients against the real arcade-server on
// loopback: handshake, poses seen by the other with their exact quantized
// values, 0 bytes allocated per received snapshot, a grab through the
// reliable channel followed in EntityUpdates, a disconnect and a resumed
// return with the same client id, and a server restart both clients come
// back from by themselves; then the same with StateDelta, and with coded
// StateDelta (one client losing 10 % of its state datagrams).
func TestIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("runs arcade-server and Mono; skipped in -short mode")
	}
	b := compile(t)
	bin := buildServer(t)
	out := runWithServer(t, b, newServer(t, bin, ""), "", "IntegrationTests.TwoClients")
	if !strings.Contains(out, "ok   IntegrationTests.TwoClientsDelta ") {
		t.Fatal("the StateDelta test did not pass")
	}
	if !strings.Contains(out, "ok   IntegrationTests.TwoClientsCoded ") || !strings.Contains(out, "coded StateDelta: ") {
		t.Fatal("the coded StateDelta test did not run and pass")
	}
	if !strings.Contains(out, "ok   IntegrationTests.TwoClients ") {
		t.Fatal("the two-client test did not pass")
	}
}

// TestIntegrationSealed: the same with a venue passphrase: the CPace
// handshake, every datagram after it sealed, the group's signed, and a
// wrong passphrase (and none) refused.
func TestIntegrationSealed(t *testing.T) {
	if testing.Short() {
		t.Skip("runs arcade-server and Mono; skipped in -short mode")
	}
	b := compile(t)
	bin := buildServer(t)
	const pass = "lantern orchard 42"
	f, err := toolrun.WriteSecret("arcade-csharp-pass-", pass)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f)
	out := runWithServer(t, b, newServer(t, bin, f), pass, "IntegrationTests.TwoClientsSealed")
	if !strings.Contains(out, "ok   IntegrationTests.TwoClientsSealed ") || strings.Contains(out, "not run") {
		t.Fatal("the sealed two-client test did not run and pass")
	}
}

// TestDiscovery: the C# beacon probe and mDNS browse find a real
// arcade-server advertising on lo under a name of this run's own.
func TestDiscovery(t *testing.T) {
	if testing.Short() {
		t.Skip("runs arcade-server and Mono; skipped in -short mode")
	}
	b := compile(t)
	bin := buildServer(t)
	beaconPort, err := toolrun.FreePort("udp")
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("csharp-test-%d-%d", os.Getpid(), beaconPort)
	srv := newServer(t, bin, "", "--discovery=true", "--beacon-port", strconv.Itoa(beaconPort), "--name", name)
	srv.env = []string{fmt.Sprintf("ARCADE_BEACON=127.0.0.1:%d", beaconPort), "ARCADE_NAME=" + name}
	out := runWithServer(t, b, srv, "", "DiscoveryTests.")
	if !strings.Contains(out, "ok   DiscoveryTests.FindsTheServer ") || strings.Contains(out, "not run") {
		t.Fatal("the discovery test did not run and pass")
	}
}
