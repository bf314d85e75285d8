package client

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/arcadexr/arcade/reliable"
	"github.com/arcadexr/arcade/seal"
	"math"
	"time"
	"unicode/utf8"

	"github.com/arcadexr/arcade/wire"
)

// Defaults for the zero fields of SessionConfig, and the fixed resend
// interval of the handshake.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultPingInterval   = 250 * time.Millisecond
	DefaultServerTimeout  = 2 * time.Second
	ResendInterval        = 250 * time.Millisecond
)

const (
	pingHistory      = 16 // pings remembered for matching pongs
	maxCookieRetries = 3  // handshake restarts after DenyBadCookie
	outSlots         = 48 // datagrams queued between Outgoing calls (a burst of reliable packets fits)
)

// SessionConfig configures a Session. The zero value of every field means
// its default.
type SessionConfig struct {
	// Name is the player's display name, at most wire.MaxNameLen bytes of
	// UTF-8.
	Name string
	// Unicast asks the server to send snapshots by unicast instead of the
	// multicast group.
	Unicast bool
	// Nonce identifies this handshake; 0 means a random one from
	// crypto/rand. Tests set it to get reproducible datagrams.
	Nonce uint64
	// PlayerID identifies the player across sessions: keep one random id
	// per app install (or headset) and a reconnect within
	// server.ResumeWindow gets the same client id and avatar back. All
	// zero: anonymous, never resumed.
	PlayerID [wire.PlayerIDSize]byte
	// ConnectTimeout bounds the handshake. Default DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// PingInterval is the longest gap between two Pings once connected.
	// Default DefaultPingInterval.
	PingInterval time.Duration
	// ServerTimeout is how long without a valid datagram from the server
	// ends the session. Default DefaultServerTimeout.
	ServerTimeout time.Duration
	// SnapshotsOnly asks the server for the tick's state as Snapshots, not
	// as StateDelta (docs/PROTOCOL.md §10.4), which it otherwise takes when
	// the server offers it. Either way OnSnapshot gets whole snapshots.
	SnapshotsOnly bool
	// Passphrase is the venue passphrase, empty if the venue has none.
	// With one, the ChallengeResponse carries a proof of it and every
	// datagram after the handshake, both ways, is sealed; a server that
	// accepts without sealing ends the session (ErrNotSealed). NewSession
	// derives its key, which is slow on purpose (PBKDF2, tens of ms).
	Passphrase string
}

// Validate reports the first invalid field. NewSession does not call it:
// it replaces negative durations by their defaults and lets the name codec
// truncate a long name. Dial calls it.
func (c *SessionConfig) Validate() error {
	switch {
	case len(c.Name) > wire.MaxNameLen:
		return fmt.Errorf("client: SessionConfig.Name is %d bytes, at most %d allowed", len(c.Name), wire.MaxNameLen)
	case !utf8.ValidString(c.Name):
		return errors.New("client: SessionConfig.Name is not valid UTF-8")
	case c.ConnectTimeout < 0:
		return fmt.Errorf("client: SessionConfig.ConnectTimeout is negative (%v)", c.ConnectTimeout)
	case c.PingInterval < 0:
		return fmt.Errorf("client: SessionConfig.PingInterval is negative (%v)", c.PingInterval)
	case c.ServerTimeout < 0:
		return fmt.Errorf("client: SessionConfig.ServerTimeout is negative (%v)", c.ServerTimeout)
	}
	return nil
}

func (c *SessionConfig) withDefaults() SessionConfig {
	d := *c
	if d.ConnectTimeout <= 0 {
		d.ConnectTimeout = DefaultConnectTimeout
	}
	if d.PingInterval <= 0 {
		d.PingInterval = DefaultPingInterval
	}
	if d.ServerTimeout <= 0 {
		d.ServerTimeout = DefaultServerTimeout
	}
	return d
}

// nextNonce returns the nonce of the next connection attempt: a fresh random
// one, or prev+1 when the caller chose the nonces (reproducible tests).
func nextNonce(prev uint64, random bool) uint64 {
	if !random {
		return prev + 1
	}
	for {
		var b [8]byte
		rand.Read(b[:])
		if n := binary.LittleEndian.Uint64(b[:]); n != 0 && n != prev {
			return n
		}
	}
}

// State is where a session is in its life.
type State uint8

// Session states. Denied, Closed and TimedOut are final.
const (
	Connecting State = iota // handshake in progress (or not started)
	Connected               // accepted; poses and snapshots flow
	Denied                  // the server refused the handshake
	Closed                  // closed by Close or by the server's Disconnect
	TimedOut                // no answer to the handshake, or the server went silent
)

func (s State) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	case Denied:
		return "denied"
	case Closed:
		return "closed"
	case TimedOut:
		return "timed out"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Errors returned by Session.Err for sessions that ended without a reason
// from the server.
var (
	ErrConnectTimeout = errors.New("client: no answer from the server before ConnectTimeout")
	ErrServerTimeout  = errors.New("client: nothing received from the server for ServerTimeout")
	ErrClosed         = errors.New("client: session closed")
	// ErrNotSealed: the session has a passphrase but the server accepted
	// it without sealing (the server has no venue passphrase).
	ErrNotSealed = errors.New("client: server accepted without sealing the session: it has no venue passphrase")
)

// DeniedError is the error of a session the server refused.
type DeniedError struct {
	Reason wire.DenyReason
	// ServerVersion is the protocol version the server's Denied was
	// written in; it differs from wire.Version when the server speaks
	// another version of the protocol.
	ServerVersion uint8
}

