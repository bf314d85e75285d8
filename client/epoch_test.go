package client

import (
	"bytes"
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/arcadexr/arcade/internal/wait"
	"github.com/arcadexr/arcade/wire"
)

// stamped is datagram d of a standby pair's server under epoch e (§18.1).
func stamped(d []byte, e uint32) []byte {
	d = bytes.Clone(d)
	d[5] |= wire.FlagEpoch
	return wire.AppendEpoch(d, e)
}

// connectEpoch runs the handshake of s with an Accepted under epoch e.
func (f *fakeServer) connectEpoch(s *Session, now int64, e uint32) {
	f.t.Helper()
	s.Start(now)
	var req wire.ConnectRequest
	if _, err := req.Parse(f.drain(s)[0].body); err != nil {
		f.t.Fatal(err)
	}
	s.Handle(now, stamped(f.challenge(req.ClientNonce), e), 0, false)
	f.drain(s)
	s.Handle(now, stamped(f.accepted(req.ClientNonce, connectedServerTime), e), 0, false)
	if s.State() != Connected {
		f.t.Fatalf("after Accepted: state %v, err %v", s.State(), s.Err())
	}
	f.drain(s)
}

// TestEpochFence: a session accepts state only under the highest epoch it
// has seen, moves to a higher one at once (a standby took over: its group
// sequence starts again), refuses the old primary's state and state without
// an epoch, and takes a lower epoch only after FenceLease of silence under
// its own (PROTOCOL §18.4).
func TestEpochFence(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{SnapshotsOnly: true})
	var ticks []uint32
	s.OnSnapshot(func(snap *wire.Snapshot, _ int64, _ bool) { ticks = append(ticks, snap.Tick) })
	f.connectEpoch(s, t0, 2)
	if e, ok := s.Epoch(); e != 2 || !ok {
		t.Fatalf("after an Accepted under epoch 2: Epoch = %d, %v", e, ok)
	}
	now := t0 + ms
	s.Handle(now, stamped(f.multicastSnapshot(testSnapshot(10)), 2), 0, true)

	// The standby takes over under epoch 3; its group sequence starts at 0.
	primary := *f
	f.mseq = 0
	s.Handle(now+ms, stamped(f.multicastSnapshot(testSnapshot(11)), 3), 0, true)
	if !s.Moved() || s.Moved() {
		t.Error("Moved is not true once after the epoch rose")
	}
	// The old primary, back: under epoch 2, or with no epoch at all.
	s.Handle(now+2*ms, stamped(primary.multicastSnapshot(testSnapshot(12)), 2), 0, true)
	s.Handle(now+3*ms, primary.multicastSnapshot(testSnapshot(13)), 0, true)
	s.Handle(now+4*ms, stamped(f.multicastSnapshot(testSnapshot(14)), 3), 0, true)
	// Another session's datagram under a higher epoch moves nothing.
	other := *f
	other.token, other.groupToken = 0x0badc0de, 0x0badf00d
	s.Handle(now+4*ms, stamped(other.unicastSnapshot(testSnapshot(16)), 9), 0, false)
	s.Handle(now+4*ms, stamped(other.multicastSnapshot(testSnapshot(16)), 9), 0, true)
	// A trailer that does not fit.
	short := f.multicastSnapshot(testSnapshot(15))[:wire.HeaderSize+2]
	short[5] |= wire.FlagEpoch
	s.Handle(now+5*ms, short, 0, true)

	st := s.Stats()
	if want := []uint32{10, 11, 14}; !equalTicks(ticks, want) {
		t.Errorf("delivered ticks %v, want %v", ticks, want)
	}
	if st.Dropped[DropStaleEpoch] != 2 || st.Dropped[DropShort] != 1 || st.Dropped[DropToken] != 2 || st.EpochChanges != 1 {
		t.Errorf("stale-epoch drops %d (want 2), short %d (want 1), token %d (want 2), epoch changes %d (want 1)",
			st.Dropped[DropStaleEpoch], st.Dropped[DropShort], st.Dropped[DropToken], st.EpochChanges)
	}
	if e, _ := s.Epoch(); e != 3 {
		t.Errorf("Epoch = %d, want 3", e)
	}

	// Nothing under epoch 3 for longer than the lease: epoch 2 is taken.
	later := now + 4*ms + FenceLease + ms
	s.Handle(later, stamped(primary.multicastSnapshot(testSnapshot(20)), 2), 0, true)
	if e, _ := s.Epoch(); e != 2 || s.Stats().EpochChanges != 2 || ticks[len(ticks)-1] != 20 {
		t.Errorf("after the lease: epoch %d, %d changes, last tick %d; want 2, 2, 20", e, s.Stats().EpochChanges, ticks[len(ticks)-1])
	}
}

