package server_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/tick"
)

// netWaiter is a tick.Waiter on the in-memory network's virtual time, so
// that the server runs under the same real-time loop as Run does (lead,
// spin, polls) with a host whose timer wakes are late by a set amount. Its
// clients send a pose every sendEvery; every Now call costs spinCost, as a
// spinning loop's iteration does.
type netWaiter struct {
	r         *rig
	late      int64
	spinCost  int64
	clients   []*rawClient
	sendEvery int64
	nextSend  int64
	seq       uint32
	stopAt    int64
}

func (w *netWaiter) advance(t int64) {
	for w.nextSend <= t {
		w.r.net.SetNow(w.nextSend)
		w.seq++
		for _, c := range w.clients {
			c.pose(w.seq, float32(w.seq%100)/100)
			c.recv() // what the server sent them, dropped
		}
		w.nextSend += w.sendEvery
	}
	w.r.net.SetNow(t)
}

func (w *netWaiter) ready() bool {
	at, ok := w.r.ep.NextDelivery()
	return ok && at <= w.r.net.Now()
}

func (w *netWaiter) Now() int64 {
	w.advance(w.r.net.Now() + w.spinCost)
	return w.r.net.Now()
}

func (w *netWaiter) Wait(deadline int64) (tick.Wake, error) {
	if w.ready() {
		return tick.Wake{Ready: 1}, nil
	}
	wake := int64(tick.Never)
	if deadline != tick.Never {
		wake = max(deadline+w.late, w.r.net.Now())
	}
	for {
		next := min(wake, w.nextSend)
		if at, ok := w.r.ep.NextDelivery(); ok {
			next = min(next, max(at, w.r.net.Now()))
		}
		if next >= w.stopAt {
			w.advance(w.stopAt)
			return tick.Wake{Stop: true}, nil
		}
		w.advance(next)
		switch {
		case w.ready():
			return tick.Wake{Ready: 1}, nil
		case w.r.net.Now() >= wake:
			return tick.Wake{Timer: true}, nil
		}
	}
}

func (w *netWaiter) Poll() (tick.Wake, error) {
	if w.ready() {
		return tick.Wake{Ready: 1}, nil
	}
	return tick.Wake{}, nil
}

// runLoop runs srv's Step under a tick.Loop on w until w stops, as Run
// does.
func runLoop(t *testing.T, srv *server.Server, w *netWaiter, spinMax time.Duration) *tick.Loop {
	t.Helper()
	l, err := tick.NewLoop(tick.LoopConfig{SpinMax: spinMax})
	if err != nil {
		t.Fatal(err)
	}
	err = l.Run(w, srv.LoopStep(context.Background(), l))
	if !errors.Is(err, tick.ErrStopped) {
		t.Fatalf("loop: %v", err)
	}
	return l
}

