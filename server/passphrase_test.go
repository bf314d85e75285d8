package server_test

import (
	"bytes"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/wire"
)

const testPassphrase = "lantern orchard 42"

// sealTap keeps a copy of every datagram the server sends and receives.
type sealTap struct {
	mu       sync.Mutex
	sent, rx [][]byte
}

func (c *sealTap) Received(m *udp.Message) {
	c.mu.Lock()
	c.rx = append(c.rx, bytes.Clone(m.Buf[:m.N]))
	c.mu.Unlock()
}

func (c *sealTap) Sent(m *udp.Message, _ int64) {
	c.mu.Lock()
	c.sent = append(c.sent, bytes.Clone(m.Buf[:m.N]))
	c.mu.Unlock()
}

// handshake reports whether t is a handshake message, never sealed.
func handshake(t wire.PacketType) bool {
	return t >= wire.TypeConnectRequest && t <= wire.TypeDenied
}

// checkAllSealed fails unless every datagram but the handshake's (and the
// answer to an unknown token, which no key covers) has FlagSealed, and
// reports how many were sealed.
func checkAllSealed(t *testing.T, what string, dgrams [][]byte) int {
	t.Helper()
	n := 0
	for _, d := range dgrams {
		var h wire.Header
		if _, err := h.Parse(d); err != nil {
			continue // garbage a test sent on purpose
		}
		if h.Type == wire.TypeDisconnect && h.Flags&wire.FlagSealed == 0 && len(d) == wire.HeaderSize+wire.DisconnectSize &&
			wire.DisconnectReason(d[wire.HeaderSize]) == wire.DisconnectUnknownSession {
			continue // the one clear answer: to a token no session has (no key)
		}
		if handshake(h.Type) {
			if h.Flags&wire.FlagSealed != 0 {
				t.Errorf("%s: handshake %v sealed", what, h.Type)
			}
			continue
		}
		if h.Flags&wire.FlagSealed == 0 {
			t.Errorf("%s: %v in clear", what, h.Type)
			continue
		}
		n++
	}
	return n
}

// TestPassphraseScenarioTwin: with a venue passphrase, the whole scenario
// (multicast and unicast snapshots, poses, leaving) works on the lossy
// twin, and every datagram after the handshake is sealed both ways.
func TestPassphraseScenarioTwin(t *testing.T) {
	skipUnderRace(t)
	tap := &sealTap{}
	cfg := netsim.Config{Loss: 0.10, Duplicate: 0.10, Delay: time.Millisecond, Jitter: 3 * time.Millisecond, Seed: 7}
	e := &twinEnv{t: t, r: newRig(t, cfg, server.Config{Passphrase: testPassphrase, Tap: tap}), passphrase: testPassphrase}
	scenario(t, e, 8)
	if n := checkAllSealed(t, "sent", tap.sent); n < 100 {
		t.Errorf("only %d sealed datagrams sent", n)
	}
	if n := checkAllSealed(t, "received", tap.rx); n < 100 {
		t.Errorf("only %d sealed datagrams received", n)
	}
	st := e.stats()
	for _, r := range []server.DropReason{server.DropBadSeal, server.DropUnsealed, server.DropBadPassphrase} {
		if d := st.Dropped[r].Load(); d != 0 {
			t.Errorf("%d datagrams dropped as %v", d, r)
		}
	}
	// The network duplicates datagrams: the copies are replays.
	if st.Dropped[server.DropReplayed].Load() == 0 {
		t.Error("duplicated datagrams were never recognised as replays")
	}
	for _, p := range e.peers {
		if d := p.s.Stats().Dropped[client.DropBadSeal]; d != 0 {
			t.Errorf("client %d: %d bad seals", p.id(), d)
		}
	}
}

// TestPassphraseRPCTwin: the reliable channel, fragments included, over
// sealed sessions (whose datagrams have less room for the payload).
func TestPassphraseRPCTwin(t *testing.T) { rpcTwin(t, testPassphrase) }

