// Package seal is the cryptography of a venue passphrase: a PAKE (CPace)
// in the handshake that proves knowledge of the passphrase without giving
// anything to test guesses against, session keys from it, an AEAD with a
// replay window on every datagram, and the server's signature on every
// multicast datagram.
//
// The primitives: CPace over ristretto255 with SHA-512 (cpace.go,
// draft-irtf-cfrg-cpace), HKDF-SHA256 for keys, AES-128-GCM for datagrams
// (AES instructions are on every headset and server CPU that matters) and
// Ed25519 for the group's signatures.
//
// A sealed datagram is the plaintext header (authenticated, not
// encrypted), then an 8-byte little-endian packet number, then the
// ciphertext of the body and a 16-byte tag:
//
//	header (22 B, additional data) | number u64 | ciphertext | tag (16 B)
//
// The nonce is 4 bytes naming the direction (0 client to server, 1 server
// to client, 2 the multicast group) followed by the 8-byte number, which
// each sender increments per datagram and never reuses under one key. A
// receiver accepts a number once, within a window of the last WindowSize
// numbers. The multicast group's datagrams are signed too (group.go).
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
)

// Sizes and parameters.
const (
	NumberSize   = 8  // packet number before the ciphertext
	TagSize      = 16 // AES-GCM tag
	Overhead     = NumberSize + TagSize
	WindowSize   = 1024 // replay window, packet numbers
	sessionKeyed = 16   // AES-128
)

// Errors. Open returns them without allocating.
var (
	ErrShort  = errors.New("seal: datagram too short to be sealed")
	ErrAuth   = errors.New("seal: authentication failed")
	ErrReplay = errors.New("seal: packet number replayed or too old")
)

// Session seals and opens one session's datagrams in one role.
type Session struct {
	tx, rx   cipher.AEAD
	txDir    uint32
	rxDir    uint32
	next     uint64 // next number to send
	window   replayWindow
	nonceBuf [12]byte
	keys     SessionKeys // for a capture's key log (keylog.go)
}

// newSession returns a session sealer with the client → server and server
// → client keys; server says which side this is.
func newSession(c2sKey, s2cKey []byte, server bool) (*Session, error) {
	c2s, err := newGCM(c2sKey)
	if err != nil {
		return nil, err
	}
	s2c, err := newGCM(s2cKey)
	if err != nil {
		return nil, err
	}
	s := &Session{tx: c2s, rx: s2c, txDir: 0, rxDir: 1}
	copy(s.keys.ClientToServer[:], c2sKey)
	copy(s.keys.ServerToClient[:], s2cKey)
	if server {
		s.tx, s.rx, s.txDir, s.rxDir = s2c, c2s, 1, 0
	}
	return s, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func (s *Session) nonce(dir uint32, n uint64) []byte {
	binary.LittleEndian.PutUint32(s.nonceBuf[0:4], dir)
	binary.LittleEndian.PutUint64(s.nonceBuf[4:12], n)
	return s.nonceBuf[:]
}

// Seal appends to dst the packet number and the sealed body, with header
// as additional data, and returns the extended slice. dst and header may
// be the same buffer (dst = header[:len(header)]). It does not allocate
// when dst has room for Overhead more bytes than the body.
func (s *Session) Seal(dst, header, body []byte) []byte {
	n := s.next
	s.next++
	dst = binary.LittleEndian.AppendUint64(dst, n)
	return s.tx.Seal(dst, s.nonce(s.txDir, n), body, header)
}

// Open checks and decrypts sealed (what follows the header), appending the
// body to dst. A number outside the replay window, or seen before, is
// ErrReplay; a forged or damaged datagram is ErrAuth. The window only
// advances for datagrams that authenticate.
func (s *Session) Open(dst, header, sealed []byte) ([]byte, error) {
	n, out, err := s.open(dst, header, sealed)
	if err != nil {
		return dst, err
	}
	s.window.accept(n)
	return out, nil
}

// open is Open without accepting the number into the window: it returns
// the number for the caller to accept once every other check passed.
func (s *Session) open(dst, header, sealed []byte) (uint64, []byte, error) {
	if len(sealed) < Overhead {
		return 0, dst, ErrShort
	}
	n := binary.LittleEndian.Uint64(sealed)
	if !s.window.fresh(n) {
		return 0, dst, ErrReplay
	}
	out, err := s.rx.Open(dst, s.nonce(s.rxDir, n), sealed[NumberSize:], header)
	if err != nil {
		return 0, dst, ErrAuth
	}
	return n, out, nil
}

// replayWindow remembers which recent packet numbers were accepted, as
// RFC 6479's bitmap (WireGuard's too): words of 64 bits in a ring, the word
// of the highest number and the ones before it. A number more than
// WindowSize-64 below the highest accepted is too old to judge and is
// refused; the spare word lets the window slide without losing bits.
type replayWindow struct {
	top  uint64 // highest accepted number + 1; 0 = none yet
	bits [WindowSize / 64]uint64
}

const windowWords = WindowSize / 64

func (w *replayWindow) fresh(n uint64) bool {
	switch {
	case n >= w.top:
		return true
	case w.top-1-n >= WindowSize-64:
		return false
	}
	return w.bits[(n/64)%windowWords]&(1<<(n%64)) == 0
}

func (w *replayWindow) accept(n uint64) {
	if n >= w.top {
		if w.top > 0 {
			// Clear the words between the old highest and the new one.
			for word, last := (w.top-1)/64+1, n/64; word <= last && word <= (w.top-1)/64+windowWords; word++ {
				w.bits[word%windowWords] = 0
			}
		}
		w.top = n + 1
	}
	w.bits[(n/64)%windowWords] |= 1 << (n % 64)
}

// DirGroup is the nonce direction of the multicast group's datagrams.
const DirGroup = 2
