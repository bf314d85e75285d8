package pair

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/wire"
)

// The pair link's datagram (PROTOCOL §18.2):
//
//	0   4  magic "ARCP"
//	4   1  version (1)
//	5   1  kind (1: a part of a copy)
//	6   2  part index
//	8   2  part count
//	10  2  zero
//	12  4  epoch the sender writes under
//	16  8  seq: the sender's datagram counter under that epoch, from 1
//	24  8  tick the copy is the end of
//	32  n  the part: bytes of the copy's encoding (below)
//	32+n 16 MAC: the AES-256-GCM tag, with key SHA-256(pair key) and nonce
//	        epoch (4) ‖ seq (8), of no plaintext and bytes 0..32+n as the
//	        additional data (GMAC: AES-NI fast, a copy of a thousand
//	        objects is MACed in microseconds). Each (epoch, seq) is used
//	        once: an epoch is one server's, for one run (§18.3).
//
// The copy: group token (u64), session count (u16), each session (token
// u64, nonce u64, client id u16, player id 16, address 16 (IPv6 or
// IPv4-mapped), port u16, flags u8 (1 unicast, 2 asked for unicast,
// 4 StateDelta, 8 coded, 16 an input of it applied), name length u8,
// name), then the world as a
// checkpoint (docs/CHECKPOINT.md).
const (
	Magic    = "ARCP"
	Version  = 1
	KindCopy = 1
	// KindApplied: the calls the active made into the world after the
	// copy of the datagram's tick (server.Applied), part and parts 0
	// and 1.
	KindApplied = 2
	// AppliedSize is one call's size in a KindApplied datagram: kind (1),
	// client id (2), hand (1), entity (2), the input (checkpoint.InputSize,
	// zero but for an input).
	AppliedSize = 6 + checkpoint.InputSize
	// MaxPending bounds the calls a standby keeps after its copy: a tick
	// of 2 000 headsets' inputs at 90 Hz, twice.
	MaxPending = 4096
	HeaderSize = 32
	MACSize    = 16
	// PartSize is the most copy bytes one datagram carries: a copy of
	// the demo arcade fits in one; one of a thousand objects in 15.
	PartSize = 8192
	// MaxParts bounds a copy (and what a receiver buffers for one):
	// 512 parts, 4 MiB.
	MaxParts = 512
	// MaxSessions bounds the sessions a copy lists.
	MaxSessions = server.MaxClientsLimit
)

// Errors of Parse.
var (
	ErrShort   = errors.New("pair: datagram too short")
	ErrMagic   = errors.New("pair: not a pair datagram")
	ErrVersion = errors.New("pair: unknown version or kind")
	ErrMAC     = errors.New("pair: MAC does not verify")
	ErrParts   = errors.New("pair: bad part index or count")
	ErrCopy    = errors.New("pair: malformed copy")
)

// Header is a pair datagram's header.
type Header struct {
	Kind        uint8
	Part, Parts uint16
	Epoch       uint32
	Seq         uint64
	Tick        uint64
}

// mac is GMAC keyed with SHA-256 of the pair key.
type mac struct {
	g     cipher.AEAD
	nonce [12]byte
	sum   [MACSize]byte
}

func newMAC(key []byte) *mac {
	k := sha256.Sum256(key)
	b, err := aes.NewCipher(k[:])
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		panic(err)
	}
	return &mac{g: g}
}

// of is the tag of datagram b without its tag (its epoch and seq are the
// nonce).
func (m *mac) of(b []byte) []byte {
	binary.LittleEndian.PutUint32(m.nonce[:], binary.LittleEndian.Uint32(b[12:]))
	binary.LittleEndian.PutUint64(m.nonce[4:], binary.LittleEndian.Uint64(b[16:]))
	return m.g.Seal(m.sum[:0], m.nonce[:], nil, b)
}

// appendDatagram appends a datagram of header h and part p, with its MAC.
func (m *mac) appendDatagram(b []byte, h *Header, p []byte) []byte {
	start := len(b)
	b = append(b, Magic...)
	kind := h.Kind
	if kind == 0 {
		kind = KindCopy
	}
	b = append(b, Version, kind)
	b = binary.LittleEndian.AppendUint16(b, h.Part)
	b = binary.LittleEndian.AppendUint16(b, h.Parts)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint32(b, h.Epoch)
	b = binary.LittleEndian.AppendUint64(b, h.Seq)
	b = binary.LittleEndian.AppendUint64(b, h.Tick)
	b = append(b, p...)
	return append(b, m.of(b[start:])...)
}

// parse checks datagram d's MAC and header, and returns its header and
// part. The MAC is checked before anything is believed.
func (m *mac) parse(d []byte, h *Header) ([]byte, error) {
	if len(d) < HeaderSize+MACSize {
		return nil, ErrShort
	}
	if string(d[:4]) != Magic {
		return nil, ErrMagic
	}
	body, sum := d[:len(d)-MACSize], d[len(d)-MACSize:]
	if subtle.ConstantTimeCompare(m.of(body), sum) != 1 {
		return nil, ErrMAC
	}
	if d[4] != Version || d[5] != KindCopy && d[5] != KindApplied {
		return nil, ErrVersion
	}
	h.Kind = d[5]
	le := binary.LittleEndian
	h.Part, h.Parts = le.Uint16(d[6:]), le.Uint16(d[8:])
	h.Epoch, h.Seq, h.Tick = le.Uint32(d[12:]), le.Uint64(d[16:]), le.Uint64(d[24:])
	if h.Parts == 0 || h.Parts > MaxParts || h.Part >= h.Parts || len(body)-HeaderSize > PartSize {
		return nil, ErrParts
	}
	return body[HeaderSize:], nil
}

