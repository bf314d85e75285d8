package server_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/wire"
)

// joinAs is twinEnv.join with a player identity, from a given address.
func (e *twinEnv) joinAs(t *testing.T, name string, player [16]byte, addr netip.AddrPort) *twinPeer {
	p := e.tryJoinAs(client.SessionConfig{Name: name, PlayerID: player, Passphrase: e.passphrase}, addr)
	if p.s.State() != client.Connected {
		t.Fatalf("%s: %v (%v)", name, p.s.State(), p.s.Err())
	}
	return p
}

// tryJoinAs starts a session configured by cfg (its nonce set here) from
// addr and runs the twin until the handshake ends either way.
func (e *twinEnv) tryJoinAs(cfg client.SessionConfig, addr netip.AddrPort) *twinPeer {
	p := &twinPeer{idx: len(e.peers)}
	p.ep = e.r.net.Endpoint(addr)
	p.ep.Join(server.DefaultMulticast)
	cfg.Nonce = uint64(len(e.peers) + 500)
	p.s = client.NewSession(cfg)
	p.s.OnSnapshot(p.onSnapshot)
	e.peers = append(e.peers, p)
	p.s.Start(e.r.net.Now())
	p.flush()
	for i := 0; i < 100 && p.s.State() == client.Connecting; i++ {
		e.r.advance(10*time.Millisecond, e.step)
	}
	return p
}

func TestReconnectResumesSlotAndAvatar(t *testing.T) {
	e := &twinEnv{t: t, r: newRig(t, netsim.Config{Delay: 200 * time.Microsecond, Seed: 4}, server.Config{})}
	player := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	a := e.joinAs(t, "alice", player, netip.MustParseAddrPort("10.0.3.1:4000"))
	b := e.join(t, "bob", false).(*twinPeer)
	e.run(300*time.Millisecond, []peer{a, b})
	aID, aSeq := a.id(), a.lastSent()
	aX := wire.QuantizePose(wire.Pose{Pos: wire.Vec3{X: a.sentX(aSeq)}}).Pos.X

	// Alice's headset drops off the network: removed after the idle timeout.
	a.leave(false)
	e.run(server.DefaultIdleTimeout+300*time.Millisecond, []peer{b})
	if _, _, ok := b.seen(aID); ok {
		t.Fatal("bob still sees alice after her timeout")
	}
	// A newcomer meanwhile does not get alice's id.
	c := e.join(t, "carol", false).(*twinPeer)
	if c.id() == aID {
		t.Fatalf("carol got alice's reserved id %d", aID)
	}

	// Alice comes back from a new address within the window: same id,
	// same avatar, before she sends anything.
	a2 := e.joinAs(t, "alice", player, netip.MustParseAddrPort("10.0.3.1:4001"))
	if a2.id() != aID || !a2.s.Resumed() {
		t.Fatalf("alice rejoined as %d (resumed %v), want her id %d back", a2.id(), a2.s.Resumed(), aID)
	}
	e.run(100*time.Millisecond, []peer{b})
	seq, x, ok := b.seen(aID)
	if !ok || seq != aSeq || x != aX {
		t.Fatalf("bob sees alice at input %d x=%v (seen %v), want her last avatar: input %d x=%v", seq, x, ok, aSeq, aX)
	}

	// Past the window a player starts afresh.
	a2.leave(true)
	e.run(server.ResumeWindow+time.Second, []peer{b})
	a3 := e.joinAs(t, "alice", player, netip.MustParseAddrPort("10.0.3.1:4002"))
	if a3.s.Resumed() {
		t.Fatal("resumed after the window had passed")
	}
	// Anonymous players never resume.
	if c.s.Resumed() || b.s.Resumed() {
		t.Fatal("an anonymous session resumed")
	}
}

