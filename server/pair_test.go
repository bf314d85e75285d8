package server_test

import (
	"encoding/binary"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/seal"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/sim"
	"github.com/arcadexr/arcade/wire"
)

// keepReplica keeps a deep copy of the newest replica it is given, the
// calls into the world handed after it, how often it was given one, and
// the newest input of each player a copy or a call after it has held.
type keepReplica struct {
	last    server.Replica
	applied []server.Applied
	calls   int
	copied  map[uint16]uint32
	// offTime counts copies whose server time is not their tick's.
	offTime int
}

func (k *keepReplica) Replicate(r *server.Replica) {
	k.calls++
	// A server runs tick k at (k+1) periods of server time (to the µs,
	// rounded), taken over or not; on the virtual clock of the tests it
	// runs on time.
	period := int64(time.Second) / server.DefaultTickRate
	if d := int64(r.State.ServerTime) - (int64(r.State.Tick)+1)*period/1000; r.State.Tick > 0 && (d < -1 || d > 1) {
		k.offTime++
	}
	if k.copied == nil {
		k.copied = map[uint16]uint32{}
	}
	for _, p := range r.State.Players {
		if p.HasAvatar && wire.InputSeqNewer(p.Avatar.InputSeq, k.copied[p.ClientID]) {
			k.copied[p.ClientID] = p.Avatar.InputSeq
		}
	}
	k.applied = k.applied[:0]
	k.last.State = r.State
	k.last.State.Entities = slices.Clone(r.State.Entities)
	k.last.State.Players = slices.Clone(r.State.Players)
	k.last.State.Holds = slices.Clone(r.State.Holds)
	k.last.GroupToken = r.GroupToken
	k.last.Sealed, k.last.Group = r.Sealed, r.Group
	k.last.Sessions = slices.Clone(r.Sessions)
}

// TestReplicaTakeover: a server hands its copy to Config.Replicate every
// tick: the world (alice holding a dart she moved, an anonymous player
// holding a ball) and both sessions. A second server started from the
// last copy, under a higher epoch, goes on without a handshake: the same
// tokens are its sessions, the same client ids and group token, the
// dart and ball held where they were, the ticks continuing; and alice's
// next poses move her dart there.
func TestReplicaTakeover(t *testing.T) { replicaTakeover(t, false) }

// TestReplicaTakeoverWarm: the same with the second server made ahead
// (Standby), while the first still runs, and switched on by TakeOver.
func TestReplicaTakeoverWarm(t *testing.T) { replicaTakeover(t, true) }

