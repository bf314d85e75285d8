package relay

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestHeapAgainstSort runs random pushes and pops against a sorted slice.
func TestHeapAgainstSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	q := newReleaseHeap(512)
	var ref []pending
	var seq uint64
	for step := range 20000 {
		if len(ref) < 512 && (len(ref) == 0 || rng.IntN(3) > 0) {
			seq++
			p := pending{at: rng.Int64N(64), seq: seq, slot: int32(step)}
			q.push(p)
			ref = append(ref, p)
			slices.SortFunc(ref, func(a, b pending) int {
				if a.before(b) {
					return -1
				}
				return 1
			})
			continue
		}
		got, want := q.pop(), ref[0]
		ref = ref[1:]
		if got != want {
			t.Fatalf("step %d: pop %+v, want %+v", step, got, want)
		}
		if q.Len() != len(ref) {
			t.Fatalf("step %d: Len %d, want %d", step, q.Len(), len(ref))
		}
	}
}

func TestHeapEqualTimesKeepSequence(t *testing.T) {
	q := newReleaseHeap(8)
	for i := range 8 {
		q.push(pending{at: 100, seq: uint64(8 - i), slot: int32(i)})
	}
	for want := uint64(1); want <= 8; want++ {
		if p := q.pop(); p.seq != want {
			t.Fatalf("pop seq %d, want %d", p.seq, want)
		}
	}
}

func TestHeapAllocs(t *testing.T) {
	q := newReleaseHeap(64)
	allocs := testing.AllocsPerRun(100, func() {
		for i := range 64 {
			q.push(pending{at: int64(i * 7 % 13), seq: uint64(i)})
		}
		for q.Len() > 0 {
			q.pop()
		}
	})
	if allocs != 0 {
		t.Fatalf("heap allocates %v per run", allocs)
	}
}
