//go:build linux

package relay

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// cmsg builds one control message as the kernel lays it out.
func cmsg(level, typ int32, data []byte) []byte {
	n := unix.SizeofCmsghdr + len(data)
	b := make([]byte, (n+7)&^7)
	binary.NativeEndian.PutUint64(b[0:], uint64(n))
	binary.NativeEndian.PutUint32(b[8:], uint32(level))
	binary.NativeEndian.PutUint32(b[12:], uint32(typ))
	copy(b[unix.SizeofCmsghdr:], data)
	return b
}

func TestRxTime(t *testing.T) {
	ts := make([]byte, 16)
	binary.NativeEndian.PutUint64(ts[0:], 1_700_000_000)
	binary.NativeEndian.PutUint64(ts[8:], 123_456_789)
	want := int64(1_700_000_000)*1e9 + 123_456_789
	stamp := cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, ts)
	other := cmsg(unix.SOL_PACKET, 8, make([]byte, 20)) // e.g. PACKET_AUXDATA first
	for _, tc := range []struct {
		name string
		ctrl []byte
		want int64
	}{
		{"alone", stamp, want},
		{"after another", append(append([]byte{}, other...), stamp...), want},
		{"none", other, 0},
		{"empty", nil, 0},
		{"truncated", stamp[:20], 0},
		{"bad length", cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, ts)[:unix.SizeofCmsghdr+8], 0},
	} {
		if got := rxTime(tc.ctrl); got != tc.want {
			t.Errorf("%s: rxTime = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestOpenValidates(t *testing.T) {
	p, _ := ProfileByName("wired")
	for _, cfg := range []Config{
		{A: "x", B: "y", Profile: Profile{}},
		{A: "x", B: "y", Profile: p, Slots: 3},
		{A: "x", B: "y", Profile: p, RTPriority: 100},
	} {
		if _, err := Open(cfg); err == nil {
			t.Errorf("Open(%+v) accepted", cfg)
		}
	}
}

func TestHtons(t *testing.T) {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], htons(unix.ETH_P_ALL))
	if b != [2]byte{0x00, 0x03} {
		t.Fatalf("htons(ETH_P_ALL) lies in memory as % x, want 00 03", b)
	}
}
