package wire

import (
	"encoding/binary"
	"net/netip"
	"unicode/utf8"
)

// Body sizes of the handshake messages.
const (
	// ConnectRequestBodySize is the body size of a ConnectRequest: the
	// body is zero-padded so that header and body make MinConnectRequestSize.
	ConnectRequestBodySize = MinConnectRequestSize - HeaderSize
	ChallengeSize          = 8 + CookieSize // 40
	AcceptedSize           = 35
	// AcceptedSealedSize is an Accepted with AcceptedSealed: the CPace
	// message, the server key, the wrapped group key and the confirmation.
	AcceptedSealedSize = AcceptedSize + PAKESize + ServerKeySize + WrappedKeySize + ConfirmSize // 163
	DeniedSize         = 9
)

// ConnectRequest and ChallengeResponse offsets. The name is variable length;
// in a ChallengeResponse the cookie and then the player id follow it.
const (
	offConnNonce   = 0
	offConnFlags   = 8
	offConnNameLen = 9
	offConnName    = 10 // NameLen bytes of UTF-8
)

// Challenge offsets.
const (
	offChalNonce  = 0
	offChalCookie = 8
)

// Accepted offsets.
const (
	offAccNonce      = 0
	offAccClientID   = 8
	offAccTickRate   = 10
	offAccServerTime = 12
	offAccGroupAddr  = 20 // IPv4, network byte order
	offAccGroupPort  = 24
	offAccGroupToken = 26
	offAccFlags      = 34
)

// Denied offsets.
const (
	offDenNonce  = 0
	offDenReason = 8
)

// setName stores s in name, truncated to MaxNameLen bytes at a rune
// boundary. Invalid UTF-8 sequences become U+FFFD, so the stored name is
// always valid UTF-8. It does not allocate.
func setName(name *[MaxNameLen]byte, n *uint8, s string) {
	b := name[:0]
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if utf8.RuneLen(r) > MaxNameLen-len(b) {
			break
		}
		b = utf8.AppendRune(b, r) // r == RuneError for invalid bytes
	}
	*n = uint8(len(b))
	clear(name[len(b):])
}

// appendName appends the name length and bytes. A NameLen above MaxNameLen
// is sent as MaxNameLen.
func appendName(b []byte, name *[MaxNameLen]byte, n uint8) []byte {
	n = min(n, MaxNameLen)
	b = append(b, n)
	return append(b, name[:n]...)
}

// parseName decodes the name length byte and name at the start of b into
// name and n, zeroing the unused tail of name, and returns the bytes used.
// A length above MaxNameLen or invalid UTF-8 is ErrField.
func parseName(b []byte, name *[MaxNameLen]byte, n *uint8) (int, error) {
	if len(b) < 1 {
		return 0, ErrShort
	}
	l := int(b[0])
	if l > MaxNameLen {
		return 0, ErrField
	}
	if len(b) < 1+l {
		return 0, ErrShort
	}
	s := b[1 : 1+l]
	if !utf8.Valid(s) {
		return 0, ErrField
	}
	*n = uint8(l)
	clear(name[copy(name[:], s):])
	return 1 + l, nil
}

// SetName sets the player name to s, truncated to MaxNameLen bytes at a
// UTF-8 boundary; invalid UTF-8 is replaced by U+FFFD.
func (m *ConnectRequest) SetName(s string) { setName(&m.Name, &m.NameLen, s) }

// NameString returns the player name. Unlike the codec it allocates.
func (m *ConnectRequest) NameString() string { return string(m.Name[:min(m.NameLen, MaxNameLen)]) }

// Len returns ConnectRequestBodySize: the body includes its padding.
func (m *ConnectRequest) Len() int { return ConnectRequestBodySize }

