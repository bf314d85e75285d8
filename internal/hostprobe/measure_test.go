//go:build linux

package hostprobe

import (
	"flag"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/arcadexr/arcade/internal/metrics"
	"github.com/arcadexr/arcade/tick"
)

var measure = flag.Duration("measure", 2*time.Second,
	"BenchmarkMeasure: how long each phase runs")

// BenchmarkMeasure logs what the probe costs and sees on this machine; it
// asserts nothing and runs once whatever b.N is (it is a measurement, run
// by make bench, not a test). Phase 1 runs the default probe alone and reports its
// thread's CPU time and the whole process's. Phase 2 runs, side by side in
// the same seconds, the default probe, a SCHED_FIFO probe and a goroutine
// woken by a time.Ticker at the same period, and reports the lateness of
// each.
//
//	go test -run '^$' -bench Measure ./internal/hostprobe -args -measure=10s
func BenchmarkMeasure(b *testing.B) {
	for b.Loop() {
		measureOnce(b, *measure)
	}
}

// measureOnce takes 2·d; with a d of a second or more one op outlasts
// the default benchtime, so the benchmark runs it once.
func measureOnce(t *testing.B, d time.Duration) {
	steal, err := NewStealSampler("")
	if err != nil {
		t.Fatal(err)
	}
	defer steal.Close()

	// Phase 1: the probe alone.
	p := startProbe(t, Config{})
	waitWakes(t, p, 10) // past the thread's start
	cpu0, proc0, wall0 := p.CPUTime(), processCPU(t), time.Now()
	steal.Sample()
	time.Sleep(d)
	cpu1, proc1, wall := p.CPUTime(), processCPU(t), time.Since(wall0)
	st, err := steal.Sample()
	p.Stop()
	h := p.Lateness()
	t.Logf("phase 1, probe alone, period %v, %v: %d wakes; probe thread CPU %v = %.2f%% of a core (%.1f µs a wake); process CPU %.2f%% of a core; steal %.1f%% (%v)",
		p.Period(), wall.Round(time.Millisecond), h.Count(), cpu1-cpu0,
		100*float64(cpu1-cpu0)/float64(wall), float64(cpu1-cpu0)/float64(h.Count())/1e3,
		100*float64(proc1-proc0)/float64(wall), st, err)
	t.Logf("phase 1 probe lateness: %s", quantiles(h))

	// Phase 2: probe, SCHED_FIFO probe and time.Ticker in the same seconds.
	normal := startProbe(t, Config{})
	fifo := startProbe(t, Config{Priority: 10})
	if err := fifo.RealtimeErr(); err != nil {
		t.Logf("phase 2: %v (the FIFO probe runs at normal priority)", err)
	}
	var ticker metrics.Histogram
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() { tickerLateness(DefaultPeriod, &ticker, stop) })
	time.Sleep(20 * time.Millisecond)
	normal.Reset()
	fifo.Reset()
	ticker.Reset() // the ticker goroutine records on; a partial record is noise here
	steal.Sample()
	time.Sleep(d)
	st, err = steal.Sample()
	ns, fs, ts := quantiles(normal.Lateness()), quantiles(fifo.Lateness()), quantiles(&ticker)
	close(stop)
	wg.Wait()
	t.Logf("phase 2, same %v, period %v, steal %.1f%% (%v):", d, DefaultPeriod, st, err)
	t.Logf("  probe, normal priority: %s", ns)
	t.Logf("  probe, SCHED_FIFO 10:   %s", fs)
	t.Logf("  time.Ticker goroutine:  %s", ts)
}

// tickerLateness records, until stop is closed, how late a goroutine woken
// by a time.Ticker runs after each deadline of the ticker's grid; deadlines
// a late wake skips count as the probe's do (only the one waited for).
func tickerLateness(period time.Duration, h *metrics.Histogram, stop <-chan struct{}) {
	// The runtime starts the ticker's grid a little after start: lateness
	// is overstated by that much (well under a microsecond).
	start := tick.Now()
	tk := time.NewTicker(period)
	defer tk.Stop()
	s := tick.NewSchedule(int64(period), start)
	for {
		select {
		case <-stop:
			return
		case <-tk.C:
		}
		now := tick.Now()
		h.Record(now - s.Next())
		s.Fire(now)
	}
}

// processCPU returns the user and system CPU time of the whole process.
func processCPU(t testing.TB) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// quantiles formats the lateness quantiles of h.
func quantiles(h *metrics.Histogram) string {
	return fmt.Sprintf("%d wakes, p50 %v, p99 %v, p99.9 %v, max %v, mean %v",
		h.Count(), time.Duration(h.Quantile(0.5)), time.Duration(h.Quantile(0.99)),
		time.Duration(h.Quantile(0.999)), time.Duration(h.Max()), time.Duration(h.Mean()).Round(time.Nanosecond))
}
