package pair

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/seal"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/wire"
	"golang.org/x/crypto/hkdf"
)

// The pair link's datagram (PROTOCOL §18.2):
//
//	0   4  magic "ARCP"
//	4   1  version (2)
//	5   1  kind (1: a part of a copy; 2: calls)
//	6   2  part index
//	8   2  part count
//	10  2  zero
//	12  4  epoch the sender writes under
//	16  8  seq: the sender's datagram counter under that epoch, from 1
//	24  8  tick the copy is the end of
//	32  n  the part, encrypted: bytes of the copy's encoding (below)
//	32+n 16 the AES-256-GCM tag
//
// The part is sealed with AES-256-GCM under the datagram key,
// HKDF-SHA256(pair key, no salt, info "arcade pair v2 datagrams"), with
// nonce epoch (4) ‖ seq (8) and the header (bytes 0..32) as additional
// data: a sealed server's copy carries its sessions' keys, which no one
// else on the LAN may read. Each (epoch, seq) is used once: an epoch is
// one server's, for one run (§18.3). Version 1 (the part in clear, a
// GMAC with SHA-256 of the pair key) is refused and counted.
//
// The copy: group token (u64), flags u8 (1: sealed), for a sealed copy
// the group (key 16, signer seed 32, send reservation u64), session
// count (u16), each session (token u64, nonce u64, client id u16, player
// id 16, address 16 (IPv6 or IPv4-mapped), port u16, flags u8 (1
// unicast, 2 asked for unicast, 4 StateDelta, 8 coded, 16 an input of it
// applied), name length u8, name, and for a sealed copy its keys (client
// to server 16, server to client 16), send reservation u64 and received
// u64), then the world as a checkpoint (docs/CHECKPOINT.md).
const (
	Magic    = "ARCP"
	Version  = 2
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
	TagSize    = 16
	// PartSize is the most copy bytes one datagram carries: a copy of
	// the demo arcade fits in one; one of a thousand objects in 15.
	PartSize = 8192
	// MaxParts bounds a copy (and what a receiver buffers for one):
	// 512 parts, 4 MiB.
	MaxParts = 512
	// MaxSessions bounds the sessions a copy lists.
	MaxSessions = server.MaxClientsLimit
	// KeyInfo is the HKDF info of the datagram key.
	KeyInfo = "arcade pair v2 datagrams"
)

// Errors of Parse.
var (
	ErrShort    = errors.New("pair: datagram too short")
	ErrMagic    = errors.New("pair: not a pair datagram")
	ErrVersion  = errors.New("pair: unknown version or kind")
	ErrVersion1 = errors.New("pair: a version 1 datagram (a build before sealed copies; both boxes must run the same build)")
	ErrAuth     = errors.New("pair: datagram does not open with the pair key")
	ErrParts    = errors.New("pair: bad part index or count")
	ErrCopy     = errors.New("pair: malformed copy")
)

// Header is a pair datagram's header.
type Header struct {
	Kind        uint8
	Part, Parts uint16
	Epoch       uint32
	Seq         uint64
	Tick        uint64
}

// sealer seals and opens pair datagrams: AES-256-GCM under the datagram
// key.
type sealer struct {
	g     cipher.AEAD
	nonce [12]byte
}

// datagramKey is the datagram key of a pair key.
func datagramKey(key []byte) [32]byte {
	var k [32]byte
	if _, err := io.ReadFull(hkdf.New(sha256.New, key, nil, []byte(KeyInfo)), k[:]); err != nil {
		panic(err) // 32 bytes are well within HKDF-SHA256's output
	}
	return k
}

func newSealer(key []byte) *sealer {
	k := datagramKey(key)
	b, err := aes.NewCipher(k[:])
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		panic(err)
	}
	return &sealer{g: g}
}

// nonceOf is the nonce of header h: its epoch and seq.
func (m *sealer) nonceOf(h []byte) []byte {
	binary.LittleEndian.PutUint32(m.nonce[:], binary.LittleEndian.Uint32(h[12:]))
	binary.LittleEndian.PutUint64(m.nonce[4:], binary.LittleEndian.Uint64(h[16:]))
	return m.nonce[:]
}

// appendDatagram appends a datagram of header h and part p, sealed. It
// does not allocate when b has room for HeaderSize+len(p)+TagSize more
// bytes.
func (m *sealer) appendDatagram(b []byte, h *Header, p []byte) []byte {
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
	hdr := b[start:]
	return m.g.Seal(b, m.nonceOf(hdr), p, hdr)
}

