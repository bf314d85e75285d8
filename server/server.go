// Package server is Arcade's authoritative session layer: the connection
// table, the stateless handshake, eager propagation of inputs, and the tick
// that steps the world and broadcasts its state in the same tick.
//
// The hot path, socket to socket, is one function: Step(now). It reads at
// most a bounded batch of datagrams (receive.go) and handles each — a
// handshake is answered (handshake.go), a pose is applied at once: the
// avatar, and through the World whatever its hands hold (eager.go) —, sends
// what the batch moved in one EntityUpdate, runs the tick if it is due
// (tickstage.go: input → grab → physics, serving the socket between physics
// sub-steps, → broadcast.go), services the reliable channels that are due
// (reliable.go), flushes the send queue (sendq.go) and returns when it next
// needs to run.
//
// Server logic never reads a clock, sleeps or blocks: the time is passed in
// and datagrams go out through a non-blocking Transport; the clocks in
// Config are read only to measure (latency, stage durations). Run drives
// Step on a real socket from the real-time loop of package tick; tests
// drive the same Step on virtual time over an in-memory network.
package server

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/reliable"
	"github.com/arcadexr/arcade/seal"
	"github.com/arcadexr/arcade/statesync"
	"github.com/arcadexr/arcade/tick"
	"github.com/arcadexr/arcade/wire"
)

// Tap observes datagrams for packet capture. Received gets each datagram as
// read (m.RxTime is the kernel timestamp); Sent gets each datagram the
// transport accepted, with the wall clock when its batch was handed to the
// kernel (the instant server-added latency ends at). Both are
// called on the tick thread and must return at once without blocking;
// neither may keep m.
type Tap interface {
	Received(m *udp.Message)
	Sent(m *udp.Message, at int64)
}

// Transport moves datagrams. Neither method may block: ReadBatch returns
// (0, nil) when nothing is waiting; WriteBatchRange sends b.Msgs[from:to]
// and returns how many went, with udp.ErrWouldBlock when the socket buffer
// is full or another error about b.Msgs[from+sent] when that datagram was
// refused. *udp.Conn is the real one.
type Transport interface {
	ReadBatch(b *udp.Batch) (int, error)
	WriteBatchRange(b *udp.Batch, from, to int) (int, error)
}

// never is a deadline that never comes (tick.Never, reliable.Never).
const never = tick.Never

