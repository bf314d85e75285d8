//go:build linux

package hostprobe

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/arcadexr/arcade/internal/metrics"
	"github.com/arcadexr/arcade/tick"
)

// Period limits and default.
//
// The default, 1 ms, puts eight probe deadlines inside a 120 Hz tick, so a
// stall of a millisecond or more around any tick meets at least one of them.
// A wake costs on the order of 20 µs of CPU on a virtual machine, about 2%
// of a core at 1 ms; most of it is the sleep and wake-up themselves (an
// absolute clock_nanosleep loop costs nearly as much), not the three system
// calls and the histogram record. At MinPeriod the cost is ten times that.
// Each wake arms the timer for an absolute deadline and polls it, as the
// server's tick loop does, so the probe sees what that loop sees.
const (
	DefaultPeriod = time.Millisecond
	MinPeriod     = 100 * time.Microsecond
	MaxPeriod     = time.Second
)

// Config configures a Probe. The zero value is the default: 1 ms period,
// normal scheduling, any CPU.
type Config struct {
	// Period is the spacing of the probe's deadlines, MinPeriod..MaxPeriod.
	// Zero means DefaultPeriod.
	Period time.Duration
	// Priority, when 1..99, runs the probe thread under SCHED_FIFO at that
	// priority, as the server's tick thread may be. If the kernel refuses,
	// the probe runs at normal priority and RealtimeErr says why. Zero
	// means normal scheduling.
	Priority int
	// Pin, if true, pins the probe thread to CPU. False (the default) lets
	// the scheduler run it on any CPU the process may use.
	Pin bool
	// CPU is the CPU to pin to when Pin is set; it must be one the process
	// may run on. It must be zero when Pin is false.
	CPU int
}

// validate applies defaults and reports the first invalid field. allowed
// is the set of CPUs the process may run on.
func (c *Config) validate(allowed *unix.CPUSet) error {
	if c.Period == 0 {
		c.Period = DefaultPeriod
	}
	switch {
	case c.Period < MinPeriod || c.Period > MaxPeriod:
		return fmt.Errorf("hostprobe: Period %v out of range %v..%v", c.Period, MinPeriod, MaxPeriod)
	case c.Priority < 0 || c.Priority > 99:
		return fmt.Errorf("hostprobe: Priority %d out of range 0..99", c.Priority)
	case !c.Pin && c.CPU != 0:
		return fmt.Errorf("hostprobe: CPU %d is set but Pin is false", c.CPU)
	case c.Pin && (c.CPU < 0 || c.CPU >= 8*len(allowed) || !allowed.IsSet(c.CPU)):
		return fmt.Errorf("hostprobe: CPU %d is not one this process may run on (%s)", c.CPU, cpuList(allowed))
	}
	return nil
}

// cpuList formats a CPU set as "0,1,3".
func cpuList(set *unix.CPUSet) string {
	var b strings.Builder
	for i := range 8 * len(set) {
		if set.IsSet(i) {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(i))
		}
	}
	return b.String()
}

// Probe is a running timer probe, made by Start. Its methods are safe for
// concurrent use and do not allocate, except Reset.
type Probe struct {
	cfg    Config
	period int64 // ns

	ring ring
	hist atomic.Pointer[metrics.Histogram]

	timer  *tick.Timer
	stopFd int
	fds    [2]unix.PollFd // the timer, the stop eventfd

	tid         int   // probe thread id, set before Start returns
	realtimeErr error // set before Start returns
	finalCPU    atomic.Int64
	err         error // set before done is closed
	done        chan struct{}
	stopOnce    sync.Once
}

// Start validates cfg and starts a probe: a goroutine locked to its own OS
// thread that waits for each deadline start + k·Period in turn and records
// how late it woke. The thread never goes back to the runtime's pool: it
// ends with the probe, so its priority and affinity die with it. Stop ends
// the probe.
func Start(cfg Config) (*Probe, error) {
	p, err := newProbe(cfg)
	if err != nil {
		return nil, err
	}
	setup := make(chan error, 1)
	go p.run(setup)
	if err := <-setup; err != nil {
		<-p.done
		unix.Close(p.stopFd)
		return nil, err
	}
	return p, nil
}