// Append appends the body, zero-padded to ConnectRequestBodySize bytes, to b.
// b must already hold the HeaderSize-byte header for the datagram to reach
// MinConnectRequestSize.
func (m *ConnectRequest) Append(b []byte) []byte {
	start := len(b)
	b = binary.LittleEndian.AppendUint64(b, m.ClientNonce)
	b = append(b, m.Flags)
	b = appendName(b, &m.Name, m.NameLen)
	return append(b, make([]byte, ConnectRequestBodySize-(len(b)-start))...)
}

// Parse decodes a body. A body shorter than ConnectRequestBodySize is
// ErrNotPadded; the padding's content is ignored.
func (m *ConnectRequest) Parse(b []byte) (int, error) {
	if len(b) < ConnectRequestBodySize {
		return 0, ErrNotPadded
	}
	if _, err := parseName(b[offConnNameLen:], &m.Name, &m.NameLen); err != nil {
		return 0, err
	}
	m.ClientNonce = binary.LittleEndian.Uint64(b[offConnNonce:])
	m.Flags = b[offConnFlags]
	return ConnectRequestBodySize, nil
}

// Len returns ChallengeSize.
func (m *Challenge) Len() int { return ChallengeSize }

// Append appends the body to b.
func (m *Challenge) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint64(b, m.ClientNonce)
	return append(b, m.Cookie[:]...)
}

// Parse decodes a body.
func (m *Challenge) Parse(b []byte) (int, error) {
	if len(b) < ChallengeSize {
		return 0, ErrShort
	}
	m.ClientNonce = binary.LittleEndian.Uint64(b[offChalNonce:])
	copy(m.Cookie[:], b[offChalCookie:])
	return ChallengeSize, nil
}

// SetName sets the player name, as ConnectRequest.SetName does.
func (m *ChallengeResponse) SetName(s string) { setName(&m.Name, &m.NameLen, s) }

// NameString returns the player name. Unlike the codec it allocates.
func (m *ChallengeResponse) NameString() string {
	return string(m.Name[:min(m.NameLen, MaxNameLen)])
}

// Len returns the body length: 10 + NameLen + CookieSize + PlayerIDSize,
// plus PAKESize when Flags has ConnectHasPAKE.
func (m *ChallengeResponse) Len() int {
	n := offConnName + int(min(m.NameLen, MaxNameLen)) + CookieSize + PlayerIDSize
	if m.Flags&ConnectHasPAKE != 0 {
		n += PAKESize
	}
	return n
}

// Append appends the body to b.
func (m *ChallengeResponse) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint64(b, m.ClientNonce)
	b = append(b, m.Flags)
	b = appendName(b, &m.Name, m.NameLen)
	b = append(b, m.Cookie[:]...)
	b = append(b, m.PlayerID[:]...)
	if m.Flags&ConnectHasPAKE != 0 {
		b = append(b, m.PAKE[:]...)
	}
	return b
}

// Parse decodes a body. A body that ends before the player id, or before
// the CPace message when Flags has ConnectHasPAKE, is ErrShort. Without
// the flag PAKE is zeroed.
func (m *ChallengeResponse) Parse(b []byte) (int, error) {
	if len(b) < offConnName {
		return 0, ErrShort
	}
	l := int(b[offConnNameLen])
	if l > MaxNameLen {
		return 0, ErrField
	}
	cookie := offConnName + l
	player := cookie + CookieSize
	n := player + PlayerIDSize
	pake := n
	if b[offConnFlags]&ConnectHasPAKE != 0 {
		n += PAKESize
	}
	if len(b) < n {
		return 0, ErrShort
	}
	if _, err := parseName(b[offConnNameLen:], &m.Name, &m.NameLen); err != nil {
		return 0, err
	}
	m.ClientNonce = binary.LittleEndian.Uint64(b[offConnNonce:])
	m.Flags = b[offConnFlags]
	copy(m.Cookie[:], b[cookie:player])
	copy(m.PlayerID[:], b[player:pake])
	m.PAKE = [PAKESize]byte{}
	copy(m.PAKE[:], b[pake:n])
	return n, nil
}

