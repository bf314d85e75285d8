package discovery

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// TestOnLink checks the on-link predicate against a fake interface list.
func TestOnLink(t *testing.T) {
	wifi := Interface{Index: 4, Name: "wlan0",
		Addrs: []netip.Addr{netip.MustParseAddr("192.168.10.20"), netip.MustParseAddr("10.9.0.1")},
		Nets:  []netip.Prefix{netip.MustParsePrefix("192.168.10.20/24"), netip.MustParsePrefix("10.9.0.1/30")}}
	bare := Interface{Index: 5, Name: "tun0", Addrs: []netip.Addr{netip.MustParseAddr("172.16.0.1")}} // no Nets: the address alone
	host := Interface{Index: 6, Name: "p2p0", Addrs: []netip.Addr{netip.MustParseAddr("172.17.0.1")}, Nets: []netip.Prefix{netip.MustParsePrefix("172.17.0.1/32")}}
	for _, tc := range []struct {
		in   Interface
		addr string
		want bool
	}{
		{wifi, "192.168.10.1", true},
		{wifi, "192.168.10.255", true},
		{wifi, "192.168.10.20", true},
		{wifi, "::ffff:192.168.10.7", true}, // IPv4-mapped
		{wifi, "192.168.11.1", false},
		{wifi, "192.168.1.10", false},
		{wifi, "10.9.0.2", true}, // the second subnet, a /30
		{wifi, "10.9.0.4", false},
		{wifi, "8.8.8.8", false},
		{wifi, "127.0.0.1", false},
		{wifi, "0.0.0.0", false},
		{wifi, "255.255.255.255", false},
		{wifi, "169.254.1.1", false}, // link-local, but not this interface's subnet
		{wifi, "fe80::1", false},
		{bare, "172.16.0.1", true},
		{bare, "172.16.0.2", false},
		{host, "172.17.0.1", true},
		{host, "172.17.0.2", false},
	} {
		if got := tc.in.OnLink(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("%s (%v) OnLink(%s) = %v, want %v", tc.in.Name, tc.in.Nets, tc.addr, got, tc.want)
		}
	}
	if wifi.OnLink(netip.Addr{}) {
		t.Error("the invalid address is on-link")
	}
}

// TestLookupInterfaceNets: an interface looked up carries its subnets.
func TestLookupInterfaceNets(t *testing.T) {
	lo, err := LookupInterface("lo")
	if err != nil {
		t.Skip(err)
	}
	if !slices.Contains(lo.Nets, netip.MustParsePrefix("127.0.0.1/8")) {
		t.Fatalf("lo: Nets %v, want 127.0.0.1/8", lo.Nets)
	}
	if !lo.OnLink(netip.MustParseAddr("127.1.2.3")) || lo.OnLink(netip.MustParseAddr("192.0.2.1")) {
		t.Error("lo's link is not 127.0.0.0/8")
	}
}

// Off-link sources: on eth0's (192.0.2.0/24) arrival, 198.51.100.9 is
// eth1's link and 203.0.113.7 nobody's.
var (
	offPeer    = netip.MustParseAddrPort("203.0.113.7:5353")
	offLegacy  = netip.MustParseAddrPort("203.0.113.7:40000")
	otherLink  = netip.MustParseAddrPort("198.51.100.9:5353")
	eth0Unicst = netip.MustParseAddr("192.0.2.2") // eth0's own address, as a destination
)

// sentBytes is the number of bytes in packets.
func sentBytes(ps []sentPacket) int {
	n := 0
	for _, p := range ps {
		n += len(p.b)
	}
	return n
}

