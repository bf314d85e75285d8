package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
)

// MDNSPort and MDNSGroup are the mDNS port and IPv4 group (RFC 6762).
const MDNSPort = 5353

// MDNSGroup is where mDNS queries and multicast responses go.
var MDNSGroup = netip.AddrPortFrom(netip.AddrFrom4([4]byte{224, 0, 0, 251}), MDNSPort)

// Transport is the datagram socket a responder or browser uses. Tests
// pass a fake; ListenMDNS and ListenUDP return real sockets.
type Transport interface {
	// ReadFrom reads one datagram into b and reports the interface it
	// arrived on (0 if unknown) and its source.
	ReadFrom(b []byte) (n, ifIndex int, src netip.AddrPort, err error)
	// WriteTo sends b to dst. For a multicast dst, ifIndex chooses the
	// interface; for unicast the routing table does.
	WriteTo(b []byte, ifIndex int, dst netip.AddrPort) error
	// SetReadDeadline bounds the next ReadFrom; an expired deadline makes
	// it return an error for which isTimeout is true.
	SetReadDeadline(t time.Time) error
	Close() error
}

// udpTransport is a Transport over a real UDP socket.
type udpTransport struct {
	c  *net.UDPConn
	pc *ipv4.PacketConn
	// byAddr maps the chosen interfaces' addresses to their index: a
	// unicast query to one of them (dig @addr -p 5353 on the same host
	// arrives on lo) is handled as arriving on that interface.
	byAddr map[netip.Addr]int
}

// ListenMDNS opens UDP port 5353 on all addresses, shared with other mDNS
// stacks on the host (SO_REUSEADDR and SO_REUSEPORT, as avahi uses),
// joined to 224.0.0.251 on each interface, multicast TTL 255 and loopback
// on, and receiving only the groups it joined (IP_MULTICAST_ALL off).
func ListenMDNS(ifs []Interface) (Transport, error) {
	return listenUDP(MDNSPort, ifs, true)
}

// ListenUDP opens a UDP socket on all addresses at port (0 = any) that
// reports the arrival interface and may send broadcasts. It is the beacon
// responder's socket and the browsers' fallback.
func ListenUDP(port int) (Transport, error) {
	return listenUDP(port, nil, false)
}

func listenUDP(port int, ifs []Interface, mdns bool) (Transport, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = setSockopts(int(fd), mdns) })
		return errors.Join(err, serr)
	}}
	pconn, err := lc.ListenPacket(context.Background(), "udp4", fmt.Sprintf("0.0.0.0:%d", port))
	if err != nil {
		return nil, fmt.Errorf("discovery: listen udp port %d: %w", port, err)
	}
	c := pconn.(*net.UDPConn)
	t := &udpTransport{c: c, pc: ipv4.NewPacketConn(c), byAddr: map[netip.Addr]int{}}
	for _, in := range ifs {
		for _, a := range in.Addrs {
			t.byAddr[a] = in.Index
		}
	}
	if err := t.pc.SetControlMessage(ipv4.FlagInterface|ipv4.FlagDst, true); err != nil {
		c.Close()
		return nil, fmt.Errorf("discovery: IP_PKTINFO: %w", err)
	}
	if mdns {
		t.pc.SetMulticastTTL(255)
		t.pc.SetTTL(255)
		t.pc.SetMulticastLoopback(true)
		group := &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251)}
		var joined int
		var errs []error
		for _, in := range ifs {
			ifi, err := net.InterfaceByIndex(in.Index)
			if err == nil {
				err = t.pc.JoinGroup(ifi, group)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("join 224.0.0.251 on %s: %w", in.Name, err))
				continue
			}
			joined++
		}
		if joined == 0 {
			c.Close()
			return nil, fmt.Errorf("discovery: %w", errors.Join(append(errs, errors.New("no interface joined"))...))
		}
	}
	return t, nil
}

// dstReader is a Transport that also tells a datagram's destination
// address: 224.0.0.251, a broadcast address or one of this host's.
type dstReader interface {
	readFromDst(b []byte) (n, ifIndex int, src netip.AddrPort, dst netip.Addr, err error)
}

func (t *udpTransport) ReadFrom(b []byte) (int, int, netip.AddrPort, error) {
	n, ifIndex, src, _, err := t.readFromDst(b)
	return n, ifIndex, src, err
}

func (t *udpTransport) readFromDst(b []byte) (int, int, netip.AddrPort, netip.Addr, error) {
	n, cm, src, err := t.pc.ReadFrom(b)
	if err != nil {
		return 0, 0, netip.AddrPort{}, netip.Addr{}, err
	}
	ifIndex := 0
	var dst netip.Addr
	if cm != nil {
		ifIndex = cm.IfIndex
		if d, ok := netip.AddrFromSlice(cm.Dst); ok {
			dst = d.Unmap()
			if i, ok := t.byAddr[dst]; ok {
				ifIndex = i
			}
		}
	}
	var ap netip.AddrPort
	if ua, ok := src.(*net.UDPAddr); ok {
		ap = ua.AddrPort()
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return n, ifIndex, ap, dst, nil
}

// readFrom reads from conn, with the destination address when conn knows
// it (else an invalid one).
func readFrom(conn Transport, b []byte) (n, ifIndex int, src netip.AddrPort, dst netip.Addr, err error) {
	if dr, ok := conn.(dstReader); ok {
		return dr.readFromDst(b)
	}
	n, ifIndex, src, err = conn.ReadFrom(b)
	return n, ifIndex, src, netip.Addr{}, err
}

func (t *udpTransport) WriteTo(b []byte, ifIndex int, dst netip.AddrPort) error {
	var cm *ipv4.ControlMessage
	if dst.Addr().IsMulticast() && ifIndex != 0 {
		cm = &ipv4.ControlMessage{IfIndex: ifIndex}
	}
	_, err := t.pc.WriteTo(b, cm, net.UDPAddrFromAddrPort(dst))
	return err
}

func (t *udpTransport) SetReadDeadline(d time.Time) error { return t.c.SetReadDeadline(d) }
func (t *udpTransport) Close() error                      { return t.c.Close() }

// isTimeout reports a read deadline that passed.
func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// LocalAddr returns the socket's local address.
func (t *udpTransport) LocalAddr() netip.AddrPort {
	return t.c.LocalAddr().(*net.UDPAddr).AddrPort()
}
