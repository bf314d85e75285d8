package seal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"github.com/arcadexr/arcade/internal/detrand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateHandshake = flag.Bool("update-handshake", false, "rewrite testdata/handshake.txt")

const (
	testPassphrase = "lantern orchard 42"
	testNonce      = uint64(0x0123456789abcdef)
	testGroupToken = uint64(0xc0ffee0ddba11ad5)
)

var testCookie = []byte("0123456789abcdef0123456789abcdef")

func handshake(t testing.TB, clientPass, serverPass string) (*ClientHandshake, *Accept, *Session, *Group, error) {
	t.Helper()
	g, err := NewServerGroup(testGroupToken, detrand.New("group"))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := NewClientHandshake(clientPass, testNonce, testCookie, detrand.New("client"))
	if err != nil {
		t.Fatal(err)
	}
	msgA := ch.Message()
	a, ss, err := ServerHandshake(serverPass, testNonce, testCookie, msgA[:], g, detrand.New("server"))
	return ch, a, ss, g, err
}

// joined returns both ends of a session made with the test passphrase:
// the client's session and group, the server's session and group.
func joined(t *testing.T) (cs *Session, cg *Group, ss *Session, g *Group) {
	t.Helper()
	ch, a, ss, g, err := handshake(t, testPassphrase, testPassphrase)
	if err != nil {
		t.Fatal(err)
	}
	cs, cg, err = ch.Finish(a, testGroupToken)
	if err != nil {
		t.Fatal(err)
	}
	return cs, cg, ss, g
}

// TestHandshake: the same passphrase gives sessions that talk both ways
// and the group key, under the server's signature; another passphrase
// fails the server's confirmation.
func TestHandshake(t *testing.T) {
	cs, cg, ss, g := joined(t)
	header := make([]byte, 22)
	up := cs.Seal(nil, header, []byte("pose"))
	if got, err := ss.Open(nil, header, up); err != nil || string(got) != "pose" {
		t.Fatalf("client → server: %q, %v", got, err)
	}
	down := ss.Seal(nil, header, []byte("snapshot"))
	if got, err := cs.Open(nil, header, down); err != nil || string(got) != "snapshot" {
		t.Fatalf("server → client: %q, %v", got, err)
	}
	dgram := g.SealSigned(bytes.Clone(header), header, []byte("group state"))
	if got, err := cg.OpenSigned(nil, dgram, len(header)); err != nil || string(got) != "group state" {
		t.Fatalf("group: %q, %v", got, err)
	}

	ch2, a2, _, _, err := handshake(t, "wrong guess", testPassphrase)
	if err != nil {
		t.Fatal(err) // the server cannot tell: the client finds out
	}
	if _, _, err := ch2.Finish(a2, testGroupToken); err != ErrConfirm {
		t.Fatalf("a wrong passphrase: %v, want ErrConfirm", err)
	}
	// A confirmation for another group token (the Accepted's token
	// changed on the way) fails too.
	ch3, a3, _, _, _ := handshake(t, testPassphrase, testPassphrase)
	if _, _, err := ch3.Finish(a3, testGroupToken+1); err != ErrConfirm {
		t.Fatalf("another group token: %v, want ErrConfirm", err)
	}
}

