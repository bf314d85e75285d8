package server_test

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/wire"
)

// lastSeqOf returns the last input seq the newest snapshot in got reports
// for client id, and whether one did.
func lastSeqOf(t *testing.T, got []received, id uint16) (uint32, bool) {
	t.Helper()
	var seq uint32
	ok := false
	for _, s := range snapshotsOf(t, got) {
		for _, p := range s.Players {
			if p.ClientID == id {
				seq, ok = p.LastInputSeq, true
			}
		}
	}
	return seq, ok
}

// TestForgedInputJump: a pose forged with a victim's token and address and
// an input seq 2³⁰ ahead is dropped; one 500 ahead gets in, but the
// victim's own inputs take over again within inputResync of them.
func TestForgedInputJump(t *testing.T) {
	r := newRig(t, netsim.Config{}, server.Config{})
	v := r.client("10.0.0.2:5000")
	r.connect(v, wire.ConnectWantUnicast)
	seq := uint32(0)
	send := func(n int) (last uint32) {
		for range n {
			seq++
			v.pose(seq, 1)
			r.advance(11*time.Millisecond, nil)
		}
		last, _ = lastSeqOf(t, v.recv(), v.id)
		return last
	}
	if got := send(10); got != seq {
		t.Fatalf("victim's input %d reported as %d", seq, got)
	}
	// The forgeries come from the victim's own source (spoofed), with its
	// token, which is in every datagram in clear.
	v.pose(seq+1<<30, 9)
	r.advance(time.Millisecond, nil)
	if n := r.srv.Stats().Dropped[server.DropImplausibleInput].Load(); n != 1 {
		t.Fatalf("%d inputs dropped as implausible, want the forged one", n)
	}
	if got := send(3); got != seq {
		t.Fatalf("after a jump of 2³⁰: victim's input %d reported as %d", seq, got)
	}
	v.pose(seq+500, 9)
	r.advance(time.Millisecond, nil)
	v.recv()
	if got := send(12); got != seq {
		t.Fatalf("12 inputs after a forged jump of 500: victim's input %d reported as %d", seq, got)
	}
	if n := r.srv.Stats().InputResyncs.Load(); n != 1 {
		t.Fatalf("%d resyncs, want 1", n)
	}
}

// TestReplayedChallengeResponse: a ChallengeResponse captured from a
// headset and replayed from its address within the cookie's life, after
// the headset left, creates no session.
func TestReplayedChallengeResponse(t *testing.T) {
	r := newRig(t, netsim.Config{}, server.Config{})
	v := r.client("10.0.0.2:5000")
	req := wire.ConnectRequest{ClientNonce: v.nonce}
	v.send(wire.TypeConnectRequest, req.Append)
	r.advance(time.Millisecond, nil)
	var ch wire.Challenge
	for _, m := range v.recv() {
		if m.h.Type == wire.TypeChallenge {
			ch.Parse(m.body)
		}
	}
	resp := wire.ChallengeResponse{ClientNonce: v.nonce, Cookie: ch.Cookie}
	accepted := func() int {
		v.send(wire.TypeChallengeResponse, resp.Append)
		r.advance(time.Millisecond, nil)
		n := 0
		for _, m := range v.recv() {
			if m.h.Type == wire.TypeAccepted {
				v.token = m.h.Token
				n++
			}
		}
		return n
	}
	if accepted() != 1 || r.srv.Stats().Clients.Load() != 1 {
		t.Fatal("the handshake made no session")
	}
	// A repeat while the session lives is answered again (its Accepted
	// may have been lost): not a replay.
	if accepted() != 1 || r.srv.Stats().Clients.Load() != 1 {
		t.Fatal("a repeated response while the session lives was not answered once")
	}
	d := wire.Disconnect{Reason: wire.DisconnectClientLeft}
	v.send(wire.TypeDisconnect, d.Append)
	r.advance(time.Millisecond, nil)
	if n := r.srv.Stats().Clients.Load(); n != 0 {
		t.Fatalf("%d clients after the headset left", n)
	}
	for range 2 {
		if accepted() != 0 {
			t.Fatal("a replayed response was accepted")
		}
	}
	if n := r.srv.Stats().Clients.Load(); n != 0 {
		t.Fatalf("%d ghost sessions from a replay", n)
	}
	if n := r.srv.Stats().Dropped[server.DropReplayedHandshake].Load(); n != 2 {
		t.Fatalf("%d replays counted, want 2", n)
	}
}

