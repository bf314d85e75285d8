package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/arcadexr/arcade/wire"
)

// MulticastHub is one multicast receive socket shared by several Clients of
// one process (Config.SharedMulticast), for a process that runs many
// sessions on one host, such as a load generator. Every socket joined to a
// group gets its own copy of each datagram sent to it, made by the kernel
// in the sender's send call when the sender is on the same host; one shared
// socket means one copy and one read per datagram for the whole process,
// however many Clients it serves. A headset app with one Client has no use
// for it.
//
// The socket is opened by the first Client that needs it, for the group and
// interface that Client's Dial settles on (Config.MulticastIface, or the
// interface routing to the server), with the options of a Client's own
// multicast socket: bound to the group address and port with SO_REUSEADDR
// and SO_REUSEPORT, kernel receive timestamps (SO_TIMESTAMPNS), and in
// addition a 4 MiB receive buffer (HubRecvBuffer) and IP_MULTICAST_ALL off.
// A later Client whose server offers another group, or which names another
// interface, cannot use the hub: its Dial treats that as a failed join.
//
// One reader goroutine reads the socket in batches (recvmmsg), parses each
// datagram's header once and hands the datagram to every registered Client
// whose session has the datagram's group token, exactly as a Client's own
// multicast reader would: Session.Handle with viaMulticast true, under that
// Client's lock, so callbacks run with the lock held, on the hub's
// goroutine. Each Client's session keeps its own multicast sequence, loss
// and delivery reports, as with a socket of its own. A datagram without a
// recognisable header (short, not Arcade) or whose token no registered
// Client has is counted in HubStats.Unmatched and goes to no session.
//
// Delivery is synchronous and in place: no queue, no copy, no allocation
// per datagram. The only buffer is the socket's. The cost is that a slow
// callback delays every Client after it, in that datagram and the ones
// queued behind; callbacks must return quickly, as they must with a Client
// of its own. A Client whose lock is held elsewhere (its own unicast
// reader or timer, or a method call) does not hold up the others: it is
// skipped and served after the rest of the datagram's Clients
// (HubStats.Deferred). When the reader falls behind for longer than the
// receive buffer covers, the kernel drops datagrams, which every session
// sees as loss on its multicast path, as with sockets of their own.
//
// A Client leaves the hub when it closes; after its Close returns the hub
// calls nothing of it. Close the hub after its Clients: Clients still
// registered then get no more multicast datagrams (their server, seeing
// the loss in their delivery reports, may switch them to unicast).
//
// The methods of a MulticastHub are safe for concurrent use. Shared sockets
// need Linux; elsewhere a Dial with SharedMulticast fails to join.
type MulticastHub struct {
	mu     sync.Mutex
	group  netip.AddrPort
	iface  string
	sock   *hubSocket // nil until the first Client needs it
	closed bool

	// subs are the registered Clients sorted by group token, replaced
	// (under mu) and never modified, so that the reader walks them
	// without a lock.
	subs atomic.Pointer[[]hubSub]

	// busy is the reader's scratch: Clients whose lock was held when a
	// datagram came for them.
	busy []*Client

	stats hubCounters
	wg    sync.WaitGroup
}

// hubSub is one registered Client and its session's group token.
type hubSub struct {
	token uint64
	c     *Client
}

// hubCounters are HubStats, updated by the reader.
type hubCounters struct {
	batches, datagrams, deliveries, deferred, unmatched, readErrors atomic.Uint64
}

// HubStats are a MulticastHub's counters.
type HubStats struct {
	Clients    int    // registered now
	Batches    uint64 // reads (recvmmsg calls) that returned datagrams
	Datagrams  uint64 // datagrams read from the socket
	Deliveries uint64 // datagrams handed to a Client's session, one per Client
	Deferred   uint64 // of those, handed over after the others because the Client's lock was busy
	Unmatched  uint64 // datagrams handed to no session: no Arcade header, or no Client with their group token
	ReadErrors uint64 // failed socket reads
}

// HubRecvBuffer is the receive buffer a MulticastHub asks for (SO_RCVBUF,
// or SO_RCVBUFFORCE when permitted), sized for one reader serving many
// sessions.
const HubRecvBuffer = 4 << 20

// hubBatch is how many datagrams one read of the hub's socket takes at
// most.
const hubBatch = 32

// errHubClosed is returned to a Dial with a hub already closed.
var errHubClosed = errors.New("client: shared multicast socket closed")

// NewMulticastHub returns a hub with no socket yet: the first Client that
// uses it opens and joins one. Close it when done.
func NewMulticastHub() *MulticastHub {
	h := &MulticastHub{}
	h.subs.Store(&[]hubSub{})
	return h
}

// Group returns the multicast group the hub's socket joined and the
// interface it joined it on; zero and "" before a Client opened it.
func (h *MulticastHub) Group() (netip.AddrPort, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.group, h.iface
}

// Stats returns the counters.
func (h *MulticastHub) Stats() HubStats {
	return HubStats{
		Clients:    len(*h.subs.Load()),
		Batches:    h.stats.batches.Load(),
		Datagrams:  h.stats.datagrams.Load(),
		Deliveries: h.stats.deliveries.Load(),
		Deferred:   h.stats.deferred.Load(),
		Unmatched:  h.stats.unmatched.Load(),
		ReadErrors: h.stats.readErrors.Load(),
	}
}

