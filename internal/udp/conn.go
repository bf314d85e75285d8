//go:build linux

// Package udp provides non-blocking IPv4 UDP sockets with allocation-free batched I/O (recvmmsg/sendmmsg).
package udp

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Defaults applied by Listen to zero Config fields.
const (
	DefaultBuffer       = 4 << 20 // bytes, for RecvBuffer and SendBuffer
	DefaultDSCP         = 46      // Expedited Forwarding
	DefaultMulticastTTL = 1       // stay on the local network

	// maxBuffer bounds RecvBuffer and SendBuffer; the kernel doubles the
	// value, which must still fit in an int32.
	maxBuffer = 1 << 30
	// maxIfaceName is IFNAMSIZ without the terminating NUL.
	maxIfaceName = unix.IFNAMSIZ - 1
)

// Config describes a socket opened by Listen. Zero fields mean the documented
// default; Validate reports invalid values, naming the field.
type Config struct {
	// Listen is the local IPv4 address and port to bind. The address may be
	// 0.0.0.0 (all interfaces) and port 0 picks an ephemeral port. The zero
	// AddrPort means 0.0.0.0:0.
	Listen netip.AddrPort

	// RecvBuffer is the socket receive buffer (SO_RCVBUF) in bytes.
	// 0 means DefaultBuffer (4 MiB). SO_RCVBUFFORCE is tried first, so a
	// privileged process gets the full size; otherwise the kernel caps it at
	// net.core.rmem_max.
	RecvBuffer int

	// SendBuffer is the socket send buffer (SO_SNDBUF), handled like
	// RecvBuffer. 0 means DefaultBuffer (4 MiB).
	SendBuffer int

	// DSCP is the Differentiated Services code point written to the IP_TOS
	// byte (DSCP<<2) of sent datagrams, 0..63. 0 means DefaultDSCP (46, EF);
	// -1 leaves datagrams unmarked (TOS 0, which is also DSCP 0, best
	// effort).
	DSCP int

	// Timestamps enables SO_TIMESTAMPNS, so ReadBatch reports the kernel
	// receive time of each datagram in Message.RxTime.
	Timestamps bool

	// MulticastIface, if set, names the interface that multicast datagrams
	// are sent from (IP_MULTICAST_IF with the interface's first IPv4 address
	// and index). It also sets IP_MULTICAST_TTL to MulticastTTL and enables
	// IP_MULTICAST_LOOP, so listeners on this host receive the datagrams too.
	MulticastIface string

	// MulticastTTL is the IP_MULTICAST_TTL of sent multicast datagrams,
	// 1..255; it is used only with MulticastIface. 0 means
	// DefaultMulticastTTL (1).
	MulticastTTL int

	// ReuseAddr sets SO_REUSEADDR and SO_REUSEPORT before binding, so several
	// sockets (for example multicast receivers) can bind the same port.
	ReuseAddr bool
}

// Validate reports the first invalid field of c, if any.
func (c Config) Validate() error {
	if c.Listen.IsValid() {
		if a := c.Listen.Addr(); !a.Is4() {
			return fmt.Errorf("udp: Listen: %s is not an IPv4 address", a)
		}
	} else if c.Listen != (netip.AddrPort{}) {
		return fmt.Errorf("udp: Listen: port %d without an address", c.Listen.Port())
	}
	if c.RecvBuffer < 0 || c.RecvBuffer > maxBuffer {
		return fmt.Errorf("udp: RecvBuffer %d out of range 0..%d", c.RecvBuffer, maxBuffer)
	}
	if c.SendBuffer < 0 || c.SendBuffer > maxBuffer {
		return fmt.Errorf("udp: SendBuffer %d out of range 0..%d", c.SendBuffer, maxBuffer)
	}
	if c.DSCP != -1 && (c.DSCP < 0 || c.DSCP > 63) {
		return fmt.Errorf("udp: DSCP %d out of range 0..63 (or -1 for unmarked)", c.DSCP)
	}
	if len(c.MulticastIface) > maxIfaceName {
		return fmt.Errorf("udp: MulticastIface %q longer than %d bytes", c.MulticastIface, maxIfaceName)
	}
	if c.MulticastTTL < 0 || c.MulticastTTL > 255 {
		return fmt.Errorf("udp: MulticastTTL %d out of range 0..255", c.MulticastTTL)
	}
	return nil
}

