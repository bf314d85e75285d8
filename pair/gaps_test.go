package pair

import (
	"path/filepath"
	"testing"
	"time"
)

func TestGaps(t *testing.T) {
	var g Gaps
	if g.Quantile(0.99) != 0 || g.Count() != 0 {
		t.Fatal("an empty histogram has a quantile")
	}
	for range 998 {
		g.note(8 * time.Millisecond)
	}
	g.note(20 * time.Millisecond)
	g.note(250 * time.Millisecond) // past GapRange: the last bucket
	if g.Count() != 1000 || g.Over(10*time.Millisecond) != 2 || g.Over(time.Second) != 1 {
		t.Fatalf("count %d, over 10 ms %d, over 1 s %d; want 1000, 2, 1", g.Count(), g.Over(10*time.Millisecond), g.Over(time.Second))
	}
	if q := g.Quantile(0.5); q != 8*time.Millisecond+GapBucket {
		t.Fatalf("p50 %v, want the 8 ms bucket's upper end", q)
	}
	if q := g.Quantile(0.999); q != 20*time.Millisecond+GapBucket {
		t.Fatalf("p99.9 %v, want the 20 ms bucket's upper end", q)
	}
	if q, m := g.Quantile(1), g.Max(); q != 250*time.Millisecond || m != q {
		t.Fatalf("p100 %v, max %v: want the longest silence, 250 ms", q, m)
	}
	g.note(-time.Millisecond) // a clock step: counted in the first bucket, not a crash
	if g.Over(0) != 1001 {
		t.Fatal("a negative silence was lost")
	}
}

func TestStoreAhead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "epoch")
	s := newStoreAhead(path)
	s.want(5)
	if ahead, err := s.finish(5); err != nil || !ahead {
		t.Fatalf("finish(5) after want(5): ahead %v, %v; want stored ahead", ahead, err)
	}
	if e, _ := LoadEpoch(path); e != 5 {
		t.Fatalf("stored %d, want 5", e)
	}
	// A takeover above what was stored ahead stores its own epoch.
	s.want(7)
	if ahead, err := s.finish(9); err != nil || ahead {
		t.Fatalf("finish(9) after want(7): ahead %v, %v; want stored at takeover", ahead, err)
	}
	if e, _ := LoadEpoch(path); e != 9 {
		t.Fatalf("stored %d, want 9", e)
	}
	s.stop()

	// A store ahead that fails is not tried again, and the takeover's own
	// store reports the error.
	bad := newStoreAhead(filepath.Join(t.TempDir(), "missing", "epoch"))
	bad.want(3)
	bad.poll(true)
	if bad.failed == nil {
		t.Fatal("a store into a missing directory did not fail")
	}
	if _, err := bad.finish(3); err == nil {
		t.Fatal("the takeover stored an epoch it could not store")
	}
}
