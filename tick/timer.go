//go:build linux

package tick

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Timer is a non-blocking CLOCK_MONOTONIC timerfd armed with absolute,
// one-shot deadlines. Its descriptor becomes readable when the deadline
// passes, so it can sit in an epoll set next to sockets; Consume then clears
// it.
//
// Arm, Consume and Wait must not be called concurrently with Close.
type Timer struct {
	fd     int
	buf    [8]byte // expiration count read by Consume
	closed atomic.Bool
}

// NewTimer creates a disarmed Timer (timerfd with TFD_NONBLOCK|TFD_CLOEXEC).
func NewTimer() (*Timer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("tick: timerfd_create: %w", err)
	}
	return &Timer{fd: fd}, nil
}

// Fd returns the timer's file descriptor. It stays owned by the Timer.
func (t *Timer) Fd() int { return t.fd }

// Arm sets the timer to expire once at deadline, in nanoseconds on
// CLOCK_MONOTONIC (TFD_TIMER_ABSTIME), replacing any earlier deadline. A
// deadline that has already passed expires at once.
func (t *Timer) Arm(deadline int64) error {
	// An all-zero it_value would disarm the timer instead.
	deadline = max(deadline, 1)
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(deadline)}
	// A raw call: timerfd_settime never blocks (see Consume).
	if _, _, errno := unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(t.fd), unix.TFD_TIMER_ABSTIME,
		uintptr(unsafe.Pointer(&spec)), 0, 0, 0); errno != 0 {
		return fmt.Errorf("tick: timerfd_settime %d: %w", deadline, errno)
	}
	return nil
}

// Disarm cancels a pending expiry.
func (t *Timer) Disarm() error {
	var spec unix.ItimerSpec
	if err := unix.TimerfdSettime(t.fd, 0, &spec, nil); err != nil {
		return fmt.Errorf("tick: timerfd_settime disarm: %w", err)
	}
	return nil
}

// Consume reads and clears the number of expirations since the last read
// without blocking. It returns (0, nil) if the timer has not expired.
func (t *Timer) Consume() (uint64, error) {
	for {
		// A raw call: the read never blocks (TFD_NONBLOCK), and the loop's
		// goroutine keeps its P through it (see udp.Conn.ReadBatch).
		_, _, errno := unix.RawSyscall(unix.SYS_READ, uintptr(t.fd), uintptr(unsafe.Pointer(&t.buf[0])), uintptr(len(t.buf)))
		var err error
		if errno != 0 {
			err = errno
		}
		switch err {
		case nil:
			// timerfd reports the count in host byte order.
			return binary.NativeEndian.Uint64(t.buf[:]), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, nil
		}
		return 0, fmt.Errorf("tick: read timerfd: %w", err)
	}
}

// Wait blocks until the timer expires and consumes the expiration. On a
// disarmed timer it blocks forever. It is meant for simple drivers and tests;
// event loops put Fd in their epoll set and call Consume.
func (t *Timer) Wait() error {
	fds := [1]unix.PollFd{{Fd: int32(t.fd), Events: unix.POLLIN}}
	for {
		ok, err := t.poll(fds[:], -1)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		n, err := t.Consume()
		if err != nil || n > 0 {
			return err
		}
	}
}

// poll waits up to timeoutMs milliseconds (-1: no limit) for the timer to
// become readable and reports whether it did.
func (t *Timer) poll(fds []unix.PollFd, timeoutMs int) (bool, error) {
	for {
		n, err := unix.Poll(fds, timeoutMs)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return false, fmt.Errorf("tick: poll timerfd: %w", err)
		}
		return n > 0, nil
	}
}

// Close closes the timer. Later calls return ErrClosed.
func (t *Timer) Close() error {
	if !t.closed.CompareAndSwap(false, true) {
		return ErrClosed
	}
	if err := unix.Close(t.fd); err != nil {
		return fmt.Errorf("tick: close timerfd: %w", err)
	}
	return nil
}

// ErrClosed is returned by Close on a Timer that is already closed.
var ErrClosed = errors.New("tick: timer closed")
