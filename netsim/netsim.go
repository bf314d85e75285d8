// Package netsim is an in-memory datagram network on virtual time, with
// seeded loss, duplication, delay jitter and hence reordering. It stands in
// for UDP sockets so that the server and its clients can be tested
// deterministically: same seed, same run.
package netsim

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/arcadexr/arcade/internal/udp"
)

// Config describes the impairments applied to every datagram copy.
type Config struct {
	Loss      float64       // probability a copy is dropped
	Duplicate float64       // probability a copy is delivered twice
	Delay     time.Duration // base one-way delay
	Jitter    time.Duration // extra uniform delay in [0, Jitter): reorders
	Seed      uint64
	// Multicast copies only: extra loss and extra delay on top of the
	// above, as a WiFi access point gives multicast to dozing stations.
	McastLoss  float64
	McastDelay time.Duration
}

// Stats counts what the network did.
type Stats struct {
	Sent, Delivered, Lost, Duplicated uint64
}

type packet struct {
	data    []byte
	from    netip.AddrPort
	at      int64 // delivery time
	order   uint64
	viaMcst bool
}

// Network connects endpoints by address. It is not safe for concurrent use:
// a test drives it from one goroutine.
type Network struct {
	cfg    Config
	rng    *rand.Rand
	now    int64
	seq    uint64
	eps    map[netip.AddrPort]*Endpoint
	groups map[netip.AddrPort][]*Endpoint
	stats  Stats
}

// New returns an empty network at virtual time start.
func New(cfg Config, start int64) *Network {
	return &Network{
		cfg:    cfg,
		rng:    rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		now:    start,
		eps:    make(map[netip.AddrPort]*Endpoint),
		groups: make(map[netip.AddrPort][]*Endpoint),
	}
}

// Now is the virtual time in ns.
func (n *Network) Now() int64 { return n.now }

// SetNow moves virtual time forward to t (never back).
func (n *Network) SetNow(t int64) {
	if t > n.now {
		n.now = t
	}
}

// Stats returns the network's counters.
func (n *Network) Stats() Stats { return n.stats }

// SetConfig changes the impairments from now on.
func (n *Network) SetConfig(cfg Config) { cfg.Seed = n.cfg.Seed; n.cfg = cfg }

// Endpoint returns the endpoint bound to addr, creating it.
func (n *Network) Endpoint(addr netip.AddrPort) *Endpoint {
	if e := n.eps[addr]; e != nil {
		return e
	}
	e := &Endpoint{net: n, addr: addr}
	n.eps[addr] = e
	return e
}

// NextDelivery is the earliest pending delivery time, or false if none.
func (n *Network) NextDelivery() (int64, bool) {
	var t int64
	ok := false
	for _, e := range n.eps {
		if len(e.queue) > 0 && (!ok || e.queue[0].at < t) {
			t, ok = e.queue[0].at, true
		}
	}
	return t, ok
}

func (n *Network) send(from netip.AddrPort, to netip.AddrPort, data []byte) {
	n.stats.Sent++
	if to.Addr().IsMulticast() {
		for _, e := range n.groups[to] {
			n.deliver(e, from, data, true)
		}
		return
	}
	if e := n.eps[to]; e != nil && !e.closed {
		n.deliver(e, from, data, false)
	}
}

func (n *Network) deliver(e *Endpoint, from netip.AddrPort, data []byte, mc bool) {
	copies := 1
	if n.cfg.Duplicate > 0 && n.rng.Float64() < n.cfg.Duplicate {
		copies = 2
		n.stats.Duplicated++
	}
	for range copies {
		if n.cfg.Loss > 0 && n.rng.Float64() < n.cfg.Loss || mc && n.cfg.McastLoss > 0 && n.rng.Float64() < n.cfg.McastLoss {
			n.stats.Lost++
			continue
		}
		at := n.now + int64(n.cfg.Delay)
		if mc {
			at += int64(n.cfg.McastDelay)
		}
		if n.cfg.Jitter > 0 {
			at += n.rng.Int64N(int64(n.cfg.Jitter))
		}
		n.seq++
		p := packet{data: slices.Clone(data), from: from, at: at, order: n.seq, viaMcst: mc}
		i, _ := slices.BinarySearchFunc(e.queue, p, func(a, b packet) int {
			if a.at != b.at {
				if a.at < b.at {
					return -1
				}
				return 1
			}
			if a.order < b.order {
				return -1
			}
			return 1
		})
		e.queue = slices.Insert(e.queue, i, p)
	}
}

// Endpoint is one bound address. It implements the server's Transport.
type Endpoint struct {
	net    *Network
	addr   netip.AddrPort
	queue  []packet // sorted by delivery time
	closed bool
}

// Addr is the endpoint's address.
func (e *Endpoint) Addr() netip.AddrPort { return e.addr }

// Join subscribes the endpoint to a multicast group address.
func (e *Endpoint) Join(group netip.AddrPort) {
	e.net.groups[group] = append(e.net.groups[group], e)
}

// Close stops delivery to the endpoint; datagrams to it vanish.
func (e *Endpoint) Close() {
	e.closed = true
	e.queue = nil
	for g, list := range e.net.groups {
		e.net.groups[g] = slices.DeleteFunc(list, func(x *Endpoint) bool { return x == e })
	}
}

// Send sends one datagram from this endpoint.
func (e *Endpoint) Send(to netip.AddrPort, data []byte) {
	if !e.closed {
		e.net.send(e.addr, to, data)
	}
}

// Recv hands every datagram due by now to fn, in delivery order. rx is the
// virtual delivery time; viaGroup tells a multicast copy.
func (e *Endpoint) Recv(fn func(data []byte, from netip.AddrPort, rx int64, viaGroup bool)) {
	for len(e.queue) > 0 && e.queue[0].at <= e.net.now {
		p := e.queue[0]
		e.queue = e.queue[1:]
		e.net.stats.Delivered++
		fn(p.data, p.from, p.at, p.viaMcst)
	}
}

// NextDelivery is the delivery time of the endpoint's earliest pending
// datagram, or false if none.
func (e *Endpoint) NextDelivery() (int64, bool) {
	if len(e.queue) == 0 {
		return 0, false
	}
	return e.queue[0].at, true
}

// ReadBatch fills b with the datagrams due by now.
func (e *Endpoint) ReadBatch(b *udp.Batch) (int, error) {
	n := 0
	for n < len(b.Msgs) && len(e.queue) > 0 && e.queue[0].at <= e.net.now {
		p := e.queue[0]
		e.queue = e.queue[1:]
		e.net.stats.Delivered++
		m := &b.Msgs[n]
		m.N = copy(m.Buf[:cap(m.Buf)], p.data)
		m.Truncated = len(p.data) > cap(m.Buf)
		m.Addr = p.from
		m.RxTime = p.at
		n++
	}
	return n, nil
}

// WriteBatchRange sends b.Msgs[from:to].
func (e *Endpoint) WriteBatchRange(b *udp.Batch, from, to int) (int, error) {
	for i := from; i < to; i++ {
		m := &b.Msgs[i]
		e.Send(m.Addr, m.Buf[:m.N])
	}
	return to - from, nil
}
