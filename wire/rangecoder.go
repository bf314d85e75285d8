package wire

// The binary range coder of coded StateDelta payloads (docs/PROTOCOL.md
// §10.4, "Coded payload"): an adaptive binary arithmetic coder in the form
// LZMA made common. Each binary decision is coded with a probability, a
// 12-bit estimate of the chance the bit is 0, which adapts by 1/16 of the
// distance to the outcome after every use; "direct" bits are coded at
// exactly one half. The range is 32 bits and is renormalised a byte at a
// time; the encoder's carry is propagated through a byte held back and a
// count of 0xff bytes after it.
//
// The decoder reads at most the payload's bytes: a read past the end sets
// bad and returns zeros, so a hostile payload costs at most the decisions
// its record counts allow, each a bounded amount of work.

const (
	probBits  = 12
	probOne   = 1 << probBits // a probability of 1
	probInit  = probOne / 2
	probShift = 5 // adaptation, at last: 1/32 of the distance to the outcome
	rcTop     = 1 << 24
)

// prob is an adaptive probability that the next bit is 0, and how many
// times it has adapted (up to probShift): its first updates move it by a
// half, a quarter, an eighth…, so that a model learns within the few
// hundred records of a part, then by 1/2^probShift.
type prob struct {
	p uint16
	n uint8
}

var probStart = prob{p: probInit}

// update adapts p to the outcome b.
func (p *prob) update(b uint32) {
	if p.n < probShift {
		p.n++
	}
	if b == 0 {
		p.p += (probOne - p.p) >> p.n
	} else {
		p.p -= p.p >> p.n
	}
}

// rcEncoder codes decisions into a fixed buffer. It never grows: a caller
// checks room with size before coding more.
type rcEncoder struct {
	buf       []byte // len is the capacity
	n         int    // bytes stored
	low       uint64
	rng       uint32
	cache     byte
	cacheSize int
	first     bool // the first byte of the coder is always 0 and is not stored
	over      bool // the buffer was too small
}

func (e *rcEncoder) reset(buf []byte) {
	*e = rcEncoder{buf: buf, rng: 0xffffffff, cacheSize: 1, first: true}
}

func (e *rcEncoder) put(b byte) {
	if e.first {
		e.first = false // always 0: the decoder starts as if it had read it
		return
	}
	if e.n >= len(e.buf) {
		e.over = true
		return
	}
	e.buf[e.n] = b
	e.n++
}

func (e *rcEncoder) shiftLow() {
	if uint32(e.low) < 0xff000000 || e.low>>32 != 0 {
		carry := byte(e.low >> 32)
		c := e.cache
		for {
			e.put(c + carry)
			c = 0xff
			if e.cacheSize--; e.cacheSize == 0 {
				break
			}
		}
		e.cache = byte(e.low >> 24)
	}
	e.cacheSize++
	e.low = e.low & 0x00ffffff << 8
}

// bit codes b (0 or 1) with p and adapts p.
func (e *rcEncoder) bit(p *prob, b uint32) {
	bound := e.rng >> probBits * uint32(p.p)
	if b == 0 {
		e.rng = bound
	} else {
		e.low += uint64(bound)
		e.rng -= bound
	}
	p.update(b)
	for e.rng < rcTop {
		e.rng <<= 8
		e.shiftLow()
	}
}

// direct codes the low n bits of v (n ≤ 32), most significant first, each
// at one half.
func (e *rcEncoder) direct(v uint64, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		e.rng >>= 1
		if v>>uint(i)&1 != 0 {
			e.low += uint64(e.rng)
		}
		for e.rng < rcTop {
			e.rng <<= 8
			e.shiftLow()
		}
	}
}

// size is an upper bound of the bytes the coded decisions take once
// flushed.
func (e *rcEncoder) size() int { return e.n + e.cacheSize + 4 }

// finish flushes the coder and returns the bytes, or nil when they did not
// fit the buffer.
func (e *rcEncoder) finish() []byte {
	// Any value in [low, low+rng) decodes the same: take the one with the
	// most zero bytes at its end, which need not be sent (the decoder
	// reads zeros past the end of the payload, up to rcSlack of them).
	for k := 3; k >= 1; k-- {
		mask := uint64(1)<<(8*k) - 1
		if v := (e.low + mask) &^ mask; v < e.low+uint64(e.rng) {
			e.low = v
			break
		}
	}
	for range 5 {
		e.shiftLow()
	}
	if e.over {
		return nil
	}
	n := e.n
	for t := 0; t < rcSlack && n > 0 && e.buf[n-1] == 0; t++ {
		n--
	}
	return e.buf[:n]
}