func (e *DeniedError) Error() string {
	switch e.Reason {
	case wire.DenyServerFull:
		return "client: server denied the connection: server full"
	case wire.DenyVersionMismatch:
		if e.ServerVersion != wire.Version {
			return fmt.Sprintf("client: server denied the connection: protocol version mismatch (server speaks version %d, this client version %d)", e.ServerVersion, wire.Version)
		}
		return fmt.Sprintf("client: server denied the connection: protocol version mismatch (this client speaks version %d)", wire.Version)
	case wire.DenyBadCookie:
		return "client: server denied the connection: bad or expired cookie"
	case wire.DenyBadPassphrase:
		return "client: server denied the connection: wrong or missing venue passphrase"
	case wire.DenyShuttingDown:
		return "client: server denied the connection: server shutting down"
	}
	return fmt.Sprintf("client: server denied the connection: reason %d", e.Reason)
}

// DisconnectedError is the error of a session the server ended.
type DisconnectedError struct {
	Reason wire.DisconnectReason
}

func (e *DisconnectedError) Error() string {
	switch e.Reason {
	case wire.DisconnectTimeout:
		return "client: server disconnected: it heard nothing from this client"
	case wire.DisconnectServerShutdown:
		return "client: server disconnected: server shutting down"
	case wire.DisconnectKicked:
		return "client: server disconnected: kicked"
	case wire.DisconnectClientLeft:
		return "client: server disconnected: client left"
	}
	return fmt.Sprintf("client: server disconnected: reason %d", e.Reason)
}

// sentPing remembers one Ping in flight.
type sentPing struct {
	id      uint32
	sent    int64 // ns, client clock
	waiting bool  // no pong matched yet
}

// Session is the client side of the Arcade protocol as a state machine. It
// owns no socket, goroutine or clock: every method takes the current time
// (now, ns on the client's clock) and datagrams go in through Handle and out
// through Outgoing, all to and from the server's unicast address except
// multicast snapshots. A Session is not safe for concurrent use.
//
// Handle and SendPose do not allocate once the session is connected and has
// seen its largest snapshot and entity update.
type Session struct {
	delta   deltaRx     // the StateDelta stream (delta.go)
	desync  desyncCheck // state hash checks (desync.go)
	cfg     SessionConfig
	state   State
	err     error
	started bool

	// Handshake.
	nonce         uint64          // of the current connection attempt
	randomNonce   bool            // SessionConfig.Nonce was 0: draw random nonces
	step          wire.PacketType // TypeConnectRequest or TypeChallengeResponse
	cookie        [wire.CookieSize]byte
	name          [wire.MaxNameLen]byte
	nameLen       uint8
	connectStart  int64
	lastHandshake int64 // last send of the current step
	cookieRetries int   // restarts after DenyBadCookie

	// Connection.
	accepted wire.Accepted
	token    uint64
	// ep is the reliable channel on the unicast path. It owns the Seq of
	// every datagram the session sends and the Ack and AckBits of every
	// header (what arrived by unicast).
	ep      *reliable.Endpoint
	onRPC   func(typ uint16, body []byte)
	deliver func(stream int, msg []byte) // s.deliverRPC, bound once
	rpcOut  []byte                       // scratch for one outgoing message
	// rxPayload holds a received Message payload while the endpoint reads it.
	rxPayload [wire.MaxMessagePayload]byte
	inputSeq  uint32 // last InputSeq assigned
	lastRecv  int64
	lastPing  int64
	pingID    uint32
	pings     [pingHistory]sentPing
	clock     clockSync
	uni       seqWindow
	multi     seqWindow
	epoch     epochFence
	takeovers takeoverLog // epoch changes as the session saw them (epoch.go)
	// Newest snapshot tick delivered; parts of older ticks are dropped,
	// and so are second copies of a part (multicast and unicast both).
	newestTick uint32
	newestTime uint64 // its server time, µs
	haveTick   bool
	tickParts  [4]uint64 // parts of newestTick delivered
	// Newest entity update delivered, to drop its copy from the other path.
	updTime      uint64
	updMulticast bool
	haveUpd      bool

	delivery deliveryTracker
	report   wire.DeliveryReport

	onSnapshot     func(snap *wire.Snapshot, rxTime int64, viaMulticast bool)
	onEntityUpdate func(u *wire.EntityUpdate, rxTime int64, viaMulticast bool)
	onPong         func(rtt, offset int64)

	snap  wire.Snapshot     // reused by every snapshot
	upd   wire.EntityUpdate // reused by every entity update
	stats SessionStats

	// Venue passphrase: the attempt's CPace handshake (made with its first
	// cookie), and once accepted the session's sealer and the multicast
	// group's opener (nil on an anonymous session). sealBuf holds a body
	// being sealed, openBuf a received body once opened.
	hasKey  bool
	pake    *seal.ClientHandshake
	seal    *seal.Session
	group   *seal.Group
	sealBuf [wire.MaxDatagramSize]byte
	openBuf [wire.MaxDatagramSize]byte

	out      [outSlots][wire.MaxDatagramSize]byte
	outLen   [outSlots]int
	outHead  int
	outCount int
}