// Server is the authoritative game state and its sessions.
type Server struct {
	cfg    Config
	tr     Transport
	stats  *Stats
	origin int64 // mono ns of server time zero
	// tickAt is the deadline of tick tickNo (mono ns), 0 before the
	// first: a copy for a standby is stamped with its server time.
	tickAt  int64
	sched   *tick.Schedule
	lateBar int64 // a tick starting this long after its deadline is late
	// The real-time loop's latest blocking wait before this Step: armed
	// for, returned at (tick.Loop.LastWait; 0 when Step is driven
	// otherwise).
	waitArmed, waitWoke int64

	rng     *rand.ChaCha8
	cookies *cookieJar

	groupToken uint64
	groupSeq   uint16
	multicastN int // connected clients on multicast

	sess sessions
	rel  relService

	in   *udp.Batch
	out  *udp.Batch
	nout int

	hdr       wire.Header
	snap      wire.Snapshot
	delta     deltaState
	events    chan Event
	body      []byte
	tickNo    uint64
	lastPub   uint64
	pub       publishing
	lastStamp uint64

	handshakes    *sourceLimiter
	handshakeAll  *sourceLimiter // server-wide: rate and burst, one slot
	handshakeSlot limitSlot
	usedCookies   cookieLog
	sessionLimit  *sourceLimiter // its rate and burst; the slots live in the sessions
	allowList     prefixList
	denyList      prefixList

	world    World
	cast     Cast // world, when it is a Cast (cast.go)
	eagerOn  bool
	eager    eagerState
	snapLat  snapSamples // inputs waiting for a snapshot (eager off)
	scratch  []uint16    // entities moved by inputs applied at a tick, discarded
	players  []wire.PlayerState
	entities []wire.EntityState
	quant    quantCache // the players on the wire's grid (quant.go)
	hasher   *stateHasher

	// Started, if set, is called by Run once its thread is set up.
	Started     func()
	realtimeErr error
	loop        atomic.Pointer[tick.Loop] // Run's, for its wake and spin figures; nil before Run

	// Scratch for one message of each kind, reused by handle.
	mConnect  wire.ConnectRequest
	mResponse wire.ChallengeResponse
	mPose     wire.PoseInput
	mPing     wire.Ping
	mDisc     wire.Disconnect
	mReport   wire.DeliveryReport
	mMessage  wire.Message

	rpc rpcState

	persist persistState
	rec     recordState

	// Venue passphrase (Config.Passphrase): it, the multicast group's
	// sealer and signer, the body room sealing takes (0 without a
	// passphrase; a group datagram's signature included), and the budget
	// of CPace exchanges, the costly part of a sealed handshake. outSeal
	// (or outSigned, for the group) seals the datagram being built (begin
	// to finish); sealBuf holds its body meanwhile, openBuf a received body
	// once opened. unconfirmed counts the sessions whose client has yet to
	// prove it derived the same keys.
	passphrase string
	sealed     bool
	group      *seal.Group
	sealRoom   int
	epoch      uint32 // Config.Epoch: stamped on every datagram sent (epoch.go)
	// replica is the copy handed Config.Replicate every tick;
	// steppedDown, that Run is to end without a word (pair.go).
	replica     Replica
	applied     []Applied // calls into the world since the last copy
	copyTick    uint64    // the last copy's tick
	steppedDown atomic.Bool
	warm        bool // made ahead of a takeover (Config.Standby), not yet taken over
	pakeAll     *sourceLimiter
	pakeSlot    limitSlot
	// The answers to unknown session tokens (tellUnknown): per source and
	// in all.
	unknownBySource *sourceLimiter
	unknownAll      *sourceLimiter
	unknownSlot     limitSlot
	// The unicast fallback's rate of moves to unicast (FallbackRate).
	fallbackLimit *sourceLimiter
	fallbackSlot  limitSlot
	unconfirmed   int
	// pacedAt paces eager updates to the group (updateGap, SignedBurst;
	// see sendPaced).
	pacedAt   int64
	outSeal   *seal.Session
	outSigned bool
	sealBuf   [wire.MaxDatagramSize]byte
	openBuf   [wire.MaxDatagramSize]byte
}

