package wire

import (
	"encoding/binary"
	"math"
	"slices"
)

// Pose layout: three quantized position coordinates, then the packed
// rotation.
const (
	offPosX    = 0
	offPosY    = 2
	offPosZ    = 4
	offRot     = 6
	rotBytes   = 5 // 40-bit little-endian rotation word
	posRange   = 32.0
	posScale   = 1024.0
	posMaxQ    = math.MaxUint16
	rotBits    = 12                   // per smallest-three component
	rotMaxQ    = 1<<rotBits - 1       // 4095
	rotIdxBits = 2                    // index of the omitted largest component
	rotMask    = rotMaxQ              // mask of one component
	rotCenterQ = float64(rotMaxQ) / 2 // 2047.5: the grid is symmetric about zero
)

// Position range. A coordinate v in metres is sent as round((v+32)*1024)
// clamped to [0, 65535] and decodes as q/1024 - 32, so the error is at most
// PosStep/2 for PosMin <= v <= PosMax+PosStep/2.
const (
	PosMin  = -posRange                   // smallest decodable coordinate, m
	PosMax  = posMaxQ/posScale - posRange // largest decodable coordinate, m
	PosStep = 1 / posScale                // quantization step, m
)

// Rotation quantization, in IEEE 754 doubles. A component c is sent as
// round((c+rotOffset)*rotScale) and decodes as q*rotStep-rotOffset. The
// constants are the double-precision results of the divisions of the double
// nearest √2, which is what a client computes at run time (Go would otherwise
// evaluate constant expressions exactly).
const (
	sqrt2     float64 = math.Sqrt2      // 1.4142135623730951
	rotOffset         = sqrt2 / 2       // 0.7071067811865476 = 1/√2: bound of the three smallest components
	rotScale          = rotMaxQ / sqrt2 // 2895.6022689589117 = 4095/√2
	rotStep           = sqrt2 / rotMaxQ // 0.00034535129728280713 = √2/4095
)

// rotMargin is how much larger than each of the other three the decoded
// largest rotation component must be for an encoding to be canonical. It is
// far above float32 rounding noise (≈1e-7) and far below rotStep, so a
// decoded canonical rotation always re-encodes to the same bytes.
const rotMargin = 1.0 / 65536

// AppendPose appends the PoseSize-byte encoding of p to b: each position
// coordinate quantized to PosStep and clamped to [PosMin, PosMax], the
// rotation normalized and packed as "smallest three" with 12 bits per
// component. docs/PROTOCOL.md gives the exact arithmetic.
func AppendPose(b []byte, p *Pose) []byte {
	n := len(b)
	b = slices.Grow(b, PoseSize)[:n+PoseSize]
	putPose(b[n:], p)
	return b
}

// ParsePose decodes a pose from the start of b into p and returns PoseSize.
// Every bit pattern decodes to some pose; the only error is ErrShort.
func ParsePose(b []byte, p *Pose) (int, error) {
	if len(b) < PoseSize {
		return 0, ErrShort
	}
	p.Pos.X = dequantPos(binary.LittleEndian.Uint16(b[offPosX:]))
	p.Pos.Y = dequantPos(binary.LittleEndian.Uint16(b[offPosY:]))
	p.Pos.Z = dequantPos(binary.LittleEndian.Uint16(b[offPosZ:]))
	r := b[offRot : offRot+rotBytes]
	p.Rot = decodeRot(uint64(r[0]) | uint64(r[1])<<8 | uint64(r[2])<<16 | uint64(r[3])<<24 | uint64(r[4])<<32)
	return PoseSize, nil
}

// putPose writes the encoding of p into b[:PoseSize].
func putPose(b []byte, p *Pose) {
	_ = b[PoseSize-1]
	binary.LittleEndian.PutUint16(b[offPosX:], quantPos(p.Pos.X))
	binary.LittleEndian.PutUint16(b[offPosY:], quantPos(p.Pos.Y))
	binary.LittleEndian.PutUint16(b[offPosZ:], quantPos(p.Pos.Z))
	r := encodeRot(p.Rot)
	b[offRot], b[offRot+1], b[offRot+2], b[offRot+3], b[offRot+4] =
		byte(r), byte(r>>8), byte(r>>16), byte(r>>24), byte(r>>32)
}

