//go:build linux

package udp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr from <sys/socket.h> on 64-bit Linux: a msghdr
// followed by the byte count the kernel filled in for it, padded to 8 bytes.
type mmsghdr struct {
	Hdr unix.Msghdr
	Len uint32
	_   [4]byte
}

const (
	sizeofSockaddrInet4 = unix.SizeofSockaddrInet4
	sizeofCmsghdr       = unix.SizeofCmsghdr
	sizeofTimespec      = 16 // struct timespec on 64-bit Linux

	// ctrlSize is the control buffer per message: room for one
	// SCM_TIMESTAMPNS message, doubled so an unexpected extra control
	// message does not truncate it.
	ctrlSize = 2 * (sizeofCmsghdr + sizeofTimespec)
)

// Message is one datagram in a Batch.
type Message struct {
	// Buf is the datagram buffer, allocated by NewBatch and owned by the
	// Batch. ReadBatch receives into Buf[:cap(Buf)]; WriteBatch sends Buf[:N].
	Buf []byte
	// N is the number of bytes received into Buf, or the number to send.
	N int
	// Addr is the source address after ReadBatch and the destination for
	// WriteBatch.
	Addr netip.AddrPort
	// Src, if valid, is the local IPv4 address WriteBatch sends this
	// datagram from (an IP_PKTINFO control message, ipi_spec_dst): one
	// socket bound to 0.0.0.0 can then speak for many local addresses,
	// such as a load generator's simulated headsets each on an address
	// of 127.0.0.0/8 of its own. The zero Addr: the socket's own. ReadBatch
	// does not set it.
	Src netip.Addr
	// RxTime is the kernel receive time of the datagram in nanoseconds since
	// the Unix epoch (CLOCK_REALTIME), or 0 when Config.Timestamps is off or
	// the kernel did not report it.
	RxTime int64
	// Truncated reports that the datagram was larger than Buf and was cut
	// to N = cap(Buf) bytes (MSG_TRUNC). Such datagrams should be dropped.
	Truncated bool
}

// Payload returns Buf[:N].
func (m *Message) Payload() []byte { return m.Buf[:m.N] }

// Batch is a fixed set of Messages together with the kernel structures
// (mmsghdr, iovec, sockaddr_in, control buffers) that recvmmsg and sendmmsg
// need. All of its memory is allocated by NewBatch; ReadBatch and WriteBatch
// do not allocate. A Batch must be used by one goroutine at a time.
type Batch struct {
	Msgs []Message

	hdrs  []mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet4
	ctrl  []byte
}

// NewBatch returns a Batch of n messages, each with a bufSize-byte buffer.
// It panics if n < 1 or bufSize < 1.
func NewBatch(n, bufSize int) *Batch {
	if n < 1 || bufSize < 1 {
		panic(fmt.Sprintf("udp: NewBatch(%d, %d): need at least one message and one byte", n, bufSize))
	}
	b := &Batch{
		Msgs:  make([]Message, n),
		hdrs:  make([]mmsghdr, n),
		iovs:  make([]unix.Iovec, n),
		names: make([]unix.RawSockaddrInet4, n),
		ctrl:  make([]byte, n*ctrlSize),
	}
	bufs := make([]byte, n*bufSize)
	for i := range n {
		b.Msgs[i].Buf = bufs[i*bufSize : (i+1)*bufSize : (i+1)*bufSize]
		h := &b.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Iov = &b.iovs[i]
		h.Iovlen = 1
	}
	return b
}

