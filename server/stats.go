package server

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/arcadexr/arcade/internal/metrics"
	"github.com/arcadexr/arcade/wire"
)

// DropReason classifies a datagram the server did not act on.
type DropReason uint8

// Drop reasons. Every malformed or unwanted datagram is counted under one.
const (
	DropShort             DropReason = iota // shorter than its header or body
	DropMagic                               // not an Arcade datagram
	DropVersion                             // another protocol version
	DropType                                // unknown packet type
	DropTooLarge                            // larger than wire.MaxDatagramSize
	DropNotPadded                           // connect request below the padding size
	DropCount                               // record count out of range
	DropField                               // field value out of range
	DropUnknownToken                        // no session with that token
	DropWrongSource                         // token valid, source address differs
	DropBadCookie                           // handshake cookie invalid or expired
	DropUnexpected                          // a type only the server sends
	DropStaleInput                          // input sequence not newer than the last one
	DropServerFull                          // handshake refused: no free slot
	DropSendBlocked                         // outgoing datagram dropped: socket buffer full
	DropSendError                           // outgoing datagram dropped: send failed
	DropDenied                              // source not allowed by the allow/deny lists
	DropRateLimited                         // source or session over its datagram rate
	DropBadMessage                          // Message payload breaks the reliable layer's receive rules
	DropUnknownRPC                          // RPC message of a type no handler takes (or shorter than its type id)
	DropBadPassphrase                       // handshake without a proof, or a wrong one, of the venue passphrase
	DropUnsealed                            // datagram of a sealed session without FlagSealed
	DropBadSeal                             // sealed datagram that does not authenticate
	DropReplayed                            // sealed datagram whose number was seen or is too old
	DropImplausibleInput                    // input sequence more than maxInputJump ahead of the session's newest
	DropHandshakeBudget                     // handshake datagram over the server-wide handshake budget
	DropReplayedHandshake                   // ChallengeResponse whose cookie already made a session that is gone
	NumDropReasons                          // the number of reasons
)

var dropNames = [NumDropReasons]string{
	DropShort:             "short",
	DropMagic:             "bad_magic",
	DropVersion:           "bad_version",
	DropType:              "unknown_type",
	DropTooLarge:          "too_large",
	DropNotPadded:         "not_padded",
	DropCount:             "bad_count",
	DropField:             "bad_field",
	DropUnknownToken:      "unknown_token",
	DropWrongSource:       "wrong_source",
	DropBadCookie:         "bad_cookie",
	DropUnexpected:        "unexpected_type",
	DropStaleInput:        "stale_input",
	DropServerFull:        "server_full",
	DropSendBlocked:       "send_blocked",
	DropSendError:         "send_error",
	DropDenied:            "denied_source",
	DropRateLimited:       "rate_limited",
	DropBadMessage:        "bad_message",
	DropUnknownRPC:        "unknown_rpc",
	DropBadPassphrase:     "bad_passphrase",
	DropUnsealed:          "unsealed",
	DropBadSeal:           "bad_seal",
	DropReplayed:          "replayed",
	DropImplausibleInput:  "implausible_input",
	DropHandshakeBudget:   "handshake_budget",
	DropReplayedHandshake: "replayed_handshake",
}

func (r DropReason) String() string {
	if r < NumDropReasons {
		return dropNames[r]
	}
	return "unknown"
}

// dropReasonFor maps a wire parse error to its drop reason.
func dropReasonFor(err error) DropReason {
	switch {
	case errors.Is(err, wire.ErrMagic):
		return DropMagic
	case errors.Is(err, wire.ErrVersion):
		return DropVersion
	case errors.Is(err, wire.ErrType):
		return DropType
	case errors.Is(err, wire.ErrTooLarge):
		return DropTooLarge
	case errors.Is(err, wire.ErrNotPadded):
		return DropNotPadded
	case errors.Is(err, wire.ErrCount):
		return DropCount
	case errors.Is(err, wire.ErrField):
		return DropField
	default:
		return DropShort
	}
}

