package client

import (
	"testing"

	"github.com/arcadexr/arcade/wire"
)

// TestDeltaResyncAfterMismatch: a session whose copy of a tick differs
// from the server's (here: a keyframe it took with one entity elsewhere)
// decodes the next StateDelta against it, finds the tick's state hash
// differs, counts the mismatch and forgets every tick it held, so its
// acknowledgements name none; the keyframe the server then sends is
// checked equal, and so is the delta coded against it: desync, resync,
// hashes match again.
func TestDeltaResyncAfterMismatch(t *testing.T) {
	f := newFakeServer(t)
	f.deltaState = true
	s := NewSession(SessionConfig{Name: "ada", Nonce: testNonce})
	var shown []wire.Snapshot
	s.OnSnapshot(func(sn *wire.Snapshot, _ int64, _ bool) {
		c := *sn
		c.Entities = append([]wire.EntityState(nil), sn.Entities...)
		shown = append(shown, c)
	})
	now := int64(1e9)
	f.connect(s, now)
	var enc wire.StateEncoder
	var h wire.StateHasher
	send := func(base, cur *wire.State, hashed bool) {
		d := wire.StateDelta{Tick: cur.Tick, ServerTime: stampOf(cur.Tick)}
		if base != nil {
			d.Base = base.Tick
		}
		if hashed {
			d.Flags, d.StateHash = wire.DeltaHasHash, h.State(cur)
		}
		for _, part := range enc.Encode(&d, base, cur, wire.MaxBodySize) {
			hd := wire.Header{Type: wire.TypeStateDelta, Token: f.groupToken, Seq: f.mseq}
			f.mseq++
			s.Handle(now, append(hd.Append(nil), part...), now, true)
		}
	}
	ack := func() (tick uint32, held uint64, ok bool) {
		in := wire.PoseInput{}
		s.SendPose(now, &in)
		for _, r := range f.drain(s) {
			if r.h.Type == wire.TypePoseInput {
				var p wire.PoseInput
				p.Parse(r.body)
				return p.StateTick, p.StateHeld, p.HasStateAck
			}
		}
		t.Fatal("no pose sent")
		return 0, 0, false
	}
	desync := func(checks, mismatches, resyncs uint64) {
		t.Helper()
		d := s.Stats().Desync
		if d.Checks != checks || d.Mismatches != mismatches || d.Resyncs != resyncs {
			t.Fatalf("desync stats %+v, want %d checks, %d mismatches, %d resyncs", d, checks, mismatches, resyncs)
		}
	}

	// The server's tick 100, and the session's differing copy of it.
	w100, w101 := deltaWorld(100), deltaWorld(101)
	bad := deltaWorld(100)
	bad.Entities[7].Pose.Y += 300 // entity 8, 0.3 m up
	send(nil, bad, false)
	if tick, held, _ := ack(); tick != 100 || held != 1 {
		t.Fatalf("ack %d %b after the keyframe, want 100 1", tick, held)
	}
	desync(0, 0, 0)

	// Tick 101 coded against the server's 100: the session's tick differs.
	send(w100, w101, true)
	desync(1, 1, 1)
	if s.Stats().Desync.LastMismatchTick != 101 {
		t.Fatalf("mismatch at tick %d, want 101", s.Stats().Desync.LastMismatchTick)
	}
	if tick, held, _ := ack(); held != 0 {
		t.Fatalf("after the mismatch the session still acknowledges tick %d (held %b): want none held", tick, held)
	}
	// A delta against a tick it forgot is not taken.
	w102 := deltaWorld(102)
	send(w101, w102, true)
	desync(1, 1, 1)

	// The server, seeing nothing held, sends a keyframe: it checks equal.
	w103, w104 := deltaWorld(103), deltaWorld(104)
	send(nil, w103, true)
	desync(2, 1, 1)
	if tick, held, _ := ack(); tick != 103 || held != 1 {
		t.Fatalf("ack %d %b after the new keyframe, want 103 1", tick, held)
	}
	send(w103, w104, true)
	desync(3, 1, 1)
	last := shown[len(shown)-1]
	if last.Tick != 104 {
		t.Fatalf("last shown tick %d, want 104", last.Tick)
	}
	for _, e := range last.Entities {
		if wire.QuantEntity(&e) != w104.Entities[e.ID-1] {
			t.Fatalf("entity %d shown wrong after the resync", e.ID)
		}
	}
	if tick, held, _ := ack(); tick != 104 || held&1 == 0 {
		t.Fatalf("ack %d %b, want 104 with it held", tick, held)
	}
}
