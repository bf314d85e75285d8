package reliable

import (
	"testing"
	"time"
)

// TestZeroAllocs: once warm, sending, polling, receiving and acknowledging
// small messages (reliable on every stream, and unreliable) allocates
// nothing.
func TestZeroAllocs(t *testing.T) {
	p := newPipe(t, Config{})
	msg := []byte("grab entity 17 with the left hand")
	got := 0
	fn := func(int, []byte) { got++ }
	iter := func() {
		for s := range 4 {
			if err := p.a.Send(p.now, s, msg); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.a.SendUnreliable(p.now, msg[:11]); err != nil {
			t.Fatal(err)
		}
		p.round(int64(300 * time.Microsecond))
		p.b.Receive(fn)
		p.round(int64(AckDelay)) // b's delayed acknowledgement
	}
	for range 1000 {
		iter()
	}
	got = 0
	const runs = 1000
	if allocs := testing.AllocsPerRun(runs, iter); allocs != 0 {
		t.Errorf("%v allocations per round trip, want 0", allocs)
	}
	p.round(int64(AckDelay))
	p.round(int64(AckDelay))
	if got != 5*(runs+1) {
		t.Errorf("delivered %d messages, want %d", got, 5*(runs+1))
	}
	if st := p.a.Stats(); st.QueueBytes != 0 || st.InFlight != 0 {
		t.Errorf("sender not drained: %+v", st)
	}
}

// BenchmarkSmallMessages: 32-byte messages on four streams through a
// lossless pair.
func BenchmarkSmallMessages(b *testing.B) {
	p := newPipe(b, Config{})
	msg := make([]byte, 32)
	got := 0
	fn := func(int, []byte) { got++ }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		// A backlog of up to 256 messages per round.
		for n := 0; i < b.N && n < 256; i, n = i+1, n+1 {
			if p.a.Send(p.now, i%4, msg) != nil {
				break
			}
		}
		p.round(int64(50 * time.Microsecond))
		p.b.Receive(fn)
	}
	for got < b.N {
		p.round(int64(AckDelay))
		p.b.Receive(fn)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkLargeMessages: 200 KiB messages through a lossless pair.
func BenchmarkLargeMessages(b *testing.B) {
	p := newPipe(b, Config{})
	msg := make([]byte, 200<<10)
	got := 0
	fn := func(int, []byte) { got++ }
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		for ; i < b.N; i++ {
			if p.a.Send(p.now, 0, msg) != nil {
				break
			}
		}
		p.round(int64(50 * time.Microsecond))
		p.b.Receive(fn)
	}
	for got < b.N {
		p.round(int64(AckDelay))
		p.b.Receive(fn)
	}
}