// Stats are the server's counters and histograms. The tick thread writes
// them with atomic operations only; any goroutine may read them.
type Stats struct {
	Ticks       metrics.Counter
	MissedTicks metrics.Counter
	RxPackets   metrics.Counter
	// SessionRx counts the datagrams of known sessions that passed their
	// checks (token, seal, sequence): what headsets, not the LAN, sent.
	SessionRx metrics.Counter
	TxPackets metrics.Counter
	Clients   atomic.Int64
	Dropped   [NumDropReasons]metrics.Counter
	// Traffic each way by packet type (the header's type byte; index 0
	// counts received datagrams whose header did not parse): datagrams
	// and bytes, headers and seals included.
	Rx, RxBytes, Tx, TxBytes [wire.MaxType + 1]metrics.Counter

	TickLateness metrics.Histogram // ns the tick started after its deadline
	// Late ticks (starting Config.LateTick or more after their deadline),
	// by whose fault: the host's (the reference probe woke as late around
	// then), Arcade's (the probe was on time), or unknown (no probe).
	TicksLateHost, TicksLateArcade, TicksLateUnknown metrics.Counter
	// Missed ticks (MissedTicks) by the fault of the tick that skipped
	// them, judged from the first deadline skipped: the host's (the probe
	// as late), the wake's (the probe on time, but the tick thread asleep
	// in its wait through the deadline, woken late), Arcade's (the thread
	// busy) or unknown. The four add up to MissedTicks.
	MissedTicksHost, MissedTicksWake, MissedTicksArcade, MissedTicksUnknown metrics.Counter
	// Stage times each tick stage (StageNames order), TickTotal the
	// whole tick, in ns.
	Stage     [numStages]metrics.Histogram
	TickTotal metrics.Histogram
	// ServerAdded is the time from every pose input's kernel receive
	// timestamp to the hand-off to the kernel of the first send that
	// carries it (the player's avatar): an EntityUpdate when eager, else
	// the tick's snapshot; in ns.
	ServerAdded metrics.Histogram
	// ServerAddedGrab is ServerAdded for the inputs that moved held
	// objects, up to the send that carried the objects' new poses.
	ServerAddedGrab metrics.Histogram
	// SamplesDropped counts inputs left out of ServerAdded because a
	// tick's sample list was full (at most eight per client per tick are
	// kept).
	SamplesDropped metrics.Counter
	// SendSyscall is the time inside the send calls of one flush (ns). On
	// loopback it includes the kernel's delivery of every multicast copy
	// to every local socket, a cost a switch bears on a real LAN: it is
	// kept out of ServerAdded, which ends at the hand-off.
	SendSyscall  metrics.Histogram
	EagerUpdates metrics.Counter // EntityUpdate datagrams sent
	// PlayerIDInUse counts handshakes naming the player id of a session
	// that still speaks: not taken over, made a new player.
	PlayerIDInUse metrics.Counter
	// StateRepairs counts ticks sent by unicast to a client on the group
	// that lacked the group's baseline (docs/PROTOCOL.md §10.4).
	StateRepairs metrics.Counter
	// StateDeferred counts entity records held back by the state budget
	// (Config.StateBudgetKbps), one per entity per tick.
	StateDeferred metrics.Counter
	// DepartedEvicted counts departed players forgotten before their
	// ResumeWindow ended because the table of them was full.
	DepartedEvicted metrics.Counter
	// InputResyncs counts sessions whose newest input was moved back to a
	// run of older ones (a forged input jumped ahead of the client's).
	InputResyncs metrics.Counter
	// DeliverySwitches counts clients moved between multicast and unicast.
	DeliverySwitches metrics.Counter
	// EventsDropped counts join and leave events no reader took in time.
	EventsDropped metrics.Counter
	// UnknownSessionNotices counts Disconnect(UnknownSession) answers to
	// datagrams whose token no session had.
	UnknownSessionNotices metrics.Counter
	// ReportsStarved counts delivery reports whose headset said it read
	// late (wire.DeliveryStarved): not held against multicast.
	ReportsStarved metrics.Counter
	// FallbackDeferred counts moves to unicast the fallback's limits
	// (Config.MaxFallback, FallbackRate) held back.
	FallbackDeferred metrics.Counter
	// RxDelay is the time from a datagram's kernel receive timestamp to
	// the server reading it: the wake-up and queueing part of ServerAdded.
	RxDelay metrics.Histogram
	// GrabPhysics is the time the grab and physics stages took together.
	GrabPhysics metrics.Histogram
	// SubStepIO is the time the socket was served between physics
	// sub-steps (receive, apply, eager and paced sends), counted apart
	// from the physics stage.
	SubStepIO metrics.Histogram

	// RPC messages delivered by the reliable layer and taken by a handler
	// (unknown types count as DropUnknownRPC instead); of those, button
	// events, and grab and release requests the World refused.
	RPCIn        metrics.Counter
	ButtonEvents metrics.Counter
	GrabsRefused metrics.Counter
	// RPCOut counts messages queued by SendEvent, SendText and
	// SendSceneChange (one per client); RPCSendFailed those refused
	// (reliable.ErrQueueFull: the client does not keep up).
	RPCOut        metrics.Counter
	RPCSendFailed metrics.Counter

	// Desync reports taken (docs/PROTOCOL.md §10.5), and the state hash
	// checks and mismatches they added, over every session.
	DesyncReports    metrics.Counter
	DesyncChecks     metrics.Counter
	DesyncMismatches metrics.Counter

	// Client list published by the tick thread for readers. The tick thread
	// only ever TryLocks it, so a slow reader never blocks a tick.
	clientsMu    sync.Mutex
	clientsView  []ClientInfo
	playersView  []wire.PlayerState
	entitiesView []wire.EntityState
}

