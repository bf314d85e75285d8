// Package server is Arcade's authoritative session layer: the connection
// table, the stateless handshake, and the tick that turns the newest pose of
// every headset into one snapshot sent in the same tick.
//
// Server holds the logic and never reads a clock or blocks: datagrams and the
// current time are passed in, datagrams go out through a Transport. Run drives
// it on a real socket with a timerfd; tests drive it on an in-memory network.
package server

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"arcade/internal/udp"
	"arcade/reliable"
	"arcade/seal"
	"arcade/tick"
	"arcade/wire"
)

// Tap observes datagrams for packet capture. Received gets each datagram as
// read (m.RxTime is the kernel timestamp); Sent gets each datagram the
// transport accepted, with the wall clock after the send returned. Both are
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

// Stage names, in the order they run every tick.
const (
	StageInput     = "input"
	StageGrab      = "grab"
	StagePhysics   = "physics"
	StageBroadcast = "broadcast"
)

const (
	// maxUpdateCauses bounds the inputs one EntityUpdate names, leaving
	// room for entities.
	maxUpdateCauses = 64
	batchSize       = 64
	// recvBudget bounds the batches read per Receive call so a flood cannot
	// hold off a tick.
	recvBudget = 8
	// publishEvery is how often (in ticks, at most) the client list for
	// readers is refreshed.
	publishHz = 10
)

// conn is one connected headset. The tick thread owns it.
type conn struct {
	id      uint16
	token   uint64
	nonce   uint64
	addr    netip.AddrPort
	addrStr string
	name    string
	unicast bool // snapshots go to this client by unicast now
	// playerID identifies the player across sessions (zero: anonymous);
	// resumed says this session took over a departed one.
	playerID [wire.PlayerIDSize]byte
	resumed  bool
	// fixedUnicast: asked for unicast at connect, or multicast is off. Such
	// a client is never probed or switched.
	fixedUnicast bool
	delivery     deliveryState
	lastHeard    int64 // mono ns

	// ep is the session's reliable channel. It owns the packet sequence of
	// every datagram on the session (the header's Seq) and the
	// acknowledgements of the client's (Ack, AckBits).
	ep *reliable.Endpoint
	// relAt is ep.NextTimeout as of the last call; relDirty says ep took
	// a datagram or a message since, so relAt must be asked again.
	relAt    int64
	relDirty bool
	limit    limitSlot // this session's datagram budget
	// seal seals and opens every datagram after the handshake when the
	// server has a passphrase; nil otherwise.
	seal    *seal.Session
	rtt     rttTracker
	up      upstream // loss on the client's path to the server
	lat     latRing  // server-added latency of this client's inputs
	grabLat latRing  // the same, for held objects

	pending    wire.PoseInput // newest input received since the last tick
	hasPending bool
	pendingRx  int64          // kernel receive time of pending, wall ns
	applied    wire.PoseInput // the avatar as of the last tick
	hasApplied bool
	inputs     uint64
	worldSeq   uint32 // newest input the World has applied (eagerly or at a tick)
	worldHas   bool
}

// Server is the authoritative game state and its sessions.
type Server struct {
	cfg      Config
	tr       Transport
	stats    *Stats
	pipeline *tick.Pipeline
	origin   int64 // mono ns of server time zero
	rng      *rand.ChaCha8
	cookies  *cookieJar

	groupToken uint64
	groupSeq   uint16
	multicastN int // connected clients on multicast

	byToken map[uint64]*conn
	byAddr  map[netip.AddrPort]*conn
	order   []*conn // connected, sorted by id
	usedIDs []bool  // index = client id
	// Players whose session ended within ResumeWindow, and the ids kept
	// for them meanwhile.
	departed      map[[wire.PlayerIDSize]byte]departed
	reservedUntil []int64

	in   *udp.Batch
	out  *udp.Batch
	nout int

	hdr       wire.Header
	snap      wire.Snapshot
	body      []byte
	latencyRx []latSample // the inputs applied this tick
	grabRx    []latSample // the same, of players holding something (not eager)
	tickNo    uint64
	lastPub   uint64

	lastStamp uint64
	grabStart int64
	// serveDuringStep is s.receiveNow, bound once: physics calls it
	// between sub-steps so an arriving pose is not held up by the step.
	serveDuringStep func()

	handshakes *sourceLimiter
	sessions   *sourceLimiter // its rate and burst; the slots live in the conns
	allowList  prefixList
	denyList   prefixList

	world    World
	eager    bool
	moved    []uint16 // entities moved by inputs since the last update
	stamp    []uint32 // per entity id: the update generation that listed it
	gen      uint32
	causes   []cause           // inputs whose effect the pending update carries
	upd      wire.EntityUpdate // eager update being built
	players  []wire.PlayerState
	entities []wire.EntityState
	hasher   *stateHasher

	// Started, if set, is called by Run once its thread is set up.
	Started     func()
	realtimeErr error

	// Scratch for one message of each kind, reused by handle.
	mConnect  wire.ConnectRequest
	mResponse wire.ChallengeResponse
	mPose     wire.PoseInput
	mPing     wire.Ping
	mDisc     wire.Disconnect
	mReport   wire.DeliveryReport
	mMessage  wire.Message

	rpc rpcState

	// Venue passphrase (Config.Passphrase): its key, the multicast group's
	// sealer, and the body room sealing takes (0 without a passphrase).
	// outSeal seals the datagram being built (begin to finish); sealBuf
	// holds its body meanwhile, openBuf a received body once opened.
	passKey  [seal.KeySize]byte
	sealed   bool
	group    *seal.Session
	sealRoom int
	outSeal  *seal.Session
	sealBuf  [wire.MaxDatagramSize]byte
	openBuf  [wire.MaxDatagramSize]byte
}