// TestOffLinkQueriesIgnored: a query from a source not on the arrival
// interface's subnet gets nothing at all, now or later, whichever way it
// came (unicast to our address, legacy, QU, QM to the group), and is
// counted by reason; a response from there draws no conflict. The same
// queries from an on-link source are answered.
func TestOffLinkQueriesIgnored(t *testing.T) {
	ptr := []dnsmessage.Question{q(ServiceType, dnsmessage.TypePTR, false)}
	ptrQU := []dnsmessage.Question{q(ServiceType, dnsmessage.TypePTR, true)}
	anyInst := []dnsmessage.Question{q(instName, typeANY, false)}
	for _, tc := range []struct {
		name   string
		qs     []dnsmessage.Question
		src    netip.AddrPort
		dst    netip.Addr
		reason DropReason
	}{
		{"legacy to the group", ptr, offLegacy, group, DropOffLinkUnicast},
		{"legacy to our address", ptr, offLegacy, eth0Unicst, DropOffLinkUnicast},
		{"legacy, destination unknown", anyInst, offLegacy, netip.Addr{}, DropOffLinkUnicast},
		{"QM from 5353 to our address", ptr, offPeer, eth0Unicst, DropOffLinkUnicast},
		{"QU from 5353 to our address", ptrQU, offPeer, eth0Unicst, DropOffLinkUnicast},
		{"QM to the group", ptr, offPeer, group, DropOffLink},
		{"QU to the group", ptrQU, offPeer, group, DropOffLink},
		{"ANY to the group", anyInst, offPeer, group, DropOffLink},
		{"another interface's link", ptr, otherLink, group, DropOffLink},
		{"the unspecified source", ptr, netip.MustParseAddrPort("0.0.0.0:5353"), group, DropOffLink},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, fc := newTestResponder(t, testAdvert())
			now := established(t, r, fc)
			qb := query(t, 0x5151, tc.qs, nil, nil)
			r.handle(now, qb, tc.src, tc.dst, eth0.Index)
			runUntil(r, now, now.Add(time.Second))
			sent := fc.take()
			if len(sent) != 0 || len(r.pending) != 0 {
				t.Errorf("%d-byte query from %v answered: %d packets, %d bytes (ratio %.2f, want 0)",
					len(qb), tc.src, len(sent), sentBytes(sent), float64(sentBytes(sent))/float64(len(qb)))
			}
			if n := r.stats.Dropped[tc.reason].Load(); n != 1 {
				t.Errorf("dropped %s = %d, want 1 (all: %v)", tc.reason, n, r.stats.DroppedByName())
			}
			if r.stats.Queries.Load() != 0 {
				t.Error("an off-link datagram was parsed as a query")
			}
			// From an on-link source the same query is answered.
			on := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.77"), tc.src.Port())
			now = now.Add(2 * time.Second)
			r.handle(now, qb, on, tc.dst, eth0.Index)
			runUntil(r, now, now.Add(time.Second))
			if sent := fc.take(); len(sent) == 0 {
				t.Errorf("the query from on-link %v is not answered", on)
			}
		})
	}

	// A response from off the link claiming our names: no conflict, no
	// new probing.
	r, fc := newTestResponder(t, testAdvert())
	now := established(t, r, fc)
	theirs := buildRecords(makeNames("Arena", "venue"), 1, []string{"v=1"}, []netip.Addr{netip.MustParseAddr("203.0.113.7")})
	r.handle(now, response(t, theirs[2:], 120), offPeer, group, eth0.Index)
	r.handle(now, response(t, theirs[2:], 120), offPeer, eth0Unicst, eth0.Index)
	if r.stats.Conflicts.Load() != 0 || r.state != stateRunning {
		t.Errorf("off-link response: %d conflicts, state %d", r.stats.Conflicts.Load(), r.state)
	}
	if got := r.stats.DroppedByName(); got["off_link"] != 1 || got["off_link_unicast"] != 1 {
		t.Errorf("dropped %v, want one off_link and one off_link_unicast", got)
	}
	// This host's own address is on-link wherever it arrives (Linux drops
	// a datagram from outside that claims it).
	r.local[netip.MustParseAddr("10.1.1.1")] = true
	r.handle(now.Add(2*time.Second), query(t, 1, ptr, nil, nil), netip.MustParseAddrPort("10.1.1.1:40000"), group, eth0.Index)
	if len(fc.take()) != 1 {
		t.Error("a legacy query from this host is not answered")
	}
}

