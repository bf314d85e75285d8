package wire

// Bit streams of the state delta (docs/PROTOCOL.md §10.4): bits are
// written from the least significant bit of each byte up, bytes in order;
// an n-bit field holds its value's bits least significant first. A
// variable-length code has four tiers of given widths: tier 0 is prefixed
// by one 0 bit, tier 1 by 1 0, tier 2 by 1 1 0, tier 3 by 1 1 1; the value
// follows in the tier's width. A sender uses the narrowest tier the value
// fits in; a receiver takes any.

import "encoding/binary"

// bitWriter appends bits to a fixed buffer. It never grows: a caller
// checks room with bits before writing.
type bitWriter struct {
	buf     []byte // len is the capacity in bytes
	n       int    // bits written
	acc     uint64 // bits not yet stored, low bits first
	nacc    uint
	flushed int // bytes stored
}

func (w *bitWriter) reset(buf []byte) { *w = bitWriter{buf: buf} }

// write appends the low n bits (n ≤ 32) of v.
func (w *bitWriter) write(v uint64, n uint) {
	v &= 1<<n - 1
	w.acc |= v << w.nacc
	w.nacc += n
	w.n += int(n)
	if w.nacc >= 32 {
		binary.LittleEndian.PutUint32(w.buf[w.flushed:], uint32(w.acc))
		w.flushed += 4
		w.acc >>= 32
		w.nacc -= 32
	}
}

// write38 appends a 38-bit rotation word.
func (w *bitWriter) write38(v uint64) {
	w.write(v&(1<<19-1), 19)
	w.write(v>>19, 19)
}

// bytes stores what is left and returns the bytes written, the last one
// zero-padded.
func (w *bitWriter) bytes() []byte {
	for w.nacc > 0 {
		w.buf[w.flushed] = byte(w.acc)
		w.flushed++
		w.acc >>= 8
		w.nacc -= min(w.nacc, 8)
	}
	return w.buf[:(w.n+7)/8]
}

// bitReader reads bits written by a bitWriter. Reading past the end sets
// err and returns zeros.
type bitReader struct {
	buf []byte
	pos int // bits read
	end int // bits available
	bad bool
}

func (r *bitReader) reset(buf []byte, bits int) { *r = bitReader{buf: buf, end: bits} }

// read returns the next n bits (n ≤ 56).
func (r *bitReader) read(n uint) uint64 {
	if r.pos+int(n) > r.end {
		r.bad = true
		r.pos = r.end
		return 0
	}
	if i := r.pos >> 3; i+8 <= len(r.buf) {
		v := binary.LittleEndian.Uint64(r.buf[i:]) >> (uint(r.pos) & 7) & (1<<n - 1)
		r.pos += int(n)
		return v
	}
	var v uint64
	for got := uint(0); got < n; {
		i, off := r.pos/8, uint(r.pos%8)
		take := min(8-off, n-got)
		v |= uint64(r.buf[i]>>off&(1<<take-1)) << got
		got += take
		r.pos += int(take)
	}
	return v
}

// tiers is a four-tier variable-length code: widths of tiers 0 … 3.
type tiers [4]uint8

// Codes of the state delta (§10.4).
var (
	codeGap = tiers{2, 5, 9, 16}  // id gaps
	codePos = tiers{3, 6, 10, 16} // position deltas, zigzag, in grid steps
	codeRot = tiers{3, 6, 9, 12}  // rotation component deltas, zigzag
	codeSeq = tiers{2, 5, 12, 32} // input seq deltas, zigzag
)

// writeCode writes v with code c.
func (w *bitWriter) writeCode(c tiers, v uint64) {
	switch {
	case v < 1<<c[0]:
		w.write(0, 1)
		w.write(v, uint(c[0]))
	case v < 1<<c[1]:
		w.write(0b01, 2)
		w.write(v, uint(c[1]))
	case v < 1<<c[2]:
		w.write(0b011, 3)
		w.write(v, uint(c[2]))
	default:
		w.write(0b111, 3)
		w.write(v, uint(c[3]))
	}
}

// codeBits is the length of v's code with c.
func codeBits(c tiers, v uint64) int {
	switch {
	case v < 1<<c[0]:
		return 1 + int(c[0])
	case v < 1<<c[1]:
		return 2 + int(c[1])
	case v < 1<<c[2]:
		return 3 + int(c[2])
	}
	return 3 + int(c[3])
}

// readCode reads a value coded with c.
func (r *bitReader) readCode(c tiers) uint64 {
	if r.read(1) == 0 {
		return r.read(uint(c[0]))
	}
	if r.read(1) == 0 {
		return r.read(uint(c[1]))
	}
	if r.read(1) == 0 {
		return r.read(uint(c[2]))
	}
	return r.read(uint(c[3]))
}

// zigzag maps a signed delta of an n-bit field (taken modulo 2ⁿ, in
// −2ⁿ⁻¹ … 2ⁿ⁻¹−1) to 0, −1 → 1, 1 → 2, −2 → 3, …
func zigzag(d int64) uint64 { return uint64(d<<1) ^ uint64(d>>63) }

func unzigzag(z uint64) int64 { return int64(z>>1) ^ -int64(z&1) }

// wrapDelta is b − a modulo 2ⁿ as a signed value in −2ⁿ⁻¹ … 2ⁿ⁻¹−1.
func wrapDelta(a, b uint64, n uint) int64 {
	d := (b - a) & (1<<n - 1)
	if d >= 1<<(n-1) {
		return int64(d) - 1<<n
	}
	return int64(d)
}
