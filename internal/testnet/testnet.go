// Package testnet hands tests loopback resources that another test run on
// the same host, at the same time, does not get too: free ports, and
// multicast groups of their own.
package testnet

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
)

// UDPPorts returns n distinct UDP ports that were free on every local
// address a moment ago. They are bound together (no two are the same) on
// 0.0.0.0 without address reuse (no other socket held them, on any
// address), then released for the caller to bind.
func UDPPorts(tb testing.TB, n int) []uint16 {
	tb.Helper()
	ports := make([]uint16, n)
	for i := range ports {
		c, err := net.ListenPacket("udp4", "0.0.0.0:0")
		if err != nil {
			tb.Fatal(err)
		}
		defer c.Close()
		ports[i] = uint16(c.LocalAddr().(*net.UDPAddr).Port)
	}
	return ports
}

// UDPPort returns one port as UDPPorts does.
func UDPPort(tb testing.TB) uint16 {
	tb.Helper()
	return UDPPorts(tb, 1)[0]
}

// TCPPort returns a TCP port on 127.0.0.1 that was free a moment ago.
func TCPPort(tb testing.TB) uint16 {
	tb.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

// GroupAddr returns a random multicast address in 239.255.1.1 to
// 239.255.254.254 (organisation-local scope, clear of 239.255.255.250,
// SSDP): a socket bound to its group and port receives nothing sent to
// another run's group, even on the same port.
func GroupAddr() netip.Addr {
	return netip.AddrFrom4([4]byte{239, 255, byte(1 + rand.IntN(254)), byte(1 + rand.IntN(254))})
}

// Group returns a multicast group of its own for a test on lo: a random
// address (GroupAddr) and a free port (UDPPort).
func Group(tb testing.TB) netip.AddrPort {
	tb.Helper()
	return netip.AddrPortFrom(GroupAddr(), UDPPort(tb))
}
