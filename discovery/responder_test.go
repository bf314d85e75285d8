package discovery

import (
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// sentPacket is one datagram written to the fake transport.
type sentPacket struct {
	b       []byte
	ifIndex int
	dst     netip.AddrPort
}

// fakeConn is an in-memory Transport that records what is sent.
type fakeConn struct {
	sent []sentPacket
}

func (f *fakeConn) WriteTo(b []byte, ifIndex int, dst netip.AddrPort) error {
	f.sent = append(f.sent, sentPacket{slices.Clone(b), ifIndex, dst})
	return nil
}

// take returns and forgets what was sent.
func (f *fakeConn) take() []sentPacket {
	s := f.sent
	f.sent = nil
	return s
}

var (
	t0       = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	eth0     = Interface{Index: 2, Name: "eth0", Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.2")}, Nets: []netip.Prefix{netip.MustParsePrefix("192.0.2.2/24")}}
	eth1     = Interface{Index: 3, Name: "eth1", Addrs: []netip.Addr{netip.MustParseAddr("198.51.100.2")}, Nets: []netip.Prefix{netip.MustParsePrefix("198.51.100.2/24")}}
	peer     = netip.MustParseAddrPort("192.0.2.9:5353")
	legacyQ  = netip.MustParseAddrPort("192.0.2.9:40000")
	peer1    = netip.MustParseAddrPort("198.51.100.9:5353") // on eth1's link
	group    = MDNSGroup.Addr()                             // where a query is sent
	instName = "Arena._arcade._udp.local."
)

func testAdvert() Advert {
	a := Advert{Instance: "Arena", Host: "venue", Port: 7777, Scene: "demo", Capacity: 64, ID: "00112233aabbccdd", Multicast: netip.MustParseAddrPort("239.255.77.77:7778")}
	if err := a.Validate(); err != nil {
		panic(err)
	}
	return a
}

// newTestResponder returns a responder on eth0 and eth1 with a fixed seed,
// started at t0.
func newTestResponder(t *testing.T, adv Advert) (*responder, *fakeConn) {
	t.Helper()
	fc := &fakeConn{}
	r := newResponder(adv, []Interface{eth0, eth1}, map[netip.Addr]bool{}, fc, rand.New(rand.NewPCG(1, 2)), slog.New(slog.DiscardHandler), t0)
	return r, fc
}

// runUntil steps r at every time it asks for until end and returns the
// time of the last step.
func runUntil(r *responder, now, end time.Time) time.Time {
	for {
		next := r.step(now)
		if next.IsZero() || next.After(end) {
			return now
		}
		now = next
	}
}

// established runs r through probing and both announcements and returns
// the time after them.
func established(t *testing.T, r *responder, fc *fakeConn) time.Time {
	t.Helper()
	runUntil(r, t0, t0.Add(3*time.Second))
	if r.state != stateRunning {
		t.Fatalf("state %d after 3 s, want running", r.state)
	}
	fc.take()
	return t0.Add(3 * time.Second)
}

func mustParse(t *testing.T, b []byte) message {
	t.Helper()
	m, ok := parseMessage(b)
	if !ok {
		t.Fatalf("unparsable message %x", b)
	}
	return m
}

// query builds a query message.
func query(t *testing.T, id uint16, qs []dnsmessage.Question, known []dnsmessage.Resource, auth []record) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id})
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.StartQuestions())
	for _, q := range qs {
		must(b.Question(q))
	}
	must(b.StartAnswers())
	for _, k := range known {
		must(b.PTRResource(k.Header, *k.Body.(*dnsmessage.PTRResource)))
	}
	must(b.StartAuthorities())
	for _, rec := range auth {
		addRecord(t, &b, rec, classIN)
	}
	msg, err := b.Finish()
	must(err)
	return msg
}

