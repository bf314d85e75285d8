package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"hash"
	"net/netip"

	"github.com/arcadexr/arcade/wire"
)

// cookieJar issues and checks stateless handshake cookies: the server keeps
// nothing for an unverified source. A cookie is the issue time (µs of server
// time) followed by an HMAC-SHA256 over that time, the source address and the
// client's nonce, truncated to fill wire.CookieSize.
//
//	offset 0  u64 issue time, µs since server start
//	offset 8  [24]byte HMAC-SHA256(key, time | IPv4 | port | nonce)[:24]
type cookieJar struct {
	mac     hash.Hash
	life    int64 // µs
	scratch [64]byte
	sum     [sha256.Size]byte
}

const cookieTimeSize = 8

func newCookieJar(key []byte, lifeMicros int64) *cookieJar {
	return &cookieJar{mac: hmac.New(sha256.New, key), life: lifeMicros}
}

func (j *cookieJar) compute(t uint64, from netip.AddrPort, nonce uint64) []byte {
	b := j.scratch[:0]
	b = binary.LittleEndian.AppendUint64(b, t)
	a := from.Addr().As16()
	b = append(b, a[:]...)
	b = binary.LittleEndian.AppendUint16(b, from.Port())
	b = binary.LittleEndian.AppendUint64(b, nonce)
	j.mac.Reset()
	j.mac.Write(b)
	return j.mac.Sum(j.sum[:0])
}

// issue fills c with a cookie for (from, nonce) at server time nowMicros.
func (j *cookieJar) issue(c *[wire.CookieSize]byte, nowMicros uint64, from netip.AddrPort, nonce uint64) {
	binary.LittleEndian.PutUint64(c[:cookieTimeSize], nowMicros)
	copy(c[cookieTimeSize:], j.compute(nowMicros, from, nonce))
}

// check reports whether c was issued by this jar for (from, nonce) no more
// than the cookie lifetime ago.
func (j *cookieJar) check(c *[wire.CookieSize]byte, nowMicros uint64, from netip.AddrPort, nonce uint64) bool {
	t := binary.LittleEndian.Uint64(c[:cookieTimeSize])
	if t > nowMicros || int64(nowMicros-t) > j.life {
		return false
	}
	want := j.compute(t, from, nonce)
	return subtle.ConstantTimeCompare(want[:wire.CookieSize-cookieTimeSize], c[cookieTimeSize:]) == 1
}

// cookieLog remembers the cookies that made a session, until they expire,
// so that a ChallengeResponse replayed within a cookie's life creates
// nothing: a ring of the cookies' MACs in the order they were used (cookie
// times increase with it) and a set for lookup. Its size bounds it; with
// the handshake budget, no cookie leaves it before it expires.
type cookieLog struct {
	ring []cookieUse
	next int
	set  map[[8]byte]int64 // MAC prefix → expiry, µs of server time
	life int64
}

type cookieUse struct {
	key [8]byte
	exp int64
}

func newCookieLog(size int, lifeMicros int64) cookieLog {
	return cookieLog{ring: make([]cookieUse, size), set: make(map[[8]byte]int64, size), life: lifeMicros}
}

func cookieKey(c *[wire.CookieSize]byte) (k [8]byte) {
	copy(k[:], c[cookieTimeSize:])
	return k
}

// seen reports whether c made a session within its life.
func (l *cookieLog) seen(c *[wire.CookieSize]byte, nowMicros uint64) bool {
	exp, ok := l.set[cookieKey(c)]
	return ok && exp >= int64(nowMicros)
}

// add records that c made a session.
func (l *cookieLog) add(c *[wire.CookieSize]byte) {
	if len(l.ring) == 0 {
		return
	}
	old := &l.ring[l.next]
	if exp, ok := l.set[old.key]; ok && exp == old.exp {
		delete(l.set, old.key)
	}
	k := cookieKey(c)
	exp := int64(binary.LittleEndian.Uint64(c[:cookieTimeSize])) + l.life
	*old = cookieUse{key: k, exp: exp}
	l.set[k] = exp
	l.next = (l.next + 1) % len(l.ring)
}
