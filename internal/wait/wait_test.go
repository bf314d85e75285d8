package wait

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestUntilReturnsOnceTheConditionHolds(t *testing.T) {
	var calls atomic.Int32
	if !Until(time.Minute, func() bool { return calls.Add(1) == 3 }) {
		t.Fatal("Until reported a timeout")
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("cond called %d times, want 3", n)
	}
}

func TestUntilChecksAtLeastOnce(t *testing.T) {
	called := false
	if !Until(0, func() bool { called = true; return true }) || !called {
		t.Fatalf("Until(0) = false or cond not called (%v)", called)
	}
	if Until(0, func() bool { return false }) {
		t.Fatal("Until(0) with a false condition reported true")
	}
}

func TestUntilTimesOut(t *testing.T) {
	const timeout = 20 * time.Millisecond
	start := time.Now()
	if Until(timeout, func() bool { return false }) {
		t.Fatal("Until reported a condition that never held")
	}
	// It does not give up before the timeout.
	if d := time.Since(start); d < timeout {
		t.Errorf("Until gave up after %v, before its timeout %v", d, timeout)
	}
}
