// Package wire defines Arcade's datagram formats: the common header, every
// message body, and the quantization of poses.
//
// Every datagram starts with a fixed 22-byte header (magic "ARC", version,
// packet type, flags, session token, sequence, ack, ack bitfield) followed by
// one message body. All integers are little-endian. A datagram is at most
// MaxDatagramSize bytes. Bytes after the end of a body are ignored so that
// newer senders never break older readers. docs/PROTOCOL.md is the normative
// description; golden byte vectors live in testdata/wire/ at the module root.
//
// Every codec has one shape: Append encodes into the caller's buffer and
// returns the extended slice, Parse decodes into the receiver and returns the
// number of bytes consumed, Len reports the encoded length. Neither allocates
// (Snapshot.Parse and EntityUpdate.Parse only grow their record slices when
// they are too small).
// Parse is given the bytes after the header and never panics; on error it
// returns one of the sentinel errors below and 0, and leaves the receiver
// unchanged (except Header.Parse, see there). Append cannot fail: floats are
// quantized and clamped, but values a receiver rejects (a zero reason,
// Parts == 0, a snapshot or entity update longer than MaxBodySize, an update
// cause with client id 0, a zero report window, a unicast loss above
// MaxUnicastLoss, a name set by hand that is not UTF-8) are sent as given.
package wire

import (
	"errors"
	"net/netip"
)

// Protocol identity.
const (
	Magic0  = 'A'
	Magic1  = 'R'
	Magic2  = 'C'
	Version = 1
)

// Sizes, in bytes.
const (
	MaxDatagramSize = 1200 // no datagram is larger
	HeaderSize      = 22   // fixed header before every body
	PoseSize        = 11   // quantized position (6) + rotation (5)
	MaxNameLen      = 32   // player display name, UTF-8 bytes
	CookieSize      = 32   // opaque handshake cookie
	PlayerIDSize    = 16   // player identity in a ChallengeResponse
	PAKESize        = 32   // a CPace message (docs/PROTOCOL.md §17)
	ServerKeySize   = 32   // the server's Ed25519 public key, in a sealed Accepted
	WrappedKeySize  = 32   // the group key sealed for one client: 16 + a 16-byte tag
	ConfirmSize     = 32   // a key confirmation tag
	// MinConnectRequestSize is the smallest datagram (header included) that
	// is accepted as a connect request. Clients pad their request to it, so
	// no unverified reply is ever larger than the request that caused it.
	MinConnectRequestSize = MaxDatagramSize
	SnapshotPlayerSize    = 40 // one PlayerState record
	SnapshotEntitySize    = 14 // one EntityState record
)

// Header field offsets.
const (
	offMagic   = 0
	offVersion = 3
	offType    = 4
	offFlags   = 5
	offToken   = 6
	offSeq     = 14
	offAck     = 16
	offAckBits = 18
)

// PacketType identifies the message that follows the header.
type PacketType uint8

// Packet types.
const (
	TypeConnectRequest    PacketType = 1
	TypeChallenge         PacketType = 2
	TypeChallengeResponse PacketType = 3
	TypeAccepted          PacketType = 4
	TypeDenied            PacketType = 5
	TypePoseInput         PacketType = 6
	TypeSnapshot          PacketType = 7
	TypePing              PacketType = 8
	TypePong              PacketType = 9
	TypeDisconnect        PacketType = 10
	TypeEntityUpdate      PacketType = 11
	TypeDeliveryProbe     PacketType = 12
	TypeDeliveryReport    PacketType = 13
	TypeMessage           PacketType = 14 // reliable-layer payload: RPC messages and acknowledgements
	TypeStateDelta        PacketType = 15 // a tick's state coded against a baseline tick (§10.4)
)

// Parse errors. They are sentinel values so that dropping a datagram never
// allocates; receivers count them by reason.
var (
	ErrShort     = errors.New("wire: datagram too short")
	ErrMagic     = errors.New("wire: bad magic")
	ErrVersion   = errors.New("wire: unsupported version")
	ErrType      = errors.New("wire: unknown packet type")
	ErrTooLarge  = errors.New("wire: datagram larger than MaxDatagramSize")
	ErrNotPadded = errors.New("wire: connect request not padded")
	ErrCount     = errors.New("wire: record count out of range")
	ErrField     = errors.New("wire: field value out of range")
)

