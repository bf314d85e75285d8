package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/arcadexr/arcade/wire"
)

// Config configures Dial.
type Config struct {
	SessionConfig
	// MulticastIface names the network interface on which to join the
	// snapshot group. "" picks the interface holding the local address
	// that routes to the server ("lo" for a loopback server).
	MulticastIface string
	// SharedMulticast, if set, receives the snapshot group on that hub's
	// socket, shared with the other Clients using it, instead of on a
	// socket of this Client's own; see MulticastHub. Nil (the default)
	// gives the Client its own socket.
	SharedMulticast *MulticastHub
	// Reconnect makes the Client start a new handshake by itself, with the
	// same player id, whenever the session is lost (the server timed it
	// out, shut down, told it the session is unknown after a restart, or
	// fell silent): at once, then after 0.1, 0.2, 0.4 … 2 s between
	// attempts, until connected again or closed. Done is then closed only
	// by Close. A zero PlayerID is replaced by a random one at Dial, so that
	// a server that kept the player's slot gives its client id back.
	Reconnect bool
	// LocalAddr is the IPv4 address the session's socket binds to; zero
	// (the default) lets the system choose. A load generator gives each
	// simulated headset its own, as a venue's headsets each have theirs.
	LocalAddr netip.Addr
}

// Stats are a Client's counters: the session's and the runtime's own.
type Stats struct {
	SessionStats
	ForeignSource uint64 // unicast datagrams not from the server's address, dropped
	// ServerMoves counts the moves to the address of a server of a
	// standby pair that took over under a higher epoch (PROTOCOL §18.5).
	ServerMoves uint64
	ReadErrors  uint64 // failed socket reads (other than at Close)
	WriteErrors uint64 // failed socket writes
	// CallbackReentries counts calls into the Client from one of its own
	// callbacks (callback.go): answered by a getter, refused with
	// ErrInCallback by the others, never a deadlock.
	CallbackReentries uint64
}

// ErrNotConnected is returned by SendPose when the session is not connected.
var ErrNotConnected = errors.New("client: not connected")

