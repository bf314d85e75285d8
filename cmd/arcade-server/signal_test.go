package main

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/internal/testnet"
	"github.com/arcadexr/arcade/internal/wait"
	"github.com/arcadexr/arcade/wire"
)

// TestSIGTERMTellsClients runs the real binary on loopback, connects a
// headset, sends SIGTERM, and expects the headset to be told and the
// process to exit 0.
func TestSIGTERMTellsClients(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped in -short mode")
	}
	bin := serverBinary(t)
	// A port and a group of this run's own; normal scheduling, as a
	// neighbour of other tests.
	ports := testnet.UDPPorts(t, 2)
	addr := "127.0.0.1:" + strconv.Itoa(int(ports[0]))
	group := netip.AddrPortFrom(testnet.GroupAddr(), ports[1])
	cmd := exec.Command(bin, "--listen", addr, "--http", "off", "--iface", "lo",
		"--multicast", group.String(), "--rt-priority", "0")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()

	// The server needs a moment to bind: dial until it answers.
	var c *client.Client
	var err error
	wait.Until(30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c, err = client.Dial(ctx, addr, client.Config{SessionConfig: client.SessionConfig{Name: "sig", Unicast: true}})
		return err == nil
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.Done():
	case <-time.After(15 * time.Second):
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
	case <-time.After(15 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
}
