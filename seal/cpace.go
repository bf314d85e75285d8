package seal

// CPace: a balanced password-authenticated key exchange (PAKE) for the
// venue passphrase, the cipher suite CPACE-RISTR255-SHA512 of
// draft-irtf-cfrg-cpace-21 (the protocol of this suite is unchanged since
// draft -13/-14), run in the initiator-responder setting: the client is the
// initiator A, the server the responder B.
//
// # Why a recorded handshake gives nothing to test a guess against
//
// Both parties derive a secret generator g from the passphrase (PRS), the
// channel identifier CI and the session id sid, pick a fresh random scalar
// and send Y = y·g. In the prime-order group ristretto255 every Y other than
// the identity is a generator, and for a uniformly random y, Y is a
// uniformly random group element whatever g is: a passive observer who
// guesses a passphrase, and so a g', finds some y' with Y = y'·g' for every
// guess alike, so Ya and Yb say nothing about which guess is right. What
// else the observer records (the confirmation tags, the sealed traffic)
// depends on the passphrase only through K = ya·Yb = yb·Ya = ya·yb·g, a
// Diffie-Hellman value under the secret base g: checking a guess g' against
// a recorded handshake would mean computing the Diffie-Hellman value of
// (Ya, Yb) under the base g' without either scalar, a CDH problem. The only
// way to test a guess is to take part: send Y = y·g' for the guessed g' to
// a live party and see whether its key confirmation verifies, one guess per
// handshake, which the server rate-limits. The proof of this (in the UC
// model, under the sCDH and sSDH assumptions) is Abdalla, Haase and Hesse,
// "Security analysis of CPace", eprint 2021/114.
//
// A simpler check, an HMAC over public values keyed by a slow hash of the
// passphrase, would let anyone holding one sniffed handshake test guesses
// offline at the hash's speed: CPace gives them nothing to test against.
//
// # The protocol, byte for byte
//
// Strings: prepend_len(x) is LEB128(len(x)) || x (7 bits a byte, least
// significant group first, bit 7 set on all but the last byte: one byte for
// lengths below 128); lv_cat(a, b, ...) = prepend_len(a) || prepend_len(b)
// || ....
//
//   - Generator: gen_str = lv_cat("CPaceRistretto255", PRS,
//     zero_bytes(len_zpad), CI, sid) with len_zpad = max(0, 128 -
//     len(prepend_len(PRS)) - len(prepend_len("CPaceRistretto255")) - 1),
//     128 being the SHA-512 block size; g = the ristretto255 element
//     derivation (RFC 9496, section 4.3.4, the one-way map of 64 bytes) of
//     SHA-512(gen_str).
//   - Scalars: 32 bytes from the random source, the top four bits of the
//     last byte cleared (the draft's recommended sampling for a 252-bit
//     group), read as a little-endian integer; zero is refused.
//   - Messages: Ya = encode(ya·g), Yb = encode(yb·g), each the 32-byte
//     canonical ristretto255 encoding (RFC 9496, section 4.3.2).
//   - K = encode(y·decode(Y_peer)); a party aborts if decode fails or K is
//     the identity (32 zero bytes).
//   - ISK = SHA-512(lv_cat("CPaceRistretto255_ISK", sid, K) || lv_cat(Ya,
//     ADa) || lv_cat(Yb, ADb)), the transcript being the draft's
//     transcript_ir.
//
// On the wire, msgA is exactly Ya and msgB exactly Yb: 32 bytes each, no
// length or framing (the draft defines none: A "transmits Ya and ADa").
// ADa and ADb are not inside msgA and msgB: the embedding protocol sends
// them in its own fields (or both sides know them), and each side must pass
// the very same bytes to this package, since they enter ISK. CI is never
// sent; sid is public and must be the same on both sides.
//
// Secrets: the scalars, the generator (which would let anyone holding it
// test guesses), K and the buffers holding PRS are zeroed after use; the
// state inside crypto/sha512 is out of reach. Scalar multiplication,
// element derivation and encoding in gtank/ristretto255 are constant time;
// decoding is not, but only ever sees public messages.
//
// The draft's test vectors for this suite are in testdata/cpace and
// cpace_test.go recomputes every intermediate value of them.

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"github.com/gtank/ristretto255"
)

