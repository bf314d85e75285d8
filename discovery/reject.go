package discovery

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// The protocol versions this client can join: it prefers the newest that
// any answer offers.
const (
	MinProtocolVersion = 1
	MaxProtocolVersion = ProtocolVersion
)

// RequiredKeys are the TXT keys (docs/PROTOCOL.md §14.2) an answer must
// carry, well-formed, to be joined: the version, the server run's id, the
// tick rate and the player count. mcast and scene are informational (the
// Accepted names the group; a truncated beacon reply drops scene first).
var RequiredKeys = []string{"v", "id", "tick", "players"}

// RejectReason says why Browse or Beacon did not return an answer.
type RejectReason uint8

// Reasons for rejecting an answer.
const (
	RejectGoodbye      RejectReason = iota + 1 // the server said goodbye (TTL 0)
	RejectNoSRV                                // no SRV record by the end of the browse
	RejectNoTXT                                // no TXT record by the end of the browse
	RejectNoAddress                            // no A record for the SRV's host
	RejectMissingKey                           // a required TXT key is absent
	RejectBadValue                             // a required TXT key's value is malformed
	RejectNewerVersion                         // speaks a protocol version this client does not
	RejectOlderVersion                         // another answer speaks a newer version this client prefers
	RejectDuplicate                            // a second reply from the same game address
	RejectStaleEpoch                           // another server answers for the instance under a higher epoch
)

var rejectNames = [...]string{
	RejectGoodbye:      "goodbye",
	RejectNoSRV:        "no_srv",
	RejectNoTXT:        "no_txt",
	RejectNoAddress:    "no_address",
	RejectMissingKey:   "missing_key",
	RejectBadValue:     "bad_value",
	RejectNewerVersion: "newer_version",
	RejectOlderVersion: "older_version",
	RejectDuplicate:    "duplicate",
	RejectStaleEpoch:   "stale_epoch",
}

func (r RejectReason) String() string {
	if int(r) < len(rejectNames) && rejectNames[r] != "" {
		return rejectNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// Rejected is one answer Browse or Beacon heard and did not return, with
// why: a caller can log each (String) to tell an operator why a server on
// the LAN is not offered.
type Rejected struct {
	Instance string         `json:"instance"`
	From     netip.Addr     `json:"from"`           // the responder's address
	Addr     netip.AddrPort `json:"addr,omitzero"`  // the game address, when known
	Version  int            `json:"version"`        // from v=, 0 when absent
	Epoch    uint32         `json:"epoch,omitzero"` // from epoch=, 0 when absent
	Reason   RejectReason   `json:"reason"`         // why
	Detail   string         `json:"detail"`         // what exactly, for a log line
	Text     []string       `json:"txt,omitempty"`  // the TXT strings, when any
}

func (r Rejected) String() string {
	return fmt.Sprintf("%q from %v: %s: %s", r.Instance, r.From, r.Reason, r.Detail)
}

// MarshalText names the reason in JSON.
func (r RejectReason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// checkText checks s's TXT strings for the required keys, well-formed,
// and a version in lo..hi.
func checkText(s *Service, lo, hi int) (RejectReason, string) {
	vals := map[string]string{}
	for _, kv := range s.Text {
		k, v, _ := strings.Cut(kv, "=")
		k = strings.ToLower(k)
		if _, dup := vals[k]; k != "" && !dup {
			vals[k] = v
		}
	}
	for _, k := range RequiredKeys {
		v, ok := vals[k]
		if !ok {
			what := fmt.Sprintf("no %q key in its TXT %q", k, s.Text)
			if s.Truncated {
				what += " (a truncated beacon reply)"
			}
			return RejectMissingKey, what
		}
		if !wellFormed(k, v) {
			return RejectBadValue, fmt.Sprintf("%s=%q is malformed", k, v)
		}
	}
	if s.Version > hi || s.Version < lo {
		return RejectNewerVersion, fmt.Sprintf("speaks protocol version %d; this client speaks %d to %d", s.Version, lo, hi)
	}
	return 0, ""
}

func wellFormed(k, v string) bool {
	positive := func(v string) bool { n, err := strconv.Atoi(v); return err == nil && n > 0 }
	switch k {
	case "v", "tick":
		return positive(v)
	case "id": // as Advert.Validate allows
		return v != "" && len(v) <= 64 && !strings.Contains(v, " ")
	case "players":
		n, c, ok := strings.Cut(v, "/")
		pn, err1 := strconv.Atoi(n)
		pc, err2 := strconv.Atoi(c)
		return ok && err1 == nil && err2 == nil && pn >= 0 && pc >= 0
	}
	return true
}

// choose keeps, of the answers under one instance name with an epoch,
// those of the highest epoch (docs/PROTOCOL.md §18.7: the active server
// of a standby pair); then the well-formed answers of the newest version
// any of them speaks within what this client speaks, sorted by instance
// name; and rejects the rest, each with why.
func choose(cands []Service, from []netip.Addr, rejected []Rejected) ([]Service, []Rejected) {
	return chooseVersions(cands, from, rejected, MinProtocolVersion, MaxProtocolVersion)
}

// chooseVersions is choose for a client that speaks versions lo..hi.
func chooseVersions(cands []Service, from []netip.Addr, rejected []Rejected, lo, hi int) ([]Service, []Rejected) {
	var ok []Service
	newest := 0
	top := map[string]uint32{} // the highest epoch under each instance name
	for i := range cands {
		if s := &cands[i]; s.Epoch != 0 {
			k := lowerASCII(s.Instance)
			top[k] = max(top[k], s.Epoch)
		}
	}
	for i := range cands {
		s := &cands[i]
		if e := top[lowerASCII(s.Instance)]; s.Epoch != 0 && s.Epoch < e {
			rejected = append(rejected, staleEpoch(s, from[i], e))
			continue
		}
		if why, detail := checkText(s, lo, hi); why != 0 {
			rejected = append(rejected, Rejected{Instance: s.Instance, From: from[i], Addr: s.Addr, Version: s.Version, Epoch: s.Epoch, Reason: why, Detail: detail, Text: s.Text})
			continue
		}
		ok = append(ok, *s)
		newest = max(newest, s.Version)
	}
	out := ok[:0]
	for i := range ok {
		if ok[i].Version < newest {
			rejected = append(rejected, Rejected{Instance: ok[i].Instance, From: ok[i].Addr.Addr(), Addr: ok[i].Addr, Version: ok[i].Version, Epoch: ok[i].Epoch, Reason: RejectOlderVersion,
				Detail: fmt.Sprintf("speaks version %d; another server speaks %d, which this client prefers", ok[i].Version, newest), Text: ok[i].Text})
			continue
		}
		out = append(out, ok[i])
	}
	slices.SortFunc(out, func(a, b Service) int { return strings.Compare(a.Instance, b.Instance) })
	slices.SortFunc(rejected, func(a, b Rejected) int { return strings.Compare(a.Instance, b.Instance) })
	return out, rejected
}

// staleEpoch is the rejection of s, heard from from, when another server
// answers for its instance name under the higher epoch top.
func staleEpoch(s *Service, from netip.Addr, top uint32) Rejected {
	return Rejected{Instance: s.Instance, From: from, Addr: s.Addr, Version: s.Version, Epoch: s.Epoch, Reason: RejectStaleEpoch,
		Detail: fmt.Sprintf("answers under epoch %d; another server answers for this name under epoch %d, the active one of its standby pair", s.Epoch, top), Text: s.Text}
}