// response builds a response from records.
func response(t *testing.T, recs []record, ttl uint32) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{Response: true, Authoritative: true})
	if err := b.StartAnswers(); err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		rec.ttl = ttl
		addRecord(t, &b, rec, classIN|classTop)
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func addRecord(t *testing.T, b *dnsmessage.Builder, rec record, class dnsmessage.Class) {
	t.Helper()
	h := dnsmessage.ResourceHeader{Name: rec.name, Class: class, TTL: rec.ttl}
	var err error
	switch body := rec.body.(type) {
	case *dnsmessage.AResource:
		err = b.AResource(h, *body)
	case *dnsmessage.PTRResource:
		err = b.PTRResource(h, *body)
	case *dnsmessage.SRVResource:
		err = b.SRVResource(h, *body)
	case *dnsmessage.TXTResource:
		err = b.TXTResource(h, *body)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func q(name string, typ dnsmessage.Type, qu bool) dnsmessage.Question {
	c := classIN
	if qu {
		c |= classTop
	}
	return dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: typ, Class: c}
}

// types lists "name TYPE" of resources, for compact comparisons.
func types(rs []dnsmessage.Resource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Header.Name.String()+" "+strings.TrimPrefix(r.Header.Type.String(), "Type"))
	}
	return out
}

func TestRecords(t *testing.T) {
	adv := testAdvert()
	recs := buildRecords(makeNames("Arena", "venue"), 7777, adv.Text(5), eth0.Addrs)
	want := []struct {
		name   string
		typ    dnsmessage.Type
		unique bool
		ttl    uint32
	}{
		{"_services._dns-sd._udp.local.", dnsmessage.TypePTR, false, 4500},
		{"_arcade._udp.local.", dnsmessage.TypePTR, false, 4500},
		{instName, dnsmessage.TypeSRV, true, 120},
		{instName, dnsmessage.TypeTXT, true, 4500},
		{"venue.local.", dnsmessage.TypeA, true, 120},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i, w := range want {
		r := recs[i]
		if r.name.String() != w.name || r.typ != w.typ || r.unique != w.unique || r.ttl != w.ttl {
			t.Errorf("record %d: %s %v unique=%v ttl=%d, want %+v", i, r.name, r.typ, r.unique, r.ttl, w)
		}
	}
	if p := recs[1].body.(*dnsmessage.PTRResource).PTR.String(); p != instName {
		t.Errorf("PTR → %s", p)
	}
	if p := recs[0].body.(*dnsmessage.PTRResource).PTR.String(); p != ServiceType {
		t.Errorf("meta PTR → %s", p)
	}
	srv := recs[2].body.(*dnsmessage.SRVResource)
	if srv.Port != 7777 || srv.Target.String() != "venue.local." {
		t.Errorf("SRV %+v", srv)
	}
	txt := recs[3].body.(*dnsmessage.TXTResource).TXT
	wantTXT := []string{"v=1", "id=00112233aabbccdd", "tick=120", "mcast=239.255.77.77:7778", "players=5/64", "scene=demo"}
	if !slices.Equal(txt, wantTXT) {
		t.Errorf("TXT %q, want %q", txt, wantTXT)
	}
	if a := recs[4].body.(*dnsmessage.AResource).A; netip.AddrFrom4(a) != eth0.Addrs[0] {
		t.Errorf("A %v", a)
	}
}

func TestAdvertValidate(t *testing.T) {
	for _, c := range []struct {
		adv   Advert
		field string
	}{
		{Advert{Instance: "a.b", Host: "h", Port: 1}, "Instance"},
		{Advert{Instance: strings.Repeat("x", 64), Host: "h", Port: 1}, "Instance"},
		{Advert{Instance: "a\x01", Host: "h", Port: 1}, "Instance"},
		{Advert{Instance: "a", Host: "h_x", Port: 1}, "Host"},
		{Advert{Instance: "a", Host: "h"}, "Port"},
		{Advert{Instance: "a", Host: "h", Port: 1, Capacity: -1}, "Capacity"},
	} {
		if err := c.adv.Validate(); err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%+v: %v, want an error naming %s", c.adv, err, c.field)
		}
	}
	if got := HostLabel("Venue_PC.example.com"); got != "venue-pc" {
		t.Errorf("HostLabel = %q", got)
	}
	if got := renamed(strings.Repeat("é", 31), 12); len(got) > MaxInstanceLen || !strings.HasSuffix(got, " (12)") {
		t.Errorf("renamed = %q (%d bytes)", got, len(got))
	}
	if got := renamedHost("venue", 2); got != "venue-2" {
		t.Errorf("renamedHost = %q", got)
	}
}