// CPace sizes, suite name and confirmation labels.
//
// CPace (draft-irtf-cfrg-cpace-21, cipher suite CPACE-RISTR255-SHA512,
// initiator-responder mode) proves the venue passphrase with a balanced
// PAKE: a recorded handshake gives no offline test of a passphrase guess,
// and every online guess costs a handshake. The comment at the top of
// cpace.go explains why and gives the protocol byte for byte. On the wire,
// msgA is Ya and msgB is Yb, 32 bytes each (canonical ristretto255
// encodings) and nothing else; ADa and ADb travel in the embedding
// protocol's own fields; a confirmation tag (CPaceConfirm) is 32 bytes.
const (
	// CPaceSuite names the cipher suite, as the draft does.
	CPaceSuite = "CPACE-RISTR255-SHA512"
	// CPaceMessageSize is the size of msgA and msgB: one encoded
	// ristretto255 element.
	CPaceMessageSize = 32
	// CPaceISKSize is the size of the intermediate session key, a SHA-512.
	CPaceISKSize = 64
	// CPaceTagSize is the size of a key confirmation tag.
	CPaceTagSize = 32

	// CPaceServerToClient labels the tag the server sends: computed by the
	// responder, checked by the initiator.
	CPaceServerToClient = "arcade v1 cpace server to client"
	// CPaceClientToServer labels the tag the client sends: computed by the
	// initiator, checked by the responder.
	CPaceClientToServer = "arcade v1 cpace client to server"
)

// The suite's constants from the draft.
const (
	cpaceDSI      = "CPaceRistretto255" // G_Ristretto255.DSI
	cpaceDSIISK   = cpaceDSI + "_ISK"   // G.DSI || "_ISK"
	cpaceSInBytes = 128                 // H.s_in_bytes of SHA-512
	cpaceMacLabel = "CPaceMac"          // the draft's mac_key prefix
)

// CPace errors. Every one means: abort this handshake.
var (
	// ErrCPaceLength: the peer's message is not CPaceMessageSize bytes.
	ErrCPaceLength = errors.New("seal: CPace message is not 32 bytes")
	// ErrCPaceEncoding: the peer's message is not the canonical encoding
	// of a ristretto255 element.
	ErrCPaceEncoding = errors.New("seal: CPace message is not a valid ristretto255 encoding")
	// ErrCPaceIdentity: the shared point K is the identity (the peer sent
	// the identity element); the draft requires an abort.
	ErrCPaceIdentity = errors.New("seal: CPace shared point is the identity")
	// ErrCPaceRandom: the random source returned a zero scalar, so it is
	// broken.
	ErrCPaceRandom = errors.New("seal: CPace random source gave a zero scalar")
	// ErrCPaceFinished: Finish was already called on this initiator.
	ErrCPaceFinished = errors.New("seal: CPace initiator already finished")
)

// CPaceInitiator is the client's half of one CPace exchange: the secret
// scalar ya and what the ISK needs, between sending msgA and receiving
// msgB. It is single-use: Finish zeroes the scalar whatever its outcome,
// and a second Finish fails. It shares nothing with other exchanges and is
// not safe for concurrent use.
type CPaceInitiator struct {
	ya   *ristretto255.Scalar // nil once finished
	sid  []byte
	msgA []byte
	adA  []byte
}

// NewCPaceInitiator starts an exchange as the initiator (the client): it
// derives the generator from the passphrase prs, the channel identifier ci
// and the session id sid, samples ya from rand (crypto/rand if nil) and
// returns msgA, the 32 bytes to send (Ya; adA goes separately, see the
// comment at the top of cpace.go). adA is the initiator's associated
// data, authenticated by ISK.
func NewCPaceInitiator(prs, ci, sid, adA []byte, rand io.Reader) (*CPaceInitiator, []byte, error) {
	ya, err := cpaceSampleScalar(rand)
	if err != nil {
		return nil, nil, err
	}
	c, msgA := newCPaceInitiator(prs, ci, sid, adA, ya)
	return c, msgA, nil
}

// newCPaceInitiator is NewCPaceInitiator with the scalar given, for the
// draft's test vectors. It takes ownership of ya.
func newCPaceInitiator(prs, ci, sid, adA []byte, ya *ristretto255.Scalar) (*CPaceInitiator, []byte) {
	g := cpaceGenerator(prs, ci, sid)
	Y := ristretto255.NewElement().ScalarMult(ya, g)
	g.Zero()
	msgA := Y.Encode(make([]byte, 0, CPaceMessageSize))
	c := &CPaceInitiator{
		ya:   ya,
		sid:  append([]byte(nil), sid...),
		msgA: append([]byte(nil), msgA...),
		adA:  append([]byte(nil), adA...),
	}
	return c, msgA
}

// Finish completes the exchange with the responder's msgB and associated
// data adB and returns the intermediate session key. An error (ErrCPaceLength,
// ErrCPaceEncoding, ErrCPaceIdentity, ErrCPaceFinished) means abort. An
// ISK alone proves nothing (a responder with a wrong passphrase yields one
// too): check the responder's confirmation tag (CPaceCheckConfirm) before
// trusting it.
func (c *CPaceInitiator) Finish(msgB, adB []byte) (isk [CPaceISKSize]byte, err error) {
	if c.ya == nil {
		return isk, ErrCPaceFinished
	}
	ya := c.ya
	c.ya = nil
	defer ya.Zero()
	K, err := cpaceScalarMultVfy(ya, msgB)
	if err != nil {
		return isk, err
	}
	isk = cpaceISK(c.sid, K[:], c.msgA, c.adA, msgB, adB)
	clear(K[:])
	return isk, nil
}

