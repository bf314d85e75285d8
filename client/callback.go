package client

import (
	"errors"
	"runtime"
)

// A callback (OnSnapshot, OnEntityUpdate, OnPong, OnRPC) runs on one of
// the Client's goroutines while that goroutine holds the client's lock. A
// callback that calls back into the Client would wait for that lock
// forever; instead the Client tells: a getter (State, Stats, RTT, …)
// answers, from the state the lock already guards; a call that would
// change the session while it is handling a datagram (SendPose, SendRPC,
// Grab, Release, Button, Close) returns ErrInCallback and does nothing.
// Either way Stats.CallbackReentries counts it.
//
// How the Client knows: each goroutine it owns (its readers, its timer, a
// MulticastHub's readers) reads its own goroutine id once when it starts,
// and stores it in cbG while it runs the session for this Client. A call
// that finds the lock taken compares its own goroutine id with cbG: equal
// means the caller is the callback's own goroutine. The id comes from
// runtime.Stack, a few microseconds: paid once per goroutine, and by a
// call only when the lock is contended. An uncontended call costs one
// TryLock as before.

// ErrInCallback is returned by a Client method that would change the
// session when called from one of the Client's own callbacks, which run
// with the client's lock held: do that work after the callback returns
// (hand it to another goroutine).
var ErrInCallback = errors.New("client: called from one of the Client's own callbacks (OnSnapshot, OnEntityUpdate, OnPong, OnRPC), which hold the client's lock: only getters may be called there; send from another goroutine")

// goid returns the calling goroutine's id, from the first line of its
// stack trace ("goroutine 123 [running]:").
func goid() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	const prefix = "goroutine "
	if n <= len(prefix) {
		return 0
	}
	var id uint64
	for _, c := range buf[len(prefix):n] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}

// lock takes the client's lock, or reports reentered when the caller is
// the goroutine running one of this Client's callbacks (which holds it
// already). A reentered caller must not unlock.
func (c *Client) lock() (reentered bool) {
	if c.mu.TryLock() {
		return false
	}
	if g := c.cbG.Load(); g != 0 && g == goid() {
		c.stats.CallbackReentries++ // guarded by the lock the caller holds
		return true
	}
	c.mu.Lock()
	return false
}

// unlock undoes lock.
func (c *Client) unlock(reentered bool) {
	if !reentered {
		c.mu.Unlock()
	}
}

// running marks the goroutine g as running the session for this Client
// (0: none), so that a callback's call into the Client is recognised.
// Called with c.mu held.
func (c *Client) running(g uint64) { c.cbG.Store(g) }
