package capture

import (
	"encoding/binary"
	"net/netip"
)

// appendFrame appends an IPv4 header, a UDP header and payload to b. orig
// is the datagram's full length, of which payload may be a prefix; the
// lengths in the headers are the original ones, and the UDP checksum is
// computed only when the whole datagram is there (0 otherwise: "none").
func appendFrame(b []byte, src, dst netip.AddrPort, id uint16, payload []byte, orig int) []byte {
	s4, d4 := addr4(src.Addr()), addr4(dst.Addr())
	ttl := byte(64)
	if netip.AddrFrom4(d4).IsMulticast() {
		ttl = 1
	}
	udpLen := udpHeaderSize + orig
	start := len(b)
	b = append(b,
		0x45, 0, // version 4, IHL 5; TOS
		byte((ipv4HeaderSize+udpLen)>>8), byte(ipv4HeaderSize+udpLen),
		byte(id>>8), byte(id),
		0x40, 0, // don't fragment
		ttl, 17, // UDP
		0, 0, // header checksum, below
	)
	b = append(b, s4[:]...)
	b = append(b, d4[:]...)
	binary.BigEndian.PutUint16(b[start+10:], ^onesSum(0, b[start:start+ipv4HeaderSize]))

	u := len(b)
	b = binary.BigEndian.AppendUint16(b, src.Port())
	b = binary.BigEndian.AppendUint16(b, dst.Port())
	b = binary.BigEndian.AppendUint16(b, uint16(udpLen))
	b = append(b, 0, 0)
	b = append(b, payload...)
	if len(payload) == orig {
		// Pseudo-header: addresses, protocol, UDP length; then the segment.
		sum := onesSum(0, s4[:])
		sum = onesSum(sum, d4[:])
		sum = add16(sum, 17)
		sum = add16(sum, uint16(udpLen))
		c := ^onesSum(sum, b[u:])
		if c == 0 {
			c = 0xffff // 0 means "no checksum"
		}
		binary.BigEndian.PutUint16(b[u+6:], c)
	}
	return b
}

// addr4 returns a as four bytes, 0.0.0.0 when it is not IPv4.
func addr4(a netip.Addr) [4]byte {
	a = a.Unmap()
	if !a.Is4() {
		return [4]byte{}
	}
	return a.As4()
}

// onesSum adds b, as big-endian 16-bit words (odd length padded with a
// zero), to sum in ones' complement arithmetic.
func onesSum(sum uint16, b []byte) uint16 {
	for ; len(b) >= 2; b = b[2:] {
		sum = add16(sum, binary.BigEndian.Uint16(b))
	}
	if len(b) == 1 {
		sum = add16(sum, uint16(b[0])<<8)
	}
	return sum
}

func add16(a, b uint16) uint16 {
	s := uint32(a) + uint32(b)
	return uint16(s + s>>16)
}