// TestStepUnderTheRealtimeLoop: on virtual time, with a host whose timer
// wakes come 300 µs late, the loop's lead and spin put every tick within a
// spin iteration of its deadline, while every pose is sent on (its
// avatar's update) within one poll interval of its arrival, spinning or
// not; without the spin the ticks are as late as the host, and poses still
// go at once. An idle server does not spin.
func TestStepUnderTheRealtimeLoop(t *testing.T) {
	const late = 300 * time.Microsecond
	for _, tc := range []struct {
		name    string
		spinMax time.Duration
		clients int
	}{{"spin", 500 * time.Microsecond, 4}, {"no spin", -1, 4}, {"idle", 500 * time.Microsecond, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, netsim.Config{}, server.Config{})
			w := &netWaiter{r: r, late: int64(late), spinCost: 200, sendEvery: int64(time.Second / 90)}
			for i := range tc.clients {
				c := r.client(fmt.Sprintf("10.0.0.%d:5000", 2+i))
				r.connect(c, 0)
				w.clients = append(w.clients, c)
			}
			st := r.srv.Stats()
			st.Reset()
			w.nextSend = r.net.Now() + w.sendEvery/3
			w.stopAt = r.net.Now() + int64(2*time.Second)
			ticks0 := st.Ticks.Load()
			l := runLoop(t, r.srv, w, tc.spinMax)
			if n := st.Ticks.Load() - ticks0; n < 230 {
				t.Fatalf("%d ticks in 2 s at 120 Hz", n)
			}
			p99 := st.TickLateness.Quantile(0.99)
			switch tc.name {
			case "spin":
				if p99 > int64(20*time.Microsecond) {
					t.Errorf("tick lateness p99 %v with the spin, want within a few spin iterations", time.Duration(p99))
				}
				if l.Spin.Count() == 0 {
					t.Error("the loop never spun")
				}
			case "no spin", "idle":
				if p99 < int64(late) || p99 > int64(late)+int64(late)/32+int64(5*time.Microsecond) {
					t.Errorf("tick lateness p99 %v, want the host's %v", time.Duration(p99), late)
				}
				if l.Spin.Count() != 0 || l.Polls.Load() != 0 {
					t.Errorf("%d spins, %d polls with nothing to spin for", l.Spin.Count(), l.Polls.Load())
				}
			}
			if tc.clients == 0 {
				return
			}
			n := st.ServerAdded.Count()
			if want := uint64(tc.clients) * 170; n < want {
				t.Fatalf("%d poses measured, want at least %d", n, want)
			}
			if mx := st.ServerAdded.Max(); mx > int64(tick.DefaultPollEvery)+int64(10*time.Microsecond) {
				t.Errorf("server-added max %v: a pose waited for more than a poll interval", time.Duration(mx))
			}
			if st.EagerUpdates.Load() < n/uint64(tc.clients) {
				t.Errorf("%d eager updates for %d poses", st.EagerUpdates.Load(), n)
			}
		})
	}
}

// TestMissedTicksSleptThrough: under the real-time loop, a host whose
// timer wakes come three and a half periods late while the reference
// probe is on time has the tick thread asleep through its deadlines: the
// ticks missed are counted as the wake's, not Arcade's. A Step run late
// while the loop's latest wait returned on time (the thread was busy) is
// Arcade's (TestMissedTicksByCause).
func TestMissedTicksSleptThrough(t *testing.T) {
	probe := &fakeProbe{late: 10_000}
	r := newRig(t, netsim.Config{}, server.Config{TickRate: 100, HostProbe: probe})
	period := r.cfg.Period()
	w := &netWaiter{r: r, late: 3*period + period/2, spinCost: 200, sendEvery: int64(time.Second / 90)}
	c := r.client("10.0.0.2:5000")
	r.connect(c, 0)
	w.clients = append(w.clients, c)
	st := r.srv.Stats()
	st.Reset()
	w.nextSend = r.net.Now() + int64(time.Hour) // no arrivals: only the timer wakes the loop
	w.stopAt = r.net.Now() + int64(time.Second)
	missed0, wake0, arcade0 := st.MissedTicks.Load(), st.MissedTicksWake.Load(), st.MissedTicksArcade.Load()
	runLoop(t, r.srv, w, -1)
	missed, wake, arcade := st.MissedTicks.Load()-missed0, st.MissedTicksWake.Load()-wake0, st.MissedTicksArcade.Load()-arcade0
	if missed < 20 {
		t.Fatalf("%d ticks missed in 1 s of wakes 3.5 periods late, want about 75", missed)
	}
	if wake != missed || arcade != 0 {
		t.Errorf("%d missed: %d counted as the wake's, %d as Arcade's; want all the wake's", missed, wake, arcade)
	}
	if rep := r.srv.Report(); rep.MissedTicksWake != st.MissedTicksWake.Load() {
		t.Errorf("report: missed_ticks_wake %d, stats %d", rep.MissedTicksWake, st.MissedTicksWake.Load())
	}
}
