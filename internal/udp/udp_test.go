//go:build linux

package udp

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/arcadexr/arcade/internal/testnet"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// listen opens a Conn on 127.0.0.1 with an ephemeral port, closed at the end
// of the test.
func listen(tb testing.TB, cfg Config) *Conn {
	tb.Helper()
	if !cfg.Listen.IsValid() {
		cfg.Listen = netip.AddrPortFrom(loopback, 0)
	}
	c, err := Listen(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// fill writes a recognizable payload of size bytes for datagram i.
func fill(buf []byte, i, size int) {
	for j := range size {
		buf[j] = byte(i*31 + j)
	}
}

// readN reads until want datagrams have arrived in rb, which must have room
// for them, and returns how many arrived.
func readN(tb testing.TB, c *Conn, rb *Batch, want int) int {
	tb.Helper()
	got := 0
	for got < want {
		ok, err := c.WaitReadable(5 * time.Second)
		if err != nil {
			tb.Fatal(err)
		}
		if !ok {
			tb.Fatalf("timed out after %d of %d datagrams", got, want)
		}
		view := Batch{Msgs: rb.Msgs[got:], hdrs: rb.hdrs[got:], iovs: rb.iovs[got:], names: rb.names[got:], ctrl: rb.ctrl[got*ctrlSize:]}
		n, err := c.ReadBatch(&view)
		if err != nil {
			tb.Fatal(err)
		}
		got += n
	}
	return got
}

func TestMmsghdrLayout(t *testing.T) {
	// struct mmsghdr on 64-bit Linux: 56-byte msghdr, u32 msg_len, padding.
	if got := unsafe.Sizeof(mmsghdr{}); got != 64 {
		t.Errorf("sizeof(mmsghdr) = %d, want 64", got)
	}
	if got := unsafe.Offsetof(mmsghdr{}.Len); got != 56 {
		t.Errorf("offsetof(mmsghdr.Len) = %d, want 56", got)
	}
}

func TestConfigValidate(t *testing.T) {
	good := []Config{
		{},
		{Listen: netip.MustParseAddrPort("0.0.0.0:7777")},
		{Listen: netip.MustParseAddrPort("127.0.0.1:0"), DSCP: -1},
		{DSCP: 63, RecvBuffer: 1 << 20, SendBuffer: 1, MulticastIface: "lo", MulticastTTL: 255},
	}
	for _, c := range good {
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", c, err)
		}
	}
	bad := []struct {
		cfg  Config
		want string
	}{
		{Config{Listen: netip.MustParseAddrPort("[::1]:7777")}, "udp: Listen: ::1 is not an IPv4 address"},
		{Config{Listen: netip.MustParseAddrPort("[::ffff:127.0.0.1]:1")}, "udp: Listen: ::ffff:127.0.0.1 is not an IPv4 address"},
		{Config{Listen: netip.AddrPortFrom(netip.Addr{}, 7777)}, "udp: Listen: "},
		{Config{DSCP: 99}, "udp: DSCP 99 out of range 0..63"},
		{Config{DSCP: -2}, "udp: DSCP -2 out of range 0..63"},
		{Config{RecvBuffer: -1}, "udp: RecvBuffer -1 out of range"},
		{Config{SendBuffer: 1 << 31}, "udp: SendBuffer 2147483648 out of range"},
		{Config{MulticastTTL: 256}, "udp: MulticastTTL 256 out of range"},
		{Config{MulticastTTL: -1}, "udp: MulticastTTL -1 out of range"},
		{Config{MulticastIface: strings.Repeat("x", 16)}, "udp: MulticastIface"},
	}
	for _, tc := range bad {
		err := tc.cfg.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want prefix %q", tc.cfg, err, tc.want)
		}
		if _, lerr := Listen(tc.cfg); lerr == nil {
			t.Errorf("Listen(%+v) succeeded with an invalid config", tc.cfg)
		}
	}
}

