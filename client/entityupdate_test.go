package client

import (
	"slices"
	"testing"

	"github.com/arcadexr/arcade/wire"
)

// updateRecorder collects a session's entity update callbacks.
type updateRecorder struct {
	ticks  []uint32
	causes [][]wire.UpdateCause
	multi  []bool
	rx     []int64
	ents   [][]wire.EntityState
}

func (r *updateRecorder) attach(s *Session) {
	s.OnEntityUpdate(func(u *wire.EntityUpdate, rxTime int64, viaMulticast bool) {
		r.ticks = append(r.ticks, u.Tick)
		r.causes = append(r.causes, slices.Clone(u.Causes))
		r.multi = append(r.multi, viaMulticast)
		r.rx = append(r.rx, rxTime)
		r.ents = append(r.ents, append([]wire.EntityState(nil), u.Entities...))
	})
}

func TestEntityUpdateMulticast(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{})
	f.connect(s, t0)
	var snaps snapshotRecorder
	snaps.attach(s)
	var ups updateRecorder
	ups.attach(s)

	// Group seq 0: snapshot of tick 5; 1 and 2: updates after it, caused by
	// this client, and by another and this one coalesced.
	s.Handle(t0+ms, f.multicastSnapshot(testSnapshot(5)), 0, true)
	want := testEntityUpdate(5, f.clientID, 41)
	s.Handle(t0+2*ms, f.multicastEntityUpdate(want), t0+2*ms-300, true)
	coalesced := testEntityUpdate(5, 9, 1000)
	coalesced.Causes = append(coalesced.Causes, wire.UpdateCause{Client: f.clientID, Input: 42}, wire.UpdateCause{Client: 9, Input: 1001})
	s.Handle(t0+3*ms, f.multicastEntityUpdate(coalesced), 0, true)
	if len(ups.ticks) != 2 || !slices.Equal(ups.causes[0], []wire.UpdateCause{{Client: 7, Input: 41}}) ||
		!slices.Equal(ups.causes[1], coalesced.Causes) ||
		!ups.multi[0] || ups.rx[0] != t0+2*ms-300 || ups.rx[1] != t0+3*ms {
		t.Fatalf("delivered ticks %v causes %v multi %v rx %v", ups.ticks, ups.causes, ups.multi, ups.rx)
	}
	// The entity as the wire carries it: pose quantized, flags as sent.
	got, sent := ups.ents[0], want.Entities[0]
	if len(got) != 1 || got[0].ID != sent.ID || got[0].Flags != sent.Flags || got[0].Pose != wire.QuantizePose(sent.Pose) {
		t.Errorf("entities %+v, want %+v", got, sent)
	}

	// Filtering as for snapshots: the session token on the group, a foreign
	// group token, and the group token on the unicast path are dropped.
	bad := f.multicastEntityUpdate(want) // group seq 3
	wrong := append([]byte(nil), bad...)
	h := wire.Header{Type: wire.TypeEntityUpdate, Token: f.token, Seq: 3}
	copy(wrong, h.Append(nil))
	s.Handle(t0+4*ms, wrong, 0, true)
	h.Token = f.groupToken + 1
	copy(wrong, h.Append(nil))
	s.Handle(t0+4*ms, wrong, 0, true)
	s.Handle(t0+4*ms, bad, 0, false)
	if st := s.Stats(); st.Dropped[DropToken] != 3 || len(ups.ticks) != 2 {
		t.Fatalf("token filter: dropped %v, delivered %d", st.Dropped, len(ups.ticks))
	}

	// Seq gaps: 3 (the update above) is not received; 4 is the snapshot of
	// tick 6, 5 a duplicate of it; 3 arrives late: it fills the gap but its
	// tick is older than the snapshot delivered, which supersedes it.
	snap6 := f.multicastSnapshot(testSnapshot(6))
	s.Handle(t0+5*ms, snap6, 0, true)
	s.Handle(t0+5*ms, snap6, 0, true)
	if st := s.Stats(); st.Multicast != (PathStats{Received: 4, Lost: 1, Duplicates: 1}) {
		t.Errorf("before the late update: multicast %+v", st.Multicast)
	}
	s.Handle(t0+6*ms, bad, 0, true)
	st := s.Stats()
	if want := (PathStats{Received: 5, Late: 1, Duplicates: 1}); st.Multicast != want {
		t.Errorf("multicast %+v, want %+v", st.Multicast, want)
	}
	if st.Dropped[DropOldTick] != 1 || st.Dropped[DropDuplicate] != 1 || len(ups.ticks) != 2 {
		t.Errorf("late update: dropped %v, delivered %v", st.Dropped, ups.ticks)
	}
	// An update of a tick newer than any snapshot (its snapshot was lost)
	// passes and does not advance the newest tick: a snapshot of tick 7
	// still does.
	dup := f.multicastEntityUpdate(testEntityUpdate(8, f.clientID, 50))
	s.Handle(t0+7*ms, dup, 0, true)
	s.Handle(t0+7*ms, dup, 0, true)
	s.Handle(t0+8*ms, f.multicastSnapshot(testSnapshot(7)), 0, true)
	st = s.Stats()
	if len(ups.ticks) != 3 || ups.ticks[2] != 8 || snaps.ticks[len(snaps.ticks)-1] != 7 {
		t.Errorf("updates %v snapshots %v", ups.ticks, snaps.ticks)
	}
	if st.EntityUpdates != 3 || st.Snapshots != 3 || st.Dropped[DropDuplicate] != 2 {
		t.Errorf("stats: %d updates %d snapshots, dropped %v", st.EntityUpdates, st.Snapshots, st.Dropped)
	}

	// A truncated update is dropped as short and leaves no trace on the path.
	short := f.multicastEntityUpdate(want)
	s.Handle(t0+9*ms, short[:len(short)-1], 0, true)
	if st2 := s.Stats(); st2.Dropped[DropShort] != 1 || st2.Multicast.Received != st.Multicast.Received {
		t.Errorf("truncated update: dropped %v, path %+v", st2.Dropped, st2.Multicast)
	}
}