// Client runs a Session over UDP. Its methods are safe for concurrent use.
//
// It owns three goroutines at most, all stopped by Close: a reader for the
// unicast socket, a reader for the multicast socket when snapshots come by
// multicast on a socket of its own, and a timer that runs Session.Update.
// With Config.SharedMulticast the hub's reader delivers the group's
// datagrams instead. Callbacks (OnSnapshot, OnEntityUpdate, OnPong, OnRPC)
// run on a reader goroutine while the client's lock is held: they must
// return quickly. A callback may call the Client's getters (State, Stats,
// ClientID, RTT …); a call that would change the session (SendPose, an RPC,
// Close) returns ErrInCallback instead of waiting for the lock forever, and
// Stats.CallbackReentries counts both (callback.go). It must not call the
// methods of a shared hub's other Clients.
//
// Datagrams are read one per system call into one fixed buffer per socket.
// The server sends a client one snapshot per tick and, between ticks, an
// entity update per batch of inputs that moved held objects: datagrams
// spread out in time, so batched reads (recvmmsg) would mostly return a
// single one; the single read keeps the path free of allocation.
type Client struct {
	server netip.AddrPort
	uc     *net.UDPConn // to and from the server
	mc     *net.UDPConn // snapshot group; nil when snapshots come by unicast or by hub
	group  netip.AddrPort
	iface  string

	mu      sync.Mutex
	cbG     atomic.Uint64 // goroutine running the session for this Client now (callback.go)
	s       *Session
	stats   Stats // runtime counters; SessionStats filled in by Stats()
	sendFn  func([]byte)
	settled chan struct{} // closed when the handshake ends either way
	done    chan struct{} // closed when the session ends
	isSettl bool
	isDone  bool

	joinErr error // why the multicast group could not be joined, if so

	// hub delivers the snapshot group when it is shared; hubGone, set by
	// Close, makes the hub's reader skip this client from then on.
	hub     *MulticastHub
	hubGone bool

	// timerAt is when timerLoop will next run Update; kick wakes it
	// earlier when Handle or an RPC send moved NextUpdate before it.
	timerAt int64
	kick    chan struct{}

	// Reconnecting (Config.Reconnect): whether a new handshake is under
	// way or due, when the next attempt may start, the wait after it, and
	// the group token the hub delivers for this client.
	reconnect    bool
	reconnecting bool
	retryAt      int64
	backoff      time.Duration
	hubToken     uint64
	closing      bool
	dialCtx      context.Context

	quit      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Dial connects to the server at host:port and blocks until the server
// accepts or denies the handshake, SessionConfig.ConnectTimeout passes, or
// ctx is done. When snapshots come by multicast it then joins the group on
// the interface chosen by cfg.MulticastIface. On error nothing is left
// running.
func Dial(ctx context.Context, server string, cfg Config) (*Client, error) {
	if err := cfg.SessionConfig.Validate(); err != nil {
		return nil, err
	}
	if cfg.Reconnect && cfg.PlayerID == ([wire.PlayerIDSize]byte{}) {
		if _, err := rand.Read(cfg.PlayerID[:]); err != nil {
			return nil, fmt.Errorf("client: player id for reconnecting: %w", err)
		}
	}
	raddr, err := resolve(ctx, server)
	if err != nil {
		return nil, err
	}
	var laddr *net.UDPAddr
	if cfg.LocalAddr.IsValid() {
		if !cfg.LocalAddr.Is4() {
			return nil, fmt.Errorf("client: Config.LocalAddr %v is not IPv4", cfg.LocalAddr)
		}
		laddr = &net.UDPAddr{IP: cfg.LocalAddr.AsSlice()}
	}
	uc, err := net.ListenUDP("udp4", laddr)
	if err != nil {
		return nil, fmt.Errorf("client: open UDP socket: %w", err)
	}
	if err := rawControl(uc, enableTimestamps); err != nil {
		uc.Close()
		return nil, fmt.Errorf("client: enable SO_TIMESTAMPNS: %w", err)
	}
	c := &Client{
		server:  raddr,
		uc:      uc,
		s:       NewSession(cfg.SessionConfig),
		settled: make(chan struct{}),
		done:    make(chan struct{}),
		quit:    make(chan struct{}),
		kick:    make(chan struct{}, 1),
		// Reconnecting starts once Dial has returned a connected client.
		dialCtx: context.WithoutCancel(ctx),
	}
	c.sendFn = c.send

	c.mu.Lock()
	c.s.Start(now())
	c.s.Outgoing(c.sendFn)
	c.mu.Unlock()
	c.wg.Add(2)
	go c.readLoop(uc, false)
	go c.timerLoop()

	select {
	case <-c.settled:
	case <-ctx.Done():
		c.Close()
		return nil, ctx.Err()
	}
	c.mu.Lock()
	st, serr, acc := c.s.State(), c.s.Err(), c.s.Accepted()
	c.mu.Unlock()
	if st != Connected {
		c.Close()
		return nil, serr
	}
	c.mu.Lock()
	c.reconnect = cfg.Reconnect
	c.hubToken = acc.GroupToken
	c.mu.Unlock()
	if acc.Flags&wire.AcceptedUnicast != 0 {
		return c, nil
	}
	if hub := cfg.SharedMulticast; hub != nil {
		ifname, err := hub.attach(ctx, c, acc.Multicast, acc.GroupToken, cfg.MulticastIface, raddr)
		if err != nil {
			return c.joinFailed(err, cfg.MulticastIface != "")
		}
		c.mu.Lock()
		c.hub, c.group, c.iface = hub, acc.Multicast, ifname
		c.mu.Unlock()
		return c, nil
	}
	mc, ifname, err := listenGroup(ctx, acc.Multicast, cfg.MulticastIface, raddr)
	if err != nil {
		return c.joinFailed(err, cfg.MulticastIface != "")
	}
	c.mu.Lock()
	c.mc, c.group, c.iface = mc, acc.Multicast, ifname
	c.mu.Unlock()
	c.wg.Add(1)
	go c.readLoop(mc, true)
	return c, nil
}

// joinFailed ends a Dial whose multicast join failed: with an error when the
// interface was named, else with snapshots by unicast.
func (c *Client) joinFailed(err error, named bool) (*Client, error) {
	if named {
		c.Close()
		return nil, err
	}
	// The interface was our own guess: rather than fail, tell the server,
	// which then sends this client's snapshots by unicast.
	c.mu.Lock()
	c.s.SetMulticastJoined(false)
	c.joinErr = err
	c.mu.Unlock()
	return c, nil
}

// now is the client clock: ns since the Unix epoch, the clock of
// SO_TIMESTAMPNS.
func now() int64 { return time.Now().UnixNano() }

func resolve(ctx context.Context, server string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(server); err == nil {
		if !ap.Addr().Unmap().Is4() {
			return netip.AddrPort{}, fmt.Errorf("client: server %q: not an IPv4 address", server)
		}
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	host, port, err := net.SplitHostPort(server)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("client: server %q: %w", server, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("client: server %q: bad port", server)
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("client: server %q: %w", server, err)
	}
	return netip.AddrPortFrom(ips[0].Unmap(), uint16(p)), nil
}

func rawControl(c *net.UDPConn, fn func(syscall.RawConn) error) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	return fn(rc)
}

// listenGroup opens a socket bound to the snapshot group and joins it on
// the named interface, or on the one that routes to server.
func listenGroup(ctx context.Context, group netip.AddrPort, ifname string, server netip.AddrPort) (*net.UDPConn, string, error) {
	if !group.Addr().Is4() || !group.Addr().IsMulticast() || group.Port() == 0 {
		return nil, "", fmt.Errorf("client: server offered snapshot group %v, not an IPv4 multicast address and port", group)
	}
	var ifi *net.Interface
	var err error
	if ifname != "" {
		ifi, err = net.InterfaceByName(ifname)
	} else {
		ifi, err = routeInterface(server)
	}
	if err != nil {
		return nil, "", fmt.Errorf("client: join multicast group %v: interface %q: %w", group, ifname, err)
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		if err := enableReuse(rc); err != nil {
			return err
		}
		return enableTimestamps(rc)
	}}
	pc, err := lc.ListenPacket(ctx, "udp4", group.String())
	if err != nil {
		return nil, "", fmt.Errorf("client: join multicast group %v on interface %s: bind: %w", group, ifi.Name, err)
	}
	mc := pc.(*net.UDPConn)
	if err := ipv4.NewPacketConn(mc).JoinGroup(ifi, &net.UDPAddr{IP: group.Addr().AsSlice()}); err != nil {
		mc.Close()
		return nil, "", fmt.Errorf("client: join multicast group %v on interface %s: %w", group.Addr(), ifi.Name, err)
	}
	return mc, ifi.Name, nil
}