// TestProbeAndAnnounce checks RFC 6762 §8.1 and §8.3: three probes 250 ms
// apart, after a random wait of at most 250 ms, with QU questions for the
// two names and the proposed records in the authority section; then two
// announcements a second apart with every record, cache-flush on the
// unique ones.
func TestProbeAndAnnounce(t *testing.T) {
	r, fc := newTestResponder(t, testAdvert())
	first := r.step(t0)
	if first.Before(t0) || first.After(t0.Add(probeWait)) {
		t.Fatalf("first probe at %v, want within 250 ms", first.Sub(t0))
	}
	if len(fc.take()) != 0 {
		t.Fatal("sent before the first probe was due")
	}
	now := first
	for i := range probeCount {
		next := r.step(now)
		sent := fc.take()
		if len(sent) != 2 {
			t.Fatalf("probe %d: %d packets, want one per interface", i, len(sent))
		}
		for _, p := range sent {
			if p.dst != MDNSGroup {
				t.Errorf("probe to %v", p.dst)
			}
			m := mustParse(t, p.b)
			if m.h.Response || len(m.qs) != 2 || len(m.ans) != 0 {
				t.Fatalf("probe %d: %+v", i, m)
			}
			for _, qq := range m.qs {
				if qq.Type != typeANY || qq.Class != classIN|classTop {
					t.Errorf("probe question %v: want type ANY with the QU bit", qq)
				}
			}
			if m.qs[0].Name.String() != instName || m.qs[1].Name.String() != "venue.local." {
				t.Errorf("probe names %v", m.qs)
			}
			if got := types(m.auth); !slices.Equal(got, []string{instName + " SRV", instName + " TXT", "venue.local. A"}) {
				t.Errorf("authority %v", got)
			}
			a := m.auth[2].Body.(*dnsmessage.AResource)
			want := eth0.Addrs[0]
			if p.ifIndex == eth1.Index {
				want = eth1.Addrs[0]
			}
			if netip.AddrFrom4(a.A) != want {
				t.Errorf("probe on %d carries A %v, want %v", p.ifIndex, a.A, want)
			}
		}
		if next.Sub(now) != probeInterval {
			t.Fatalf("next step after probe %d in %v, want 250 ms", i, next.Sub(now))
		}
		now = next
	}
	// 250 ms after the third probe: first announcement.
	next := r.step(now)
	ann := fc.take()
	if len(ann) != 2 {
		t.Fatalf("%d announcement packets, want 2", len(ann))
	}
	checkAnnouncement(t, mustParse(t, ann[0].b), 0)
	if next.Sub(now) != announceInterval {
		t.Fatalf("second announcement after %v, want 1 s", next.Sub(now))
	}
	r.step(next.Add(-time.Millisecond))
	if len(fc.take()) != 0 {
		t.Fatal("second announcement early")
	}
	r.step(next)
	if ann := fc.take(); len(ann) != 2 {
		t.Fatalf("%d packets for the second announcement", len(ann))
	}
	if r.state != stateRunning {
		t.Fatal("not running after two announcements")
	}
}

// checkAnnouncement checks an unsolicited response carrying every record.
func checkAnnouncement(t *testing.T, m message, ttl0 uint32) {
	t.Helper()
	if !m.h.Response || !m.h.Authoritative || m.h.ID != 0 || len(m.qs) != 0 {
		t.Errorf("header %+v, %d questions", m.h, len(m.qs))
	}
	want := []string{"_services._dns-sd._udp.local. PTR", "_arcade._udp.local. PTR", instName + " SRV", instName + " TXT", "venue.local. A"}
	if got := types(m.ans); !slices.Equal(got, want) {
		t.Errorf("answers %v, want %v", got, want)
	}
	for _, rr := range m.ans {
		flush := rr.Header.Class&classTop != 0
		unique := rr.Header.Type != dnsmessage.TypePTR
		if flush != unique {
			t.Errorf("%s %v: cache-flush %v, want %v", rr.Header.Name, rr.Header.Type, flush, unique)
		}
		want := uint32(ttlOther)
		if rr.Header.Type == dnsmessage.TypeSRV || rr.Header.Type == dnsmessage.TypeA {
			want = ttlHost
		}
		if ttl0 == 0 && rr.Header.TTL != want {
			t.Errorf("%s %v: TTL %d, want %d", rr.Header.Name, rr.Header.Type, rr.Header.TTL, want)
		}
	}
}

