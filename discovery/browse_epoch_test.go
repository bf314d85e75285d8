package discovery

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// pairServer is one server of a standby pair as a browser hears it.
type pairServer struct {
	host  string // SRV target label
	port  uint16
	addr  [4]byte
	epoch uint32 // 0: no epoch= string
}

var (
	boxA = pairServer{host: "box-a", port: 7001, addr: [4]byte{192, 0, 2, 21}, epoch: 2}
	boxB = pairServer{host: "box-b", port: 7002, addr: [4]byte{192, 0, 2, 22}, epoch: 3}
)

func (p pairServer) src() netip.Addr { return netip.AddrFrom4(p.addr) }

// msg is a response from p for the instance "Pair": the records named in
// parts (P PTR, S SRV, T TXT, A address), with ttl.
func (p pairServer) msg(t *testing.T, parts string, ttl uint32) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{Response: true, Authoritative: true})
	b.StartAnswers()
	inst := dnsmessage.MustNewName("Pair." + ServiceType)
	host := dnsmessage.MustNewName(p.host + ".local.")
	hdr := func(n dnsmessage.Name, ty dnsmessage.Type) dnsmessage.ResourceHeader {
		return dnsmessage.ResourceHeader{Name: n, Type: ty, Class: classIN, TTL: ttl}
	}
	txt := slices.Clone(goodTXT)
	if p.epoch != 0 {
		txt = append(txt, "epoch="+strconv.FormatUint(uint64(p.epoch), 10))
	}
	for _, c := range parts {
		switch c {
		case 'P':
			b.PTRResource(hdr(dnsmessage.MustNewName(ServiceType), dnsmessage.TypePTR), dnsmessage.PTRResource{PTR: inst})
		case 'S':
			b.SRVResource(hdr(inst, dnsmessage.TypeSRV), dnsmessage.SRVResource{Target: host, Port: p.port})
		case 'T':
			b.TXTResource(hdr(inst, dnsmessage.TypeTXT), dnsmessage.TXTResource{TXT: txt})
		case 'A':
			b.AResource(hdr(host, dnsmessage.TypeA), dnsmessage.AResource{A: p.addr})
		}
	}
	m, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// heard is one response a browser hears: from whom, which records, TTL.
type heard struct {
	from  pairServer
	parts string
	ttl   uint32
}

// browseHeard feeds the responses to a browser and returns its result.
func browseHeard(t *testing.T, hs ...heard) ([]Service, []Rejected) {
	t.Helper()
	b := &browser{insts: map[string]*found{}, hosts: map[string][]netip.Addr{}, asked: map[string]bool{}}
	for _, h := range hs {
		if !b.handle(h.from.msg(t, h.parts, h.ttl), h.from.src()) {
			t.Fatal("response not handled")
		}
	}
	return b.result()
}

// TestBrowsePairTakesHighestEpoch: of two servers answering for one
// instance name under two epochs, the browse returns the higher epoch's,
// whatever the order, and reports the other as stale_epoch; records of a
// response without a TXT are not mixed across servers; a step down's
// goodbye does not hide the active; a goodbye of the one taken lets a
// server still answering be taken.
func TestBrowsePairTakesHighestEpoch(t *testing.T) {
	const all, live = "PSTA", 120
	sameAddr := boxB
	sameAddr.addr = boxA.addr // two servers on one host, as on loopback
	cases := []struct {
		name      string
		heard     []heard
		want      pairServer
		wantStale int // stale_epoch rejections
		wantGone  bool
	}{
		{"stale first", []heard{{boxA, all, live}, {boxB, all, live}}, boxB, 1, false},
		{"stale last", []heard{{boxB, all, live}, {boxA, all, live}}, boxB, 1, false},
		{"one address", []heard{{boxA, all, live}, {sameAddr, all, live}, {boxA, all, live}}, sameAddr, 1, false},
		{"only the active", []heard{{boxB, all, live}}, boxB, 0, false},
		// The stale one's SRV without its TXT (an answer to a question)
		// does not overwrite the active's.
		{"no TXT from the stale", []heard{{boxB, all, live}, {boxA, "PS", live}}, boxB, 0, false},
		// Piece by piece (a legacy browse): PTR, then SRV, then TXT and A.
		{"piecewise", []heard{{boxB, "P", live}, {boxB, "S", live}, {boxB, "TA", live}, {boxA, all, live}}, boxB, 1, false},
		// The step down's goodbye (SRV, TXT, A with TTL 0) after the new
		// active answered.
		{"step-down goodbye", []heard{{boxB, all, live}, {boxA, "STA", 0}}, boxB, 0, false},
		// The one taken says goodbye; the other still answers: taken.
		{"active goodbye", []heard{{boxB, all, live}, {boxB, all, 0}, {boxA, all, live}}, boxA, 0, false},
		{"goodbye only", []heard{{boxB, all, live}, {boxB, "STA", 0}}, boxB, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svcs, rej := browseHeard(t, c.heard...)
			stale := 0
			for _, r := range rej {
				switch r.Reason {
				case RejectStaleEpoch:
					stale++
					if r.Epoch >= c.want.epoch || r.Instance != "Pair" || !strings.Contains(r.Detail, "epoch") {
						t.Errorf("stale rejection %v (epoch %d)", r, r.Epoch)
					}
				case RejectGoodbye:
					if !c.wantGone {
						t.Errorf("rejected %v", r)
					}
				default:
					t.Errorf("rejected %v", r)
				}
			}
			if stale != c.wantStale {
				t.Errorf("%d stale_epoch rejections, want %d: %v", stale, c.wantStale, rej)
			}
			if c.wantGone {
				if len(svcs) != 0 {
					t.Fatalf("returned %+v after its goodbye", svcs)
				}
				return
			}
			want := netip.AddrPortFrom(netip.AddrFrom4(c.want.addr), c.want.port)
			if len(svcs) != 1 || svcs[0].Addr != want || svcs[0].Epoch != c.want.epoch || svcs[0].Instance != "Pair" {
				t.Fatalf("returned %+v, want Pair at %v epoch %d", svcs, want, c.want.epoch)
			}
		})
	}
}

