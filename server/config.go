package server

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/arcadexr/arcade/internal/metrics"
	"github.com/arcadexr/arcade/reliable"
)

// Defaults for Config fields left at their zero value.
const (
	DefaultListenPort   = 7777
	DefaultTickRate     = 120
	DefaultMaxClients   = 64
	DefaultIdleTimeout  = 2 * time.Second
	DefaultCookieLife   = 5 * time.Second
	DefaultSpinMax      = 500 * time.Microsecond
	DefaultHashEvery    = 12
	DefaultProbeEvery   = 4
	DefaultProbeBudget  = 4000
	DefaultMaxFallback  = 64
	DefaultFallbackRate = 4
	// DefaultFallbackBudget: 200 unicast datagrams a tick at 120 Hz, the
	// state of 16 clients at 2000 headsets (74 parts a tick) or of 64 at
	// ~500.
	DefaultFallbackBudget = 24000
	DefaultHandshakeRate  = 100
	// DefaultHandshakeBudget is the default of Config.HandshakeBudget.
	DefaultHandshakeBudget = 2000
	// DefaultPAKERate is the default of Config.PAKERate.
	DefaultPAKERate    = 200
	DefaultSessionRate = 1000
	MinTickRate        = 30
	MaxTickRate        = 500
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
	// NoDeltaState sends the tick's state as Snapshots only, also to the
	// clients that take StateDelta (docs/PROTOCOL.md §10.4). By default a
	// client that asks for it gets StateDelta, and so does the multicast
	// group while every client on it does.
	NoDeltaState bool
	// StateBudgetKbps holds the group's StateDelta payload to this many
	// kbps: when entities change faster than that, those with the highest
	// accumulated priority (grown by waiting and by speed) are sent and
	// the rest keep their last sent state a little longer. Avatars and
	// held entities are never held back. 0: no budget.
	StateBudgetKbps int
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
	// the server at once moves that player's avatar and what its hands hold
	// (whole grab chains) and sends them in an EntityUpdate, without
	// waiting for the tick; arrivals read in one batch are coalesced into
	// one update. Physics and full snapshots stay on the tick. With
	// NoEager, inputs wait for the next tick and its snapshot.
	NoEager bool
	// CoalesceWindow, when positive, lets an eager update wait this long
	// after the first input it carries for more arrivals to share the
	// datagram (fewer datagrams at scale, at that much latency). Zero, the
	// default, sends each receive batch's update at once. At most a
	// quarter of a tick: it never waits for the tick.
	CoalesceWindow time.Duration
	// NoUnicastFallback keeps every client on the delivery it asked for. By
	// default a client on multicast whose reports show multicast loss or
	// delay beyond the thresholds is switched to unicast, and back when
	// multicast recovers.
	NoUnicastFallback bool
	// ProbeEvery is how many ticks apart a multicast client gets a unicast
	// DeliveryProbe to compare against, at most. Default 4.
	ProbeEvery int
	// ProbeBudget bounds the DeliveryProbes a second over all clients:
	// with more clients than it serves at ProbeEvery, each is probed less
	// often. The probes are spread over the ticks by client id. Default
	// DefaultProbeBudget.
	ProbeBudget int
	// MaxFallback is how many clients the unicast fallback may move to
	// unicast at once, and FallbackRate how many a second at most (a burst
	// of twice that): each costs a datagram per state part per tick, and
	// a fallback that outran the tick's budget would turn overload into
	// more load. Defaults DefaultMaxFallback, DefaultFallbackRate.
	MaxFallback  int
	FallbackRate float64
	// FallbackBudget bounds, in datagrams a second, what the clients the
	// fallback moved may cost together: each takes every tick's state
	// parts by unicast, so with many headsets (many parts a tick) a few
	// moved clients would cost more than all the multicast. A move that
	// would pass it waits (counted in FallbackDeferred); clients already
	// moved stay until they recover. Default DefaultFallbackBudget.
	FallbackBudget float64
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
	// NoTickYield stops Run's loop from passing through the Go scheduler
	// just after each tick it spun for (tick.LoopConfig.Yield), which it
	// does so that the runtime never has to preempt the locked tick
	// thread at a moment of its own choosing. For measuring the
	// difference.
	NoTickYield bool
	// Allow, if not empty, lists the only source prefixes served; Deny lists
	// prefixes never served. Datagrams from other sources are dropped and
	// counted (denied_source) before they are parsed.
	Allow, Deny []netip.Prefix
	// HandshakeRate bounds connect requests and challenge responses per
	// source address, per second (burst twice that). Default 100.
	HandshakeRate float64
	// PAKERate bounds the CPace exchanges (the costly half of a handshake
	// with a passphrase, a few hundred µs of CPU each, and one online guess
	// of the passphrase each) per second from all sources. Default 200.
	PAKERate float64
	// HandshakeBudget bounds the handshake datagrams the server answers
	// per second from all sources together (burst: one second's worth), on
	// top of HandshakeRate, so that many spoofed sources cannot make it
	// answer without end. Default 2000; negative disables it.
	HandshakeBudget float64
	// SessionRate bounds the datagrams one session may send per second
	// (burst a fifth of that); a headset sends about 100. Default 1000.
	SessionRate float64
	// ReliableBudget bounds the memory the reliable channels of all
	// sessions hold for messages received and not yet delivered (see
	// reliable.Budget; each session is bounded on its own as well). Nil
	// means a budget of reliable.DefaultBudgetBytes (48 MiB) for this
	// server.
	ReliableBudget *reliable.Budget
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
	// delay a tick. If the kernel refuses (no CAP_SYS_NICE), or the process
	// may run on one CPU only (where a real-time Go thread can livelock
	// with the runtime's own threads, see tick.ErrOneCPU), Run continues at
	// normal priority and RealtimeErr says why. Zero leaves it off.
	RealtimePriority int
	// TickCPU, when PinTick is set, pins Run's event loop thread to that
	// CPU (so a benchmark can keep load generators off it). Default: any.
	PinTick bool
	TickCPU int
	// HostProbe, if set, is the reference for the host's own timer
	// lateness and CPU steal (package hostprobe): a tick that starts late
	// is counted as the host's fault when the probe woke as late around
	// the same time, as Arcade's otherwise, and the probe's figures are
	// reported beside the tick's. Nil: late ticks are counted as unknown.
	HostProbe HostProbe
	// LateTick is how long after its deadline a tick must start to count
	// as late (TicksLateHost, TicksLateArcade). Default an eighth of the
	// tick period.
	LateTick time.Duration
	// Passphrase, if not empty, is the venue passphrase: a client proves it
	// with a CPace exchange in the handshake (a recorded handshake gives no
	// offline test of a guess; each online guess is one handshake, within
	// PAKERate), every later datagram of a session, both ways, is sealed
	// (authenticated, encrypted, replay-checked) with keys of that
	// exchange, and every multicast datagram with a random group key and
	// the server's signature. Empty: anonymous, nothing sealed.
	Passphrase string
	// Epoch, if not 0, is the epoch the server writes under as the active
	// server of a standby pair (PROTOCOL §18): every datagram it sends
	// carries it (FlagEpoch and the trailer, §18.1), and every body is
	// sized 4 bytes smaller to make room for it. 0: not one of a pair,
	// nothing stamped.
	Epoch uint32
	// Replicate, if set, is given a copy of the world and of the sessions
	// every tick, on the tick thread, before the tick's state is sent,
	// and the calls into the world between two copies before anything
	// shows them (pair.go): what a standby server keeps to take over
	// (PROTOCOL §18.2). Needs a World that implements Checkpointer, and no
	// Passphrase (a sealed session's keys are not copied yet).
	Replicate ReplicaSink
	// GroupToken, if not 0, is the multicast group's token (§5) instead of
	// a random one: a server taking over keeps the one its headsets know.
	GroupToken uint64
	// SignedUpdateGap paces, with a Passphrase and clients on multicast,
	// the eager EntityUpdates to the group: after a burst of SignedBurst,
	// one every gap. Each multicast datagram then carries the server's
	// signature, which every headset checks (tens of microseconds each):
	// at one update per receive batch, 64 players at 90 Hz would cost a
	// headset thousands of checks a second. An update waits only when the
	// room's poses arrive more often than one a gap, and then at most a
	// gap. Default DefaultSignedUpdateGap; at most a quarter of a tick.
	SignedUpdateGap time.Duration
	// EagerUpdateGap paces the eager EntityUpdates to an open (unsigned)
	// group in the same way: after SignedBurst back to back, one a gap.
	// Eagerness sends one update per receive batch, so with many headsets
	// the group would carry thousands of small updates a second (each a
	// datagram every headset reads, and a send on loopback charged to
	// the server); paced, the inputs of a gap share one. An update waits
	// at most a gap, and only while poses arrive more often than one a
	// gap. Default DefaultEagerUpdateGap; negative: not paced; at most a
	// quarter of a tick.
	EagerUpdateGap time.Duration
	// Persist keeps the world across restarts (checkpoint.go). The zero
	// value keeps nothing.
	Persist Persist
	// Standby makes the server ahead of a takeover (a standby pair's warm
	// server, PROTOCOL §18.3): New allocates and opens everything and
	// restores nothing; TakeOver then hands it the world, the sessions
	// and the epoch, and only then may it Run. Persist.Resume, Sessions
	// and Applied and Epoch are TakeOver's, not New's.
	Standby bool
}