const (
	flagUnicast = 1 << iota
	flagFixedUnicast
	flagDelta
	flagCoded
	flagInputApplied
)

// AppendCopy appends the encoding of r.
func AppendCopy(b []byte, r *server.Replica) []byte {
	le := binary.LittleEndian
	b = le.AppendUint64(b, r.GroupToken)
	b = le.AppendUint16(b, uint16(len(r.Sessions)))
	for i := range r.Sessions {
		s := &r.Sessions[i]
		b = le.AppendUint64(b, s.Token)
		b = le.AppendUint64(b, s.Nonce)
		b = le.AppendUint16(b, s.ID)
		b = append(b, s.PlayerID[:]...)
		a := s.Addr.Addr().As16()
		b = append(b, a[:]...)
		b = le.AppendUint16(b, s.Addr.Port())
		var fl uint8
		if s.Unicast {
			fl |= flagUnicast
		}
		if s.FixedUnicast {
			fl |= flagFixedUnicast
		}
		if s.Delta {
			fl |= flagDelta
		}
		if s.Coded {
			fl |= flagCoded
		}
		if s.InputApplied {
			fl |= flagInputApplied
		}
		name := s.Name[:min(len(s.Name), server.MaxNameLen)]
		b = append(b, fl, uint8(len(name)))
		b = append(b, name...)
	}
	return checkpoint.Append(b, &r.State)
}

// AppendApplied appends the encoding of one call.
func AppendApplied(b []byte, a *server.Applied) []byte {
	b = append(b, a.Kind)
	b = binary.LittleEndian.AppendUint16(b, a.ID)
	b = append(b, a.Hand)
	b = binary.LittleEndian.AppendUint16(b, a.Entity)
	return checkpoint.AppendInput(b, &a.Input)
}

// ParseApplied decodes the calls of a KindApplied datagram's bytes,
// appending them to into; bytes that are not a whole number of calls, or
// a call of an unknown kind, are an error wrapping ErrCopy.
func ParseApplied(b []byte, into []server.Applied) ([]server.Applied, error) {
	if len(b)%AppliedSize != 0 {
		return into, fmt.Errorf("%w: %d bytes of calls", ErrCopy, len(b))
	}
	for ; len(b) > 0; b = b[AppliedSize:] {
		a := server.Applied{Kind: b[0], ID: binary.LittleEndian.Uint16(b[1:]), Hand: b[3], Entity: binary.LittleEndian.Uint16(b[4:])}
		if a.Kind < server.AppliedInput || a.Kind > server.AppliedRelease {
			return into, fmt.Errorf("%w: a call of kind %d", ErrCopy, a.Kind)
		}
		checkpoint.ParseInput(b[6:], &a.Input)
		into = append(into, a)
	}
	return into, nil
}

// sessionFixed is a session's size without its name.
const sessionFixed = 8 + 8 + 2 + wire.PlayerIDSize + 16 + 2 + 2

// ParseCopy decodes a copy into r, reusing its slices. Names are
// interned through names (a receiver keeps the last copy's, so a copy a
// tick allocates only for a name it has not seen). On error r is left in
// an unspecified state and the error wraps ErrCopy.
func ParseCopy(b []byte, r *server.Replica, names map[string]string) error {
	le := binary.LittleEndian
	if len(b) < 10 {
		return fmt.Errorf("%w: %d bytes", ErrCopy, len(b))
	}
	r.Reset()
	r.GroupToken = le.Uint64(b)
	n := int(le.Uint16(b[8:]))
	if n > MaxSessions {
		return fmt.Errorf("%w: %d sessions", ErrCopy, n)
	}
	b = b[10:]
	for range n {
		if len(b) < sessionFixed {
			return fmt.Errorf("%w: a session cut short", ErrCopy)
		}
		var s server.SessionCopy
		s.Token, s.Nonce, s.ID = le.Uint64(b), le.Uint64(b[8:]), le.Uint16(b[16:])
		copy(s.PlayerID[:], b[18:])
		o := 18 + wire.PlayerIDSize
		s.Addr = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[o:o+16])).Unmap(), le.Uint16(b[o+16:]))
		fl, nl := b[o+18], int(b[o+19])
		b = b[sessionFixed:]
		if len(b) < nl {
			return fmt.Errorf("%w: a session's name cut short", ErrCopy)
		}
		nm, ok := names[string(b[:nl])]
		if !ok {
			if len(names) >= 4*MaxSessions {
				clear(names)
			}
			nm = string(b[:nl])
			names[nm] = nm
		}
		s.Name = nm
		b = b[nl:]
		s.Unicast, s.FixedUnicast = fl&flagUnicast != 0, fl&flagFixedUnicast != 0
		s.Delta, s.Coded = fl&flagDelta != 0, fl&flagCoded != 0
		s.InputApplied = fl&flagInputApplied != 0
		r.Sessions = append(r.Sessions, s)
	}
	if _, err := checkpoint.Parse(b, &r.State); err != nil {
		return fmt.Errorf("%w: %v", ErrCopy, err)
	}
	return nil
}