// ReadBatch receives as many queued datagrams as fit into b.Msgs with one
// recvmmsg(MSG_DONTWAIT) call and returns how many it received; for each it
// fills N, Addr, RxTime and Truncated. It returns (0, nil) when no datagram is
// queued. It never blocks and does not allocate.
//
// The calls of ReadBatch and WriteBatch never block (MSG_DONTWAIT), so they
// are made as raw system calls: the calling goroutine keeps its P through
// them. Through an ordinary one the runtime's monitor may hand the P to
// other work once the call has lasted 20 µs (a sendmmsg that loopback
// turns into the delivery of every multicast copy lasts longer), and the
// tick thread, back from the kernel, then waits for a P: up to 4 ms in a
// trace of 2000 headsets on two CPUs.
func (c *Conn) ReadBatch(b *Batch) (int, error) {
	n := min(len(b.Msgs), len(b.hdrs))
	if n == 0 {
		return 0, nil
	}
	for i := range n {
		m := &b.Msgs[i]
		h := &b.hdrs[i]
		b.iovs[i].Base = unsafe.SliceData(m.Buf)
		b.iovs[i].SetLen(cap(m.Buf))
		h.Hdr.Namelen = sizeofSockaddrInet4
		h.Hdr.Control = &b.ctrl[i*ctrlSize]
		h.Hdr.SetControllen(ctrlSize)
		h.Hdr.Flags = 0
		h.Len = 0
	}
	var r uintptr
	for {
		var errno unix.Errno
		r, _, errno = unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(c.fd),
			uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(n), unix.MSG_DONTWAIT, 0, 0)
		if errno == 0 {
			break
		}
		switch errno {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, nil
		}
		return 0, fmt.Errorf("udp: recvmmsg: %w", errno)
	}
	got := int(r)
	for i := range got {
		m := &b.Msgs[i]
		h := &b.hdrs[i]
		m.N = min(int(h.Len), cap(m.Buf))
		m.Truncated = h.Hdr.Flags&unix.MSG_TRUNC != 0
		m.Addr = addrPortFrom(&b.names[i], h.Hdr.Namelen)
		m.RxTime = rxTime(b.ctrl[i*ctrlSize:][:min(h.Hdr.Controllen, ctrlSize):ctrlSize])
	}
	return got, nil
}

// WriteBatch sends b.Msgs[:n], each Buf[:N] to Addr, with sendmmsg
// (MSG_DONTWAIT), repeating the call until all are sent. It returns the
// number sent. When the send buffer is full it returns the number sent so
// far and ErrWouldBlock; it never blocks and does not allocate.
//
// On any other error, b.Msgs[sent] is the datagram the kernel refused (for
// example EMSGSIZE or ENETUNREACH); WriteBatchRange can continue after it.
func (c *Conn) WriteBatch(b *Batch, n int) (int, error) {
	return c.WriteBatchRange(b, 0, n)
}

// WriteBatchRange is WriteBatch for b.Msgs[from:to]. It returns the number
// of datagrams sent, counted from b.Msgs[from]; an error concerns
// b.Msgs[from+sent] and is the kernel's unix.Errno, unwrapped, so that a
// destination refused on every call costs no allocation.
func (c *Conn) WriteBatchRange(b *Batch, from, to int) (int, error) {
	if from < 0 || to > min(len(b.Msgs), len(b.hdrs)) || from > to {
		return 0, fmt.Errorf("udp: WriteBatch: range [%d:%d] outside batch of %d", from, to, len(b.Msgs))
	}
	for i := from; i < to; i++ {
		m := &b.Msgs[i]
		h := &b.hdrs[i]
		if m.N < 0 || m.N > cap(m.Buf) {
			return 0, fmt.Errorf("udp: WriteBatch: message %d: N %d outside buffer of %d bytes", i, m.N, cap(m.Buf))
		}
		a := m.Addr.Addr()
		if !a.Is4() {
			return 0, fmt.Errorf("udp: WriteBatch: message %d: destination %s is not IPv4", i, m.Addr)
		}
		b.iovs[i].Base = unsafe.SliceData(m.Buf)
		b.iovs[i].SetLen(m.N)
		putSockaddr(&b.names[i], a.As4(), m.Addr.Port())
		h.Hdr.Namelen = sizeofSockaddrInet4
		h.Hdr.Control = nil
		h.Hdr.Controllen = 0
		if m.Src.Is4() {
			c := b.ctrl[i*ctrlSize:][:pktinfoSpace]
			putPktinfo(c, m.Src.As4())
			h.Hdr.Control = &c[0]
			h.Hdr.SetControllen(pktinfoSpace)
		}
		h.Hdr.Flags = 0
		h.Len = 0
	}
	sent := from
	for sent < to {
		r, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(c.fd),
			uintptr(unsafe.Pointer(&b.hdrs[sent])), uintptr(to-sent), unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			if r == 0 {
				// Not expected for a non-empty vector; report it rather
				// than spin.
				return sent - from, ErrWouldBlock
			}
			sent += int(r)
			continue
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return sent - from, ErrWouldBlock
		}
		// The bare errno: boxing a small Errno does not allocate, and a
		// refused destination may repeat every tick.
		return sent - from, errno
	}
	return sent - from, nil
}

