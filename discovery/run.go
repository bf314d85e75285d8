package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
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
	role roleBox
}

// roleBox hands the roles of a standby pair from SetActive and
// SetStandby, on any goroutine, to Run: the newest, and whether a
// standby was asked for since Run last took one, so that a step down
// followed at once by a takeover still says goodbye and announces at
// once rather than being lost between two reads.
type roleBox struct {
	mu      sync.Mutex
	set     bool   // a role is waiting for Run
	epoch   uint32 // the newest role: active under epoch, or standby (0)
	standby bool   // a standby was asked for since the last take
}

func (b *roleBox) put(epoch uint32) {
	b.mu.Lock()
	b.set, b.epoch = true, epoch
	b.standby = b.standby || epoch == 0
	b.mu.Unlock()
}

// take returns the newest role waiting, if any, and whether a standby
// came before it, and clears them.
func (b *roleBox) take() (epoch uint32, standbyFirst, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	epoch, ok = b.epoch, b.set
	standbyFirst = b.standby && epoch != 0
	b.set, b.standby = false, false
	return epoch, standbyFirst, ok
}

func (b *roleBox) waiting() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.set
}

// wake is a read deadline in the past: it ends the read Run is blocked
// in, at once.
var wake = time.Unix(1, 0)

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

// SetActive makes this server the active one of a standby pair, writing
// under epoch (docs/PROTOCOL.md §18.7): it answers queries with
// "epoch=E" after the strings of §14.2, and if it was the standby, or
// had announced another epoch, it announces itself at once (twice, 1 s
// apart) under the same instance name, without probing again; the pair's
// first active, called before its name is claimed, goes on probing. So a
// responder made at a takeover calls SetStandby then SetActive (before
// Run or not): it announces at once.
//
// SetActive and SetStandby may be called from any goroutine, before or
// while Run runs; they do not wait for Run (which applies the role at
// once, woken from its read) and never block on the network. Calls
// that come faster than Run takes them are applied as the newest one,
// preceded by a SetStandby if one came in between (its goodbyes, and the
// announcement at once after it). A responder on
// which neither is ever called is not one of a pair and advertises no
// epoch. epoch must not be 0 (a pair's first epoch is 2, §18.1): 0 panics.
func (r *Responder) SetActive(epoch uint32) {
	if epoch == 0 {
		panic("discovery: SetActive(0): 0 is not an epoch")
	}
	r.setRole(epoch)
}

// SetStandby makes this server the standby of a standby pair: it sends
// nothing, answers no query, and if it had announced itself it first
// multicasts goodbyes (TTL 0) for its SRV, TXT and A records, leaving out
// the PTRs the pair's active advertises too. As SetActive, it does not
// block; called before Run, the responder never probes or announces until
// SetActive. A server stepping down calls SetStandby and then ends Run's
// context: Run says the step down's goodbyes before it returns, and none
// for the PTRs.
func (r *Responder) SetStandby() { r.setRole(0) }

func (r *Responder) setRole(epoch uint32) {
	r.role.put(epoch)
	r.conn.SetReadDeadline(wake) // fails harmlessly once Run closed the socket
}

// Run probes (the probing clock started when the responder was made),
// announces and answers until ctx is done, then multicasts
// goodbyes, closes the socket and returns nil. It returns an error only if
// the socket fails. Run must be called once.
func (r *Responder) Run(ctx context.Context) error {
	defer r.conn.Close()
	stop := context.AfterFunc(ctx, func() { r.conn.SetReadDeadline(wake) })
	defer stop()
	buf := make([]byte, maxMessage+1)
	for {
		now := r.cfg.Now()
		r.applyRole(now)
		next := r.m.step(now)
		if next.IsZero() || next.Sub(now) > time.Second {
			next = now.Add(time.Second)
		}
		r.conn.SetReadDeadline(next)
		// setRole stores the role, then sets the deadline to wake: a
		// role stored after this check wakes the read below after our
		// deadline was set, so it returns at once; one stored before is
		// seen here.
		if ctx.Err() != nil {
			break
		}
		if r.role.waiting() {
			continue
		}
		n, ifIndex, src, dst, err := readFrom(r.conn, buf)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			if isTimeout(err) {
				continue
			}
			r.applyRole(r.cfg.Now())
			r.m.goodbye()
			return fmt.Errorf("discovery: mDNS read: %w", err)
		}
		r.m.handle(r.cfg.Now(), buf[:n], src, dst, ifIndex)
	}
	// A role set as ctx ended still counts: SetStandby then the end of
	// ctx says the step down's goodbyes, and the shutdown's none.
	r.applyRole(r.cfg.Now())
	r.m.goodbye()
	return nil
}

// applyRole applies the role waiting from SetActive or SetStandby, if
// any, with the standby asked for before it.
func (r *Responder) applyRole(now time.Time) {
	if epoch, standbyFirst, ok := r.role.take(); ok {
		if standbyFirst {
			r.m.setRole(now, 0)
		}
		r.m.setRole(now, epoch)
	}
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