// NewSession returns a session in state Connecting that does nothing until
// Start.
func NewSession(cfg SessionConfig) *Session {
	s := &Session{cfg: cfg.withDefaults(), step: wire.TypeConnectRequest}
	mtu := wire.MaxMessagePayload
	if cfg.Passphrase != "" {
		s.hasKey = true
		mtu -= seal.Overhead
	}
	s.ep = newReliable(mtu)
	s.deliver = s.deliverRPC
	s.rpcOut = make([]byte, 0, 256)
	s.randomNonce = cfg.Nonce == 0
	s.nonce = cfg.Nonce
	if s.randomNonce {
		s.nonce = nextNonce(0, true)
	}
	var req wire.ConnectRequest
	req.SetName(s.cfg.Name)
	s.name, s.nameLen = req.Name, req.NameLen
	return s
}

// Start begins the handshake: it queues the ConnectRequest.
func (s *Session) Start(now int64) {
	if s.started {
		return
	}
	s.started = true
	s.connectStart = now
	s.sendHandshake(now)
}

// Handle processes one datagram received at rxTime (ns, client clock; 0
// means now), from the server's unicast address or, if viaMulticast, from
// the snapshot group. Datagrams that do not belong to the session are
// dropped and counted in Stats. Callbacks run before Handle returns.
func (s *Session) Handle(now int64, dgram []byte, rxTime int64, viaMulticast bool) {
	s.stats.Received++
	if rxTime == 0 {
		rxTime = now
	}
	s.delivery.readAt(now - rxTime)
	if len(dgram) > wire.MaxDatagramSize {
		s.drop(DropTooLarge)
		return
	}
	var h wire.Header
	n, err := h.Parse(dgram)
	if err != nil {
		if err == wire.ErrVersion && !viaMulticast && s.foreignVersionDenied(dgram) {
			return
		}
		s.drop(dropReasonFor(err))
		return
	}
	body := dgram[n:]
	switch {
	case !s.started || s.state > Connected:
		s.drop(DropUnexpected)
	case viaMulticast:
		if s.group != nil {
			if body = s.openGroup(&h, dgram); body == nil {
				return
			}
		}
		if body = s.fence(now, &h, body); body == nil {
			return
		}
		s.handleMulticast(now, rxTime, &h, body)
	case s.state == Connecting:
		if body = s.fence(now, &h, body); body == nil {
			return
		}
		s.handleHandshake(now, rxTime, &h, body)
	default:
		if h.Type == wire.TypeDisconnect && h.Flags&wire.FlagSealed == 0 && h.Token == s.token &&
			len(body) >= wire.DisconnectSize && wire.DisconnectReason(body[0]) == wire.DisconnectUnknownSession {
			// The server holds no session of our token (it restarted): in
			// clear even on a sealed session, since it has no key for it.
			s.finish(Closed, &DisconnectedError{Reason: wire.DisconnectUnknownSession})
			return
		}
		if s.seal != nil {
			if body = s.open(s.seal, &h, dgram); body == nil {
				return
			}
		}
		if body = s.fence(now, &h, body); body == nil {
			return
		}
		s.handleConnected(now, rxTime, &h, body)
	}
}

// Lost reports whether the session ended because the server went away or
// forgot it (timed out, shut down, told it the session is unknown), the
// ends after which a client may reconnect; not a refusal or a close.
func (s *Session) Lost() bool {
	if s.state != Closed && s.state != TimedOut {
		return false
	}
	if s.err == ErrServerTimeout {
		return true
	}
	var d *DisconnectedError
	if errors.As(s.err, &d) {
		switch d.Reason {
		case wire.DisconnectTimeout, wire.DisconnectServerShutdown, wire.DisconnectUnknownSession:
			return true
		}
	}
	return false
}

// Restart begins a new session on the same configuration, player id
// included, as if just made and started: a new handshake, which a server
// that still has the player's slot resumes (same client id). Callbacks,
// counters and the input sequence stay; everything agreed with the server
// (token, keys, state ticks, reliable messages in flight) goes.
// newReliable is a session's reliable channel (§15) for datagrams of mtu
// bytes.
func newReliable(mtu int) *reliable.Endpoint {
	ep, err := reliable.New(reliable.Config{
		Streams:    wire.RPCStreams,
		MaxMessage: wire.MaxRPCMessage,
		MTU:        mtu,
	})
	if err != nil {
		panic("client: reliable config: " + err.Error()) // constant config
	}
	return ep
}

func (s *Session) Restart(now int64) {
	n := NewSession(s.cfg)
	n.onSnapshot, n.onEntityUpdate, n.onPong, n.onRPC = s.onSnapshot, s.onEntityUpdate, s.onPong, s.onRPC
	n.stats = s.stats
	n.stats.Restarts++
	n.inputSeq = s.inputSeq
	n.takeovers = s.takeovers
	*s = *n
	s.deliver = s.deliverRPC // bound to s, not to n
	s.Start(now)
}

// open checks and decrypts the sealed datagram dgram and returns its body
// (in s.openBuf), or nil after counting the drop.
func (s *Session) open(sl *seal.Session, h *wire.Header, dgram []byte) []byte {
	if h.Flags&wire.FlagSealed == 0 {
		s.drop(DropUnsealed)
		return nil
	}
	// Opened from a copy: handing dgram to the AEAD (an interface) would
	// move every caller's datagram buffer to the heap.
	in := s.sealBuf[:copy(s.sealBuf[:], dgram)]
	body, err := sl.Open(s.openBuf[:0], in[:wire.HeaderSize], in[wire.HeaderSize:])
	switch err {
	case nil:
		return body[:len(body):len(body)]
	case seal.ErrReplay:
		s.drop(DropReplayed)
	default:
		s.drop(DropBadSeal)
	}
	return nil
}