// Close stops the reader and closes the socket; it returns once both are
// done. Clients still registered get no more multicast datagrams, and a
// Dial using the hub afterwards fails to join.
func (h *MulticastHub) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	sock := h.sock
	h.subs.Store(&[]hubSub{})
	h.mu.Unlock()
	if sock == nil {
		return nil
	}
	sock.stop()
	h.wg.Wait()
	return sock.close()
}

// attach registers c, whose session was accepted with group and token,
// opening and joining the socket first if no Client did yet. ifname and
// server choose the interface as for a Client's own socket. It returns the
// interface the group is joined on.
func (h *MulticastHub) attach(ctx context.Context, c *Client, group netip.AddrPort, token uint64, ifname string, server netip.AddrPort) (string, error) {
	if !group.Addr().Is4() || !group.Addr().IsMulticast() || group.Port() == 0 {
		return "", fmt.Errorf("client: server offered snapshot group %v, not an IPv4 multicast address and port", group)
	}
	ifi, err := groupInterface(ifname, server)
	if err != nil {
		return "", fmt.Errorf("client: join multicast group %v: interface %q: %w", group, ifname, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return "", fmt.Errorf("client: join multicast group %v on interface %s: %w", group, ifi.Name, errHubClosed)
	case h.sock == nil:
		if err := ctx.Err(); err != nil {
			return "", err
		}
		sock, err := openHubSocket(group, ifi)
		if err != nil {
			return "", err
		}
		h.sock, h.group, h.iface = sock, group, ifi.Name
		h.wg.Add(1)
		go h.readLoop(sock)
	case h.group != group || h.iface != ifi.Name:
		return "", fmt.Errorf("client: join multicast group %v on interface %s: the shared multicast socket is joined to %v on %s", group, ifi.Name, h.group, h.iface)
	}
	old := *h.subs.Load()
	i, _ := slices.BinarySearchFunc(old, token, byToken)
	// After the Clients of the same token already there: they are served
	// in the order they joined.
	for i < len(old) && old[i].token == token {
		i++
	}
	subs := make([]hubSub, 0, len(old)+1)
	subs = append(subs, old[:i]...)
	subs = append(subs, hubSub{token: token, c: c})
	subs = append(subs, old[i:]...)
	h.subs.Store(&subs)
	return ifi.Name, nil
}

// detach removes c. The reader may still be handing c a datagram it
// looked up before; Client.Close keeps that from reaching the session.
func (h *MulticastHub) detach(c *Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := *h.subs.Load()
	i := slices.IndexFunc(old, func(s hubSub) bool { return s.c == c })
	if i < 0 {
		return
	}
	subs := slices.Concat(old[:i], old[i+1:])
	h.subs.Store(&subs)
}

// deliver hands one datagram from from, received at rxTime (kernel time, 0 if none),
// to every registered Client with its group token. It runs on the reader
// goroutine and does not allocate once busy has grown to the number of
// Clients.
// g is the reading goroutine's id (callback.go).
func (h *MulticastHub) deliver(dgram []byte, from netip.AddrPort, rxTime int64, g uint64) {
	var hd wire.Header
	// Only the header is read here: the sessions judge the rest, an
	// oversized datagram included, as from a socket of their own.
	if _, err := hd.Parse(dgram[:min(len(dgram), wire.MaxDatagramSize)]); err == wire.ErrShort || err == wire.ErrMagic {
		h.stats.unmatched.Add(1)
		return
	}
	subs := *h.subs.Load()
	i, found := slices.BinarySearchFunc(subs, hd.Token, byToken)
	if !found {
		h.stats.unmatched.Add(1)
		return
	}
	end := i + 1
	for end < len(subs) && subs[end].token == hd.Token {
		end++
	}
	// Counted before, so that a session never shows more than the hub.
	h.stats.deliveries.Add(uint64(end - i))
	if cap(h.busy) < end-i {
		h.busy = make([]*Client, 0, len(subs))
	}
	busy := h.busy[:0]
	for _, sub := range subs[i:end] {
		c := sub.c
		if !c.mu.TryLock() {
			busy = append(busy, c)
			continue
		}
		c.handleShared(dgram, from, rxTime, g)
		c.mu.Unlock()
	}
	for j, c := range busy {
		c.mu.Lock()
		c.handleShared(dgram, from, rxTime, g)
		c.mu.Unlock()
		busy[j] = nil
	}
	if len(busy) > 0 {
		h.stats.deferred.Add(uint64(len(busy)))
	}
}

// byToken orders hubSubs by group token, for binary search.
func byToken(s hubSub, token uint64) int { return cmp.Compare(s.token, token) }

// groupInterface returns the named interface, or the one routing to server
// when the name is empty.
func groupInterface(ifname string, server netip.AddrPort) (*net.Interface, error) {
	if ifname != "" {
		return net.InterfaceByName(ifname)
	}
	return routeInterface(server)
}
