package server_test

import (
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

// typeTap counts what the server sends to the multicast group, by type.
type typeTap struct {
	mu    sync.Mutex
	group map[wire.PacketType]int
	coded int // StateDelta datagrams with a coded payload
}

func (c *typeTap) Received(*udp.Message) {}
func (c *typeTap) Sent(m *udp.Message, _ int64) {
	if m.Addr != server.DefaultMulticast || m.N < wire.HeaderSize {
		return
	}
	c.mu.Lock()
	c.group[wire.PacketType(m.Buf[4])]++
	if wire.PacketType(m.Buf[4]) == wire.TypeStateDelta && m.N > wire.HeaderSize+22 && m.Buf[wire.HeaderSize+22]&wire.DeltaCoded != 0 {
		c.coded++
	}
	c.mu.Unlock()
}

func (c *typeTap) take() map[wire.PacketType]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.group
	c.group, c.coded = map[wire.PacketType]int{}, 0
	return g
}

// TestDeltaStateLossyGroup: eight headsets on the group lose 5 % of
// datagrams (and two more take unicast). The group gets StateDelta only,
// coded (every headset decodes it);
// headsets that lost a baseline are repaired; every headset ends seeing
// every other's newest input, decodes only ticks that add up, and the
// state bytes to the group are far below what Snapshots cost.
func TestDeltaStateLossyGroup(t *testing.T) {
	tap := &typeTap{group: map[wire.PacketType]int{}}
	e := &twinEnv{t: t, r: newRig(t, netsim.Config{Delay: 300 * time.Microsecond, Jitter: 200 * time.Microsecond, Loss: 0.05, Seed: 21}, server.Config{Tap: tap})}
	var peers []peer
	for i := range 10 {
		peers = append(peers, e.join(t, "delta", i >= 8))
	}
	tap.take()
	before := e.stats().StateRepairs.Load()
	e.run(2*time.Second, peers)
	settled := settle(e, peers, 8) // poses are not resent: the last few may be lost
	tap.mu.Lock()
	coded := tap.coded
	tap.mu.Unlock()
	sent := tap.take()
	if coded != sent[wire.TypeStateDelta] {
		t.Errorf("%d of %d StateDeltas to the group coded", coded, sent[wire.TypeStateDelta])
	}
	if sent[wire.TypeSnapshot] != 0 || sent[wire.TypeStateDelta] == 0 {
		t.Errorf("to the group: %d Snapshots, %d StateDeltas; want StateDelta only", sent[wire.TypeSnapshot], sent[wire.TypeStateDelta])
	}
	if !settled {
		t.Error("headsets did not converge on each other's newest inputs")
	}
	for _, p := range e.peers {
		st := p.s.Stats()
		if st.DeltaTicks == 0 || st.Dropped[client.DropBadDelta] != 0 {
			t.Errorf("headset %d: %d delta ticks, %d bad", p.id(), st.DeltaTicks, st.Dropped[client.DropBadDelta])
		}
	}
	repairs := e.stats().StateRepairs.Load() - before
	if repairs == 0 {
		t.Error("no repairs at 5 % loss")
	}
	t.Logf("group: %v; %d repairs while streaming (%d while joining)", sent, repairs, before)
}

// TestDeltaStateMixedGroup: while one headset on multicast asked for
// Snapshots only, the group gets Snapshots (and the others still follow,
// they take both); when it leaves, the group moves to StateDelta, starting
// with a keyframe, and everyone still converges.
func TestDeltaStateMixedGroup(t *testing.T) {
	tap := &typeTap{group: map[wire.PacketType]int{}}
	e := &twinEnv{t: t, r: newRig(t, netsim.Config{Delay: 200 * time.Microsecond, Seed: 22}, server.Config{Tap: tap})}
	a := e.join(t, "new", false).(*twinPeer)
	b := e.join(t, "new", false).(*twinPeer)
	old := e.tryJoinAs(client.SessionConfig{Name: "old", SnapshotsOnly: true}, netip.MustParseAddrPort("10.0.9.9:4000"))
	if old.s.State() != client.Connected || old.s.Accepted().Flags&wire.AcceptedDeltaState != 0 {
		t.Fatalf("snapshots-only headset: %v, accepted flags %#x", old.s.State(), old.s.Accepted().Flags)
	}
	tap.take()
	peers := []peer{a, b, old}
	e.run(500*time.Millisecond, peers)
	if s := tap.take(); s[wire.TypeStateDelta] != 0 || s[wire.TypeSnapshot] == 0 {
		t.Errorf("with a snapshots-only headset on the group: %v", s)
	}
	if !settle(e, peers, 0) {
		t.Error("mixed group did not converge")
	}
	old.leave(true)
	e.run(500*time.Millisecond, peers[:2])
	if s := tap.take(); s[wire.TypeStateDelta] == 0 {
		t.Errorf("after the snapshots-only headset left: %v", s)
	}
	if !settle(e, peers[:2], 0) {
		t.Error("delta group did not converge")
	}
	for _, p := range peers[:2] {
		if st := p.(*twinPeer).s.Stats(); st.DeltaTicks == 0 || st.Dropped[client.DropNoBaseline] > 2 {
			t.Errorf("headset %d: %d delta ticks, %d without baseline", p.id(), st.DeltaTicks, st.Dropped[client.DropNoBaseline])
		}
	}
}

// settle runs the twin without new poses until every peer shows every
// other's newest input, less lag (bounded), and reports whether they do.
func settle(e *twinEnv, peers []peer, lag uint32) bool {
	for range 50 {
		if converged(peers, lag) {
			return true
		}
		e.run(20*time.Millisecond, nil)
	}
	return false
}
