package discovery

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// goodbyeResponse is the PTR of instance i with TTL 0.
func goodbyeResponse(t *testing.T, i int) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{Response: true, Authoritative: true})
	b.StartAnswers()
	b.PTRResource(dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(ServiceType), Type: dnsmessage.TypePTR, Class: classIN},
		dnsmessage.PTRResource{PTR: dnsmessage.MustNewName("Forged " + string(rune('0'+i)) + "." + ServiceType)})
	m, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestBrowseRejects: every answer that is not returned comes back with
// its reason: a goodbye, no TXT, no address, a required key missing or
// malformed, a version this client does not speak; the good one is
// returned.
func TestBrowseRejects(t *testing.T) {
	with := func(kv ...string) []string {
		out := []string{}
		drop := map[string]bool{}
		for _, s := range kv {
			if s[0] == '-' {
				drop[s[1:]] = true
			}
		}
		for _, g := range goodTXT {
			k, _, _ := strings.Cut(g, "=")
			if !drop[k] {
				out = append(out, g)
			}
		}
		for _, s := range kv {
			if s[0] != '-' {
				out = append([]string{s}, out...) // the first occurrence wins
			}
		}
		return out
	}
	c := &scriptConn{in: []scripted{
		{serviceResponseTXT(t, 1, 1, goodTXT), peer},
		{goodbyeResponse(t, 2), peer},
		{serviceResponseTXT(t, 3, 1, nil), peer},
		{serviceResponseTXT(t, 4, 0, goodTXT), peer},
		{serviceResponseTXT(t, 5, 1, with("-id")), peer},
		{serviceResponseTXT(t, 6, 1, with("tick=fast")), peer},
		{serviceResponseTXT(t, 7, 1, with("v=2")), peer},
		{serviceResponseTXT(t, 8, 1, with("players=3")), peer},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	svcs, rejected, err := browseReport(ctx, c, []Interface{eth0}, false, time.Now)
	if err != nil || len(svcs) != 1 || svcs[0].Instance != "Forged 1" {
		t.Fatalf("browse: %+v, %v; want only Forged 1", svcs, err)
	}
	want := map[string]RejectReason{
		"Forged 2": RejectGoodbye, "Forged 3": RejectNoTXT, "Forged 4": RejectNoAddress, "Forged 5": RejectMissingKey,
		"Forged 6": RejectBadValue, "Forged 7": RejectNewerVersion, "Forged 8": RejectBadValue,
	}
	if len(rejected) != len(want) {
		t.Errorf("%d rejected, want %d: %v", len(rejected), len(want), rejected)
	}
	for _, r := range rejected {
		if want[r.Instance] != r.Reason || r.Detail == "" || r.From != peer.Addr() {
			t.Errorf("%s: %v (%q) from %v, want %v", r.Instance, r.Reason, r.Detail, r.From, want[r.Instance])
		}
		t.Log(r)
	}

	// Nothing acceptable: ErrNotFound, and the rejections still come back.
	c = &scriptConn{in: []scripted{{serviceResponseTXT(t, 7, 1, with("v=2")), peer}}}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, rejected, err := browseReport(ctx2, c, []Interface{eth0}, false, time.Now); !errors.Is(err, ErrNotFound) || len(rejected) != 1 || rejected[0].Reason != RejectNewerVersion {
		t.Fatalf("only a newer version: %v, %v", rejected, err)
	}
}

// TestChoosePrefersNewest: a client that speaks versions 1 and 2 takes
// the servers of version 2 when any answered, and says why it left the
// version 1 ones out; with only version 1 answers, it takes those.
func TestChoosePrefersNewest(t *testing.T) {
	mk := func(name string, v string) Service {
		s := Service{Instance: name, Addr: netip.MustParseAddrPort("192.0.2.1:7777")}
		s.setText([]string{"v=" + v, "id=ab", "tick=120", "players=1/8"})
		return s
	}
	from := []netip.Addr{peer.Addr(), peer.Addr(), peer.Addr()}
	svcs, rej := chooseVersions([]Service{mk("Old", "1"), mk("New", "2"), mk("Newer", "3")}, from, nil, 1, 2)
	if len(svcs) != 1 || svcs[0].Instance != "New" {
		t.Fatalf("chose %+v", svcs)
	}
	reasons := map[string]RejectReason{}
	for _, r := range rej {
		reasons[r.Instance] = r.Reason
	}
	if reasons["Old"] != RejectOlderVersion || reasons["Newer"] != RejectNewerVersion || len(rej) != 2 {
		t.Fatalf("rejected %v", rej)
	}
	svcs, rej = chooseVersions([]Service{mk("Old", "1"), mk("Older", "1")}, from[:2], nil, 1, 2)
	if len(svcs) != 2 || len(rej) != 0 {
		t.Fatalf("only version 1: %v, rejected %v", svcs, rej)
	}
	if s := RejectOlderVersion.String(); s != "older_version" {
		t.Fatalf("reason name %q", s)
	}
}
