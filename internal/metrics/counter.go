package metrics

import "sync/atomic"

// Counter is a monotonically increasing count that is safe for concurrent
// use. The zero value is a counter at 0. A Counter must not be copied after
// first use.
type Counter struct {
	v atomic.Uint64
}

// Add adds n to the counter.
func (c *Counter) Add(n uint64) { c.v.Add(n) }

// Inc adds 1 to the counter.
func (c *Counter) Inc() { c.v.Add(1) }

// Load returns the current count.
func (c *Counter) Load() uint64 { return c.v.Load() }