// TestBrowseMalformedEpoch: an epoch= that is not an epoch is read as
// none and marked BadEpoch; the answer is still returned.
func TestBrowseMalformedEpoch(t *testing.T) {
	for _, v := range []string{"", "0", "03", "-3", "+3", "3x", " 3", "4294967296", "99999999999"} {
		s := Service{}
		s.setText(append(slices.Clone(goodTXT), "epoch="+v))
		if s.Epoch != 0 || !s.BadEpoch {
			t.Errorf("epoch=%q: Epoch %d, BadEpoch %v", v, s.Epoch, s.BadEpoch)
		}
	}
	for v, want := range map[string]uint32{"1": 1, "2": 2, "4294967295": 1<<32 - 1} {
		s := Service{}
		s.setText(append(slices.Clone(goodTXT), "EPOCH="+v, "epoch=7"))
		if s.Epoch != want || s.BadEpoch {
			t.Errorf("EPOCH=%q then epoch=7: Epoch %d, BadEpoch %v; want %d (the first)", v, s.Epoch, s.BadEpoch, want)
		}
	}
	bad := boxB
	b := &browser{insts: map[string]*found{}, hosts: map[string][]netip.Addr{}, asked: map[string]bool{}}
	m := serviceResponseTXT(t, 1, 1, append(slices.Clone(goodTXT), "epoch=three"))
	b.handle(m, bad.src())
	svcs, _ := b.result()
	if len(svcs) != 1 || svcs[0].Epoch != 0 || !svcs[0].BadEpoch {
		t.Fatalf("malformed epoch: %+v", svcs)
	}
}

// TestChooseTakesHighestEpoch: of beacon replies under one instance name
// with epochs, only the highest epoch's are kept; replies without an
// epoch (servers not in a pair) are left alone.
func TestChooseTakesHighestEpoch(t *testing.T) {
	mk := func(name, addr string, e uint32) Service {
		s := Service{Instance: name, Addr: netip.MustParseAddrPort(addr)}
		txt := slices.Clone(goodTXT)
		if e != 0 {
			txt = append(txt, epochText(e))
		}
		s.setText(txt)
		return s
	}
	cands := []Service{mk("Pair", "192.0.2.21:7001", 2), mk("pair", "192.0.2.22:7002", 3), mk("Solo", "192.0.2.30:7777", 0), mk("Solo", "192.0.2.31:7777", 0), mk("Other", "192.0.2.40:7777", 2)}
	from := make([]netip.Addr, len(cands))
	for i := range cands {
		from[i] = cands[i].Addr.Addr()
	}
	svcs, rej := choose(cands, from, nil)
	got := map[string]bool{}
	for _, s := range svcs {
		got[s.Addr.String()] = true
	}
	if len(svcs) != 4 || !got["192.0.2.22:7002"] || got["192.0.2.21:7001"] || !got["192.0.2.30:7777"] || !got["192.0.2.31:7777"] || !got["192.0.2.40:7777"] {
		t.Fatalf("chose %+v", svcs)
	}
	if len(rej) != 1 || rej[0].Reason != RejectStaleEpoch || rej[0].Epoch != 2 || rej[0].Addr.String() != "192.0.2.21:7001" {
		t.Fatalf("rejected %v", rej)
	}
	if s := RejectStaleEpoch.String(); s != "stale_epoch" {
		t.Fatalf("reason name %q", s)
	}
}