func TestListen(t *testing.T) {
	c := listen(t, Config{})
	la := c.LocalAddr()
	if la.Addr() != loopback || la.Port() == 0 {
		t.Fatalf("LocalAddr = %s, want 127.0.0.1 and an ephemeral port", la)
	}
	if c.Fd() < 0 {
		t.Fatalf("Fd = %d", c.Fd())
	}
	tos, err := unix.GetsockoptInt(c.Fd(), unix.IPPROTO_IP, unix.IP_TOS)
	if err != nil || tos != DefaultDSCP<<2 {
		t.Errorf("IP_TOS = %#x, %v; want %#x", tos, err, DefaultDSCP<<2)
	}
	if err := c.SetDSCP(10); err != nil {
		t.Fatal(err)
	}
	if tos, _ := unix.GetsockoptInt(c.Fd(), unix.IPPROTO_IP, unix.IP_TOS); tos != 10<<2 {
		t.Errorf("IP_TOS after SetDSCP(10) = %#x, want %#x", tos, 10<<2)
	}
	if err := c.SetDSCP(64); err == nil {
		t.Errorf("SetDSCP(64) succeeded")
	}
	rcv, snd, err := c.Buffers()
	if err != nil || rcv <= 0 || snd <= 0 {
		t.Errorf("Buffers = %d, %d, %v", rcv, snd, err)
	}
	t.Logf("buffers: recv %d, send %d (kernel-doubled)", rcv, snd)

	unmarked := listen(t, Config{DSCP: -1})
	if tos, _ := unix.GetsockoptInt(unmarked.Fd(), unix.IPPROTO_IP, unix.IP_TOS); tos != 0 {
		t.Errorf("IP_TOS with DSCP -1 = %#x, want 0", tos)
	}
}

func TestListenErrors(t *testing.T) {
	c := listen(t, Config{})
	_, err := Listen(Config{Listen: c.LocalAddr()})
	if !errors.Is(err, unix.EADDRINUSE) {
		t.Fatalf("second bind: %v, want EADDRINUSE", err)
	}
	if want := fmt.Sprintf("udp: bind %s: address already in use", c.LocalAddr()); err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}

	_, err = Listen(Config{MulticastIface: "nosuchif0"})
	if err == nil || !strings.Contains(err.Error(), `"nosuchif0"`) {
		t.Errorf("Listen with unknown MulticastIface: %v, want an error naming the interface", err)
	}
}