// openGroup checks the server's signature on a multicast datagram and
// decrypts it, returning its body (in s.openBuf) or nil after counting the
// drop: a headset of the venue holds the group key, only the server signs.
func (s *Session) openGroup(h *wire.Header, dgram []byte) []byte {
	if h.Flags&wire.FlagSealed == 0 {
		s.drop(DropUnsealed)
		return nil
	}
	in := s.sealBuf[:copy(s.sealBuf[:], dgram)]
	body, err := s.group.OpenSigned(s.openBuf[:0], in, wire.HeaderSize)
	switch err {
	case nil:
		return body[:len(body):len(body)]
	case seal.ErrReplay:
		s.drop(DropReplayed)
	case seal.ErrSignature:
		s.drop(DropBadSignature)
	default:
		s.drop(DropBadSeal)
	}
	return nil
}

// foreignVersionDenied handles a Denied whose header carries another
// protocol version. Only the first five header bytes (magic, version, type)
// are stable across versions, so the body is not read: a Denied of another
// version from the server, while connecting, means the versions differ.
func (s *Session) foreignVersionDenied(dgram []byte) bool {
	const offVersion, offType = 3, 4
	if !s.started || s.state != Connecting || len(dgram) < wire.HeaderSize ||
		dgram[0] != wire.Magic0 || dgram[1] != wire.Magic1 || dgram[2] != wire.Magic2 ||
		wire.PacketType(dgram[offType]) != wire.TypeDenied {
		return false
	}
	s.finish(Denied, &DeniedError{Reason: wire.DenyVersionMismatch, ServerVersion: dgram[offVersion]})
	return true
}

func (s *Session) handleHandshake(now, rxTime int64, h *wire.Header, body []byte) {
	switch h.Type {
	case wire.TypeChallenge:
		var c wire.Challenge
		if _, err := c.Parse(body); err != nil {
			s.drop(dropReasonFor(err))
			return
		}
		if c.ClientNonce != s.nonce {
			s.drop(DropNonce)
			return
		}
		// A later challenge carries the fresher cookie. With a passphrase
		// the CPace exchange is bound to the cookie (its session id), so
		// the first one is kept for the whole attempt: the server accepts
		// no other (an expired one is denied and the handshake restarts).
		if !s.hasKey || s.step == wire.TypeConnectRequest {
			s.cookie = c.Cookie
		}
		if s.step == wire.TypeConnectRequest {
			if s.hasKey {
				h, err := seal.NewClientHandshake(s.cfg.Passphrase, s.nonce, s.cookie[:], nil)
				if err != nil {
					s.finish(Closed, err) // no random source: nothing to retry
					return
				}
				s.pake = h
			}
			s.step = wire.TypeChallengeResponse
			s.sendHandshake(now)
		}
	case wire.TypeAccepted:
		var a wire.Accepted
		if _, err := a.Parse(body); err != nil {
			s.drop(dropReasonFor(err))
			return
		}
		if a.ClientNonce != s.nonce {
			s.drop(DropNonce)
			return
		}
		if h.Token == 0 {
			s.drop(DropToken)
			return
		}
		switch sealed := a.Flags&wire.AcceptedSealed != 0; {
		case sealed && !s.hasKey:
			s.drop(DropUnexpected) // no honest server accepts a client without the proof
			return
		case !sealed && s.hasKey:
			s.drop(DropUnsealed)
			s.finish(Denied, ErrNotSealed)
			return
		case sealed:
			if s.pake == nil {
				s.drop(DropUnexpected) // an Accepted before our response
				return
			}
			acc := seal.Accept{PAKE: a.PAKE, ServerKey: a.ServerKey, GroupKey: a.GroupKey, Confirm: a.Confirm}
			sl, g, err := s.pake.Finish(&acc, a.GroupToken)
			s.pake = nil // one exchange per attempt, whatever the outcome
			if err != nil {
				// The server does not know our passphrase (or this
				// Accepted is forged): it cannot tell, we can.
				s.drop(DropBadSeal)
				s.finish(Denied, &DeniedError{Reason: wire.DenyBadPassphrase, ServerVersion: wire.Version})
				return
			}
			s.seal, s.group = sl, g
		}
		s.accepted = a
		s.delta.on = a.Flags&wire.AcceptedDeltaState != 0
		s.token = h.Token
		s.state = Connected
		s.startEpoch(now, h)
		s.lastRecv = now
		s.uni.observe(h.Seq, &s.stats.Unicast)
		s.ep.OnDatagram(now, h.Seq, h.Ack, h.AckBits, nil)
		// A first clock estimate, assuming the Accepted was sent halfway
		// between the last handshake send and its arrival; pongs replace it.
		mid := s.lastHandshake + (rxTime-s.lastHandshake)/2
		s.clock.seed(int64(a.ServerTime)*1000 - mid)
		s.sendPing(now)
		// Snapshots by multicast: measure that path against unicast and
		// report, so the server can switch this client when it hurts.
		if a.Multicast.IsValid() && a.Flags&wire.AcceptedUnicast == 0 && !s.cfg.Unicast {
			s.delivery.on = true
			s.delivery.joined = true
			s.delivery.begin(now, s.stats.Multicast, s.stats.Unicast)
		}
	case wire.TypeDenied:
		var d wire.Denied
		if _, err := d.Parse(body); err != nil {
			s.drop(dropReasonFor(err))
			return
		}
		if d.ClientNonce != s.nonce {
			s.drop(DropNonce)
			return
		}
		if d.Reason == wire.DenyBadCookie && s.cookieRetries < maxCookieRetries {
			// The cookie expired or the server restarted with a new key
			// between Challenge and response: start again with a new
			// nonce, so that denials of the resent responses of this
			// attempt are recognised as stale.
			s.cookieRetries++
			s.stats.CookieRetries++
			s.nonce = nextNonce(s.nonce, s.randomNonce)
			s.step = wire.TypeConnectRequest
			s.sendHandshake(now)
			return
		}
		s.finish(Denied, &DeniedError{Reason: d.Reason, ServerVersion: wire.Version})
	default:
		s.drop(DropUnexpected)
	}
}

