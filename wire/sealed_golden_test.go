package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcadexr/arcade/internal/detrand"
	"github.com/arcadexr/arcade/seal"
)

// Sealed vectors: golden datagrams sealed with the keys of the handshake
// of seal/testdata/handshake.txt (passphrase "lantern orchard 42", fixed
// random sources), so another implementation can check its AEAD and the
// group signature against them (docs/PROTOCOL.md, "Venue passphrase").
type sealedVector struct {
	name, what string
	plain      vector // the datagram in clear; its header gets FlagSealed
	group      bool   // sealed and signed by the server's group, else client to server
	number     int    // datagrams sealed before it with the same sealer
}

func sealedVectors() []sealedVector {
	v := goldenVectors()
	find := func(name string) vector {
		for _, x := range v {
			if x.name == name {
				return x
			}
		}
		panic("no vector " + name)
	}
	return []sealedVector{
		{"sealed_ping", "the ping vector sealed client to server with the client -> server key of seal/testdata/handshake.txt, packet number 1",
			find("ping"), false, 1},
		{"sealed_snapshot_group", "the snapshot_empty vector sealed with the group key of seal/testdata/handshake.txt and signed with its server key, packet number 0",
			find("snapshot_empty"), true, 0},
	}
}

// sealedEnds runs the handshake of seal/testdata/handshake.txt: the
// client's and the server's sessions and groups.
func sealedEnds(t *testing.T) (cs, ss *seal.Session, cg, sg *seal.Group) {
	const passphrase = "lantern orchard 42"
	sg, err := seal.NewServerGroup(testGroupToken, detrand.New("group"))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := seal.NewClientHandshake(passphrase, testNonce, handshakeCookie[:], detrand.New("client"))
	if err != nil {
		t.Fatal(err)
	}
	msgA := ch.Message()
	a, ss, err := seal.ServerHandshake(passphrase, testNonce, handshakeCookie[:], msgA[:], sg, detrand.New("server"))
	if err != nil {
		t.Fatal(err)
	}
	cs, cg, err = ch.Finish(a, testGroupToken)
	if err != nil {
		t.Fatal(err)
	}
	return cs, ss, cg, sg
}

func (v *sealedVector) datagram(t *testing.T) (sealed, plain []byte) {
	cs, _, _, sg := sealedEnds(t)
	h := v.plain.hdr
	h.Flags |= FlagSealed
	hdr := h.Append(nil)
	body := v.plain.msg.Append(nil)
	var out []byte
	for range v.number + 1 {
		if v.group {
			out = sg.SealSigned(bytes.Clone(hdr), hdr, body)
		} else {
			out = cs.Seal(bytes.Clone(hdr), hdr, body)
		}
	}
	return out, body
}

// open opens b as its receiver would, twice: the second must be refused
// as a replay.
func (v *sealedVector) open(t *testing.T, b []byte) (body []byte, first, second error) {
	_, ss, cg, _ := sealedEnds(t)
	if v.group {
		body, first = cg.OpenSigned(nil, b, HeaderSize)
		_, second = cg.OpenSigned(nil, b, HeaderSize)
	} else {
		body, first = ss.Open(nil, b[:HeaderSize], b[HeaderSize:])
		_, second = ss.Open(nil, b[:HeaderSize], b[HeaderSize:])
	}
	return body, first, second
}

// TestSealedGolden recomputes the sealed vectors from the passphrase and
// compares them with testdata/wire; it also opens them as a receiver would.
func TestSealedGolden(t *testing.T) {
	for _, v := range sealedVectors() {
		b, body := v.datagram(t)
		path := filepath.Join(goldenDir, v.name+".hex")
		if *update {
			writeSealed(t, path, &v, b)
		}
		want, err := readHex(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want) {
			t.Fatalf("%s: sealing differs from the file (run with -update if intended)\n got %x\nwant %x", v.name, b, want)
		}
		var h Header
		if _, err := h.Parse(want); err != nil || h.Flags&FlagSealed == 0 {
			t.Fatalf("%s: header %+v, %v", v.name, h, err)
		}
		got, err1, err2 := v.open(t, want)
		if err1 != nil || !bytes.Equal(got, body) {
			t.Fatalf("%s: opens to %x, %v; want %x", v.name, got, err1, body)
		}
		if err2 != seal.ErrReplay {
			t.Errorf("%s: opened twice: %v", v.name, err2)
		}
		if v.group {
			// One bit of the signature changed: refused, not opened.
			bad := bytes.Clone(want)
			bad[len(bad)-1] ^= 1
			_, _, cg, _ := sealedEnds(t)
			if _, err := cg.OpenSigned(nil, bad, HeaderSize); err != seal.ErrSignature {
				t.Errorf("%s: a bad signature: %v, want ErrSignature", v.name, err)
			}
		}
	}
}

func writeSealed(t *testing.T, path string, v *sealedVector, b []byte) {
	var w strings.Builder
	fmt.Fprintf(&w, "# %s: %s.\n", v.name, v.what)
	sig := 0
	if v.group {
		sig = seal.SignatureSize
	}
	fmt.Fprintf(&w, "# %d bytes: %d header + 8 packet number + %d ciphertext + 16 tag", len(b), HeaderSize, len(b)-HeaderSize-seal.Overhead-sig)
	if sig > 0 {
		fmt.Fprintf(&w, " + %d Ed25519 signature", sig)
	}
	w.WriteString(". Layout: docs/PROTOCOL.md, \"Venue passphrase\".\n")
	w.WriteString("# One field per line: its bytes in hex as sent, then '#' and its meaning.\n")
	w.WriteString("# Regenerate with: go test ./wire -run SealedGolden -update\n")
	line := func(p []byte, comment string) {
		for i := 0; i < len(p); i += 32 {
			c := comment
			if i > 0 {
				c = "..."
			}
			fmt.Fprintf(&w, "%-24s # %s\n", hex.EncodeToString(p[i:min(i+32, len(p))]), c)
		}
	}
	line(b[:HeaderSize], fmt.Sprintf("header (additional data), flags = 0x%02x (FlagSealed)", b[offFlags]))
	line(b[HeaderSize:HeaderSize+seal.NumberSize], fmt.Sprintf("packet number = %d", binary.LittleEndian.Uint64(b[HeaderSize:])))
	end := len(b) - sig
	line(b[HeaderSize+seal.NumberSize:end-seal.TagSize], "ciphertext of the body")
	line(b[end-seal.TagSize:end], "AES-128-GCM tag")
	if sig > 0 {
		line(b[end:], "Ed25519 signature by the server key of everything before it")
	}
	if err := os.WriteFile(path, []byte(w.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
