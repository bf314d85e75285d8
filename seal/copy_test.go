package seal

import (
	"bytes"
	"testing"
)

// TestResumeFromCopy: a server resumed from its copy seals with the same
// keys under numbers a Reserve above the copied counters, which the
// client takes as any number ahead (the window jumps 2²⁰ at once); it
// opens the client's datagrams sent after the copy and refuses those
// the copied server had accepted; the resumed group's datagrams open and
// verify at the client with the key of its first Accepted.
func TestResumeFromCopy(t *testing.T) {
	cs, cg, ss, g := joined(t)
	header := make([]byte, 22)
	var old [][]byte
	for i := range 100 {
		up := cs.Seal(nil, header, []byte{byte(i)})
		if _, err := ss.Open(nil, header, up); err != nil {
			t.Fatal(err)
		}
		old = append(old, up)
		if _, err := cs.Open(nil, header, ss.Seal(nil, header, []byte("state"))); err != nil {
			t.Fatal(err)
		}
		if _, err := cg.OpenSigned(nil, g.SealSigned(bytes.Clone(header), header, []byte("group")), len(header)); err != nil {
			t.Fatal(err)
		}
	}
	sc, gc := ss.Copy(), g.Copy()
	if sc.Send != 100+Reserve || sc.Received != 100 || gc.Send != 100+Reserve {
		t.Fatalf("copy: send %d, received %d, group send %d", sc.Send, sc.Received, gc.Send)
	}
	// The copied server goes on a little before it dies: numbers below
	// the reservation.
	for range 5 {
		cs.Open(nil, header, ss.Seal(nil, header, []byte("state")))
	}
	rs, err := ResumeSession(&sc)
	if err != nil {
		t.Fatal(err)
	}
	rg, err := ResumeServerGroup(testGroupToken, &gc)
	if err != nil {
		t.Fatal(err)
	}
	if rg.Keys() != g.Keys() {
		t.Fatal("the resumed group has other keys")
	}
	for i := range 3 {
		down := rs.Seal(nil, header, []byte("new state"))
		if n := uint64(len(down)); n == 0 || rs.next != sc.Send+uint64(i)+1 {
			t.Fatalf("resumed counter at %d", rs.next)
		}
		if got, err := cs.Open(nil, header, down); err != nil || string(got) != "new state" {
			t.Fatalf("the client opening the resumed server's datagram %d: %q, %v", i, got, err)
		}
		gd := rg.SealSigned(bytes.Clone(header), header, []byte("new group"))
		if got, err := cg.OpenSigned(nil, gd, len(header)); err != nil || string(got) != "new group" {
			t.Fatalf("the client opening the resumed group's datagram %d: %q, %v", i, got, err)
		}
	}
	// After the jump, what the copied server sent late is too old.
	if _, err := cs.Open(nil, header, ss.Seal(nil, header, []byte("late"))); err != ErrReplay {
		t.Fatalf("a datagram of the copied server after the jump: %v, want ErrReplay", err)
	}
	for i, up := range old {
		if _, err := rs.Open(nil, header, up); err != ErrReplay {
			t.Fatalf("the client's datagram %d, accepted before the copy, replayed to the resumed server: %v", i, err)
		}
	}
	up := cs.Seal(nil, header, []byte("pose"))
	if got, err := rs.Open(nil, header, up); err != nil || string(got) != "pose" {
		t.Fatalf("the client's next datagram at the resumed server: %q, %v", got, err)
	}
}

// TestSeenBelow: a window resumed at top refuses every number below it
// and takes every number from it on, whatever word top falls in.
func TestSeenBelow(t *testing.T) {
	for _, top := range []uint64{0, 1, 63, 64, 65, 100, 959, 1023, 1024, 1025, 5000, 1 << 20} {
		var w replayWindow
		w.seenBelow(top)
		for n := top - min(top, WindowSize); n < top; n++ {
			if w.fresh(n) {
				t.Fatalf("top %d: %d is fresh", top, n)
			}
		}
		for n := top; n < top+2*WindowSize; n += 7 {
			if !w.fresh(n) {
				t.Fatalf("top %d: %d is refused", top, n)
			}
		}
		// Each number above top is taken once, in order and out of it.
		for _, n := range []uint64{top + 3, top, top + 1, top + 70, top + 2} {
			if !w.fresh(n) {
				t.Fatalf("top %d: %d refused after accepts", top, n)
			}
			w.accept(n)
			if w.fresh(n) {
				t.Fatalf("top %d: %d fresh after its accept", top, n)
			}
		}
	}
}
