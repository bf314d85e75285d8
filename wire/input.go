package wire

import (
	"encoding/binary"
	"math"
)

// PoseInputSize is the body size of a PoseInput; PoseInputAckSize with a
// state acknowledgement.
const (
	PoseInputSize    = 58
	PoseInputAckSize = PoseInputSize + 12
)

// PoseInput offsets.
const (
	offInInputSeq   = 0
	offInClientTime = 4
	offInHead       = 12
	offInLeft       = offInHead + PoseSize  // 23
	offInRight      = offInLeft + PoseSize  // 34
	offInButtons    = offInRight + PoseSize // 45
	offInTrigger    = 49                    // left, right
	offInGrip       = 51                    // left, right
	offInStick      = 53                    // left x, left y, right x, right y
	offInTracking   = 57
)

// Analog quantization: triggers and grips in 0..1 as q/255, sticks in -1..1
// as q/127.
const (
	unitMaxQ   = math.MaxUint8
	signedMaxQ = math.MaxInt8
)

// Len returns PoseInputSize, or PoseInputAckSize with HasStateAck.
func (m *PoseInput) Len() int {
	if m.HasStateAck {
		return PoseInputAckSize
	}
	return PoseInputSize
}

// Append appends the body to b. Poses and analog values are quantized.
func (m *PoseInput) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, m.InputSeq)
	b = binary.LittleEndian.AppendUint64(b, m.ClientTime)
	b = AppendPose(b, &m.Head)
	b = AppendPose(b, &m.Hands[Left])
	b = AppendPose(b, &m.Hands[Right])
	b = binary.LittleEndian.AppendUint32(b, m.Buttons)
	b = append(b,
		quantUnit(m.Trigger[Left]), quantUnit(m.Trigger[Right]),
		quantUnit(m.Grip[Left]), quantUnit(m.Grip[Right]),
		quantSigned(m.Stick[Left][0]), quantSigned(m.Stick[Left][1]),
		quantSigned(m.Stick[Right][0]), quantSigned(m.Stick[Right][1]),
		m.Tracking)
	if m.HasStateAck {
		b = binary.LittleEndian.AppendUint32(b, m.StateTick)
		b = binary.LittleEndian.AppendUint64(b, m.StateHeld)
	}
	return b
}

// Parse decodes a body.
func (m *PoseInput) Parse(b []byte) (int, error) {
	if len(b) < PoseInputSize {
		return 0, ErrShort
	}
	n := PoseInputSize
	m.HasStateAck, m.StateTick, m.StateHeld = false, 0, 0
	if len(b) >= PoseInputAckSize {
		m.HasStateAck = true
		m.StateTick = binary.LittleEndian.Uint32(b[PoseInputSize:])
		m.StateHeld = binary.LittleEndian.Uint64(b[PoseInputSize+4:])
		n = PoseInputAckSize
	}
	b = b[:PoseInputSize]
	m.InputSeq = binary.LittleEndian.Uint32(b[offInInputSeq:])
	m.ClientTime = binary.LittleEndian.Uint64(b[offInClientTime:])
	ParsePose(b[offInHead:], &m.Head)
	ParsePose(b[offInLeft:], &m.Hands[Left])
	ParsePose(b[offInRight:], &m.Hands[Right])
	m.Buttons = binary.LittleEndian.Uint32(b[offInButtons:])
	m.Trigger = [2]float32{dequantUnit(b[offInTrigger]), dequantUnit(b[offInTrigger+1])}
	m.Grip = [2]float32{dequantUnit(b[offInGrip]), dequantUnit(b[offInGrip+1])}
	m.Stick = [2][2]float32{
		{dequantSigned(b[offInStick]), dequantSigned(b[offInStick+1])},
		{dequantSigned(b[offInStick+2]), dequantSigned(b[offInStick+3])},
	}
	m.Tracking = b[offInTracking]
	return n, nil
}

// quantUnit sends v in 0..1 as round(v*255); NaN is 0, others are clamped.
func quantUnit(v float32) byte {
	f := float64(v)
	if f != f {
		f = 0
	}
	return byte(math.Round(min(max(f, 0), 1) * unitMaxQ))
}

func dequantUnit(q byte) float32 { return float32(float64(q) / unitMaxQ) }

// quantSigned sends v in -1..1 as the int8 round(v*127); NaN is 0, others
// are clamped.
func quantSigned(v float32) byte {
	f := float64(v)
	if f != f {
		f = 0
	}
	return byte(int8(math.Round(min(max(f, -1), 1) * signedMaxQ)))
}

// dequantSigned decodes an int8 as q/127; -128 is clamped to -1.
func dequantSigned(q byte) float32 {
	return float32(float64(max(int8(q), -signedMaxQ)) / signedMaxQ)
}