// New returns a server that talks through tr. now is the monotonic time (ns)
// that server time counts from; the first tick is due one period later.
func New(cfg Config, tr Transport, now int64) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.WallClock == nil {
		cfg.WallClock = func() int64 { return time.Now().UnixNano() }
	}
	if cfg.MonoClock == nil {
		cfg.MonoClock = tick.Now
	}
	var seed [32]byte
	if cfg.Seed == 0 {
		if _, err := crand.Read(seed[:]); err != nil {
			return nil, err
		}
	} else {
		binary.LittleEndian.PutUint64(seed[:], cfg.Seed)
	}
	rng := rand.NewChaCha8(seed)
	key := make([]byte, 32)
	binary.LittleEndian.PutUint64(key[0:], rng.Uint64())
	binary.LittleEndian.PutUint64(key[8:], rng.Uint64())
	binary.LittleEndian.PutUint64(key[16:], rng.Uint64())
	binary.LittleEndian.PutUint64(key[24:], rng.Uint64())

	s := &Server{
		cfg:      cfg,
		tr:       tr,
		stats:    &Stats{},
		origin:   now,
		sched:    tick.NewSchedule(cfg.Period(), now),
		lateBar:  int64(cfg.LateTick),
		rng:      rng,
		cookies:  newCookieJar(key, cfg.CookieLife.Microseconds()),
		sess:     newSessions(cfg.MaxClients),
		rel:      newRelService(cfg.MaxClients),
		in:       udp.NewBatch(batchSize, wire.MaxDatagramSize+1),
		out:      udp.NewBatch(batchSize, wire.MaxDatagramSize),
		body:     make([]byte, 0, wire.MaxDatagramSize),
		world:    cfg.World,
		eagerOn:  !cfg.NoEager,
		eager:    newEagerState(cfg.MaxClients),
		snapLat:  newSnapSamples(8 * cfg.MaxClients),
		scratch:  make([]uint16, 0, 256),
		players:  make([]wire.PlayerState, 0, cfg.MaxClients),
		entities: make([]wire.EntityState, 0, 1024),
		quant:    newQuantCache(cfg.MaxClients),
		hasher:   newStateHasher(),
	}
	s.delta.group.Settings = statesync.DefaultSettings(cfg.TickRate)
	s.events = make(chan Event, eventBuffer)
	s.delta.budget.Bits = statesync.BitsFor(cfg.StateBudgetKbps, cfg.TickRate)
	if cfg.Passphrase != "" {
		s.passphrase, s.sealed, s.sealRoom = cfg.Passphrase, true, seal.GroupOverhead
		s.pakeAll = &sourceLimiter{rate: cfg.PAKERate, burst: cfg.PAKERate}
		s.pakeSlot = limitSlot{tokens: cfg.PAKERate, last: now}
	}
	s.epoch = cfg.Epoch
	if s.epoch != 0 {
		s.sealRoom += wire.EpochSize
	}
	s.handshakes = newSourceLimiter(4096, cfg.HandshakeRate, 2*cfg.HandshakeRate)
	s.handshakeAll = &sourceLimiter{rate: max(cfg.HandshakeBudget, 0), burst: max(cfg.HandshakeBudget, 0)}
	s.handshakeSlot = limitSlot{tokens: s.handshakeAll.burst, last: now}
	// Every cookie accepted within its life is remembered: with the
	// handshake budget, at most that many a second.
	s.usedCookies = newCookieLog(int(max(cfg.HandshakeBudget, DefaultHandshakeBudget))*int(cfg.CookieLife/time.Second+1), cfg.CookieLife.Microseconds())
	s.sessionLimit = &sourceLimiter{rate: cfg.SessionRate, burst: max(cfg.SessionRate/5, 20)}
	s.fallbackLimit = &sourceLimiter{rate: cfg.FallbackRate, burst: 2 * cfg.FallbackRate}
	s.unknownBySource = newSourceLimiter(4096, 2, 4)
	s.unknownAll = &sourceLimiter{rate: 200, burst: 200}
	s.unknownSlot = limitSlot{tokens: 200, last: now}
	s.fallbackSlot = limitSlot{tokens: 2 * cfg.FallbackRate, last: now}
	s.allowList, s.denyList = cfg.Allow, cfg.Deny
	s.initRPC()
	s.snap.QPlayers = make([]wire.QPlayer, 0, wire.MaxSnapshotPlayers)
	s.snap.Entities = make([]wire.EntityState, 0, wire.MaxSnapshotEntities)
	s.stats.clientsView = make([]ClientInfo, 0, cfg.MaxClients)
	s.pub.list, s.pub.infos = make([]*session, 0, cfg.MaxClients), make([]ClientInfo, 0, cfg.MaxClients)
	s.stats.playersView = make([]wire.PlayerState, 0, cfg.MaxClients)
	s.stats.entitiesView = make([]wire.EntityState, 0, 1024)
	s.groupToken = cfg.GroupToken
	for s.groupToken == 0 {
		s.groupToken = rng.Uint64()
	}
	if err := s.newGroup(); err != nil {
		return nil, err
	}
	if err := s.initCast(); err != nil {
		return nil, err
	}
	if cfg.Standby {
		// Made ahead of a takeover: the rest is TakeOver's.
		s.warm = true
		return s, s.initPair()
	}
	if err := s.start(now); err != nil {
		return nil, err
	}
	return s, nil
}

// start does what New does last, and TakeOver for a server made ahead:
// the recording's first keyframe, the pair's copy, the world restored
// from Persist.Resume and the copied sessions made, the calls after the
// copy made again.
func (s *Server) start(now int64) error {
	if err := s.initRecord(now); err != nil {
		return err
	}
	if err := s.initPair(); err != nil {
		return err
	}
	if err := s.initPersist(now); err != nil {
		return err
	}
	if err := s.restoreSessions(now); err != nil {
		return err
	}
	s.reapply(now)
	return nil
}

