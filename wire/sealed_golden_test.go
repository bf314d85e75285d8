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

	"arcade/seal"
)

// Sealed vectors: golden datagrams sealed with a fixed test passphrase, so
// another implementation can check its key derivation and AEAD against
// them (docs/PROTOCOL.md, "Venue passphrase").
const sealedTestPassphrase = "lantern orchard 42"

type sealedVector struct {
	name, what string
	plain      vector // the datagram in clear; its header gets FlagSealed
	group      bool   // sealed with the group key, else client to server
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
		{"sealed_ping", "the ping vector sealed client to server, packet number 1; passphrase \"" + sealedTestPassphrase +
			"\", client nonce 0x0123456789abcdef, cookie of the challenge vector", find("ping"), false, 1},
		{"sealed_snapshot_group", "the snapshot_empty vector sealed with the group key of group token 0xc0ffee0ddba11ad5, packet number 0; passphrase \"" +
			sealedTestPassphrase + "\"", find("snapshot_empty"), true, 0},
	}
}

// sealers returns the sealer of v and the one that opens it.
func (v *sealedVector) sealers(t *testing.T) (tx, rx *seal.Session) {
	key, err := seal.PassphraseKey(sealedTestPassphrase)
	if err != nil {
		t.Fatal(err)
	}
	if v.group {
		if tx, err = seal.NewGroup(&key, testGroupToken); err == nil {
			rx, err = seal.NewGroup(&key, testGroupToken)
		}
	} else {
		c := cookie(1)
		if tx, err = seal.NewSession(&key, testNonce, c[:], false); err == nil {
			rx, err = seal.NewSession(&key, testNonce, c[:], true)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return tx, rx
}

func (v *sealedVector) datagram(t *testing.T) (sealed, plain []byte) {
	tx, _ := v.sealers(t)
	h := v.plain.hdr
	h.Flags |= FlagSealed
	hdr := h.Append(nil)
	body := v.plain.msg.Append(nil)
	var out []byte
	for range v.number + 1 {
		out = tx.Seal(bytes.Clone(hdr), hdr, body)
	}
	return out, body
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
		_, rx := v.sealers(t)
		got, err := rx.Open(nil, want[:HeaderSize], want[HeaderSize:])
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%s: opens to %x, %v; want %x", v.name, got, err, body)
		}
		if _, err := rx.Open(nil, want[:HeaderSize], want[HeaderSize:]); err != seal.ErrReplay {
			t.Errorf("%s: opened twice: %v", v.name, err)
		}
	}
}

func writeSealed(t *testing.T, path string, v *sealedVector, b []byte) {
	var w strings.Builder
	fmt.Fprintf(&w, "# %s: %s.\n", v.name, v.what)
	fmt.Fprintf(&w, "# %d bytes: %d header + 8 packet number + %d ciphertext + 16 tag. Layout: docs/PROTOCOL.md, \"Venue passphrase\".\n",
		len(b), HeaderSize, len(b)-HeaderSize-seal.Overhead)
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
	line(b[HeaderSize+seal.NumberSize:len(b)-seal.TagSize], "ciphertext of the body")
	line(b[len(b)-seal.TagSize:], "AES-128-GCM tag")
	if err := os.WriteFile(path, []byte(w.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
