package pair

import (
	"testing"
	"time"

	"github.com/arcadexr/arcade/seal"
	"github.com/arcadexr/arcade/wire"
)

// groupDatagram is a state datagram of a server of a pair as the group
// carries it.
func groupDatagram(typ wire.PacketType, flags uint8, token uint64, tick uint32, epoch uint32) []byte {
	h := wire.Header{Type: typ, Flags: flags | wire.FlagEpoch, Token: token, Seq: 1}
	d := h.Append(nil)
	switch typ {
	case wire.TypeSnapshot:
		s := wire.Snapshot{Tick: tick, Parts: 1}
		d = s.Append(d)
	case wire.TypeStateDelta:
		s := wire.StateDelta{Tick: tick}
		d = s.Append(d)
	default:
		d = append(d, make([]byte, 16)...)
	}
	return wire.AppendEpoch(d, epoch)
}

func TestParseGroupState(t *testing.T) {
	for _, c := range []struct {
		name string
		d    []byte
		want GroupState
		ok   bool
	}{
		{"snapshot", groupDatagram(wire.TypeSnapshot, 0, 7, 41, 4), GroupState{Token: 7, Epoch: 4, Tick: 41, HasTick: true}, true},
		{"delta", groupDatagram(wire.TypeStateDelta, 0, 7, 42, 4), GroupState{Token: 7, Epoch: 4, Tick: 42, HasTick: true}, true},
		{"update", groupDatagram(wire.TypeEntityUpdate, 0, 7, 0, 4), GroupState{Token: 7, Epoch: 4}, true},
		{"sealed", groupDatagram(wire.TypeSnapshot, wire.FlagSealed, 7, 41, 4), GroupState{}, false},
		{"no token", groupDatagram(wire.TypeSnapshot, 0, 0, 41, 4), GroupState{}, false},
		{"epoch 0", groupDatagram(wire.TypeSnapshot, 0, 7, 41, 0), GroupState{}, false},
		{"not state", groupDatagram(wire.TypePong, 0, 7, 41, 4), GroupState{}, false},
		{"short", groupDatagram(wire.TypeSnapshot, 0, 7, 41, 4)[:wire.HeaderSize+2], GroupState{}, false},
		{"empty", nil, GroupState{}, false},
	} {
		got, ok := ParseGroupState(c.d)
		if ok != c.ok || ok && got != c.want {
			t.Errorf("%s: %+v %v, want %+v %v", c.name, got, ok, c.want, c.ok)
		}
	}
	// Without the epoch flag: no server of a pair sent it.
	h := wire.Header{Type: wire.TypeSnapshot, Token: 7, Seq: 1}
	s := wire.Snapshot{Tick: 41, Parts: 1}
	if _, ok := ParseGroupState(wire.AppendEpoch(s.Append(h.Append(nil)), 4)); ok {
		t.Errorf("a datagram without FlagEpoch taken as the active's state")
	}
}

func FuzzParseGroupState(f *testing.F) {
	f.Add(groupDatagram(wire.TypeSnapshot, 0, 7, 41, 4))
	f.Add(groupDatagram(wire.TypeStateDelta, 0, 7, 42, 4))
	f.Add(groupDatagram(wire.TypeEntityUpdate, 0, 7, 0, 4))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, d []byte) {
		g, ok := ParseGroupState(d)
		if ok && (g.Epoch == 0 || g.Token == 0) {
			t.Fatalf("taken: %+v", g)
		}
	})
}