func (s *Session) handleConnected(now, rxTime int64, h *wire.Header, body []byte) {
	if h.Token != s.token {
		s.drop(DropToken)
		return
	}
	if h.Type == wire.TypeSnapshot || h.Type == wire.TypeEntityUpdate || h.Type == wire.TypeStateDelta {
		s.handleState(now, rxTime, h, body, false)
		return
	}
	// parsed runs a session message's parse and, if it succeeds, records
	// its sequence on the unicast path; it reports whether to act on it.
	parsed := func(err error) bool {
		if err != nil {
			s.drop(dropReasonFor(err))
			return false
		}
		return s.acceptUnicast(now, h)
	}
	switch h.Type {
	case wire.TypeDeliveryProbe:
		var p wire.DeliveryProbe
		if _, err := p.Parse(body); parsed(err) {
			s.stats.Probes++
			s.delivery.arrival(p.Tick, rxTime, false)
		}
	case wire.TypePong:
		var p wire.Pong
		if _, err := p.Parse(body); parsed(err) {
			s.handlePong(rxTime, &p)
		}
	case wire.TypeDisconnect:
		var d wire.Disconnect
		if _, err := d.Parse(body); parsed(err) {
			s.finish(Closed, &DisconnectedError{Reason: d.Reason})
		}
	case wire.TypeMessage:
		p, _, err := wire.ParseMessagePayload(body)
		if err != nil {
			s.drop(dropReasonFor(err))
			return
		}
		s.handleMessage(now, h, p)
	default:
		// Late handshake replies (resent Accepted) and unknown traffic:
		// proof of life and part of the path's sequence, nothing more.
		if s.acceptUnicast(now, h) {
			s.drop(DropUnexpected)
		}
	}
}

func (s *Session) handleMulticast(now, rxTime int64, h *wire.Header, body []byte) {
	if s.state != Connected {
		s.drop(DropUnexpected)
		return
	}
	if h.Token != s.accepted.GroupToken || h.Token == 0 {
		s.drop(DropToken)
		return
	}
	// The group carries the state and entity updates, in one sequence.
	if h.Type != wire.TypeSnapshot && h.Type != wire.TypeEntityUpdate && h.Type != wire.TypeStateDelta {
		s.drop(DropUnexpected)
		return
	}
	s.handleState(now, rxTime, h, body, true)
}

// handleState takes a Snapshot or EntityUpdate from either path: the same
// state may come by both, and each path has its own sequence.
func (s *Session) handleState(now, rxTime int64, h *wire.Header, body []byte, viaMulticast bool) {
	w, st := &s.uni, &s.stats.Unicast
	if viaMulticast {
		w, st = &s.multi, &s.stats.Multicast
	}
	var err error
	// A StateDelta is parsed into a local: its payload points into the
	// datagram, which must not outlive Handle.
	var dm wire.StateDelta
	switch h.Type {
	case wire.TypeSnapshot:
		_, err = s.snap.Parse(body)
	case wire.TypeStateDelta:
		if !s.delta.on {
			s.drop(DropUnexpected) // not offered at the handshake
			return
		}
		_, err = dm.Parse(body)
	default:
		_, err = s.upd.Parse(body)
	}
	if err != nil {
		s.drop(dropReasonFor(err))
		return
	}
	tick, at := s.snap.Tick, s.snap.ServerTime
	switch h.Type {
	case wire.TypeEntityUpdate:
		tick, at = s.upd.Tick, s.upd.ServerTime
	case wire.TypeStateDelta:
		tick, at = dm.Tick, dm.ServerTime
	}
	if !s.plausible(now, tick, at) {
		s.drop(DropImplausible)
		return
	}
	// A state datagram older than the sequence window is still handed on:
	// the tick and server-time rules below tell a copy from new state, so
	// a forged jump of the sequence cannot make real state look stale.
	if !s.acceptState(now, h.Seq, w, st) {
		return
	}
	if !viaMulticast {
		s.ep.OnDatagram(now, h.Seq, h.Ack, h.AckBits, nil)
	}
	if h.Type == wire.TypeEntityUpdate {
		s.deliverEntityUpdate(now, rxTime, viaMulticast)
		return
	}
	if h.Type == wire.TypeStateDelta {
		if dm.Part == 0 {
			s.delivery.arrival(dm.Tick, rxTime, viaMulticast)
		}
		s.handleDelta(now, rxTime, viaMulticast, &dm)
		return
	}
	if s.snap.Part == 0 {
		s.delivery.arrival(s.snap.Tick, rxTime, viaMulticast)
	}
	n := s.stats.Snapshots
	s.deliverSnapshot(now, rxTime, viaMulticast)
	if s.stats.Snapshots != n {
		s.checkSnapshotPart() // delivered: its records count towards the tick's hash (desync.go)
	}
}