// Header is the fixed prefix of every datagram.
type Header struct {
	Type    PacketType
	Flags   uint8  // Flag* bits; receivers ignore bits they do not know
	Token   uint64 // session token; zero before the handshake completes
	Seq     uint16 // sender's packet sequence on this path
	Ack     uint16 // newest sequence received from the peer
	AckBits uint32 // bit i set: Ack-1-i was also received
}

// Vec3 is a position in metres, in the venue's shared frame (Y up).
type Vec3 struct{ X, Y, Z float32 }

// Quat is a unit rotation quaternion.
type Quat struct{ X, Y, Z, W float32 }

// Pose is a position and a rotation.
type Pose struct {
	Pos Vec3
	Rot Quat
}

// Tracking flags, in PoseInput.Tracking and PlayerState.Tracking.
const (
	TrackHead  = 1 << 0
	TrackLeft  = 1 << 1
	TrackRight = 1 << 2
	// TrackNoInput, in a player record only: no input of the player's
	// session has been applied yet, so LastInputSeq is no input seq of
	// that session (0 for a new player; a resumed one's kept avatar
	// carries its previous session's) and must not be compared with the
	// client's own (PROTOCOL §6.7).
	TrackNoInput = 1 << 7
)

// Header flags, in Header.Flags.
const (
	// FlagSealed: the body is sealed with the session's (or the group's)
	// AEAD: an 8-byte packet number, the ciphertext and a 16-byte tag, with
	// the header as additional data (see package seal). Only sessions of a
	// server with a venue passphrase send it.
	FlagSealed = 1 << 0
	// FlagEpoch: an EpochSize-byte epoch trailer follows the body (see
	// AppendEpoch, SplitEpoch and PROTOCOL §18): the servers of a standby
	// pair stamp every datagram they send with the epoch they write under.
	FlagEpoch = 1 << 1
)

// Connect flags, in ConnectRequest.Flags and ChallengeResponse.Flags.
const (
	ConnectWantUnicast = 1 << 0 // deliver snapshots by unicast, not multicast
	// Bit 1 is reserved: a former proof of the passphrase that a recorded
	// handshake let anyone test guesses against offline.
	//
	// ConnectHasPAKE (ChallengeResponse only): the client's CPace message
	// (PAKESize bytes, §17) follows the player id.
	ConnectHasPAKE = 1 << 2
	// ConnectDeltaState: the client takes the tick's state as StateDelta
	// (§10.4) and reports what it holds in its PoseInputs.
	ConnectDeltaState = 1 << 3
)

// Hand indices for the per-hand arrays in PoseInput.
const (
	Left  = 0
	Right = 1
)

// ConnectRequest opens a handshake. Its datagram is zero-padded to
// MinConnectRequestSize.
type ConnectRequest struct {
	ClientNonce uint64
	Flags       uint8
	NameLen     uint8
	Name        [MaxNameLen]byte
}

// Challenge answers a ConnectRequest with a stateless cookie.
type Challenge struct {
	ClientNonce uint64
	Cookie      [CookieSize]byte
}

// ChallengeResponse returns the cookie, proving the source address.
type ChallengeResponse struct {
	ClientNonce uint64
	Flags       uint8
	NameLen     uint8
	Name        [MaxNameLen]byte
	Cookie      [CookieSize]byte
	// PlayerID identifies the player across sessions: random, kept by the
	// client for the life of the install. A session that ends is resumed
	// (same client id, same avatar) by the next one with the same PlayerID
	// within 10 s. All zero is anonymous: never resumed.
	PlayerID [PlayerIDSize]byte
	// PAKE is the client's CPace message for the venue passphrase
	// (seal.NewCPaceInitiator). It is on the wire only when Flags has
	// ConnectHasPAKE.
	PAKE [PAKESize]byte
}

// Accepted completes the handshake. The header's Token is the session token
// the client must send in every later datagram.
type Accepted struct {
	ClientNonce uint64
	ClientID    uint16
	TickRate    uint16         // ticks per second
	ServerTime  uint64         // µs since the server started
	Multicast   netip.AddrPort // IPv4 group and port; zero if none
	GroupToken  uint64         // token carried by multicast snapshots
	Flags       uint8          // Accepted* bits
	// With AcceptedSealed, on the wire after Flags (required then): the
	// server's CPace message, its Ed25519 public key (every multicast
	// datagram is signed with its private half), the group key sealed with
	// a key of this handshake, and the server's key confirmation tag.
	PAKE      [PAKESize]byte
	ServerKey [ServerKeySize]byte
	GroupKey  [WrappedKeySize]byte
	Confirm   [ConfirmSize]byte
}

