//go:build linux

package tick

import (
	"errors"
	"testing"
	"time"

	"github.com/arcadexr/arcade/internal/metrics"

	"golang.org/x/sys/unix"
)

func newTimer(tb testing.TB) *Timer {
	tb.Helper()
	tm, err := NewTimer()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tm.Close() })
	return tm
}

func TestNowMonotonic(t *testing.T) {
	a := Now()
	b := Now()
	if a <= 0 || b < a {
		t.Fatalf("Now went from %d to %d", a, b)
	}
	if n := testing.AllocsPerRun(1000, func() { Now() }); n != 0 {
		t.Fatalf("Now allocates %v times", n)
	}
}

func TestTimerWait(t *testing.T) {
	tm := newTimer(t)
	deadline := Now() + 2*time.Millisecond.Nanoseconds()
	if err := tm.Arm(deadline); err != nil {
		t.Fatal(err)
	}
	if n, err := tm.Consume(); n != 0 || err != nil {
		t.Fatalf("Consume before expiry = %d, %v; want 0, nil", n, err)
	}
	if err := tm.Wait(); err != nil {
		t.Fatal(err)
	}
	if now := Now(); now < deadline {
		t.Fatalf("Wait returned at %d, before the deadline %d", now, deadline)
	}
	if n, err := tm.Consume(); n != 0 || err != nil {
		t.Fatalf("Consume after Wait = %d, %v; want 0, nil (Wait consumed it)", n, err)
	}
}

func TestTimerConsume(t *testing.T) {
	tm := newTimer(t)
	if n, err := tm.Consume(); n != 0 || err != nil {
		t.Fatalf("Consume on a disarmed timer = %d, %v", n, err)
	}
	if err := tm.Arm(Now() + time.Hour.Nanoseconds()); err != nil {
		t.Fatal(err)
	}
	if n, err := tm.Consume(); n != 0 || err != nil {
		t.Fatalf("Consume an hour before expiry = %d, %v", n, err)
	}
	// A deadline in the past (here: 0, which would disarm a raw timerfd)
	// expires at once.
	if err := tm.Arm(0); err != nil {
		t.Fatal(err)
	}
	if err := tm.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := tm.Arm(Now() + time.Hour.Nanoseconds()); err != nil {
		t.Fatal(err)
	}
	if err := tm.Disarm(); err != nil {
		t.Fatal(err)
	}
	var spec unix.ItimerSpec
	if err := unix.TimerfdGettime(tm.Fd(), &spec); err != nil {
		t.Fatal(err)
	}
	if spec.Value.Nano() != 0 {
		t.Fatalf("timer still armed after Disarm: %+v", spec)
	}
}

func TestTimerEpoll(t *testing.T) {
	tm := newTimer(t)
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ep)
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(tm.Fd())}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, tm.Fd(), &ev); err != nil {
		t.Fatal(err)
	}
	events := make([]unix.EpollEvent, 4)
	if n, err := unix.EpollWait(ep, events, 0); n != 0 || err != nil {
		t.Fatalf("EpollWait on a disarmed timer = %d, %v", n, err)
	}

	deadline := Now() + time.Millisecond.Nanoseconds()
	if err := tm.Arm(deadline); err != nil {
		t.Fatal(err)
	}
	var n int
	for {
		n, err = unix.EpollWait(ep, events, 5000)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil || n != 1 || events[0].Fd != int32(tm.Fd()) {
		t.Fatalf("EpollWait = %d, %v, %+v; want the timer readable", n, err, events[:max(n, 0)])
	}
	if Now() < deadline {
		t.Fatalf("timer readable before its deadline")
	}
	if c, err := tm.Consume(); c != 1 || err != nil {
		t.Fatalf("Consume = %d, %v; want 1, nil", c, err)
	}
	if n, err := unix.EpollWait(ep, events, 0); n != 0 || err != nil {
		t.Fatalf("timer still readable after Consume: %d, %v", n, err)
	}
}

func TestTimerClose(t *testing.T) {
	tm, err := NewTimer()
	if err != nil {
		t.Fatal(err)
	}
	if err := tm.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tm.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v, want ErrClosed", err)
	}
}

func TestTimerConsumeAllocs(t *testing.T) {
	tm := newTimer(t)
	if err := tm.Arm(1); err != nil {
		t.Fatal(err)
	}
	if err := tm.Wait(); err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(100, func() { tm.Consume() }); a != 0 {
		t.Fatalf("Consume allocates %v times", a)
	}
}

// benchPeriod is the tick period of the lateness benchmarks: 120 Hz.
const benchPeriod = int64(time.Second / 120)

// reportLateness reports the quantiles of h as custom benchmark metrics.
func reportLateness(b *testing.B, h *metrics.Histogram) {
	b.ReportMetric(float64(h.Quantile(0.50)), "p50-late-ns")
	b.ReportMetric(float64(h.Quantile(0.99)), "p99-late-ns")
	b.ReportMetric(float64(h.Max()), "max-late-ns")
}

// BenchmarkTimerLateness measures how late a timerfd armed with absolute
// 120 Hz deadlines wakes a goroutine blocked in Wait. One op is one tick;
// run with -benchtime=200x for 200 ticks.
func BenchmarkTimerLateness(b *testing.B) {
	tm := newTimer(b)
	var late metrics.Histogram
	s := NewSchedule(benchPeriod, Now())
	for b.Loop() {
		if err := tm.Arm(s.Next()); err != nil {
			b.Fatal(err)
		}
		if err := tm.Wait(); err != nil {
			b.Fatal(err)
		}
		now := Now()
		deadline, _, _ := s.Fire(now)
		late.Record(now - deadline)
	}
	reportLateness(b, &late)
}

// BenchmarkTickerLateness measures the same for a 120 Hz time.Ticker,
// against the grid that starts when the ticker is created.
func BenchmarkTickerLateness(b *testing.B) {
	var late metrics.Histogram
	start := Now()
	tk := time.NewTicker(time.Duration(benchPeriod))
	defer tk.Stop()
	s := NewSchedule(benchPeriod, start)
	for b.Loop() {
		<-tk.C
		now := Now()
		deadline, _, _ := s.Fire(now)
		late.Record(now - deadline)
	}
	reportLateness(b, &late)
}

func BenchmarkNow(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Now()
	}
}