// MaxStateAhead is how far ahead of the client's estimate of the server
// clock a Snapshot or EntityUpdate may be stamped and still be taken: the
// estimate's error on a venue LAN (half a round trip, power-save holds) is
// far below it, and a datagram stamped further ahead cannot come from the
// server. It bounds what one forged datagram can do: state stamped at most
// this far ahead makes real state look old for at most this long.
const MaxStateAhead = 250 * time.Millisecond

// plausible reports whether a state datagram's tick and server time (µs)
// can come from the server the session joined: the server time is not
// beyond the server clock as estimated now (plus MaxStateAhead), and the
// tick is the one of its server time (docs/PROTOCOL.md §10: a tick's state
// is stamped within that tick's period, so tick = ⌊time·rate/10⁶⌋ − 1;
// maxTickSkew either way).
func (s *Session) plausible(now int64, tick uint32, at uint64) bool {
	if !s.clock.known || s.accepted.TickRate == 0 {
		return true
	}
	est := now + s.clock.offset // server clock, ns
	if int64(at) > (est+int64(MaxStateAhead))/1000 {
		return false
	}
	want := int64(at)*int64(s.accepted.TickRate)/1_000_000 - 1
	d := int64(int32(tick - uint32(want)))
	return d >= -maxTickSkew && d <= maxTickSkew
}

// StateRecoverAhead is how far ahead of the client's estimate of the
// server clock the newest state may still be when older state arrives,
// for the older state to be the reordered copy it looks like. Beyond it the
// newest was stamped in the future, which only a forgery does: the older
// state is taken and becomes the newest. Real state recovers at once from
// one forged datagram, instead of waiting up to MaxStateAhead for the
// server clock to catch up with the forgery.
const StateRecoverAhead = 30 * time.Millisecond

// stillAhead reports whether server time at (µs) is beyond the server
// clock as estimated now by more than StateRecoverAhead.
func (s *Session) stillAhead(now int64, at uint64) bool {
	if !s.clock.known {
		return false
	}
	return int64(at) > (now+s.clock.offset+int64(StateRecoverAhead))/1000
}

// maxTickSkew is how many ticks a state's tick may differ from the tick of
// its server time: one for rounding, one for a server that stamps a tick
// at its start rather than its deadline.
const maxTickSkew = 2

// acceptState is accept for Snapshots and EntityUpdates: a datagram older
// than the window is delivered too (stale for the statistics only).
func (s *Session) acceptState(now int64, seq uint16, w *seqWindow, st *PathStats) bool {
	s.lastRecv = now
	if w.observe(seq, st) == seqDuplicate {
		s.drop(DropDuplicate)
		return false
	}
	return true
}

// accept records a valid datagram's sequence number on its path and reports
// whether it is new; duplicates and stale ones are dropped.
func (s *Session) accept(now int64, seq uint16, w *seqWindow, st *PathStats) bool {
	s.lastRecv = now
	switch w.observe(seq, st) {
	case seqDuplicate:
		s.drop(DropDuplicate)
		return false
	case seqStale:
		s.drop(DropStale)
		return false
	}
	return true
}

func (s *Session) deliverSnapshot(now, rxTime int64, viaMulticast bool) {
	if s.haveTick && wire.InputSeqNewer(s.newestTick, s.snap.Tick) {
		if !s.stillAhead(now, s.newestTime) {
			s.drop(DropOldTick) // a newer tick already superseded it
			return
		}
		s.stats.StateRecoveries++ // the newest came from the future
	}
	if !s.haveTick || s.snap.Tick != s.newestTick {
		s.tickParts = [4]uint64{}
	}
	bit := uint64(1) << (s.snap.Part % 64)
	if s.tickParts[s.snap.Part/64]&bit != 0 {
		s.drop(DropDuplicate) // the same part came by the other path too
		return
	}
	s.tickParts[s.snap.Part/64] |= bit
	s.haveTick, s.newestTick, s.newestTime = true, s.snap.Tick, s.snap.ServerTime
	s.stats.Snapshots++
	s.noteState(rxTime, s.snap.Players, nil)
	if s.onSnapshot != nil {
		s.onSnapshot(&s.snap, rxTime, viaMulticast)
	}
}

// deliverEntityUpdate passes on an entity update unless a snapshot of a
// newer tick was already delivered: that snapshot was made after the update
// and supersedes it. Updates never advance the newest tick themselves.
func (s *Session) deliverEntityUpdate(now, rxTime int64, viaMulticast bool) {
	if s.haveTick && wire.InputSeqNewer(s.newestTick, s.upd.Tick) {
		if !s.stillAhead(now, s.newestTime) {
			s.drop(DropOldTick)
			return
		}
		// The newest snapshot came from the future: forget it, so that
		// the next real one is taken.
		s.haveTick = false
		s.stats.StateRecoveries++
	}
	// The same update by the other path is a copy; parts of one split
	// update share a server time and come by one path.
	if s.haveUpd && (s.upd.ServerTime < s.updTime ||
		s.upd.ServerTime == s.updTime && viaMulticast != s.updMulticast) {
		if !s.stillAhead(now, s.updTime) {
			s.drop(DropDuplicate)
			return
		}
		s.stats.StateRecoveries++
	}
	s.haveUpd, s.updTime, s.updMulticast = true, s.upd.ServerTime, viaMulticast
	s.stats.EntityUpdates++
	s.noteState(rxTime, s.upd.Players, s.upd.Causes)
	if s.onEntityUpdate != nil {
		s.onEntityUpdate(&s.upd, rxTime, viaMulticast)
	}
}

