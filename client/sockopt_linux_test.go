//go:build linux

package client

import (
	"net"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cmsg builds one control message the way the kernel lays it out, from the
// x/sys/unix struct definitions rather than from the parser's arithmetic.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func timespecBytes(sec, nsec int64) []byte {
	ts := unix.NsecToTimespec(sec*1e9 + nsec)
	return unsafe.Slice((*byte)(unsafe.Pointer(&ts)), unsafe.Sizeof(ts))
}

func TestRxTimestamp(t *testing.T) {
	const sec, nsec = 1_700_000_123, 456_789_012
	want := int64(sec*1e9 + nsec)
	ts := cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, timespecBytes(sec, nsec))
	tos := cmsg(unix.IPPROTO_IP, unix.IP_TOS, []byte{0x10}) // padded to the word
	tests := []struct {
		name string
		oob  []byte
		want int64
	}{
		{"alone", ts, want},
		{"after another message", append(append([]byte(nil), tos...), ts...), want},
		{"in a larger buffer", append(append([]byte(nil), ts...), make([]byte, 32)...), want},
		{"none", nil, 0},
		{"other message only", tos, 0},
		{"truncated", ts[:len(ts)-4], 0},
		{"header only", ts[:unix.SizeofCmsghdr], 0},
		{"length past the end", func() []byte {
			b := append([]byte(nil), ts...)
			(*unix.Cmsghdr)(unsafe.Pointer(&b[0])).SetLen(1000)
			return b
		}(), 0},
		{"zero length", make([]byte, 64), 0},
	}
	for _, tt := range tests {
		if got := rxTimestamp(tt.oob); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { rxTimestamp(ts) }); n != 0 {
		t.Errorf("rxTimestamp allocates %v", n)
	}
	if len(ts) > oobSize {
		t.Errorf("oobSize %d smaller than one timestamp message (%d)", oobSize, len(ts))
	}
}

// TestSocketPathAllocs checks that the system calls the runtime makes per
// datagram (WriteToUDPAddrPort, ReadMsgUDPAddrPort with a timestamp) and
// the timestamp parse do not allocate.
func TestSocketPathAllocs(t *testing.T) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	if err := rawControl(rx, enableTimestamps); err != nil {
		t.Fatal(err)
	}
	tx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	to := rx.LocalAddr().(*net.UDPAddr).AddrPort()
	msg := make([]byte, 300)
	var buf [1201]byte
	var oob [oobSize]byte
	var stamps int
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := tx.WriteToUDPAddrPort(msg, to); err != nil {
			t.Fatal(err)
		}
		_, oobn, _, _, err := rx.ReadMsgUDPAddrPort(buf[:], oob[:])
		if err != nil {
			t.Fatal(err)
		}
		if rxTimestamp(oob[:oobn]) != 0 {
			stamps++
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocs per datagram sent and received", allocs)
	}
	if stamps != 201 {
		t.Errorf("%d of 201 datagrams carried a kernel timestamp", stamps)
	}
}
