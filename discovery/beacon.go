package discovery

import (
	"encoding/binary"
	"errors"
)

// Beacon wire format (docs/PROTOCOL.md, "Discovery"). All integers are
// little-endian, as in the game protocol.
const (
	// BeaconMagic starts every beacon datagram.
	BeaconMagic = "ARCB"
	// BeaconVersion is the beacon format version.
	BeaconVersion = 1
	// Beacon datagram types.
	BeaconTypeProbe = 1
	BeaconTypeReply = 2
	// DefaultBeaconPort is the beacon's UDP port.
	DefaultBeaconPort = 7779

	// BeaconMinProbeSize is the smallest probe a responder answers.
	BeaconMinProbeSize = 64
	// BeaconProbeSize is the size clients pad probes to: room for any
	// reply.
	BeaconProbeSize = 512
	// BeaconMaxSize bounds every beacon datagram, as MaxDatagramSize does
	// game datagrams.
	BeaconMaxSize = 1200
	// BeaconProbeHeaderSize is the probe before its padding.
	BeaconProbeHeaderSize = 12
	// BeaconReplyFixedSize is the reply before its name and text.
	BeaconReplyFixedSize = 16
	// BeaconFlagTruncated marks a reply that left out trailing text
	// strings to fit the probe's size.
	BeaconFlagTruncated = 0x01

	offMagic    = 0
	offVersion  = 4
	offType     = 5
	offReserved = 6 // probe: u16, zero, ignored
	offFlags    = 6 // reply: u8
	offNameLen  = 7 // reply: u8
	offNonce    = 8
	offPort     = 12 // reply
	offTextLen  = 14 // reply
)

// Beacon decoding errors.
var (
	errBeaconShort   = errors.New("discovery: beacon datagram too short")
	errBeaconLong    = errors.New("discovery: beacon datagram longer than 1200 bytes")
	errBeaconMagic   = errors.New("discovery: not a beacon datagram (magic)")
	errBeaconVersion = errors.New("discovery: beacon version is not 1")
	errBeaconType    = errors.New("discovery: unexpected beacon type")
	errBeaconText    = errors.New("discovery: malformed beacon text")
	errBeaconName    = errors.New("discovery: beacon instance name longer than 63 bytes")
)

// BeaconProbe is what a headset broadcasts.
type BeaconProbe struct {
	Nonce uint32
}

// AppendProbe appends a probe padded with zeros to size bytes (at least
// BeaconMinProbeSize).
func AppendProbe(b []byte, p BeaconProbe, size int) []byte {
	size = max(size, BeaconMinProbeSize)
	start := len(b)
	b = append(b, BeaconMagic...)
	b = append(b, BeaconVersion, BeaconTypeProbe, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, p.Nonce)
	for len(b)-start < size {
		b = append(b, 0)
	}
	return b
}

// ParseProbe decodes a probe. It returns the probe and the bytes it used
// (the whole datagram: the padding belongs to the probe). Probes shorter
// than BeaconMinProbeSize or longer than BeaconMaxSize, with another magic,
// version or type are errors.
func ParseProbe(b []byte) (BeaconProbe, int, error) {
	switch {
	case len(b) < BeaconMinProbeSize:
		return BeaconProbe{}, 0, errBeaconShort
	case len(b) > BeaconMaxSize:
		return BeaconProbe{}, 0, errBeaconLong
	case string(b[offMagic:offMagic+4]) != BeaconMagic:
		return BeaconProbe{}, 0, errBeaconMagic
	case b[offVersion] != BeaconVersion:
		return BeaconProbe{}, 0, errBeaconVersion
	case b[offType] != BeaconTypeProbe:
		return BeaconProbe{}, 0, errBeaconType
	}
	return BeaconProbe{Nonce: binary.LittleEndian.Uint32(b[offNonce:])}, len(b), nil
}

// BeaconReply is the server's answer to a probe.
type BeaconReply struct {
	Nonce     uint32
	Port      uint16 // game port
	Truncated bool
	Instance  string   // at most 63 bytes
	Text      []string // the TXT record's strings, each at most 255 bytes
}

// Len is the encoded size of r.
func (r *BeaconReply) Len() int {
	n := BeaconReplyFixedSize + len(r.Instance)
	for _, s := range r.Text {
		n += 1 + len(s)
	}
	return n
}

// AppendReply appends r. It fails if the instance name, a string or the
// whole reply is too long.
func AppendReply(b []byte, r *BeaconReply) ([]byte, error) {
	if len(r.Instance) > MaxInstanceLen {
		return b, errors.New("discovery: beacon instance name longer than 63 bytes")
	}
	for _, s := range r.Text {
		if len(s) > maxTextString {
			return b, errors.New("discovery: beacon text string longer than 255 bytes")
		}
	}
	if r.Len() > BeaconMaxSize {
		return b, errBeaconLong
	}
	flags := byte(0)
	if r.Truncated {
		flags |= BeaconFlagTruncated
	}
	b = append(b, BeaconMagic...)
	b = append(b, BeaconVersion, BeaconTypeReply, flags, byte(len(r.Instance)))
	b = binary.LittleEndian.AppendUint32(b, r.Nonce)
	b = binary.LittleEndian.AppendUint16(b, r.Port)
	b = binary.LittleEndian.AppendUint16(b, uint16(r.Len()-BeaconReplyFixedSize-len(r.Instance)))
	b = append(b, r.Instance...)
	return appendText(b, r.Text), nil
}

// ParseReply decodes a reply and returns it and the bytes used; bytes
// after the text are ignored. Unknown flag bits are ignored.
func ParseReply(b []byte) (BeaconReply, int, error) {
	var r BeaconReply
	switch {
	case len(b) < BeaconReplyFixedSize:
		return r, 0, errBeaconShort
	case len(b) > BeaconMaxSize:
		return r, 0, errBeaconLong
	case string(b[offMagic:offMagic+4]) != BeaconMagic:
		return r, 0, errBeaconMagic
	case b[offVersion] != BeaconVersion:
		return r, 0, errBeaconVersion
	case b[offType] != BeaconTypeReply:
		return r, 0, errBeaconType
	}
	nameLen := int(b[offNameLen])
	textLen := int(binary.LittleEndian.Uint16(b[offTextLen:]))
	end := BeaconReplyFixedSize + nameLen + textLen
	switch {
	case nameLen > MaxInstanceLen:
		return r, 0, errBeaconName
	case end > len(b):
		return r, 0, errBeaconShort
	}
	r.Truncated = b[offFlags]&BeaconFlagTruncated != 0
	r.Nonce = binary.LittleEndian.Uint32(b[offNonce:])
	r.Port = binary.LittleEndian.Uint16(b[offPort:])
	r.Instance = string(b[BeaconReplyFixedSize : BeaconReplyFixedSize+nameLen])
	text := b[BeaconReplyFixedSize+nameLen : end]
	for len(text) > 0 {
		n := int(text[0])
		if 1+n > len(text) {
			return BeaconReply{}, 0, errBeaconText
		}
		r.Text = append(r.Text, string(text[1:1+n]))
		text = text[1+n:]
	}
	return r, end, nil
}

// fit drops trailing text strings until r is at most size bytes, marking
// it truncated if any was dropped. It reports false when even the reply
// without text does not fit.
func (r *BeaconReply) fit(size int) bool {
	for r.Len() > size && len(r.Text) > 0 {
		r.Text = r.Text[:len(r.Text)-1]
		r.Truncated = true
	}
	return r.Len() <= size
}