// Len returns AcceptedSize, or AcceptedSealedSize with AcceptedSealed.
func (m *Accepted) Len() int {
	if m.Flags&AcceptedSealed != 0 {
		return AcceptedSealedSize
	}
	return AcceptedSize
}

// Append appends the body to b. A Multicast that is not a valid IPv4 (or
// IPv4-mapped IPv6) address and port is sent as 0.0.0.0:0, meaning none.
func (m *Accepted) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint64(b, m.ClientNonce)
	b = binary.LittleEndian.AppendUint16(b, m.ClientID)
	b = binary.LittleEndian.AppendUint16(b, m.TickRate)
	b = binary.LittleEndian.AppendUint64(b, m.ServerTime)
	var ip [4]byte
	var port uint16
	if a := m.Multicast.Addr().Unmap(); a.Is4() {
		ip, port = a.As4(), m.Multicast.Port()
	}
	b = append(b, ip[:]...)
	b = binary.LittleEndian.AppendUint16(b, port)
	b = binary.LittleEndian.AppendUint64(b, m.GroupToken)
	b = append(b, m.Flags)
	if m.Flags&AcceptedSealed != 0 {
		b = append(b, m.PAKE[:]...)
		b = append(b, m.ServerKey[:]...)
		b = append(b, m.GroupKey[:]...)
		b = append(b, m.Confirm[:]...)
	}
	return b
}

// Parse decodes a body. 0.0.0.0:0 decodes as the zero netip.AddrPort. With
// AcceptedSealed a body shorter than AcceptedSealedSize is ErrShort;
// without it the sealed fields are zeroed.
func (m *Accepted) Parse(b []byte) (int, error) {
	if len(b) < AcceptedSize || b[offAccFlags]&AcceptedSealed != 0 && len(b) < AcceptedSealedSize {
		return 0, ErrShort
	}
	m.ClientNonce = binary.LittleEndian.Uint64(b[offAccNonce:])
	m.ClientID = binary.LittleEndian.Uint16(b[offAccClientID:])
	m.TickRate = binary.LittleEndian.Uint16(b[offAccTickRate:])
	m.ServerTime = binary.LittleEndian.Uint64(b[offAccServerTime:])
	ip := [4]byte(b[offAccGroupAddr:])
	port := binary.LittleEndian.Uint16(b[offAccGroupPort:])
	if ip == [4]byte{} && port == 0 {
		m.Multicast = netip.AddrPort{}
	} else {
		m.Multicast = netip.AddrPortFrom(netip.AddrFrom4(ip), port)
	}
	m.GroupToken = binary.LittleEndian.Uint64(b[offAccGroupToken:])
	m.Flags = b[offAccFlags]
	m.PAKE, m.ServerKey, m.GroupKey, m.Confirm = [PAKESize]byte{}, [ServerKeySize]byte{}, [WrappedKeySize]byte{}, [ConfirmSize]byte{}
	if m.Flags&AcceptedSealed == 0 {
		return AcceptedSize, nil
	}
	d := b[AcceptedSize:]
	copy(m.PAKE[:], d)
	copy(m.ServerKey[:], d[PAKESize:])
	copy(m.GroupKey[:], d[PAKESize+ServerKeySize:])
	copy(m.Confirm[:], d[PAKESize+ServerKeySize+WrappedKeySize:])
	return AcceptedSealedSize, nil
}

// Len returns DeniedSize.
func (m *Denied) Len() int { return DeniedSize }

// Append appends the body to b.
func (m *Denied) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint64(b, m.ClientNonce)
	return append(b, byte(m.Reason))
}

// Parse decodes a body. Reason 0 is ErrField; other reasons unknown to this
// version are passed through.
func (m *Denied) Parse(b []byte) (int, error) {
	if len(b) < DeniedSize {
		return 0, ErrShort
	}
	if b[offDenReason] == 0 {
		return 0, ErrField
	}
	m.ClientNonce = binary.LittleEndian.Uint64(b[offDenNonce:])
	m.Reason = DenyReason(b[offDenReason])
	return DeniedSize, nil
}