// cause is an input applied eagerly, waiting for the update that carries
// its effect.
// latSample is an applied input waiting for the send that carries it.
type latSample struct {
	c  *conn
	rx int64
}

type cause struct {
	c      *conn
	client uint16
	seq    uint32
	rx     int64
}

// New returns a server that talks through tr. now is the monotonic time (ns)
// that server time counts from.
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
		cfg:           cfg,
		tr:            tr,
		stats:         &Stats{},
		origin:        now,
		rng:           rng,
		cookies:       newCookieJar(key, cfg.CookieLife.Microseconds()),
		byToken:       make(map[uint64]*conn, cfg.MaxClients),
		byAddr:        make(map[netip.AddrPort]*conn, cfg.MaxClients),
		order:         make([]*conn, 0, cfg.MaxClients),
		usedIDs:       make([]bool, cfg.MaxClients+1),
		departed:      make(map[[wire.PlayerIDSize]byte]departed),
		reservedUntil: make([]int64, cfg.MaxClients+1),
		in:            udp.NewBatch(batchSize, wire.MaxDatagramSize+1),
		out:           udp.NewBatch(batchSize, wire.MaxDatagramSize),
		body:          make([]byte, 0, wire.MaxDatagramSize),
		latencyRx:     make([]latSample, 0, cfg.MaxClients),
	}
	if cfg.Passphrase != "" {
		k, err := seal.PassphraseKey(cfg.Passphrase)
		if err != nil {
			return nil, err
		}
		s.passKey, s.sealed, s.sealRoom = k, true, seal.Overhead
	}
	s.handshakes = newSourceLimiter(4096, cfg.HandshakeRate, 2*cfg.HandshakeRate)
	s.sessions = &sourceLimiter{rate: cfg.SessionRate, burst: max(cfg.SessionRate/5, 20)}
	s.allowList, s.denyList = cfg.Allow, cfg.Deny
	s.world = cfg.World
	s.eager = cfg.World != nil && !cfg.NoEager
	s.moved = make([]uint16, 0, 256)
	s.stamp = make([]uint32, 1<<16)
	s.causes = make([]cause, 0, cfg.MaxClients)
	s.grabRx = make([]latSample, 0, cfg.MaxClients)
	s.upd.Entities = make([]wire.EntityState, 0, wire.MaxEntityUpdateEntities)
	s.upd.Causes = make([]wire.UpdateCause, 0, maxUpdateCauses)
	s.players = make([]wire.PlayerState, 0, cfg.MaxClients)
	s.entities = make([]wire.EntityState, 0, 1024)
	s.hasher = newStateHasher()
	s.serveDuringStep = s.receiveNow
	s.initRPC()
	s.snap.Players = make([]wire.PlayerState, 0, wire.MaxSnapshotPlayers)
	s.snap.Entities = make([]wire.EntityState, 0, wire.MaxSnapshotEntities)
	s.stats.clientsView = make([]ClientInfo, 0, cfg.MaxClients)
	s.stats.playersView = make([]wire.PlayerState, 0, cfg.MaxClients)
	s.stats.entitiesView = make([]wire.EntityState, 0, 1024)
	for s.groupToken == 0 {
		s.groupToken = rng.Uint64()
	}
	if s.sealed {
		g, err := seal.NewGroup(&s.passKey, s.groupToken)
		if err != nil {
			return nil, err
		}
		s.group = g
	}
	s.pipeline = tick.NewPipeline(cfg.MonoClock,
		tick.Stage{Name: StageInput, Run: s.stageInput},
		tick.Stage{Name: StageGrab, Run: s.stageGrab},
		tick.Stage{Name: StagePhysics, Run: s.stagePhysics},
		tick.Stage{Name: StageBroadcast, Run: s.stageBroadcast},
	)
	return s, nil
}