// pktinfoSpace is CMSG_SPACE(sizeof(struct in_pktinfo)): a cmsghdr and
// the 12-byte in_pktinfo, aligned.
const pktinfoSpace = sizeofCmsghdr + (unix.SizeofInet4Pktinfo+7)&^7

// putPktinfo writes into c an IP_PKTINFO control message whose
// ipi_spec_dst is src: the datagram's source address.
func putPktinfo(c []byte, src [4]byte) {
	clear(c[:pktinfoSpace])
	binary.NativeEndian.PutUint64(c[0:8], uint64(sizeofCmsghdr+unix.SizeofInet4Pktinfo))
	binary.NativeEndian.PutUint32(c[8:12], uint32(unix.IPPROTO_IP))
	binary.NativeEndian.PutUint32(c[12:16], uint32(unix.IP_PKTINFO))
	// struct in_pktinfo: int ipi_ifindex, in_addr ipi_spec_dst, in_addr ipi_addr.
	copy(c[sizeofCmsghdr+4:sizeofCmsghdr+8], src[:])
}

// putSockaddr fills sa as an AF_INET address; the port is stored in network
// byte order.
func putSockaddr(sa *unix.RawSockaddrInet4, ip [4]byte, port uint16) {
	sa.Family = unix.AF_INET
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	binary.BigEndian.PutUint16(p[:], port)
	sa.Addr = ip
	sa.Zero = [8]uint8{}
}

// addrPortFrom converts a kernel-filled sockaddr_in to an AddrPort. It
// returns the zero AddrPort if the name is not an IPv4 address.
func addrPortFrom(sa *unix.RawSockaddrInet4, namelen uint32) netip.AddrPort {
	if namelen < sizeofSockaddrInet4 || sa.Family != unix.AF_INET {
		return netip.AddrPort{}
	}
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), binary.BigEndian.Uint16(p[:]))
}

// rxTime returns the SCM_TIMESTAMPNS time in ctrl, in nanoseconds since the
// Unix epoch, or 0 if there is none. The control messages are walked by
// hand because unix.ParseSocketControlMessage allocates.
func rxTime(ctrl []byte) int64 {
	for len(ctrl) >= sizeofCmsghdr {
		// struct cmsghdr on 64-bit Linux: u64 len, i32 level, i32 type.
		clen := binary.NativeEndian.Uint64(ctrl[0:8])
		level := int32(binary.NativeEndian.Uint32(ctrl[8:12]))
		typ := int32(binary.NativeEndian.Uint32(ctrl[12:16]))
		if clen < sizeofCmsghdr || clen > uint64(len(ctrl)) {
			return 0
		}
		if level == unix.SOL_SOCKET && typ == unix.SCM_TIMESTAMPNS && clen >= sizeofCmsghdr+sizeofTimespec {
			sec := int64(binary.NativeEndian.Uint64(ctrl[sizeofCmsghdr:]))
			nsec := int64(binary.NativeEndian.Uint64(ctrl[sizeofCmsghdr+8:]))
			return sec*1e9 + nsec
		}
		next := cmsgAlign(clen)
		if next >= uint64(len(ctrl)) {
			return 0
		}
		ctrl = ctrl[next:]
	}
	return 0
}

// CtrlSize is room for the control messages of one datagram read with
// SO_TIMESTAMPNS on (EnableTimestamps), for ReadMsgUDP's oob.
const CtrlSize = ctrlSize

// RxTime is rxTime for a socket read one datagram at a time: the kernel's
// receive time in the oob of a ReadMsgUDP, in ns since the Unix epoch, or
// 0 if there is none.
func RxTime(oob []byte) int64 { return rxTime(oob) }

// EnableTimestamps asks the kernel to stamp every datagram c receives with
// its arrival time (SO_TIMESTAMPNS, CLOCK_REALTIME).
func EnableTimestamps(c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return err
	}
	return serr
}

// cmsgAlign rounds n up to the alignment of control messages (CMSG_ALIGN).
func cmsgAlign(n uint64) uint64 {
	const align = uint64(unsafe.Sizeof(uintptr(0)))
	return (n + align - 1) &^ (align - 1)
}