// TestProbeConflictRenames: a response with another host's SRV for our
// proposed name while probing renames us "Arena (2)", then "Arena (3)";
// a foreign A record for our host name renames the host "venue-2".
func TestProbeConflictRenames(t *testing.T) {
	r, fc := newTestResponder(t, testAdvert())
	now := r.step(t0)
	r.step(now)
	fc.take()
	other := buildRecords(makeNames("Arena", "venue"), 9999, []string{"v=1", "id=ffff"}, []netip.Addr{netip.MustParseAddr("192.0.2.9")})
	r.handle(now.Add(10*time.Millisecond), response(t, other[2:3], 120), peer, group, eth0.Index)
	if r.Name() != "Arena (2)" || r.Host() != "venue" {
		t.Fatalf("after conflict: %q, %q", r.Name(), r.Host())
	}
	// Probing starts over for the new name, immediately.
	now = now.Add(10 * time.Millisecond)
	r.step(now)
	sent := fc.take()
	if len(sent) != 2 || mustParse(t, sent[0].b).qs[0].Name.String() != "Arena (2)._arcade._udp.local." {
		t.Fatalf("no probe for the new name: %d packets", len(sent))
	}
	other2 := buildRecords(makeNames("Arena (2)", "venue"), 9999, []string{"v=1"}, []netip.Addr{netip.MustParseAddr("192.0.2.9")})
	r.handle(now, response(t, other2[3:], 120), peer, group, eth0.Index) // TXT and a foreign A for venue.local
	if r.Name() != "Arena (3)" || r.Host() != "venue-2" {
		t.Fatalf("after second conflict: %q, %q", r.Name(), r.Host())
	}
	end := runUntil(r, now, now.Add(2*time.Second))
	_ = end
	if r.state != stateRunning || r.stats.Conflicts.Load() != 2 {
		t.Fatalf("state %d, %d conflicts", r.state, r.stats.Conflicts.Load())
	}
	ann := fc.take()
	var srvTarget string
	for _, p := range ann {
		for _, rr := range mustParse(t, p.b).ans {
			if s, ok := rr.Body.(*dnsmessage.SRVResource); ok {
				srvTarget = rr.Header.Name.String() + " → " + s.Target.String()
			}
		}
	}
	if srvTarget != "Arena (3)._arcade._udp.local. → venue-2.local." {
		t.Errorf("announced %q", srvTarget)
	}
}

// TestNoConflictWithOwnRecords: our own probes and announcements looped
// back, and another responder's A record with one of our addresses, are
// not conflicts.
func TestNoConflictWithOwnRecords(t *testing.T) {
	r, fc := newTestResponder(t, testAdvert())
	r.local[netip.MustParseAddr("192.0.2.77")] = true
	now := r.step(t0)
	r.step(now)
	for _, p := range fc.take() {
		r.handle(now, p.b, netip.AddrPortFrom(eth0.Addrs[0], MDNSPort), group, p.ifIndex)
	}
	same := buildRecords(makeNames("Arena", "venue"), 0, nil, []netip.Addr{netip.MustParseAddr("192.0.2.77")})
	r.handle(now, response(t, same[4:], 120), peer, group, eth0.Index)
	established(t, r, fc)
	if r.Name() != "Arena" || r.stats.Conflicts.Load() != 0 || r.stats.ProbeDefers.Load() != 0 {
		t.Fatalf("name %q, %d conflicts, %d defers", r.Name(), r.stats.Conflicts.Load(), r.stats.ProbeDefers.Load())
	}
}

