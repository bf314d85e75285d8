package discovery

import "sync/atomic"

// DropReason says why a received datagram was dropped.
type DropReason int

// Drop reasons.
const (
	DropMalformed      DropReason = iota // not a DNS message, or a beacon probe with a bad layout
	DropOtherInterface                   // arrived on an interface we do not advertise on
	DropOpcode                           // DNS opcode other than 0 (RFC 6762 §18.3)
	DropSourcePort                       // mDNS response not from port 5353 (§11)
	DropRcode                            // mDNS response with a nonzero rcode (§18.11)
	DropBeaconSize                       // beacon probe shorter than 64 bytes or longer than 1200
	DropBeaconVersion                    // beacon probe of another version or type
	DropBeaconTooSmall                   // beacon probe too small for even a truncated reply
	// DropOffLinkUnicast: an mDNS datagram whose answer would go by
	// unicast (sent to one of our addresses, or a legacy query from a
	// port other than 5353) from a source not on the arrival interface's
	// subnet (RFC 6762 §11).
	DropOffLinkUnicast
	// DropOffLink: any other datagram (mDNS to 224.0.0.251, a beacon
	// probe) from a source not on the arrival interface's subnet.
	DropOffLink
	numDropReasons
)

var dropNames = [numDropReasons]string{"malformed", "other_interface", "opcode", "source_port", "rcode", "beacon_size", "beacon_version", "beacon_too_small", "off_link_unicast", "off_link"}

func (d DropReason) String() string {
	if d >= 0 && d < numDropReasons {
		return dropNames[d]
	}
	return "unknown"
}

// Stats counts a responder's traffic. Safe for concurrent reading.
type Stats struct {
	Received         atomic.Uint64
	Sent             atomic.Uint64
	SendErrors       atomic.Uint64
	Queries          atomic.Uint64
	Responses        atomic.Uint64
	KnownAnswers     atomic.Uint64 // answers left out because the querier knew them
	DuplicateAnswers atomic.Uint64 // pending answers left out because another responder sent them
	Conflicts        atomic.Uint64
	ProbeDefers      atomic.Uint64 // simultaneous-probe tie-breaks lost
	// Standby counts datagrams left unanswered because this server is
	// the standby of its pair (docs/PROTOCOL.md §18.7).
	Standby atomic.Uint64
	// BadEpoch counts another server's TXT records for our instance
	// name whose epoch= is malformed: read as without an epoch.
	BadEpoch atomic.Uint64
	Dropped  [numDropReasons]atomic.Uint64
}

func (s *Stats) drop(r DropReason) { s.Dropped[r].Add(1) }

// DroppedByName returns the nonzero drop counters by reason name.
func (s *Stats) DroppedByName() map[string]uint64 {
	m := map[string]uint64{}
	for i := range s.Dropped {
		if n := s.Dropped[i].Load(); n > 0 {
			m[DropReason(i).String()] = n
		}
	}
	return m
}
