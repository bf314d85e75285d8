//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestLiveLoopback captures on lo: each datagram between two local sockets
// is seen once (lo shows every packet as sent and as received), with its
// addresses, payload and a kernel timestamp; other ports are filtered out.
func TestLiveLoopback(t *testing.T) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	other, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	port := uint16(rx.LocalAddr().(*net.UDPAddr).Port)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	src, err := openLive(ctx, "lo", []uint16{port})
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		t.Skipf("no CAP_NET_RAW: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	const n = 5
	before := time.Now().UnixNano()
	for i := range n {
		tx.WriteToUDP(fmt.Appendf(nil, "ARC%d", i), rx.LocalAddr().(*net.UDPAddr))
		tx.WriteToUDP([]byte("ARC elsewhere"), other.LocalAddr().(*net.UDPAddr)) // filtered out
	}
	// A marker after the last one tells the reader it has seen everything
	// the kernel will deliver for the datagrams above.
	tx.WriteToUDP([]byte("end"), rx.LocalAddr().(*net.UDPAddr))
	var got [][]byte
	for {
		f, err := src.next()
		if err != nil {
			t.Fatalf("after %d datagrams: %v", len(got), err)
		}
		if f.dst.Port() != port || f.src.Port() != uint16(tx.LocalAddr().(*net.UDPAddr).Port) {
			t.Fatalf("unexpected datagram %v → %v %q", f.src, f.dst, f.payload)
		}
		if f.at < before || f.at > time.Now().UnixNano() {
			t.Errorf("timestamp %d outside the run", f.at)
		}
		if string(f.payload) == "end" {
			break
		}
		got = append(got, bytes.Clone(f.payload))
	}
	if len(got) != n {
		t.Fatalf("captured %d datagrams, want %d (each once): %q", len(got), n, got)
	}
	for i, p := range got {
		if want := fmt.Sprintf("ARC%d", i); string(p) != want {
			t.Errorf("datagram %d: %q, want %q", i, p, want)
		}
	}
}
