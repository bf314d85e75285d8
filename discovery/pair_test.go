package discovery

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// txtOf returns the TXT strings of the first TXT record in m's answers.
func txtOf(t *testing.T, m message) []string {
	t.Helper()
	for _, rr := range m.ans {
		if txt, ok := rr.Body.(*dnsmessage.TXTResource); ok {
			return txt.TXT
		}
	}
	t.Fatalf("no TXT in %v", types(m.ans))
	return nil
}

// withEpoch is the test advert's TXT for n players with epoch=e after it.
func withEpoch(n int, e uint32) []string {
	adv := testAdvert()
	return adv.textAt(n, e)
}

// TestPairRoles: the responder of a standby pair's server advertises
// epoch=E while active; stepping down says goodbye to its SRV, TXT and A
// (not the PTRs the new active holds too) and then answers nothing;
// becoming active again announces at once, twice 1 s apart, without
// probing, under the new epoch.
func TestPairRoles(t *testing.T) {
	r, fc := newTestResponder(t, testAdvert())
	r.setRole(t0, 2) // the pair's first active: it still probes for the name
	if r.state != stateProbing {
		t.Fatalf("state %d after SetActive while probing, want probing", r.state)
	}
	now := established(t, r, fc)
	r.handle(now, query(t, 0, []dnsmessage.Question{q(instName, dnsmessage.TypeTXT, false)}, nil, nil), peer, group, eth0.Index)
	sent := fc.take()
	if len(sent) != 1 {
		t.Fatalf("%d answers to a TXT query", len(sent))
	}
	if got := txtOf(t, mustParse(t, sent[0].b)); !slices.Equal(got, withEpoch(0, 2)) || got[len(got)-1] != "epoch=2" {
		t.Fatalf("TXT %q, want the strings of §14.2 then epoch=2", got)
	}

	// Step down: goodbyes for the unique records only, on every interface.
	r.setRole(now, 0)
	sent = fc.take()
	if len(sent) != 2 {
		t.Fatalf("%d step-down packets, want one goodbye per interface", len(sent))
	}
	for _, p := range sent {
		m := mustParse(t, p.b)
		if got := types(m.ans); !slices.Equal(got, []string{instName + " SRV", instName + " TXT", "venue.local. A"}) {
			t.Errorf("step-down goodbye %v: want SRV, TXT and A, no PTR", got)
		}
		for _, rr := range m.ans {
			if rr.Header.TTL != 0 {
				t.Errorf("%v TTL %d in a goodbye", rr.Header.Type, rr.Header.TTL)
			}
		}
	}
	// A standby answers nothing and sends nothing, not even at shutdown.
	now = now.Add(time.Second)
	r.handle(now, query(t, 0, []dnsmessage.Question{q(ServiceType, dnsmessage.TypePTR, false)}, nil, nil), peer, group, eth0.Index)
	r.handle(now, AppendProbe(nil, BeaconProbe{}, 64), peer, group, eth0.Index)
	runUntil(r, now, now.Add(5*time.Second))
	if n := len(fc.take()); n != 0 || r.stats.Standby.Load() != 2 {
		t.Fatalf("standby sent %d packets, counted %d datagrams unanswered", n, r.stats.Standby.Load())
	}
	r.setRole(now, 0) // again: nothing more
	if len(fc.take()) != 0 {
		t.Fatal("a second SetStandby sent")
	}

	// Active again under epoch 4: at once, no probe.
	now = now.Add(5 * time.Second)
	r.setRole(now, 4)
	next := r.step(now)
	sent = fc.take()
	if len(sent) != 2 {
		t.Fatalf("%d packets when becoming active, want one announcement per interface", len(sent))
	}
	m := mustParse(t, sent[0].b)
	checkAnnouncement(t, m, 0)
	if got := txtOf(t, m); !slices.Equal(got, withEpoch(0, 4)) {
		t.Fatalf("announced TXT %q", got)
	}
	if next.Sub(now) != announceInterval {
		t.Fatalf("second announcement after %v", next.Sub(now))
	}
	r.step(next)
	if n := len(fc.take()); n != 2 || r.state != stateRunning {
		t.Fatalf("second announcement: %d packets, state %d", n, r.state)
	}
	// The same epoch again changes nothing; a higher one announces again.
	r.setRole(next, 4)
	if r.state != stateRunning {
		t.Fatal("SetActive with the same epoch re-announced")
	}
	r.setRole(next, 6)
	r.step(next)
	if sent := fc.take(); len(sent) != 2 || !slices.Equal(txtOf(t, mustParse(t, sent[0].b)), withEpoch(0, 6)) {
		t.Fatalf("epoch change: %d packets", len(sent))
	}
	// Our previous TXT (epoch 4) looped back is neither a conflict nor a
	// stale peer.
	r.handle(next, m.rawFor(t), netip.AddrPortFrom(eth0.Addrs[0], MDNSPort), group, eth0.Index)
	if r.stats.Conflicts.Load() != 0 || len(r.pending) != 0 {
		t.Fatalf("own old TXT: %d conflicts, %d pending", r.stats.Conflicts.Load(), len(r.pending))
	}
	// Shutdown says goodbye to everything, as a server not in a pair.
	r.goodbye()
	if sent := fc.take(); len(sent) != 2 || len(mustParse(t, sent[0].b).ans) != 5 {
		t.Fatalf("shutdown goodbye: %d packets", len(sent))
	}
}

