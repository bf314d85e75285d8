package client

import (
	"bytes"
	"testing"

	"arcade/wire"
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
	// A trailer that does not fit.
	short := f.multicastSnapshot(testSnapshot(15))[:wire.HeaderSize+2]
	short[5] |= wire.FlagEpoch
	s.Handle(now+5*ms, short, 0, true)

	st := s.Stats()
	if want := []uint32{10, 11, 14}; !equalTicks(ticks, want) {
		t.Errorf("delivered ticks %v, want %v", ticks, want)
	}
	if st.Dropped[DropStaleEpoch] != 2 || st.Dropped[DropShort] != 1 || st.EpochChanges != 1 {
		t.Errorf("stale-epoch drops %d (want 2), short %d (want 1), epoch changes %d (want 1)",
			st.Dropped[DropStaleEpoch], st.Dropped[DropShort], st.EpochChanges)
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
