package seal

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
)

// The venue passphrase handshake (docs/PROTOCOL.md §17.2): CPace between
// the client (initiator) and the server (responder), with
//
//	PRS = the passphrase (UTF-8), CI = "arcade v1",
//	sid = cookie (32 bytes) ‖ client nonce (u64),
//	ADa = empty, ADb = server key (Ed25519, 32 bytes) ‖ group token (u64).
//
// The client sends msgA in its ChallengeResponse; the server answers in
// the Accepted with msgB, its key, the group key wrapped for this client
// and its confirmation tag over the transcript. From the shared ISK both
// derive the session's two AEAD keys; the client's first sealed datagram
// is its confirmation. A passive observer of the exchange sees two
// random-looking group elements and learns nothing to test a passphrase
// guess against; an active one gets one guess per handshake, which the
// server's handshake budgets bound.

// Handshake sizes.
const (
	GroupKeySize   = 16 // AES-128 key of the multicast group
	WrappedKeySize = GroupKeySize + TagSize
	ServerKeySize  = ed25519.PublicKeySize
	SignatureSize  = ed25519.SignatureSize
)

// handshakeCI is CPace's channel identifier for Arcade.
var handshakeCI = []byte("arcade v1")

// ErrConfirm is Finish's error when the server's confirmation does not
// check: it does not know the passphrase (or the Accepted was forged).
var ErrConfirm = errors.New("seal: the server's key confirmation does not check: wrong passphrase, or not the server")

// HandshakeSID is CPace's session id for a handshake: the cookie, then the
// client nonce (u64 little-endian).
func HandshakeSID(clientNonce uint64, cookie []byte) []byte {
	sid := make([]byte, 0, len(cookie)+8)
	sid = append(sid, cookie...)
	return binary.LittleEndian.AppendUint64(sid, clientNonce)
}

func handshakeADb(serverKey []byte, groupToken uint64) []byte {
	ad := make([]byte, 0, len(serverKey)+8)
	ad = append(ad, serverKey...)
	return binary.LittleEndian.AppendUint64(ad, groupToken)
}

// Accept is what the server puts in a sealed Accepted for one client.
type Accept struct {
	PAKE      [CPaceMessageSize]byte
	ServerKey [ServerKeySize]byte
	GroupKey  [WrappedKeySize]byte // the group key, sealed with a key of this handshake
	Confirm   [CPaceTagSize]byte
}

// ClientHandshake is a client's side of one handshake attempt: its CPace
// message is the same for every resend of the attempt's
// ChallengeResponse.
type ClientHandshake struct {
	init *CPaceInitiator
	msgA [CPaceMessageSize]byte
	sid  []byte
}

// NewClientHandshake starts the handshake with the cookie of the
// attempt's first Challenge. rand nil means crypto/rand.
func NewClientHandshake(passphrase string, clientNonce uint64, cookie []byte, rand io.Reader) (*ClientHandshake, error) {
	h := &ClientHandshake{sid: HandshakeSID(clientNonce, cookie)}
	init, msgA, err := NewCPaceInitiator([]byte(passphrase), handshakeCI, h.sid, nil, rand)
	if err != nil {
		return nil, err
	}
	h.init = init
	copy(h.msgA[:], msgA)
	return h, nil
}

// Message is the CPace message for the ChallengeResponse.
func (h *ClientHandshake) Message() [CPaceMessageSize]byte { return h.msgA }

