package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"time"
)

// Config configures a Responder or a BeaconResponder. Zero fields mean
// their default.
type Config struct {
	// Advert is what to advertise; validated by NewResponder.
	Advert Advert
	// Interfaces to advertise on. Required (see ChooseInterfaces).
	Interfaces []Interface
	// Log receives the advertised name, renames, conflicts and socket
	// errors. Default: discard.
	Log *slog.Logger
	// Now reads the clock. Only Run calls it. Default: time.Now.
	Now func() time.Time
	// Seed seeds the random delays. Zero means random.
	Seed uint64
}

func (c *Config) validate() error {
	if err := c.Advert.Validate(); err != nil {
		return err
	}
	if len(c.Interfaces) == 0 {
		return errors.New("discovery: Interfaces is empty")
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Seed == 0 {
		c.Seed = rand.Uint64()
	}
	return nil
}

// Responder is an mDNS/DNS-SD responder advertising one Arcade server.
type Responder struct {
	cfg  Config
	conn Transport
	m    *responder
}

// NewResponder returns a responder that will use conn (ListenMDNS, or a
// fake in tests). It starts probing when Run starts.
func NewResponder(cfg Config, conn Transport) (*Responder, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return newRunner(cfg, conn), nil
}

func newRunner(cfg Config, conn Transport) *Responder {
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed>>1|1))
	m := newResponder(cfg.Advert, cfg.Interfaces, localAddrs(), conn, rng, cfg.Log, cfg.Now())
	return &Responder{cfg: cfg, conn: conn, m: m}
}

// Listen opens the mDNS socket on cfg.Interfaces and returns a responder
// on it.
func Listen(cfg Config) (*Responder, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	conn, err := ListenMDNS(cfg.Interfaces)
	if err != nil {
		return nil, err
	}
	return newRunner(cfg, conn), nil
}

// Name returns the instance name claimed so far (after any rename).
// Safe for concurrent use.
func (r *Responder) Name() string { return r.m.Name() }

// Host returns the host label claimed so far. Safe for concurrent use.
func (r *Responder) Host() string { return r.m.Host() }

// Stats returns the responder's counters.
func (r *Responder) Stats() *Stats { return r.m.stats }

// Run probes (the probing clock started when the responder was made),
// announces and answers until ctx is done, then multicasts
// goodbyes, closes the socket and returns nil. It returns an error only if
// the socket fails. Run must be called once.
func (r *Responder) Run(ctx context.Context) error {
	defer r.conn.Close()
	stop := context.AfterFunc(ctx, func() { r.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, maxMessage+1)
	for {
		now := r.cfg.Now()
		next := r.m.step(now)
		if next.IsZero() || next.Sub(now) > time.Second {
			next = now.Add(time.Second)
		}
		r.conn.SetReadDeadline(next)
		if ctx.Err() != nil {
			break
		}
		n, ifIndex, src, dst, err := readFrom(r.conn, buf)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			if isTimeout(err) {
				continue
			}
			r.m.goodbye()
			return fmt.Errorf("discovery: mDNS read: %w", err)
		}
		r.m.handle(r.cfg.Now(), buf[:n], src, dst, ifIndex)
	}
	r.m.goodbye()
	return nil
}

// addrOn picks the address to report for a service seen on an interface.
func addrOn(addrs []netip.Addr, src netip.Addr) netip.Addr {
	for _, a := range addrs {
		if a == src {
			return a
		}
	}
	if len(addrs) > 0 {
		return addrs[0]
	}
	return src
}