// rcDecoder decodes what an rcEncoder coded.
type rcDecoder struct {
	buf  []byte
	pos  int
	code uint32
	rng  uint32
	bad  bool // a decision read more than the payload holds
	past int  // bytes read past the end
}

// rcSlack is how many zero bytes past the end a decoder may read: the
// encoder trims trailing zeros, and the decoder's window is four bytes.
const rcSlack = 4

func (d *rcDecoder) reset(buf []byte) {
	*d = rcDecoder{buf: buf}
	d.start()
}

// start begins decoding d.buf.
func (d *rcDecoder) start() {
	d.pos, d.code, d.rng, d.bad, d.past = 0, 0, 0xffffffff, false, 0
	for range 4 {
		d.code = d.code<<8 | uint32(d.next())
	}
}

func (d *rcDecoder) next() byte {
	if d.pos < len(d.buf) {
		b := d.buf[d.pos]
		d.pos++
		return b
	}
	if d.past++; d.past > rcSlack {
		d.bad = true
	}
	return 0
}

// bit decodes a decision with p and adapts p.
func (d *rcDecoder) bit(p *prob) uint32 {
	bound := d.rng >> probBits * uint32(p.p)
	var b uint32
	if d.code < bound {
		d.rng = bound
	} else {
		d.code -= bound
		d.rng -= bound
		b = 1
	}
	p.update(b)
	for d.rng < rcTop {
		d.rng <<= 8
		d.code = d.code<<8 | uint32(d.next())
	}
	return b
}

// direct decodes n bits coded by rcEncoder.direct.
func (d *rcDecoder) direct(n uint) uint64 {
	var v uint64
	for range n {
		d.rng >>= 1
		var b uint64
		if d.code >= d.rng {
			d.code -= d.rng
			b = 1
		}
		v = v<<1 | b
		for d.rng < rcTop {
			d.rng <<= 8
			d.code = d.code<<8 | uint32(d.next())
		}
	}
	return v
}

// ---- integer models ----

// intBits is the widest magnitude an intModel codes: 32 bits, enough for a
// delta of a 32-bit field.
const intBits = 32

// intModel codes a signed integer: a decision for zero, one for the sign,
// the magnitude's bit length in unary (a decision per length), the bit
// below the leading one with a decision per length, and the rest direct.
// It suits deltas and residuals, whose magnitudes are mostly small.
type intModel struct {
	zero, sign prob
	length     [intBits]prob
	top        [intBits]prob
}

func (m *intModel) init() {
	m.zero, m.sign = probStart, probStart
	for i := range m.length {
		m.length[i], m.top[i] = probStart, probStart
	}
}

func (e *rcEncoder) int(m *intModel, v int64) {
	if v == 0 {
		e.bit(&m.zero, 0)
		return
	}
	e.bit(&m.zero, 1)
	u := uint64(v)
	if v < 0 {
		e.bit(&m.sign, 1)
		u = uint64(-v)
	} else {
		e.bit(&m.sign, 0)
	}
	e.mag(m, u)
}

// mag codes u ≥ 1, below 2^intBits.
func (e *rcEncoder) mag(m *intModel, u uint64) {
	k := 0 // bit length − 1
	for u>>uint(k+1) != 0 {
		k++
	}
	for i := range k {
		e.bit(&m.length[i], 1)
	}
	if k < intBits-1 {
		e.bit(&m.length[k], 0)
	}
	if k >= 1 {
		e.bit(&m.top[k], uint32(u>>uint(k-1)&1))
		e.direct(u, uint(k-1))
	}
}

func (d *rcDecoder) int(m *intModel) int64 {
	if d.bit(&m.zero) == 0 {
		return 0
	}
	neg := d.bit(&m.sign) == 1
	u := int64(d.mag(m))
	if neg {
		return -u
	}
	return u
}

func (d *rcDecoder) mag(m *intModel) uint64 {
	k := 0
	for k < intBits-1 && d.bit(&m.length[k]) == 1 {
		k++
	}
	u := uint64(1) << uint(k)
	if k >= 1 {
		u |= uint64(d.bit(&m.top[k])) << uint(k-1)
		u |= d.direct(uint(k-1)) & (1<<uint(k-1) - 1)
	}
	return u
}

// uint codes v ≥ 0 with m's zero decision and magnitude (no sign).
func (e *rcEncoder) uint(m *intModel, v uint64) {
	if v == 0 {
		e.bit(&m.zero, 0)
		return
	}
	e.bit(&m.zero, 1)
	e.mag(m, v)
}

func (d *rcDecoder) uint(m *intModel) uint64 {
	if d.bit(&m.zero) == 0 {
		return 0
	}
	return d.mag(m)
}