// TestResumeNotTakenWithoutPassphrase: on a sealed server a player id is
// in clear on the LAN (ChallengeResponse). An outsider who handshakes with
// a departed player's id but not the passphrase holds nothing once its
// unproven session expires: the player comes back to its id and avatar.
// While the outsider's session lives the player joins anyway, as new; and
// a live player is never taken over.
func TestResumeNotTakenWithoutPassphrase(t *testing.T) {
	e := &twinEnv{t: t, r: newRig(t, netsim.Config{Delay: 200 * time.Microsecond, Seed: 5}, server.Config{Passphrase: testPassphrase}), passphrase: testPassphrase}
	player := [16]byte{0xa1, 0xce, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	a := e.joinAs(t, "alice", player, netip.MustParseAddrPort("10.0.3.1:4000"))
	b := e.join(t, "bob", false).(*twinPeer)
	e.run(300*time.Millisecond, []peer{a, b})
	aID := a.id()

	// Alive: an outsider with her id takes nothing over.
	x := e.tryJoinAs(client.SessionConfig{Name: "mallory", PlayerID: player, Passphrase: "guess"}, netip.MustParseAddrPort("10.0.9.9:4000"))
	if x.s.State() != client.Denied {
		t.Fatalf("outsider: %v (%v), want denied", x.s.State(), x.s.Err())
	}
	x.silent = true
	e.run(200*time.Millisecond, []peer{a, b})
	if a.s.State() != client.Connected {
		t.Fatalf("alice after the outsider: %v (%v)", a.s.State(), a.s.Err())
	}
	if _, _, ok := b.seen(aID); !ok {
		t.Fatal("bob lost alice to an outsider")
	}

	// Departed: the outsider grabs her slot first, and never proves it.
	a.leave(true)
	e.run(100*time.Millisecond, []peer{b})
	x2 := e.tryJoinAs(client.SessionConfig{Name: "mallory", PlayerID: player, Passphrase: "guess"}, netip.MustParseAddrPort("10.0.9.9:4001"))
	x2.silent = true
	if x2.s.State() != client.Denied {
		t.Fatalf("outsider: %v, want denied", x2.s.State())
	}
	if _, _, ok := b.seen(x2.s.ClientID()); ok {
		t.Fatal("the outsider became a player")
	}
	// Alice meanwhile: joins, under a new id (hers is held, unproven).
	a2 := e.joinAs(t, "alice", player, netip.MustParseAddrPort("10.0.3.1:4001"))
	if a2.id() == aID || a2.s.Resumed() {
		t.Fatalf("alice joined as %d resumed=%v while an unproven session held her id %d", a2.id(), a2.s.Resumed(), aID)
	}
	// She leaves again; the outsider's session expires unproven; she
	// comes back to a slot of hers.
	a2.leave(true)
	e.run(1200*time.Millisecond, []peer{b})
	a3 := e.joinAs(t, "alice", player, netip.MustParseAddrPort("10.0.3.1:4002"))
	if !a3.s.Resumed() || a3.id() != a2.id() {
		t.Fatalf("alice rejoined as %d resumed=%v, want her last id %d back", a3.id(), a3.s.Resumed(), a2.id())
	}
	if d := e.stats().Dropped[server.DropBadPassphrase].Load(); d < 2 {
		t.Errorf("%d bad_passphrase drops for two unproven sessions", d)
	}
}

// TestDepartedTableBounded: players who join and leave under ever new
// player ids fill the table of departed players only up to its bound
// (4 × MaxClients, at least 64); the oldest departures go first, the
// newest still resume.
func TestDepartedTableBounded(t *testing.T) {
	e := &twinEnv{t: t, r: newRig(t, netsim.Config{Delay: 100 * time.Microsecond, Seed: 9}, server.Config{MaxClients: 4})}
	const bound, churn = 64, 80
	player := func(i int) [16]byte { return [16]byte{0xde, byte(i >> 8), byte(i), 1} }
	addr := func(i, gen int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 5 + byte(gen), byte(i + 1)}), 4000)
	}
	for i := range churn {
		p := e.joinAs(t, "churn", player(i), addr(i, 0))
		p.leave(true)
		e.r.advance(2*time.Millisecond, e.step)
	}
	if got := e.stats().DepartedEvicted.Load(); got != churn-bound {
		t.Errorf("%d departures evicted, want %d (%d players left, bound %d)", got, churn-bound, churn, bound)
	}
	if first := e.joinAs(t, "first", player(0), addr(0, 1)); first.s.Resumed() {
		t.Error("the oldest departure resumed: it should have been evicted")
	} else {
		first.leave(true)
	}
	if last := e.joinAs(t, "last", player(churn-1), addr(churn-1, 1)); !last.s.Resumed() {
		t.Error("the newest departure did not resume")
	}
}
