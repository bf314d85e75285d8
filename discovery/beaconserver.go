package discovery

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"
)

// BeaconResponder answers beacon probes on a UDP port of its own
// (default 7779) for headsets that cannot receive multicast.
type BeaconResponder struct {
	cfg   Config
	conn  Transport
	name  func() string
	ifs   map[int]*Interface
	local map[netip.Addr]bool // this host's addresses
	stats *Stats
	buf   []byte
	// role is the standby pair role (docs/PROTOCOL.md §18.7): 0 for a
	// server not in a pair, else rolePair with the epoch in the low 32
	// bits (0: standby).
	role atomic.Uint64
}

// rolePair marks BeaconResponder.role as one of a standby pair.
const rolePair = 1 << 32

// ListenBeacon opens UDP port on all addresses and returns a beacon
// responder on it. name returns the instance name to put in replies (the
// mDNS responder's Name, which follows renames); nil means
// cfg.Advert.Instance.
func ListenBeacon(cfg Config, port int, name func() string) (*BeaconResponder, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	conn, err := ListenUDP(port)
	if err != nil {
		return nil, err
	}
	return NewBeaconResponder(cfg, conn, name)
}

// NewBeaconResponder returns a beacon responder on conn.
func NewBeaconResponder(cfg Config, conn Transport, name func() string) (*BeaconResponder, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if name == nil {
		name = func() string { return cfg.Advert.Instance }
	}
	b := &BeaconResponder{cfg: cfg, conn: conn, name: name, ifs: map[int]*Interface{}, local: localAddrs(),
		stats: new(Stats), buf: make([]byte, 0, BeaconMaxSize)}
	for i := range cfg.Interfaces {
		in := &cfg.Interfaces[i]
		b.ifs[in.Index] = in
		for _, a := range in.Addrs {
			b.local[a] = true
		}
	}
	return b, nil
}

// Stats returns the responder's counters.
func (b *BeaconResponder) Stats() *Stats { return b.stats }

// SetActive makes this server the active one of a standby pair, writing
// under epoch (docs/PROTOCOL.md §18.7): it answers probes with
// "epoch=E" after the strings of §14.2 (the first string a truncated
// reply leaves out; a 512-byte probe always has room for it). It may be
// called from any goroutine, before or while Run runs, and takes effect
// from the next probe; it does not block. A beacon responder on which
// neither SetActive nor SetStandby is called is not one of a pair and
// sends no epoch. epoch must not be 0: 0 panics.
func (b *BeaconResponder) SetActive(epoch uint32) {
	if epoch == 0 {
		panic("discovery: SetActive(0): 0 is not an epoch")
	}
	b.role.Store(rolePair | uint64(epoch))
}

// SetStandby makes this server the standby of a standby pair: it
// answers no probe (counted in Stats.Standby). As SetActive, from any
// goroutine, without blocking.
func (b *BeaconResponder) SetStandby() { b.role.Store(rolePair) }

// handle returns the reply to a datagram from src that arrived on
// interface ifIndex (0 if unknown), or nil to drop it. Only a source on
// the arrival interface's link (any advertised interface's, if unknown),
// or this host, is answered: a probe from elsewhere may carry a spoofed
// victim's address. The reply is never longer than the probe: trailing
// text strings are left out (and the truncated flag set) until it fits,
// and a probe too small for even that gets no reply.
func (b *BeaconResponder) handle(p []byte, src netip.AddrPort, ifIndex int) []byte {
	b.stats.Received.Add(1)
	in := b.ifs[ifIndex]
	if ifIndex != 0 && in == nil {
		b.stats.drop(DropOtherInterface)
		return nil
	}
	if !b.onLink(in, src.Addr()) {
		b.stats.drop(DropOffLink)
		return nil
	}
	probe, _, err := ParseProbe(p)
	switch err {
	case nil:
	case errBeaconShort, errBeaconLong:
		b.stats.drop(DropBeaconSize)
		return nil
	case errBeaconVersion, errBeaconType:
		b.stats.drop(DropBeaconVersion)
		return nil
	default:
		b.stats.drop(DropMalformed)
		return nil
	}
	role := b.role.Load()
	epoch := uint32(role)
	if role != 0 && epoch == 0 {
		b.stats.Standby.Add(1)
		return nil
	}
	b.stats.Queries.Add(1)
	r := BeaconReply{Nonce: probe.Nonce, Port: b.cfg.Advert.Port, Instance: b.name(), Text: b.cfg.Advert.textAt(b.cfg.Advert.players(), epoch)}
	if !r.fit(len(p)) {
		b.stats.drop(DropBeaconTooSmall)
		return nil
	}
	out, err := AppendReply(b.buf[:0], &r)
	if err != nil {
		b.stats.SendErrors.Add(1)
		return nil
	}
	return out
}

// onLink reports whether a is on in's link (on any advertised interface's
// when in is nil), or is this host.
func (b *BeaconResponder) onLink(in *Interface, a netip.Addr) bool {
	if b.local[a.Unmap()] {
		return true
	}
	if in != nil {
		return in.OnLink(a)
	}
	for _, in := range b.ifs {
		if in.OnLink(a) {
			return true
		}
	}
	return false
}

// Run answers probes until ctx is done, then closes the socket. It returns
// an error only if the socket fails.
func (b *BeaconResponder) Run(ctx context.Context) error {
	defer b.conn.Close()
	stop := context.AfterFunc(ctx, func() { b.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, BeaconMaxSize+1)
	for ctx.Err() == nil {
		n, ifIndex, src, err := b.conn.ReadFrom(buf)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if isTimeout(err) {
				continue
			}
			return fmt.Errorf("discovery: beacon read: %w", err)
		}
		if !src.IsValid() || src.Port() == 0 {
			b.stats.drop(DropMalformed)
			continue
		}
		if reply := b.handle(buf[:n], src, ifIndex); reply != nil {
			if err := b.conn.WriteTo(reply, ifIndex, src); err != nil {
				b.stats.SendErrors.Add(1)
				continue
			}
			b.stats.Sent.Add(1)
		}
	}
	return nil
}

// beaconTarget is where Beacon sends probes by default.
var beaconTarget = netip.AddrPortFrom(netip.AddrFrom4([4]byte{255, 255, 255, 255}), DefaultBeaconPort)