func (s *Session) handlePong(rxTime int64, p *wire.Pong) {
	i := int(p.PingID % pingHistory)
	sp := s.pings[i]
	if !sp.waiting || sp.id != p.PingID || uint64(sp.sent/1000) != p.ClientTime {
		s.drop(DropUnknownPing)
		return
	}
	s.pings[i].waiting = false // one sample per ping
	s.stats.Pongs++
	smp := ntpSample(sp.sent, int64(p.ServerRecvTime)*1000, int64(p.ServerSendTime)*1000, rxTime)
	s.clock.add(smp)
	if s.onPong != nil {
		s.onPong(smp.rtt, smp.offset)
	}
}

// Update runs the timers: handshake resends and timeout, pings, and the
// server timeout. Call it at NextUpdate or more often.
func (s *Session) Update(now int64) {
	if !s.started {
		return
	}
	switch s.state {
	case Connecting:
		if now-s.connectStart >= int64(s.cfg.ConnectTimeout) {
			s.finish(TimedOut, ErrConnectTimeout)
			return
		}
		if now-s.lastHandshake >= int64(ResendInterval) {
			s.sendHandshake(now)
		}
	case Connected:
		if now-s.lastRecv >= int64(s.cfg.ServerTimeout) {
			s.sendDisconnect(wire.DisconnectTimeout)
			s.finish(TimedOut, ErrServerTimeout)
			return
		}
		if now-s.lastPing >= int64(s.cfg.PingInterval) {
			s.sendPing(now)
		}
		if s.delivery.on && now-s.delivery.start >= ReportInterval {
			s.delivery.report(now, s.stats.Multicast, s.stats.Unicast, &s.report)
			s.push(s.report.Append(s.header(wire.TypeDeliveryReport)))
		}
		s.reportDesync(now)
		s.pollReliable(now)
	}
}

// SetMulticastJoined tells the session whether the runtime could join the
// multicast group; reports carry it so the server can switch this client to
// unicast at once.
func (s *Session) SetMulticastJoined(ok bool) { s.delivery.joined = ok }

// NextUpdate returns the time (ns, client clock) at which Update has work to
// do, or math.MaxInt64 if it has none (not started, or ended). Handle,
// SendRPC and its helpers may move it earlier: reliable resends and delayed
// acknowledgements are Update's work too.
func (s *Session) NextUpdate() int64 {
	if !s.started {
		return math.MaxInt64
	}
	switch s.state {
	case Connecting:
		return min(s.lastHandshake+int64(ResendInterval), s.connectStart+int64(s.cfg.ConnectTimeout))
	case Connected:
		t := min(s.lastPing+int64(s.cfg.PingInterval), s.lastRecv+int64(s.cfg.ServerTimeout))
		if s.delivery.on {
			t = min(t, s.delivery.start+ReportInterval)
		}
		return min(t, s.ep.NextTimeout())
	}
	return math.MaxInt64
}

// SendPose queues one pose sample. It assigns in.InputSeq (the previous one
// plus one, starting at 1) and in.ClientTime (now, in µs) and returns the
// sequence number, or 0 without queueing anything if the session is not
// connected.
func (s *Session) SendPose(now int64, in *wire.PoseInput) uint32 {
	if s.state != Connected {
		return 0
	}
	s.inputSeq++
	in.InputSeq = s.inputSeq
	in.ClientTime = uint64(now / 1000)
	b := s.header(wire.TypePoseInput)
	in.HasStateAck = s.delta.on
	if in.HasStateAck {
		in.StateTick, in.StateHeld = s.delta.held()
	}
	b = in.Append(b)
	s.push(b)
	s.stats.Inputs++
	return s.inputSeq
}

// Close ends the session. A connected session queues Disconnect
// (DisconnectClientLeft) twice; drain Outgoing to send it.
func (s *Session) Close(now int64) {
	switch s.state {
	case Connected:
		s.sendDisconnect(wire.DisconnectClientLeft)
		s.sendDisconnect(wire.DisconnectClientLeft)
		s.finish(Closed, ErrClosed)
	case Connecting:
		s.finish(Closed, ErrClosed)
	}
}

// Outgoing hands every queued datagram to fn, oldest first, and empties the
// queue. fn must not retain dgram. If Outgoing is not called, at most 16
// datagrams wait; older ones are discarded and counted as Overflow.
func (s *Session) Outgoing(fn func(dgram []byte)) {
	for s.outCount > 0 {
		i := s.outHead
		s.outHead = (s.outHead + 1) % outSlots
		s.outCount--
		s.stats.Sent++
		fn(s.out[i][:s.outLen[i]])
	}
}

// State returns where the session is.
func (s *Session) State() State { return s.state }

// Err says why the session is not connected: nil while connecting or
// connected, otherwise ErrConnectTimeout, ErrServerTimeout, ErrClosed, a
// *DeniedError or a *DisconnectedError.
func (s *Session) Err() error { return s.err }

// ClientID returns the id the server assigned, 0 before Accepted.
func (s *Session) ClientID() uint16 { return s.accepted.ClientID }

// Accepted returns the server's Accepted message (zero before it came).
func (s *Session) Accepted() wire.Accepted { return s.accepted }

// Resumed reports whether the server gave this session the client id and
// avatar of the player's previous one.
func (s *Session) Resumed() bool { return s.accepted.Flags&wire.AcceptedResumed != 0 }