// routeInterface returns the interface holding the local address the kernel
// would send from to reach server. Connecting a UDP socket sends nothing.
func routeInterface(server netip.AddrPort) (*net.Interface, error) {
	probe, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(server))
	if err != nil {
		return nil, fmt.Errorf("no route to %v: %w", server, err)
	}
	local := probe.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	probe.Close()
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	for i := range ifs {
		addrs, err := ifs[i].Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP); ok && ip.Unmap() == local {
					return &ifs[i], nil
				}
			}
		}
	}
	return nil, fmt.Errorf("no interface holds %v, the local address routing to %v", local, server)
}

// readLoop feeds every datagram read from conn to the session.
func (c *Client) readLoop(conn *net.UDPConn, viaMulticast bool) {
	defer c.wg.Done()
	g := goid()
	var buf [wire.MaxDatagramSize + 1]byte // one extra byte exposes oversized datagrams
	var oob [oobSize]byte
	for {
		n, oobn, _, from, err := conn.ReadMsgUDPAddrPort(buf[:], oob[:])
		if err != nil {
			select {
			case <-c.quit:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			c.mu.Lock()
			c.stats.ReadErrors++
			c.mu.Unlock()
			continue
		}
		t := now()
		rx := rxTimestamp(oob[:oobn])
		c.mu.Lock()
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if !viaMulticast && from != c.server && !c.takeoverCandidate(buf[:n]) {
			c.stats.ForeignSource++
			c.mu.Unlock()
			continue
		}
		c.handle(t, buf[:n], rx, viaMulticast, g)
		if c.s.Moved() {
			// A standby took over (PROTOCOL §18.5): the session goes on
			// with the server that sent this, no new handshake.
			c.server = from
			c.stats.ServerMoves++
		}
		c.mu.Unlock()
	}
}

// handle feeds one received datagram to the session and sends what it
// queued. Called with c.mu held.
// g is the calling goroutine's id (callback.go).
func (c *Client) handle(t int64, dgram []byte, rxTime int64, viaMulticast bool, g uint64) {
	c.running(g)
	c.s.Handle(t, dgram, rxTime, viaMulticast)
	c.running(0)
	c.s.Outgoing(c.sendFn)
	c.maybeReconnect(t)
	c.noteState()
	c.wake()
}

// Reconnect backoff: the first attempt at once, then these waits, doubling.
const (
	reconnectFirstWait = 100 * time.Millisecond
	reconnectMaxWait   = 2 * time.Second
)

// maybeReconnect starts a new handshake when the session was lost (or a
// reconnect attempt failed) and its wait is over, and notes a reconnect
// that succeeded. Called with c.mu held.
func (c *Client) maybeReconnect(t int64) {
	if !c.reconnect || c.closing {
		return
	}
	st := c.s.State()
	if st == Connected {
		if c.reconnecting {
			c.reconnecting, c.backoff, c.retryAt = false, 0, 0
			if acc := c.s.Accepted(); c.hub != nil && acc.GroupToken != c.hubToken {
				// The hub delivers by group token: register the new one.
				hub := c.hub
				c.hubToken = acc.GroupToken
				go func() {
					hub.detach(c)
					hub.attach(c.dialCtx, c, acc.Multicast, acc.GroupToken, c.iface, c.server)
				}()
			}
		}
		return
	}
	if st == Connecting || !(c.s.Lost() || c.reconnecting) || t < c.retryAt {
		return
	}
	c.s.Restart(t)
	c.s.Outgoing(c.sendFn)
	c.reconnecting = true
	c.retryAt = t + int64(c.backoff)
	c.backoff = min(max(2*c.backoff, reconnectFirstWait), reconnectMaxWait)
}

// handleShared is handle for a datagram of the snapshot group from a
// MulticastHub, sent from from, unless the client closed. Called with c.mu
// held. A datagram under a higher epoch moves the client to its sender,
// as on a socket of its own (PROTOCOL §18.5).
func (c *Client) handleShared(dgram []byte, from netip.AddrPort, rxTime int64, g uint64) {
	if c.hubGone {
		return
	}
	c.handle(now(), dgram, rxTime, true, g)
	if c.s.Moved() && from.IsValid() {
		c.server = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		c.stats.ServerMoves++
	}
}

// timerLoop calls Session.Update whenever NextUpdate says so.
func (c *Client) timerLoop() {
	defer c.wg.Done()
	g := goid()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
		case <-c.kick:
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
		}
		c.mu.Lock()
		n := now()
		c.running(g)
		c.s.Update(n)
		c.running(0)
		c.s.Outgoing(c.sendFn)
		c.maybeReconnect(n)
		c.noteState()
		next := c.s.NextUpdate()
		if c.reconnect && !c.closing && c.s.State() != Connected && c.s.State() != Connecting {
			next = max(c.retryAt, n+int64(time.Millisecond)) // a reconnect attempt is due
		}
		c.timerAt = max(next, n+int64(time.Millisecond))
		c.mu.Unlock()
		if next == math.MaxInt64 {
			<-c.quit // the session ended; nothing more to time
			return
		}
		t.Reset(max(time.Duration(next-n), time.Millisecond))
	}
}

