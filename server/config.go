package server

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Defaults for Config fields left at their zero value.
const (
	DefaultListenPort    = 7777
	DefaultTickRate      = 120
	DefaultMaxClients    = 64
	DefaultIdleTimeout   = 2 * time.Second
	DefaultCookieLife    = 5 * time.Second
	DefaultSpinMax       = 500 * time.Microsecond
	DefaultHashEvery     = 12
	DefaultProbeEvery    = 4
	DefaultHandshakeRate = 100
	DefaultSessionRate   = 1000
	MinTickRate          = 30
	MaxTickRate          = 500
	// MaxClientsLimit bounds --max-clients: client ids are 16-bit and the
	// connection table is preallocated.
	MaxClientsLimit = 4096
)

// DefaultMulticast is the group and port snapshots are multicast to.
var DefaultMulticast = netip.MustParseAddrPort("239.255.77.77:7778")

// Config configures a Server. The zero value of every field means its
// default; Validate reports the first invalid field by name.
type Config struct {
	// TickRate is the number of ticks per second (30..500). Default 120.
	TickRate int
	// MaxClients bounds the connection table. Default 64.
	MaxClients int
	// Multicast is the IPv4 group and port snapshots are sent to. Default
	// 239.255.77.77:7778. NoMulticast disables it: every client then gets
	// unicast.
	Multicast   netip.AddrPort
	NoMulticast bool
	// IdleTimeout removes a client that sent nothing for this long. Default 2 s.
	IdleTimeout time.Duration
	// CookieLife is how long a handshake cookie stays valid. Default 5 s.
	CookieLife time.Duration
	// Seed seeds session tokens and the cookie key. Zero means random;
	// tests set it to make runs reproducible.
	Seed uint64
	// WallClock reads the clock that kernel receive timestamps use
	// (CLOCK_REALTIME, ns). It is read only after a send returns, to measure
	// the server's added latency. Default: time.Now().UnixNano.
	WallClock func() int64
	// MonoClock reads a monotonic clock (ns) to time the pipeline's
	// stages. Default: tick.Now.
	MonoClock func() int64
	// World is the simulation: scene objects, grabbing and physics. Nil
	// means players only.
	World World
	// NoEager turns off eager propagation. By default, when a pose arrives
	// the server at once moves what that player's hands hold (whole grab
	// chains) and sends those objects' poses in an EntityUpdate, without
	// waiting for the tick; arrivals read in one batch are coalesced into
	// one update. Physics and full snapshots stay on the tick.
	NoEager bool
	// NoUnicastFallback keeps every client on the delivery it asked for. By
	// default a client on multicast whose reports show multicast loss or
	// delay beyond the thresholds is switched to unicast, and back when
	// multicast recovers.
	NoUnicastFallback bool
	// ProbeEvery is how many ticks apart a multicast client gets a unicast
	// DeliveryProbe to compare against. Default 4.
	ProbeEvery int
	// HashEvery puts the state hash in the snapshot every this many ticks.
	// Default 12; negative disables it.
	HashEvery int
	// SpinMax caps how early Run's timer may fire before a deadline so the
	// loop can spin the rest and start the tick on time: timer wake-ups are
	// tens to hundreds of microseconds late on virtual machines and idle
	// CPUs. The lead adapts to the lateness observed, so the CPU spent is
	// what the host needs, at most SpinMax per tick. Default 500 µs;
	// negative disables spinning.
	SpinMax time.Duration
	// Allow, if not empty, lists the only source prefixes served; Deny lists
	// prefixes never served. Datagrams from other sources are dropped and
	// counted (denied_source) before they are parsed.
	Allow, Deny []netip.Prefix
	// HandshakeRate bounds connect requests and challenge responses per
	// source address, per second (burst twice that). Default 100.
	HandshakeRate float64
	// SessionRate bounds the datagrams one session may send per second
	// (burst a fifth of that); a headset sends about 100. Default 1000.
	SessionRate float64
	// Describe, if set, tells operator views what the process knows and the
	// server package does not: the advertised name (after any rename), the
	// version, and the discovery status. Called at most a few times a
	// second, never on the tick thread.
	Describe func() Description
	// Tap, if set, sees every datagram received and sent, for packet
	// capture. It is called on the tick thread and must not block: copy
	// and hand off, or count a drop.
	Tap Tap
	// RealtimePriority, when 1..99, runs Run's event loop thread under
	// SCHED_FIFO at that priority so that other processes on the box cannot
	// delay a tick. If the kernel refuses (no CAP_SYS_NICE), Run continues
	// at normal priority and RealtimeErr says why. Zero leaves it off.
	RealtimePriority int
	// Passphrase, if not empty, is the venue passphrase: a ChallengeResponse
	// must prove it (else Denied, DenyBadPassphrase, and no state), and
	// every later datagram of a session, both ways, and every multicast
	// datagram is sealed (authenticated, encrypted, replay-checked) with
	// keys derived from it. New derives its key, which is slow on purpose
	// (PBKDF2, tens of ms). Empty: anonymous, nothing sealed.
	Passphrase string
}

