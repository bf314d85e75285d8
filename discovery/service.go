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
	// Truncated reports a beacon reply that left out trailing strings.
	Truncated bool `json:"truncated,omitempty"`
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
		}
	}
}