// Conn is a non-blocking IPv4 UDP socket. Its file descriptor belongs to the
// Conn; callers may register it with their own epoll set.
//
// ReadBatch and WriteBatch may be called from different goroutines, but each
// Batch must be used by one goroutine at a time. Close must not run
// concurrently with ReadBatch or WriteBatch: the descriptor number could be
// reused by another file in the meantime.
type Conn struct {
	fd     int
	local  netip.AddrPort
	closed atomic.Bool
}

// Listen opens and binds a socket as described by cfg.
func Listen(cfg Config) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	laddr := cfg.Listen
	if !laddr.IsValid() {
		laddr = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	}

	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("udp: socket: %w", err)
	}
	c := &Conn{fd: fd}
	if err := c.configure(cfg); err != nil {
		unix.Close(fd)
		return nil, err
	}
	sa := &unix.SockaddrInet4{Addr: laddr.Addr().As4(), Port: int(laddr.Port())}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("udp: bind %s: %w", laddr, err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("udp: getsockname: %w", err)
	}
	if sa4, ok := got.(*unix.SockaddrInet4); ok {
		c.local = netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), uint16(sa4.Port))
	}
	return c, nil
}

// configure applies the socket options of cfg before binding.
func (c *Conn) configure(cfg Config) error {
	if cfg.ReuseAddr {
		if err := unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return fmt.Errorf("udp: setsockopt SO_REUSEADDR: %w", err)
		}
		if err := unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return fmt.Errorf("udp: setsockopt SO_REUSEPORT: %w", err)
		}
	}
	rcv := cmp.Or(cfg.RecvBuffer, DefaultBuffer)
	if err := setBuffer(c.fd, unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, rcv); err != nil {
		return fmt.Errorf("udp: setsockopt SO_RCVBUF %d: %w", rcv, err)
	}
	snd := cmp.Or(cfg.SendBuffer, DefaultBuffer)
	if err := setBuffer(c.fd, unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, snd); err != nil {
		return fmt.Errorf("udp: setsockopt SO_SNDBUF %d: %w", snd, err)
	}
	if cfg.DSCP != -1 {
		if err := c.SetDSCP(cmp.Or(cfg.DSCP, DefaultDSCP)); err != nil {
			return err
		}
	}
	if cfg.Timestamps {
		if err := unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			return fmt.Errorf("udp: setsockopt SO_TIMESTAMPNS: %w", err)
		}
	}
	if cfg.MulticastIface != "" {
		ifi, addr, err := lookupIface(cfg.MulticastIface)
		if err != nil {
			return err
		}
		mreq := &unix.IPMreqn{Address: addr.As4(), Ifindex: int32(ifi.Index)}
		if err := unix.SetsockoptIPMreqn(c.fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, mreq); err != nil {
			return fmt.Errorf("udp: setsockopt IP_MULTICAST_IF %s (%s): %w", cfg.MulticastIface, addr, err)
		}
		ttl := cmp.Or(cfg.MulticastTTL, DefaultMulticastTTL)
		if err := unix.SetsockoptInt(c.fd, unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, ttl); err != nil {
			return fmt.Errorf("udp: setsockopt IP_MULTICAST_TTL %d: %w", ttl, err)
		}
		if err := unix.SetsockoptInt(c.fd, unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 1); err != nil {
			return fmt.Errorf("udp: setsockopt IP_MULTICAST_LOOP: %w", err)
		}
	}
	return nil
}

// setBuffer sets a socket buffer size with the privileged option force,
// falling back to the capped option plain when force is not permitted.
func setBuffer(fd, force, plain, size int) error {
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, force, size) == nil {
		return nil
	}
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, plain, size)
}

// Fd returns the socket's file descriptor. It stays owned by the Conn.
func (c *Conn) Fd() int { return c.fd }

// LocalAddr returns the bound address, with the port chosen by the kernel
// when Config.Listen had port 0.
func (c *Conn) LocalAddr() netip.AddrPort { return c.local }