// TestHandshakeBudget: connect requests from 8192 source addresses, each
// within its own rate, are answered no more than the server-wide budget
// allows.
func TestHandshakeBudget(t *testing.T) {
	const budget = 500
	r := newRig(t, netsim.Config{}, server.Config{HandshakeBudget: budget})
	srcs := make([]*rawClient, 8192)
	for i := range srcs {
		srcs[i] = r.client(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 4000).String())
	}
	sent, answered := 0, 0
	// One second: every source sends 4 connect requests (far below its
	// own 100/s), 32 768 in all.
	for round := range 4 {
		for _, c := range srcs {
			req := wire.ConnectRequest{ClientNonce: c.nonce + uint64(round)}
			c.send(wire.TypeConnectRequest, req.Append)
			sent++
		}
		r.advance(250*time.Millisecond, nil)
		for _, c := range srcs {
			for _, m := range c.recv() {
				if m.h.Type == wire.TypeChallenge {
					answered++
				}
			}
		}
	}
	// The burst (one second's worth) plus a second's refill.
	if answered > 2*budget || answered == 0 {
		t.Fatalf("%d of %d connect requests answered in 1 s, want at most %d", answered, sent, 2*budget)
	}
	if n := r.srv.Stats().Dropped[server.DropHandshakeBudget].Load(); int(n) != sent-answered {
		t.Fatalf("%d counted over the budget, %d unanswered", n, sent-answered)
	}
}

// TestSealedFloodSpoofingAVictim: with a passphrase, 20 000 forged
// datagrams a second carrying a headset's address and token (both in
// clear) cost the headset nothing: they fail authentication before they
// reach its rate budget, and its inputs keep being applied.
func TestSealedFloodSpoofingAVictim(t *testing.T) {
	skipUnderRace(t)
	e := &twinEnv{t: t, r: newRig(t, netsim.Config{Seed: 5}, server.Config{Passphrase: testPassphrase}), passphrase: testPassphrase}
	v := tryJoin(e, "victim", testPassphrase)
	if v.s.State() != client.Connected {
		t.Fatalf("victim: %v (%v)", v.s.State(), v.s.Err())
	}
	token := v.s.Token()
	st := e.stats()
	junk := make([]byte, 60)
	sent := 0
	// Two seconds: the victim sends 90 poses a second; the flood 20 a
	// millisecond, sealed-looking, every type a session may send.
	types := []wire.PacketType{wire.TypePoseInput, wire.TypePing, wire.TypeMessage, wire.TypeDeliveryReport, wire.TypeDisconnect}
	nextPose := e.r.net.Now()
	end := e.r.net.Now() + int64(2*time.Second)
	for k := 0; e.r.net.Now() < end; k++ {
		now := e.r.net.Now()
		if now >= nextPose {
			v.sendPose(now)
			v.flush()
			sent++
			nextPose += int64(time.Second / 90)
		}
		for j := range 20 {
			h := wire.Header{Type: types[(k+j)%len(types)], Flags: wire.FlagSealed, Token: token, Seq: uint16(k*20 + j)}
			// A packet number ahead of the victim's, so that each
			// forgery reaches the AEAD and fails there.
			binary.LittleEndian.PutUint64(junk, uint64(1)<<40+uint64(k*20+j))
			v.ep.Send(serverAddr, append(h.Append(nil), junk...))
		}
		e.r.advance(time.Millisecond, e.step)
	}
	e.r.advance(50*time.Millisecond, e.step)
	if v.s.State() != client.Connected {
		t.Fatalf("victim lost its session: %v", v.s.Err())
	}
	var inputs uint64
	for _, c := range st.ClientList() {
		if c.ID == v.id() {
			inputs = c.Inputs
		}
	}
	if float64(inputs) < 0.95*float64(sent) {
		t.Fatalf("%d of the victim's %d inputs applied under the flood", inputs, sent)
	}
	t.Logf("drops %v, %d of %d inputs", st.DroppedByName(), inputs, sent)
	if n := st.Dropped[server.DropBadSeal].Load(); n < 30000 {
		t.Fatalf("only %d forged datagrams failed authentication", n)
	}
	if n := st.Dropped[server.DropRateLimited].Load(); n != 0 {
		t.Fatalf("%d datagrams rate limited: the flood spent the victim's budget", n)
	}
}