// TestSilenceRule: the takeover rule on virtual time (§18.3). An active
// slow on the pair link (no copy for a long while) but heard on the group
// every tick is not taken over; once it is silent on both, it is, after
// the takeover silence; a copy behind the group's state waits for
// ColdSilence; an active never heard on the group is taken over after
// the silence as before.
func TestSilenceRule(t *testing.T) {
	t0 := time.Unix(1000, 0)
	bound := DefaultSilence
	tick := 8 * time.Millisecond

	// Dead: the last copy at t0, nothing after on either.
	dead := silence{canTake: true, pair: t0, bound: bound}
	if due, _ := dead.due(t0.Add(bound - time.Microsecond)); due {
		t.Fatal("taken over before the silence was complete")
	}
	if due, _ := dead.due(t0.Add(bound)); !due {
		t.Fatal("a dead active not taken over after the silence")
	}

	// Slow: the pair link silent from t0 for most of GroupHold (30
	// silences), the group heard every tick meanwhile.
	slow := silence{canTake: true, pair: t0, bound: bound}
	var last time.Time
	for at := t0; at.Before(t0.Add(GroupHold - 2*bound)); at = at.Add(tick) {
		slow.group = at
		last = at
		for step := time.Duration(0); step < tick; step += 500 * time.Microsecond {
			if due, _ := slow.due(at.Add(step)); due {
				t.Fatalf("taken over at %v with the active heard on the group %v before", at.Add(step).Sub(t0), step)
			}
		}
	}
	// Then it dies: silent on both.
	if due, _ := slow.due(last.Add(bound - time.Microsecond)); due {
		t.Fatal("taken over before a silence on the group too")
	}
	if due, _ := slow.due(last.Add(bound)); !due {
		t.Fatal("not taken over after a silence on both")
	}

	// The group heard for ever (forged, or a pair link that is down):
	// it holds the takeover off for GroupHold, not longer.
	forged := silence{canTake: true, pair: t0, bound: bound}
	for at := t0; at.Before(t0.Add(GroupHold)); at = at.Add(tick) {
		forged.group = at
		if due, _ := forged.due(at); due {
			t.Fatalf("taken over %v into the pair link's silence, before GroupHold", at.Sub(t0))
		}
	}
	forged.group = t0.Add(GroupHold)
	if due, _ := forged.due(t0.Add(GroupHold)); !due {
		t.Fatal("the group held the takeover off past GroupHold")
	}

	// The group showed a tick past the copy: a silence is ColdSilence.
	lag := silence{canTake: true, pair: t0, group: t0, lag: true, bound: bound}
	if due, _ := lag.due(t0.Add(bound)); due {
		t.Fatal("taken over after the takeover silence with a copy behind the group's state")
	}
	if due, _ := lag.due(t0.Add(ColdSilence)); !due {
		t.Fatal("a copy behind the group's state: not taken over after ColdSilence")
	}

	// A datagram waiting unread holds it off, for one more silence.
	q := silence{canTake: true, pair: t0, bound: bound, queued: true}
	if due, _ := q.due(t0.Add(bound)); due {
		t.Fatal("taken over with a datagram unread")
	}
	if due, _ := q.due(t0.Add(2 * bound)); !due {
		t.Fatal("a datagram unread held the takeover off past two silences")
	}

	// Not allowed to take over (a standby that never followed): never.
	no := silence{pair: t0, bound: bound}
	if due, _ := no.due(t0.Add(time.Hour)); due {
		t.Fatal("taken over by a standby that may not")
	}
}

// TestGroupCounts: what the group says counts only for the active
// followed: under its epoch or a higher one, under the copy's group
// token, and only once an active was followed.
func TestGroupCounts(t *testing.T) {
	at := time.Unix(1000, 0)
	l := &Link{}
	var s silence
	l.groupState(&s, groupHeard{at: at, epoch: 4, token: 7, tick: 10, hasTick: true})
	if !s.group.IsZero() {
		t.Fatal("the group counted before any active was followed")
	}
	l.win.epoch, l.lastEpoch, l.have = 4, 4, true
	l.last.GroupToken, l.last.State.Tick = 7, 10
	for _, c := range []struct {
		name  string
		g     groupHeard
		count bool
		lag   bool
	}{
		{"the active's, its copy's tick", groupHeard{at: at, epoch: 4, token: 7, tick: 10, hasTick: true}, true, false},
		{"the active's, a tick past the copy", groupHeard{at: at, epoch: 4, token: 7, tick: 11, hasTick: true}, true, true},
		{"a higher epoch", groupHeard{at: at, epoch: 6, token: 7, tick: 3, hasTick: true}, true, false},
		{"a stale writer", groupHeard{at: at, epoch: 3, token: 7, tick: 99, hasTick: true}, false, false},
		{"another group", groupHeard{at: at, epoch: 4, token: 8, tick: 10, hasTick: true}, false, false},
		{"nothing", groupHeard{}, false, false},
	} {
		var s silence
		l.seen = 4
		l.groupState(&s, c.g)
		if c.count && l.seen != max(4, c.g.epoch) {
			t.Errorf("%s: epoch %d counted, seen %d", c.name, c.g.epoch, l.seen)
		}
		if !s.group.IsZero() != c.count || s.lag != c.lag {
			t.Errorf("%s: counted %v lag %v, want %v %v", c.name, !s.group.IsZero(), s.lag, c.count, c.lag)
		}
	}
}