// DefaultSignedUpdateGap bounds a headset's signature checks outside the
// ticks to a thousand a second.
const DefaultSignedUpdateGap = time.Millisecond

// DefaultEagerUpdateGap bounds the open group's eager updates to 8000 a
// second: 2000 headsets' 180 000 poses a second then share about 22 a
// datagram, where a receive batch apiece sent three times as many
// datagrams; 64 headsets' poses (one per 174 µs on average) are seldom
// held back.
const DefaultEagerUpdateGap = 125 * time.Microsecond

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
	if c.HandshakeBudget == 0 {
		c.HandshakeBudget = DefaultHandshakeBudget
	}
	if c.PAKERate == 0 {
		c.PAKERate = DefaultPAKERate
	}
	if c.SessionRate == 0 {
		c.SessionRate = DefaultSessionRate
	}
	if c.ReliableBudget == nil {
		c.ReliableBudget = reliable.NewBudget(reliable.DefaultBudgetBytes)
	}
	if c.ProbeEvery == 0 {
		c.ProbeEvery = DefaultProbeEvery
	}
	if c.ProbeBudget == 0 {
		c.ProbeBudget = DefaultProbeBudget
	}
	if c.MaxFallback == 0 {
		c.MaxFallback = DefaultMaxFallback
	}
	if c.FallbackRate == 0 {
		c.FallbackRate = DefaultFallbackRate
	}
	if c.FallbackBudget == 0 {
		c.FallbackBudget = DefaultFallbackBudget
	}
	if c.HashEvery == 0 {
		c.HashEvery = DefaultHashEvery
	}
	if c.SpinMax == 0 {
		c.SpinMax = DefaultSpinMax
	}
	if c.SignedUpdateGap == 0 {
		c.SignedUpdateGap = DefaultSignedUpdateGap
	}
	if c.EagerUpdateGap == 0 {
		c.EagerUpdateGap = DefaultEagerUpdateGap
	}
	if c.LateTick == 0 && c.TickRate > 0 {
		c.LateTick = time.Duration(c.Period() / 8)
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
	case c.PAKERate < 0:
		return fmt.Errorf("server: PAKERate %v is negative", c.PAKERate)
	case c.HandshakeRate < 0:
		return fmt.Errorf("server: HandshakeRate %v is negative", c.HandshakeRate)
	case c.SessionRate < 0:
		return fmt.Errorf("server: SessionRate %v is negative", c.SessionRate)
	case c.ProbeEvery < 1:
		return fmt.Errorf("server: ProbeEvery %d must be at least 1", c.ProbeEvery)
	case c.ProbeBudget < 1:
		return fmt.Errorf("server: ProbeBudget %d must be at least 1", c.ProbeBudget)
	case c.MaxFallback < 0:
		return fmt.Errorf("server: MaxFallback %d is negative", c.MaxFallback)
	case !(c.FallbackRate > 0):
		return fmt.Errorf("server: FallbackRate %v must be above 0", c.FallbackRate)
	case !(c.FallbackBudget > 0):
		return fmt.Errorf("server: FallbackBudget %v must be above 0", c.FallbackBudget)
	case c.IdleTimeout < 0:
		return fmt.Errorf("server: IdleTimeout %v is negative", c.IdleTimeout)
	case c.RealtimePriority < 0 || c.RealtimePriority > 99:
		return fmt.Errorf("server: RealtimePriority %d out of range 0..99", c.RealtimePriority)
	case c.SpinMax > time.Duration(int64(time.Second)/int64(c.TickRate))/2:
		return fmt.Errorf("server: SpinMax %v is more than half a tick", c.SpinMax)
	case c.CookieLife < 0:
		return fmt.Errorf("server: CookieLife %v is negative", c.CookieLife)
	case c.CoalesceWindow < 0 || c.CoalesceWindow > time.Duration(c.Period()/4):
		return fmt.Errorf("server: CoalesceWindow %v out of range 0..%v (a quarter of a tick)", c.CoalesceWindow, time.Duration(c.Period()/4))
	case c.StateBudgetKbps < 0 || c.StateBudgetKbps > 1_000_000:
		return fmt.Errorf("server: StateBudgetKbps %d out of range 0..1000000", c.StateBudgetKbps)
	case c.EagerUpdateGap > time.Duration(c.Period()/4):
		return fmt.Errorf("server: EagerUpdateGap %v above %v (a quarter of a tick)", c.EagerUpdateGap, time.Duration(c.Period()/4))
	case c.SignedUpdateGap < 0 || c.SignedUpdateGap > time.Duration(c.Period()/4):
		return fmt.Errorf("server: SignedUpdateGap %v out of range 0..%v (a quarter of a tick)", c.SignedUpdateGap, time.Duration(c.Period()/4))
	case c.PinTick && (c.TickCPU < 0 || c.TickCPU >= 1024):
		return fmt.Errorf("server: TickCPU %d out of range 0..1023", c.TickCPU)
	case c.LateTick < 0:
		return fmt.Errorf("server: LateTick %v is negative", c.LateTick)
	}
	if c.Standby && (c.Persist.Resume != nil || len(c.Persist.Sessions) > 0 || len(c.Persist.Applied) > 0 || c.Persist.Group != nil || c.Epoch != 0) {
		return errors.New("server: Standby: the copy to resume from and the epoch are given to TakeOver, not to New")
	}
	return c.Persist.validate()
}

// Period is the tick interval in nanoseconds.
func (c Config) Period() int64 { return int64(time.Second) / int64(c.TickRate) }

// HostProbe is what the server asks of a reference for the host's own
// limits; *hostprobe.Host implements it.
type HostProbe interface {
	// LateAround returns the largest lateness (ns) of the probe's timer
	// wakes whose deadlines fell in [from, to] (monotonic ns), and false
	// if it knows of none there.
	LateAround(from, to int64) (maxLate int64, ok bool)
	// Lateness is the probe's wake lateness so far (ns); Reset clears it.
	Lateness() *metrics.Histogram
	Reset()
	// StealPct is the CPU steal over the last sampling interval, percent
	// of all CPU time (0 when unknown).
	StealPct() float64
}

// Description is what Config.Describe reports. Empty fields are left to
// the server's own guesses.
type Description struct {
	Name      string
	Version   string
	Discovery string
	// Pair is the standby pair's state (PROTOCOL §18): empty for a server
	// not of one.
	Pair string
}
