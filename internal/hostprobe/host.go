package hostprobe

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultStealEvery is how often a Host samples the CPU steal.
const DefaultStealEvery = time.Second

// Host is the timer probe with the CPU steal sampled beside it, once per
// interval on a goroutine of its own: the reference a server's figures are
// held against (it implements server.HostProbe).
type Host struct {
	*Probe
	steal     *StealSampler
	pct       atomic.Uint64 // float64 bits of the last sample
	samples   atomic.Uint64 // steal samples taken
	stealErr  atomic.Pointer[error]
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// StartHost starts the timer probe with cfg and samples the steal of
// /proc/stat every stealEvery (0: DefaultStealEvery). A host without
// /proc/stat still gets the probe; StealErr says why the steal is
// missing.
func StartHost(cfg Config, stealEvery time.Duration) (*Host, error) {
	if stealEvery < 0 {
		return nil, fmt.Errorf("hostprobe: StealEvery %v is negative", stealEvery)
	}
	if stealEvery == 0 {
		stealEvery = DefaultStealEvery
	}
	p, err := Start(cfg)
	if err != nil {
		return nil, err
	}
	h := &Host{Probe: p, stop: make(chan struct{}), done: make(chan struct{})}
	if h.steal, err = NewStealSampler(""); err != nil {
		h.stealErr.Store(&err)
		close(h.done)
		return h, nil
	}
	h.steal.Sample() // the first sample sets the baseline
	go h.sample(stealEvery)
	return h, nil
}

func (h *Host) sample(every time.Duration) {
	defer close(h.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			pct, err := h.steal.Sample()
			switch {
			case err == nil:
				h.pct.Store(math.Float64bits(pct))
				h.samples.Add(1)
			case err != ErrNoInterval:
				h.stealErr.Store(&err)
			}
		}
	}
}

// StealPct is the CPU steal over the last sampling interval, in percent of
// all CPU time; 0 before the first interval or without /proc/stat.
func (h *Host) StealPct() float64 { return math.Float64frombits(h.pct.Load()) }

// StealErr says why the steal could not be sampled, or nil.
func (h *Host) StealErr() error {
	if e := h.stealErr.Load(); e != nil {
		return *e
	}
	return nil
}

// Stop ends the probe and the sampler and waits for both.
func (h *Host) Stop() {
	h.closeOnce.Do(func() {
		close(h.stop)
		<-h.done
		if h.steal != nil {
			h.steal.Close()
		}
		h.Probe.Stop()
	})
}