// Step does everything due at now (monotonic ns, the clock New's now is
// on), in order, and returns when it next has something due: the next
// tick's deadline, an earlier reliable deadline, the end of an eager
// update's coalescing window, or now itself when the receive budget ran
// out with datagrams still waiting. A caller runs Step when a datagram
// arrives and at the time it returned, whichever comes first; running it
// more often does no harm.
//
// In order: read at most a bounded batch and handle it (poses applied at
// once when eager); send the EntityUpdate of what the batch moved; if the
// tick is due, run it (input → grab → physics → broadcast); service the
// reliable channels that are due; flush.
func (s *Server) Step(now int64) (next int64) {
	more := s.receive(now, recvBudget)
	if now >= s.eagerDue() && now < s.sched.Next() {
		// (With the tick due, the tick sends it first, under its own
		// number: every state is stamped within its tick's period.)
		s.sendPaced(now)
	}
	if now >= s.sched.Next() {
		deadline, tickNo, missed := s.sched.Fire(now)
		late := now - deadline
		s.stats.TickLateness.Record(late)
		s.classifyLate(deadline, now, late)
		if missed > 0 {
			// The served deadline is the latest one passed; the tick is
			// as late as the first deadline skipped, whose fault that is.
			first := deadline - int64(missed)*s.cfg.Period()
			cause := s.lateCause(first, now, now-first)
			if cause == lateArcade && s.sleptThrough(first, now) {
				cause = lateWake
			}
			switch cause {
			case lateHost:
				s.stats.MissedTicksHost.Add(missed)
			case lateArcade:
				s.stats.MissedTicksArcade.Add(missed)
			case lateWake:
				s.stats.MissedTicksWake.Add(missed)
			default:
				s.stats.MissedTicksUnknown.Add(missed)
			}
			s.stats.MissedTicks.Add(missed)
		}
		s.tickAt = deadline
		s.runTick(now, s.persist.tickBase+tickNo)
		s.afterTick(now)
	}
	s.serviceReliable(now)
	s.flush()
	if more {
		return now
	}
	return min(s.sched.Next(), s.rel.next(), s.eagerDue())
}

// NextTick returns the deadline of the next tick.
func (s *Server) NextTick() int64 { return s.sched.Next() }

// Busy reports whether anything waits on the next tick being on time:
// some headset is connected. An idle server need not spin for its ticks.
func (s *Server) Busy() bool { return len(s.sess.order) > 0 }

// A late tick's cause (classifyLate).
const (
	lateNot     = iota // not late: under Config.LateTick
	lateHost           // the reference probe woke as late around then
	lateArcade         // the probe was on time: the tick thread was busy
	lateUnknown        // no probe, or no probe deadline in the window
	lateWake           // the probe was on time, but the tick thread slept through the deadline: its own wake-up came late
)

// sleptThrough reports whether the loop's latest blocking wait was armed
// for deadline or before it and returned late by at least half of how late
// the tick at now is after deadline: the thread was asleep, not busy, while
// the deadline passed, and the operating system woke it late.
func (s *Server) sleptThrough(deadline, now int64) bool {
	if s.waitWoke == 0 || s.waitArmed > deadline {
		return false
	}
	return 2*(s.waitWoke-s.waitArmed) >= now-deadline
}

// classifyLate counts a tick that started late by at least Config.LateTick
// by its cause (lateCause).
func (s *Server) classifyLate(deadline, now, late int64) {
	switch s.lateCause(deadline, now, late) {
	case lateHost:
		s.stats.TicksLateHost.Inc()
	case lateArcade:
		s.stats.TicksLateArcade.Inc()
	case lateUnknown:
		s.stats.TicksLateUnknown.Inc()
	}
}

// lateCause says whose fault a tick's start late by late ns after
// deadline, at now, is: not late (under Config.LateTick), the host's (the
// reference probe woke as late, or later, around the same time), Arcade's
// (the probe was on time: the tick thread was busy), or unknown (no probe,
// or no probe deadline in the window).
func (s *Server) lateCause(deadline, now, late int64) int {
	if late < s.lateBar {
		return lateNot
	}
	p := s.cfg.HostProbe
	if p == nil {
		return lateUnknown
	}
	hostLate, ok := p.LateAround(deadline-s.cfg.Period(), now)
	switch {
	case !ok:
		return lateUnknown
	case 2*hostLate >= late:
		return lateHost
	default:
		return lateArcade
	}
}

// Stats returns the server's live counters.
func (s *Server) Stats() *Stats { return s.stats }

// Config returns the validated configuration.
func (s *Server) Config() Config { return s.cfg }

// GroupToken is the token multicast snapshots carry.
func (s *Server) GroupToken() uint64 { return s.groupToken }

