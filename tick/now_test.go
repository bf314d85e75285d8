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
	if l.Lead() != leadMargin {
		t.Fatalf("fresh lead %d, want the margin %d", l.Lead(), leadMargin)
	}
	l.Observe(100_000)
	if got := l.Lead(); got != 100_000+leadMargin {
		t.Fatalf("after a 100µs wake: lead %d", got)
	}
	l.Observe(-5) // early wakes do not lower it below the decay
	for range 256 * 8 {
		l.Observe(10_000)
	}
	if got := l.Lead(); got < 10_000+leadMargin || got > 15_000+leadMargin {
		t.Fatalf("lead did not decay toward 10µs: %d", got)
	}
	l.Observe(5_000_000)
	if got := l.Lead(); got != l.Max {
		t.Fatalf("lead %d not capped at Max %d", got, l.Max)
	}
	off := Lead{}
	off.Observe(100_000)
	if off.Lead() != 0 {
		t.Fatal("Max 0 must disable early waking")
	}
}

func BenchmarkSysNow(b *testing.B) {
	for b.Loop() {
		sysNow()
	}
}