// Stats returns the server's live counters.
func (s *Server) Stats() *Stats { return s.stats }

// Pipeline returns the tick pipeline, for its stage timings.
func (s *Server) Pipeline() *tick.Pipeline { return s.pipeline }

// Config returns the validated configuration.
func (s *Server) Config() Config { return s.cfg }

// GroupToken is the token multicast snapshots carry.
func (s *Server) GroupToken() uint64 { return s.groupToken }

func (s *Server) micros(now int64) uint64 { return uint64((now - s.origin) / 1e3) }

// stateTime returns the server time for a state message (snapshot or entity
// update): strictly increasing, so a receiver can always tell which of two
// states of an entity is newer.
func (s *Server) stateTime(now int64) uint64 {
	t := max(s.micros(now), s.lastStamp+1)
	s.lastStamp = t
	return t
}

// Receive reads every datagram already waiting on the transport (up to a
// budget) and handles it: handshakes and pings are answered at once, poses
// are kept for the next tick. It reports whether the budget ran out with
// datagrams possibly still waiting.
func (s *Server) Receive(now int64) (more bool) {
	defer s.sendUpdate(now)
	for range recvBudget {
		n, err := s.tr.ReadBatch(s.in)
		if err != nil || n == 0 {
			return false
		}
		wall := s.cfg.WallClock()
		for i := range n {
			if rx := s.in.Msgs[i].RxTime; rx != 0 {
				s.stats.RxDelay.Record(wall - rx)
			}
			if s.cfg.Tap != nil {
				s.cfg.Tap.Received(&s.in.Msgs[i])
			}
			s.handle(now, &s.in.Msgs[i])
		}
		if n < len(s.in.Msgs) {
			return false
		}
	}
	return true
}

// receiveNow is Receive at the current time, for use inside a stage.
func (s *Server) receiveNow() { s.Receive(s.cfg.MonoClock()) }

// handle acts on one received datagram or drops it with a counted reason.
func (s *Server) handle(now int64, m *udp.Message) {
	s.stats.RxPackets.Inc()
	if m.Truncated || m.N > wire.MaxDatagramSize {
		s.stats.drop(DropTooLarge)
		return
	}
	if from := m.Addr.Addr(); len(s.denyList) > 0 && s.denyList.contains(from) || len(s.allowList) > 0 && !s.allowList.contains(from) {
		s.stats.drop(DropDenied)
		return
	}
	b := m.Buf[:m.N]
	h := &s.hdr
	n, err := h.Parse(b)
	if err != nil {
		if err == wire.ErrVersion && h.Type == wire.TypeConnectRequest && len(b) >= wire.MinConnectRequestSize {
			s.denyVersion(m.Addr, b[wire.HeaderSize:])
		}
		s.stats.drop(dropReasonFor(err))
		return
	}
	body := b[n:]
	switch h.Type {
	case wire.TypeConnectRequest, wire.TypeChallengeResponse:
		if !s.handshakes.allow(m.Addr.Addr(), now) {
			s.stats.drop(DropRateLimited)
			return
		}
		if h.Type == wire.TypeConnectRequest {
			s.onConnectRequest(now, m.Addr, body)
		} else {
			s.onChallengeResponse(now, m.Addr, body)
		}
	case wire.TypePoseInput, wire.TypePing, wire.TypeDisconnect, wire.TypeDeliveryReport, wire.TypeMessage:
		c := s.byToken[h.Token]
		if c == nil {
			s.stats.drop(DropUnknownToken)
			return
		}
		if c.addr != m.Addr {
			s.stats.drop(DropWrongSource)
			return
		}
		if s.sessions.rate > 0 && !s.sessions.spend(&c.limit, now) {
			s.stats.drop(DropRateLimited)
			return
		}
		if c.seal != nil {
			if body = s.open(c.seal, h, b); body == nil {
				return
			}
		}
		c.rtt.acked(h.Ack, now)
		c.up.observe(h.Seq)
		s.onSession(now, c, h, body, m.RxTime)
	default:
		s.stats.drop(DropUnexpected)
	}
}

// open checks and decrypts the sealed datagram b of a session whose
// sealer is sl and returns its body (in s.openBuf), or nil after counting
// the drop.
func (s *Server) open(sl *seal.Session, h *wire.Header, b []byte) []byte {
	if h.Flags&wire.FlagSealed == 0 {
		s.stats.drop(DropUnsealed)
		return nil
	}
	body, err := sl.Open(s.openBuf[:0], b[:wire.HeaderSize], b[wire.HeaderSize:])
	switch err {
	case nil:
		return body[:len(body):len(body)]
	case seal.ErrReplay:
		s.stats.drop(DropReplayed)
	default:
		s.stats.drop(DropBadSeal)
	}
	return nil
}

