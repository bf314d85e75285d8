//go:build linux

package tick

import "testing"

func TestNowIsClockMonotonic(t *testing.T) {
	for range 1000 {
		a := sysNow()
		n := Now()
		b := sysNow()
		if n < a-baseSkew || n > b+baseSkew {
			t.Fatalf("Now() = %d outside CLOCK_MONOTONIC bracket [%d, %d] ± %d", n, a, b, baseSkew)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { Now() }); allocs != 0 {
		t.Fatalf("Now allocates %.0f", allocs)
	}
}

func TestLead(t *testing.T) {
	l := Lead{Max: 500_000}
	if l.Lead() != 0 {
		t.Fatalf("fresh lead %d, want 0", l.Lead())
	}
	l.Observe(100_000)
	if got := l.Lead(); got != 100_000+leadMargin {
		t.Fatalf("after a 100µs wake: lead %d", got)
	}
	// A host that wakes within leadWorth is not worth spinning for.
	for range leadWindow {
		l.Observe(5_000)
	}
	if got := l.Lead(); got != 0 {
		t.Fatalf("lead %d for a host 5 µs late", got)
	}
	// Ordinary lateness of 60 µs with an outlier of 5 ms in every 20
	// wakes: the lead covers the ordinary, not the outlier.
	for i := range 4 * leadWindow {
		late := int64(60_000)
		if i%20 == 0 {
			late = 5_000_000
		}
		l.Observe(late)
	}
	if got := l.Lead(); got != 60_000+leadMargin {
		t.Fatalf("lead %d with rare outliers, want the ordinary 60 µs + margin", got)
	}
	// Mostly late beyond Max: capped.
	for range leadWindow {
		l.Observe(2_000_000)
	}
	if got := l.Lead(); got != l.Max {
		t.Fatalf("lead %d not capped at Max %d", got, l.Max)
	}
	off := Lead{}
	off.Observe(100_000)
	if off.Lead() != 0 {
		t.Fatal("Max 0 must disable early waking")
	}
	if a := testing.AllocsPerRun(100, func() { l.Observe(70_000) }); a != 0 {
		t.Fatalf("Observe allocates %v", a)
	}
}

func BenchmarkSysNow(b *testing.B) {
	for b.Loop() {
		sysNow()
	}
}
