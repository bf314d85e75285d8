// Package wait lets tests await a condition that another goroutine or
// process brings about, instead of sleeping for a guessed time: it checks
// the condition at once, then at short, growing intervals, until it holds
// or a deadline passes. The deadline only bounds a failing test; a passing
// one returns as soon as the condition holds.
package wait

import (
	"testing"
	"time"
)

// Poll intervals: the first check is immediate, later ones back off from
// minInterval to maxInterval.
const (
	minInterval = time.Millisecond
	maxInterval = 25 * time.Millisecond
)

// Until calls cond until it reports true or timeout has passed, and
// reports whether it did. cond is called at least once.
func Until(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	interval := minInterval
	for {
		if cond() {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		time.Sleep(min(interval, left))
		interval = min(2*interval, maxInterval)
	}
}

// For is Until that fails tb with a message naming what was awaited when
// timeout passes first.
func For(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	if !Until(timeout, cond) {
		tb.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}
