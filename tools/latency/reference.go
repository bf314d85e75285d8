package main

import (
	"context"
	"sync"
	"time"

	"github.com/arcadexr/arcade/tick"
)

// LoopResult is the lateness of a periodic wake-up: wake time − the
// deadline it was waiting for.
type LoopResult struct {
	Kind     string  `json:"kind"`
	PeriodUS float64 `json:"period_us"`
	Wakes    int     `json:"wakes"`
	// Missed counts deadlines passed over because a wake came a whole
	// period or more late (tick.Schedule.Fire).
	Missed   uint64  `json:"missed"`
	Lateness Dist    `json:"lateness"`
	Thread   *Thread `json:"thread,omitempty"`
	Elapsed  float64 `json:"elapsed_s"`
	Steal    Steal   `json:"steal"`
}

// loopSlack bounds a loop's run beyond count periods.
const loopSlack = 5 * time.Second

// runTimerfdLoop is the reference: a bare loop on a locked thread at
// SCHED_FIFO prio on cpu (-1: unpinned), sleeping in poll on a timerfd
// armed with absolute deadlines on the tick.Schedule grid, count times.
// Nothing else runs in it, so its lateness is this box's own.
func runTimerfdLoop(ctx context.Context, period int64, count, prio, cpu int) (*LoopResult, error) {
	res := &LoopResult{Kind: "timerfd, absolute deadlines, locked thread", PeriodUS: float64(period) / 1e3}
	late := make([]int64, 0, count)
	var err error
	var wg sync.WaitGroup
	steal := watchSteal()
	start := time.Now()
	wg.Go(func() {
		th := setupThread(prio, cpu)
		res.Thread = &th
		var timer *tick.Timer
		if timer, err = tick.NewTimer(); err != nil {
			return
		}
		defer timer.Close()
		sched := tick.NewSchedule(period, tick.Now())
		defer func() { res.Missed = sched.Missed() }()
		end := tick.Now() + int64(count)*period + loopSlack.Nanoseconds()
		for range count {
			if ctx.Err() != nil || tick.Now() > end {
				return
			}
			d := sched.Next()
			if err = timer.Arm(d); err != nil {
				return
			}
			if err = timer.Wait(); err != nil {
				return
			}
			now := tick.Now()
			late = append(late, now-d)
			sched.Fire(now)
		}
	})
	wg.Wait()
	res.Elapsed = time.Since(start).Seconds()
	res.Steal = steal.done()
	res.Wakes = len(late)
	res.Lateness = summarize(late)
	if err == nil {
		err = ctx.Err()
	}
	return res, err
}

// runTickerLoop measures a plain time.Ticker at the same period, received
// by an ordinary goroutine (not locked, normal scheduling, unpinned): what
// Go code gets without any of the reference's care. Each tick received is
// charged to its own deadline, the latest grid point at or before the
// time the runtime sent it (the value received), so a tick that waited in
// the channel while the goroutine was busy counts as late, not the next
// one as early. Deadlines the ticker skipped count as missed.
func runTickerLoop(ctx context.Context, period int64, count int) (*LoopResult, error) {
	res := &LoopResult{Kind: "time.Ticker, ordinary goroutine", PeriodUS: float64(period) / 1e3}
	late := make([]int64, 0, count)
	steal := watchSteal()
	// The grid starts just before the ticker's own (it reads the clock
	// inside NewTicker), so lateness is overstated by at most that gap.
	start := time.Now()
	tk := time.NewTicker(time.Duration(period))
	defer tk.Stop()
	limit := time.NewTimer(time.Duration(int64(count)*period) + loopSlack)
	defer limit.Stop()
	last := int64(0) // grid index of the last tick served; 0 is start
loop:
	for range count {
		var sent time.Time
		select {
		case sent = <-tk.C:
		case <-limit.C:
			break loop
		case <-ctx.Done():
			break loop
		}
		now := time.Now()
		k := tickIndex(int64(sent.Sub(start)), last, period)
		late = append(late, int64(now.Sub(start))-k*period)
		res.Missed += uint64(k - last - 1)
		last = k
	}
	res.Elapsed = time.Since(start).Seconds()
	res.Steal = steal.done()
	res.Wakes = len(late)
	res.Lateness = summarize(late)
	return res, ctx.Err()
}

// tickIndex is the grid index of a tick the runtime sent sentNs after the
// grid's start: the latest grid point at or before the send, and after
// last, the index of the tick served before.
func tickIndex(sentNs, last, period int64) int64 {
	return max(sentNs/period, last+1)
}
