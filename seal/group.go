package seal

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
)

// ErrSignature is OpenSigned's error for a multicast datagram that opens
// with the group key but was not signed by the server: one of the
// headsets, which all hold the group key, forged it.
var ErrSignature = errors.New("seal: multicast datagram not signed by the server")

// Group seals and opens the multicast group's datagrams. Every headset of
// the venue holds the group key, so the key alone cannot tell the server's
// datagrams from a headset's forgery: the server also signs each one with
// its Ed25519 key, and receivers check the signature before they accept
// anything from it (its packet number into the replay window included).
//
// A signed group datagram is the sealed datagram (header ‖ number ‖
// ciphertext ‖ tag) followed by the Ed25519 signature of all of it:
//
//	header | number u64 | ciphertext | tag (16 B) | signature (64 B)
type Group struct {
	Session
	key   [GroupKeySize]byte
	token uint64
	pub   ed25519.PublicKey
	priv  ed25519.PrivateKey // the server's; nil on a receiver
}

// GroupOverhead is how much longer a signed group datagram is than the
// same datagram in clear.
const GroupOverhead = Overhead + SignatureSize

// NewServerGroup makes the server's group for groupToken: a random group
// key and a random Ed25519 signing key (rand nil: crypto/rand). The
// group's key reaches each client wrapped in its handshake (Accept).
func NewServerGroup(groupToken uint64, r io.Reader) (*Group, error) {
	if r == nil {
		r = rand.Reader
	}
	var key [GroupKeySize]byte
	if _, err := io.ReadFull(r, key[:]); err != nil {
		return nil, err
	}
	pub, priv, err := ed25519.GenerateKey(r)
	if err != nil {
		return nil, err
	}
	g, err := NewGroup(key[:], pub, priv)
	if err != nil {
		return nil, err
	}
	g.token = groupToken
	return g, nil
}

// NewGroup returns a group sealer for key (GroupKeySize bytes) whose
// datagrams the server signs with priv and receivers check with pub. A
// receiver passes priv nil.
func NewGroup(key []byte, pub ed25519.PublicKey, priv ed25519.PrivateKey) (*Group, error) {
	if len(key) != GroupKeySize || len(pub) != ed25519.PublicKeySize || priv != nil && len(priv) != ed25519.PrivateKeySize {
		return nil, errors.New("seal: NewGroup: bad key size")
	}
	a, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	g := &Group{Session: Session{tx: a, rx: a, txDir: DirGroup, rxDir: DirGroup}, pub: pub, priv: priv}
	copy(g.key[:], key)
	return g, nil
}

// SealSigned appends to dst the sealed body and the signature over header
// and all that (dst = header[:len(header)], as Seal). It does not
// allocate when dst has room for GroupOverhead more bytes than the body.
// Only the server's group (with its private key) signs.
func (g *Group) SealSigned(dst, header, body []byte) []byte {
	start := len(dst) - len(header)
	dst = g.Seal(dst, header, body)
	sig := ed25519.Sign(g.priv, dst[start:])
	return append(dst, sig...)
}

// OpenSigned checks and decrypts a signed group datagram (its first
// headerLen bytes the header, additional data), appending the body to dst:
// ErrShort, ErrReplay, ErrAuth as Open, and ErrSignature when it opens but
// was not signed by the server. Only a datagram that passes every check
// moves the replay window. It does not allocate when dst has room for the
// body.
func (g *Group) OpenSigned(dst, datagram []byte, headerLen int) ([]byte, error) {
	if headerLen < 0 || len(datagram) < headerLen+GroupOverhead {
		return dst, ErrShort
	}
	signed := datagram[:len(datagram)-SignatureSize]
	n, out, err := g.open(dst, signed[:headerLen], signed[headerLen:])
	if err != nil {
		return dst, err
	}
	if !ed25519.Verify(g.pub, signed, datagram[len(signed):]) {
		return dst, ErrSignature
	}
	g.window.accept(n)
	return out, nil
}
