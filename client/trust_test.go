package client

import (
	"testing"
	"time"

	"github.com/arcadexr/arcade/wire"
)

// liveTick is a tick well inside the fake server's past after connect.
const liveTick = uint32(1_000_000)

// atServerClock returns a tick and stamp at the fake server's clock as the
// session estimates it at client time now, plus ahead.
func atServerClock(s *Session, now int64, ahead time.Duration) (uint32, uint64) {
	us := uint64(s.ServerTime(now)) + uint64(ahead/time.Microsecond)
	return uint32(us*120/1_000_000 - 1), us
}

// TestForgedFutureSnapshotIsIgnored: one Snapshot stamped 2³¹ ticks ahead
// (tick and server time consistent, or not) is dropped as implausible and
// the real ticks that follow are delivered.
func TestForgedFutureSnapshotIsIgnored(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{})
	f.connect(s, t0)
	var rec snapshotRecorder
	rec.attach(s)
	now := t0 + ms
	// The real server's ticks, at its clock.
	real := func() {
		now += int64(8333 * time.Microsecond)
		tick, stamp := atServerClock(s, now, 0)
		s.Handle(now, f.multicastSnapshot(&wire.Snapshot{Tick: tick, ServerTime: stamp, Parts: 1}), now, true)
	}
	real()
	tick, stamp := atServerClock(s, now, 0)
	for _, forged := range []*wire.Snapshot{
		{Tick: tick + 1<<31, ServerTime: stamp + (1<<31)*1_000_000/120, Parts: 1}, // consistent, 207 days ahead
		{Tick: tick + 1<<31, ServerTime: stamp, Parts: 1},                         // a tick not of its time
		{Tick: tick + 1, ServerTime: stamp + uint64(time.Hour/time.Microsecond), Parts: 1},
	} {
		s.Handle(now, f.multicastSnapshot(forged), now, true)
	}
	for range 10 {
		real()
	}
	if got := s.Stats().Dropped[DropImplausible]; got != 3 {
		t.Errorf("%d dropped as implausible, want the 3 forged", got)
	}
	if len(rec.ticks) != 11 {
		t.Fatalf("delivered %v, want the 11 real ticks", rec.ticks)
	}
}

// TestForgedNearFutureFreezesBriefly: a forged Snapshot stamped within
// MaxStateAhead of the server clock is taken. Real ticks older than it are
// taken again while the forgery is more than StateRecoverAhead ahead of
// the clock: at once for one stamped far ahead; one stamped less ahead
// holds them back until the clock reaches it, StateRecoverAhead and a tick
// at most.
func TestForgedNearFutureFreezesBriefly(t *testing.T) {
	const period = 8333 * time.Microsecond
	for _, ahead := range []time.Duration{MaxStateAhead - 10*time.Millisecond, StateRecoverAhead + 15*time.Millisecond, StateRecoverAhead - 5*time.Millisecond} {
		f := newFakeServer(t)
		s := newTestSession(SessionConfig{})
		f.connect(s, t0)
		var rec snapshotRecorder
		rec.attach(s)
		now := t0 + ms
		ft, fat := atServerClock(s, now, ahead)
		s.Handle(now, f.multicastSnapshot(&wire.Snapshot{Tick: ft, ServerTime: fat, Parts: 1}), now, true)
		if len(rec.ticks) != 1 {
			t.Fatalf("%v ahead: a forged tick within the bound was not taken: %v", ahead, rec.ticks)
		}
		// The real server keeps ticking at its clock.
		var frozen time.Duration
		missed := 0
		for step := period; step < 2*MaxStateAhead; step += period {
			at := now + int64(step)
			tick, stamp := atServerClock(s, at, 0)
			n := len(rec.ticks)
			s.Handle(at, f.multicastSnapshot(&wire.Snapshot{Tick: tick, ServerTime: stamp, Parts: 1}), at, true)
			if len(rec.ticks) == n {
				frozen, missed = step, missed+1
			}
		}
		// The first real tick comes a period later: by then the forgery
		// is a period less ahead.
		limit := time.Duration(0)
		recovers := ahead-period > StateRecoverAhead
		if !recovers {
			limit = ahead
		}
		if frozen > limit {
			t.Errorf("%v ahead: real ticks ignored until %v (%d of them), want none after %v", ahead, frozen, missed, limit)
		}
		if recovers && s.Stats().StateRecoveries != 1 {
			t.Errorf("%v ahead: %d recoveries, want 1", ahead, s.Stats().StateRecoveries)
		}
	}
}

// TestForgedFutureEntityUpdate: an EntityUpdate stamped ahead (within
// MaxStateAhead) does not hide the real updates that follow, nor does a
// Snapshot stamped ahead.
func TestForgedFutureEntityUpdate(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{})
	f.connect(s, t0)
	var got []uint64
	s.OnEntityUpdate(func(u *wire.EntityUpdate, _ int64, _ bool) { got = append(got, u.ServerTime) })
	now := t0 + ms
	ahead := MaxStateAhead - 10*time.Millisecond
	update := func(at int64, d time.Duration) {
		tick, stamp := atServerClock(s, at, d)
		s.Handle(at, f.multicastEntityUpdate(&wire.EntityUpdate{Tick: tick, ServerTime: stamp}), at, true)
	}
	update(now, ahead)
	ft, fat := atServerClock(s, now, ahead)
	s.Handle(now, f.multicastSnapshot(&wire.Snapshot{Tick: ft, ServerTime: fat, Parts: 1}), now, true)
	for i := range 10 {
		update(now+int64(i+1)*int64(time.Millisecond), 0)
	}
	if len(got) != 11 {
		t.Fatalf("delivered %d updates, want the forged one and the 10 real ones", len(got))
	}
	if r := s.Stats().StateRecoveries; r != 2 {
		t.Fatalf("%d recoveries, want 2 (the forged update and the forged snapshot)", r)
	}
}

// TestForgedSequenceJump: a forged datagram that moves the multicast
// sequence 30 000 ahead neither makes real state look stale nor counts as
// loss, and the window follows the real sequence again after seqResync of
// its datagrams.
func TestForgedSequenceJump(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{})
	f.connect(s, t0)
	var rec snapshotRecorder
	rec.attach(s)
	now := t0 + ms
	for i := range uint32(5) {
		s.Handle(now, f.multicastSnapshot(testSnapshot(liveTick+i)), now, true)
	}
	// The forgery: a plausible tick, the sequence 30 000 ahead.
	h := wire.Header{Type: wire.TypeSnapshot, Token: f.groupToken, Seq: f.mseq + 30_000}
	forged := testSnapshot(liveTick + 5)
	s.Handle(now, forged.Append(h.Append(nil)), now, true)
	for i := uint32(6); i < 20; i++ {
		s.Handle(now, f.multicastSnapshot(testSnapshot(liveTick+i)), now, true)
	}
	if len(rec.ticks) != 20 {
		t.Fatalf("delivered %d of 20 ticks (%v)", len(rec.ticks), rec.ticks)
	}
	st := s.Stats().Multicast
	if st.Lost != 0 || st.Jumps != 1 || st.Resyncs != 1 {
		t.Fatalf("multicast path %+v, want no loss, one jump, one resync", st)
	}
	// After the resync the real sequence is the window's again: a gap in
	// it counts as loss once more.
	f.mseq += 3
	s.Handle(now, f.multicastSnapshot(testSnapshot(liveTick+20)), now, true)
	if got := s.Stats().Multicast.Lost; got != 3 {
		t.Fatalf("lost %d after a real gap of 3", got)
	}
}