// tryJoin starts a session with passphrase pass and runs the twin until
// the handshake ends either way.
func tryJoin(e *twinEnv, name, pass string) *twinPeer {
	return tryJoinWith(e, client.SessionConfig{Name: name, Passphrase: pass})
}

// tryJoinWith is tryJoin for a session configured by cfg, whose nonce it
// sets.
func tryJoinWith(e *twinEnv, cfg client.SessionConfig) *twinPeer {
	p := &twinPeer{idx: len(e.peers)}
	p.ep = e.r.net.Endpoint(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 3, byte(len(e.peers) + 1)}), 4000))
	cfg.Nonce = uint64(len(e.peers) + 200)
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

// TestPassphraseDenied: a wrong passphrase, or none, is denied with
// DenyBadPassphrase (none by the server, a wrong one by the client, which
// finds the server's confirmation does not check: the server cannot tell),
// counted, and makes no player: the session a wrong guess left is gone
// within a second.
func TestPassphraseDenied(t *testing.T) {
	e := &twinEnv{t: t, r: newRig(t, netsim.Config{Delay: 200 * time.Microsecond, Seed: 1}, server.Config{Passphrase: testPassphrase})}
	for i, pass := range []string{"lantern orchard 43", ""} {
		p := tryJoin(e, "intruder", pass)
		var de *client.DeniedError
		if p.s.State() != client.Denied || !errors.As(p.s.Err(), &de) || de.Reason != wire.DenyBadPassphrase {
			t.Fatalf("passphrase %q: %v, %v; want denied for a bad passphrase", pass, p.s.State(), p.s.Err())
		}
		st := e.stats()
		if c := st.Clients.Load(); c != 0 {
			t.Errorf("passphrase %q: %d clients", pass, c)
		}
		e.r.advance(1100*time.Millisecond, e.step)
		if d := st.Dropped[server.DropBadPassphrase].Load(); d != uint64(i+1) {
			t.Errorf("passphrase %q: %d bad_passphrase drops, want %d", pass, d, i+1)
		}
		p.silent = true
	}
	if p := tryJoin(e, "guest", testPassphrase); p.s.State() != client.Connected {
		t.Fatalf("right passphrase: %v (%v)", p.s.State(), p.s.Err())
	}

	// A client with a passphrase refuses a server that has none.
	e2 := &twinEnv{t: t, r: newRig(t, netsim.Config{Seed: 1}, server.Config{})}
	if p := tryJoin(e2, "careful", testPassphrase); p.s.State() != client.Denied || !errors.Is(p.s.Err(), client.ErrNotSealed) {
		t.Fatalf("anonymous server: %v (%v), want ErrNotSealed", p.s.State(), p.s.Err())
	}
}

// sendPoseCaptured sends a pose with head X x from p and returns its sealed
// datagram as sent, after checking the plaintext body is not in it.
func sendPoseCaptured(t *testing.T, e *twinEnv, p *twinPeer, x float32, mutate func([]byte)) []byte {
	t.Helper()
	in := poseFor(p.seq+1, p.idx)
	in.Head.Pos.X = x
	p.seq = p.s.SendPose(e.r.net.Now(), &in)
	plain := in.Append(nil)
	var got []byte
	p.s.Outgoing(func(d []byte) {
		if wire.PacketType(d[4]) == wire.TypePoseInput {
			got = bytes.Clone(d)
			if d[5]&wire.FlagSealed == 0 {
				t.Error("pose sent without FlagSealed")
			}
			if bytes.Contains(d, plain) || bytes.Contains(d, plain[4:24]) {
				t.Error("sealed pose datagram shows its plaintext")
			}
			if mutate != nil {
				mutate(d)
			}
		}
		p.ep.Send(serverAddr, d)
	})
	if got == nil {
		t.Fatal("no pose datagram")
	}
	return got
}

