package main

import (
	"encoding/json"
	"io"
	"math"
	"os"
	"os/signal"
	"sync"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/wire"
)

// Interval reports (--interval-reports): each SIGUSR1 makes the bot print
// one JSON line, an IntervalReport of what its headsets measured since the
// previous SIGUSR1 (or since they connected), so that a driver running the
// bots for a long time (arcade-load) can cut their measurements into
// windows of its own, aligned with the server's. The first SIGUSR1 of a
// window marks its start; the driver discards that line. The final report
// is printed as without the flag, after the last interval line.

// histBase is the ratio between the bounds of neighbouring latency buckets:
// a quantile read from the histogram is within 2 % of the sample's value.
const histBase = 1.02

// histBucket is the bucket of a latency of ns nanoseconds: 0 for at most
// 1 µs, else ceil(log_histBase(µs)).
func histBucket(ns int64) int {
	us := float64(ns) / 1e3
	if us <= 1 {
		return 0
	}
	return int(math.Ceil(math.Log(us) / math.Log(histBase)))
}

// HistBucketUpperMS is the upper bound of bucket b, ms.
func HistBucketUpperMS(b int) float64 { return math.Pow(histBase, float64(b)) / 1e3 }

// IntervalReport is one interval line.
type IntervalReport struct {
	Interval bool `json:"interval"` // always true: tells the line from the final report
	// Connected counts the headsets connected at the end of the interval.
	Connected int `json:"connected"`
	// InputsSent counts inputs sent in the interval, Snapshots the state
	// datagrams (snapshots and entity-update carried reports are not
	// counted here) received; PathReceived and PathLost are the
	// sessions' path counters over the interval (snapshot loss =
	// lost / (received + lost)).
	InputsSent   uint64 `json:"inputs_sent"`
	Snapshots    uint64 `json:"snapshots_received"`
	PathReceived uint64 `json:"path_received"`
	PathLost     uint64 `json:"path_lost"`
	// InputToState is the input_to_state samples of the interval as a
	// histogram: pairs of [bucket, count], bucket b holding latencies up to
	// 1.02^b µs (see HistBucketUpperMS).
	InputToState [][2]int `json:"input_to_state_hist"`
	Samples      int      `json:"input_to_state_samples"`
	// Epochs is each connected headset's epoch, for a standby pair's
	// servers (PROTOCOL §18): which server each follows now.
	Epochs []uint32 `json:"epochs,omitempty"`
	// Holding counts the headsets holding their object (--grab).
	Holding int `json:"holding,omitempty"`
}

// intervalMark is what a bot had counted at the previous interval line.
type intervalMark struct {
	latency                  int // index into recorder.latency
	inputs, snaps, recv, lst uint64
}

// intervals prints interval lines on SIGUSR1 until stop is called.
type intervals struct {
	mu    sync.Mutex
	out   io.Writer
	bots  []*bot
	marks map[*bot]intervalMark
	sig   chan os.Signal
	done  chan struct{}
	once  sync.Once
}

// watchIntervals starts answering SIGUSR1 on out (every write to out goes
// through lock). It must run before anything could send the signal, whose
// default action ends the process.
func watchIntervals(out io.Writer, lock *sync.Mutex) *intervals {
	iv := &intervals{out: out, marks: map[*bot]intervalMark{}, sig: make(chan os.Signal, 4), done: make(chan struct{})}
	if intervalSignal != nil { // parseFlags refuses --interval-reports without one
		signal.Notify(iv.sig, intervalSignal)
	}
	go func() {
		defer close(iv.done)
		for range iv.sig {
			rep := iv.take()
			lock.Lock()
			json.NewEncoder(iv.out).Encode(rep)
			lock.Unlock()
		}
	}()
	return iv
}

// setBots names the connected headsets.
func (iv *intervals) setBots(bots []*bot) {
	iv.mu.Lock()
	iv.bots = bots
	iv.mu.Unlock()
}

// stop stops answering (a later SIGUSR1 is ignored, not fatal) and waits
// for a line being written.
func (iv *intervals) stop() {
	iv.once.Do(func() {
		if intervalSignal != nil {
			signal.Ignore(intervalSignal)
		}
		signal.Stop(iv.sig)
		close(iv.sig)
		<-iv.done
	})
}

// take builds the report of the interval ending now and starts the next.
func (iv *intervals) take() IntervalReport {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	rep := IntervalReport{Interval: true}
	hist := map[int]int{}
	for _, b := range iv.bots {
		st := b.c.Stats()
		if b.c.State() == client.Connected {
			rep.Connected++
			if e, ok := b.c.Epoch(); ok {
				rep.Epochs = append(rep.Epochs, e)
			}
		}
		ps := st.Multicast
		if b.c.Accepted().Flags&wire.AcceptedUnicast != 0 {
			ps = st.Unicast
		}
		m := iv.marks[b]
		r := b.rec
		r.mu.Lock()
		if _, holding := r.target(); holding {
			rep.Holding++
		}
		if m.latency > len(r.latency) { // the warm-up's samples were cleared
			m.latency = 0
		}
		for _, ns := range r.latency[m.latency:] {
			hist[histBucket(ns)]++
		}
		rep.Samples += len(r.latency) - m.latency
		rep.InputsSent += r.inputs - m.inputs
		rep.Snapshots += r.snapshots - m.snaps
		next := intervalMark{latency: len(r.latency), inputs: r.inputs, snaps: r.snapshots}
		r.mu.Unlock()
		// A path switch (multicast ↔ unicast) restarts the counters read.
		if ps.Received >= m.recv && ps.Lost >= m.lst {
			rep.PathReceived += ps.Received - m.recv
			rep.PathLost += ps.Lost - m.lst
		}
		next.recv, next.lst = ps.Received, ps.Lost
		iv.marks[b] = next
	}
	rep.InputToState = make([][2]int, 0, len(hist))
	for k, n := range hist {
		rep.InputToState = append(rep.InputToState, [2]int{k, n})
	}
	return rep
}