// legacyQuery is a query as a unicast DNS client sends it, with an EDNS(0)
// OPT record carrying pad bytes of padding (RFC 7830) if pad > 0.
func legacyQuery(t *testing.T, id uint16, qs []dnsmessage.Question, pad int) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.StartQuestions())
	for _, qq := range qs {
		must(b.Question(qq))
	}
	if pad > 0 {
		must(b.StartAdditionals())
		var h dnsmessage.ResourceHeader
		must(h.SetEDNS0(1232, dnsmessage.RCodeSuccess, false))
		must(b.OPTResource(h, dnsmessage.OPTResource{Options: []dnsmessage.Option{{Code: 12, Data: make([]byte, pad)}}}))
	}
	msg, err := b.Finish()
	must(err)
	return msg
}

// TestLegacyReplySize: a legacy unicast reply (on-link) carries the
// questions and the answers asked for, and additional records only as far
// as the reply stays within the query's size. The sizes are asserted
// exactly for the test advert and for one with the longest names and
// scene, beside the query's size; off-link the reply is 0 bytes
// (TestOffLinkQueriesIgnored).
func TestLegacyReplySize(t *testing.T) {
	long := testAdvert()
	long.Instance = strings.Repeat("N", MaxInstanceLen)
	long.Host = strings.Repeat("h", MaxInstanceLen)
	long.Scene = strings.Repeat("s", 300) // cut to one 255-byte string
	long.ID = strings.Repeat("f", 64)
	if err := long.Validate(); err != nil {
		t.Fatal(err)
	}
	type want struct{ query, reply, addit int }
	for _, tc := range []struct {
		name    string
		adv     Advert
		qs      func(inst, host string) []dnsmessage.Question
		pad     int
		short   want // the test advert
		longest want // the longest names
	}{
		{"PTR service", testAdvert(), func(_, _ string) []dnsmessage.Question {
			return []dnsmessage.Question{q(ServiceType, dnsmessage.TypePTR, false)}
		}, 0, want{36, 56, 0}, want{36, 114, 0}},
		{"PTR meta", testAdvert(), func(_, _ string) []dnsmessage.Question {
			return []dnsmessage.Question{q(metaQuery, dnsmessage.TypePTR, false)}
		}, 0, want{46, 68, 0}, want{46, 68, 0}},
		{"SRV", testAdvert(), func(inst, _ string) []dnsmessage.Question {
			return []dnsmessage.Question{q(inst, dnsmessage.TypeSRV, false)}
		}, 0, want{42, 73, 0}, want{100, 189, 0}},
		{"TXT", testAdvert(), func(inst, _ string) []dnsmessage.Question {
			return []dnsmessage.Question{q(inst, dnsmessage.TypeTXT, false)}
		}, 0, want{42, 136, 0}, want{100, 487, 0}},
		{"A", testAdvert(), func(_, host string) []dnsmessage.Question {
			return []dnsmessage.Question{q(host, dnsmessage.TypeA, false)}
		}, 0, want{29, 45, 0}, want{87, 103, 0}},
		{"ANY instance", testAdvert(), func(inst, _ string) []dnsmessage.Question {
			return []dnsmessage.Question{q(inst, typeANY, false)}
		}, 0, want{42, 167, 0}, want{100, 576, 0}},
		// A query with room (EDNS padding) gets the additional records
		// that fit in it.
		{"PTR service, padded to 200", testAdvert(), func(_, _ string) []dnsmessage.Question {
			return []dnsmessage.Question{q(ServiceType, dnsmessage.TypePTR, false)}
		}, 149, want{200, 181, 2}, want{200, 194, 1}},
		{"PTR service, padded to 700", testAdvert(), func(_, _ string) []dnsmessage.Question {
			return []dnsmessage.Question{q(ServiceType, dnsmessage.TypePTR, false)}
		}, 649, want{700, 203, 3}, want{700, 670, 3}},
	} {
		for _, variant := range []struct {
			label string
			adv   Advert
			want  want
		}{{"test advert", tc.adv, tc.short}, {"longest names", long, tc.longest}} {
			r, fc := newTestResponder(t, variant.adv)
			now := established(t, r, fc)
			qs := tc.qs(r.names.instance, r.names.host)
			qb := legacyQuery(t, 0x1e9a, qs, tc.pad)
			r.handle(now, qb, legacyQ, group, eth0.Index)
			sent := fc.take()
			if len(sent) != 1 {
				t.Errorf("%s, %s: %d packets", tc.name, variant.label, len(sent))
				continue
			}
			m := mustParse(t, sent[0].b)
			reply := len(sent[0].b)
			t.Logf("%-28s %-13s query %4d B, reply %4d B (%.2f×), answers %v, additionals %v",
				tc.name, variant.label, len(qb), reply, float64(reply)/float64(len(qb)), types(m.ans), types(m.addit))
			if got := (want{len(qb), reply, len(m.addit)}); got != variant.want {
				t.Errorf("%s, %s: query, reply, additionals = %v, want %v", tc.name, variant.label, got, variant.want)
			}
			if len(m.addit) > 0 && reply > len(qb) {
				t.Errorf("%s, %s: %d additionals make the reply %d bytes, more than the %d-byte query", tc.name, variant.label, len(m.addit), reply, len(qb))
			}
			// Every answer was asked for.
			for _, rr := range m.ans {
				if !slices.ContainsFunc(qs, func(qq dnsmessage.Question) bool {
					return strings.EqualFold(qq.Name.String(), rr.Header.Name.String()) && (qq.Type == typeANY || qq.Type == rr.Header.Type)
				}) {
					t.Errorf("%s, %s: answer %s %v not asked for", tc.name, variant.label, rr.Header.Name, rr.Header.Type)
				}
			}
		}
	}
}