// rawFor re-encodes m's answers as a response (TTLs as in m).
func (m message) rawFor(t *testing.T) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{Response: true, Authoritative: true})
	b.StartAnswers()
	for _, rr := range m.ans {
		var err error
		switch body := rr.Body.(type) {
		case *dnsmessage.AResource:
			err = b.AResource(rr.Header, *body)
		case *dnsmessage.PTRResource:
			err = b.PTRResource(rr.Header, *body)
		case *dnsmessage.SRVResource:
			err = b.SRVResource(rr.Header, *body)
		case *dnsmessage.TXTResource:
			err = b.TXTResource(rr.Header, *body)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	out, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPairStandbyFromStart: a server started as the standby never probes
// or announces, and says nothing at shutdown; a server never put in a
// pair advertises no epoch.
func TestPairStandbyFromStart(t *testing.T) {
	r, fc := newTestResponder(t, testAdvert())
	r.setRole(t0, 0)
	runUntil(r, t0, t0.Add(5*time.Second))
	r.goodbye()
	if n := len(fc.take()); n != 0 {
		t.Fatalf("a standby sent %d packets", n)
	}
	solo, fc2 := newTestResponder(t, testAdvert())
	runUntil(solo, t0, t0.Add(3*time.Second))
	ann := fc2.take()
	adv := testAdvert()
	if len(ann) == 0 || !slices.Equal(txtOf(t, mustParse(t, ann[len(ann)-1].b)), adv.Text(0)) {
		t.Fatal("a server not in a pair announced other strings than §14.2's")
	}
}

// peerRecords are the records of the pair's other server: the same
// instance name, its own host, port and address, TXT with epoch e (or
// the strings txt).
func peerRecords(e uint32, txt ...string) []record {
	if txt == nil {
		txt = withEpoch(1, e)
	}
	return buildRecords(makeNames("Arena", "venue-b"), 7788, txt, []netip.Addr{peer.Addr()})
}

// TestPairPeerNoConflict: the pair's other server answering under our
// instance name is no conflict (no rename). Under a lower epoch (a stale
// writer) it does not suppress our answers, and we multicast our SRV, TXT
// and A again 250 ms later; under a higher one it does suppress them.
// Without an epoch, or with a malformed one (counted), it is a conflict
// as for a server not in a pair.
func TestPairPeerNoConflict(t *testing.T) {
	r, fc := newTestResponder(t, testAdvert())
	r.setRole(t0, 3)
	now := established(t, r, fc)

	for range 100 { // a flood: one defence
		r.handle(now, response(t, peerRecords(2), 120), peer, group, eth0.Index)
	}
	if len(r.pending) != 1 {
		t.Fatalf("%d responses pending after 100 stale ones, want one defence", len(r.pending))
	}
	if r.stats.Conflicts.Load() != 0 || r.Name() != "Arena" {
		t.Fatalf("stale peer: %d conflicts, name %q", r.stats.Conflicts.Load(), r.Name())
	}
	now = runUntil(r, now, now.Add(300*time.Millisecond))
	sent := fc.take()
	if len(sent) != 1 || sent[0].ifIndex != eth0.Index {
		t.Fatalf("%d packets after a stale peer's response, want our records again on eth0", len(sent))
	}
	m := mustParse(t, sent[0].b)
	if got := types(m.ans); !slices.Equal(got, []string{instName + " SRV", instName + " TXT", "venue.local. A"}) || !slices.Equal(txtOf(t, m), withEpoch(0, 3)) {
		t.Fatalf("defence %v", got)
	}

	// A query answered with the shared PTR: the stale peer's answer does
	// not silence ours, a newer peer's does.
	ptrQuery := query(t, 0, []dnsmessage.Question{q(ServiceType, dnsmessage.TypePTR, false)}, nil, nil)
	now = now.Add(2 * time.Second)
	r.handle(now, ptrQuery, peer, group, eth0.Index)
	r.handle(now.Add(5*time.Millisecond), response(t, peerRecords(2)[1:4], ttlOther), peer, group, eth0.Index)
	now = runUntil(r, now, now.Add(300*time.Millisecond)) // the answer, and the defence
	sent = fc.take()
	if !slices.ContainsFunc(sent, func(p sentPacket) bool { return slices.Contains(types(mustParse(t, p.b).ans), ServiceType+" PTR") }) {
		t.Fatal("a stale peer's answer suppressed ours")
	}
	now = now.Add(2 * time.Second)
	r.handle(now, ptrQuery, peer, group, eth0.Index)
	r.handle(now.Add(5*time.Millisecond), response(t, peerRecords(5)[1:4], ttlOther), peer, group, eth0.Index)
	now = runUntil(r, now, now.Add(200*time.Millisecond))
	if n := len(fc.take()); n != 0 || r.stats.Conflicts.Load() != 0 {
		t.Fatalf("after a newer peer answered: %d packets, %d conflicts", n, r.stats.Conflicts.Load())
	}

	// No epoch, or a malformed one: a conflict, as ever.
	r.handle(now, response(t, peerRecords(0, "v=1", "epoch=03"), 120), peer, group, eth0.Index)
	if r.stats.Conflicts.Load() != 1 || r.stats.BadEpoch.Load() != 1 {
		t.Fatalf("malformed epoch: %d conflicts, %d bad epochs", r.stats.Conflicts.Load(), r.stats.BadEpoch.Load())
	}

	// A server not in a pair takes a pair's records under its name for a
	// conflict.
	solo, fc2 := newTestResponder(t, testAdvert())
	now = established(t, solo, fc2)
	solo.handle(now, response(t, peerRecords(2), 120), peer, group, eth0.Index)
	if solo.stats.Conflicts.Load() != 1 {
		t.Fatal("a pair's records were no conflict for a server not in a pair")
	}
}

// TestBeaconPairRoles: the beacon of the active answers with epoch=E
// last, the first string a small probe's reply leaves out; the standby's
// answers nothing and counts it; a server not in a pair sends no epoch.
func TestBeaconPairRoles(t *testing.T) {
	b, err := NewBeaconResponder(Config{Advert: testAdvert(), Interfaces: []Interface{eth0}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	probe := AppendProbe(nil, BeaconProbe{Nonce: 9}, BeaconProbeSize)
	reply := func(p []byte) *BeaconReply {
		out := b.handle(p, peer, eth0.Index)
		if out == nil {
			return nil
		}
		r, _, err := ParseReply(out)
		if err != nil {
			t.Fatal(err)
		}
		return &r
	}
	adv := testAdvert()
	if r := reply(probe); r == nil || !slices.Equal(r.Text, adv.Text(0)) {
		t.Fatalf("not in a pair: %+v", r)
	}
	b.SetActive(3)
	r := reply(probe)
	if r == nil || !slices.Equal(r.Text, adv.textAt(0, 3)) || r.Truncated {
		t.Fatalf("active: %+v", r)
	}
	// A probe one byte short of the whole reply: epoch= goes first.
	full, _ := AppendReply(nil, r)
	if r := reply(AppendProbe(nil, BeaconProbe{Nonce: 9}, len(full)-1)); r == nil || !r.Truncated || !slices.Equal(r.Text, adv.Text(0)) {
		t.Fatalf("truncated: %+v", r)
	}
	b.SetStandby()
	if r := reply(probe); r != nil || b.stats.Standby.Load() != 1 {
		t.Fatalf("standby replied %+v (%d counted)", r, b.stats.Standby.Load())
	}
	b.SetActive(5)
	if r := reply(probe); r == nil || r.Text[len(r.Text)-1] != "epoch=5" {
		t.Fatalf("active again: %+v", r)
	}
}

// runPairResponder runs a real responder on lo until the test ends, with
// its role set before Run by role; if it is to announce, it returns once
// its first announcement was multicast.
func runPairResponder(t *testing.T, lo Interface, adv Advert, role func(*Responder), announces bool) *Responder {
	t.Helper()
	watch, err := ListenMDNS([]Interface{lo})
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	r, err := Listen(Config{Advert: adv, Interfaces: []Interface{lo}, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	role(r)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := r.Run(ctx); err != nil {
			t.Errorf("responder: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	if announces {
		waitAnnounced(t, watch, r)
	}
	return r
}

// pairBrowse is one browse of lo: the answer for name, if any, and the
// stale_epoch rejections for it.
func pairBrowse(t *testing.T, name string, d time.Duration) (*Service, []Rejected) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	svcs, rej, err := BrowseReport(ctx, "lo")
	if err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	var stale []Rejected
	for _, r := range rej {
		if r.Instance == name {
			if r.Reason != RejectStaleEpoch {
				t.Logf("rejected %v", r) // an answer still incomplete at the deadline: browse again
				continue
			}
			stale = append(stale, r)
		}
	}
	for i := range svcs {
		if svcs[i].Instance == name {
			return &svcs[i], stale
		}
	}
	return nil, stale
}

// TestLoopbackPairTakeover: two responders on lo advertise one instance
// name as a standby pair. The active at epoch 2 is the only one found
// while the other is the standby; after the switch (the first steps down,
// the second becomes active at epoch 3) only the second is found; and
// when both answer (the first active again at epoch 2, a stale writer),
// the browse takes epoch 3 and reports the other as stale_epoch. Neither
// takes the other for a conflict and renames.
func TestLoopbackPairTakeover(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets and multicast on lo; skipped in -short mode")
	}
	lo := loopback(t)
	requireMulticast(t, lo)
	name := unique("Pair Arena")
	adv := func(host string, port uint16) Advert {
		return Advert{Instance: name, Host: host, Port: port, Capacity: 8, Players: func() int { return 1 }}
	}
	addrA := netip.MustParseAddrPort("127.0.0.1:17791")
	addrB := netip.MustParseAddrPort("127.0.0.1:17792")
	a := runPairResponder(t, lo, adv("arcade-pair-a", addrA.Port()), func(r *Responder) { r.SetActive(2) }, true)
	b := runPairResponder(t, lo, adv("arcade-pair-b", addrB.Port()), func(r *Responder) { r.SetStandby() }, false)

	// find browses until name is found at want (bounded), checking
	// every answer found on the way against check.
	find := func(what string, want netip.AddrPort, d time.Duration, done func(*Service, []Rejected) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			s, stale := pairBrowse(t, name, d)
			if s != nil {
				t.Logf("%s: found %v epoch %d, %d stale", what, s.Addr, s.Epoch, len(stale))
			}
			if done(s, stale) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s not found at %v within 20 s (last: %+v, stale %v)", what, name, want, s, stale)
			}
		}
	}
	only := func(want netip.AddrPort, epoch uint32) func(*Service, []Rejected) bool {
		return func(s *Service, stale []Rejected) bool {
			if len(stale) != 0 {
				t.Fatalf("a standby answered: %v", stale)
			}
			return s != nil && s.Addr == want && s.Epoch == epoch
		}
	}
	find("epoch 2", addrA, 1500*time.Millisecond, only(addrA, 2))
	if n := b.Stats().Sent.Load(); n != 0 || b.Stats().Standby.Load() == 0 {
		t.Fatalf("the standby sent %d datagrams and left %d unanswered", n, b.Stats().Standby.Load())
	}

	// The switch: from the test's goroutine, while both run.
	a.SetStandby()
	b.SetActive(3)
	sentA := a.Stats().Sent.Load()
	find("after the switch", addrB, 1500*time.Millisecond, func(s *Service, stale []Rejected) bool {
		// Until the first has stepped down, its answers may still be
		// heard; after, never.
		return s != nil && s.Addr == addrB && s.Epoch == 3
	})
	if n := a.Stats().Sent.Load() - sentA; n > 2 {
		t.Errorf("the first server sent %d datagrams after stepping down (its goodbye is one)", n)
	}
	find("epoch 3", addrB, 1500*time.Millisecond, only(addrB, 3))

	// A stale writer: the first active again under its old epoch. Each
	// browse spans its second announcement.
	a.SetActive(2)
	find("both answering", addrB, 2500*time.Millisecond, func(s *Service, stale []Rejected) bool {
		if s != nil && (s.Addr != addrB || s.Epoch != 3) {
			t.Fatalf("with both answering, took %v epoch %d", s.Addr, s.Epoch)
		}
		for _, r := range stale {
			if r.Epoch != 2 {
				t.Fatalf("stale rejection %v", r)
			}
		}
		return s != nil && len(stale) > 0
	})
	if a.Name() != name || b.Name() != name || a.Stats().Conflicts.Load()+b.Stats().Conflicts.Load() != 0 {
		t.Fatalf("names %q, %q; conflicts %d, %d", a.Name(), b.Name(), a.Stats().Conflicts.Load(), b.Stats().Conflicts.Load())
	}
}

// stillConn is a Transport on a clock that never moves: a read waits
// until its deadline is at or before that clock's time, which only the
// wake of SetActive, SetStandby or the end of Run makes it. What is
// written goes to sent.
type stillConn struct {
	mu       sync.Mutex
	cond     *sync.Cond
	now      time.Time
	deadline time.Time
	sent     chan []byte
}

func newStillConn(now time.Time) *stillConn {
	c := &stillConn{now: now, sent: make(chan []byte, 64)}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *stillConn) ReadFrom([]byte) (int, int, netip.AddrPort, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.deadline.IsZero() || c.deadline.After(c.now) {
		c.cond.Wait()
	}
	c.deadline = time.Time{} // one timeout per deadline set
	return 0, 0, netip.AddrPort{}, os.ErrDeadlineExceeded
}

func (c *stillConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.cond.Broadcast()
	c.mu.Unlock()
	return nil
}

func (c *stillConn) WriteTo(b []byte, _ int, _ netip.AddrPort) error {
	c.sent <- slices.Clone(b)
	return nil
}

func (c *stillConn) Close() error { return nil }

// TestRunAppliesRoleAtOnce: SetActive and SetStandby, called from
// another goroutine while Run waits in a read, return at once and wake
// Run, which applies the role: on a clock that never moves, nothing else
// could make it announce or say goodbye.
func TestRunAppliesRoleAtOnce(t *testing.T) {
	c := newStillConn(t0)
	r, err := NewResponder(Config{Advert: testAdvert(), Interfaces: []Interface{eth0}, Now: func() time.Time { return t0 }, Seed: 1}, c)
	if err != nil {
		t.Fatal(err)
	}
	r.SetStandby() // before Run: it never probes
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	next := func(what string) message {
		t.Helper()
		select {
		case b := <-c.sent:
			return mustParse(t, b)
		case <-time.After(20 * time.Second): // a bound on a stuck Run, not a timing
			t.Fatalf("%s: nothing sent", what)
		}
		return message{}
	}
	r.SetActive(3)
	m := next("after SetActive")
	if len(m.qs) != 0 || !slices.Equal(txtOf(t, m), withEpoch(0, 3)) {
		t.Fatalf("after SetActive: %v, want the announcement of epoch 3", types(m.ans))
	}
	r.SetStandby()
	m = next("after SetStandby")
	if got := types(m.ans); !slices.Equal(got, []string{instName + " SRV", instName + " TXT", "venue.local. A"}) || m.ans[0].Header.TTL != 0 {
		t.Fatalf("after SetStandby: %v, want the step down's goodbye", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-c.sent:
		t.Fatalf("a standby's shutdown sent %v", types(mustParse(t, b).ans))
	default:
	}
	r.SetActive(5) // after Run: harmless
}

// TestRoleBoxKeepsStandby: roles asked for faster than Run takes them
// come out as the newest, with the standby between kept.
func TestRoleBoxKeepsStandby(t *testing.T) {
	var b roleBox
	if _, _, ok := b.take(); ok {
		t.Fatal("a role before any was set")
	}
	b.put(2)
	b.put(0)
	b.put(4)
	if e, sb, ok := b.take(); e != 4 || !sb || !ok {
		t.Fatalf("active 2, standby, active 4: took %d, standby first %v, %v", e, sb, ok)
	}
	b.put(6)
	if e, sb, ok := b.take(); e != 6 || sb || !ok {
		t.Fatalf("active 6: took %d, standby first %v, %v", e, sb, ok)
	}
	b.put(2)
	b.put(0)
	if e, sb, ok := b.take(); e != 0 || sb || !ok {
		t.Fatalf("active 2, standby: took %d, standby first %v, %v", e, sb, ok)
	}
	if _, _, ok := b.take(); ok {
		t.Fatal("a role taken twice")
	}
}

// TestRunTakeoverAndStepDown: a responder made at a takeover (SetStandby
// then SetActive before Run) announces at once, without probing; one
// stepping down (SetStandby, then the end of Run's context) says the
// step down's goodbyes, without the PTRs, and nothing more.
func TestRunTakeoverAndStepDown(t *testing.T) {
	c := newStillConn(t0)
	r, err := NewResponder(Config{Advert: testAdvert(), Interfaces: []Interface{eth0}, Now: func() time.Time { return t0 }, Seed: 1}, c)
	if err != nil {
		t.Fatal(err)
	}
	r.SetStandby()
	r.SetActive(3)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var m message
	select {
	case b := <-c.sent:
		m = mustParse(t, b)
	case <-time.After(20 * time.Second): // a bound on a stuck Run, not a timing
		t.Fatal("nothing sent")
	}
	if len(m.qs) != 0 || len(m.ans) != 5 || !slices.Equal(txtOf(t, m), withEpoch(0, 3)) {
		t.Fatalf("first datagram: %d questions, %v: want the announcement of epoch 3", len(m.qs), types(m.ans))
	}
	r.SetStandby()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for len(c.sent) > 0 {
		got = append(got, types(mustParse(t, <-c.sent).ans))
	}
	want := []string{instName + " SRV", instName + " TXT", "venue.local. A"}
	if len(got) != 1 || !slices.Equal(got[0], want) {
		t.Fatalf("after SetStandby and the end: %v, want one step-down goodbye %v", got, want)
	}
}