func (s *Server) onConnectRequest(now int64, from netip.AddrPort, body []byte) {
	m := &s.mConnect
	if _, err := m.Parse(body); err != nil {
		s.stats.drop(dropReasonFor(err))
		return
	}
	// Stateless: the reply is a cookie, far smaller than the padded request.
	var ch wire.Challenge
	ch.ClientNonce = m.ClientNonce
	s.cookies.issue(&ch.Cookie, s.micros(now), from, m.ClientNonce)
	b := s.begin(from, wire.Header{Type: wire.TypeChallenge})
	s.finish(ch.Append(b))
}

func (s *Server) onChallengeResponse(now int64, from netip.AddrPort, body []byte) {
	m := &s.mResponse
	if _, err := m.Parse(body); err != nil {
		s.stats.drop(dropReasonFor(err))
		return
	}
	if !s.cookies.check(&m.Cookie, s.micros(now), from, m.ClientNonce) {
		s.stats.drop(DropBadCookie)
		s.deny(from, m.ClientNonce, wire.DenyBadCookie)
		return
	}
	if s.sealed && (m.Flags&wire.ConnectHasProof == 0 || !seal.CheckProof(&s.passKey, m.ClientNonce, m.Cookie[:], m.Proof)) {
		s.stats.drop(DropBadPassphrase)
		s.deny(from, m.ClientNonce, wire.DenyBadPassphrase)
		return
	}
	if c := s.byAddr[from]; c != nil {
		if c.nonce == m.ClientNonce {
			// Our Accepted was lost; say it again.
			c.lastHeard = now
			s.sendAccepted(now, c)
			return
		}
		// The same source started a new session: the old one is over.
		s.remove(now, c, wire.DisconnectClientLeft, false)
	}
	// The same player from elsewhere (a headset that roamed to another
	// address): its old session ends as if it had left, and this one
	// resumes it.
	if old := s.liveByPlayer(m.PlayerID); old != nil {
		s.remove(now, old, wire.DisconnectClientLeft, true)
	}
	prev, resume := s.resumable(now, m.PlayerID)
	id := prev.id
	if !resume {
		id = s.freeID(now)
	}
	if id == 0 {
		s.stats.drop(DropServerFull)
		s.deny(from, m.ClientNonce, wire.DenyServerFull)
		return
	}
	var sl *seal.Session
	if s.sealed {
		var err error
		if sl, err = seal.NewSession(&s.passKey, m.ClientNonce, m.Cookie[:], true); err != nil {
			s.stats.drop(DropBadPassphrase) // cannot happen: the key sizes are fixed
			return
		}
	}
	c := &conn{
		seal:      sl,
		id:        id,
		token:     s.newToken(),
		nonce:     m.ClientNonce,
		addr:      from,
		addrStr:   from.String(),
		name:      string(m.Name[:m.NameLen]),
		unicast:   m.Flags&wire.ConnectWantUnicast != 0 || s.cfg.NoMulticast,
		lastHeard: now,
		limit:     limitSlot{tokens: s.sessions.burst, last: now},
		playerID:  m.PlayerID,
		resumed:   resume,
		ep:        s.newEndpoint(),
		relAt:     reliable.Never,
	}
	if resume && prev.has {
		// The avatar stays where it was until the first new input.
		c.applied, c.hasApplied = prev.avatar, true
	}
	s.usedIDs[id] = true
	s.byToken[c.token] = c
	s.byAddr[from] = c
	i, _ := slices.BinarySearchFunc(s.order, id, func(c *conn, id uint16) int { return int(c.id) - int(id) })
	s.order = slices.Insert(s.order, i, c)
	c.fixedUnicast = c.unicast
	c.delivery.reason = reasonMulticast
	if c.fixedUnicast {
		c.delivery.reason = reasonAsked
		if s.cfg.NoMulticast {
			c.delivery.reason = reasonNoMulticast
		}
	} else {
		s.multicastN++
	}
	s.stats.Clients.Store(int64(len(s.order)))
	if s.world != nil {
		s.world.AddPlayer(id, now)
	}
	s.sendAccepted(now, c)
}

func (s *Server) sendAccepted(now int64, c *conn) {
	a := wire.Accepted{
		ClientNonce: c.nonce,
		ClientID:    c.id,
		TickRate:    uint16(s.cfg.TickRate),
		ServerTime:  s.micros(now),
		GroupToken:  s.groupToken,
	}
	if !s.cfg.NoMulticast {
		a.Multicast = s.cfg.Multicast
	}
	if c.unicast {
		a.Flags |= wire.AcceptedUnicast
	}
	if c.resumed {
		a.Flags |= wire.AcceptedResumed
	}
	if c.seal != nil {
		a.Flags |= wire.AcceptedSealed
	}
	// The Accepted is the last datagram in clear: beginConn does not seal it.
	s.finish(a.Append(s.beginConn(c, wire.TypeAccepted)))
}