// TestSimultaneousProbe: a probe for the same name with lexicographically
// later records makes us wait a second and probe again (RFC 6762 §8.2);
// with earlier records we go on.
func TestSimultaneousProbe(t *testing.T) {
	for _, c := range []struct {
		port     uint16
		deferred bool
	}{{65000, true}, {1, false}} {
		r, fc := newTestResponder(t, testAdvert())
		now := r.step(t0)
		r.step(now)
		fc.take()
		theirs := buildRecords(makeNames("Arena", "venue"), c.port, r.text, eth0.Addrs)
		r.handle(now, query(t, 0, []dnsmessage.Question{q(instName, typeANY, true)}, nil, theirs[2:]), peer, group, eth0.Index)
		if got := r.stats.ProbeDefers.Load() == 1; got != c.deferred {
			t.Fatalf("port %d: deferred %v, want %v", c.port, got, c.deferred)
		}
		next := r.step(now)
		if c.deferred && next.Sub(now) != deferWait {
			t.Errorf("next probe after %v, want 1 s", next.Sub(now))
		}
		if !c.deferred && next.Sub(now) > probeInterval {
			t.Errorf("next probe after %v", next.Sub(now))
		}
	}
}

// TestDefendName: once established, a probe for our name is answered by
// multicast at once.
func TestDefendName(t *testing.T) {
	r, fc := newTestResponder(t, testAdvert())
	now := established(t, r, fc)
	theirs := buildRecords(makeNames("Arena", "other"), 1, []string{"v=1"}, []netip.Addr{netip.MustParseAddr("192.0.2.9")})
	r.handle(now, query(t, 0, []dnsmessage.Question{q(instName, typeANY, true)}, nil, theirs[2:4]), peer, group, eth0.Index)
	sent := fc.take()
	if len(sent) != 1 || sent[0].dst != MDNSGroup || sent[0].ifIndex != eth0.Index {
		t.Fatalf("sent %+v, want one multicast on eth0", sent)
	}
	m := mustParse(t, sent[0].b)
	if got := types(m.ans); !slices.Equal(got, []string{instName + " SRV", instName + " TXT"}) {
		t.Errorf("defence answers %v", got)
	}
}

// TestQueryMulticast: a QM question for the shared PTR is answered by
// multicast after 20–120 ms, with SRV, TXT and A as additional records;
// one for the unique SRV at once. A is the address of the interface the
// query came in on.
func TestQueryMulticast(t *testing.T) {
	r, fc := newTestResponder(t, testAdvert())
	now := established(t, r, fc)
	r.handle(now, query(t, 0, []dnsmessage.Question{q(ServiceType, dnsmessage.TypePTR, false)}, nil, nil), peer1, group, eth1.Index)
	if len(fc.sent) != 0 {
		t.Fatal("PTR answered without the random delay")
	}
	if len(r.pending) != 1 {
		t.Fatalf("%d pending responses", len(r.pending))
	}
	due := r.pending[0].due
	if d := due.Sub(now); d < sharedDelayMin || d > sharedDelayMax {
		t.Fatalf("delay %v, want 20..120 ms", d)
	}
	r.step(due)
	sent := fc.take()
	if len(sent) != 1 || sent[0].dst != MDNSGroup || sent[0].ifIndex != eth1.Index {
		t.Fatalf("sent %+v", sent)
	}
	m := mustParse(t, sent[0].b)
	if got := types(m.ans); !slices.Equal(got, []string{"_arcade._udp.local. PTR"}) {
		t.Errorf("answers %v", got)
	}
	if got := types(m.addit); !slices.Equal(got, []string{instName + " SRV", instName + " TXT", "venue.local. A"}) {
		t.Errorf("additionals %v", got)
	}
	if a := m.addit[2].Body.(*dnsmessage.AResource).A; netip.AddrFrom4(a) != eth1.Addrs[0] {
		t.Errorf("A %v, want eth1's address", a)
	}
	if m.ans[0].Header.Class != classIN || m.addit[0].Header.Class != classIN|classTop {
		t.Errorf("cache-flush bits: PTR %#x, SRV %#x", m.ans[0].Header.Class, m.addit[0].Header.Class)
	}

	// Unique record: no delay.
	now = due.Add(2 * time.Second)
	r.handle(now, query(t, 0, []dnsmessage.Question{q(instName, dnsmessage.TypeSRV, false)}, nil, nil), peer, group, eth0.Index)
	sent = fc.take()
	if len(sent) != 1 || sent[0].dst != MDNSGroup {
		t.Fatalf("SRV query: sent %+v", sent)
	}
	if got := types(mustParse(t, sent[0].b).addit); !slices.Equal(got, []string{"venue.local. A"}) {
		t.Errorf("SRV additionals %v", got)
	}
	// The meta query.
	r.handle(now, query(t, 0, []dnsmessage.Question{q(metaQuery, dnsmessage.TypePTR, false)}, nil, nil), peer, group, eth0.Index)
	r.step(now.Add(sharedDelayMax))
	sent = fc.take()
	if len(sent) != 1 {
		t.Fatalf("meta query: %d packets", len(sent))
	}
	if m := mustParse(t, sent[0].b); len(m.ans) != 1 || m.ans[0].Body.(*dnsmessage.PTRResource).PTR.String() != ServiceType {
		t.Errorf("meta answer %v", types(m.ans))
	}
}