func replicaTakeover(t *testing.T, warm bool) {
	w1, err := sim.New(scene.Default())
	if err != nil {
		t.Fatal(err)
	}
	keep := &keepReplica{}
	r1 := newRig(t, netsim.Config{}, server.Config{World: w1, Replicate: keep, Epoch: 2})
	alice := [16]byte{0xa1}
	a, b := r1.client("10.0.0.2:5000"), r1.client("10.0.0.3:5000")
	r1.connectAs(a, wire.ConnectWantUnicast, alice)
	r1.connectAs(b, 0, [16]byte{})
	dart, ball := firstTag(t, "dart"), firstTag(t, "ball")
	vec := func(p scene.Object) wire.Vec3 {
		return wire.Vec3{X: float32(p.Pose.Pos.X), Y: float32(p.Pose.Pos.Y), Z: float32(p.Pose.Pos.Z)}
	}
	var aSeq, bSeq uint32
	pa, pb := vec(dart), vec(ball)
	r1.holdAt(a, &aSeq, pa, 20*time.Millisecond)
	r1.holdAt(b, &bSeq, pb, 20*time.Millisecond)
	pa.X += 0.2
	for range 10 {
		r1.holdAt(a, &aSeq, pa, 5*time.Millisecond)
		r1.holdAt(b, &bSeq, pb, 5*time.Millisecond)
	}
	ticks := r1.srv.Stats().Ticks.Load()
	if keep.calls == 0 || uint64(keep.calls) < ticks {
		t.Fatalf("Replicate called %d times over %d ticks, want at least once a tick", keep.calls, ticks)
	}
	// One more pose of alice's, moving her dart, applied at once: in no
	// copy yet, only in the calls handed after the last one.
	r1.alignAfterTick()
	aSeq++
	pa.Z += 0.05
	a.grabPose(aSeq, pa.X, pa.Y, pa.Z, 1)
	r1.advance(time.Millisecond, func(int64) { a.recv() })
	if len(keep.applied) == 0 || keep.copied[a.id] != aSeq {
		t.Fatalf("after a pose between ticks: %d calls handed after the copy, newest of alice's %d; want her input %d", len(keep.applied), keep.copied[a.id], aSeq)
	}
	rep := keep.last
	if len(rep.Sessions) != 2 || rep.GroupToken != r1.srv.GroupToken() || len(rep.State.Holds) != 2 {
		t.Fatalf("the copy: sessions %+v, group token %x (server's %x), holds %+v", rep.Sessions, rep.GroupToken, r1.srv.GroupToken(), rep.State.Holds)
	}

	// The active dies; the standby starts from its copy, under epoch 3.
	w2, err := sim.New(scene.Default())
	if err != nil {
		t.Fatal(err)
	}
	st := rep.State
	keep2 := &keepReplica{}
	var r2 *rig
	if warm {
		r2 = newRig(t, netsim.Config{}, server.Config{World: w2, Replicate: keep2, Standby: true})
		r2.net.SetNow(r2.net.Now() + int64(time.Second)) // followed a while
		if err := r2.srv.TakeOver(server.Takeover{Epoch: 3, GroupToken: rep.GroupToken, Resume: &st,
			Sessions: rep.Sessions, Applied: slices.Clone(keep.applied)}, r2.net.Now()); err != nil {
			t.Fatal(err)
		}
	} else {
		r2 = newRig(t, netsim.Config{}, server.Config{World: w2, Epoch: 3, GroupToken: rep.GroupToken, Replicate: keep2,
			Persist: server.Persist{Resume: &st, Sessions: rep.Sessions, Applied: slices.Clone(keep.applied)}})
	}
	if due := r2.srv.NextTick(); due > r2.net.Now() {
		t.Fatalf("the new server's first tick is due %v after it started, want at once", time.Duration(due-r2.net.Now()))
	}
	if r2.srv.GroupToken() != rep.GroupToken || r2.srv.Stats().Clients.Load() != 2 {
		t.Fatalf("taken over: group token %x, %d clients; want %x, 2", r2.srv.GroupToken(), r2.srv.Stats().Clients.Load(), rep.GroupToken)
	}
	for _, id := range []uint16{dart.ID, ball.ID} {
		was, _ := w1.Entity(id)
		now, _ := w2.Entity(id)
		if now.Flags&wire.EntityHeld == 0 || dist(now.Pose.Pos, was.Pose.Pos) > 1e-3 {
			t.Fatalf("entity %d taken over as %+v, want held where it was, %+v", id, now, was)
		}
	}
	// The same headsets, the same tokens, on the new server's network.
	a2, b2 := r2.client("10.0.0.2:5000"), r2.client("10.0.0.3:5000")
	a2.token, a2.id, b2.token, b2.id = a.token, a.id, b.token, b.id
	pa.X += 0.1
	var tick uint32
	var epochs []uint32
	var first *wire.PlayerState                       // alice's record in the new server's first state
	next := r2.net.Now() + int64(20*time.Millisecond) // the first states show the copy's inputs only
	r2.advance(100*time.Millisecond, func(now int64) {
		if now >= next {
			aSeq++
			bSeq++
			a2.grabPose(aSeq, pa.X, pa.Y, pa.Z, 1)
			b2.grabPose(bSeq, pb.X, pb.Y, pb.Z, 1)
			next = now + int64(10*time.Millisecond)
		}
		for _, m := range a2.recv() {
			if m.h.Type == wire.TypeDisconnect {
				t.Fatalf("alice got a Disconnect from the new server")
			}
			d := append(m.h.Append(nil), m.body...)
			body, e, err := wire.SplitEpoch(d)
			if err != nil {
				t.Fatal(err)
			}
			epochs = append(epochs, e)
			var s wire.Snapshot
			if m.h.Type == wire.TypeSnapshot {
				if _, err := s.Parse(body[wire.HeaderSize:]); err == nil {
					tick = s.Tick
					for i := range s.Players {
						if p := s.Players[i]; p.ClientID == a.id && first == nil {
							first = &p
						}
					}
				}
			}
		}
		b2.recv()
	})
	if len(epochs) == 0 || slices.ContainsFunc(epochs, func(e uint32) bool { return e != 3 }) {
		t.Fatalf("alice's datagrams from the new server carry epochs %v, want 3", epochs)
	}
	// Her newest input the old server applied is in the new world, and
	// the new server says so: the seq is her session's, not TrackNoInput.
	copied := keep.copied[a.id]
	if first == nil || first.Tracking&wire.TrackNoInput != 0 || wire.InputSeqNewer(copied, first.LastInputSeq) || copied == 0 {
		t.Fatalf("alice's record in the new server's first state %+v, want her input %d applied (no TrackNoInput)", first, copied)
	}
	// Its ticks keep to the times of their numbers, as the old server's
	// did, so that a takeover after takeover moves none of them.
	if keep.offTime > 0 || keep2.offTime > 0 || keep2.calls == 0 {
		t.Fatalf("copies stamped off their tick's time: %d of %d before the takeover, %d of %d after", keep.offTime, keep.calls, keep2.offTime, keep2.calls)
	}
	if uint64(tick) <= st.Tick {
		t.Fatalf("the new server's tick %d, want past the copy's %d", tick, st.Tick)
	}
	if r2.srv.Stats().Clients.Load() != 2 {
		t.Fatalf("%d clients after 100 ms on the new server, want 2", r2.srv.Stats().Clients.Load())
	}
	moved, _ := w2.Entity(dart.ID)
	if moved.Flags&wire.EntityHeld == 0 || math.Abs(float64(moved.Pose.Pos.X-pa.X)) > 1.0/1024 {
		t.Fatalf("alice's dart on the new server: %+v, want held at her hand's x=%v", moved, pa.X)
	}
	if e, _ := w2.Entity(ball.ID); e.Flags&wire.EntityHeld == 0 {
		t.Fatalf("the anonymous player's ball let go on the new server: %+v", e)
	}
}