// Finish checks the server's Accept for a group with groupToken and
// returns the session's sealer and the group's opener (which verifies the
// server's signature on every multicast datagram). It fails with ErrConfirm
// when the server does not know the passphrase, and can be called once.
func (h *ClientHandshake) Finish(a *Accept, groupToken uint64) (*Session, *Group, error) {
	adB := handshakeADb(a.ServerKey[:], groupToken)
	isk, err := h.init.Finish(a.PAKE[:], adB)
	if err != nil {
		return nil, nil, err
	}
	tr := CPaceTranscript(h.msgA[:], nil, a.PAKE[:], adB)
	if !CPaceCheckConfirm(isk, CPaceServerToClient, tr, a.Confirm[:]) {
		return nil, nil, ErrConfirm
	}
	sess, err := sessionFromISK(isk, false)
	if err != nil {
		return nil, nil, err
	}
	key, err := unwrapGroupKey(isk, groupToken, a.GroupKey[:])
	if err != nil {
		return nil, nil, ErrConfirm
	}
	g, err := NewGroup(key[:], ed25519.PublicKey(a.ServerKey[:]), nil)
	if err != nil {
		return nil, nil, err
	}
	return sess, g, nil
}

// ServerHandshake answers a client's CPace message msgA: the Accept for
// it, with the group's key wrapped for this client, and the session's
// sealer. It fails, at little cost, on a msgA that is no valid element.
// rand nil means crypto/rand.
func ServerHandshake(passphrase string, clientNonce uint64, cookie, msgA []byte, g *Group, rand io.Reader) (*Accept, *Session, error) {
	sid := HandshakeSID(clientNonce, cookie)
	adB := handshakeADb(g.pub, g.token)
	msgB, isk, err := CPaceRespond([]byte(passphrase), handshakeCI, sid, msgA, nil, adB, rand)
	if err != nil {
		return nil, nil, err
	}
	a := &Accept{}
	copy(a.PAKE[:], msgB)
	copy(a.ServerKey[:], g.pub)
	a.Confirm = CPaceConfirm(isk, CPaceServerToClient, CPaceTranscript(msgA, nil, msgB, adB))
	w, err := wrapGroupKey(isk, g.token, g.key[:])
	if err != nil {
		return nil, nil, err
	}
	copy(a.GroupKey[:], w)
	sess, err := sessionFromISK(isk, true)
	if err != nil {
		return nil, nil, err
	}
	return a, sess, nil
}

// sessionFromISK derives a session's two keys from the handshake's ISK:
// HKDF-SHA256(ISK, no salt, info "arcade v1 session keys"), 32 bytes, the
// first 16 client → server, the next 16 server → client.
func sessionFromISK(isk [CPaceISKSize]byte, server bool) (*Session, error) {
	keys, err := hkdf.Key(sha256.New, isk[:], nil, "arcade v1 session keys", 2*sessionKeyed)
	if err != nil {
		return nil, err
	}
	return newSession(keys[:sessionKeyed], keys[sessionKeyed:], server)
}

// wrapKey is the key the group key travels under: HKDF-SHA256(ISK, no
// salt, info "arcade v1 group key wrap"), 16 bytes, AES-128-GCM with an
// all-zero nonce (the key is used once) and the group token (u64) as
// additional data.
func wrapKey(isk [CPaceISKSize]byte) ([]byte, error) {
	return hkdf.Key(sha256.New, isk[:], nil, "arcade v1 group key wrap", sessionKeyed)
}

func wrapGroupKey(isk [CPaceISKSize]byte, groupToken uint64, key []byte) ([]byte, error) {
	k, err := wrapKey(isk)
	if err != nil {
		return nil, err
	}
	a, err := newGCM(k)
	if err != nil {
		return nil, err
	}
	var nonce [12]byte
	ad := binary.LittleEndian.AppendUint64(nil, groupToken)
	return a.Seal(nil, nonce[:], key, ad), nil
}

func unwrapGroupKey(isk [CPaceISKSize]byte, groupToken uint64, wrapped []byte) ([GroupKeySize]byte, error) {
	var key [GroupKeySize]byte
	k, err := wrapKey(isk)
	if err != nil {
		return key, err
	}
	a, err := newGCM(k)
	if err != nil {
		return key, err
	}
	var nonce [12]byte
	ad := binary.LittleEndian.AppendUint64(nil, groupToken)
	out, err := a.Open(nil, nonce[:], wrapped, ad)
	if err != nil || len(out) != GroupKeySize {
		return key, ErrAuth
	}
	copy(key[:], out)
	return key, nil
}