// TestPassphraseReplayAndForgery: a captured session datagram replayed
// later is dropped as replayed and has no effect; a flipped byte is a bad
// seal; a datagram in clear on a sealed session is dropped as unsealed.
func TestPassphraseReplayAndForgery(t *testing.T) {
	e := &twinEnv{t: t, r: newRig(t, netsim.Config{Delay: 200 * time.Microsecond, Seed: 3}, server.Config{Passphrase: testPassphrase}), passphrase: testPassphrase}
	a := e.join(t, "a", false).(*twinPeer)
	b := e.join(t, "b", true).(*twinPeer)
	settle := func() { e.r.advance(50*time.Millisecond, e.step) }
	sees := func(want float32) {
		t.Helper()
		_, x, ok := b.seen(a.id())
		if wantQ := wire.QuantizePose(wire.Pose{Pos: wire.Vec3{X: want}}).Pos.X; !ok || x != wantQ {
			t.Fatalf("b sees a at x=%v (%v), want %v", x, ok, wantQ)
		}
	}
	st := e.stats()

	old := sendPoseCaptured(t, e, a, 5, nil)
	settle()
	sees(5)
	sendPoseCaptured(t, e, a, 7, nil)
	settle()
	sees(7)

	a.ep.Send(serverAddr, old)
	settle()
	sees(7)
	if d := st.Dropped[server.DropReplayed].Load(); d != 1 {
		t.Errorf("%d replayed drops, want 1", d)
	}
	if d := st.Dropped[server.DropStaleInput].Load(); d != 0 {
		t.Errorf("the replay reached the input stage (%d stale inputs)", d)
	}

	// A flipped byte anywhere after the header fails authentication, and
	// so does one in the header (the additional data).
	for _, at := range []int{len(old) - 1, wire.HeaderSize + 10, 15} {
		sendPoseCaptured(t, e, a, 9, func(d []byte) { d[at] ^= 0x40 })
		settle()
		sees(7)
	}
	if d := st.Dropped[server.DropBadSeal].Load(); d != 3 {
		t.Errorf("%d bad_seal drops, want 3", d)
	}

	// In clear, with the right token: unsealed.
	in := poseFor(a.seq+100, a.idx)
	in.Head.Pos.X = 11
	h := wire.Header{Type: wire.TypePoseInput, Token: a.s.Token(), Seq: 60000}
	a.ep.Send(serverAddr, in.Append(h.Append(nil)))
	settle()
	sees(7)
	if d := st.Dropped[server.DropUnsealed].Load(); d != 1 {
		t.Errorf("%d unsealed drops, want 1", d)
	}

	// The session is still healthy.
	sendPoseCaptured(t, e, a, 13, nil)
	settle()
	sees(13)
	if c := st.Clients.Load(); c != 2 {
		t.Errorf("%d clients, want 2", c)
	}
}

// coast moves virtual time d forward with no client sending: the server
// runs every tick that falls due, at its deadline, and p's session then
// takes in what the server sent it meanwhile.
func coast(r *rig, p *twinPeer, d time.Duration) {
	end := r.net.Now() + int64(d)
	for r.srv.NextTick() <= end {
		at := r.srv.NextTick()
		r.net.SetNow(at)
		r.srv.Step(at)
	}
	r.net.SetNow(end)
	p.ep.Recv(func(b []byte, _ netip.AddrPort, rx int64, mc bool) { p.s.Handle(end, b, rx, mc) })
}

