package server_test

import (
	"io"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/record"
	"github.com/arcadexr/arcade/server"
)

// threadCPU is the calling thread's CPU time, user and system, ns.
func threadCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// countingDiscard counts what a recording writes.
type countingDiscard struct{ n atomic.Int64 }

func (c *countingDiscard) Write(b []byte) (int, error) { c.n.Add(int64(len(b))); return len(b), nil }

var _ io.Writer = (*countingDiscard)(nil)

// TestHotPathAllocationFreeWithRecord: recording on (every world call,
// every tick's hash and changed entities, a keyframe every tick),
// still no allocation per receive → tick → send round.
func TestHotPathAllocationFreeWithRecord(t *testing.T) {
	out := &countingDiscard{}
	rw, err := record.New(out, record.Config{TickRate: server.DefaultTickRate, KeyEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv, rp, now := hotPathConfig(t, 16, false, true, server.Config{Persist: server.Persist{Record: rw}})
	for range 20 { // the chunks, keyframes and buffers grow once
		round(srv, rp, now)
		time.Sleep(time.Millisecond)
	}
	if allocs := testing.AllocsPerRun(200, func() { round(srv, rp, now) }); allocs != 0 {
		t.Fatalf("%.1f allocations per round with the session recorded, want 0", allocs)
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	s := rw.Stats()
	if s.Ticks < 200 || s.Events < 200*16 || s.Keyframes == 0 || out.n.Load() != s.Bytes {
		t.Fatalf("recorded %+v, %d bytes out", s, out.n.Load())
	}
}

// BenchmarkReceiveTickSendPersist is BenchmarkReceiveTickSend's
// arcade-grabbing-16 with nothing kept, with a checkpoint every second,
// with the session recorded, and with both: what they add to the hot
// path, per received datagram. Besides the wall time it reports the
// thread's own CPU time (cpu-ns/op), which other load on a shared box
// inflates less.
func BenchmarkReceiveTickSendPersist(b *testing.B) {
	for _, tc := range []struct {
		name       string
		ckpt, recd bool
	}{{"plain", false, false}, {"checkpoint", true, false}, {"record", false, true}, {"both", true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			var p server.Persist
			var closers []func() error
			if tc.ckpt {
				cw := checkpoint.NewWriterFunc("bench", func([]byte) error { return nil })
				p.Checkpoint, closers = cw, append(closers, cw.Close)
			}
			if tc.recd {
				rw, err := record.New(&countingDiscard{}, record.Config{TickRate: server.DefaultTickRate})
				if err != nil {
					b.Fatal(err)
				}
				p.Record, closers = rw, append(closers, rw.Close)
			}
			srv, rp, now := hotPathConfig(b, 16, false, true, server.Config{Persist: p})
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := threadCPU()
			for i := 0; i < b.N; i += 16 {
				round(srv, rp, now)
			}
			b.ReportMetric(float64(threadCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			b.StopTimer()
			for _, c := range closers {
				c()
			}
		})
	}
}
