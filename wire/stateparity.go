package wire

// Repair parts of coded StateDelta ticks (docs/PROTOCOL.md §10.4,
// "Parity"): an erasure code over the k data parts of a tick, from any k
// of whose data and repair parts a receiver rebuilds every data part. A
// tick of n parts is held whole by a receiver losing each datagram with
// probability p with probability (1−p)ⁿ: at 5 % loss a tick of seven
// parts by 70 % of receivers; with one repair part by 94 %, with two by
// 99 %. And a receiver that lacks a tick after all needs only as many
// more repair parts as it lacks parts, whichever those were: the server
// sends it two by unicast rather than the whole tick.
//
// The code: over GF(2⁸) (the polynomial x⁸+x⁴+x³+x²+1, 0x11D), repair
// part j of data parts D₀ … D_{k−1} is Σᵢ c(j, i)·Dᵢ, byte by byte, with
// c(j, i) = (255 ⊕ i) / ((255 − j) ⊕ i): a Cauchy matrix (rows 255 − j,
// columns i, disjoint for j ≤ 255 − k), each column divided by its entry
// in row 0, so that repair part 0 is the XOR of the data parts. Every
// square submatrix of a Cauchy matrix is invertible, and dividing rows or
// columns keeps it so: any e repair parts rebuild any e lost data parts.

// DeltaParity (with DeltaCoded): the part is repair part Part of its
// tick's data parts.
const DeltaParity = 1 << 6

// ParityRoom is how much larger a repair part is than the largest data
// part of its tick: data parts coded to at most maxBody − ParityRoom
// bytes have repair parts of at most maxBody.
const ParityRoom = 14

// MaxRepairs is how many repair parts of one tick a receiver keeps (the
// first that come): a bound on what a tick's assembly holds.
const MaxRepairs = 16

// RepairOK reports whether j is a repair part index of a tick of parts
// data parts: j ≤ 255 − parts, where c(j, i) is defined.
func RepairOK(j, parts int) bool { return j >= 0 && parts >= 1 && j+parts <= 255 }

// gfExp and gfLog are GF(2⁸)'s powers of 2 and their logarithms; gfMul
// the whole product table, so that a row of products is one lookup a
// byte.
var (
	gfExp [510]byte
	gfLog [256]int
	gfMul [256][256]byte
)

func init() {
	x := 1
	for i := range 255 {
		gfExp[i], gfExp[i+255] = byte(x), byte(x)
		gfLog[x] = i
		x <<= 1
		if x&0x100 != 0 {
			x ^= 0x11D
		}
	}
	for a := 1; a < 256; a++ {
		for b := 1; b < 256; b++ {
			gfMul[a][b] = gfExp[gfLog[a]+gfLog[b]]
		}
	}
}

// gfInv returns 1/a (a ≠ 0).
func gfInv(a byte) byte { return gfExp[255-gfLog[a]] }

// RepairCoef returns c(j, i), the coefficient of data part i in repair
// part j (RepairOK(j, i+1)).
func RepairCoef(j, i int) byte {
	return gfMul[255^i][gfInv(byte(255-j)^byte(i))]
}

// mulAdd adds c·src to dst, byte by byte.
func mulAdd(dst, src []byte, c byte) {
	switch c {
	case 0:
	case 1:
		xorInto(dst, src)
	default:
		row := &gfMul[c]
		dst = dst[:len(src)]
		for i, b := range src {
			dst[i] ^= row[b]
		}
	}
}

func xorInto(dst, src []byte) {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] ^= b
	}
}

// Offsets in a StateDelta body.
const (
	offDeltaPart  = 16
	offDeltaFlags = 22
)

// deltaCommon returns the length of the body's prefix that every part of
// a tick has in common (all but the part byte and the parity flag): up to
// the id ranges.
func deltaCommon(flags uint8) int {
	h := 23
	if flags&DeltaHasHash != 0 {
		h += SnapshotHashSize
	}
	if flags&DeltaPrior != 0 {
		h += statePriorSize
	}
	return h
}

// AppendParity appends to dst the body of repair part j of a tick's data
// part bodies (as StateEncoder returns them). It returns dst unchanged
// when j is not a repair index of the tick (RepairOK).
func AppendParity(dst []byte, parts [][]byte, j int) []byte {
	if !RepairOK(j, len(parts)) || len(parts[0]) < StateDeltaFixedSize {
		return dst
	}
	first := parts[0]
	h := deltaCommon(first[offDeltaFlags])
	l := 0
	for _, p := range parts {
		l = max(l, len(p)-h)
	}
	n := len(dst)
	dst = append(dst, first[:h]...)
	dst[n+offDeltaPart] = byte(j)
	dst[n+offDeltaFlags] |= DeltaParity
	// Ranges and record counts are 0; the payload is the sum, l bytes.
	dst = append(dst, make([]byte, 12)...)
	dst = append(dst, byte(8*l), byte(8*l>>8))
	off := len(dst)
	dst = append(dst, make([]byte, l)...)
	for i, p := range parts {
		if len(p) > h {
			mulAdd(dst[off:], p[h:], RepairCoef(j, i))
		}
	}
	return dst
}

// Parity gathers the data and repair parts of one coded tick being
// assembled, and rebuilds the data parts it lacks once it has as many
// repair parts as it lacks. It is a fixed-size value (about 320 KB);
// nothing it holds grows with what it is fed.
type Parity struct {
	k    int // data parts of the tick
	data [255][MaxBodySize]byte
	dlen [255]uint16
	had  [4]uint64 // data parts had
	nHad int
	rep  [MaxRepairs][MaxBodySize]byte
	rlen [MaxRepairs]uint16
	ridx [MaxRepairs]uint8
	nRep int
	// The common fields of the tick's parts, as a repair part had them.
	prefix [23 + SnapshotHashSize + statePriorSize]byte
	h      int
	// Work space of Recover.
	lack [MaxRepairs]uint8
	a    [MaxRepairs][2 * MaxRepairs]byte
}

