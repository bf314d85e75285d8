package relay

import (
	"encoding/hex"
	"strings"
	"testing"
)

func frame(t *testing.T, h string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(h), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Frames as they cross the lab: server 10.77.0.1, headset 10.77.0.11.
const (
	udpUnicast = `020000000002 020000000001 0800
		45000024 00004000 4011 0000 0a4d0001 0a4d000b
		1e61 d431 0010 0000 01020304 05060708`
	udpMulticast = `01005e7f4d4d 020000000001 0800
		45000024 00004000 0111 0000 0a4d0001 effd4d4d
		1e61 1e62 0010 0000 01020304 05060708`
	arpRequest = `ffffffffffff 020000000001 0806
		0001 0800 06 04 0001 020000000001 0a4d0001 000000000000 0a4d000b`
	igmpReport = `01005e000016 020000000002 0800
		46c00028 00004000 0102 0000 0a4d000b e0000016 94040000
		2200 0000 0000 0001 04000000 effd4d4d`
	// The second fragment of a UDP datagram: no ports.
	udpFragment = `020000000002 020000000001 0800
		45000024 000100b9 4011 0000 0a4d0001 0a4d000b
		01020304 05060708 090a0b0c 0d0e0f10`
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name       string
		hex        string
		udp, group bool
	}{
		{"udp unicast", udpUnicast, true, false},
		{"udp multicast", udpMulticast, true, true},
		{"arp broadcast", arpRequest, false, true},
		{"igmp report", igmpReport, false, true},
		{"udp second fragment", udpFragment, true, false},
		{"runt", "0102030405", false, false},
	}
	for _, tc := range tests {
		fi := classify(frame(t, tc.hex))
		if fi.udp != tc.udp || fi.group != tc.group {
			t.Errorf("%s: udp %v group %v, want %v %v", tc.name, fi.udp, fi.group, tc.udp, tc.group)
		}
	}
}

func TestFlowKey(t *testing.T) {
	a := frame(t, udpUnicast)
	b := frame(t, udpUnicast)
	b[len(b)-1] ^= 0xff // payload differs: same flow
	if classify(a).flow != classify(b).flow {
		t.Error("payload changed the flow")
	}
	c := frame(t, udpUnicast)
	c[ethHeaderLen+20+1] ^= 1 // source port differs: another flow
	if classify(a).flow == classify(c).flow {
		t.Error("source port did not change the flow")
	}
	d := frame(t, udpUnicast)
	d[ethSrcOff+5] ^= 1 // source MAC differs
	if classify(a).flow == classify(d).flow {
		t.Error("source MAC did not change the flow")
	}
	f := frame(t, udpFragment)
	f[len(f)-1] ^= 0xff // a later fragment's bytes are not ports
	if classify(f).flow != classify(frame(t, udpFragment)).flow {
		t.Error("fragment payload changed the flow")
	}
}