// newProbe validates cfg and makes a probe that is not running yet.
func newProbe(cfg Config) (*Probe, error) {
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		return nil, fmt.Errorf("hostprobe: sched_getaffinity: %w", err)
	}
	if err := cfg.validate(&allowed); err != nil {
		return nil, err
	}
	timer, err := tick.NewTimer()
	if err != nil {
		return nil, fmt.Errorf("hostprobe: %w", err)
	}
	stopFd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		timer.Close()
		return nil, fmt.Errorf("hostprobe: eventfd: %w", err)
	}
	p := &Probe{
		cfg:    cfg,
		period: int64(cfg.Period),
		timer:  timer,
		stopFd: stopFd,
		done:   make(chan struct{}),
	}
	p.fds = [2]unix.PollFd{
		{Fd: int32(timer.Fd()), Events: unix.POLLIN},
		{Fd: int32(stopFd), Events: unix.POLLIN},
	}
	p.hist.Store(new(metrics.Histogram))
	return p, nil
}

// run is the probe goroutine. It reports on setup whether the thread is
// set up, then loops until Stop or a failing system call.
func (p *Probe) run(setup chan<- error) {
	// Never unlocked: the runtime ends the thread when run returns.
	runtime.LockOSThread()
	defer func() {
		p.timer.Close()
		close(p.done)
	}()
	defer func() {
		var ts unix.Timespec
		if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) == nil {
			p.finalCPU.Store(ts.Nano())
		}
	}()
	p.tid = unix.Gettid()
	// Asked before the pin, which leaves the thread one CPU whatever the
	// process has.
	rtSafe := tick.RealtimeSafe()
	if p.cfg.Pin {
		var set unix.CPUSet
		set.Set(p.cfg.CPU)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			setup <- fmt.Errorf("hostprobe: pin to CPU %d: %w", p.cfg.CPU, err)
			return
		}
	}
	if pr := p.cfg.Priority; pr > 0 {
		if err := rtSafe; err != nil {
			p.realtimeErr = fmt.Errorf("hostprobe: SCHED_FIFO priority %d not taken: %w", pr, err)
		} else {
			attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(pr)}
			if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
				p.realtimeErr = fmt.Errorf("hostprobe: SCHED_FIFO priority %d: %w", pr, err)
			}
		}
	}
	p.ring.init(tick.Now(), p.period)
	setup <- nil

	deadline := p.ring.start + p.period
	for {
		now, stop, err := p.wait(deadline)
		if err != nil {
			p.err = err
			return
		}
		if stop {
			return
		}
		deadline = p.serve(deadline, now)
	}
}

// wait arms the timer for deadline and blocks until it expires, returning
// the time it woke, or until Stop (stop true).
func (p *Probe) wait(deadline int64) (now int64, stop bool, err error) {
	p.ring.arm(deadline)
	if err := p.timer.Arm(deadline); err != nil {
		return 0, false, fmt.Errorf("hostprobe: %w", err)
	}
	for {
		_, err := unix.Poll(p.fds[:], -1)
		now = tick.Now() // first thing after the wake
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, false, fmt.Errorf("hostprobe: poll: %w", err)
		case p.fds[1].Revents != 0:
			return 0, true, nil
		case p.fds[0].Revents == 0:
			continue
		}
		n, err := p.timer.Consume()
		if err != nil {
			return 0, false, fmt.Errorf("hostprobe: %w", err)
		}
		if n > 0 {
			return now, false, nil
		}
	}
}