// send writes one datagram to the server. Called with c.mu held.
func (c *Client) send(dgram []byte) {
	if _, err := c.uc.WriteToUDPAddrPort(dgram, c.server); err != nil {
		c.stats.WriteErrors++
	}
}

// noteState signals the end of the handshake and of the session. Called
// with c.mu held.
func (c *Client) noteState() {
	st := c.s.State()
	if st != Connecting && !c.isSettl {
		c.isSettl = true
		close(c.settled)
	}
	if st != Connecting && st != Connected && !c.isDone && (!c.reconnect || c.closing) {
		c.isDone = true
		close(c.done)
	}
}

// SendPose sends one pose sample now. It sets in.InputSeq and
// in.ClientTime (µs, the clock read just before the datagram is written)
// and returns the input sequence number.
func (c *Client) SendPose(in *wire.PoseInput) (uint32, error) {
	if c.lock() {
		return 0, ErrInCallback
	}
	defer c.mu.Unlock()
	seq := c.s.SendPose(now(), in)
	if seq == 0 {
		if err := c.s.Err(); err != nil {
			return 0, err
		}
		return 0, ErrNotConnected
	}
	w := c.stats.WriteErrors
	c.s.Outgoing(c.sendFn)
	if c.stats.WriteErrors != w {
		return seq, errors.New("client: sending pose failed")
	}
	return seq, nil
}

