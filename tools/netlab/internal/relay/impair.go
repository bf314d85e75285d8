package relay

import (
	"math/rand/v2"
)

// flowSlots is the size of the per-flow order table. Flows that share a
// slot are kept in order together, which is stricter, never looser.
const flowSlots = 256

// Impairer decides, for one direction, whether each frame is dropped and
// when it is released. It never reads a clock: arrival times are passed in
// (nanoseconds on one monotonic clock). It does not allocate after
// NewImpairer and is not safe for concurrent use.
type Impairer struct {
	dir    Dir
	rng    *rand.Rand
	loss   lossState
	last   [flowSlots]int64 // latest release per flow slot
	origin int64
}

// NewImpairer returns an Impairer for d drawing from a generator seeded with
// seed. origin is the time of a DTIM beacon: group frames held by
// d.GroupHold are released at origin + k·GroupHold.
func NewImpairer(d Dir, seed uint64, origin int64) *Impairer {
	return &Impairer{
		dir:    d,
		rng:    rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d)),
		origin: origin,
	}
}

// Decision is what happens to one frame.
type Decision struct {
	Drop    bool  // lost: not forwarded
	Held    bool  // group frame held for the next DTIM burst
	UDP     bool  // IPv4 UDP (loss applies)
	Release int64 // when to forward it; meaningless if Drop
}

// Decide returns the fate of frame f, which arrived at arrival.
func (im *Impairer) Decide(arrival int64, f []byte) Decision {
	fi := classify(f)
	d := Decision{UDP: fi.udp}
	if fi.udp && im.loss.lose(&im.dir.Loss, im.rng) {
		d.Drop = true
		return d
	}
	delay := int64(im.dir.Delay)
	if j := int64(im.dir.Jitter); j > 0 {
		delay += im.rng.Int64N(2*j+1) - j
	}
	rel := arrival + delay
	if fi.group && im.dir.GroupHold > 0 {
		rel = NextBoundary(arrival, im.origin, int64(im.dir.GroupHold))
		d.Held = true
	}
	if !im.dir.Reorder {
		slot := &im.last[fi.flow%flowSlots]
		rel = max(rel, *slot)
		*slot = rel
	}
	d.Release = rel
	return d
}

// NextBoundary returns the first time origin + k·period (k ≥ 0) at or after
// t. period must be positive.
func NextBoundary(t, origin, period int64) int64 {
	if t <= origin {
		return origin
	}
	k := (t - origin + period - 1) / period
	return origin + k*period
}
