package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/arcadexr/arcade/discovery"
	"github.com/arcadexr/arcade/internal/testnet"
	"github.com/arcadexr/arcade/internal/wait"

	"golang.org/x/net/dns/dnsmessage"
)

// TestDiscoveryAdvertisesAndSaysGoodbye runs the real binary on loopback
// with discovery on: Browse and Beacon must find it under --name with the
// game port, and on SIGTERM it must multicast a goodbye (TTL 0 PTR).
func TestDiscoveryAdvertisesAndSaysGoodbye(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped in -short mode")
	}
	lo, err := discovery.LookupInterface("lo")
	if err != nil {
		t.Skip(err)
	}
	bin := serverBinary(t)
	// Ports and a group of this run's own, and a name no other run
	// advertises on lo.
	ports := testnet.UDPPorts(t, 3)
	port, beaconPort := int(ports[0]), int(ports[1])
	group := netip.AddrPortFrom(testnet.GroupAddr(), ports[2])
	name := fmt.Sprintf("Cmd Test %04x%04x", os.Getpid()&0xffff, rand.Uint32()&0xffff)
	cmd := exec.Command(bin, "--listen", "127.0.0.1:"+strconv.Itoa(port), "--http", "off", "--iface", "lo",
		"--multicast", group.String(), "--rt-priority", "0",
		"--name", name, "--beacon-port", strconv.Itoa(beaconPort))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()

	// Browse until the server is found (it probes for about a second
	// first), each Browse collecting answers for a second.
	want := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	found := wait.Until(30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		svcs, _ := discovery.Browse(ctx, "lo")
		cancel()
		for _, s := range svcs {
			if s.Instance == name && s.Addr == want {
				return true
			}
		}
		return false
	})
	if !found {
		t.Fatalf("Browse did not find %q at %v", name, want)
	}
	// Each Beacon collects replies for a second; ask again (bounded) if a
	// busy machine kept the reply past it.
	var svcs []discovery.Service
	for range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		svcs, err = discovery.Beacon(ctx, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(beaconPort)))
		cancel()
		if err != nil || len(svcs) > 0 {
			break
		}
	}
	if err != nil || len(svcs) != 1 || svcs[0].Instance != name || svcs[0].Addr != want {
		t.Fatalf("Beacon: %+v, %v", svcs, err)
	}

	mc, err := discovery.ListenMDNS([]discovery.Interface{lo})
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	cmd.Process.Signal(syscall.SIGTERM)
	mc.SetReadDeadline(time.Now().Add(15 * time.Second)) // bounds a failing run only
	buf := make([]byte, 9000)
	for goodbye := false; !goodbye; {
		n, _, _, err := mc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no goodbye: %v", err)
		}
		var p dnsmessage.Parser
		if h, err := p.Start(buf[:n]); err != nil || !h.Response {
			continue
		}
		p.SkipAllQuestions()
		ans, _ := p.AllAnswers()
		for _, rr := range ans {
			if ptr, ok := rr.Body.(*dnsmessage.PTRResource); ok && ptr.PTR.String() == name+"."+discovery.ServiceType && rr.Header.TTL == 0 {
				goodbye = true
			}
		}
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("server exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
}

// TestDiscoveryFlags checks --name and --beacon-port validation.
func TestDiscoveryFlags(t *testing.T) {
	for _, args := range [][]string{{"--name", "a.b"}, {"--name", string(make([]byte, 64))}, {"--beacon-port", "70000"}} {
		if _, err := parseFlags(args, os.Stderr); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	o, err := parseFlags([]string{"--name", "Arena", "--discovery=false", "--beacon-port", "0"}, os.Stderr)
	if err != nil || o.name != "Arena" || o.discovery || o.beaconPort != 0 {
		t.Errorf("parseFlags = %+v, %v", o, err)
	}
	o, err = parseFlags(nil, os.Stderr)
	if err != nil || o.name == "" || !o.discovery || o.beaconPort != discovery.DefaultBeaconPort {
		t.Errorf("defaults: %+v, %v", o, err)
	}
}
