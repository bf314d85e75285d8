package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"hash"
	"net/netip"

	"arcade/wire"
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