// TestMulticastRateLimit: a record is not multicast again on an interface
// within a second.
func TestMulticastRateLimit(t *testing.T) {
	r, fc := newTestResponder(t, testAdvert())
	now := established(t, r, fc)
	qq := query(t, 0, []dnsmessage.Question{q(instName, dnsmessage.TypeSRV, false)}, nil, nil)
	r.handle(now, qq, peer, group, eth0.Index)
	r.handle(now.Add(500*time.Millisecond), qq, peer, group, eth0.Index)
	if n := len(fc.take()); n != 1 {
		t.Fatalf("%d answers within a second, want 1", n)
	}
	r.handle(now.Add(1100*time.Millisecond), qq, peer, group, eth0.Index)
	if n := len(fc.take()); n != 1 {
		t.Fatalf("%d answers after a second, want 1", n)
	}
}

// TestQueryUnicast: a QU question is answered by unicast to the querier
// when the record was multicast within a quarter of its TTL, by multicast
// otherwise (RFC 6762 §5.4).
func TestQueryUnicast(t *testing.T) {
	r, fc := newTestResponder(t, testAdvert())
	now := established(t, r, fc)
	qq := query(t, 0, []dnsmessage.Question{q(instName, dnsmessage.TypeSRV, true)}, nil, nil)
	r.handle(now, qq, peer, group, eth0.Index)
	sent := fc.take()
	if len(sent) != 1 || sent[0].dst != peer {
		t.Fatalf("QU: sent %+v, want unicast to %v", sent, peer)
	}
	m := mustParse(t, sent[0].b)
	if got := types(m.ans); !slices.Equal(got, []string{instName + " SRV"}) || m.h.ID != 0 {
		t.Errorf("QU answer %v, id %d", got, m.h.ID)
	}
	// SRV's TTL is 120 s: after 30 s without a multicast, multicast.
	later := now.Add(31 * time.Second)
	r.handle(later, qq, peer, group, eth0.Index)
	sent = fc.take()
	if len(sent) != 1 || sent[0].dst != MDNSGroup {
		t.Fatalf("QU after a quarter TTL: sent %+v, want multicast", sent)
	}
}

