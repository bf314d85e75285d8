package main

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"arcade/client"
	"arcade/wire"
)

// TestSIGTERMTellsClients runs the real binary on loopback, connects a
// headset, sends SIGTERM, and expects the headset to be told and the
// process to exit 0.
func TestSIGTERMTellsClients(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped in -short mode")
	}
	bin := filepath.Join(t.TempDir(), "arcade-server")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "--listen", addr, "--http", "off", "--iface", "lo",
		"--multicast", "239.255.77.77:"+strconv.Itoa(port+1))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()

	var c *client.Client
	for i := 0; i < 50; i++ { // the server needs a moment to bind
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		c, err = client.Dial(ctx, addr, client.Config{SessionConfig: client.SessionConfig{Name: "sig", Unicast: true}})
		cancel()
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client was not told of the shutdown")
	}
	var de *client.DisconnectedError
	if !errors.As(c.Err(), &de) || de.Reason != wire.DisconnectServerShutdown {
		t.Fatalf("client error %v, want server shutdown", c.Err())
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("server exit: %v, want status 0", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
}