func (s *Server) deny(to netip.AddrPort, nonce uint64, r wire.DenyReason) {
	d := wire.Denied{ClientNonce: nonce, Reason: r}
	s.finish(d.Append(s.begin(to, wire.Header{Type: wire.TypeDenied})))
}

// denyVersion answers a padded connect request of another protocol version.
// Every version's connect request body starts with the client nonce.
func (s *Server) denyVersion(to netip.AddrPort, body []byte) {
	if len(body) < 8 {
		return
	}
	s.deny(to, binary.LittleEndian.Uint64(body), wire.DenyVersionMismatch)
}

// onSession handles a datagram from a verified session.
func (s *Server) onSession(now int64, c *conn, h *wire.Header, body []byte, rx int64) {
	switch h.Type {
	case wire.TypePoseInput:
		m := &s.mPose
		if _, err := m.Parse(body); err != nil {
			s.stats.drop(dropReasonFor(err))
			return
		}
		c.lastHeard = now
		s.recordSeq(now, c, h)
		newest := &c.applied
		if c.hasPending {
			newest = &c.pending
		}
		if (c.hasPending || c.hasApplied) && int32(m.InputSeq-newest.InputSeq) <= 0 {
			s.stats.drop(DropStaleInput)
			return
		}
		c.pending = *m
		c.hasPending = true
		c.pendingRx = rx
		c.inputs++
		if s.eager {
			n := len(s.moved)
			s.moved = s.world.ApplyInput(c.id, m, now, s.moved)
			c.worldSeq, c.worldHas = m.InputSeq, true
			if len(s.moved) > n && rx != 0 {
				s.causes = append(s.causes, cause{c: c, client: c.id, seq: m.InputSeq, rx: rx})
			}
		}
	case wire.TypePing:
		m := &s.mPing
		if _, err := m.Parse(body); err != nil {
			s.stats.drop(dropReasonFor(err))
			return
		}
		c.lastHeard = now
		s.recordSeq(now, c, h)
		p := wire.Pong{PingID: m.PingID, ClientTime: m.ClientTime, ServerRecvTime: s.micros(now), ServerSendTime: s.micros(now)}
		s.finish(p.Append(s.beginConn(c, wire.TypePong)))
	case wire.TypeDeliveryReport:
		if _, err := s.mReport.Parse(body); err != nil {
			s.stats.drop(dropReasonFor(err))
			return
		}
		c.lastHeard = now
		s.recordSeq(now, c, h)
		s.onDeliveryReport(now, c, &s.mReport)
	case wire.TypeMessage:
		if _, err := s.mMessage.Parse(body); err != nil {
			s.stats.drop(dropReasonFor(err))
			return
		}
		s.onMessage(now, c, h, s.mMessage.Payload)
	case wire.TypeDisconnect:
		if _, err := s.mDisc.Parse(body); err != nil {
			s.stats.drop(dropReasonFor(err))
			return
		}
		s.remove(now, c, wire.DisconnectClientLeft, false)
	}
}

// Tick runs one tick of the pipeline at time now (monotonic ns). tickNo is
// the tick's number on the schedule's grid.
func (s *Server) Tick(now int64, tickNo uint64) {
	s.tickNo = tickNo
	s.stats.Ticks.Inc()
	s.pipeline.Run(now)
	s.serviceReliable(now)
	s.flush()
	if tickNo-s.lastPub >= uint64(max(1, s.cfg.TickRate/publishHz)) {
		s.lastPub = tickNo
		s.publish(now)
		s.forgetDeparted(now)
	}
}

// stageInput drains the socket, applies the newest pose of every client and
// removes clients that went silent.
func (s *Server) stageInput(now int64) {
	for s.Receive(now) {
	}
	s.latencyRx = s.latencyRx[:0]
	s.grabRx = s.grabRx[:0]
	for i := 0; i < len(s.order); i++ {
		c := s.order[i]
		if now-c.lastHeard > int64(s.cfg.IdleTimeout) {
			s.remove(now, c, wire.DisconnectTimeout, true)
			i--
			continue
		}
		if c.hasPending {
			c.applied = c.pending
			c.hasApplied = true
			c.hasPending = false
			if s.world != nil && (!c.worldHas || c.worldSeq != c.applied.InputSeq) {
				s.moved = s.world.ApplyInput(c.id, &c.applied, now, s.moved)
				c.worldSeq, c.worldHas = c.applied.InputSeq, true
			}
			if c.pendingRx != 0 {
				s.latencyRx = append(s.latencyRx, latSample{c, c.pendingRx})
				if s.world != nil && !s.eager && s.world.Holding(c.id) {
					s.grabRx = append(s.grabRx, latSample{c, c.pendingRx})
				}
			}
		}
	}
}