// TestLegacyUnicast: a query from a port other than 5353 gets a unicast
// reply to that port at once, the id echoed, the question repeated, TTLs
// at most 10 s, no cache-flush bits (RFC 6762 §6.7), and only what was
// asked for: no additional record that would make it longer than the
// query.
func TestLegacyUnicast(t *testing.T) {
	r, fc := newTestResponder(t, testAdvert())
	now := established(t, r, fc)
	qb := query(t, 0xbeef, []dnsmessage.Question{q(ServiceType, dnsmessage.TypePTR, false)}, nil, nil)
	r.handle(now, qb, legacyQ, group, eth0.Index)
	sent := fc.take()
	if len(sent) != 1 || sent[0].dst != legacyQ {
		t.Fatalf("sent %+v, want one unicast to %v", sent, legacyQ)
	}
	m := mustParse(t, sent[0].b)
	checkLegacy(t, m, 0xbeef)
	if got := types(m.ans); !slices.Equal(got, []string{"_arcade._udp.local. PTR"}) {
		t.Errorf("answers %v", got)
	}
	if len(m.addit) != 0 {
		t.Errorf("additionals %v in a reply to a %d-byte query", types(m.addit), len(qb))
	}
	// The reply: 12 header + 24 question + 20 PTR (name pointer, 10
	// fixed, "Arena" label, pointer) for the 36-byte query.
	if len(qb) != 36 || len(sent[0].b) != 56 {
		t.Errorf("query %d bytes, reply %d; want 36 and 56", len(qb), len(sent[0].b))
	}
}

// TestKnownAnswerSuppression: a PTR the querier lists with at least half
// our TTL is not sent; with less it is (RFC 6762 §7.1).
func TestKnownAnswerSuppression(t *testing.T) {
	r, fc := newTestResponder(t, testAdvert())
	now := established(t, r, fc)
	ptr := r.ifs[0].recs[1]
	known := func(ttl uint32) []dnsmessage.Resource {
		return []dnsmessage.Resource{{Header: dnsmessage.ResourceHeader{Name: ptr.name, Type: dnsmessage.TypePTR, Class: classIN, TTL: ttl}, Body: ptr.body}}
	}
	r.handle(now, query(t, 0, []dnsmessage.Question{q(ServiceType, dnsmessage.TypePTR, false)}, known(ttlOther/2), nil), peer, group, eth0.Index)
	runUntil(r, now, now.Add(200*time.Millisecond))
	if n := len(fc.take()); n != 0 || r.stats.KnownAnswers.Load() != 1 {
		t.Fatalf("%d packets, %d suppressed; want 0 and 1", n, r.stats.KnownAnswers.Load())
	}
	now = now.Add(200 * time.Millisecond)
	r.handle(now, query(t, 0, []dnsmessage.Question{q(ServiceType, dnsmessage.TypePTR, false)}, known(ttlOther/2-1), nil), peer, group, eth0.Index)
	runUntil(r, now, now.Add(200*time.Millisecond))
	if n := len(fc.take()); n != 1 {
		t.Fatalf("%d packets with a stale known answer, want 1", n)
	}
}

// TestDuplicateAnswerSuppression: another responder multicasting our
// pending PTR answer first cancels ours (RFC 6762 §7.4).
func TestDuplicateAnswerSuppression(t *testing.T) {
	r, fc := newTestResponder(t, testAdvert())
	now := established(t, r, fc)
	r.handle(now, query(t, 0, []dnsmessage.Question{q(ServiceType, dnsmessage.TypePTR, false)}, nil, nil), peer, group, eth0.Index)
	r.handle(now.Add(5*time.Millisecond), response(t, r.ifs[0].recs[1:2], ttlOther), peer, group, eth0.Index)
	runUntil(r, now, now.Add(200*time.Millisecond))
	if n := len(fc.take()); n != 0 || r.stats.DuplicateAnswers.Load() != 1 {
		t.Fatalf("%d packets, %d duplicates suppressed", n, r.stats.DuplicateAnswers.Load())
	}
}

// TestTruncatedQuery: a query with TC set waits 400–500 ms, and the known
// answers of its continuation apply.
func TestTruncatedQuery(t *testing.T) {
	r, fc := newTestResponder(t, testAdvert())
	now := established(t, r, fc)
	msg := query(t, 0, []dnsmessage.Question{q(ServiceType, dnsmessage.TypePTR, false)}, nil, nil)
	msg[2] |= 0x02 // TC
	r.handle(now, msg, peer, group, eth0.Index)
	if len(r.pending) != 1 {
		t.Fatalf("%d pending responses", len(r.pending))
	}
	if d := r.pending[0].due.Sub(now); d < tcDelayMin || d > tcDelayMax {
		t.Fatalf("TC delay %v", d)
	}
	ptr := r.ifs[0].recs[1]
	cont := query(t, 0, nil, []dnsmessage.Resource{{Header: dnsmessage.ResourceHeader{Name: ptr.name, Type: dnsmessage.TypePTR, Class: classIN, TTL: ttlOther}, Body: ptr.body}}, nil)
	r.handle(now.Add(100*time.Millisecond), cont, peer, group, eth0.Index)
	runUntil(r, now, now.Add(600*time.Millisecond))
	if n := len(fc.take()); n != 0 {
		t.Fatalf("%d packets after the continuation listed the answer", n)
	}
}