// newEndpoint returns a session's reliable endpoint: RPC streams and
// message size, and payloads that fill a Message datagram.
func (s *Server) newEndpoint() *reliable.Endpoint {
	ep, err := reliable.New(reliable.Config{
		Streams:    wire.RPCStreams,
		MaxMessage: wire.MaxRPCMessage,
		MTU:        wire.MaxMessagePayload - s.sealRoom,
		Budget:     s.cfg.ReliableBudget,
	})
	if err != nil {
		panic("server: reliable config: " + err.Error()) // constant config
	}
	return ep
}

// publishing is a refresh of the client list readers see, spread over
// the ticks of a publish period: a pass over thousands of sessions (each
// entry copies the session's latency rings and reliable statistics) in
// one tick would take milliseconds of it.
type publishing struct {
	active bool         // a refresh is under way
	list   []*session   // the sessions of this refresh
	infos  []ClientInfo // their entries so far
}

// publishChunk is the fewest sessions a tick's share of a refresh covers:
// up to this many, a refresh is done in the tick that starts it.
const publishChunk = 64

// startPublish starts a refresh of the client list: of the players now.
func (s *Server) startPublish() {
	p := &s.pub
	p.active, p.list = true, p.list[:0]
	for _, c := range s.sess.order {
		if c.confirmed { // not a player until it proves the passphrase
			p.list = append(p.list, c)
		}
	}
	p.infos = p.infos[:0]
}

// publish takes the refresh under way a tick's share further, and hands
// it to readers once whole (unless a reader holds the list: then at a
// later tick). A session that ends meanwhile is in it as it last was.
func (s *Server) publish(now int64) {
	p := &s.pub
	if !p.active {
		return
	}
	per := max(publishChunk, (len(p.list)*publishHz+int(s.cfg.TickRate)-1)/int(s.cfg.TickRate))
	for range per {
		if len(p.infos) == len(p.list) {
			break
		}
		p.infos = append(p.infos, s.clientInfo(now, p.list[len(p.infos)]))
	}
	if len(p.infos) < len(p.list) {
		return
	}
	st := s.stats
	if !st.clientsMu.TryLock() {
		return
	}
	st.clientsView, p.infos = p.infos, st.clientsView[:0]
	st.playersView = append(st.playersView[:0], s.players...)
	st.entitiesView = append(st.entitiesView[:0], s.entities...)
	st.clientsMu.Unlock()
	p.active = false
	clear(p.list) // the sessions may end: not kept from the collector
	p.list = p.list[:0]
}

// clientInfo is c's entry in the client list.
func (s *Server) clientInfo(now int64, c *session) ClientInfo {
	d := "multicast"
	if c.unicast {
		d = "unicast"
	}
	r := &c.delivery.last
	info := ClientInfo{
		ID:             c.id,
		Name:           c.name,
		Addr:           c.addrStr,
		Delivery:       d,
		DeliveryReason: c.delivery.reason,
		Fallback:       c.unicast && !c.fixedUnicast,
		LastInputSeq:   c.applied.InputSeq,
		Inputs:         c.inputs,
		IdleMs:         (now - c.lastHeard) / 1e6,
	}
	info.rttNs = c.rtt.estimate()
	rs := c.ep.Stats()
	info.ReliableRTTMs = float64(rs.RTT) / 1e6
	info.JitterMs = float64(rs.Jitter) / 1e6
	info.Retransmits = rs.Retransmits
	info.ReliableLossPct = 100 * rs.Loss
	info.UpstreamLossPct = c.up.lossPct()
	c.up.mark(now)
	info.UpstreamLossRecentPct = c.up.recentLossPct()
	info.ConnectedMs = (now - c.created) / 1e6
	info.BytesIn, info.BytesOut = rs.BytesIn, rs.BytesOut
	info.MessagesIn, info.MessagesOut = rs.MessagesIn, rs.MessagesOut
	info.lat, info.grabLat = c.lat, c.grabLat
	c.desync.info(&info, now)
	if c.delivery.reports > 0 {
		if n := int(r.McastReceived) + int(r.McastLost); n > 0 {
			info.McastLossPct = 100 * float64(r.McastLost) / float64(n)
		}
		info.McastLossRecentPct = c.delivery.recentMcastLossPct()
		info.McastExcessP90Ms = float64(r.ExcessP90) / 1e3
		info.UnicastLossPct = -1
		if r.UnicastLoss != wire.UnicastLossUnknown {
			info.UnicastLossPct = 100 * float64(r.UnicastLoss) / wire.MaxUnicastLoss
		}
	}
	return info
}