// Buffers returns the receive and send buffer sizes in effect, as reported
// by the kernel (which doubles the requested value for bookkeeping).
func (c *Conn) Buffers() (recv, send int, err error) {
	if recv, err = unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUF); err != nil {
		return 0, 0, fmt.Errorf("udp: getsockopt SO_RCVBUF: %w", err)
	}
	if send, err = unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_SNDBUF); err != nil {
		return 0, 0, fmt.Errorf("udp: getsockopt SO_SNDBUF: %w", err)
	}
	return recv, send, nil
}

// Close closes the socket. Later calls return net.ErrClosed.
func (c *Conn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return net.ErrClosed
	}
	if err := unix.Close(c.fd); err != nil {
		return fmt.Errorf("udp: close: %w", err)
	}
	return nil
}

// SetDSCP marks datagrams sent from now on with the Differentiated Services
// code point dscp (0..63) by setting IP_TOS to dscp<<2.
func (c *Conn) SetDSCP(dscp int) error {
	if dscp < 0 || dscp > 63 {
		return fmt.Errorf("udp: DSCP %d out of range 0..63", dscp)
	}
	if err := unix.SetsockoptInt(c.fd, unix.IPPROTO_IP, unix.IP_TOS, dscp<<2); err != nil {
		return fmt.Errorf("udp: setsockopt IP_TOS %#x: %w", dscp<<2, err)
	}
	return nil
}

// JoinGroup subscribes the socket to the IPv4 multicast group on the named
// interface (IP_ADD_MEMBERSHIP). An empty iface lets the kernel choose the
// interface from the routing table. The socket receives the group's
// datagrams sent to its bound port; bind to 0.0.0.0 (or the group address)
// to accept them.
func (c *Conn) JoinGroup(group netip.Addr, iface string) error {
	return c.membership(unix.IP_ADD_MEMBERSHIP, "IP_ADD_MEMBERSHIP", group, iface)
}

// LeaveGroup undoes JoinGroup (IP_DROP_MEMBERSHIP).
func (c *Conn) LeaveGroup(group netip.Addr, iface string) error {
	return c.membership(unix.IP_DROP_MEMBERSHIP, "IP_DROP_MEMBERSHIP", group, iface)
}

func (c *Conn) membership(opt int, optName string, group netip.Addr, iface string) error {
	if !group.Is4() || !group.IsMulticast() {
		return fmt.Errorf("udp: %s: %s is not an IPv4 multicast group", optName, group)
	}
	mreq := &unix.IPMreqn{Multiaddr: group.As4()}
	if iface != "" {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return fmt.Errorf("udp: %s %s: interface %q: %w", optName, group, iface, err)
		}
		mreq.Ifindex = int32(ifi.Index)
	}
	if err := unix.SetsockoptIPMreqn(c.fd, unix.IPPROTO_IP, opt, mreq); err != nil {
		return fmt.Errorf("udp: %s %s on %q: %w", optName, group, iface, err)
	}
	return nil
}

// WaitReadable blocks until the socket has a datagram queued or timeout has
// passed, and reports which. A negative timeout waits indefinitely. It is
// meant for simple clients and tests; servers put Fd in their own epoll set.
func (c *Conn) WaitReadable(timeout time.Duration) (bool, error) {
	ms := -1
	if timeout >= 0 {
		ms = int((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	fds := [1]unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds[:], ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("udp: poll: %w", err)
		}
		return n > 0, nil
	}
}

// InterfaceIPv4 returns the first IPv4 address of the named interface.
func InterfaceIPv4(name string) (netip.Addr, error) {
	_, addr, err := lookupIface(name)
	return addr, err
}

func lookupIface(name string) (*net.Interface, netip.Addr, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, netip.Addr{}, fmt.Errorf("udp: interface %q: %w", name, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, netip.Addr{}, fmt.Errorf("udp: interface %q: addresses: %w", name, err)
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ip4 := ipn.IP.To4(); ip4 != nil {
			return ifi, netip.AddrFrom4([4]byte(ip4)), nil
		}
	}
	return nil, netip.Addr{}, fmt.Errorf("udp: interface %q has no IPv4 address", name)
}

// ErrWouldBlock is returned by WriteBatch when the socket's send buffer is
// full. The datagrams counted in the returned number were sent; the rest
// were not.
var ErrWouldBlock = errors.New("udp: send would block")
