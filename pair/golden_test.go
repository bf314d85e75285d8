package pair

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/internal/golden"
	"github.com/arcadexr/arcade/seal"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/wire"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenKey is the pair key of the vectors (its first line, as
// --pair-key-file reads it).
const goldenKey = "arcade pair key for the vectors"

// goldenCopy is a copy of one session and one entity.
func goldenCopy() *server.Replica {
	r := &server.Replica{GroupToken: 0x1122334455667788}
	r.State = checkpoint.State{Scene: 0xabcdef, Tick: 600, ServerTime: 5_008_333}
	r.State.Entities = []checkpoint.Entity{{ID: 9, Kind: 1, Pose: geom.Pose{Pos: geom.Vec3{X: 0.5, Y: 1.25}, Rot: geom.Quat{W: 1}}}}
	r.State.Players = []checkpoint.Player{{ClientID: 1, PlayerID: [16]byte{0xa1}, Grip: [2]bool{false, true}, HasAvatar: true,
		Avatar: wire.PoseInput{InputSeq: 77, Head: wire.Pose{Pos: wire.Vec3{Y: 1.6}, Rot: wire.Quat{W: 1}}}}}
	r.State.Holds = []checkpoint.Hold{{Holder: 0x10001, Target: 9}}
	r.Sessions = []server.SessionCopy{{Token: 0x0102030405060708, Nonce: 0x99, ID: 1, PlayerID: [16]byte{0xa1},
		Addr: netip.MustParseAddrPort("10.77.1.2:40000"), Name: "quest-1", Delta: true, Coded: true, InputApplied: true}}
	return r
}

// goldenSealedCopy is goldenCopy as a sealed server's: the group's keys
// and the session's, counters reserved.
func goldenSealedCopy() *server.Replica {
	r := goldenCopy()
	r.Sealed = true
	for i := range r.Group.Key {
		r.Group.Key[i] = 0x10 + byte(i)
	}
	for i := range r.Group.Signer {
		r.Group.Signer[i] = 0x20 + byte(i)
	}
	r.Group.Send = seal.Reserve + 600
	s := &r.Sessions[0].Seal
	for i := range s.Keys.ClientToServer {
		s.Keys.ClientToServer[i], s.Keys.ServerToClient[i] = 0x40+byte(i), 0x50+byte(i)
	}
	s.Send, s.Received = seal.Reserve+450, 300
	return r
}

// goldenVectors are the pair datagrams of docs/PROTOCOL.md §18.2, with
// their plaintext parts: a copy in one part, the calls made after it,
// and a sealed server's copy.
func goldenVectors() map[string][2][]byte {
	m := newSealer([]byte(goldenKey))
	cp := AppendCopy(nil, goldenCopy())
	scp := AppendCopy(nil, goldenSealedCopy())
	calls := AppendApplied(nil, &server.Applied{Kind: server.AppliedInput, ID: 1,
		Input: wire.PoseInput{InputSeq: 78, Head: wire.Pose{Pos: wire.Vec3{Y: 1.6}, Rot: wire.Quat{W: 1}}}})
	calls = AppendApplied(calls, &server.Applied{Kind: server.AppliedGrab, ID: 1, Hand: 0, Entity: 9})
	return map[string][2][]byte{
		"copy":        {m.appendDatagram(nil, &Header{Kind: KindCopy, Parts: 1, Epoch: 3, Seq: 1, Tick: 600}, cp), cp},
		"applied":     {m.appendDatagram(nil, &Header{Kind: KindApplied, Parts: 1, Epoch: 3, Seq: 2, Tick: 600}, calls), calls},
		"copy_sealed": {m.appendDatagram(nil, &Header{Kind: KindCopy, Parts: 1, Epoch: 3, Seq: 3, Tick: 600}, scp), scp},
	}
}

// hexLines writes b in lines of 32 bytes, each after prefix.
func hexLines(w *strings.Builder, prefix string, b []byte) {
	for i := 0; i < len(b); i += 32 {
		fmt.Fprintf(w, "%s%s\n", prefix, hex.EncodeToString(b[i:min(i+32, len(b))]))
	}
}

func goldenPath(name string) string { return filepath.Join("..", "testdata", "pair", name+".hex") }

// TestGolden: the pair datagrams are byte for byte the vectors in
// testdata/pair (regenerate with go test ./pair -run Golden -update), and
// the vectors open and decode to what made them.
func TestGolden(t *testing.T) {
	for name, v := range goldenVectors() {
		b, plain := v[0], v[1]
		path := goldenPath(name)
		if *update {
			os.MkdirAll(filepath.Dir(path), 0o755)
			var w strings.Builder
			fmt.Fprintf(&w, "# pair datagram, %s: docs/PROTOCOL.md §18.2; pair key %q\n", name, goldenKey)
			fmt.Fprintf(&w, "# (AES-256-GCM, key HKDF-SHA256 of it with no salt and info %q).\n", KeyInfo)
			fmt.Fprintf(&w, "# %d bytes. Regenerate with: go test ./pair -run Golden -update\n", len(b))
			fmt.Fprintf(&w, "%s # header (additional data): magic, version, kind, part, parts, zero, epoch, seq, tick\n", hex.EncodeToString(b[:HeaderSize]))
			w.WriteString("# the part, encrypted:\n")
			hexLines(&w, "", b[HeaderSize:len(b)-TagSize])
			fmt.Fprintf(&w, "%s # tag\n", hex.EncodeToString(b[len(b)-TagSize:]))
			w.WriteString("# the part in clear (not part of the datagram):\n")
			hexLines(&w, "# ", plain)
			if err := os.WriteFile(path, []byte(w.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := golden.ReadHex(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want) {
			t.Fatalf("%s differs from %s:\n got %x\nwant %x", name, path, b, want)
		}
		var h Header
		part, err := newSealer([]byte(goldenKey)).parse(want, &h)
		if err != nil || h.Epoch != 3 || h.Tick != 600 || !bytes.Equal(part, plain) {
			t.Fatalf("%s: parse: %+v, %x, %v", name, h, part, err)
		}
		switch h.Kind {
		case KindCopy:
			var r server.Replica
			if err := ParseCopy(part, &r, map[string]string{}); err != nil || r.Sessions[0].Name != "quest-1" || !r.Sessions[0].InputApplied || r.State.Tick != 600 {
				t.Fatalf("copy: %+v, %v", r, err)
			}
			if w := goldenSealedCopy(); r.Sealed != (name == "copy_sealed") || r.Sealed && (r.Group != w.Group || r.Sessions[0].Seal != w.Sessions[0].Seal) {
				t.Fatalf("%s: sealed %v, group %+v, session %+v", name, r.Sealed, r.Group, r.Sessions[0].Seal)
			}
		case KindApplied:
			a, err := ParseApplied(part, nil)
			if err != nil || len(a) != 2 || a[0].Input.InputSeq != 78 || a[1].Kind != server.AppliedGrab || a[1].Entity != 9 {
				t.Fatalf("calls: %+v, %v", a, err)
			}
		}
	}
}

// TestVersion1Refused: the version 1 vectors (the part in clear, a GMAC
// keyed with SHA-256 of the pair key) are refused as such, before any
// key is tried: a peer of an older build is told from a forger.
func TestVersion1Refused(t *testing.T) {
	v1, err := golden.ReadHex(goldenPath("v1_copy"))
	if err != nil {
		t.Fatal(err)
	}
	var h Header
	if _, err := newSealer([]byte(goldenKey)).parse(v1, &h); err != ErrVersion1 {
		t.Fatalf("a version 1 copy: %v, want ErrVersion1", err)
	}
}
