package wire

// Parity parts of coded StateDelta ticks (docs/PROTOCOL.md §10.4,
// "Parity"): for every ParityGroup data parts of a tick, one part that is
// their XOR, from which a receiver that lost any one of them rebuilds it.
// A tick of n parts is held whole by a receiver losing each datagram with
// probability p with probability (1−p)ⁿ; with a parity part per group of
// three, a lost part costs nothing unless a second of its group is lost
// too: at 5 % loss, a tick of six parts is held whole by 97 % of
// receivers instead of 74 %, all of 16 receivers hold it 64 % of the time
// instead of 1 %, and a multicast group's baseline keeps moving.

// DeltaParity (with DeltaCoded): the part is the parity of parity group
// Part of its tick's data parts.
const DeltaParity = 1 << 6

// ParityGroup is how many data parts one parity part covers (three:
// measured best on 2 000 avatars at 5 % loss, against two and four): data parts
// ParityGroup·j … ParityGroup·j + ParityGroup − 1 (those the tick has)
// make parity group j.
const ParityGroup = 3

// ParityRoom is how much larger a parity part is than the largest data
// part of its group: data parts coded to at most maxBody − ParityRoom
// bytes have parity parts of at most maxBody.
const ParityRoom = 14

// MaxParityGroups is the most parity groups a tick has (255 parts).
const MaxParityGroups = (255 + ParityGroup - 1) / ParityGroup

// ParityGroups returns how many parity groups a tick of parts data parts
// has.
func ParityGroups(parts int) int { return (parts + ParityGroup - 1) / ParityGroup }

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

// AppendParity appends to dst the body of the parity part of group j of
// a tick's data part bodies (as StateEncoder returns them). It returns
// dst unchanged when the group is past the tick's parts.
func AppendParity(dst []byte, parts [][]byte, j int) []byte {
	lo, hi := j*ParityGroup, min((j+1)*ParityGroup, len(parts))
	if lo >= hi || len(parts[lo]) < StateDeltaFixedSize {
		return dst
	}
	first := parts[lo]
	h := deltaCommon(first[offDeltaFlags])
	l := 0
	for _, p := range parts[lo:hi] {
		l = max(l, len(p)-h)
	}
	n := len(dst)
	dst = append(dst, first[:h]...)
	dst[n+offDeltaPart] = byte(j)
	dst[n+offDeltaFlags] |= DeltaParity
	// Ranges and record counts are 0; the payload is the XOR, l bytes.
	dst = append(dst, make([]byte, 12)...)
	dst = append(dst, byte(8*l), byte(8*l>>8))
	off := len(dst)
	for range l {
		dst = append(dst, 0)
	}
	for _, p := range parts[lo:hi] {
		xorInto(dst[off:], p[h:])
	}
	return dst
}

func xorInto(dst, src []byte) {
	for i, b := range src {
		dst[i] ^= b
	}
}

// Parity accumulates one parity group of a tick being assembled: the XOR
// of the data part bodies received, and the parity part's once it came.
// It is a fixed-size value; nothing it holds grows with what it is fed.
type Parity struct {
	acc    [MaxBodySize]byte
	n      int // bytes of acc in use
	got    uint8
	parity bool
	prefix [23 + SnapshotHashSize + statePriorSize]byte
	h      int
	size   int // data parts in the group
}

// Reset empties the group, of size data parts.
func (p *Parity) Reset(size int) {
	clear(p.acc[:p.n])
	*p = Parity{size: min(size, ParityGroup)}
}

// AddData takes in data part i (0 … size−1 within the group) of body b,
// once: a part seen again is ignored.
func (p *Parity) AddData(i int, b []byte) {
	if i < 0 || i >= p.size || p.got&(1<<i) != 0 {
		return
	}
	p.got |= 1 << i
	if len(b) < StateDeltaFixedSize {
		return // nil: counted as had, nothing to add
	}
	h := deltaCommon(b[offDeltaFlags])
	p.add(b[h:])
}

// AddParity takes in the group's parity part body, once.
func (p *Parity) AddParity(b []byte) {
	if p.parity || len(b) < StateDeltaFixedSize {
		return
	}
	h := deltaCommon(b[offDeltaFlags])
	if len(b) < h+14 {
		return
	}
	p.parity = true
	p.h = copy(p.prefix[:], b[:h])
	p.add(b[h+14:])
}

func (p *Parity) add(b []byte) {
	b = b[:min(len(b), len(p.acc))]
	xorInto(p.acc[:], b)
	p.n = max(p.n, len(b))
}

// HasParity reports whether the group's parity part came.
func (p *Parity) HasParity() bool { return p.parity }

// Missing returns the index of the one data part the group lacks when it
// has every other and the parity part (ok), so Recover can rebuild it.
func (p *Parity) Missing() (i int, ok bool) {
	if !p.parity {
		return 0, false
	}
	lack := ^p.got & (1<<p.size - 1)
	if lack == 0 || lack&(lack-1) != 0 {
		return 0, false
	}
	for lack>>i != 1 {
		i++
	}
	return i, true
}

// Recover appends to dst the body of the data part the group lacks, part
// number part of its tick (the group's first part plus Missing's index),
// or returns dst unchanged when it cannot be rebuilt. The body may end in
// zero padding, which a parse ignores.
func (p *Parity) Recover(dst []byte, part int) []byte {
	if _, ok := p.Missing(); !ok {
		return dst
	}
	n := len(dst)
	dst = append(dst, p.prefix[:p.h]...)
	dst[n+offDeltaPart] = byte(part)
	dst[n+offDeltaFlags] &^= DeltaParity
	return append(dst, p.acc[:p.n]...)
}