// TestGroupNote: the listener keeps the newest epoch's state and its
// newest tick.
func TestGroupNote(t *testing.T) {
	g := &groupListener{}
	at := time.Unix(1000, 0)
	g.note(GroupState{Token: 7, Epoch: 4, Tick: 10, HasTick: true}, at)
	g.note(GroupState{Token: 7, Epoch: 4, Tick: 9, HasTick: true}, at.Add(time.Millisecond)) // reordered
	g.note(GroupState{Token: 7, Epoch: 3, Tick: 50, HasTick: true}, at.Add(2*time.Millisecond))
	h := g.heard()
	if h.epoch != 4 || h.tick != 10 || !h.at.Equal(at.Add(time.Millisecond)) || h.n != 2 {
		t.Fatalf("heard %+v, want epoch 4, tick 10, at +1ms, 2 datagrams", h)
	}
	g.note(GroupState{Token: 7, Epoch: 6, Tick: 2, HasTick: true}, at.Add(3*time.Millisecond))
	if h := g.heard(); h.epoch != 6 || h.tick != 2 {
		t.Fatalf("after a higher epoch: %+v", h)
	}
}

// sealedGroupDatagram is groupDatagram as a sealed server sends it: the
// body and its epoch trailer sealed and signed by g (§17.3, §18.1).
func sealedGroupDatagram(t testing.TB, g *seal.Group, typ wire.PacketType, token uint64, tick, epoch uint32) []byte {
	t.Helper()
	open := groupDatagram(typ, 0, token, tick, epoch)
	h := wire.Header{Type: typ, Flags: wire.FlagEpoch | wire.FlagSealed, Token: token, Seq: 1}
	d := h.Append(nil)
	return g.SealSigned(d, d, open[wire.HeaderSize:])
}

// sealedListener is a sealed server's group (token 7) and a listener given
// the keys of its copy.
func sealedListener(t testing.TB) (*seal.Group, *groupListener) {
	t.Helper()
	srv, err := seal.NewServerGroup(7, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := new(groupListener)
	c := srv.Copy()
	if err := l.setKeys(c.Key, c.Signer); err != nil {
		t.Fatal(err)
	}
	return srv, l
}

// TestSealedGroupState: a sealed room's state is heard once the listener
// holds the keys of a copy (§18.3, §18.6); with other keys, tampered, or
// signed by another server, it is not.
func TestSealedGroupState(t *testing.T) {
	srv, l := sealedListener(t)
	other, _ := sealedListener(t)
	c := srv.Copy()
	k := l.keys.Load()
	if l.setKeys(c.Key, c.Signer); l.keys.Load() != k {
		t.Error("the same keys made the opener anew (its replay window with it)")
	}
	buf := make([]byte, 0, wire.MaxDatagramSize)
	snap := sealedGroupDatagram(t, srv, wire.TypeSnapshot, 7, 41, 4)
	if g, ok := openSealedState(k, snap, buf); !ok || g != (GroupState{Token: 7, Epoch: 4, Tick: 41, HasTick: true}) {
		t.Errorf("sealed snapshot: %+v %v", g, ok)
	}
	if g, ok := openSealedState(k, sealedGroupDatagram(t, srv, wire.TypeEntityUpdate, 7, 0, 6), buf); !ok || g != (GroupState{Token: 7, Epoch: 6}) {
		t.Errorf("sealed update: %+v %v", g, ok)
	}
	if _, ok := openSealedState(k, snap, buf); ok {
		t.Error("a replayed sealed datagram heard again")
	}
	bad := sealedGroupDatagram(t, srv, wire.TypeSnapshot, 7, 42, 4)
	bad[wire.HeaderSize+3] ^= 1
	if _, ok := openSealedState(k, bad, buf); ok {
		t.Error("a tampered sealed datagram heard")
	}
	if _, ok := openSealedState(k, sealedGroupDatagram(t, other, wire.TypeSnapshot, 7, 43, 4), buf); ok {
		t.Error("another server's sealed datagram heard")
	}
	if _, ok := openSealedState(k, sealedGroupDatagram(t, srv, wire.TypePong, 7, 44, 4), buf); ok {
		t.Error("a sealed Pong taken as state")
	}
	if _, ok := ParseGroupState(sealedGroupDatagram(t, srv, wire.TypeSnapshot, 7, 45, 4)); ok {
		t.Error("a sealed datagram read without its keys")
	}
}

func FuzzOpenSealedState(f *testing.F) {
	srv, l := sealedListener(f)
	f.Add(sealedGroupDatagram(f, srv, wire.TypeSnapshot, 7, 41, 4))
	f.Add(groupDatagram(wire.TypeSnapshot, wire.FlagSealed, 7, 41, 4))
	f.Add([]byte{})
	buf := make([]byte, 0, wire.MaxDatagramSize)
	f.Fuzz(func(t *testing.T, d []byte) {
		if g, ok := openSealedState(l.keys.Load(), d, buf); ok && (g.Epoch == 0 || g.Token == 0) {
			t.Fatalf("taken: %+v", g)
		}
	})
}