// TestPairConfigRefused: a copy that does not fit the server (sealed
// and open mixed up among them) is refused by name.
func TestPairConfigRefused(t *testing.T) {
	w, err := sim.New(scene.Default())
	if err != nil {
		t.Fatal(err)
	}
	st := &checkpoint.State{Scene: w.Fingerprint()}
	sess := []server.SessionCopy{{Token: 7, ID: 1, Addr: netip.MustParseAddrPort("10.0.0.2:5000")}}
	for _, tc := range []struct {
		name string
		cfg  server.Config
		want string
	}{
		{"sealed copy without a passphrase", server.Config{World: w, Persist: server.Persist{Resume: st, Sessions: sess, Group: &seal.GroupCopy{Key: [16]byte{1}}}}, "without a Passphrase"},
		{"open copy with a passphrase", server.Config{World: w, Passphrase: testPassphrase, Persist: server.Persist{Resume: st, Sessions: sess}}, "without Persist.Group"},
		{"session without keys", server.Config{World: w, Passphrase: testPassphrase, Persist: server.Persist{Resume: st, Sessions: sess, Group: &seal.GroupCopy{Key: [16]byte{1}}}}, "no keys"},
		{"sealed session without a passphrase", server.Config{World: w, Persist: server.Persist{Resume: st, Sessions: []server.SessionCopy{{Token: 7, ID: 1, Addr: sess[0].Addr, Seal: seal.SessionCopy{Keys: seal.SessionKeys{ClientToServer: [16]byte{1}}}}}}}, "is sealed"},
		{"group without a key", server.Config{World: w, Passphrase: testPassphrase, Persist: server.Persist{Resume: st, Group: &seal.GroupCopy{}}}, "no group key"},
		{"no world", server.Config{Replicate: &keepReplica{}}, "Checkpointer"},
		{"sessions without state", server.Config{World: w, Persist: server.Persist{Sessions: sess}}, "without Persist.Resume"},
		{"id out of range", server.Config{World: w, MaxClients: 4, Persist: server.Persist{Resume: st, Sessions: []server.SessionCopy{{Token: 7, ID: 9, Addr: sess[0].Addr}}}}, "client id 9"},
		{"token twice", server.Config{World: w, Persist: server.Persist{Resume: st, Sessions: []server.SessionCopy{sess[0], {Token: 7, ID: 2, Addr: netip.MustParseAddrPort("10.0.0.3:5000")}}}}, "token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Seed = 1
			_, err := server.New(cfg, netsim.New(netsim.Config{}, start).Endpoint(serverAddr), start)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// countReplica counts the copies and what they held.
type countReplica struct{ calls, sessions int }

func (c *countReplica) Replicate(r *server.Replica) { c.calls++; c.sessions = len(r.Sessions) }

func (c *countReplica) Applied(uint64, []server.Applied) {}

func (k *keepReplica) Applied(tick uint64, a []server.Applied) {
	if k.copied == nil {
		k.copied = map[uint16]uint32{}
	}
	for _, x := range a {
		if x.Kind == server.AppliedInput && wire.InputSeqNewer(x.Input.InputSeq, k.copied[x.ID]) {
			k.copied[x.ID] = x.Input.InputSeq
		}
	}
	k.applied = append(k.applied, a...)
}

// TestHotPathAllocationFreeWithReplica: the copy handed Replicate every
// tick allocates nothing once its slices have grown.
func TestHotPathAllocationFreeWithReplica(t *testing.T) {
	sink := &countReplica{}
	srv, rp, now := hotPathConfig(t, 16, false, true, server.Config{Replicate: sink})
	for range 10 {
		round(srv, rp, now)
	}
	if allocs := testing.AllocsPerRun(200, func() { round(srv, rp, now) }); allocs != 0 {
		t.Fatalf("%.1f allocations per round with a copy every tick, want 0", allocs)
	}
	if sink.calls < 200 || sink.sessions != 16 {
		t.Fatalf("%d copies of %d sessions over 210 rounds, want one a tick of 16", sink.calls, sink.sessions)
	}
}

// TestEagerInputsCopiedFirst: every input an eager EntityUpdate shows
// applied is in a copy handed to Config.Replicate, or in the calls handed
// to Applied after it, before the update went out, so a standby taking
// over at any moment has every input a headset saw applied (PROTOCOL
// §18.5); and copies come once a tick, not with every update.
func TestEagerInputsCopiedFirst(t *testing.T) {
	w, err := sim.New(scene.Default())
	if err != nil {
		t.Fatal(err)
	}
	keep := &keepReplica{}
	r := newRig(t, netsim.Config{}, server.Config{World: w, Replicate: keep, Epoch: 2})
	a := r.client("10.0.0.2:5000")
	r.connectAs(a, wire.ConnectWantUnicast, [16]byte{0xa1})
	dart := firstTag(t, "dart")
	p := wire.Vec3{X: float32(dart.Pose.Pos.X), Y: float32(dart.Pose.Pos.Y), Z: float32(dart.Pose.Pos.Z)}
	var seq uint32
	updates := 0
	next := r.net.Now()
	r.advance(300*time.Millisecond, func(now int64) {
		if now >= next {
			seq++
			p.X += 0.001
			a.grabPose(seq, p.X, p.Y, p.Z, 1)
			next = now + int64(3*time.Millisecond) // several inputs a tick
		}
		for _, m := range a.recv() {
			if m.h.Type != wire.TypeEntityUpdate {
				continue
			}
			d := append(m.h.Append(nil), m.body...)
			body, _, err := wire.SplitEpoch(d)
			if err != nil {
				t.Fatal(err)
			}
			var u wire.EntityUpdate
			if _, err := u.Parse(body[wire.HeaderSize:]); err != nil {
				t.Fatal(err)
			}
			if k, ok := u.NewestInput(a.id); ok {
				updates++
				if wire.InputSeqNewer(k, keep.copied[a.id]) {
					t.Fatalf("an eager update shows input %d applied; the copies so far hold up to %d", k, keep.copied[a.id])
				}
			}
		}
	})
	if updates == 0 {
		t.Fatal("no eager update named alice's inputs")
	}
	if ticks := r.srv.Stats().Ticks.Load(); uint64(keep.calls) != ticks || updates <= keep.calls {
		t.Fatalf("%d copies over %d ticks and %d eager updates, want one a tick", keep.calls, ticks, updates)
	}
	// Copies made between ticks carry their tick's time: a server taking
	// over from one keeps its ticks at their times.
	if keep.offTime > 0 {
		t.Fatalf("%d of %d copies stamped off their tick's time", keep.offTime, keep.calls)
	}
}

// sealedNumbers is, per destination, the lowest and highest packet number
// of the sealed datagrams a server sent (a tap's), and how many.
type sealedNumbers struct {
	lo, hi map[netip.AddrPort]uint64
	n      int
}

func numbersOf(t *testing.T, dgrams [][]byte, to []netip.AddrPort) sealedNumbers {
	t.Helper()
	ns := sealedNumbers{lo: map[netip.AddrPort]uint64{}, hi: map[netip.AddrPort]uint64{}}
	for i, d := range dgrams {
		var h wire.Header
		if _, err := h.Parse(d); err != nil || h.Flags&wire.FlagSealed == 0 || len(d) < wire.HeaderSize+seal.Overhead {
			continue
		}
		n := binary.LittleEndian.Uint64(d[wire.HeaderSize:])
		a := to[i]
		if lo, ok := ns.lo[a]; !ok || n < lo {
			ns.lo[a] = n
		}
		ns.hi[a] = max(ns.hi[a], n)
		ns.n++
	}
	return ns
}

// addrTap is a sealTap that also keeps where each datagram went.
type addrTap struct {
	sealTap
	to []netip.AddrPort
}

func (c *addrTap) Sent(m *udp.Message, now int64) {
	c.sealTap.Sent(m, now)
	c.mu.Lock()
	c.to = append(c.to, m.Addr)
	c.mu.Unlock()
}

// newRigAt is newRig on a network whose clock starts at now: a server
// taking over on the same virtual time line as the one it copied.
func newRigAt(t *testing.T, ncfg netsim.Config, cfg server.Config, now int64) *rig {
	t.Helper()
	n := netsim.New(ncfg, now)
	ep := n.Endpoint(serverAddr)
	cfg.Seed = 1
	cfg.WallClock, cfg.MonoClock = n.Now, n.Now
	srv, err := server.New(cfg, ep, now)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, net: n, srv: srv, ep: ep, cfg: srv.Config()}
}

// TestSealedReplicaTakeover: with a venue passphrase, the copy carries
// the group's keys and signer and each session's keys, the send counters
// a Reserve ahead. A server taking over from it (the same passphrase,
// Persist.Group) resumes the group and every session: the headsets, one
// on multicast and one on unicast, go on without a handshake; their
// sealed poses open at the new server, its sealed states and signed
// group datagrams open at them, nothing drops as a bad seal; and no
// (key, nonce) is used twice: every number the new server sends is at
// or above the copy's reservation, every one the old server sent below.
func TestSealedReplicaTakeover(t *testing.T) { sealedReplicaTakeover(t, false) }

// TestSealedReplicaTakeoverWarm: the same with the new server made ahead
// (Standby, a group of its own) and switched on by TakeOver with the
// copy's group.
func TestSealedReplicaTakeoverWarm(t *testing.T) { sealedReplicaTakeover(t, true) }

func sealedReplicaTakeover(t *testing.T, warm bool) {
	w1, err := sim.New(scene.Default())
	if err != nil {
		t.Fatal(err)
	}
	keep := &keepReplica{}
	tap1 := &addrTap{}
	e1 := &twinEnv{t: t, r: newRig(t, netsim.Config{}, server.Config{World: w1, Replicate: keep, Epoch: 2, Passphrase: testPassphrase, Tap: tap1}),
		passphrase: testPassphrase}
	m := e1.join(t, "multicast", false).(*twinPeer)
	u := e1.join(t, "unicast", true).(*twinPeer)
	peers := []peer{m, u}
	e1.run(300*time.Millisecond, peers)
	rep := keep.last
	if !rep.Sealed || len(rep.Sessions) != 2 || rep.Group.Key == ([16]byte{}) {
		t.Fatalf("the copy of a sealed server: sealed %v, %d sessions, group %+v", rep.Sealed, len(rep.Sessions), rep.Group)
	}
	for _, sc := range rep.Sessions {
		if sc.Seal.Keys == (seal.SessionKeys{}) || sc.Seal.Send < seal.Reserve || sc.Seal.Received == 0 {
			t.Fatalf("session %d's seal copy %+v: no keys, no reservation or nothing received", sc.ID, sc.Seal)
		}
	}
	before := numbersOf(t, tap1.sent, tap1.to)
	reserved := map[netip.AddrPort]uint64{}
	for _, sc := range rep.Sessions {
		reserved[sc.Addr] = sc.Seal.Send
	}
	group := e1.r.cfg.Multicast
	reserved[group] = rep.Group.Send
	for a, r := range reserved {
		if hi, ok := before.hi[a]; !ok || hi >= r {
			t.Fatalf("the old server sent %s up to number %d (any: %v); its copy reserved from %d", a, hi, ok, r)
		}
	}

	// The active dies; the standby starts from its copy, under epoch 3,
	// on the same time line, the headsets' sessions as they were.
	w2, err := sim.New(scene.Default())
	if err != nil {
		t.Fatal(err)
	}
	st := rep.State
	gc := rep.Group
	tap2 := &addrTap{}
	var r2 *rig
	if warm {
		r2 = newRigAt(t, netsim.Config{}, server.Config{World: w2, Passphrase: testPassphrase, Tap: tap2, Replicate: &keepReplica{}, Standby: true},
			e1.r.net.Now())
		if err := r2.srv.TakeOver(server.Takeover{Epoch: 3, GroupToken: rep.GroupToken, Resume: &st, Sessions: rep.Sessions,
			Applied: slices.Clone(keep.applied), Group: &gc}, r2.net.Now()); err != nil {
			t.Fatal(err)
		}
	} else {
		r2 = newRigAt(t, netsim.Config{}, server.Config{World: w2, Epoch: 3, GroupToken: rep.GroupToken, Passphrase: testPassphrase, Tap: tap2,
			Replicate: &keepReplica{}, Persist: server.Persist{Resume: &st, Sessions: rep.Sessions, Applied: slices.Clone(keep.applied), Group: &gc}},
			e1.r.net.Now())
	}
	e2 := &twinEnv{t: t, r: r2, passphrase: testPassphrase}
	for _, p := range []*twinPeer{m, u} {
		addr := p.ep.Addr()
		p.ep = r2.net.Endpoint(addr)
		p.ep.Join(server.DefaultMulticast)
		e2.peers = append(e2.peers, p)
	}
	seqBefore := map[*twinPeer]uint32{m: m.seq, u: u.seq}
	e2.run(500*time.Millisecond, peers)

	name := map[*twinPeer]string{m: "the multicast headset", u: "the unicast headset"}
	for _, p := range []*twinPeer{m, u} {
		st := p.s.Stats()
		if p.s.State() != client.Connected || st.Restarts != 0 || st.Dropped[client.DropBadSeal] != 0 || st.Dropped[client.DropBadSignature] != 0 {
			t.Fatalf("%s after the takeover: %v, %d new handshakes, %d bad seals, %d bad signatures (drops %v)", name[p], p.s.State(),
				st.Restarts, st.Dropped[client.DropBadSeal], st.Dropped[client.DropBadSignature], st.Drops())
		}
		if e, _ := p.s.Epoch(); e != 3 {
			t.Fatalf("%s at epoch %d, want 3", name[p], e)
		}
		// Its poses sent to the new server opened there and show in the
		// states it opened.
		if seq, _, ok := p.seen(p.id()); !ok || !wire.InputSeqNewer(seq, seqBefore[p]) {
			t.Fatalf("%s: the new server's states show input %d (seen %v), want past %d", name[p], seq, ok, seqBefore[p])
		}
	}
	ss := r2.srv.Stats()
	for _, d := range []server.DropReason{server.DropBadSeal, server.DropUnsealed, server.DropReplayed} {
		if n := ss.Dropped[d].Load(); n != 0 {
			t.Fatalf("the new server dropped %d datagrams as %v", n, d)
		}
	}
	after := numbersOf(t, tap2.sent, tap2.to)
	for a, r := range reserved {
		lo, ok := after.lo[a]
		if !ok || lo != r {
			t.Fatalf("the new server's first number to %s: %d (any: %v), want the reservation %d", a, lo, ok, r)
		}
		t.Logf("%s: the old server sent numbers %d..%d, the new one from %d (%d datagrams in all)", a, before.lo[a], before.hi[a], lo, after.n)
	}
}