// CPaceRespond is the responder's (the server's) whole part of an
// exchange: it checks the initiator's msgA (32 bytes, Ya), samples yb from
// rand (crypto/rand if nil), and returns msgB, the 32 bytes to send back
// (Yb), and the intermediate session key. adA is the initiator's associated
// data as received, adB the responder's own. An error (ErrCPaceLength,
// ErrCPaceEncoding, ErrCPaceIdentity, or the random source's) means abort;
// msgA is checked before the generator is derived, so garbage costs little.
// Nothing is kept between calls.
func CPaceRespond(prs, ci, sid, msgA, adA, adB []byte, rand io.Reader) (msgB []byte, isk [CPaceISKSize]byte, err error) {
	if len(msgA) != CPaceMessageSize {
		return nil, isk, ErrCPaceLength
	}
	yb, err := cpaceSampleScalar(rand)
	if err != nil {
		return nil, isk, err
	}
	defer yb.Zero()
	return cpaceRespond(prs, ci, sid, msgA, adA, adB, yb)
}

// cpaceRespond is CPaceRespond with the scalar given, for the draft's test
// vectors.
func cpaceRespond(prs, ci, sid, msgA, adA, adB []byte, yb *ristretto255.Scalar) (msgB []byte, isk [CPaceISKSize]byte, err error) {
	K, err := cpaceScalarMultVfy(yb, msgA)
	if err != nil {
		return nil, isk, err
	}
	g := cpaceGenerator(prs, ci, sid)
	Y := ristretto255.NewElement().ScalarMult(yb, g)
	g.Zero()
	msgB = Y.Encode(make([]byte, 0, CPaceMessageSize))
	isk = cpaceISK(sid, K[:], msgA, adA, msgB, adB)
	clear(K[:])
	return msgB, isk, nil
}

// CPaceTranscript returns the draft's transcript_ir(Ya, ADa, Yb, ADb) =
// lv_cat(msgA, adA) || lv_cat(msgB, adB): the bytes both sides can feed to
// CPaceConfirm.
func CPaceTranscript(msgA, adA, msgB, adB []byte) []byte {
	return cpaceAppendTranscriptIR(nil, msgA, adA, msgB, adB)
}

// CPaceConfirm returns a key confirmation tag proving knowledge of isk:
//
//	mac_key = SHA-512("CPaceMac" || isk)
//	tag     = HMAC-SHA-512(mac_key, lv_cat(label, transcript))[:32]
//
// label is CPaceServerToClient for the tag the server sends and
// CPaceClientToServer for the one the client sends, so that neither can be
// reflected; transcript is CPaceTranscript(msgA, adA, msgB, adB), to which
// the embedding protocol may append handshake bytes it wants confirmed too.
//
// This is the draft's suggested confirmation (section "Key confirmation": a
// MAC under a key derived from ISK) in shape, not byte for byte: the draft
// derives mac_key = H("CPaceMac" || sid || ISK) and lets each party MAC the
// message it sent; here sid is left out of mac_key (ISK already commits to
// sid and to both messages) and a direction label tells the two tags apart.
func CPaceConfirm(isk [CPaceISKSize]byte, label string, transcript []byte) [CPaceTagSize]byte {
	var kin [len(cpaceMacLabel) + CPaceISKSize]byte
	copy(kin[:], cpaceMacLabel)
	copy(kin[len(cpaceMacLabel):], isk[:])
	key := sha512.Sum512(kin[:])
	clear(kin[:])
	m := hmac.New(sha512.New, key[:])
	clear(key[:])
	var lenBuf [10]byte
	m.Write(cpaceAppendLen(lenBuf[:0], len(label)))
	m.Write([]byte(label))
	m.Write(cpaceAppendLen(lenBuf[:0], len(transcript)))
	m.Write(transcript)
	var sum [sha512.Size]byte
	m.Sum(sum[:0])
	m.Reset()
	var tag [CPaceTagSize]byte
	copy(tag[:], sum[:])
	clear(sum[:])
	return tag
}

// CPaceCheckConfirm reports, in constant time, whether tag is
// CPaceConfirm(isk, label, transcript).
func CPaceCheckConfirm(isk [CPaceISKSize]byte, label string, transcript, tag []byte) bool {
	want := CPaceConfirm(isk, label, transcript)
	return subtle.ConstantTimeCompare(want[:], tag) == 1
}

// cpaceAppendLen appends the LEB128 encoding of n.
func cpaceAppendLen(dst []byte, n int) []byte {
	u := uint64(n)
	for u >= 0x80 {
		dst = append(dst, byte(u)|0x80)
		u >>= 7
	}
	return append(dst, byte(u))
}