// Reset empties p for a tick of parts data parts.
func (p *Parity) Reset(parts int) {
	p.k, p.had, p.nHad, p.nRep, p.h = min(max(parts, 0), 255), [4]uint64{}, 0, 0, 0
}

// Has reports whether data part i was had.
func (p *Parity) Has(i int) bool { return i >= 0 && i < p.k && p.had[i/64]>>(i%64)&1 != 0 }

// AddData takes in data part i (0 … parts−1) of body b, once: a part
// seen again is ignored.
func (p *Parity) AddData(i int, b []byte) {
	if i < 0 || i >= p.k || p.Has(i) || len(b) < StateDeltaFixedSize {
		return
	}
	h := deltaCommon(b[offDeltaFlags])
	p.had[i/64] |= 1 << (i % 64)
	p.nHad++
	p.dlen[i] = uint16(copy(p.data[i][:], b[h:]))
}

// HasRepair reports whether repair part j was taken in.
func (p *Parity) HasRepair(j int) bool {
	for _, r := range p.ridx[:p.nRep] {
		if int(r) == j {
			return true
		}
	}
	return false
}

// AddParity takes in a repair part's body, once per index, the first
// MaxRepairs of them.
func (p *Parity) AddParity(b []byte) {
	if len(b) < StateDeltaFixedSize || p.nRep == MaxRepairs {
		return
	}
	j := int(b[offDeltaPart])
	h := deltaCommon(b[offDeltaFlags])
	if !RepairOK(j, p.k) || p.HasRepair(j) || len(b) < h+14 {
		return
	}
	p.h = copy(p.prefix[:], b[:h])
	p.ridx[p.nRep] = uint8(j)
	p.rlen[p.nRep] = uint16(copy(p.rep[p.nRep][:], b[h+14:]))
	p.nRep++
}

// Missing returns how many data parts p lacks, and whether it holds as
// many repair parts, so that Recover can rebuild them (ok).
func (p *Parity) Missing() (n int, ok bool) {
	n = p.k - p.nHad
	return n, n > 0 && p.nRep >= n
}

// Recover rebuilds every data part p lacks, when it can (Missing);
// Body then returns each. The first e repair parts taken in, e the parts
// lacked, are the equations: their sums less the parts had leave e·e
// coefficients times the lacked parts, which Gauss–Jordan elimination
// over GF(2⁸) solves.
func (p *Parity) Recover() bool {
	e, ok := p.Missing()
	if !ok {
		return false
	}
	l := 0
	for a := range e {
		l = max(l, int(p.rlen[a]))
	}
	n := 0
	for i := range p.k {
		if !p.Has(i) {
			p.lack[n] = uint8(i)
			n++
		}
	}
	// Syndromes, in the repair parts' own buffers: each repair part less
	// the parts had.
	for a := range e {
		s := p.rep[a][:l]
		clear(s[p.rlen[a]:])
		j := int(p.ridx[a])
		for i := range p.k {
			if p.Has(i) {
				mulAdd(s, p.data[i][:min(int(p.dlen[i]), l)], RepairCoef(j, i))
			}
		}
	}
	// [A | I] → [I | A⁻¹], A[a][b] = c(ridx[a], lack[b]).
	for a := range e {
		for b := range 2 * e {
			p.a[a][b] = 0
		}
		for b := range e {
			p.a[a][b] = RepairCoef(int(p.ridx[a]), int(p.lack[b]))
		}
		p.a[a][e+a] = 1
	}
	for c := range e {
		piv := c
		for piv < e && p.a[piv][c] == 0 {
			piv++
		}
		if piv == e {
			return false // not reached: every such A is invertible
		}
		p.a[c], p.a[piv] = p.a[piv], p.a[c]
		inv := gfInv(p.a[c][c])
		for b := range 2 * e {
			p.a[c][b] = gfMul[inv][p.a[c][b]]
		}
		for r := range e {
			if f := p.a[r][c]; r != c && f != 0 {
				for b := range 2 * e {
					p.a[r][b] ^= gfMul[f][p.a[c][b]]
				}
			}
		}
	}
	// Lacked part b is Σₐ A⁻¹[b][a]·syndrome a.
	for b := range e {
		i := int(p.lack[b])
		d := p.data[i][:l]
		clear(d)
		for a := range e {
			mulAdd(d, p.rep[a][:l], p.a[b][e+a])
		}
		p.dlen[i] = uint16(l)
	}
	for b := range e {
		i := int(p.lack[b])
		p.had[i/64] |= 1 << (i % 64)
	}
	p.nHad += e
	p.nRep = 0 // spent: their buffers hold syndromes now
	return true
}

// Body appends to dst the body of data part i, one had or rebuilt: a
// rebuilt one is the repair parts' common fields with part i and the
// parity flag cleared, then the rebuilt bytes, which may end in zero
// padding a parse ignores. It returns dst unchanged for a part not had,
// or when no repair part came.
func (p *Parity) Body(dst []byte, i int) []byte {
	if !p.Has(i) || p.h == 0 {
		return dst
	}
	n := len(dst)
	dst = append(dst, p.prefix[:p.h]...)
	dst[n+offDeltaPart] = byte(i)
	dst[n+offDeltaFlags] &^= DeltaParity
	return append(dst, p.data[i][:p.dlen[i]]...)
}
