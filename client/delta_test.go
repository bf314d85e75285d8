package client

import (
	"testing"

	"github.com/arcadexr/arcade/wire"
)

// deltaWorld is a small world at tick: players 1 and 2, entities 1…40,
// each a little further along with the tick.
func deltaWorld(tick uint32) *wire.State {
	st := &wire.State{Tick: tick}
	for id := uint16(1); id <= 2; id++ {
		p := wire.PlayerState{ClientID: id, LastInputSeq: tick * uint32(id), Tracking: 7,
			Head: wire.Pose{Pos: wire.Vec3{X: float32(id) + float32(tick)*0.001, Y: 1.7}, Rot: wire.Quat{W: 1}}}
		p.Hands[0].Rot.W, p.Hands[1].Rot.W = 1, 1
		st.Players = append(st.Players, wire.QuantPlayer(&p))
	}
	for id := uint16(1); id <= 40; id++ {
		e := wire.EntityState{ID: id, Pose: wire.Pose{Pos: wire.Vec3{X: float32(id), Z: float32(tick) * 0.002}, Rot: wire.Quat{W: 1}}}
		st.Entities = append(st.Entities, wire.QuantEntity(&e))
	}
	return st
}

// TestDeltaStateReceive: a session offered StateDelta assembles ticks from
// parts against the ticks it holds, shows each part as it arrives,
// acknowledges what it holds in its poses, and drops what it cannot
// decode, counted.
func TestDeltaStateReceive(t *testing.T) {
	f := newFakeServer(t)
	f.deltaState = true
	s := NewSession(SessionConfig{Name: "ada", Nonce: testNonce})
	var shown []wire.Snapshot
	s.OnSnapshot(func(sn *wire.Snapshot, _ int64, _ bool) {
		c := *sn
		c.Players = append([]wire.PlayerState(nil), sn.Players...)
		c.Entities = append([]wire.EntityState(nil), sn.Entities...)
		shown = append(shown, c)
	})
	now := int64(1e9)
	f.connect(s, now)
	var enc wire.StateEncoder
	send := func(base, cur *wire.State, maxBody int, mcast bool, skip int) {
		h := wire.StateDelta{Tick: cur.Tick, ServerTime: stampOf(cur.Tick)}
		if base != nil {
			h.Base = base.Tick
		}
		for i, part := range enc.Encode(&h, base, cur, maxBody) {
			if i == skip {
				continue
			}
			if mcast {
				hd := wire.Header{Type: wire.TypeStateDelta, Token: f.groupToken, Seq: f.mseq}
				f.mseq++
				s.Handle(now, append(hd.Append(nil), part...), now, true)
			} else {
				s.Handle(now, append(f.unicastHeader(wire.TypeStateDelta, f.token), part...), now, false)
			}
		}
	}
	ack := func() (uint32, uint64) {
		in := wire.PoseInput{}
		s.SendPose(now, &in)
		for _, r := range f.drain(s) {
			if r.h.Type == wire.TypePoseInput {
				var p wire.PoseInput
				p.Parse(r.body)
				if !p.HasStateAck {
					t.Fatal("a pose without the state acknowledgement")
				}
				return p.StateTick, p.StateHeld
			}
		}
		t.Fatal("no pose sent")
		return 0, 0
	}
	w100, w101 := deltaWorld(100), deltaWorld(101)

	send(nil, w100, wire.MaxBodySize, false, -1) // keyframe, unicast
	if len(shown) != 1 || len(shown[0].Players) != 2 || len(shown[0].Entities) != 40 || shown[0].Tick != 100 {
		t.Fatalf("keyframe shown as %d snapshots", len(shown))
	}
	if tick, held := ack(); tick != 100 || held != 1 {
		t.Fatalf("ack %d %b, want 100 1", tick, held)
	}
	send(w100, w101, wire.MaxBodySize, true, -1) // against it, multicast
	last := shown[len(shown)-1]
	if last.Tick != 101 || wire.QuantPlayer(&last.Players[1]) != w101.Players[1] || wire.QuantEntity(&last.Entities[39]) != w101.Entities[39] {
		t.Fatalf("tick 101 shown wrong: %+v", last.Players[1])
	}
	if tick, held := ack(); tick != 101 || held != 0b11 {
		t.Fatalf("ack %d %b, want 101 11", tick, held)
	}
	// A copy by the other path is a copy.
	dup := s.Stats().Dropped[DropDuplicate]
	send(w100, w101, wire.MaxBodySize, false, -1)
	if s.Stats().Dropped[DropDuplicate] != dup+1 {
		t.Error("a copy of a held tick was not dropped as a duplicate")
	}
	// Against a tick it does not hold: dropped, said so.
	n := len(shown)
	send(deltaWorld(102), deltaWorld(103), wire.MaxBodySize, true, -1)
	if len(shown) != n || s.Stats().Dropped[DropNoBaseline] == 0 {
		t.Fatalf("a part without its baseline: shown %d, no-baseline %d", len(shown)-n, s.Stats().Dropped[DropNoBaseline])
	}
	// A tick in small parts, one lost: the others are shown, the tick is
	// not held.
	n = len(shown)
	w104 := deltaWorld(104)
	for i := range w104.Entities { // a bigger change: more parts
		w104.Entities[i].Pose.Y += 5000
	}
	if parts := len(enc.Encode(&wire.StateDelta{Tick: 104, Base: 101}, w101, w104, 128)); parts < 3 {
		t.Fatalf("tick 104 in %d parts, the test wants 3 or more", parts)
	}
	send(w101, w104, 128, true, 1)
	if got := len(shown) - n; got < 2 {
		t.Fatalf("%d parts shown of a tick in small parts; drops %v", got, s.Stats().Dropped)
	}
	for _, sn := range shown[n:] {
		if sn.Tick != 104 || sn.Parts < 3 {
			t.Fatalf("part %d of %d of tick %d", sn.Part, sn.Parts, sn.Tick)
		}
		for _, e := range sn.Entities {
			if wire.QuantEntity(&e) != w104.Entities[e.ID-1] {
				t.Fatalf("entity %d shown wrong in part %d", e.ID, sn.Part)
			}
		}
	}
	if tick, _ := ack(); tick != 101 {
		t.Fatalf("ack names tick %d, want 101 (104 is not whole)", tick)
	}
	if d := s.Stats().Dropped[DropBadDelta]; d != 0 {
		t.Fatalf("%d bad deltas", d)
	}
}
