package server_test

import (
	"crypto/rand"
	"net/netip"
	"sort"
	"testing"
	"time"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/seal"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/wire"
)

// reflection records, for one headset, when each of its inputs went out
// and the newest of its own inputs each state datagram it received showed
// (as a cause, or as its avatar's last input).
type reflection struct {
	sent  []sentInput
	shown []shownInput // by arrival, newest input so far
}

type sentInput struct {
	seq uint32
	at  int64
}

type shownInput struct {
	at  int64
	seq uint32
}

func (r *reflection) show(at int64, seq uint32) {
	if n := len(r.shown); n > 0 && !wire.InputSeqNewer(seq, r.shown[n-1].seq) {
		seq = r.shown[n-1].seq
	}
	r.shown = append(r.shown, shownInput{at, seq})
}

// watch makes r record what p's session delivers about p's own inputs. A
// record of an input p has not sent yet is a forgery's, not a reflection:
// it is left out (else one forged input far ahead would count every later
// input as reflected).
func (r *reflection) watch(p *twinPeer) {
	show := func(at int64, seq uint32) {
		if !wire.InputSeqNewer(seq, p.lastSent()) {
			r.show(at, seq)
		}
	}
	p.s.OnSnapshot(func(s *wire.Snapshot, rx int64, mc bool) {
		p.onSnapshot(s, rx, mc)
		for _, pl := range s.Players {
			if pl.ClientID == p.id() {
				show(rx, pl.LastInputSeq)
			}
		}
	})
	p.s.OnEntityUpdate(func(u *wire.EntityUpdate, rx int64, _ bool) {
		for _, c := range u.Causes {
			if c.Client == p.id() {
				show(rx, c.Input)
			}
		}
		for _, pl := range u.Players {
			if pl.ClientID == p.id() {
				show(rx, pl.LastInputSeq)
			}
		}
	})
}

// reflected is the share of the inputs sent in [from, to) that some state
// showed within within of being sent.
func (r *reflection) reflected(from, to int64, within time.Duration) (n, of int) {
	for _, in := range r.sent {
		if in.at < from || in.at >= to {
			continue
		}
		of++
		i := sort.Search(len(r.shown), func(i int) bool { return r.shown[i].at >= in.at })
		for ; i < len(r.shown) && r.shown[i].at <= in.at+int64(within); i++ {
			if !wire.InputSeqNewer(in.seq, r.shown[i].seq) {
				n++
				break
			}
		}
	}
	return n, of
}

// TestForgedStateEightHeadsets: forged state sent to the multicast group
// (open mode: Snapshots and an EntityUpdate stamped far and just ahead of
// the server clock; sealed mode, from a headset that holds the group key:
// group datagrams that open but are not the server's) leaves eight honest
// headsets seeing at least 95 % of their inputs reflected within 100 ms,
// over the second around the forgeries.
func TestForgedStateEightHeadsets(t *testing.T) {
	skipUnderRace(t)
	for _, sealed := range []bool{false, true} {
		name := "open"
		if sealed {
			name = "sealed"
		}
		t.Run(name, func(t *testing.T) { forgedStateEight(t, sealed) })
	}
}

func forgedStateEight(t *testing.T, sealed bool) {
	cfg := server.Config{}
	pass := ""
	if sealed {
		pass = testPassphrase
		cfg.Passphrase = pass
	}
	e := &twinEnv{t: t, r: newRig(t, netsim.Config{Delay: 300 * time.Microsecond, Jitter: 200 * time.Microsecond, Seed: 11}, cfg), passphrase: pass}
	const n = 8
	refl := make([]reflection, n)
	for i := range n {
		p := e.join(t, "honest", false).(*twinPeer)
		refl[i].watch(p)
	}
	attacker := e.r.net.Endpoint(netip.MustParseAddrPort("10.0.66.6:4000"))
	var insider *seal.Group
	if sealed {
		insider = insiderGroup(t, e.r)
	}
	group := e.peers[0].s.Accepted().GroupToken
	clockOf := e.peers[0].s

	period := int64(time.Second / 90)
	next := e.r.net.Now()
	forgeAt := e.r.net.Now() + int64(700*time.Millisecond)
	from, to := e.r.net.Now()+int64(200*time.Millisecond), forgeAt+int64(time.Second)
	forged := 0
	e.r.advance(time.Duration(to-e.r.net.Now())+200*time.Millisecond, func(now int64) {
		if now >= next {
			next += period
			for i, p := range e.peers[:n] {
				p.sendPose(now)
				refl[i].sent = append(refl[i].sent, sentInput{p.lastSent(), now})
			}
		}
		if forgeAt != 0 && now >= forgeAt {
			forgeAt = 0
			for _, d := range forgeries(clockOf, now, group, insider) {
				attacker.Send(server.DefaultMulticast, d)
				forged++
			}
		}
		e.step(now)
	})

	worst := 1.0
	for i := range n {
		got, of := refl[i].reflected(from, to, 100*time.Millisecond)
		if of < 80 || float64(got) < 0.95*float64(of) {
			t.Errorf("headset %d: %d of %d inputs reflected within 100 ms", i, got, of)
		}
		worst = min(worst, float64(got)/float64(max(of, 1)))
	}
	t.Logf("worst headset: %.1f %% of its inputs reflected within 100 ms", 100*worst)
	// The forgeries reached every headset and each was refused or
	// overcome.
	for i, p := range e.peers[:n] {
		st := p.s.Stats()
		if sealed {
			if got := st.Dropped[client.DropBadSignature] + st.Dropped[client.DropUnsealed]; got != uint64(forged) {
				t.Errorf("headset %d: %d forgeries refused (bad signature or unsealed), want %d", i, got, forged)
			}
		} else if st.Dropped[client.DropImplausible] == 0 || st.StateRecoveries == 0 {
			t.Errorf("headset %d: %d implausible, %d recoveries: the forgeries did not reach it", i,
				st.Dropped[client.DropImplausible], st.StateRecoveries)
		}
		if p.s.State() != client.Connected {
			t.Errorf("headset %d: %v", i, p.s.State())
		}
	}
	t.Logf("%d forged datagrams to the group; headset 0: %v, %d recoveries", forged, e.peers[0].s.Stats().Dropped, e.peers[0].s.Stats().StateRecoveries)
}