// parse opens datagram d in place and returns its header and part: the
// tag is checked before anything but the magic and the version is
// believed. d's part is overwritten (with its plaintext, or zeros when
// it does not open).
func (m *sealer) parse(d []byte, h *Header) ([]byte, error) {
	if len(d) < HeaderSize+TagSize {
		return nil, ErrShort
	}
	if string(d[:4]) != Magic {
		return nil, ErrMagic
	}
	switch d[4] {
	case Version:
	case 1:
		return nil, ErrVersion1
	default:
		return nil, ErrVersion
	}
	if len(d)-HeaderSize-TagSize > PartSize {
		return nil, ErrParts
	}
	hdr := d[:HeaderSize]
	part, err := m.g.Open(d[HeaderSize:HeaderSize], m.nonceOf(hdr), d[HeaderSize:], hdr)
	if err != nil {
		return nil, ErrAuth
	}
	if d[5] != KindCopy && d[5] != KindApplied {
		return nil, ErrVersion
	}
	h.Kind = d[5]
	le := binary.LittleEndian
	h.Part, h.Parts = le.Uint16(d[6:]), le.Uint16(d[8:])
	h.Epoch, h.Seq, h.Tick = le.Uint32(d[12:]), le.Uint64(d[16:]), le.Uint64(d[24:])
	if h.Parts == 0 || h.Parts > MaxParts || h.Part >= h.Parts {
		return nil, ErrParts
	}
	return part, nil
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
	if !r.Sealed {
		b = append(b, 0)
	} else {
		b = append(b, copySealed)
		b = append(b, r.Group.Key[:]...)
		b = append(b, r.Group.Signer[:]...)
		b = le.AppendUint64(b, r.Group.Send)
	}
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
		if r.Sealed {
			b = append(b, s.Seal.Keys.ClientToServer[:]...)
			b = append(b, s.Seal.Keys.ServerToClient[:]...)
			b = le.AppendUint64(b, s.Seal.Send)
			b = le.AppendUint64(b, s.Seal.Received)
		}
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

// sessionFixed is a session's size without its name and keys.
const sessionFixed = 8 + 8 + 2 + wire.PlayerIDSize + 16 + 2 + 2

// Sizes of a sealed copy's parts: the group (key, signer seed, send
// reservation) and a session's keys (two keys, send reservation,
// received).
const (
	GroupSealSize   = seal.GroupKeySize + seal.SignerSize + 8
	SessionSealSize = 2*16 + 8 + 8
)

// copySealed is the copy's flag of a sealed server's copy.
const copySealed = 1

// ParseCopy decodes a copy into r, reusing its slices. Names are
// interned through names (a receiver keeps the last copy's, so a copy a
// tick allocates only for a name it has not seen). On error r is left in
// an unspecified state and the error wraps ErrCopy.
func ParseCopy(b []byte, r *server.Replica, names map[string]string) error {
	le := binary.LittleEndian
	if len(b) < 11 {
		return fmt.Errorf("%w: %d bytes", ErrCopy, len(b))
	}
	r.Reset()
	r.GroupToken = le.Uint64(b)
	switch fl := b[8]; fl {
	case 0:
		b = b[9:]
	case copySealed:
		b = b[9:]
		if len(b) < GroupSealSize+2 {
			return fmt.Errorf("%w: a sealed copy's group cut short", ErrCopy)
		}
		r.Sealed = true
		copy(r.Group.Key[:], b)
		copy(r.Group.Signer[:], b[seal.GroupKeySize:])
		r.Group.Send = le.Uint64(b[seal.GroupKeySize+seal.SignerSize:])
		b = b[GroupSealSize:]
	default:
		return fmt.Errorf("%w: copy flags %#x", ErrCopy, fl)
	}
	if len(b) < 2 {
		return fmt.Errorf("%w: no session count", ErrCopy)
	}
	n := int(le.Uint16(b))
	if n > MaxSessions {
		return fmt.Errorf("%w: %d sessions", ErrCopy, n)
	}
	b = b[2:]
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
		if r.Sealed {
			if len(b) < SessionSealSize {
				return fmt.Errorf("%w: a session's keys cut short", ErrCopy)
			}
			copy(s.Seal.Keys.ClientToServer[:], b)
			copy(s.Seal.Keys.ServerToClient[:], b[16:])
			s.Seal.Send, s.Seal.Received = le.Uint64(b[32:]), le.Uint64(b[40:])
			b = b[SessionSealSize:]
		}
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