// TestGoodbye: shutting down multicasts every record with TTL 0.
func TestGoodbye(t *testing.T) {
	r, fc := newTestResponder(t, testAdvert())
	established(t, r, fc)
	r.goodbye()
	sent := fc.take()
	if len(sent) != 2 {
		t.Fatalf("%d goodbye packets, want one per interface", len(sent))
	}
	for _, p := range sent {
		m := mustParse(t, p.b)
		checkAnnouncement(t, m, 1)
		for _, rr := range m.ans {
			if rr.Header.TTL != 0 {
				t.Errorf("%s %v: TTL %d in a goodbye", rr.Header.Name, rr.Header.Type, rr.Header.TTL)
			}
		}
	}
	// A responder that never announced says nothing.
	r2, fc2 := newTestResponder(t, testAdvert())
	r2.goodbye()
	if len(fc2.sent) != 0 {
		t.Error("goodbye before announcing")
	}
}

// TestTextUpdate: a player count change is announced (TXT only), at most
// once a second.
func TestTextUpdate(t *testing.T) {
	adv := testAdvert()
	players := 0
	adv.Players = func() int { return players }
	r, fc := newTestResponder(t, adv)
	now := established(t, r, fc)
	players = 1
	now = runUntil(r, now, now.Add(300*time.Millisecond))
	sent := fc.take()
	if len(sent) != 2 {
		t.Fatalf("%d packets after a change, want one TXT announcement per interface", len(sent))
	}
	m := mustParse(t, sent[0].b)
	if got := types(m.ans); !slices.Equal(got, []string{instName + " TXT"}) || !slices.Contains(m.ans[0].Body.(*dnsmessage.TXTResource).TXT, "players=1/64") {
		t.Fatalf("update %v %v", got, m.ans)
	}
	players = 2
	r.step(now.Add(300 * time.Millisecond))
	if len(fc.take()) != 0 {
		t.Fatal("second update within a second")
	}
	runUntil(r, now.Add(300*time.Millisecond), now.Add(1100*time.Millisecond))
	if len(fc.take()) != 2 {
		t.Fatal("second update not sent after a second")
	}
	// Our own previous TXT looped back is not a conflict.
	r.handle(now.Add(1100*time.Millisecond), sent[0].b, netip.AddrPortFrom(eth0.Addrs[0], MDNSPort), group, eth0.Index)
	if r.stats.Conflicts.Load() != 0 {
		t.Error("own old TXT taken for a conflict")
	}
}

// TestMalformedCounted: bad datagrams are dropped and counted by reason.
func TestMalformedCounted(t *testing.T) {
	r, fc := newTestResponder(t, testAdvert())
	now := established(t, r, fc)
	good := query(t, 0, []dnsmessage.Question{q(instName, dnsmessage.TypeSRV, false)}, nil, nil)
	r.handle(now, []byte{1, 2, 3}, peer, group, eth0.Index)
	r.handle(now, good[:len(good)-3], peer, group, eth0.Index)
	r.handle(now, good, peer, group, 99)
	bad := slices.Clone(good)
	bad[2] |= 0x10 // opcode 2
	r.handle(now, bad, peer, group, eth0.Index)
	r.handle(now, response(t, r.ifs[0].recs[2:3], 120), legacyQ, group, eth0.Index)
	st := r.stats
	want := map[string]uint64{"malformed": 2, "other_interface": 1, "opcode": 1, "source_port": 1}
	got := st.DroppedByName()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("dropped %s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	if len(fc.sent) != 0 {
		t.Errorf("answered a bad datagram")
	}
}
