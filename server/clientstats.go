package server

import (
	"math"
	"slices"
	"time"
)

// rttTracker estimates a client's round-trip time from the acknowledgements
// in its datagrams' headers: a unicast datagram sent at t and first
// acknowledged at t' is a sample t'−t. The client acknowledges in its next
// datagram (a pose, at display rate), so a sample includes up to one pose
// interval of waiting; the minimum over the last one to two seconds
// removes it, as BBR's min-RTT filter does.
type rttTracker struct {
	at       [rttSlots]int64 // send time of seq%rttSlots, mono ns; 0 = acknowledged or unknown
	seq      [rttSlots]uint16
	newest   uint16
	any      bool
	min      int64 // of the current window
	prevMin  int64 // of the previous window
	winStart int64
}

const (
	rttSlots  = 64
	rttWindow = int64(time.Second)
)

func (r *rttTracker) sent(seq uint16, now int64) {
	i := seq % rttSlots
	r.seq[i], r.at[i] = seq, now
}

func (r *rttTracker) acked(ack uint16, now int64) {
	if r.any && !seqNewer(ack, r.newest) {
		return
	}
	r.any, r.newest = true, ack
	i := ack % rttSlots
	if r.seq[i] != ack || r.at[i] == 0 {
		return
	}
	sample := now - r.at[i]
	r.at[i] = 0
	if now-r.winStart > rttWindow {
		r.prevMin, r.min, r.winStart = r.min, 0, now
	}
	if sample > 0 && (r.min == 0 || sample < r.min) {
		r.min = sample
	}
}

// estimate is the smallest sample of the last one to two seconds, ns; 0
// if none.
func (r *rttTracker) estimate() int64 {
	switch {
	case r.min == 0:
		return r.prevMin
	case r.prevMin == 0:
		return r.min
	}
	return min(r.min, r.prevMin)
}

// latRing keeps a client's most recent latency samples (µs). The tick
// thread only stores; readers copy it and compute quantiles.
type latRing struct {
	v [latSlots]int32
	n uint64
}

const latSlots = 128

func (l *latRing) add(ns int64) {
	l.v[l.n%latSlots] = int32(min(max(ns/1000, 0), math.MaxInt32))
	l.n++
}

// quantiles returns the p50 and p99 of the samples held, in ms (0, 0 if
// none). It sorts a copy; for readers, never the tick thread.
func (l latRing) quantiles() (p50, p99 float64) {
	n := int(min(l.n, latSlots))
	if n == 0 {
		return 0, 0
	}
	s := l.v[:n]
	slices.Sort(s)
	at := func(q float64) float64 { return float64(s[int(math.Ceil(q*float64(n)))-1]) / 1e3 }
	return at(0.5), at(0.99)
}

// seqNewer reports whether a is newer than b on the uint16 circle.
func seqNewer(a, b uint16) bool { return int16(a-b) > 0 }

// upstream counts a client's datagrams by header seq to estimate the loss
// on its path to the server: 1 − received/(highest − first + 1).
// Duplicates count as received, so it errs low when the network
// duplicates.
type upstream struct {
	any       bool
	first, hi int64 // seq extended past wraparound
	recv      int64
	// marks are (hi, recv) as they were at one-second marks (mark), the
	// newest at marks[nmarks%upMarks]: the recent loss is taken against
	// the one about RecentLossWindow ago.
	marks   [upMarks]upMark
	nmarks  uint64
	markAt  int64 // mono ns of the newest mark
	markAny bool
}

type upMark struct{ hi, recv int64 }

// RecentLossWindow is the span the recent loss figures cover
// (ClientInfo.UpstreamLossRecentPct); the marks are a second apart.
const RecentLossWindow = 5 * 1e9

const upMarks = RecentLossWindow/1e9 + 1

// mark records the counts once a second (called as the client list is
// published, about ten times a second).
func (u *upstream) mark(now int64) {
	if !u.any || u.markAny && now-u.markAt < 1e9 {
		return
	}
	if !u.markAny {
		// The first mark is the session's first datagram, so that a
		// young session's recent figure is its whole life.
		u.marks[0] = upMark{u.first - 1, 0}
		u.nmarks, u.markAny = 0, true
	} else {
		u.nmarks++
		u.marks[u.nmarks%upMarks] = upMark{u.hi, u.recv}
	}
	u.markAt = now
}

// recentLossPct is the loss since the oldest mark held (about
// RecentLossWindow ago, less for a younger session), in percent.
func (u *upstream) recentLossPct() float64 {
	if !u.markAny {
		return u.lossPct()
	}
	old := u.marks[0]
	if u.nmarks >= upMarks-1 {
		old = u.marks[(u.nmarks+1)%upMarks]
	}
	sent := u.hi - old.hi
	if sent <= 0 {
		return 0
	}
	return max(0, 100*float64(sent-(u.recv-old.recv))/float64(sent))
}

func (u *upstream) observe(seq uint16) {
	if !u.any {
		u.any, u.first, u.hi, u.recv = true, int64(seq), int64(seq), 1
		return
	}
	ext := u.hi + int64(int16(seq-uint16(u.hi)))
	u.hi = max(u.hi, ext)
	u.recv++
}

// lossPct is the estimated loss in percent.
func (u *upstream) lossPct() float64 {
	if !u.any {
		return 0
	}
	sent := u.hi - u.first + 1
	return max(0, 100*float64(sent-u.recv)/float64(sent))
}
