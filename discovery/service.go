package discovery

import (
	"net/netip"
	"strconv"
	"strings"
)

// Service is an Arcade server found by Browse or Beacon.
type Service struct {
	// Instance is the advertised name ("Arena").
	Instance string `json:"instance"`
	// Host is the SRV target ("venue-pc.local."); empty from a beacon.
	Host string `json:"host,omitempty"`
	// Addr is the game server's address: the host's IPv4 address and the
	// game port.
	Addr netip.AddrPort `json:"addr"`
	// Text is the key=value strings, as advertised.
	Text []string `json:"txt"`
	// Fields parsed from Text; zero when absent or malformed.
	Version   int    `json:"version"`
	ID        string `json:"id,omitempty"`
	TickRate  int    `json:"tick_rate,omitempty"`
	Multicast string `json:"mcast,omitempty"`
	Scene     string `json:"scene,omitempty"`
	Players   int    `json:"players"`
	Capacity  int    `json:"capacity"`
	// Epoch is the epoch= of a server of a standby pair (docs/PROTOCOL.md
	// §18.7): of the answers under one instance name only those of the
	// highest epoch are returned. Zero for a server not in a pair, and
	// when epoch= is malformed.
	Epoch uint32 `json:"epoch,omitempty"`
	// BadEpoch reports an epoch= string that is not an epoch (not the
	// decimal form of 1..2³²−1): read as absent, and counted here so a
	// caller can say so.
	BadEpoch bool `json:"bad_epoch,omitempty"`
	// Truncated reports a beacon reply that left out trailing strings.
	Truncated bool `json:"truncated,omitempty"`
}

// EpochKey is the TXT key of a standby pair's epoch (docs/PROTOCOL.md
// §18.7), after the strings of §14.2.
const EpochKey = "epoch"

// epochText returns the TXT string of epoch e.
func epochText(e uint32) string { return EpochKey + "=" + strconv.FormatUint(uint64(e), 10) }

// parseEpoch reads an epoch= value: the decimal form of 1..2³²−1 as a
// server writes it, without sign, leading zeros or spaces. Epoch 0 is no
// epoch (a pair's first is 2, §18.1).
func parseEpoch(v string) (uint32, bool) {
	if v == "" || len(v) > 10 || v[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}

// textEpoch returns the epoch in TXT strings (the first epoch= string),
// and whether one was there but malformed.
func textEpoch(txt []string) (e uint32, bad bool) {
	for _, kv := range txt {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.EqualFold(k, EpochKey) {
			continue
		}
		e, ok := parseEpoch(v)
		return e, !ok
	}
	return 0, false
}

// setText stores txt and parses the known keys. Unknown keys and
// malformed values are ignored (RFC 6763 §6.4: keys are case-insensitive;
// the first occurrence wins).
func (s *Service) setText(txt []string) {
	s.Text = txt
	seen := map[string]bool{}
	for _, kv := range txt {
		k, v, _ := strings.Cut(kv, "=")
		k = strings.ToLower(k)
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		switch k {
		case "v":
			s.Version, _ = strconv.Atoi(v)
		case "id":
			s.ID = v
		case "tick":
			s.TickRate, _ = strconv.Atoi(v)
		case "mcast":
			s.Multicast = v
		case "scene":
			s.Scene = v
		case "players":
			n, c, _ := strings.Cut(v, "/")
			s.Players, _ = strconv.Atoi(n)
			s.Capacity, _ = strconv.Atoi(c)
		case EpochKey:
			var ok bool
			s.Epoch, ok = parseEpoch(v)
			s.BadEpoch = !ok
		}
	}
}
