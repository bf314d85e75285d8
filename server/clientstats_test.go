package server

import (
	"math"
	"testing"
)

func TestRTTTrackerTakesTheWindowMinimum(t *testing.T) {
	var r rttTracker
	const ms = int64(1e6)
	// Datagrams 0..9 sent 1 ms apart; each acknowledged 3..8 ms later by
	// the client's next pose.
	for i := range 10 {
		r.sent(uint16(i), int64(i)*ms)
	}
	r.acked(0, 8*ms)  // 8 ms
	r.acked(1, 5*ms)  // 4 ms
	r.acked(1, 9*ms)  // a repeated ack gives no sample
	r.acked(4, 7*ms)  // 3 ms
	r.acked(3, 20*ms) // older than the newest ack: ignored
	if got := r.estimate(); got != 3*ms {
		t.Fatalf("estimate %d, want 3 ms", got)
	}
	// An ack of a datagram never sent (or forgotten) gives nothing.
	r.acked(200, 30*ms)
	if got := r.estimate(); got != 3*ms {
		t.Fatalf("estimate %d after a stray ack", got)
	}
	// Two windows later the old minimum is forgotten.
	r.sent(201, 2100*ms)
	r.acked(201, 2110*ms)
	r.sent(202, 3300*ms)
	r.acked(202, 3306*ms)
	if got := r.estimate(); got != 6*ms {
		t.Fatalf("estimate %d, want 6 ms once the 3 ms sample aged out", got)
	}
}

func TestLatRingQuantiles(t *testing.T) {
	var l latRing
	if p50, p99 := l.quantiles(); p50 != 0 || p99 != 0 {
		t.Fatal("empty ring has quantiles")
	}
	for i := 1; i <= 300; i++ { // only the last 128 (173..300 µs) are kept
		l.add(int64(i) * 1000)
	}
	p50, p99 := l.quantiles()
	if p50 != 0.236 || p99 != 0.299 {
		t.Fatalf("p50 %v p99 %v ms, want 0.236 and 0.299", p50, p99)
	}
	if l.v[0] == 0 {
		t.Fatal("quantiles sorted the ring in place")
	}
}

func TestUpstreamLoss(t *testing.T) {
	var u upstream
	// 65530..65535, 0..99 with every tenth missing, and a reordered one.
	n := 0
	for i := 0; i < 106; i++ {
		seq := uint16(65530 + i)
		if i%10 == 9 {
			continue
		}
		u.observe(seq)
		n++
	}
	u.observe(65531) // a late copy: counted as received
	sent := 106.0
	want := 100 * (sent - float64(n+1)) / sent
	if got := u.lossPct(); got < want-1e-9 || got > want+1e-9 {
		t.Fatalf("loss %v %%, want %v %%", got, want)
	}
}

// TestUpstreamRecentLoss: the recent figure follows the loss of the last
// RecentLossWindow, while the lifetime one keeps the past: 6 % loss for
// 10 s shows as 6 % in both, then after 6 s without loss the recent figure
// is 0 and the lifetime one still shows it; a young session's recent
// figure is its whole life.
func TestUpstreamRecentLoss(t *testing.T) {
	var u upstream
	seq := uint16(65000) // crosses wraparound
	now := int64(0)
	step := func(lossy bool, seconds int) {
		for range seconds * 100 {
			seq++
			now += 1e7 // 100 Hz
			if !(lossy && seq%50 < 3) {
				u.observe(seq)
			}
			if now%1e8 == 0 {
				u.mark(now) // published at 10 Hz
			}
		}
	}
	step(true, 1)
	if r, l := u.recentLossPct(), u.lossPct(); math.Abs(r-l) > 1e-9 || r < 2 || r > 8 {
		t.Fatalf("young session: recent %.2f %%, lifetime %.2f %%, want both the same, about 3-6 %% (edges)", r, l)
	}
	step(true, 9)
	if r := u.recentLossPct(); r < 5 || r > 7 {
		t.Fatalf("under loss: recent %.2f %%, want about 6", r)
	}
	step(false, 6)
	if r, l := u.recentLossPct(), u.lossPct(); r != 0 || l < 3 {
		t.Fatalf("6 s after the loss ended: recent %.2f %% (want 0), lifetime %.2f %% (want the past's)", r, l)
	}
	step(false, 100)
	if r := u.recentLossPct(); r != 0 {
		t.Fatalf("recent %.2f %%", r)
	}
}
