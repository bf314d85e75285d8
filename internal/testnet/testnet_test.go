package testnet

import "testing"

func TestUDPPortsAreDistinct(t *testing.T) {
	ports := UDPPorts(t, 8)
	seen := map[uint16]bool{}
	for _, p := range ports {
		if p == 0 || seen[p] {
			t.Fatalf("ports %v: zero or repeated", ports)
		}
		seen[p] = true
	}
}

func TestGroupAddr(t *testing.T) {
	for range 1000 {
		a := GroupAddr()
		b := a.As4()
		if !a.IsMulticast() || b[0] != 239 || b[1] != 255 || b[2] == 0 || b[2] == 255 || b[3] == 0 || b[3] == 255 {
			t.Fatalf("group address %v outside 239.255.1-254.1-254", a)
		}
	}
	if g := Group(t); !g.Addr().IsMulticast() || g.Port() == 0 {
		t.Fatalf("group %v", g)
	}
}