// TestEpochNone: a session whose server sends no epoch is not fenced, and
// Epoch says so.
func TestEpochNone(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{SnapshotsOnly: true})
	f.connect(s, t0)
	s.Handle(t0+ms, f.multicastSnapshot(testSnapshot(10)), 0, true)
	if _, ok := s.Epoch(); ok || s.Stats().Snapshots != 1 || s.Stats().Dropped[DropStaleEpoch] != 0 {
		t.Fatalf("no epoch: Epoch ok %v, %d snapshots, %d stale-epoch drops", ok, s.Stats().Snapshots, s.Stats().Dropped[DropStaleEpoch])
	}
}

func equalTicks(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestClientFollowsTakeover: over loopback, a client of a standby pair's
// server under epoch 2 goes on with the standby that took over under epoch
// 3 (it holds the session: token, client id, tick and clock, as the pair's
// log gives it) when the first datagram from it arrives, with no new
// handshake: its next inputs go to the new server, whose state it takes.
func TestClientFollowsTakeover(t *testing.T) {
	primary := startUDPServer(t, netip.AddrPort{}, 0, false)
	primary.mu.Lock()
	// A server a second old whose ticks follow its clock, as a server's do
	// (the session checks that a tick is of its server time).
	primary.epoch, primary.start = 2, time.Now().Add(-time.Second)
	primary.mu.Unlock()
	c, err := Dial(context.Background(), primary.addr(), Config{SessionConfig: SessionConfig{Name: "pair", Unicast: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if e, ok := c.Epoch(); !ok || e != 2 {
		t.Fatalf("after Dial: epoch %d, %v; want 2", e, ok)
	}
	w := newSnapshotWaiter()
	c.OnSnapshot(w.onSnapshot(c.ClientID()))
	in := wire.PoseInput{Head: wire.Pose{Pos: wire.Vec3{Y: 1.6}, Rot: wire.Quat{W: 1}}}
	syncTick(primary)
	if _, err := c.SendPose(&in); err != nil {
		t.Fatal(err)
	}
	w.wait(t)

	// The standby takes over: it copies the primary's session, and its
	// first state goes to the client at once.
	standby := startUDPServer(t, netip.AddrPort{}, 0, false)
	standby.mu.Lock()
	standby.start = primary.start
	standby.mu.Unlock()
	// It takes over after a silence: its first tick is past the primary's.
	primary.mu.Lock()
	last := primary.tick
	primary.mu.Unlock()
	wait.For(t, waitTimeout, "a tick past the primary's", func() bool {
		standby.mu.Lock()
		defer standby.mu.Unlock()
		return wire.InputSeqNewer(uint32(standby.us()*120/1_000_000)-1, last)
	})
	primary.mu.Lock()
	standby.mu.Lock()
	standby.epoch = 3
	standby.tick = uint32(standby.us()*120/1_000_000) - 1
	var addr netip.AddrPort
	var peer *udpPeer
	for a, p := range primary.clients {
		cp := *p
		addr, peer = a, &cp
		standby.clients[a] = peer
	}
	first := &wire.Snapshot{Tick: standby.tick, ServerTime: standby.us(), Parts: 1, PlayerCount: 1,
		Players: []wire.PlayerState{{ClientID: peer.id, LastInputSeq: peer.last, Head: in.Head}}}
	h := wire.Header{Type: wire.TypeSnapshot, Token: peer.token, Seq: 0}
	standby.conn.WriteToUDPAddrPort(wire.StampEpoch(first.Append(h.Append(nil)), 3), addr)
	standby.mu.Unlock()
	primary.mu.Unlock()
	wait.For(t, waitTimeout, "the client to move to the standby", func() bool { return c.Stats().ServerMoves == 1 })
	primary.stop() // the old primary is gone

	w2 := newSnapshotWaiter()
	c.OnSnapshot(w2.onSnapshot(c.ClientID()))
	syncTick(standby)
	seq, err := c.SendPose(&in)
	if err != nil {
		t.Fatal(err)
	}
	if !wait.Until(waitTimeout, func() bool {
		w2.mu.Lock()
		defer w2.mu.Unlock()
		return slices.Contains(w2.seqs, seq)
	}) {
		standby.mu.Lock()
		poses := standby.poses
		standby.mu.Unlock()
		t.Fatalf("no snapshot of the standby reports input %d (the standby got %d inputs): %+v", seq, poses, c.Stats())
	}
	st := c.Stats()
	if st.Restarts != 0 || st.EpochChanges != 1 || c.ClientID() != peer.id {
		t.Errorf("restarts %d, epoch changes %d, client id %d: want no new handshake, one change, id %d", st.Restarts, st.EpochChanges, c.ClientID(), peer.id)
	}
	standby.mu.Lock()
	poses := standby.poses
	standby.mu.Unlock()
	if poses == 0 {
		t.Error("the standby got no input after the takeover")
	}
}

// syncTick sets the tick of s to the one its clock says (120 Hz).
func syncTick(s *udpServer) {
	s.mu.Lock()
	s.tick = uint32(s.us()*120/1_000_000) - 1
	s.mu.Unlock()
}

// TestEpochMoveRestartsReliable: at a move to a higher epoch the session's
// reliable channel starts again, as the new server's does (§18.5), with
// the RPCs the old server had not acknowledged queued on it again, in
// order: they go out to the new server.
func TestEpochMoveRestartsReliable(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{SnapshotsOnly: true})
	f.connectEpoch(s, t0, 2)
	now := t0 + ms
	for i := range 3 {
		if err := s.SendRPC(now, 0, uint16(wire.RPCButtonEvent), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	s.Update(now)
	if out := f.drain(s); !slices.ContainsFunc(out, func(d received) bool { return d.h.Type == wire.TypeMessage }) {
		t.Fatal("the RPCs did not go to the old server")
	} // and it never acknowledges them
	old := s.ep
	s.Handle(now+ms, stamped(f.multicastSnapshot(testSnapshot(11)), 3), 0, true)
	if s.ep == old {
		t.Fatal("the reliable channel is the old server's after the move")
	}
	var again [][]byte
	s.ep.Unacked(func(_ int, msg []byte) { again = append(again, bytes.Clone(msg)) })
	if len(again) != 3 || again[0][len(again[0])-1] != 0 || again[2][len(again[2])-1] != 2 {
		t.Fatalf("queued on the new channel: %x, want the 3 RPCs in order", again)
	}
	s.Update(now + 2*ms)
	if out := f.drain(s); !slices.ContainsFunc(out, func(d received) bool { return d.h.Type == wire.TypeMessage }) {
		t.Fatalf("nothing carried the RPCs to the new server: %d datagrams", len(out))
	}
}

// TestTakeoverRecord: at an epoch change the session records the gap
// between the last state before it and the first under the new epoch, the
// newest own input the old server's state showed applied (an update's
// cause counts) and the first the new one shows, and calls OnTakeover once,
// before that first state's OnSnapshot; a stale datagram of the old
// primary changes nothing, and the record costs no allocation per state.
func TestTakeoverRecord(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{SnapshotsOnly: true})
	var order []string
	s.OnSnapshot(func(snap *wire.Snapshot, _ int64, _ bool) { order = append(order, "snapshot") })
	var seen []Takeover
	s.OnTakeover(func(tk *Takeover) { order = append(order, "takeover"); seen = append(seen, *tk) })
	f.connectEpoch(s, t0, 2)
	own := func(seq uint32) wire.PlayerState {
		return wire.PlayerState{ClientID: f.clientID, LastInputSeq: seq, Head: wire.Pose{Rot: wire.Quat{W: 1}}}
	}
	now := t0 + ms
	s.Handle(now, stamped(f.multicastSnapshot(testSnapshot(10, own(5))), 2), now, true)
	s.Handle(now+ms, stamped(f.multicastEntityUpdate(testEntityUpdate(10, f.clientID, 7)), 2), now+ms, true)
	primary := *f
	f.mseq = 0
	// The new server's copy ends at input 6: the old one applied 7 after it.
	s.Handle(now+40*ms, stamped(f.multicastSnapshot(testSnapshot(12, own(6))), 3), now+40*ms, true)
	s.Handle(now+41*ms, stamped(primary.multicastSnapshot(testSnapshot(11, own(8))), 2), now+41*ms, true)
	s.Handle(now+42*ms, stamped(f.multicastSnapshot(testSnapshot(13, own(9))), 3), now+42*ms, true)

	got, n := s.Takeovers(nil)
	want := Takeover{From: 2, To: 3, LastOld: now + ms, FirstNew: now + 40*ms, OldAcked: 7, NewAcked: 6, HasOldAcked: true, HasNewAcked: true}
	if n != 1 || len(got) != 1 || got[0] != want {
		t.Fatalf("Takeovers = %+v, %d; want [%+v], 1", got, n, want)
	}
	if g := got[0].Gap(); g != 39*ms {
		t.Errorf("Gap = %d, want %d", g, 39*ms)
	}
	if l := got[0].AckedLost(); l != 1 {
		t.Errorf("AckedLost = %d, want 1", l)
	}
	if len(seen) != 1 || seen[0] != want || !slices.Equal(order, []string{"snapshot", "takeover", "snapshot", "snapshot"}) {
		t.Errorf("OnTakeover saw %+v, call order %v", seen, order)
	}

	// A second change: the record of the first stays, the new one starts
	// from the state of epoch 3; the ring keeps the last TakeoverHistory.
	for i := range TakeoverHistory + 1 {
		e := uint32(4 + i)
		f.mseq = 0
		at := now + int64(50+i)*ms
		s.Handle(at, stamped(f.multicastSnapshot(testSnapshot(uint32(14+i), own(uint32(10+i)))), e), at, true)
	}
	got, n = s.Takeovers(got[:0])
	if n != TakeoverHistory+2 || len(got) != TakeoverHistory {
		t.Fatalf("after %d changes: %d records of %d", TakeoverHistory+2, len(got), n)
	}
	if last := got[len(got)-1]; last.From != 3+TakeoverHistory || last.OldAcked != 9+TakeoverHistory || last.AckedLost() != 0 || last.Gap() != ms {
		t.Errorf("newest record %+v", last)
	}

	// The record costs nothing per state datagram (the move itself makes
	// a new reliable channel, once a takeover).
	s.OnTakeover(func(*Takeover) {})
	s.OnSnapshot(func(*wire.Snapshot, int64, bool) {})
	at := now + 100*ms
	f.mseq = 0
	s.Handle(at, stamped(f.multicastSnapshot(testSnapshot(100, own(50))), 100), at, true)
	dgrams := make([][]byte, 0, 32)
	for i := range 32 {
		dgrams = append(dgrams, stamped(f.multicastSnapshot(testSnapshot(uint32(101+i), own(uint32(51+i)))), 100))
	}
	i := 0
	if a := testing.AllocsPerRun(30, func() {
		at += ms
		s.Handle(at, dgrams[i], at, true)
		i++
	}); a != 0 {
		t.Errorf("a state after a takeover: %v allocs, want 0", a)
	}
}