// cpaceLenSize is len(prepend_len(x)) - len(x) for len(x) = n.
func cpaceLenSize(n int) int {
	s := 1
	for u := uint64(n); u >= 0x80; u >>= 7 {
		s++
	}
	return s
}

// cpaceAppendLV appends prepend_len(b).
func cpaceAppendLV(dst, b []byte) []byte {
	return append(cpaceAppendLen(dst, len(b)), b...)
}

// cpaceAppendTranscriptIR appends transcript_ir(Ya, ADa, Yb, ADb).
func cpaceAppendTranscriptIR(dst, ya, adA, yb, adB []byte) []byte {
	dst = cpaceAppendLV(dst, ya)
	dst = cpaceAppendLV(dst, adA)
	dst = cpaceAppendLV(dst, yb)
	return cpaceAppendLV(dst, adB)
}

// cpaceGeneratorString appends generator_string(G.DSI, PRS, CI, sid,
// H.s_in_bytes) to dst.
func cpaceGeneratorString(dst, prs, ci, sid []byte) []byte {
	zpad := cpaceSInBytes - (cpaceLenSize(len(prs)) + len(prs)) - (cpaceLenSize(len(cpaceDSI)) + len(cpaceDSI)) - 1
	zpad = max(zpad, 0)
	dst = cpaceAppendLV(dst, []byte(cpaceDSI))
	dst = cpaceAppendLV(dst, prs)
	dst = cpaceAppendLen(dst, zpad)
	dst = append(dst, make([]byte, zpad)...)
	dst = cpaceAppendLV(dst, ci)
	return cpaceAppendLV(dst, sid)
}

// cpaceGenerator is G.calculate_generator(H, PRS, CI, sid): the element
// derivation of SHA-512(generator_string). The generator is as secret as
// the passphrase (it allows testing guesses); callers zero it after use.
func cpaceGenerator(prs, ci, sid []byte) *ristretto255.Element {
	var stack [256]byte
	gs := cpaceGeneratorString(stack[:0], prs, ci, sid)
	h := sha512.Sum512(gs)
	clear(gs)       // on the heap if it outgrew stack
	clear(stack[:]) // what was written before it did
	g := ristretto255.NewElement().FromUniformBytes(h[:])
	clear(h[:])
	return g
}

// cpaceSampleScalar is G.sample_scalar() as the draft recommends for
// ristretto255: 32 random bytes with the bits above bit 251 cleared, read
// little endian. The result is below 2^252 and so below the group order,
// thus canonical; zero (probability 2^-252) means the source is broken.
func cpaceSampleScalar(r io.Reader) (*ristretto255.Scalar, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [32]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, fmt.Errorf("seal: CPace random source: %w", err)
	}
	b[31] &= 0x0f
	y := ristretto255.NewScalar()
	err := y.Decode(b[:])
	clear(b[:])
	if err != nil { // unreachable: b < 2^252 < order
		return nil, fmt.Errorf("seal: CPace scalar: %w", err)
	}
	if y.Equal(ristretto255.NewScalar()) == 1 {
		return nil, ErrCPaceRandom
	}
	return y, nil
}

// cpaceScalarMultVfy is G.scalar_mult_vfy(y, X) together with the abort
// check on its result: K = encode(y·decode(X)), or an error where the draft
// returns G.I (X not a valid encoding, or K the identity).
func cpaceScalarMultVfy(y *ristretto255.Scalar, X []byte) (K [CPaceMessageSize]byte, err error) {
	if len(X) != CPaceMessageSize {
		return K, ErrCPaceLength
	}
	P := ristretto255.NewElement()
	if P.Decode(X) != nil {
		return K, ErrCPaceEncoding
	}
	P.ScalarMult(y, P)
	P.Encode(K[:0])
	P.Zero()
	var identity [CPaceMessageSize]byte // G.I: the identity encodes as zeros
	if subtle.ConstantTimeCompare(K[:], identity[:]) == 1 {
		return K, ErrCPaceIdentity
	}
	return K, nil
}

// cpaceISK is ISK = H.hash(lv_cat(G.DSI || "_ISK", sid, K) ||
// transcript_ir(Ya, ADa, Yb, ADb)).
func cpaceISK(sid, K, ya, adA, yb, adB []byte) [CPaceISKSize]byte {
	var stack [256]byte
	b := cpaceAppendLV(stack[:0], []byte(cpaceDSIISK))
	b = cpaceAppendLV(b, sid)
	b = cpaceAppendLV(b, K)
	b = cpaceAppendTranscriptIR(b, ya, adA, yb, adB)
	isk := sha512.Sum512(b)
	clear(b)
	clear(stack[:])
	return isk
}