// stageGrab propagates every grab chain in dependency order, so a ball held
// by a racket held by a hand moves in the tick of the hand's pose.
func (s *Server) stageGrab(now int64) {
	s.grabStart = s.cfg.MonoClock()
	// Objects moved by inputs applied at this tick go out in its snapshot.
	s.moved = s.moved[:0]
	if s.world != nil {
		s.world.Propagate(now)
	}
}

// stagePhysics steps the simulation by one tick.
func (s *Server) stagePhysics(now int64) {
	if s.world != nil {
		n := s.world.BeginStep(now, 1/float64(s.cfg.TickRate))
		for i := range n {
			s.world.SubStep(i)
			if i < n-1 {
				s.serveDuringStep()
			}
		}
		s.world.EndStep(now)
	}
	s.stats.GrabPhysics.Record(s.cfg.MonoClock() - s.grabStart)
}

// stageBroadcast encodes the tick's state once and sends it: one datagram per
// part to the multicast group and one per part to every unicast client, in a
// single batch, then records the server-added latency of the inputs applied.
// Parts hold players first, then entities, as many as fit.
func (s *Server) stageBroadcast(now int64) {
	if s.eager {
		// Whatever arrived during physics is applied and sent now, and so
		// is in this snapshot too.
		s.Receive(s.cfg.MonoClock())
	}
	s.players = s.players[:0]
	for _, c := range s.order {
		// A pose that arrived during this tick and that the world has
		// already applied (eagerly, between physics sub-steps) is what the
		// world shows: report it, so the avatar, LastInputSeq and the held
		// objects agree.
		if c.hasPending && (s.world == nil || c.worldHas && c.worldSeq == c.pending.InputSeq) {
			c.applied = c.pending
			c.hasApplied = true
			c.hasPending = false
			if c.pendingRx != 0 {
				s.latencyRx = append(s.latencyRx, latSample{c, c.pendingRx})
			}
		}
		a := &c.applied
		s.players = append(s.players, wire.PlayerState{
			ClientID:     c.id,
			LastInputSeq: a.InputSeq,
			Tracking:     a.Tracking,
			Head:         a.Head,
			Hands:        a.Hands,
		})
	}
	s.entities = s.entities[:0]
	if s.world != nil {
		s.entities = s.world.Entities(s.entities)
	}
	s.snap.Tick = uint32(s.tickNo)
	s.snap.ServerTime = s.stateTime(now)
	s.snap.PlayerCount = uint16(len(s.players))
	s.snap.Flags = 0
	s.snap.StateHash = 0
	if s.cfg.HashEvery > 0 && s.tickNo%uint64(s.cfg.HashEvery) == 0 {
		s.snap.Flags = wire.SnapshotHasHash
		s.snap.StateHash = s.hasher.sum(s.snap.Tick, s.players, s.entities)
	}
	hasHash := s.snap.Flags&wire.SnapshotHasHash != 0
	parts := 0
	for p, e := 0, 0; ; {
		p, e = s.nextPart(p, e, hasHash)
		parts++
		if p == len(s.players) && e == len(s.entities) {
			break
		}
	}
	s.snap.Parts = uint8(min(parts, 255))
	firstGroupSeq := s.groupSeq
	p, e := 0, 0
	for part := 0; part < parts && part < 255; part++ {
		np, ne := s.nextPart(p, e, hasHash)
		s.snap.Part = uint8(part)
		s.snap.Players = append(s.snap.Players[:0], s.players[p:np]...)
		s.snap.Entities = append(s.snap.Entities[:0], s.entities[e:ne]...)
		p, e = np, ne
		s.body = s.snap.Append(s.body[:0])
		s.sendAll(wire.TypeSnapshot)
	}
	s.sendProbes(firstGroupSeq)
	sentAt := s.flush()
	for _, l := range s.latencyRx {
		s.stats.ServerAdded.Record(sentAt - l.rx)
		l.c.lat.add(sentAt - l.rx)
	}
	for _, l := range s.grabRx {
		s.stats.ServerAddedGrab.Record(sentAt - l.rx)
		l.c.grabLat.add(sentAt - l.rx)
	}
}

// nextPart returns where the snapshot part starting at player p and entity
// e ends: players first, then entities, while the body fits a datagram.
func (s *Server) nextPart(p, e int, hasHash bool) (int, int) {
	room := wire.MaxBodySize - s.sealRoom - wire.SnapshotLen(0, 0, hasHash)
	np := min(len(s.players)-p, room/wire.SnapshotPlayerSize, wire.MaxSnapshotPlayers)
	room -= np * wire.SnapshotPlayerSize
	ne := 0
	if p+np == len(s.players) {
		ne = min(len(s.entities)-e, room/wire.SnapshotEntitySize, wire.MaxSnapshotEntities)
	}
	return p + np, e + ne
}

