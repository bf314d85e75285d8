package wire

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// TestQPlayersSameBytes: a Snapshot or EntityUpdate whose player records
// are given on the wire's grid (QPlayers) is the same bytes as one given
// the players they were quantized from, odd rotations (unnormalized,
// near ties, zero, NaN) and out-of-range positions included.
func TestQPlayersSameBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	f := func() float32 {
		switch r.IntN(8) {
		case 0:
			return 0
		case 1:
			return float32(math.NaN())
		case 2:
			return float32(r.NormFloat64() * 100)
		case 3:
			return 0.5 // ties between components
		}
		return float32(r.NormFloat64())
	}
	pose := func() Pose {
		return Pose{Pos: Vec3{f(), f(), f()}, Rot: Quat{f(), f(), f(), f()}}
	}
	for range 200 {
		ps := make([]PlayerState, r.IntN(MaxSnapshotPlayers+1))
		qs := make([]QPlayer, len(ps))
		for i := range ps {
			ps[i] = PlayerState{ClientID: uint16(1 + i), LastInputSeq: r.Uint32(), Tracking: uint8(r.Uint32()), Head: pose(), Hands: [2]Pose{pose(), pose()}}
			qs[i] = QuantPlayer(&ps[i])
		}
		s := Snapshot{Tick: 7, Parts: 1, Players: ps}
		want := s.Append(nil)
		s.Players, s.QPlayers = nil, qs
		if got := s.Append(nil); !bytes.Equal(got, want) || s.Len() != len(want) {
			t.Fatalf("snapshot of %d players: QPlayers give %x (Len %d), Players %x", len(ps), got, s.Len(), want)
		}
		u := EntityUpdate{Tick: 7, Players: ps[:min(len(ps), MaxEntityUpdatePlayers)]}
		want = u.Append(nil)
		u.Players, u.QPlayers = nil, qs[:len(u.Players)]
		if got := u.Append(nil); !bytes.Equal(got, want) || u.Len() != len(want) {
			t.Fatalf("update of %d players: QPlayers give %x (Len %d), Players %x", len(u.QPlayers), got, u.Len(), want)
		}
		if _, err := u.Parse(want); err != nil || u.QPlayers != nil {
			t.Fatalf("Parse: %v, QPlayers %v, want them nil", err, u.QPlayers)
		}
	}
}