// serve records the wake at now for deadline and returns the next deadline:
// the first grid deadline after now, so a late wake skips the deadlines it
// overslept (they count as served by this wake, see LateAround).
func (p *Probe) serve(deadline, now int64) (next int64) {
	p.ring.record(deadline, now)
	p.hist.Load().Record(now - deadline)
	if now < deadline { // tick.Now and the timer's clock may differ by < 1 µs
		return deadline + p.period
	}
	return deadline + p.period*(1+(now-deadline)/p.period)
}

// Stop ends the probe, waits for its goroutine to return (the probe's
// thread then exits) and releases its descriptors. Call it also after the
// probe ended on its own (see Err). It is safe to call more than once and
// from several goroutines. After Stop the probe's figures stay readable.
func (p *Probe) Stop() {
	p.stopOnce.Do(func() {
		// If run already ended on an error, nobody reads this; the
		// eventfd is still open either way.
		one := [8]byte{1}
		unix.Write(p.stopFd, one[:])
		<-p.done
		unix.Close(p.stopFd)
	})
	<-p.done
}

// Done is closed when the probe has ended: after Stop, or when a system
// call it depends on failed (see Err).
func (p *Probe) Done() <-chan struct{} { return p.done }

// Err reports why the probe ended on its own, or nil if it is running or
// was stopped.
func (p *Probe) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// RealtimeErr reports why the probe thread could not be raised to
// Config.Priority under SCHED_FIFO (it then runs at normal priority), or
// nil.
func (p *Probe) RealtimeErr() error { return p.realtimeErr }

// Period returns the spacing of the probe's deadlines.
func (p *Probe) Period() time.Duration { return p.cfg.Period }

// Lateness returns the histogram of wake-up lateness in nanoseconds (time
// of wake minus deadline, one value per wake) since Start or the last
// Reset. Reset replaces the histogram rather than clearing it, so a caller
// should call Lateness again after a Reset rather than keep the result.
func (p *Probe) Lateness() *metrics.Histogram { return p.hist.Load() }

// Reset starts a new, empty lateness histogram. A wake recorded while Reset
// runs is counted in the old histogram or the new one, never partly in
// each. Reset allocates the new histogram (about 30 KiB); it does not touch
// the record LateAround reads.
func (p *Probe) Reset() { p.hist.Store(new(metrics.Histogram)) }

// LateAround returns the largest lateness, in ns, of the probe's deadlines
// that fell in [from, to] (CLOCK_MONOTONIC ns, the tick.Now clock), and
// whether any did. The lateness of a deadline is the time from it to the
// probe's first wake at or after it, so the deadlines a late wake overslept
// count with the lateness they had when it came. A deadline already past
// whose wake has not been recorded yet counts with a lower bound: the time
// from it to the call. ok is false when no deadline of the probe in the
// window is known: the window is shorter than a period and holds none, is
// in the future, or is older than the recent record (ringSize wakes).
//
// To classify a tick that was due at deadline and ran at now, ask
// LateAround(deadline-int64(p.Period()), now): that window holds at least
// one probe deadline.
//
// LateAround takes no lock and does not allocate; it is meant for the
// server's tick thread while the probe's thread writes. It reads at most
// ringSize wakes.
func (p *Probe) LateAround(from, to int64) (maxLate int64, ok bool) {
	return p.ring.lateAround(from, to, tick.Now)
}

// CPUTime returns the CPU time the probe thread has used so far (all of it
// once the probe has ended).
func (p *Probe) CPUTime() time.Duration {
	select {
	case <-p.done:
		return time.Duration(p.finalCPU.Load())
	default:
	}
	// The CPU-time clock of another thread: MAKE_THREAD_CPUCLOCK(tid,
	// CPUCLOCK_SCHED) from the kernel's posix-timers.h.
	clock := int32(^uint32(p.tid)<<3) | 6
	var ts unix.Timespec
	if err := unix.ClockGettime(clock, &ts); err != nil {
		// The thread has exited since the check above: run stored its
		// final reading and closed done before that.
		return time.Duration(p.finalCPU.Load())
	}
	return time.Duration(ts.Nano())
}
