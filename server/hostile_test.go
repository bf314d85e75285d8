package server_test

import (
	"testing"
	"time"

	"arcade/netsim"
	"arcade/server"
	"arcade/wire"
)

// lastSeqOf returns the last input seq the newest snapshot in got reports
// for client id, and whether one did.
func lastSeqOf(t *testing.T, got []received, id uint16) (uint32, bool) {
	t.Helper()
	var seq uint32
	ok := false
	for _, s := range snapshotsOf(t, got) {
		for _, p := range s.Players {
			if p.ClientID == id {
				seq, ok = p.LastInputSeq, true
			}
		}
	}
	return seq, ok
}

// TestForgedInputJump: a pose forged with a victim's token and address and
// an input seq 2³⁰ ahead is dropped; one 500 ahead gets in, but the
// victim's own inputs take over again within inputResync of them.
func TestForgedInputJump(t *testing.T) {
	r := newRig(t, netsim.Config{}, server.Config{})
	v := r.client("10.0.0.2:5000")
	r.connect(v, wire.ConnectWantUnicast)
	seq := uint32(0)
	send := func(n int) (last uint32) {
		for range n {
			seq++
			v.pose(seq, 1)
			r.advance(11*time.Millisecond, nil)
		}
		last, _ = lastSeqOf(t, v.recv(), v.id)
		return last
	}
	if got := send(10); got != seq {
		t.Fatalf("victim's input %d reported as %d", seq, got)
	}
	// The forgeries come from the victim's own source (spoofed), with its
	// token, which is in every datagram in clear.
	v.pose(seq+1<<30, 9)
	r.advance(time.Millisecond, nil)
	if n := r.srv.Stats().Dropped[server.DropImplausibleInput].Load(); n != 1 {
		t.Fatalf("%d inputs dropped as implausible, want the forged one", n)
	}
	if got := send(3); got != seq {
		t.Fatalf("after a jump of 2³⁰: victim's input %d reported as %d", seq, got)
	}
	v.pose(seq+500, 9)
	r.advance(time.Millisecond, nil)
	v.recv()
	if got := send(12); got != seq {
		t.Fatalf("12 inputs after a forged jump of 500: victim's input %d reported as %d", seq, got)
	}
	if n := r.srv.Stats().InputResyncs.Load(); n != 1 {
		t.Fatalf("%d resyncs, want 1", n)
	}
}