func (c *Config) setDefaults() {
	if c.TickRate == 0 {
		c.TickRate = DefaultTickRate
	}
	if c.MaxClients == 0 {
		c.MaxClients = DefaultMaxClients
	}
	if !c.Multicast.IsValid() {
		c.Multicast = DefaultMulticast
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.CookieLife == 0 {
		c.CookieLife = DefaultCookieLife
	}
	if c.HandshakeRate == 0 {
		c.HandshakeRate = DefaultHandshakeRate
	}
	if c.SessionRate == 0 {
		c.SessionRate = DefaultSessionRate
	}
	if c.ProbeEvery == 0 {
		c.ProbeEvery = DefaultProbeEvery
	}
	if c.HashEvery == 0 {
		c.HashEvery = DefaultHashEvery
	}
	if c.SpinMax == 0 {
		c.SpinMax = DefaultSpinMax
	}
}

// Validate applies defaults and reports the first invalid field.
func (c *Config) Validate() error {
	c.setDefaults()
	switch {
	case c.TickRate < MinTickRate || c.TickRate > MaxTickRate:
		return fmt.Errorf("server: TickRate %d out of range %d..%d", c.TickRate, MinTickRate, MaxTickRate)
	case c.MaxClients < 1 || c.MaxClients > MaxClientsLimit:
		return fmt.Errorf("server: MaxClients %d out of range 1..%d", c.MaxClients, MaxClientsLimit)
	case !c.NoMulticast && (!c.Multicast.Addr().Is4() || !c.Multicast.Addr().IsMulticast()):
		return fmt.Errorf("server: Multicast %s is not an IPv4 multicast address", c.Multicast)
	case !c.NoMulticast && c.Multicast.Port() == 0:
		return errors.New("server: Multicast port must not be 0")
	case c.HandshakeRate < 0:
		return fmt.Errorf("server: HandshakeRate %v is negative", c.HandshakeRate)
	case c.SessionRate < 0:
		return fmt.Errorf("server: SessionRate %v is negative", c.SessionRate)
	case c.ProbeEvery < 1:
		return fmt.Errorf("server: ProbeEvery %d must be at least 1", c.ProbeEvery)
	case c.IdleTimeout < 0:
		return fmt.Errorf("server: IdleTimeout %v is negative", c.IdleTimeout)
	case c.RealtimePriority < 0 || c.RealtimePriority > 99:
		return fmt.Errorf("server: RealtimePriority %d out of range 0..99", c.RealtimePriority)
	case c.SpinMax > time.Duration(int64(time.Second)/int64(c.TickRate))/2:
		return fmt.Errorf("server: SpinMax %v is more than half a tick", c.SpinMax)
	case c.CookieLife < 0:
		return fmt.Errorf("server: CookieLife %v is negative", c.CookieLife)
	}
	return nil
}

// Period is the tick interval in nanoseconds.
func (c Config) Period() int64 { return int64(time.Second) / int64(c.TickRate) }

// Description is what Config.Describe reports. Empty fields are left to
// the server's own guesses.
type Description struct {
	Name      string
	Version   string
	Discovery string
}
