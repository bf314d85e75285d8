//go:build linux

package hostprobe

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/arcadexr/arcade/tick"
)

// hangGuard bounds waits that only a broken probe would exceed; it is not
// a timing requirement.
const hangGuard = 30 * time.Second

// startProbe starts a probe and stops it at the end of the test.
func startProbe(tb testing.TB, cfg Config) *Probe {
	tb.Helper()
	p, err := Start(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Stop)
	return p
}

// waitWakes waits until p has recorded at least n wakes.
func waitWakes(tb testing.TB, p *Probe, n uint64) {
	tb.Helper()
	limit := time.Now().Add(hangGuard)
	for p.Lateness().Count() < n {
		if time.Now().After(limit) {
			tb.Fatalf("only %d wakes recorded after %v", p.Lateness().Count(), hangGuard)
		}
		if err := p.Err(); err != nil {
			tb.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestProbeRecords(t *testing.T) {
	p := startProbe(t, Config{})
	if p.Period() != DefaultPeriod {
		t.Errorf("Period() = %v, want the default %v", p.Period(), DefaultPeriod)
	}
	waitWakes(t, p, 50)
	h := p.Lateness()
	p50, p99, maxLate := h.Quantile(0.5), h.Quantile(0.99), h.Max()
	if p50 < 0 || p50 > p99 || p99 > maxLate {
		t.Errorf("lateness p50 %d, p99 %d, max %d: want 0 <= p50 <= p99 <= max", p50, p99, maxLate)
	}
	t.Logf("%d wakes: lateness p50 %v, p99 %v, max %v; probe thread CPU %v",
		h.Count(), time.Duration(p50), time.Duration(p99), time.Duration(maxLate), p.CPUTime())
	if p.CPUTime() <= 0 {
		t.Errorf("CPUTime() = %v after %d wakes", p.CPUTime(), h.Count())
	}

	// A window of recent deadlines: each was served by a recorded wake or
	// is the armed one, counted with the time since. Recorded wakes are at
	// most the histogram's max late.
	now := tick.Now()
	from, to := now-20*p.period, now-10*p.period
	late, ok := p.LateAround(from, to)
	if bound := max(h.Max(), tick.Now()-from); !ok || late < 0 || late > bound {
		t.Errorf("LateAround(now-20ms, now-10ms) = %d, %v; want ok and 0..%d", late, ok, bound)
	}
	first := p.ring.start + p.period // the first deadline
	if late, ok := p.LateAround(0, first-1); ok {
		t.Errorf("LateAround before the first deadline = %d, true", late)
	}
	if late, ok := p.LateAround(now+time.Hour.Nanoseconds(), now+2*time.Hour.Nanoseconds()); ok {
		t.Errorf("LateAround an hour ahead = %d, true", late)
	}

	// Reset swaps in an empty histogram; once the probe records into the
	// new one, the old one no longer changes.
	old := p.Lateness()
	p.Reset()
	if p.Lateness() == old {
		t.Fatal("Reset kept the histogram")
	}
	waitWakes(t, p, 5)
	n := old.Count()
	waitWakes(t, p, 10)
	if m := old.Count(); m != n {
		t.Errorf("the histogram replaced by Reset went on counting: %d, then %d", n, m)
	}
}

func TestProbeStop(t *testing.T) {
	before := runtime.NumGoroutine()
	p, err := Start(Config{Period: 200 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	waitWakes(t, p, 3)
	p.Stop()
	select {
	case <-p.Done():
	default:
		t.Fatal("Done not closed after Stop returned")
	}
	if err := p.Err(); err != nil {
		t.Errorf("Err after Stop = %v", err)
	}
	p.Stop() // again: no effect
	cpu := p.CPUTime()
	if cpu <= 0 {
		t.Errorf("CPUTime after Stop = %v", cpu)
	}
	if again := p.CPUTime(); again != cpu {
		t.Errorf("CPUTime changed after Stop: %v, then %v", cpu, again)
	}
	n := p.Lateness().Count()
	time.Sleep(5 * time.Millisecond) // 25 periods
	if m := p.Lateness().Count(); m != n {
		t.Errorf("%d wakes recorded after Stop", m-n)
	}
	// The goroutine has returned: Stop waited for it. Other tests'
	// goroutines may still be winding down, hence the retries.
	limit := time.Now().Add(hangGuard)
	for runtime.NumGoroutine() > before {
		if time.Now().After(limit) {
			t.Fatalf("%d goroutines after Stop, %d before Start", runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestProbeStopConcurrent(t *testing.T) {
	p, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	for range 3 {
		go func() { p.Stop(); done <- struct{}{} }()
	}
	for range 3 {
		<-done
	}
}

func TestProbeRealtime(t *testing.T) {
	p := startProbe(t, Config{Priority: 10, Pin: true, CPU: firstCPU(t)})
	waitWakes(t, p, 10)
	// Refused without CAP_SYS_NICE: the probe runs anyway and says why.
	if err := p.RealtimeErr(); err != nil {
		t.Logf("SCHED_FIFO refused, running at normal priority: %v", err)
		if !strings.Contains(err.Error(), "priority 10") {
			t.Errorf("RealtimeErr %q does not name the priority", err)
		}
	}
}

// firstCPU returns the lowest CPU the process may run on.
func firstCPU(t *testing.T) int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	for c := range 8 * len(set) {
		if set.IsSet(c) {
			return c
		}
	}
	t.Fatal("no CPU allowed")
	return 0
}

// release closes the descriptors of a probe made by newProbe and never
// started.
func release(p *Probe) {
	p.timer.Close()
	unix.Close(p.stopFd)
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string // in the error
	}{
		{Config{Period: time.Microsecond}, "Period 1µs"},
		{Config{Period: 2 * time.Second}, "Period 2s"},
		{Config{Period: -time.Millisecond}, "Period -1ms"},
		{Config{Priority: -1}, "Priority -1"},
		{Config{Priority: 100}, "Priority 100"},
		{Config{CPU: 1}, "CPU 1 is set but Pin is false"},
		{Config{Pin: true, CPU: -1}, "CPU -1"},
		{Config{Pin: true, CPU: 5000}, "CPU 5000"},
	}
	for _, tt := range tests {
		p, err := Start(tt.cfg)
		if err == nil {
			p.Stop()
			t.Errorf("Start(%+v) succeeded", tt.cfg)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Start(%+v) = %q; want it to name %q", tt.cfg, err, tt.want)
		}
	}
	// The bounds themselves are valid.
	for _, cfg := range []Config{{Period: MinPeriod}, {Period: MaxPeriod}, {Priority: 0}} {
		p, err := Start(cfg)
		if err != nil {
			t.Errorf("Start(%+v) = %v", cfg, err)
			continue
		}
		p.Stop()
	}
}

// TestProbeWakeAllocs runs the probe's whole per-wake path (arm, poll,
// read the timer, record) on deadlines that have already passed, so every
// wait returns at once.
func TestProbeWakeAllocs(t *testing.T) {
	p, err := newProbe(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer release(p)
	p.ring.init(tick.Now()-time.Hour.Nanoseconds(), p.period)
	deadline := p.ring.start + p.period
	if a := testing.AllocsPerRun(200, func() {
		now, stop, err := p.wait(deadline)
		if err != nil || stop {
			t.Fatalf("wait = %v, %v", stop, err)
		}
		// Serve the deadline the way the loop would, but step along the
		// grid rather than jump to now, to stay in the past.
		p.serve(deadline, now)
		deadline += p.period
	}); a != 0 {
		t.Errorf("one wake allocates %v times", a)
	}
	if n := p.Lateness().Count(); n < 200 {
		t.Errorf("%d wakes recorded, want at least 200", n)
	}
	if a := testing.AllocsPerRun(200, func() {
		p.LateAround(deadline-10*p.period, deadline)
		p.Lateness().Quantile(0.99)
		p.CPUTime()
	}); a != 0 {
		t.Errorf("the readers allocate %v times", a)
	}
}