func TestClose(t *testing.T) {
	c, err := Listen(Config{Listen: netip.AddrPortFrom(loopback, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close = %v, want net.ErrClosed", err)
	}
}

func TestInterfaceIPv4(t *testing.T) {
	a, err := InterfaceIPv4("lo")
	if err != nil {
		t.Fatal(err)
	}
	if a != loopback {
		t.Errorf(`InterfaceIPv4("lo") = %s, want 127.0.0.1`, a)
	}
	if _, err := InterfaceIPv4("nosuchif0"); err == nil || !strings.Contains(err.Error(), `"nosuchif0"`) {
		t.Errorf("InterfaceIPv4(unknown) = %v, want an error naming the interface", err)
	}
}

func TestBatchRoundTrip(t *testing.T) {
	const n = 64
	sender := listen(t, Config{})
	receiver := listen(t, Config{Timestamps: true})

	wb := NewBatch(n, 1500)
	sizes := make([]int, n)
	for i := range n {
		sizes[i] = (i*97)%1500 + 1
		if i == 0 {
			sizes[i] = 0 // empty datagrams are valid
		}
		m := &wb.Msgs[i]
		fill(m.Buf, i, sizes[i])
		m.N = sizes[i]
		m.Addr = receiver.LocalAddr()
	}
	before := time.Now().UnixNano()
	sent, err := sender.WriteBatch(wb, n)
	if err != nil || sent != n {
		t.Fatalf("WriteBatch = %d, %v; want %d, nil", sent, err, n)
	}

	rb := NewBatch(n, 2048)
	readN(t, receiver, rb, n)
	after := time.Now().UnixNano()
	want := make([]byte, 1500)
	for i := range n {
		m := &rb.Msgs[i]
		fill(want, i, sizes[i])
		if !bytes.Equal(m.Payload(), want[:sizes[i]]) {
			t.Errorf("datagram %d: payload of %d bytes differs from the %d sent", i, m.N, sizes[i])
		}
		if m.Addr != sender.LocalAddr() {
			t.Errorf("datagram %d: Addr = %s, want %s", i, m.Addr, sender.LocalAddr())
		}
		if m.Truncated {
			t.Errorf("datagram %d: Truncated", i)
		}
		// The kernel's receive time, on the wall clock: after the send
		// began, before the read returned.
		if m.RxTime < before || m.RxTime > after {
			t.Errorf("datagram %d: RxTime %d not between the send at %d and the read at %d", i, m.RxTime, before, after)
		}
	}
}

func TestNoTimestamps(t *testing.T) {
	sender := listen(t, Config{})
	receiver := listen(t, Config{})
	wb := NewBatch(1, 16)
	wb.Msgs[0].N = 3
	wb.Msgs[0].Addr = receiver.LocalAddr()
	if _, err := sender.WriteBatch(wb, 1); err != nil {
		t.Fatal(err)
	}
	rb := NewBatch(4, 16)
	readN(t, receiver, rb, 1)
	if rb.Msgs[0].RxTime != 0 || rb.Msgs[0].N != 3 {
		t.Fatalf("got N %d RxTime %d, want 3 and 0", rb.Msgs[0].N, rb.Msgs[0].RxTime)
	}
}

func TestTruncated(t *testing.T) {
	sender := listen(t, Config{})
	receiver := listen(t, Config{})
	wb := NewBatch(2, 2000)
	wb.Msgs[0].N = 2000
	wb.Msgs[1].N = 100
	for i := range wb.Msgs {
		fill(wb.Msgs[i].Buf, i, wb.Msgs[i].N)
		wb.Msgs[i].Addr = receiver.LocalAddr()
	}
	if sent, err := sender.WriteBatch(wb, 2); err != nil || sent != 2 {
		t.Fatalf("WriteBatch = %d, %v", sent, err)
	}
	rb := NewBatch(2, 512)
	readN(t, receiver, rb, 2)
	if m := rb.Msgs[0]; !m.Truncated || m.N != 512 {
		t.Errorf("oversized datagram: Truncated %v N %d, want true and 512", m.Truncated, m.N)
	}
	if m := rb.Msgs[1]; m.Truncated || m.N != 100 || !bytes.Equal(m.Payload(), wb.Msgs[1].Payload()) {
		t.Errorf("following datagram: Truncated %v N %d, want false and 100 with the sent bytes", m.Truncated, m.N)
	}
}

func TestReadEmpty(t *testing.T) {
	c := listen(t, Config{})
	b := NewBatch(8, 64)
	n, err := c.ReadBatch(b)
	if n != 0 || err != nil {
		t.Fatalf("ReadBatch on an empty socket = %d, %v; want 0, nil", n, err)
	}
}

func TestWriteBatchInvalid(t *testing.T) {
	c := listen(t, Config{})
	b := NewBatch(2, 64)
	b.Msgs[0].Addr = c.LocalAddr()
	b.Msgs[1].Addr = netip.MustParseAddrPort("[::1]:9")
	if n, err := c.WriteBatch(b, 2); err == nil || n != 0 {
		t.Errorf("WriteBatch to an IPv6 address = %d, %v; want 0 and an error", n, err)
	}
	b.Msgs[1].Addr = c.LocalAddr()
	b.Msgs[1].N = 65
	if n, err := c.WriteBatch(b, 2); err == nil || n != 0 {
		t.Errorf("WriteBatch with N > cap(Buf) = %d, %v; want 0 and an error", n, err)
	}
	if _, err := c.WriteBatch(b, 3); err == nil {
		t.Errorf("WriteBatch past the batch succeeded")
	}
	b.Msgs[1].N = 1
	if n, err := c.WriteBatchRange(b, 1, 2); err != nil || n != 1 {
		t.Errorf("WriteBatchRange(1, 2) = %d, %v; want 1, nil", n, err)
	}
	if n, err := c.WriteBatch(b, 0); err != nil || n != 0 {
		t.Errorf("WriteBatch(0) = %d, %v; want 0, nil", n, err)
	}
}

func TestAllocs(t *testing.T) {
	const n = 8
	sender := listen(t, Config{})
	receiver := listen(t, Config{Timestamps: true})
	wb := NewBatch(n, 256)
	for i := range wb.Msgs {
		wb.Msgs[i].N = 100 + i
		wb.Msgs[i].Addr = receiver.LocalAddr()
	}
	rb := NewBatch(n, 256)
	fds := []unix.PollFd{{Fd: int32(receiver.Fd()), Events: unix.POLLIN}}
	var failed error
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := sender.WriteBatch(wb, n); err != nil {
			failed = err
			return
		}
		for got := 0; got < n; {
			unix.Poll(fds, 1000)
			k, err := receiver.ReadBatch(rb)
			if err != nil {
				failed = err
				return
			}
			got += k
		}
	})
	if failed != nil {
		t.Fatal(failed)
	}
	if allocs != 0 {
		t.Fatalf("WriteBatch+ReadBatch allocate %v times per round trip", allocs)
	}
	if rb.Msgs[0].RxTime == 0 {
		t.Fatalf("no timestamp received")
	}
}