// ClientInfo describes one connected headset.
type ClientInfo struct {
	ID       uint16 `json:"id"`
	Name     string `json:"name"`
	Addr     string `json:"addr"`
	Delivery string `json:"delivery"`
	// DeliveryReason says why the client is on its delivery mode;
	// Fallback, that the server moved it to unicast because multicast
	// served it badly (not because it asked, or multicast is off).
	DeliveryReason string `json:"delivery_reason"`
	Fallback       bool   `json:"delivery_fallback"`
	// From the client's latest delivery report: multicast loss and how much
	// later than unicast multicast arrived (90th percentile).
	McastLossPct float64 `json:"mcast_loss_pct"`
	// McastLossRecentPct is the multicast loss over its last 8 reports
	// (about 2 s).
	McastLossRecentPct float64 `json:"mcast_loss_recent_pct"`
	McastExcessP90Ms   float64 `json:"mcast_excess_p90_ms"`
	// UnicastLossPct is the server→headset unicast loss the headset
	// reported over its last 16 windows (about 4 s); -1 when it could not
	// tell (too few datagrams) or sent no report.
	UnicastLossPct float64 `json:"unicast_loss_pct"`
	// RTTMs is the smallest round trip measured over the last one to two
	// seconds from the acknowledgements in the client's headers; 0 if none.
	RTTMs float64 `json:"rtt_ms"`
	// Server-added latency of this client's recent inputs (last 128), and
	// of its held objects', p50 and p99 in ms.
	LatencyP50Ms     float64 `json:"latency_p50_ms"`
	LatencyP99Ms     float64 `json:"latency_p99_ms"`
	GrabLatencyP50Ms float64 `json:"grab_latency_p50_ms"`
	GrabLatencyP99Ms float64 `json:"grab_latency_p99_ms"`

	// The reliable channel (package reliable): its smoothed RTT and
	// jitter from the acknowledgements of reliable packets, fragments
	// resent, payload bytes and messages each way.
	ReliableRTTMs float64 `json:"reliable_rtt_ms"`
	JitterMs      float64 `json:"jitter_ms"`
	Retransmits   uint64  `json:"retransmits"`
	// ReliableLossPct is the reliable channel's loss estimate; UpstreamLossPct
	// the share of the client's datagrams that never arrived (header seq
	// gaps).
	ReliableLossPct float64 `json:"reliable_loss_pct"`
	UpstreamLossPct float64 `json:"upstream_loss_pct"`
	// UpstreamLossRecentPct is UpstreamLossPct over the last
	// RecentLossWindow (5 s), or the session's life if shorter.
	UpstreamLossRecentPct float64 `json:"upstream_loss_recent_pct"`
	// ConnectedMs is how long the session has existed.
	ConnectedMs int64  `json:"connected_ms"`
	BytesIn     uint64 `json:"bytes_in"`
	BytesOut    uint64 `json:"bytes_out"`
	MessagesIn  uint64 `json:"messages_in"`
	MessagesOut uint64 `json:"messages_out"`

	rttNs        int64
	lat, grabLat latRing

	LastInputSeq uint32 `json:"last_input_seq"`
	Inputs       uint64 `json:"inputs"`
	IdleMs       int64  `json:"idle_ms"`

	// The state hash checks the headset reported (docs/PROTOCOL.md
	// §10.5): ticks checked and of them mismatched over its session, the
	// same over the last RecentDesyncWindow (10 s), the times it dropped
	// its held ticks to recover, the newest tick that mismatched, and how
	// many reports it sent.
	DesyncChecks           uint64 `json:"desync_checks"`
	DesyncMismatches       uint64 `json:"desync_mismatches"`
	DesyncChecksRecent     uint64 `json:"desync_checks_recent"`
	DesyncMismatchesRecent uint64 `json:"desync_mismatches_recent"`
	DesyncResyncs          uint64 `json:"desync_resyncs"`
	DesyncMismatchTick     uint32 `json:"desync_mismatch_tick"`
	DesyncReports          uint64 `json:"desync_reports"`
}

