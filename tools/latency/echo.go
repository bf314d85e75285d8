package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/arcadexr/arcade/tick"
)

// Echo measurement: an echo server and a client, each on its own locked
// OS thread with blocking sockets of its own (no Go netpoller in the
// path), exchange echoPayload-byte datagrams on 127.0.0.1.
const (
	echoPayload   = 64                     // bytes, about an Arcade pose input
	echoRecvWait  = 100 * time.Millisecond // a reply later than this is lost
	echoSlack     = 5 * time.Second        // beyond count/rate, the hard limit
	echoServePoll = 50 * time.Millisecond  // the echo server checks for the end this often
)

// EchoResult is the UDP echo's round trips.
type EchoResult struct {
	Count    int     `json:"count"`
	RateHz   int     `json:"rate_hz"`
	Payload  int     `json:"payload_bytes"`
	Sent     int     `json:"sent"`
	Received int     `json:"received"`
	Lost     int     `json:"lost"`
	RTT      Dist    `json:"rtt"`
	Server   Thread  `json:"echo_thread"`
	Client   Thread  `json:"client_thread"`
	Elapsed  float64 `json:"elapsed_s"`
	Steal    Steal   `json:"steal"`
	rtt      []int64 // ns, unsorted until summarised
}

// udpPair opens two blocking UDP sockets on 127.0.0.1, each connected to
// the other.
func udpPair() (a, b int, err error) {
	open := func() (int, *unix.SockaddrInet4, error) {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return -1, nil, fmt.Errorf("socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			unix.Close(fd)
			return -1, nil, fmt.Errorf("bind 127.0.0.1: %w", err)
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			unix.Close(fd)
			return -1, nil, err
		}
		return fd, sa.(*unix.SockaddrInet4), nil
	}
	a, sa, err := open()
	if err != nil {
		return -1, -1, err
	}
	b, sb, err := open()
	if err != nil {
		unix.Close(a)
		return -1, -1, err
	}
	err = unix.Connect(a, sb)
	if err == nil {
		err = unix.Connect(b, sa)
	}
	if err != nil {
		unix.Close(a)
		unix.Close(b)
		return -1, -1, fmt.Errorf("connect: %w", err)
	}
	return a, b, nil
}

func setRecvTimeout(fd int, d time.Duration) error {
	tv := unix.NsecToTimeval(d.Nanoseconds())
	return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
}

// runEcho sends count datagrams at rate per second from the client to the
// echo server and times each round trip: from just before the send to the
// return of the receive that got the reply, both on the client thread.
// The echo thread runs at SCHED_FIFO prio on serverCPU, the client at the
// same priority on clientCPU (-1: unpinned).
func runEcho(ctx context.Context, count, rate, prio, serverCPU, clientCPU int) (*EchoResult, error) {
	srvFd, cliFd, err := udpPair()
	if err != nil {
		return nil, err
	}
	defer unix.Close(srvFd)
	defer unix.Close(cliFd)
	if err := setRecvTimeout(srvFd, echoServePoll); err != nil {
		return nil, err
	}
	if err := setRecvTimeout(cliFd, echoRecvWait); err != nil {
		return nil, err
	}
	period := int64(time.Second) / int64(rate)
	limit := time.Duration(int64(count)*period) + echoSlack
	var stop atomic.Bool
	defer context.AfterFunc(ctx, func() { stop.Store(true) })()
	res := &EchoResult{Count: count, RateHz: rate, Payload: echoPayload, rtt: make([]int64, 0, count)}

	var wg sync.WaitGroup
	var srvErr error
	ready := make(chan struct{})
	wg.Go(func() {
		res.Server = setupThread(prio, serverCPU)
		close(ready)
		srvErr = serveEcho(srvFd, &stop, tick.Now()+limit.Nanoseconds())
	})
	<-ready
	var cliErr error
	wg.Go(func() {
		res.Client = setupThread(prio, clientCPU)
		cliErr = echoClient(cliFd, res, period, &stop, limit)
		stop.Store(true) // the echo server ends within echoServePoll
	})
	steal := watchSteal()
	start := time.Now()
	wg.Wait()
	res.Elapsed = time.Since(start).Seconds()
	res.Steal = steal.done()
	res.RTT = summarize(res.rtt)
	if err := errors.Join(cliErr, srvErr); err != nil {
		return res, err
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

// serveEcho sends every datagram back until stop or the end time.
func serveEcho(fd int, stop *atomic.Bool, end int64) error {
	var buf [2048]byte
	for !stop.Load() && tick.Now() < end {
		n, err := unix.Read(fd, buf[:])
		switch {
		case err == unix.EAGAIN || err == unix.EINTR || err == unix.ECONNREFUSED:
			continue
		case err != nil:
			return fmt.Errorf("echo server: read: %w", err)
		}
		if _, err := unix.Write(fd, buf[:n]); err != nil && err != unix.ECONNREFUSED {
			return fmt.Errorf("echo server: write: %w", err)
		}
	}
	return nil
}

// echoClient sends datagram i at start + i·period (an absolute timerfd
// deadline) and waits for its echo, up to echoRecvWait.
func echoClient(fd int, res *EchoResult, period int64, stop *atomic.Bool, limit time.Duration) error {
	timer, err := tick.NewTimer()
	if err != nil {
		return err
	}
	defer timer.Close()
	var out, in [echoPayload]byte
	start := tick.Now() + int64(10*time.Millisecond)
	end := start + limit.Nanoseconds()
	for i := 0; i < res.Count && !stop.Load() && tick.Now() < end; i++ {
		if err := timer.Arm(start + int64(i)*period); err != nil {
			return err
		}
		if err := timer.Wait(); err != nil {
			return err
		}
		seq := uint64(i) + 1
		binary.LittleEndian.PutUint64(out[:], seq)
		t0 := tick.Now()
		if _, err := unix.Write(fd, out[:]); err != nil {
			return fmt.Errorf("echo client: write: %w", err)
		}
		res.Sent++
		for {
			n, err := unix.Read(fd, in[:])
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN || err == unix.ECONNREFUSED {
				res.Lost++ // no reply within echoRecvWait
				break
			}
			if err != nil {
				return fmt.Errorf("echo client: read: %w", err)
			}
			if n < 8 || binary.LittleEndian.Uint64(in[:]) != seq {
				continue // a late reply to an earlier datagram
			}
			t1 := tick.Now()
			res.Received++
			res.rtt = append(res.rtt, t1-t0)
			break
		}
	}
	return nil
}
