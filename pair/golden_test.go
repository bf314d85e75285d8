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

// goldenVectors are the pair datagrams of docs/PROTOCOL.md §18.2: a copy
// in one part, and the calls made after it.
func goldenVectors() map[string][]byte {
	m := newMAC([]byte(goldenKey))
	cp := AppendCopy(nil, goldenCopy())
	calls := AppendApplied(nil, &server.Applied{Kind: server.AppliedInput, ID: 1,
		Input: wire.PoseInput{InputSeq: 78, Head: wire.Pose{Pos: wire.Vec3{Y: 1.6}, Rot: wire.Quat{W: 1}}}})
	calls = AppendApplied(calls, &server.Applied{Kind: server.AppliedGrab, ID: 1, Hand: 0, Entity: 9})
	return map[string][]byte{
		"copy":    m.appendDatagram(nil, &Header{Kind: KindCopy, Parts: 1, Epoch: 3, Seq: 1, Tick: 600}, cp),
		"applied": m.appendDatagram(nil, &Header{Kind: KindApplied, Parts: 1, Epoch: 3, Seq: 2, Tick: 600}, calls),
	}
}

func goldenPath(name string) string { return filepath.Join("..", "testdata", "pair", name+".hex") }

// TestGolden: the pair datagrams are byte for byte the vectors in
// testdata/pair (regenerate with go test ./pair -run Golden -update), and
// the vectors verify and decode to what made them.
func TestGolden(t *testing.T) {
	for name, b := range goldenVectors() {
		path := goldenPath(name)
		if *update {
			os.MkdirAll(filepath.Dir(path), 0o755)
			var w strings.Builder
			fmt.Fprintf(&w, "# pair datagram, %s: docs/PROTOCOL.md §18.2; pair key %q (SHA-256 of it keys AES-256-GCM).\n", name, goldenKey)
			fmt.Fprintf(&w, "# %d bytes. Regenerate with: go test ./pair -run Golden -update\n", len(b))
			fmt.Fprintf(&w, "%s # header: magic, version, kind, part, parts, zero, epoch, seq, tick\n", hex.EncodeToString(b[:HeaderSize]))
			body := b[HeaderSize : len(b)-MACSize]
			for i := 0; i < len(body); i += 32 {
				fmt.Fprintf(&w, "%s\n", hex.EncodeToString(body[i:min(i+32, len(body))]))
			}
			fmt.Fprintf(&w, "%s # tag\n", hex.EncodeToString(b[len(b)-MACSize:]))
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
		part, err := newMAC([]byte(goldenKey)).parse(want, &h)
		if err != nil || h.Epoch != 3 || h.Tick != 600 {
			t.Fatalf("%s: parse: %+v, %v", name, h, err)
		}
		switch h.Kind {
		case KindCopy:
			var r server.Replica
			if err := ParseCopy(part, &r, map[string]string{}); err != nil || r.Sessions[0].Name != "quest-1" || !r.Sessions[0].InputApplied || r.State.Tick != 600 {
				t.Fatalf("copy: %+v, %v", r, err)
			}
		case KindApplied:
			a, err := ParseApplied(part, nil)
			if err != nil || len(a) != 2 || a[0].Input.InputSeq != 78 || a[1].Kind != server.AppliedGrab || a[1].Entity != 9 {
				t.Fatalf("calls: %+v, %v", a, err)
			}
		}
	}
}
