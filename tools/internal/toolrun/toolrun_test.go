package toolrun

import (
	"net"
	"os"
	"strconv"
	"testing"
)

func TestWriteSecret(t *testing.T) {
	p, err := WriteSecret("toolrun-test-", "lantern")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(p)
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%v, mode %v: want 0600", err, fi.Mode())
	}
	if b, _ := os.ReadFile(p); string(b) != "lantern\n" {
		t.Fatalf("content %q", b)
	}
}

func TestFreePort(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		port, err := FreePort(network)
		if err != nil || port == 0 {
			t.Fatalf("%s: %d, %v", network, port, err)
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if network == "tcp" {
			l, err := net.Listen("tcp4", addr)
			if err != nil {
				t.Fatalf("tcp port %d not free: %v", port, err)
			}
			l.Close()
		} else {
			c, err := net.ListenPacket("udp4", addr)
			if err != nil {
				t.Fatalf("udp port %d not free: %v", port, err)
			}
			c.Close()
		}
	}
}
