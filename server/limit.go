package server

import (
	"encoding/binary"
	"net/netip"
)

// sourceLimiter is a per-source-address token bucket in a fixed-size,
// allocation-free table.
type sourceLimiter struct {
	slots []limitSlot
	rate  float64 // tokens per second
	burst float64
}

type limitSlot struct {
	addr   netip.Addr
	tokens float64
	last   int64 // ns
}

func newSourceLimiter(slots int, rate, burst float64) *sourceLimiter {
	return &sourceLimiter{slots: make([]limitSlot, slots), rate: rate, burst: burst}
}

// allow spends one token of from's bucket at time now and reports whether
// there was one. Each address has two candidate slots; it takes a free or
// refilled one, and only when both are held by active sources does it share
// a bucket, the fuller one. One flooding source therefore never starves
// another, and a flood from many spoofed sources saturates the table and
// limits itself as a whole.
func (l *sourceLimiter) allow(from netip.Addr, now int64) bool {
	if l == nil || l.rate <= 0 {
		return true
	}
	h := hashAddr(from)
	n := uint64(len(l.slots))
	s1, s2 := &l.slots[h%n], &l.slots[(h>>32)%n]
	switch {
	case s1.addr == from:
		return l.spend(s1, now)
	case s2.addr == from:
		return l.spend(s2, now)
	}
	for _, s := range [2]*limitSlot{s1, s2} {
		if !s.addr.IsValid() || l.refilled(s, now) >= l.burst {
			*s = limitSlot{addr: from, tokens: l.burst, last: now}
			return l.spend(s, now)
		}
	}
	if l.refilled(s2, now) > l.refilled(s1, now) {
		return l.spend(s2, now)
	}
	return l.spend(s1, now)
}

func (l *sourceLimiter) refilled(s *limitSlot, now int64) float64 {
	return min(l.burst, s.tokens+float64(now-s.last)/1e9*l.rate)
}

func (l *sourceLimiter) spend(s *limitSlot, now int64) bool {
	s.tokens = l.refilled(s, now)
	s.last = now
	if s.tokens < 1 {
		return false
	}
	s.tokens--
	return true
}

// prefixList is an allow or deny list of address prefixes.
type prefixList []netip.Prefix

func (p prefixList) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, pr := range p {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

// hashAddr mixes all 128 bits of an address (murmur3's 64-bit finalizer),
// so that addresses differing in any byte spread over the table.
func hashAddr(a netip.Addr) uint64 {
	b := a.As16()
	x := binary.LittleEndian.Uint64(b[0:8])*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64(b[8:16])
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