// WorldView returns copies of the most recently published player and
// entity states (published with the client list, about ten times a
// second), for views such as the operator dashboard.
func (s *Stats) WorldView() ([]wire.PlayerState, []wire.EntityState) {
	s.clientsMu.Lock()
	defer s.clientsMu.Unlock()
	return append([]wire.PlayerState(nil), s.playersView...), append([]wire.EntityState(nil), s.entitiesView...)
}

// ClientList returns a copy of the most recently published client list.
func (s *Stats) ClientList() []ClientInfo {
	s.clientsMu.Lock()
	list := append([]ClientInfo(nil), s.clientsView...)
	s.clientsMu.Unlock()
	for i := range list {
		c := &list[i]
		c.RTTMs = float64(c.rttNs) / 1e6
		c.LatencyP50Ms, c.LatencyP99Ms = c.lat.quantiles()
		c.GrabLatencyP50Ms, c.GrabLatencyP99Ms = c.grabLat.quantiles()
	}
	return list
}

// Reset clears the histograms and counters that describe behaviour over
// time (not the client count), so a measurement can start from zero.
func (s *Stats) Reset() {
	s.TickLateness.Reset()
	for i := range s.Stage {
		s.Stage[i].Reset()
	}
	s.TickTotal.Reset()
	s.SendSyscall.Reset()
	s.ServerAdded.Reset()
	s.ServerAddedGrab.Reset()
	s.GrabPhysics.Reset()
	s.SubStepIO.Reset()
	s.RxDelay.Reset()
}

func (s *Stats) drop(r DropReason) { s.Dropped[r].Inc() }

// DroppedByName returns every drop counter by reason name.
func (s *Stats) DroppedByName() map[string]uint64 {
	m := make(map[string]uint64, NumDropReasons)
	for r := DropReason(0); r < NumDropReasons; r++ {
		m[r.String()] = s.Dropped[r].Load()
	}
	return m
}