// forgeries are what an attacker sends the group: state stamped 2³¹ ticks
// ahead, 240 ms ahead (a Snapshot and an EntityUpdate) and with a tick not
// of its time, using s's estimate of the server clock at now. With
// insider set (sealed mode), each is also sealed with the group key and
// given a signature of the attacker's own, far ahead in packet numbers.
func forgeries(s *client.Session, now int64, group uint64, insider *seal.Group) [][]byte {
	at := uint64(s.ServerTime(now))
	rate := uint64(s.Accepted().TickRate)
	tickOf := func(us uint64) uint32 { return uint32(us*rate/1_000_000 - 1) }
	near := at + 240_000
	far := at + (1<<31)*1_000_000/rate
	freeze := []wire.PlayerState{{ClientID: s.ClientID(), LastInputSeq: 1 << 30}}
	msgs := []struct {
		t wire.PacketType
		m interface{ Append([]byte) []byte }
	}{
		{wire.TypeSnapshot, &wire.Snapshot{Tick: tickOf(far), ServerTime: far, Parts: 1, Players: freeze}},
		{wire.TypeSnapshot, &wire.Snapshot{Tick: tickOf(near), ServerTime: near, Parts: 1, Players: freeze}},
		{wire.TypeEntityUpdate, &wire.EntityUpdate{Tick: tickOf(near), ServerTime: near, Players: freeze}},
		{wire.TypeSnapshot, &wire.Snapshot{Tick: tickOf(at) + 1000, ServerTime: at, Parts: 1, Players: freeze}},
	}
	var out [][]byte
	for i, m := range msgs {
		h := wire.Header{Type: m.t, Token: group, Seq: uint16(60000 + i)}
		if insider == nil {
			out = append(out, m.m.Append(h.Append(nil)))
			continue
		}
		// The unsealed one too: a headset must not take clear state on
		// a sealed group.
		out = append(out, m.m.Append(h.Append(nil)))
		h.Flags |= wire.FlagSealed
		hdr := h.Append(nil)
		d := insider.Seal(hdr, hdr, m.m.Append(nil))
		sig := make([]byte, seal.SignatureSize)
		rand.Read(sig)
		out = append(out, append(d, sig...))
	}
	return out
}

// insiderGroup runs a venue handshake by hand, as a headset that knows the
// passphrase, and returns its group opener: it holds the group key, so it
// can seal group datagrams that open (not sign them as the server). Its
// packet numbers start far ahead of the server's.
func insiderGroup(t *testing.T, r *rig) *seal.Group {
	t.Helper()
	c := r.client("10.0.66.7:4000")
	req := wire.ConnectRequest{ClientNonce: c.nonce}
	c.send(wire.TypeConnectRequest, req.Append)
	var ch wire.Challenge
	r.advance(2*time.Millisecond, func(int64) {
		for _, m := range c.recv() {
			if m.h.Type == wire.TypeChallenge {
				ch.Parse(m.body)
			}
		}
	})
	hs, err := seal.NewClientHandshake(testPassphrase, c.nonce, ch.Cookie[:], nil)
	if err != nil {
		t.Fatal(err)
	}
	resp := wire.ChallengeResponse{ClientNonce: c.nonce, Cookie: ch.Cookie, Flags: wire.ConnectHasPAKE, PAKE: hs.Message()}
	c.send(wire.TypeChallengeResponse, resp.Append)
	var acc *wire.Accepted
	r.advance(2*time.Millisecond, func(int64) {
		for _, m := range c.recv() {
			if m.h.Type == wire.TypeAccepted {
				acc = &wire.Accepted{}
				acc.Parse(m.body)
			}
		}
	})
	if acc == nil || acc.Flags&wire.AcceptedSealed == 0 {
		t.Fatal("the insider's handshake was not accepted sealed")
	}
	_, g, err := hs.Finish(&seal.Accept{PAKE: acc.PAKE, ServerKey: acc.ServerKey, GroupKey: acc.GroupKey, Confirm: acc.Confirm}, acc.GroupToken)
	if err != nil {
		t.Fatal(err)
	}
	// Far ahead of the server's numbers (a window that took one would
	// refuse the server's next thousand datagrams as too old).
	var buf [seal.Overhead]byte
	for range 100_000 {
		g.Seal(buf[:0], nil, nil)
	}
	return g
}