// Token returns the session token, 0 before Accepted.
func (s *Session) Token() uint64 { return s.token }

// Nonce returns the nonce of the current connection attempt: the configured
// one, or a new one after a DenyBadCookie restart.
func (s *Session) Nonce() uint64 { return s.nonce }

// OnSnapshot sets the function called for every new snapshot datagram, from
// within Handle. snap and its slices are reused: valid only during the call.
func (s *Session) OnSnapshot(fn func(snap *wire.Snapshot, rxTime int64, viaMulticast bool)) {
	s.onSnapshot = fn
}

// OnEntityUpdate sets the function called for every new entity update
// datagram, from within Handle. Entity updates come on the same path as
// snapshots (the multicast group or unicast) and between them: each lists
// objects that inputs moved since the last tick, Causes naming every input
// it reflects (u.NewestInput with the session's client id gives the newest
// of this client's). u and its slices are reused: valid only during the
// call.
func (s *Session) OnEntityUpdate(fn func(u *wire.EntityUpdate, rxTime int64, viaMulticast bool)) {
	s.onEntityUpdate = fn
}

// OnPong sets the function called for every pong, from within Handle, with
// the sample's round-trip time and server-minus-client clock offset, in ns.
func (s *Session) OnPong(fn func(rtt, offset int64)) { s.onPong = fn }

// ServerTime estimates the server's clock (µs since the server started) at
// client time now. It is 0 before the session is accepted.
func (s *Session) ServerTime(now int64) int64 {
	if !s.clock.known {
		return 0
	}
	return (now + s.clock.offset) / 1000
}

// ClockOffset returns the estimated server-minus-client clock offset in ns
// (server µs scaled to ns), 0 before the session is accepted.
func (s *Session) ClockOffset() int64 { return s.clock.offset }

// RTT returns the smoothed round-trip time in ns, 0 before the first pong.
func (s *Session) RTT() int64 { return s.clock.srtt }

// Stats returns the session's counters.
func (s *Session) Stats() SessionStats { return s.stats }

func (s *Session) finish(st State, err error) {
	s.state = st
	s.err = err
}

func (s *Session) drop(r DropReason) { s.stats.Dropped[r]++ }

// header starts a datagram in the next free slot with a header of type t and
// returns it for the body to be appended.
func (s *Session) header(t wire.PacketType) []byte {
	if s.outCount == outSlots {
		s.outHead = (s.outHead + 1) % outSlots
		s.outCount--
		s.stats.Overflow++
	}
	ack, bits := s.ep.Ack()
	h := wire.Header{Type: t, Token: s.token, Seq: s.ep.NextSeq(), Ack: ack, AckBits: bits}
	i := (s.outHead + s.outCount) % outSlots
	return h.Append(s.out[i][:0])
}

// push completes the datagram started by header. On a sealed session it
// seals it: the header gets FlagSealed and the body, moved to s.sealBuf, is
// sealed back after it.
func (s *Session) push(b []byte) {
	i := (s.outHead + s.outCount) % outSlots
	if s.seal != nil && len(b) >= wire.HeaderSize {
		const offFlags = 5 // header flags byte
		if len(b)+seal.Overhead > wire.MaxDatagramSize {
			return // a body sized without the seal's room: a bug; never sent
		}
		b[offFlags] |= wire.FlagSealed
		n := copy(s.sealBuf[:], b[wire.HeaderSize:])
		b = s.seal.Seal(b[:wire.HeaderSize], b[:wire.HeaderSize], s.sealBuf[:n])
	}
	if len(b) > wire.MaxDatagramSize {
		return // a codec bug; never sent
	}
	if len(b) > 0 && &b[0] != &s.out[i][0] {
		copy(s.out[i][:], b)
	}
	s.outLen[i] = len(b)
	s.outCount++
}

func (s *Session) sendHandshake(now int64) {
	s.lastHandshake = now
	b := s.header(s.step)
	if s.step == wire.TypeConnectRequest {
		m := wire.ConnectRequest{ClientNonce: s.nonce, Flags: s.connectFlags(), NameLen: s.nameLen, Name: s.name}
		b = m.Append(b)
	} else {
		m := wire.ChallengeResponse{ClientNonce: s.nonce, Flags: s.connectFlags(), NameLen: s.nameLen, Name: s.name, Cookie: s.cookie, PlayerID: s.cfg.PlayerID}
		if s.pake != nil {
			m.Flags |= wire.ConnectHasPAKE
			m.PAKE = s.pake.Message()
		}
		b = m.Append(b)
	}
	s.push(b)
}

func (s *Session) connectFlags() uint8 {
	var f uint8
	if s.cfg.Unicast {
		f |= wire.ConnectWantUnicast
	}
	if !s.cfg.SnapshotsOnly {
		f |= wire.ConnectDeltaState | wire.ConnectCodedState
	}
	return f
}

func (s *Session) sendPing(now int64) {
	s.lastPing = now
	s.pingID++
	s.pings[s.pingID%pingHistory] = sentPing{id: s.pingID, sent: now, waiting: true}
	m := wire.Ping{PingID: s.pingID, ClientTime: uint64(now / 1000)}
	s.push(m.Append(s.header(wire.TypePing)))
}

func (s *Session) sendDisconnect(r wire.DisconnectReason) {
	m := wire.Disconnect{Reason: r}
	s.push(m.Append(s.header(wire.TypeDisconnect)))
}