// Accepted flags.
const (
	AcceptedUnicast = 1 << 0 // snapshots for this client come by unicast
	// AcceptedResumed: this session resumed the previous one of the same
	// PlayerID: same client id, avatar kept. Nothing it held is held now,
	// unless the server restarted from a checkpoint (PROTOCOL §7.6).
	AcceptedResumed = 1 << 1
	// AcceptedSealed: the server has a venue passphrase; every later
	// datagram of the session, both ways, and of the multicast group is
	// sealed (FlagSealed).
	AcceptedSealed = 1 << 2
	// AcceptedDeltaState: the server sends this client the tick's state as
	// StateDelta (§10.4), not Snapshot, on every path.
	AcceptedDeltaState = 1 << 3
)

// DenyReason says why a handshake was refused.
type DenyReason uint8

// Deny reasons.
const (
	DenyServerFull      DenyReason = 1
	DenyVersionMismatch DenyReason = 2
	DenyBadCookie       DenyReason = 3
	DenyShuttingDown    DenyReason = 4
	DenyBadPassphrase   DenyReason = 5 // no proof, or a wrong one, of the venue passphrase
)

// Denied refuses a handshake.
type Denied struct {
	ClientNonce uint64
	Reason      DenyReason
}

// PoseInput is one sample of a headset's tracked state.
type PoseInput struct {
	InputSeq   uint32 // increases by one per sample
	ClientTime uint64 // µs, client clock, when the sample was sent
	Head       Pose
	Hands      [2]Pose // Left, Right
	Buttons    uint32
	Trigger    [2]float32    // 0..1, quantized to 1/255
	Grip       [2]float32    // 0..1, quantized to 1/255
	Stick      [2][2]float32 // per hand X, Y in -1..1, quantized to 1/127
	Tracking   uint8         // Track* bits
	// With HasStateAck (on the wire when the body is PoseInputAckSize
	// bytes): the newest complete tick the client holds, and a mask of the
	// ticks it holds, bit i for tick StateTick−i (§10.4).
	HasStateAck bool
	StateTick   uint32
	StateHeld   uint64
}

// PlayerState is one player's avatar in a snapshot.
type PlayerState struct {
	ClientID     uint16
	LastInputSeq uint32 // newest input sequence applied in this tick
	Tracking     uint8
	Head         Pose
	Hands        [2]Pose
}

// EntityState is one scene object in a snapshot or an entity update.
type EntityState struct {
	ID    uint16
	Flags uint8 // Entity* bits
	Pose  Pose
}

// Entity flags, in EntityState.Flags. Receivers ignore bits they do not know.
const (
	EntityHeld      = 1 << 0 // held by a grabber: its pose follows a hand
	EntitySleeping  = 1 << 1 // at rest, not simulated
	EntityGrabbable = 1 << 2 // a client may grab it
)

// Snapshot flags.
const (
	SnapshotHasHash = 1 << 0 // StateHash is present
)

// Snapshot is one part of the world state after a tick. A tick's state may be
// split over several parts, each self-contained.
type Snapshot struct {
	Tick        uint32
	ServerTime  uint64 // µs since the server started, at the tick
	Part        uint8  // 0-based index of this part
	Parts       uint8  // number of parts for this tick, >= 1
	PlayerCount uint16 // players in the whole tick, across all parts
	Flags       uint8
	StateHash   uint64 // present when Flags&SnapshotHasHash
	Players     []PlayerState
	Entities    []EntityState
	// QPlayers, when not nil, are the player records sent in place of
	// Players, already on the wire's grid (QuantPlayer): a sender that
	// keeps each player's grid form encodes it once, not once a send.
	// Parse sets it to nil.
	QPlayers []QPlayer
}