// TestBeaconOffLink: a probe from a source off the arrival interface's
// subnet gets no reply (0 bytes), one from on the link a reply no longer
// than the probe; with the arrival interface unknown, any advertised
// interface's link will do.
func TestBeaconOffLink(t *testing.T) {
	adv := testAdvert()
	br, err := NewBeaconResponder(Config{Advert: adv, Interfaces: []Interface{eth0, eth1}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		src     string
		ifIndex int
		answer  bool
	}{
		{"192.0.2.9:40000", eth0.Index, true},
		{"192.0.2.2:40000", eth0.Index, true}, // eth0's own address: this host
		{"203.0.113.7:40000", eth0.Index, false},
		{"198.51.100.9:40000", eth0.Index, false}, // eth1's link, arrived on eth0
		{"198.51.100.9:40000", eth1.Index, true},
		{"0.0.0.0:40000", eth0.Index, false},
		{"198.51.100.9:40000", 0, true},
		{"203.0.113.7:40000", 0, false},
	} {
		for _, size := range []int{BeaconMinProbeSize, BeaconProbeSize, BeaconMaxSize} {
			p := AppendProbe(nil, BeaconProbe{Nonce: 7}, size)
			before := br.stats.Dropped[DropOffLink].Load()
			out := br.handle(p, netip.MustParseAddrPort(tc.src), tc.ifIndex)
			dropped := br.stats.Dropped[DropOffLink].Load() - before
			switch {
			case tc.answer && (out == nil || len(out) > len(p)):
				t.Errorf("%s on %d, %d-byte probe: reply of %d bytes, want 1..%d", tc.src, tc.ifIndex, size, len(out), len(p))
			case !tc.answer && (out != nil || dropped != 1):
				t.Errorf("%s on %d, %d-byte probe: reply of %d bytes (ratio %.2f), %d counted off-link; want none",
					tc.src, tc.ifIndex, size, len(out), float64(len(out))/float64(len(p)), dropped)
			}
			if size == BeaconMinProbeSize && tc.answer {
				t.Logf("beacon: %s: %d-byte probe, %d-byte reply", tc.src, size, len(out))
			}
		}
	}
}
