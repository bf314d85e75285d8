package wire

import "encoding/binary"

// Body sizes of the delivery messages.
const (
	DeliveryProbeSize  = 14
	DeliveryReportSize = 19
)

// DeliveryProbe and DeliveryReport offsets.
const (
	offProbeTick       = 0
	offProbeServerTime = 4
	offProbeGroupSeq   = 12

	offRepWindow    = 0
	offRepReceived  = 2
	offRepLost      = 4
	offRepSamples   = 6
	offRepExcessP50 = 8
	offRepExcessP90 = 12
	offRepFlags     = 16
	offRepUnicast   = 17
)

// Len returns DeliveryProbeSize.
func (m *DeliveryProbe) Len() int { return DeliveryProbeSize }

// Append appends the body to b.
func (m *DeliveryProbe) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, m.Tick)
	b = binary.LittleEndian.AppendUint64(b, m.ServerTime)
	return binary.LittleEndian.AppendUint16(b, m.GroupSeq)
}

// Parse decodes a body.
func (m *DeliveryProbe) Parse(b []byte) (int, error) {
	if len(b) < DeliveryProbeSize {
		return 0, ErrShort
	}
	m.Tick = binary.LittleEndian.Uint32(b[offProbeTick:])
	m.ServerTime = binary.LittleEndian.Uint64(b[offProbeServerTime:])
	m.GroupSeq = binary.LittleEndian.Uint16(b[offProbeGroupSeq:])
	return DeliveryProbeSize, nil
}

// Len returns DeliveryReportSize.
func (m *DeliveryReport) Len() int { return DeliveryReportSize }

// Append appends the body to b.
func (m *DeliveryReport) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, m.WindowMs)
	b = binary.LittleEndian.AppendUint16(b, m.McastReceived)
	b = binary.LittleEndian.AppendUint16(b, m.McastLost)
	b = binary.LittleEndian.AppendUint16(b, m.Samples)
	b = binary.LittleEndian.AppendUint32(b, uint32(m.ExcessP50))
	b = binary.LittleEndian.AppendUint32(b, uint32(m.ExcessP90))
	b = append(b, m.Flags)
	return binary.LittleEndian.AppendUint16(b, m.UnicastLoss)
}

// Parse decodes a body. A zero window, or a unicast loss above
// MaxUnicastLoss other than UnicastLossUnknown, is ErrField.
func (m *DeliveryReport) Parse(b []byte) (int, error) {
	if len(b) < DeliveryReportSize {
		return 0, ErrShort
	}
	w := binary.LittleEndian.Uint16(b[offRepWindow:])
	if w == 0 {
		return 0, ErrField
	}
	ul := binary.LittleEndian.Uint16(b[offRepUnicast:])
	if ul > MaxUnicastLoss && ul != UnicastLossUnknown {
		return 0, ErrField
	}
	m.WindowMs = w
	m.McastReceived = binary.LittleEndian.Uint16(b[offRepReceived:])
	m.McastLost = binary.LittleEndian.Uint16(b[offRepLost:])
	m.Samples = binary.LittleEndian.Uint16(b[offRepSamples:])
	m.ExcessP50 = int32(binary.LittleEndian.Uint32(b[offRepExcessP50:]))
	m.ExcessP90 = int32(binary.LittleEndian.Uint32(b[offRepExcessP90:]))
	m.Flags = b[offRepFlags]
	m.UnicastLoss = ul
	return DeliveryReportSize, nil
}