// QuantizePose returns p as a receiver decodes it: encoded, then decoded.
// Quantizing an already quantized pose returns it unchanged.
func QuantizePose(p Pose) Pose {
	var b [PoseSize]byte
	putPose(b[:], &p)
	var q Pose
	ParsePose(b[:], &q)
	return q
}

// quantPos quantizes one coordinate. NaN is sent as 0; values outside
// [PosMin, PosMax], infinities included, are clamped.
func quantPos(v float32) uint16 {
	f := float64(v)
	if f != f {
		f = 0
	}
	x := math.Round((f + posRange) * posScale)
	switch {
	case x <= 0:
		return 0
	case x >= posMaxQ:
		return posMaxQ
	}
	return uint16(x)
}

func dequantPos(q uint16) float32 {
	return float32(float64(q)/posScale - posRange) // exact in float32
}

// encodeRot packs q as "smallest three": the index of the largest-magnitude
// component in bits 0-1, then the other three components in X, Y, Z, W
// order as 12-bit values in bits 2-13, 14-25 and 26-37.
func encodeRot(q Quat) uint64 {
	c := [4]float64{float64(q.X), float64(q.Y), float64(q.Z), float64(q.W)}
	n := math.Sqrt(sq(c[0]) + sq(c[1]) + sq(c[2]) + sq(c[3]))
	if !(n > 0) || math.IsInf(n, 0) { // zero, NaN or infinite: identity
		c = [4]float64{0, 0, 0, 1}
		n = 1
	}
	big := 0
	for i := 1; i < 4; i++ {
		if math.Abs(c[i]) > math.Abs(c[big]) {
			big = i
		}
	}
	if c[big] < 0 {
		n = -n // q and -q are the same rotation; send the one with c[big] > 0
	}
	var s [3]int // the three smaller components, quantized
	for i, j := 0, 0; i < 4; i++ {
		if i == big {
			continue
		}
		x := math.Round((c[i]/n + rotOffset) * rotScale)
		switch {
		case x <= 0:
			s[j] = 0
		case x >= rotMaxQ:
			s[j] = rotMaxQ
		default:
			s[j] = int(x)
		}
		j++
	}
	canonRot(&s)
	return uint64(big) | uint64(s[0])<<rotIdxBits | uint64(s[1])<<(rotIdxBits+rotBits) | uint64(s[2])<<(rotIdxBits+2*rotBits)
}

// canonRot makes the decoded omitted component larger than each sent one by
// at least rotMargin, so that re-encoding the decoded rotation picks the same
// largest component and gives the same bytes. Near a tie, rounding can
// otherwise make a sent component decode larger than the omitted one. While
// that is so, the sent component of largest magnitude moves one step toward
// zero (lowest position first on ties). Far from ties no step is taken.
func canonRot(s *[3]int) {
	for {
		var a [3]float64
		for i, q := range s {
			a[i] = float64(float64(q)*rotStep) - rotOffset
		}
		w := math.Sqrt(max(0, 1-(sq(a[0])+sq(a[1])+sq(a[2]))))
		k := 0
		for i := 1; i < 3; i++ {
			if math.Abs(a[i]) > math.Abs(a[k]) {
				k = i
			}
		}
		if w-math.Abs(a[k]) >= rotMargin {
			return
		}
		if float64(s[k]) > rotCenterQ {
			s[k]--
		} else {
			s[k]++
		}
	}
}

// decodeRot unpacks a rotation word; bits 38-39 are ignored.
func decodeRot(r uint64) Quat {
	big := int(r & (1<<rotIdxBits - 1))
	var c [4]float64
	for i, j := 0, 0; i < 4; i++ {
		if i != big {
			q := r >> (rotIdxBits + rotBits*j) & rotMask
			c[i] = float64(float64(q)*rotStep) - rotOffset
			j++
		}
	}
	c[big] = math.Sqrt(max(0, 1-(sq(c[0])+sq(c[1])+sq(c[2])+sq(c[3])))) // c[big] is 0 in the sum
	n := math.Sqrt(sq(c[0]) + sq(c[1]) + sq(c[2]) + sq(c[3]))
	return Quat{float32(c[0] / n), float32(c[1] / n), float32(c[2] / n), float32(c[3] / n)}
}

// sq returns x*x rounded to float64. The explicit conversion forbids the
// compiler from fusing it into a following addition (FMA), so every platform
// and every client computes bit-identical results.
func sq(x float64) float64 { return float64(x * x) }
