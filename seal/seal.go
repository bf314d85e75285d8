// Package seal is the cryptography of a venue passphrase: deriving a key
// from the passphrase, proving knowledge of it in the handshake without
// revealing it, and sealing every datagram of a session with an AEAD and a
// replay window.
//
// All of it is the standard library: PBKDF2-SHA256 for the passphrase,
// HKDF-SHA256 for session keys, HMAC-SHA256 for the proof and AES-128-GCM
// for datagrams (AES instructions are on every headset and server CPU that
// matters; no dependency is needed).
//
// A sealed datagram is the plaintext header (authenticated, not
// encrypted), then an 8-byte little-endian packet number, then the
// ciphertext of the body and a 16-byte tag:
//
//	header (22 B, additional data) | number u64 | ciphertext | tag (16 B)
//
// The nonce is 4 bytes naming the direction (0 client to server, 1 server
// to client, 2 the multicast group: NewGroup) followed by the 8-byte number, which each sender increments
// per datagram and never reuses under one key. A receiver accepts a number
// once, within a window of the last WindowSize numbers.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/binary"
	"errors"
)

// Sizes and parameters.
const (
	KeySize      = 32 // the passphrase key
	ProofSize    = 16 // handshake proof
	NumberSize   = 8  // packet number before the ciphertext
	TagSize      = 16 // AES-GCM tag
	Overhead     = NumberSize + TagSize
	WindowSize   = 1024 // replay window, packet numbers
	kdfRounds    = 100_000
	sessionKeyed = 16 // AES-128
)

// Errors. Open returns them without allocating.
var (
	ErrShort  = errors.New("seal: datagram too short to be sealed")
	ErrAuth   = errors.New("seal: authentication failed")
	ErrReplay = errors.New("seal: packet number replayed or too old")
)

// PassphraseKey derives the key of a venue passphrase. It is slow on
// purpose (PBKDF2, 100 000 rounds): do it once at start-up.
func PassphraseKey(passphrase string) ([KeySize]byte, error) {
	var k [KeySize]byte
	b, err := pbkdf2.Key(sha256.New, passphrase, []byte("arcade v1 venue passphrase"), kdfRounds, KeySize)
	if err != nil {
		return k, err
	}
	copy(k[:], b)
	return k, nil
}

// Proof is what a client shows in its ChallengeResponse to prove it knows
// the passphrase: an HMAC over the handshake's nonce and cookie, so it is
// useless for any other handshake.
func Proof(key *[KeySize]byte, clientNonce uint64, cookie []byte) [ProofSize]byte {
	m := hmac.New(sha256.New, key[:])
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], clientNonce)
	m.Write([]byte("arcade v1 proof"))
	m.Write(n[:])
	m.Write(cookie)
	var p [ProofSize]byte
	copy(p[:], m.Sum(nil))
	return p
}

// CheckProof reports, in constant time, whether p is the proof for this
// handshake.
func CheckProof(key *[KeySize]byte, clientNonce uint64, cookie []byte, p [ProofSize]byte) bool {
	want := Proof(key, clientNonce, cookie)
	return hmac.Equal(want[:], p[:])
}

// Session seals and opens one session's datagrams in one role.
type Session struct {
	tx, rx   cipher.AEAD
	txDir    uint32
	rxDir    uint32
	next     uint64 // next number to send
	window   replayWindow
	nonceBuf [12]byte
}

// NewSession derives the session's two keys from the passphrase key and
// the handshake (the client's nonce and the server's cookie: fresh for
// every session). server says which side this is.
func NewSession(key *[KeySize]byte, clientNonce uint64, cookie []byte, server bool) (*Session, error) {
	salt := make([]byte, 8+len(cookie))
	binary.LittleEndian.PutUint64(salt, clientNonce)
	copy(salt[8:], cookie)
	keys, err := hkdf.Key(sha256.New, key[:], salt, "arcade v1 session keys", 2*sessionKeyed)
	if err != nil {
		return nil, err
	}
	c2s, err := newGCM(keys[:sessionKeyed])
	if err != nil {
		return nil, err
	}
	s2c, err := newGCM(keys[sessionKeyed:])
	if err != nil {
		return nil, err
	}
	s := &Session{tx: c2s, rx: s2c, txDir: 0, rxDir: 1}
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
	if len(sealed) < Overhead {
		return dst, ErrShort
	}
	n := binary.LittleEndian.Uint64(sealed)
	if !s.window.fresh(n) {
		return dst, ErrReplay
	}
	out, err := s.rx.Open(dst, s.nonce(s.rxDir, n), sealed[NumberSize:], header)
	if err != nil {
		return dst, ErrAuth
	}
	s.window.accept(n)
	return out, nil
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

// NewGroup derives the key of the multicast group whose datagrams carry
// groupToken and returns a sealer for it: the server seals with it (its
// counter numbers the group's datagrams), every client opens with its own
// (the replay window is per receiver). The key is HKDF-SHA256 of the
// passphrase key with salt groupToken (u64 little-endian) and info
// "arcade v1 group"; the nonce direction is DirGroup.
func NewGroup(key *[KeySize]byte, groupToken uint64) (*Session, error) {
	var salt [8]byte
	binary.LittleEndian.PutUint64(salt[:], groupToken)
	k, err := hkdf.Key(sha256.New, key[:], salt[:], "arcade v1 group", sessionKeyed)
	if err != nil {
		return nil, err
	}
	g, err := newGCM(k)
	if err != nil {
		return nil, err
	}
	return &Session{tx: g, rx: g, txDir: DirGroup, rxDir: DirGroup}, nil
}