func TestSockaddr(t *testing.T) {
	var sa unix.RawSockaddrInet4
	ap := netip.MustParseAddrPort("10.1.2.3:7777")
	putSockaddr(&sa, ap.Addr().As4(), ap.Port())
	if b := (*[4]byte)(unsafe.Pointer(&sa))[:]; !bytes.Equal(b, []byte{unix.AF_INET, 0, 0x1e, 0x61}) {
		t.Errorf("sockaddr_in prefix % x, want family then port 7777 big-endian", b)
	}
	if got := addrPortFrom(&sa, sizeofSockaddrInet4); got != ap {
		t.Errorf("round trip = %s, want %s", got, ap)
	}
	if got := addrPortFrom(&sa, 4); got.IsValid() {
		t.Errorf("short name gave %s", got)
	}
	sa.Family = unix.AF_INET6
	if got := addrPortFrom(&sa, sizeofSockaddrInet4); got.IsValid() {
		t.Errorf("AF_INET6 family gave %s", got)
	}
}

func TestRxTimeParse(t *testing.T) {
	cmsg := func(level, typ int32, data []byte) []byte {
		h := make([]byte, cmsgAlign(uint64(sizeofCmsghdr+len(data))))
		putU64(h[0:], uint64(sizeofCmsghdr+len(data)))
		putU32(h[8:], uint32(level))
		putU32(h[12:], uint32(typ))
		copy(h[sizeofCmsghdr:], data)
		return h
	}
	ts := make([]byte, 16)
	putU64(ts[0:], 1_700_000_000)
	putU64(ts[8:], 123_456_789)
	const want = 1_700_000_000_123_456_789

	other := cmsg(unix.IPPROTO_IP, unix.IP_TTL, []byte{64, 0, 0, 0})
	tsMsg := cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, ts)
	tests := []struct {
		name string
		ctrl []byte
		want int64
	}{
		{"empty", nil, 0},
		{"timestamp", tsMsg, want},
		{"after another", append(append([]byte{}, other...), tsMsg...), want},
		{"short header", tsMsg[:10], 0},
		{"cut data", tsMsg[:20], 0},
		{"other only", other, 0},
		{"zero length", make([]byte, 32), 0},
	}
	for _, tc := range tests {
		if got := rxTime(tc.ctrl); got != tc.want {
			t.Errorf("%s: rxTime = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func putU64(b []byte, v uint64) { *(*uint64)(unsafe.Pointer(&b[0])) = v }
func putU32(b []byte, v uint32) { *(*uint32)(unsafe.Pointer(&b[0])) = v }

func TestMulticastLoopback(t *testing.T) {
	// A group and a port of this run's own: the port was free on every
	// address (a port picked with address reuse on may be one another
	// run's receivers share), and the payload names this run.
	group := testnet.GroupAddr()
	port := testnet.UDPPort(t)
	r1, err := Listen(Config{Listen: netip.AddrPortFrom(netip.IPv4Unspecified(), port), ReuseAddr: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r1.Close() })
	r2, err := Listen(Config{Listen: netip.AddrPortFrom(netip.IPv4Unspecified(), port), ReuseAddr: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r2.Close() })
	for _, r := range []*Conn{r1, r2} {
		if err := r.JoinGroup(group, "lo"); err != nil {
			t.Skipf("multicast on lo unavailable here: %v", err)
		}
	}
	sender, err := Listen(Config{Listen: netip.AddrPortFrom(loopback, 0), MulticastIface: "lo"})
	if err != nil {
		t.Skipf("multicast sending on lo unavailable here: %v", err)
	}
	t.Cleanup(func() { sender.Close() })

	wb := NewBatch(1, 64)
	msg := fmt.Appendf(nil, "hello, group %v from %d", group, os.Getpid())
	wb.Msgs[0].N = copy(wb.Msgs[0].Buf, msg)
	wb.Msgs[0].Addr = netip.AddrPortFrom(group, port)
	if n, err := sender.WriteBatch(wb, 1); err != nil || n != 1 {
		t.Fatalf("send to %s = %d, %v", wb.Msgs[0].Addr, n, err)
	}
	for i, r := range []*Conn{r1, r2} {
		// Skip what another process sent to this port, if any.
		rb := NewBatch(1, 64)
		for {
			readN(t, r, rb, 1)
			m := rb.Msgs[0]
			if bytes.Equal(m.Payload(), msg) && m.Addr == sender.LocalAddr() {
				break
			}
			t.Logf("receiver %d: skipped %q from %s", i+1, m.Payload(), m.Addr)
		}
	}

	if err := r1.JoinGroup(netip.MustParseAddr("10.0.0.1"), "lo"); err == nil {
		t.Errorf("JoinGroup with a unicast address succeeded")
	}
	if err := r1.LeaveGroup(group, "lo"); err != nil {
		t.Errorf("LeaveGroup: %v", err)
	}
}

func BenchmarkReadWriteBatch(b *testing.B) {
	for _, n := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			sender := listen(b, Config{})
			receiver := listen(b, Config{Timestamps: true})
			wb := NewBatch(n, 1500)
			for i := range wb.Msgs {
				wb.Msgs[i].N = 200
				wb.Msgs[i].Addr = receiver.LocalAddr()
			}
			rb := NewBatch(n, 1500)
			fds := []unix.PollFd{{Fd: int32(receiver.Fd()), Events: unix.POLLIN}}
			b.ReportAllocs()
			b.SetBytes(int64(n * 200))
			for b.Loop() {
				if _, err := sender.WriteBatch(wb, n); err != nil {
					b.Fatal(err)
				}
				for got := 0; got < n; {
					k, err := receiver.ReadBatch(rb)
					if err != nil {
						b.Fatal(err)
					}
					if k == 0 {
						unix.Poll(fds, 1000)
					}
					got += k
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/datagram")
		})
	}
}

// One socket bound to 0.0.0.0 sends from several loopback addresses of its
// own choosing (Message.Src), in one batch, and a datagram sent without Src
// leaves from the address the kernel picks, as before.
func TestWriteBatchSrc(t *testing.T) {
	rx := listen(t, Config{})
	tx := listen(t, Config{Listen: netip.AddrPortFrom(netip.IPv4Unspecified(), 0)})
	srcs := []netip.Addr{netip.MustParseAddr("127.64.0.9"), netip.MustParseAddr("127.64.1.250"), {}}
	wb := NewBatch(len(srcs), 64)
	for i, a := range srcs {
		m := &wb.Msgs[i]
		fill(m.Buf, i, 8)
		m.N, m.Addr, m.Src = 8, rx.LocalAddr(), a
	}
	if n, err := tx.WriteBatch(wb, len(srcs)); n != len(srcs) || err != nil {
		t.Fatalf("WriteBatch: %d, %v", n, err)
	}
	rb := NewBatch(len(srcs), 64)
	readN(t, rx, rb, len(srcs))
	for i, a := range srcs {
		got := rb.Msgs[i].Addr
		if !a.IsValid() {
			a = loopback
		}
		if got.Addr() != a || got.Port() != tx.LocalAddr().Port() {
			t.Errorf("datagram %d came from %v, want %v:%d", i, got, a, tx.LocalAddr().Port())
		}
	}
}