// TestGroupForgery: a headset holds the group key, so it can seal a
// datagram that opens; without the server's signature it is refused, and
// its packet number (far ahead) does not move the window: the server's
// next datagram still opens.
func TestGroupForgery(t *testing.T) {
	ch, a, _, g, err := handshake(t, testPassphrase, testPassphrase)
	if err != nil {
		t.Fatal(err)
	}
	_, cg, err := ch.Finish(a, testGroupToken)
	if err != nil {
		t.Fatal(err)
	}
	header := make([]byte, 22)
	// The forger: the same key, its own signing key.
	forger, err := NewGroup(cg.key[:], g.pub, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, fakePriv, _ := generateTestKey()
	forger.priv = fakePriv
	forger.next = 1 << 40
	forged := forger.SealSigned(bytes.Clone(header), header, []byte("freeze"))
	if _, err := cg.OpenSigned(nil, forged, len(header)); err != ErrSignature {
		t.Fatalf("forged group datagram: %v, want ErrSignature", err)
	}
	// Without any signature: too short or not signed.
	unsigned := forger.Seal(bytes.Clone(header), header, []byte("freeze"))
	if _, err := cg.OpenSigned(nil, unsigned, len(header)); err == nil {
		t.Fatal("an unsigned group datagram opened")
	}
	real := g.SealSigned(bytes.Clone(header), header, []byte("state"))
	if got, err := cg.OpenSigned(nil, real, len(header)); err != nil || string(got) != "state" {
		t.Fatalf("the server's datagram after a forgery: %q, %v", got, err)
	}
	if _, err := cg.OpenSigned(nil, real, len(header)); err != ErrReplay {
		t.Fatalf("replayed group datagram: %v", err)
	}
}

func TestGroupSealOpenDoNotAllocate(t *testing.T) {
	ch, a, _, g, err := handshake(t, testPassphrase, testPassphrase)
	if err != nil {
		t.Fatal(err)
	}
	_, cg, _ := ch.Finish(a, testGroupToken)
	header := make([]byte, 22)
	body := make([]byte, 600)
	out := make([]byte, 0, 1200)
	plain := make([]byte, 0, 1200)
	allocs := testing.AllocsPerRun(200, func() {
		d := g.SealSigned(append(out[:0], header...), header, body)
		if _, err := cg.OpenSigned(plain[:0], d, len(header)); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per signed seal+open", allocs)
	}
}

func BenchmarkGroupSealSigned(b *testing.B) {
	_, _, _, g, _ := handshake(b, testPassphrase, testPassphrase)
	header := make([]byte, 22)
	body := make([]byte, 600)
	out := make([]byte, 0, 1200)
	b.ReportAllocs()
	for b.Loop() {
		g.SealSigned(append(out[:0], header...), header, body)
	}
}

func BenchmarkGroupOpenSigned(b *testing.B) {
	ch, a, _, g, _ := handshake(b, testPassphrase, testPassphrase)
	_, cg, _ := ch.Finish(a, testGroupToken)
	header := make([]byte, 22)
	body := make([]byte, 600)
	dgrams := make([][]byte, 4096)
	for i := range dgrams {
		dgrams[i] = g.SealSigned(bytes.Clone(header), header, body)
	}
	plain := make([]byte, 0, 1200)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		cg.OpenSigned(plain[:0], dgrams[i%len(dgrams)], len(header))
		i++
	}
}

// TestHandshakeVector: the handshake of testdata/handshake.txt (fixed
// random sources), recomputed: every value a second implementation can
// check, from the passphrase on.
func TestHandshakeVector(t *testing.T) {
	ch, a, ss, g, err := handshake(t, testPassphrase, testPassphrase)
	if err != nil {
		t.Fatal(err)
	}
	msgA := ch.Message()
	var b strings.Builder
	fmt.Fprintf(&b, "# The venue passphrase handshake of docs/PROTOCOL.md §17.2 with fixed inputs.\n")
	fmt.Fprintf(&b, "# CPace (CPACE-RISTR255-SHA512, draft-irtf-cfrg-cpace-21), CI %q, ADa empty.\n", handshakeCI)
	fmt.Fprintf(&b, "# Regenerate with: go test ./seal -run HandshakeVector -args -update-handshake\n")
	line := func(name string, v []byte) { fmt.Fprintf(&b, "%s = %s\n", name, hex.EncodeToString(v)) }
	line("passphrase (UTF-8)", []byte(testPassphrase))
	line("client nonce (u64 LE)", binary.LittleEndian.AppendUint64(nil, testNonce))
	line("cookie", testCookie)
	line("sid = cookie || client nonce", HandshakeSID(testNonce, testCookie))
	line("group token (u64 LE)", binary.LittleEndian.AppendUint64(nil, testGroupToken))
	line("server key (Ed25519 public)", a.ServerKey[:])
	line("ADb = server key || group token", handshakeADb(a.ServerKey[:], testGroupToken))
	line("group key", g.key[:])
	ya, _ := cpaceSampleScalar(detrand.New("client"))
	yb, _ := cpaceSampleScalar(detrand.New("server"))
	line("ya (client's scalar, little-endian)", ya.Encode(nil))
	line("yb (server's scalar, little-endian)", yb.Encode(nil))
	line("msgA (client's CPace message)", msgA[:])
	line("msgB (server's CPace message)", a.PAKE[:])
	line("server confirmation tag", a.Confirm[:])
	_, isk, err := CPaceRespond([]byte(testPassphrase), handshakeCI, HandshakeSID(testNonce, testCookie), msgA[:], nil,
		handshakeADb(a.ServerKey[:], testGroupToken), detrand.New("server"))
	if err != nil {
		t.Fatal(err)
	}
	line("ISK", isk[:])
	keys, _ := hkdf.Key(sha256.New, isk[:], nil, "arcade v1 session keys", 2*sessionKeyed)
	line("client -> server key", keys[:sessionKeyed])
	line("server -> client key", keys[sessionKeyed:])
	wk, _ := wrapKey(isk)
	line("group key wrap key", wk)
	line("wrapped group key", a.GroupKey[:])
	header := make([]byte, 22)
	line("sealed server -> client datagram, number 0, body \"snapshot\", header 22 zero bytes", ss.Seal(bytes.Clone(header), header, []byte("snapshot")))
	got := b.String()
	path := filepath.Join("testdata", "handshake.txt")
	if *updateHandshake {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("the handshake differs from %s (rerun with -update-handshake if intended):\n%s", path, got)
	}
	// The client side of the same vector checks out.
	cs, _, err := ch.Finish(a, testGroupToken)
	if err != nil {
		t.Fatal(err)
	}
	sealed := ss.Seal(bytes.Clone(header), header, []byte("snapshot"))
	if _, err := cs.Open(nil, header, sealed[len(header):]); err != nil {
		t.Fatal(err)
	}
}

func generateTestKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(detrand.New("forger"))
}