// EntityUpdate carries what one or more inputs moved between ticks: the
// entities their hands hold and the players' own avatars. The server sends
// it as soon as the inputs are applied, without waiting for the next tick's
// snapshot. It lists only the entities and players that moved and implies
// nothing about the others.
type EntityUpdate struct {
	Tick       uint32 // the newest tick completed before this update; the update applies on top of it
	ServerTime uint64 // µs since the server started, when the update was made
	// Causes names every input whose effect this update carries, in the
	// order the server applied them; it may be empty. When the server
	// coalesces several inputs, of one or several clients, it names them
	// all, so each client can tell its own input is reflected (see
	// NewestInput).
	Causes   []UpdateCause
	Entities []EntityState
	// Players are the avatars the inputs moved, each as applied: the
	// newest input of that client and its head and hands. A client is
	// listed at most once. Sent after the entity records; an update
	// without them ends there.
	Players []PlayerState
	// QPlayers, when not nil, are the player records sent in place of
	// Players, as Snapshot.QPlayers. Parse leaves it nil.
	QPlayers []QPlayer
}

// UpdateCause names one input reflected by an EntityUpdate.
type UpdateCause struct {
	Client uint16 // the sending client's id, never 0
	Input  uint32 // that input's InputSeq
}

// Ping asks for a Pong, for round-trip time and clock offset.
type Ping struct {
	PingID     uint32
	ClientTime uint64 // µs, client clock
}

// Pong answers a Ping.
type Pong struct {
	PingID         uint32
	ClientTime     uint64 // echoed from the Ping
	ServerRecvTime uint64 // µs, server clock
	ServerSendTime uint64 // µs, server clock
}

// DisconnectReason says why a session ended.
type DisconnectReason uint8

// Disconnect reasons.
const (
	DisconnectClientLeft     DisconnectReason = 1
	DisconnectTimeout        DisconnectReason = 2
	DisconnectServerShutdown DisconnectReason = 3
	DisconnectKicked         DisconnectReason = 4
	// DisconnectUnknownSession: the server holds no session of the token
	// the datagram it answers carried (it restarted, or forgot it): start
	// a new handshake. Sent in clear, even on a sealed server.
	DisconnectUnknownSession DisconnectReason = 5
)

// Disconnect ends a session.
type Disconnect struct {
	Reason DisconnectReason
}

// DeliveryProbe is a light unicast reference the server sends a client that
// receives snapshots by multicast, every few ticks: the client compares its
// arrival with that of the same tick's multicast snapshot.
type DeliveryProbe struct {
	Tick       uint32 // the tick whose multicast snapshot this pairs with
	ServerTime uint64 // that snapshot's server time, µs
	GroupSeq   uint16 // header seq of that tick's first multicast datagram
}

// DeliveryReport tells the server how the multicast path compares with
// unicast for this client over the last report window. The server switches
// a client whose multicast is lossy or late to unicast, and back.
type DeliveryReport struct {
	WindowMs uint16 // length of the window reported, ms
	// Multicast datagrams received and missing (sequence gaps) in the window.
	McastReceived uint16
	McastLost     uint16
	// Samples of multicast arrival minus unicast arrival for the same tick
	// (from probes or unicast snapshots), and their median and 90th
	// percentile in µs; negative when multicast came first.
	Samples   uint16
	ExcessP50 int32
	ExcessP90 int32
	Flags     uint8 // DeliveryNotJoined
	// Loss on the client's unicast path from the server over the last 16
	// report windows (this one included), counted from header seq gaps
	// like the multicast counts: lost/(received+lost) in units of
	// 1/MaxUnicastLoss (0 to MaxUnicastLoss), or UnicastLossUnknown when
	// fewer than 20 unicast datagrams were expected over them (a client
	// on multicast gets only a few per window). The server compares it with
	// the multicast loss: when both paths lose alike, unicast does not help.
	UnicastLoss uint16
}

// DeliveryReport flags.
const (
	// DeliveryNotJoined: the client could not join the multicast group.
	DeliveryNotJoined = 1 << 0
	// DeliveryStarved: the client read more than a tenth of the window's
	// datagrams late (more than StarvedLag after the kernel received them):
	// its losses are its own, not the multicast path's.
	DeliveryStarved = 1 << 1
)

// DeliveryReport.UnicastLoss values.
const (
	MaxUnicastLoss     = 10000  // every unicast datagram lost; the unit is 1/10000
	UnicastLossUnknown = 0xFFFF // too few unicast datagrams expected to tell
)
