package server_test

import (
	"net/netip"
	"testing"
	"time"

	"arcade/client"
	"arcade/netsim"
	"arcade/server"
	"arcade/wire"
)

// joinAs is twinEnv.join with a player identity, from a given address.
func (e *twinEnv) joinAs(t *testing.T, name string, player [16]byte, addr netip.AddrPort) *twinPeer {
	p := &twinPeer{idx: len(e.peers)}
	p.ep = e.r.net.Endpoint(addr)
	p.ep.Join(server.DefaultMulticast)
	p.s = client.NewSession(client.SessionConfig{Name: name, Nonce: uint64(len(e.peers) + 500), PlayerID: player})
	p.s.OnSnapshot(p.onSnapshot)
	e.peers = append(e.peers, p)
	p.s.Start(e.r.net.Now())
	p.flush()
	for i := 0; i < 100 && p.s.State() == client.Connecting; i++ {
		e.r.advance(10*time.Millisecond, e.step)
	}
	if p.s.State() != client.Connected {
		t.Fatalf("%s: %v (%v)", name, p.s.State(), p.s.Err())
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
