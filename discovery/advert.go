package discovery

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Defaults and limits of an Advert.
const (
	// DefaultTickRate is advertised when Advert.TickRate is zero.
	DefaultTickRate = 120
	// MaxInstanceLen is the longest instance name: one DNS label.
	MaxInstanceLen = 63
	// maxTextString is the longest TXT string (RFC 6763 §6.1).
	maxTextString = 255
	// idBytes is the size of a random server id (16 hex digits).
	idBytes = 8
	// ProtocolVersion is the game protocol version advertised as v=.
	ProtocolVersion = 1
)

// Advert is what a server advertises. The same key=value strings go into
// the DNS-SD TXT record and into the beacon reply. Zero fields mean their
// default; Validate applies the defaults and names the first invalid field.
type Advert struct {
	// Instance is the name players see ("Arena"): 1..63 bytes of UTF-8
	// without '.' or control characters. Default: the host label.
	Instance string
	// Host is the label of <Host>.local, the target of the SRV record:
	// letters, digits and '-'. Default: HostLabel(os.Hostname()).
	Host string
	// Port is the game server's UDP port. Required.
	Port uint16
	// TickRate is advertised as tick=. Default 120.
	TickRate int
	// Multicast is the snapshot group, advertised as mcast=. The zero
	// value advertises mcast=off.
	Multicast netip.AddrPort
	// Scene is advertised as scene= (cut to fit one TXT string).
	Scene string
	// Capacity is the player limit, advertised after the slash in
	// players=n/capacity. Zero means unknown and is advertised as 0.
	Capacity int
	// Players returns the number of connected players. It is called from
	// the responders' goroutines, at most a few times per second and once
	// per beacon probe, so it must be cheap and safe for concurrent use.
	// Nil means 0.
	Players func() int
	// ID identifies this server run, advertised as id=. Default: 16
	// random hex digits.
	ID string
}

// Validate applies defaults and reports the first invalid field.
func (a *Advert) Validate() error {
	if a.Host == "" {
		h, _ := os.Hostname()
		a.Host = HostLabel(h)
	}
	if a.Instance == "" {
		a.Instance = a.Host
	}
	if a.TickRate == 0 {
		a.TickRate = DefaultTickRate
	}
	if a.ID == "" {
		var b [idBytes]byte
		rand.Read(b[:])
		a.ID = hex.EncodeToString(b[:])
	}
	if err := checkInstance(a.Instance); err != nil {
		return fmt.Errorf("discovery: Instance: %w", err)
	}
	if HostLabel(a.Host) != a.Host {
		return fmt.Errorf("discovery: Host %q is not a host label (letters, digits and '-', at most 63)", a.Host)
	}
	if a.Port == 0 {
		return errors.New("discovery: Port must not be 0")
	}
	if a.TickRate < 0 {
		return fmt.Errorf("discovery: TickRate %d is negative", a.TickRate)
	}
	if a.Capacity < 0 {
		return fmt.Errorf("discovery: Capacity %d is negative", a.Capacity)
	}
	if a.Multicast.IsValid() && !a.Multicast.Addr().Is4() {
		return fmt.Errorf("discovery: Multicast %s is not IPv4", a.Multicast)
	}
	if len(a.ID) > 64 || strings.ContainsAny(a.ID, "= ") {
		return fmt.Errorf("discovery: ID %q: at most 64 bytes, no '=' or space", a.ID)
	}
	return nil
}

// checkInstance reports why s cannot be an instance name.
func checkInstance(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > MaxInstanceLen:
		return fmt.Errorf("%q is %d bytes, more than %d", s, len(s), MaxInstanceLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%q is not UTF-8", s)
	case strings.ContainsRune(s, '.'):
		return fmt.Errorf("%q contains '.'", s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%q contains a control character", s)
		}
	}
	return nil
}

// CheckInstance reports whether s can be an instance name, for flag
// validation.
func CheckInstance(s string) error { return checkInstance(s) }

// HostLabel turns a host name into a .local host label: the first label,
// lower case, characters other than letters, digits and '-' replaced by
// '-', at most 63 bytes; "arcade" if nothing is left.
func HostLabel(hostname string) string {
	if i := strings.IndexByte(hostname, '.'); i >= 0 {
		hostname = hostname[:i]
	}
	b := make([]byte, 0, len(hostname))
	for i := 0; i < len(hostname) && len(b) < MaxInstanceLen; i++ {
		c := hostname[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			b = append(b, c)
		default:
			b = append(b, '-')
		}
	}
	s := strings.Trim(string(b), "-")
	if s == "" {
		return "arcade"
	}
	return s
}

// players returns the current player count.
func (a *Advert) players() int {
	if a.Players == nil {
		return 0
	}
	return max(a.Players(), 0)
}

// Text returns the TXT strings for n players, in this order: v, id, tick,
// mcast, players, scene. The order matters to the beacon: a reply that
// does not fit drops strings from the end.
func (a *Advert) Text(n int) []string {
	mc := "off"
	if a.Multicast.IsValid() {
		mc = a.Multicast.String()
	}
	return []string{
		"v=" + strconv.Itoa(ProtocolVersion),
		"id=" + a.ID,
		"tick=" + strconv.Itoa(a.TickRate),
		"mcast=" + mc,
		"players=" + strconv.Itoa(n) + "/" + strconv.Itoa(a.Capacity),
		cutString("scene="+a.Scene, maxTextString),
	}
}

// textAt is Text(n) for a server of a standby pair that writes under
// epoch e: with "epoch=E" after the strings of §14.2 (docs/PROTOCOL.md
// §18.7). Epoch 0 (a server not in a pair) adds nothing.
func (a *Advert) textAt(n int, e uint32) []string {
	t := a.Text(n)
	if e != 0 {
		t = append(t, epochText(e))
	}
	return t
}

// cutString cuts s to at most n bytes at a UTF-8 boundary.
func cutString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// renamed returns base with the suffix " (n)", base cut so the result is
// one label.
func renamed(base string, n int) string {
	suffix := " (" + strconv.Itoa(n) + ")"
	return cutString(base, MaxInstanceLen-len(suffix)) + suffix
}

// renamedHost returns host with the suffix "-n".
func renamedHost(base string, n int) string {
	suffix := "-" + strconv.Itoa(n)
	return strings.TrimRight(base[:min(len(base), MaxInstanceLen-len(suffix))], "-") + suffix
}
