package client

import "github.com/arcadexr/arcade/wire"

// DropReason says why a received datagram was dropped.
type DropReason uint8

// Drop reasons, indexes into SessionStats.Dropped.
const (
	DropTooLarge     DropReason = iota // longer than wire.MaxDatagramSize
	DropShort                          // header or body truncated
	DropMagic                          // not an Arcade datagram
	DropVersion                        // another protocol version
	DropType                           // unknown packet type
	DropMalformed                      // body fields out of range
	DropToken                          // wrong session or group token
	DropNonce                          // handshake reply for another nonce
	DropDuplicate                      // sequence number already received
	DropStale                          // sequence number older than the window
	DropOldTick                        // snapshot or entity update of a tick older than a snapshot delivered
	DropUnknownPing                    // Pong for no Ping in flight
	DropUnexpected                     // valid, but not expected now or on this path
	DropBadMessage                     // Message payload breaks the reliable layer's receive rules
	DropUnsealed                       // datagram in clear on a sealed session (or a clear Accepted for a client with a passphrase)
	DropBadSeal                        // sealed datagram that does not authenticate
	DropReplayed                       // sealed datagram whose number was seen or is too old
	DropImplausible                    // state stamped beyond the server clock, or a tick not of its server time
	DropBadSignature                   // multicast datagram that opens with the group key but is not signed by the server
	DropNoBaseline                     // StateDelta coded against a tick this client does not hold
	DropBadDelta                       // StateDelta that does not decode against its baseline, or a tick whose parts disagree
	DropStaleEpoch                     // from a server of a standby pair under an epoch below the newest seen, or without one after it (PROTOCOL §18.4)
	NumDropReasons
)

var dropNames = [NumDropReasons]string{
	DropTooLarge:     "too-large",
	DropShort:        "short",
	DropMagic:        "magic",
	DropVersion:      "version",
	DropType:         "type",
	DropMalformed:    "malformed",
	DropToken:        "token",
	DropNonce:        "nonce",
	DropDuplicate:    "duplicate",
	DropStale:        "stale",
	DropOldTick:      "old-tick",
	DropUnknownPing:  "unknown-ping",
	DropUnexpected:   "unexpected",
	DropBadMessage:   "bad-message",
	DropUnsealed:     "unsealed",
	DropBadSeal:      "bad-seal",
	DropReplayed:     "replayed",
	DropImplausible:  "implausible",
	DropBadSignature: "bad-signature",
	DropNoBaseline:   "no-baseline",
	DropBadDelta:     "bad-delta",
	DropStaleEpoch:   "stale-epoch",
}

func (r DropReason) String() string {
	if r < NumDropReasons {
		return dropNames[r]
	}
	return "unknown"
}

// MarshalText names the reason (in JSON, logs).
func (r DropReason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// ParseDropReason returns the reason named name (as String gives it).
func ParseDropReason(name string) (DropReason, bool) {
	for r := range NumDropReasons {
		if dropNames[r] == name {
			return r, true
		}
	}
	return 0, false
}

// Drop is one reason's count of dropped datagrams.
type Drop struct {
	Reason DropReason `json:"reason"`
	Count  uint64     `json:"count"`
}

// Drops returns the reasons that dropped any datagram, with their
// counts, in the order of the reasons: what to log or show of Dropped.
func (s *SessionStats) Drops() []Drop {
	var out []Drop
	for r, n := range s.Dropped {
		if n > 0 {
			out = append(out, Drop{Reason: DropReason(r), Count: n})
		}
	}
	return out
}

// dropReasonFor maps a wire parse error to a drop reason.
func dropReasonFor(err error) DropReason {
	switch err {
	case wire.ErrShort:
		return DropShort
	case wire.ErrMagic:
		return DropMagic
	case wire.ErrVersion:
		return DropVersion
	case wire.ErrType:
		return DropType
	case wire.ErrTooLarge:
		return DropTooLarge
	default: // ErrCount, ErrField, ErrNotPadded and anything newer
		return DropMalformed
	}
}

// SessionStats counts a session's traffic. All counters only grow.
type SessionStats struct {
	Received uint64 // datagrams handed to Handle
	Sent     uint64 // datagrams handed out by Outgoing
	Overflow uint64 // queued datagrams discarded because Outgoing was not called
	// Dropped counts received datagrams dropped, indexed by DropReason
	// (Dropped[DropBadSeal]…); Drops lists the non-zero ones by name.
	Dropped   [NumDropReasons]uint64
	Snapshots uint64 // distinct snapshot datagrams delivered (a StateDelta tick counts once, when complete)
	// Restarts counts the new handshakes Restart began (reconnects).
	Restarts uint64
	// EpochChanges counts the moves to a higher epoch: a standby server
	// that took over (PROTOCOL §18.5).
	EpochChanges uint64
	// RPCsLostAtMove counts reliable messages not acknowledged by the old
	// server that did not fit the new channel at a move (its queue full).
	RPCsLostAtMove uint64
	// DeltaTicks counts the ticks assembled whole from StateDelta parts,
	// repairs of older ticks included.
	DeltaTicks uint64
	// EntityUpdates counts distinct entity update datagrams delivered.
	EntityUpdates uint64
	Pongs         uint64 // pongs matched to a ping
	Probes        uint64 // delivery probes received
	Inputs        uint64 // poses queued by SendPose
	// CookieRetries counts handshakes restarted because the server denied
	// the cookie (expired, or the server restarted).
	CookieRetries uint64
	// StateRecoveries counts older state taken because the newest was
	// stamped in the future (beyond StateRecoverAhead): a forgery.
	StateRecoveries uint64
	// RPCIn counts RPC messages delivered (to OnRPC, if set); RPCOut
	// those queued by SendRPC and its helpers.
	RPCIn     uint64
	RPCOut    uint64
	Unicast   PathStats // server's per-connection sequence, from Accepted on
	Multicast PathStats // the group sequence, from the first multicast datagram
	// Desync counts the state hash checks and what they found (desync.go).
	Desync DesyncStats
}

// TotalDropped is the sum of Dropped.
func (s *SessionStats) TotalDropped() uint64 {
	var n uint64
	for _, d := range s.Dropped {
		n += d
	}
	return n
}
