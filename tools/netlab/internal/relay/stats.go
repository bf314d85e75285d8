package relay

import (
	"sync/atomic"

	"github.com/arcadexr/arcade/internal/metrics"
)

// hist is a histogram of nanoseconds that also keeps the minimum. Record is
// called by the relay's loop only; readers may read concurrently.
type hist struct {
	metrics.Histogram
	min atomic.Int64 // valid when Count() > 0
}

func (h *hist) record(v int64) {
	v = max(v, 0)
	if h.Count() == 0 || v < h.min.Load() {
		h.min.Store(v)
	}
	h.Record(v)
}

// Quantiles summarises a histogram, in nanoseconds.
type Quantiles struct {
	N                  uint64
	Min, P50, P99, Max int64
}

// quantilesOf summarises h; its minimum is the lowest bucket's bound.
func quantilesOf(h *metrics.Histogram) Quantiles {
	q := Quantiles{N: h.Count()}
	if q.N == 0 {
		return q
	}
	q.Min, q.P50, q.P99, q.Max = h.Quantile(0), h.Quantile(0.5), h.Quantile(0.99), h.Max()
	return q
}

func (h *hist) quantiles() Quantiles {
	q := Quantiles{N: h.Count()}
	if q.N == 0 {
		return q
	}
	q.Min, q.P50, q.P99, q.Max = h.min.Load(), h.Quantile(0.5), h.Quantile(0.99), h.Max()
	return q
}

// dirStats are one direction's live counters.
type dirStats struct {
	received                         metrics.Counter
	forwarded, dropped, held, nonUDP metrics.Counter
	txErrors, oversize, poolFull     metrics.Counter
	// intended: scheduled release − arrival. actual: release − arrival.
	// late: release − max(scheduled release, read): how long after the
	// relay could have sent a frame it did. readLag: read − arrival.
	// overdue: frames read only after their scheduled release. Arrival is
	// the kernel's receive timestamp; release is when the write to the
	// outgoing interface returned.
	intended, actual, late, readLag hist
	overdue                         metrics.Counter
}

// DirStats is a snapshot of one direction. Times are nanoseconds.
type DirStats struct {
	Received  uint64 // frames read from the incoming interface
	Forwarded uint64 // frames sent on
	Dropped   uint64 // lost by the profile
	Held      uint64 // group frames held for a DTIM burst (also in Forwarded once sent)
	NonUDP    uint64 // forwarded frames that were not IPv4 UDP (ARP, IGMP, ...)
	TxErrors  uint64 // writes the kernel refused
	Oversize  uint64 // frames longer than a buffer slot, dropped
	PoolFull  uint64 // frames dropped because every slot was in use
	Overdue   uint64 // delayed frames read only after their scheduled release time
	// Intended is the scheduled delay (release time − arrival), the
	// profile's doing. Actual is the delay the frame got (sent − arrival).
	// Late is the relay's own lateness: sent − the later of the scheduled
	// time and the moment the relay read the frame. ReadLag is the time
	// from the kernel's receive stamp to the relay's read: the kernel's
	// delivery (softirq) plus the relay's wake-up. Actual ≤ Intended +
	// ReadLag + Late for every frame.
	Intended Quantiles
	Actual   Quantiles
	Late     Quantiles
	ReadLag  Quantiles
}

func (s *dirStats) snapshot() DirStats {
	d := DirStats{
		Forwarded: s.forwarded.Load(),
		Dropped:   s.dropped.Load(),
		Held:      s.held.Load(),
		NonUDP:    s.nonUDP.Load(),
		TxErrors:  s.txErrors.Load(),
		Oversize:  s.oversize.Load(),
		PoolFull:  s.poolFull.Load(),
		Overdue:   s.overdue.Load(),
		Intended:  s.intended.quantiles(),
		Actual:    s.actual.quantiles(),
		Late:      s.late.quantiles(),
		ReadLag:   s.readLag.quantiles(),
	}
	// Last: every frame counted elsewhere was counted here first, so a
	// snapshot taken while the relay runs never has Queued below zero.
	d.Received = s.received.Load()
	return d
}

// UDPForwarded is the number of IPv4 UDP frames sent on (loss applies to
// those only, so every frame not forwarded as UDP was forwarded as
// something else).
func (d DirStats) UDPForwarded() uint64 { return d.Forwarded - min(d.NonUDP, d.Forwarded) }

// Queued is the number of frames received and not yet sent on or dropped:
// the frames the relay holds. A snapshot of a running relay may count a
// frame being sent as still held, never the other way round.
func (d DirStats) Queued() uint64 {
	out := d.Forwarded + d.Dropped + d.TxErrors + d.Oversize + d.PoolFull
	if out >= d.Received {
		return 0
	}
	return d.Received - out
}

// Stats is a snapshot of the relay's measurements.
type Stats struct {
	Profile    string
	ToHeadsets DirStats
	ToServer   DirStats
	// AddedP99 is the 99th percentile of the actual delay the relay added,
	// over both directions' frames (the larger of the two).
	AddedP99 int64
	// LateP99 is the larger of the two directions' p99 lateness.
	LateP99 int64
	// Wake is the lateness of the relay thread's timer wake-ups (woken −
	// armed time): how promptly the host runs the relay.
	Wake Quantiles
	// Mallocs counts the heap allocations of the relay's process while it
	// forwarded (set by Run): per-frame allocation would make it at least
	// the number of frames.
	Mallocs uint64
	// RealtimeErr says why the relay ran without SCHED_FIFO, if it did.
	RealtimeErr string `json:",omitempty"`
}
