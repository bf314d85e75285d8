//go:build linux

package client

import (
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/wire"
)

// hubSocket is a MulticastHub's socket and the eventfd that wakes its
// reader to stop. The reader blocks in poll on both; the socket itself is
// non-blocking and read with recvmmsg.
type hubSocket struct {
	conn *udp.Conn
	wake int // eventfd
	quit atomic.Bool
}

// openHubSocket opens a socket bound to group with the options of a
// Client's own multicast socket (address reuse, kernel timestamps), a
// HubRecvBuffer receive buffer and IP_MULTICAST_ALL off, and joins group
// on ifi.
func openHubSocket(group netip.AddrPort, ifi *net.Interface) (*hubSocket, error) {
	conn, err := udp.Listen(udp.Config{
		Listen:     group,
		ReuseAddr:  true,
		Timestamps: true,
		RecvBuffer: HubRecvBuffer,
		SendBuffer: 64 << 10, // nothing is sent on it
		DSCP:       -1,
	})
	if err != nil {
		return nil, fmt.Errorf("client: join multicast group %v on interface %s: %w", group, ifi.Name, err)
	}
	// Bound to the group address, the socket takes only datagrams sent to
	// it; with IP_MULTICAST_ALL off it also takes them only while joined
	// here, not because another socket of the host joined the group.
	if err := unix.SetsockoptInt(conn.Fd(), unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0); err != nil {
		conn.Close()
		return nil, fmt.Errorf("client: join multicast group %v on interface %s: setsockopt IP_MULTICAST_ALL: %w", group, ifi.Name, err)
	}
	if err := conn.JoinGroup(group.Addr(), ifi.Name); err != nil {
		conn.Close()
		return nil, fmt.Errorf("client: join multicast group %v on interface %s: %w", group.Addr(), ifi.Name, err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("client: shared multicast socket: eventfd: %w", err)
	}
	return &hubSocket{conn: conn, wake: wake}, nil
}

// stop makes the reader return.
func (s *hubSocket) stop() {
	s.quit.Store(true)
	var one [8]byte
	one[0] = 1 // a uint64 of 1, little-endian; any non-zero count wakes poll
	unix.Write(s.wake, one[:])
}

// close closes the socket and the eventfd; the reader must have returned.
func (s *hubSocket) close() error {
	unix.Close(s.wake)
	return s.conn.Close()
}

// readLoop reads sock in batches and delivers every datagram until stop.
func (h *MulticastHub) readLoop(sock *hubSocket) {
	defer h.wg.Done()
	g := goid()
	b := udp.NewBatch(hubBatch, wire.MaxDatagramSize+1) // one extra byte exposes oversized datagrams
	fds := [2]unix.PollFd{
		{Fd: int32(sock.conn.Fd()), Events: unix.POLLIN},
		{Fd: int32(sock.wake), Events: unix.POLLIN},
	}
	for !sock.quit.Load() {
		n, err := sock.conn.ReadBatch(b)
		if err != nil {
			h.stats.readErrors.Add(1)
		}
		if n == 0 {
			// Nothing queued (or a failed read): wait for a datagram or
			// for stop.
			fds[0].Revents, fds[1].Revents = 0, 0
			if _, err := unix.Poll(fds[:], -1); err != nil && err != unix.EINTR {
				h.stats.readErrors.Add(1)
			}
			continue
		}
		h.stats.batches.Add(1)
		h.stats.datagrams.Add(uint64(n))
		for i := range n {
			m := &b.Msgs[i]
			h.deliver(m.Payload(), m.Addr, m.RxTime, g)
		}
	}
}
