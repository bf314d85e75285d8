//go:build linux

package tick

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// stopCheckMs bounds how long Loop waits on its timer before looking at the
// stop channel again.
const stopCheckMs = 100

// Loop calls fn once per period until stop is closed, driven by a Timer and
// a Schedule that starts now. fn receives the deadline served, the time it
// was called (now − deadline is the lateness), the tick number and the
// deadlines skipped before it, as returned by Schedule.Fire.
//
// Loop returns nil after stop is closed, within one period or 100 ms
// (whichever is shorter) plus the running fn. It returns an error if period
// is not positive or the timer fails.
func Loop(stop <-chan struct{}, period int64, fn func(deadline, now int64, tick uint64, missed uint64)) error {
	if period <= 0 {
		return fmt.Errorf("tick: Loop: period %d is not positive", period)
	}
	t, err := NewTimer()
	if err != nil {
		return err
	}
	defer t.Close()

	s := NewSchedule(period, Now())
	fds := [1]unix.PollFd{{Fd: int32(t.fd), Events: unix.POLLIN}}
	for {
		if err := t.Arm(s.Next()); err != nil {
			return err
		}
		for {
			select {
			case <-stop:
				return nil
			default:
			}
			ok, err := t.poll(fds[:], stopCheckMs)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			n, err := t.Consume()
			if err != nil {
				return err
			}
			if n > 0 {
				break
			}
		}
		now := Now()
		deadline, tick, missed := s.Fire(now)
		fn(deadline, now, tick, missed)
	}
}