func TestEntityUpdateUnicast(t *testing.T) {
	f := newFakeServer(t)
	f.unicast = true
	s := newTestSession(SessionConfig{Unicast: true})
	f.connect(s, t0) // the Accepted was unicast seq 0
	var ups updateRecorder
	ups.attach(s)

	// Snapshots, updates and a pong share the per-connection sequence: no
	// loss when they interleave.
	s.Handle(t0+ms, f.unicastSnapshot(testSnapshot(1)), 0, false)
	s.Handle(t0+ms, f.unicastEntityUpdate(testEntityUpdate(1, f.clientID, 3)), t0+ms, false)
	s.Handle(t0+2*ms, f.unicastSnapshot(testSnapshot(2)), 0, false)
	s.Handle(t0+2*ms, f.unicastEntityUpdate(testEntityUpdate(2, f.clientID, 4)), t0+2*ms, false)
	st := s.Stats()
	if want := (PathStats{Received: 5}); st.Unicast != want {
		t.Errorf("unicast %+v, want %+v", st.Unicast, want)
	}
	if len(ups.ticks) != 2 || ups.multi[0] || !slices.Equal(ups.causes[1], []wire.UpdateCause{{Client: f.clientID, Input: 4}}) || st.EntityUpdates != 2 {
		t.Errorf("delivered %v %v %v, stats %d", ups.ticks, ups.multi, ups.causes, st.EntityUpdates)
	}
	// Without the session token it is dropped; the next datagram acks what
	// arrived.
	u := f.unicastEntityUpdate(testEntityUpdate(2, f.clientID, 5)) // seq 5
	u[6] ^= 1
	s.Handle(t0+3*ms, u, 0, false)
	if s.Stats().Dropped[DropToken] != 1 || len(ups.ticks) != 2 {
		t.Errorf("wrong token: dropped %v", s.Stats().Dropped)
	}
	s.SendPose(t0+4*ms, &wire.PoseInput{})
	if out := f.drain(s); out[0].h.Ack != 4 || out[0].h.AckBits != 0b1111 {
		t.Errorf("ack %d bits %b, want 4 and 1111", out[0].h.Ack, out[0].h.AckBits)
	}
	// Before the handshake completes an update is unexpected.
	c := newTestSession(SessionConfig{})
	c.Start(t0)
	c.Handle(t0, f.unicastEntityUpdate(testEntityUpdate(1, 1, 1)), 0, false)
	if c.Stats().Dropped[DropUnexpected] != 1 || c.Stats().EntityUpdates != 0 {
		t.Errorf("update while connecting: dropped %v", c.Stats().Dropped)
	}
}