// sendAll queues s.body, of type t, to the multicast group (while any
// client may use it: one on unicast fallback keeps measuring it) and to
// every client currently on unicast.
func (s *Server) sendAll(t wire.PacketType) {
	if s.multicastN > 0 {
		h := wire.Header{Type: t, Token: s.groupToken, Seq: s.groupSeq}
		if s.group != nil {
			h.Flags = wire.FlagSealed
		}
		b := s.begin(s.cfg.Multicast, h)
		s.outSeal = s.group
		s.groupSeq++
		s.finish(append(b, s.body...))
	}
	for _, c := range s.order {
		if c.unicast {
			s.finish(append(s.beginConn(c, t), s.body...))
		}
	}
}

// sendUpdate sends the eager EntityUpdate for the entities inputs moved
// since the last one, then flushes everything queued and records the
// server-added latency of the inputs it carries.
func (s *Server) sendUpdate(now int64) {
	s.serviceReliable(now)
	if len(s.moved) == 0 {
		s.flush()
		return
	}
	s.gen++
	u := &s.upd
	u.Tick = uint32(s.tickNo)
	u.ServerTime = s.stateTime(now)
	// Every input this update reflects is named, newest per client, so each
	// headset can tell its own input arrived.
	u.Causes = u.Causes[:0]
	for i := len(s.causes) - 1; i >= 0 && len(u.Causes) < maxUpdateCauses; i-- {
		c := s.causes[i]
		named := false
		for _, x := range u.Causes {
			named = named || x.Client == c.client
		}
		if !named {
			u.Causes = append(u.Causes, wire.UpdateCause{Client: c.client, Input: c.seq})
		}
	}
	slices.Reverse(u.Causes)
	room := (wire.MaxBodySize - s.sealRoom - wire.EntityUpdateLen(len(u.Causes), 0)) / wire.SnapshotEntitySize
	u.Entities = u.Entities[:0]
	for _, id := range s.moved {
		if s.stamp[id] == s.gen {
			continue
		}
		s.stamp[id] = s.gen
		if st, ok := s.world.Entity(id); ok {
			u.Entities = append(u.Entities, st)
		}
		if len(u.Entities) == room {
			s.body = u.Append(s.body[:0])
			s.sendAll(wire.TypeEntityUpdate)
			s.stats.EagerUpdates.Inc()
			u.Entities = u.Entities[:0]
		}
	}
	if len(u.Entities) > 0 {
		s.body = u.Append(s.body[:0])
		s.sendAll(wire.TypeEntityUpdate)
		s.stats.EagerUpdates.Inc()
	}
	sentAt := s.flush()
	for _, c := range s.causes {
		s.stats.ServerAddedGrab.Record(sentAt - c.rx)
		c.c.grabLat.add(sentAt - c.rx)
	}
	s.moved = s.moved[:0]
	s.causes = s.causes[:0]
}

// remove ends a session. When notify is set the client is told why.
func (s *Server) remove(now int64, c *conn, why wire.DisconnectReason, notify bool) {
	if notify {
		d := wire.Disconnect{Reason: why}
		s.finish(d.Append(s.beginConn(c, wire.TypeDisconnect)))
	}
	if s.world != nil {
		s.world.RemovePlayer(c.id, now)
	}
	if why != wire.DisconnectServerShutdown && why != wire.DisconnectKicked {
		s.noteDeparture(now, c)
	}
	delete(s.byToken, c.token)
	delete(s.byAddr, c.addr)
	s.usedIDs[c.id] = false
	if i := slices.Index(s.order, c); i >= 0 {
		s.order = slices.Delete(s.order, i, i+1)
	}
	if !c.fixedUnicast {
		s.multicastN--
	}
	s.stats.Clients.Store(int64(len(s.order)))
}

// Shutdown tells every client the server is going away and ends all
// sessions.
func (s *Server) Shutdown(now int64) {
	for len(s.order) > 0 {
		c := s.order[len(s.order)-1]
		d := wire.Disconnect{Reason: wire.DisconnectServerShutdown}
		// Twice: a lost goodbye would leave the headset waiting for its timeout.
		s.finish(d.Append(s.beginConn(c, wire.TypeDisconnect)))
		s.finish(d.Append(s.beginConn(c, wire.TypeDisconnect)))
		s.remove(now, c, wire.DisconnectServerShutdown, false)
	}
	s.flush()
}

