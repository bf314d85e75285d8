// Package detrand is a deterministic stand-in for crypto/rand, for test
// vectors that must come out the same on every run: the bytes of
// SHA-512(label ‖ counter u64 LE) for counter 0, 1, 2, … in turn.
package detrand

import (
	"crypto/sha512"
	"encoding/binary"
)

// Reader yields the stream of its label. Its zero value is the stream of
// the empty label.
type Reader struct {
	Label string
	n     uint64
	buf   []byte
}

// New returns the stream of label from its start.
func New(label string) *Reader { return &Reader{Label: label} }

// Read fills p from the stream; it never fails.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) {
		h := sha512.New()
		h.Write([]byte(r.Label))
		h.Write(binary.LittleEndian.AppendUint64(nil, r.n))
		r.n++
		r.buf = h.Sum(r.buf)
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}