// Close tells the server the client leaves (when connected), stops every
// goroutine and closes the sockets; a client on a MulticastHub leaves it
// (the hub's socket stays open for the others). It returns once all of
// that is done, and no callback runs after it.
func (c *Client) Close() error {
	if c.lock() {
		return ErrInCallback // Close waits for the goroutine the callback runs on
	}
	c.mu.Unlock()
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closing = true
		c.s.Close(now())
		c.s.Outgoing(c.sendFn)
		c.noteState()
		hub := c.hub
		c.hubGone = true
		c.mu.Unlock()
		close(c.quit)
		c.uc.Close()
		c.mu.Lock()
		mc := c.mc
		c.mu.Unlock()
		if mc != nil {
			mc.Close()
		}
		if hub != nil {
			hub.detach(c)
		}
		c.wg.Wait()
	})
	return nil
}

// Done is closed when the session ends: denied, timed out, disconnected by
// the server, or closed. Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// OnSnapshot sets the function called for every new snapshot datagram; see
// Session.OnSnapshot and the Client doc for the constraints.
func (c *Client) OnSnapshot(fn func(snap *wire.Snapshot, rxTime int64, viaMulticast bool)) {
	defer c.unlock(c.lock())
	c.s.OnSnapshot(fn)
}

// OnEntityUpdate sets the function called for every new entity update
// datagram; see Session.OnEntityUpdate and the Client doc for the
// constraints.
func (c *Client) OnEntityUpdate(fn func(u *wire.EntityUpdate, rxTime int64, viaMulticast bool)) {
	defer c.unlock(c.lock())
	c.s.OnEntityUpdate(fn)
}

// OnPong sets the function called for every pong; see Session.OnPong.
func (c *Client) OnPong(fn func(rtt, offset int64)) {
	defer c.unlock(c.lock())
	c.s.OnPong(fn)
}

// State returns the session's state.
func (c *Client) State() State {
	defer c.unlock(c.lock())
	return c.s.State()
}

// Err says why the session is not connected; see Session.Err.
func (c *Client) Err() error {
	defer c.unlock(c.lock())
	return c.s.Err()
}

// ClientID returns the id the server assigned.
func (c *Client) ClientID() uint16 {
	defer c.unlock(c.lock())
	return c.s.ClientID()
}

// Accepted returns the server's Accepted message.
func (c *Client) Accepted() wire.Accepted {
	defer c.unlock(c.lock())
	return c.s.Accepted()
}

// ServerTime estimates the server clock now, in µs since the server started.
func (c *Client) ServerTime() int64 {
	defer c.unlock(c.lock())
	return c.s.ServerTime(now())
}

// RTT returns the smoothed round-trip time.
func (c *Client) RTT() time.Duration {
	defer c.unlock(c.lock())
	return time.Duration(c.s.RTT())
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	defer c.unlock(c.lock())
	st := c.stats
	st.SessionStats = c.s.Stats()
	return st
}

// LocalAddr returns the unicast socket's address.
func (c *Client) LocalAddr() netip.AddrPort {
	return c.uc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Group returns the multicast group snapshots come on and the interface it
// was joined on; zero and "" when snapshots come by unicast.
func (c *Client) Group() (netip.AddrPort, string) {
	defer c.unlock(c.lock())
	return c.group, c.iface
}

// Now returns the client clock the runtime uses: ns since the Unix epoch,
// comparable with the rxTime passed to OnSnapshot and OnEntityUpdate.
func Now() int64 { return now() }

// MulticastError reports why the snapshot group could not be joined when
// the interface was chosen automatically; the server then delivers by
// unicast. Nil when joined or when snapshots come by unicast anyway.
func (c *Client) MulticastError() error {
	defer c.unlock(c.lock())
	return c.joinErr
}

// Resumed reports whether the server gave this session the client id and
// avatar of the player's previous one (SessionConfig.PlayerID).
func (c *Client) Resumed() bool {
	defer c.unlock(c.lock())
	return c.s.Resumed()
}