// freeID returns the lowest client id neither in use nor reserved for a
// departed player who may come back, or 0 when the server is full.
func (s *Server) freeID(now int64) uint16 {
	if len(s.order) >= s.cfg.MaxClients {
		return 0
	}
	for id := 1; id < len(s.usedIDs); id++ {
		if !s.usedIDs[id] && s.reservedUntil[id] <= now {
			return uint16(id)
		}
	}
	// Every free id is reserved: the newest arrival is served before a
	// player who may never return.
	for id := 1; id < len(s.usedIDs); id++ {
		if !s.usedIDs[id] {
			return uint16(id)
		}
	}
	return 0
}

func (s *Server) newToken() uint64 {
	for {
		t := s.rng.Uint64()
		if t != 0 && t != s.groupToken && s.byToken[t] == nil {
			return t
		}
	}
}

// begin starts an outgoing datagram to dst with header h and returns the
// buffer to append the body to. finish commits it. The datagram is in
// clear; a caller that seals it sets h.Flags and s.outSeal.
func (s *Server) begin(dst netip.AddrPort, h wire.Header) []byte {
	if s.nout == len(s.out.Msgs) {
		s.flush()
	}
	s.outSeal = nil
	m := &s.out.Msgs[s.nout]
	m.Addr = dst
	return h.Append(m.Buf[:0])
}

// beginConn starts a datagram on a session: its token, the next sequence
// number of the session's reliable endpoint and its acks of what the client
// sent. On a sealed session every datagram but the Accepted is sealed.
func (s *Server) beginConn(c *conn, t wire.PacketType) []byte {
	ack, bits := c.ep.Ack()
	seq := c.ep.NextSeq()
	h := wire.Header{Type: t, Token: c.token, Seq: seq, Ack: ack, AckBits: bits}
	c.rtt.sent(seq, s.cfg.MonoClock())
	c.relDirty = true // a pending acknowledgement went with it
	sealed := c.seal != nil && t != wire.TypeAccepted
	if sealed {
		h.Flags = wire.FlagSealed
	}
	b := s.begin(c.addr, h)
	if sealed {
		s.outSeal = c.seal
	}
	return b
}

// finish commits the datagram b started by begin, sealing it first when
// begin's caller asked for it: the body moves to s.sealBuf and is sealed
// back into the datagram's buffer after the header.
func (s *Server) finish(b []byte) {
	m := &s.out.Msgs[s.nout]
	if sl := s.outSeal; sl != nil {
		s.outSeal = nil
		if len(b)+seal.Overhead > len(m.Buf) {
			s.stats.drop(DropSendError) // a body sized without the seal's room: a bug
			return
		}
		n := copy(s.sealBuf[:], b[wire.HeaderSize:])
		b = sl.Seal(b[:wire.HeaderSize], b[:wire.HeaderSize], s.sealBuf[:n])
	}
	m.N = len(b)
	s.nout++
}

// flush sends the queued datagrams and returns the wall clock after the send
// returned (0 if nothing was queued).
func (s *Server) flush() int64 {
	if s.nout == 0 {
		return 0
	}
	for from := 0; from < s.nout; {
		n, err := s.tr.WriteBatchRange(s.out, from, s.nout)
		s.stats.TxPackets.Add(uint64(n))
		if s.cfg.Tap != nil {
			at := s.cfg.WallClock()
			for i := from; i < from+n; i++ {
				s.cfg.Tap.Sent(&s.out.Msgs[i], at)
			}
		}
		from += n
		if err == nil {
			break
		}
		if err == udp.ErrWouldBlock {
			// Never wait for buffer space: what did not fit is dropped.
			s.stats.Dropped[DropSendBlocked].Add(uint64(s.nout - from))
			break
		}
		// One destination refused (no route to the group, say): skip it.
		s.stats.drop(DropSendError)
		from++
	}
	s.nout = 0
	return s.cfg.WallClock()
}

// publish refreshes the client list readers see, unless a reader holds it.
func (s *Server) publish(now int64) {
	st := s.stats
	if !st.clientsMu.TryLock() {
		return
	}
	v := st.clientsView[:0]
	for _, c := range s.order {
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
		info.BytesIn, info.BytesOut = rs.BytesIn, rs.BytesOut
		info.MessagesIn, info.MessagesOut = rs.MessagesIn, rs.MessagesOut
		info.lat, info.grabLat = c.lat, c.grabLat
		if c.delivery.reports > 0 {
			if n := int(r.McastReceived) + int(r.McastLost); n > 0 {
				info.McastLossPct = 100 * float64(r.McastLost) / float64(n)
			}
			info.McastExcessP90Ms = float64(r.ExcessP90) / 1e3
		}
		v = append(v, info)
	}
	st.clientsView = v
	st.playersView = append(st.playersView[:0], s.players...)
	st.entitiesView = append(st.entitiesView[:0], s.entities...)
	st.clientsMu.Unlock()
}