// FuzzSealedReceive: whatever arrives from a sealed session's address with
// its token, the server never panics and the session survives: it is still
// there, and a genuine ping of its client still gets a pong at once.
//
// The server and the session are made once (each derives a key with
// PBKDF2, tens of ms) and serve every input. So that the thousandth input
// meets the state the first one met, each input is followed by that
// genuine ping, which keeps the session from idling out, and then by
// enough virtual time for the rate limiters to win back every token the
// input and the ping spent. The fuzzer can run for hours.
func FuzzSealedReceive(f *testing.F) {
	e := &twinEnv{r: newRig(f, netsim.Config{Seed: 5}, server.Config{Passphrase: testPassphrase}), passphrase: testPassphrase}
	// PingInterval 1 ns: the session pings on every Update.
	p := tryJoinWith(e, client.SessionConfig{Name: "fuzz", Unicast: true, PingInterval: time.Nanosecond, Passphrase: testPassphrase})
	if p.s.State() != client.Connected {
		f.Fatalf("%v (%v)", p.s.State(), p.s.Err())
	}
	p.silent = true
	token := p.s.Token()
	pongs := 0
	p.s.OnPong(func(int64, int64) { pongs++ })

	// An input may spend two tokens of its source's handshake bucket (the
	// datagram and the bare body may each be a handshake message) and three
	// of the session's (those two and the genuine ping); gap wins them back.
	cfg := e.r.cfg
	gap := time.Duration(float64(time.Second)*max(2/cfg.HandshakeRate, 3/cfg.SessionRate)) + time.Millisecond
	if gap >= cfg.IdleTimeout/2 {
		f.Fatalf("gap %v is not well within the idle timeout %v", gap, cfg.IdleTimeout)
	}

	// exchange has the session send its ping and the server answer it. It
	// returns the ping datagram and whether the session got its pong.
	exchange := func() ([]byte, bool) {
		now := e.r.net.Now()
		before := pongs
		var ping []byte
		p.s.Update(now)
		p.s.Outgoing(func(d []byte) {
			if wire.PacketType(d[4]) == wire.TypePing {
				ping = bytes.Clone(d)
			}
			p.ep.Send(serverAddr, d)
		})
		e.r.srv.Step(now)
		p.ep.Recv(func(b []byte, _ netip.AddrPort, rx int64, mc bool) { p.s.Handle(now, b, rx, mc) })
		return ping, ping != nil && pongs == before+1 && p.s.State() == client.Connected
	}

	// The handshake's steps pinged at every step: let the buckets fill.
	coast(e.r, p, time.Second)
	ping, ok := exchange()
	if !ok {
		f.Fatalf("no pong for a genuine ping (%d pongs, %v)", pongs, p.s.State())
	}
	coast(e.r, p, gap)

	f.Add(uint8(wire.TypePoseInput), uint8(wire.FlagSealed), make([]byte, 24))
	f.Add(uint8(wire.TypePing), uint8(wire.FlagSealed), bytes.Repeat([]byte{0xff}, 100))
	f.Add(uint8(wire.TypeMessage), uint8(0), []byte{1, 2, 3})
	f.Add(uint8(wire.TypeDisconnect), uint8(wire.FlagSealed), []byte{})
	// The genuine ping again, as a bare datagram (a replay) and as the body
	// of a datagram with another header; and with its tag damaged.
	f.Add(uint8(wire.TypePing), uint8(wire.FlagSealed), ping)
	f.Add(uint8(wire.TypePing), uint8(wire.FlagSealed), ping[wire.HeaderSize:])
	damaged := bytes.Clone(ping)
	damaged[len(damaged)-1] ^= 0x01
	f.Add(uint8(wire.TypeDisconnect), uint8(wire.FlagSealed), damaged)
	f.Fuzz(func(t *testing.T, typ, flags uint8, body []byte) {
		st := e.stats()
		limited := st.Dropped[server.DropRateLimited].Load()
		h := wire.Header{Type: wire.PacketType(typ), Flags: flags, Token: token}
		d := append(h.Append(nil), body...)
		p.ep.Send(serverAddr, d)
		p.ep.Send(serverAddr, body)
		e.r.srv.Step(e.r.net.Now())
		p.ep.Recv(func([]byte, netip.AddrPort, int64, bool) {}) // answers to the forgeries
		if st.Clients.Load() != 1 {
			t.Fatal("a forged datagram ended the session")
		}
		_, ok := exchange()
		if n := st.Dropped[server.DropRateLimited].Load() - limited; n != 0 {
			t.Fatalf("%d datagrams rate limited: the input did not meet full buckets", n)
		}
		if !ok {
			t.Fatalf("after a forged datagram a genuine ping got no pong (session %v, %v)", p.s.State(), p.s.Err())
		}
		coast(e.r, p, gap)
	})
}
