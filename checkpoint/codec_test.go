package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/internal/golden"
	"github.com/arcadexr/arcade/wire"
)

var update = flag.Bool("update", false, "rewrite ../testdata/checkpoint/v1.hex")

const goldenFile = "../testdata/checkpoint/v1.hex"

// sample is a small world: two entities (one asleep, one held), one
// player holding the second in its right hand, and one away.
func sample() *State {
	in := wire.PoseInput{InputSeq: 77, ClientTime: 123456789, Buttons: 0x5, Tracking: wire.TrackHead | wire.TrackLeft | wire.TrackRight,
		Grip: [2]float32{0, 1}, Trigger: [2]float32{0.25, 0.5}, Stick: [2][2]float32{{-1, 0.5}, {0, 1}}, HasStateAck: true, StateTick: 9, StateHeld: 0xff}
	in.Head = wire.Pose{Pos: wire.Vec3{X: 0, Y: 1.7, Z: 0}, Rot: wire.Quat{W: 1}}
	in.Hands[1] = wire.Pose{Pos: wire.Vec3{X: 0.3, Y: 1.2, Z: -0.2}, Rot: wire.Quat{W: 1}}
	return &State{
		Scene: 0x1122334455667788, Tick: 1200, ServerTime: 10_000_000, Wall: 1_800_000_000_000_000_000,
		Entities: []Entity{
			{ID: 3, Kind: 0, Sleeping: true, Pose: geom.Pose{Pos: geom.Vec3{X: 1, Y: 0.05, Z: -2}, Rot: geom.Identity}, SleepTime: 0.75, Island: 3},
			{ID: 9, Kind: 1, Pose: geom.Pose{Pos: geom.Vec3{X: 0.3, Y: 1.2, Z: -0.3}, Rot: geom.Quat{Y: math.Sqrt2 / 2, W: math.Sqrt2 / 2}}, Vel: geom.Vec3{X: 0.5}, AngVel: geom.Vec3{Y: -1}},
		},
		Players: []Player{{
			ClientID: 1, PlayerID: [wire.PlayerIDSize]byte{0xa1, 0xa2, 15: 0xaf}, Grip: [2]bool{false, true},
			Hands:     [2]geom.Pose{{Pos: geom.Vec3{X: -0.3, Y: 1.2}, Rot: geom.Identity}, {Pos: geom.Vec3{X: 0.3, Y: 1.2, Z: -0.2}, Rot: geom.Identity}},
			HasAvatar: true, Avatar: in,
		}, {
			ClientID: 4, PlayerID: [wire.PlayerIDSize]byte{0xb1, 15: 0xbf}, Away: true, HasAvatar: true, Avatar: in,
		}},
		Holds: []Hold{{Holder: 1<<20 + 1*2 + 1, Target: 9}},
	}
}

// annotate writes the golden file: the bytes in hex, one field a line.
func annotate(b []byte, st *State) string {
	var w strings.Builder
	off := 0
	line := func(n int, what string, a ...any) {
		fmt.Fprintf(&w, "%-34x # %s\n", b[off:off+n], fmt.Sprintf(what, a...))
		off += n
	}
	w.WriteString("# v1: a checkpoint of two entities (3 asleep, 9 held), one player holding 9 in its right hand and one away.\n")
	fmt.Fprintf(&w, "# %d bytes. Layout: docs/CHECKPOINT.md. Regenerate with: go test ./checkpoint -run Golden -update\n", len(b))
	line(8, "magic %q", Magic)
	line(2, "version = %d", Version)
	line(2, "reserved = 0")
	line(4, "body length = %d", len(b)-HeaderSize)
	line(8, "xxhash64 of the body")
	line(8, "scene fingerprint = %#x", st.Scene)
	line(8, "tick = %d", st.Tick)
	line(8, "server time = %d µs", st.ServerTime)
	line(8, "wall clock = %d ns", st.Wall)
	line(4, "entities = %d", len(st.Entities))
	line(4, "players = %d", len(st.Players))
	line(4, "holds = %d", len(st.Holds))
	for _, e := range st.Entities {
		line(2, "entity id = %d", e.ID)
		line(1, "  kind = %d", e.Kind)
		line(1, "  flags (bit 0 sleeping)")
		line(PoseSize, "  pose: position, rotation x y z w (float64)")
		line(24, "  velocity m/s")
		line(24, "  angular velocity rad/s")
		line(8, "  sleep time = %v s", e.SleepTime)
		line(4, "  island = %d", e.Island)
	}
	for _, p := range st.Players {
		line(2, "player client id = %d", p.ClientID)
		line(16, "  player id")
		line(1, "  flags (bit 0 grip left, 1 grip right, 2 avatar, 3 away)")
		line(1, "  reserved")
		line(PoseSize, "  left hand pose")
		line(PoseSize, "  right hand pose")
		line(4, "  avatar: input seq = %d", p.Avatar.InputSeq)
		line(8, "  avatar: client time µs")
		line(28, "  avatar: head (7 float32)")
		line(56, "  avatar: left, right hand")
		line(4, "  avatar: buttons")
		line(32, "  avatar: triggers, grips, sticks (float32)")
		line(1, "  avatar: tracking")
		line(1, "  avatar: flags (bit 0 state ack)")
		line(4, "  avatar: state tick")
		line(8, "  avatar: state held")
	}
	for _, h := range st.Holds {
		line(4, "hold: holder node = %#x", h.Holder)
		line(4, "  target node = %d", h.Target)
	}
	return w.String()
}

func TestGolden(t *testing.T) {
	st := sample()
	b := Append(nil, st)
	if len(b) != Len(st) {
		t.Fatalf("Append wrote %d bytes, Len says %d", len(b), Len(st))
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(goldenFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenFile, []byte(annotate(b, st)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := golden.ReadHex(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("encoding differs from %s:\n got %x\nwant %x", goldenFile, b, want)
	}
	var got State
	n, err := Parse(want, &got)
	if err != nil || n != len(want) {
		t.Fatalf("Parse: %d, %v", n, err)
	}
	if !reflect.DeepEqual(&got, st) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, *st)
	}
}

func TestParseRefuses(t *testing.T) {
	good := Append(nil, sample())
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	resum := func(b []byte) []byte {
		binary.LittleEndian.PutUint64(b[offSum:], xxhashOf(b[HeaderSize:]))
		return b
	}
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrMagic},
		{"another file", []byte("PK\x03\x04 a zip file, say, long enough for a header"), ErrMagic},
		{"header cut", good[:HeaderSize-1], ErrTruncated},
		{"body cut", good[:len(good)-1], ErrTruncated},
		{"version 2", mod(func(b []byte) []byte { b[offVersion] = 2; return b }), ErrVersion},
		{"a flipped bit", mod(func(b []byte) []byte { b[HeaderSize+50] ^= 4; return b }), ErrChecksum},
		{"counts past the body", mod(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[HeaderSize+32:], 3)
			return resum(b)
		}), ErrCorrupt},
		{"too many entities", mod(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[HeaderSize+32:], MaxEntities+1)
			return resum(b)
		}), ErrCorrupt},
		{"ids out of order", mod(func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[HeaderSize+FixedSize+EntitySize:], 2)
			return resum(b)
		}), ErrCorrupt},
	} {
		st := sample()
		n, err := Parse(c.b, st)
		var fe *FormatError
		if !errors.Is(err, c.want) || !errors.As(err, &fe) || n != 0 {
			t.Errorf("%s: Parse = %d, %v; want %v", c.name, n, err, c.want)
		}
		if !reflect.DeepEqual(st, sample()) {
			t.Errorf("%s: a failed Parse changed the state", c.name)
		}
	}
	// Bytes past the body are not read; bytes past the holds, inside the
	// body (a later version's), are ignored.
	var st State
	if n, err := Parse(append(bytes.Clone(good), "next"...), &st); err != nil || n != len(good) {
		t.Errorf("trailing bytes: %d, %v", n, err)
	}
	longer := append(bytes.Clone(good), 1, 2, 3)
	binary.LittleEndian.PutUint32(longer[offLength:], uint32(len(longer)-HeaderSize))
	resum(longer)
	if n, err := Parse(longer, &st); err != nil || n != len(longer) || !reflect.DeepEqual(&st, sample()) {
		t.Errorf("a longer body: %d, %v", n, err)
	}
}

func TestInputRoundTripIsExact(t *testing.T) {
	in := sample().Players[0].Avatar
	in.Hands[0].Pos.X = math.Float32frombits(0x3e99999a) // not on the wire's grid
	in.Grip[0] = 0.123456
	b := AppendInput(nil, &in)
	if len(b) != InputSize {
		t.Fatalf("AppendInput wrote %d bytes, want %d", len(b), InputSize)
	}
	var out wire.PoseInput
	ParseInput(b, &out)
	if out != in {
		t.Fatalf("round trip:\n got %+v\nwant %+v", out, in)
	}
}

// FuzzParse: any bytes. A parse either fails, leaving the state alone, or
// re-encodes to the bytes it took (the checksum makes the rest rare, so
// the seeds include valid checkpoints and the fuzzer mutates counts).
func FuzzParse(f *testing.F) {
	f.Add(Append(nil, sample()))
	f.Add(Append(nil, &State{}))
	f.Add([]byte(Magic))
	if b, err := golden.ReadHex(goldenFile); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st := sample()
		n, err := Parse(b, st)
		if err != nil {
			if n != 0 || !reflect.DeepEqual(st, sample()) {
				t.Fatalf("failed with %v but took %d bytes or changed the state", err, n)
			}
			return
		}
		if n > len(b) {
			t.Fatalf("took %d of %d bytes", n, len(b))
		}
		again := Append(nil, st)
		var st2 State
		if n2, err := Parse(again, &st2); err != nil || n2 != len(again) {
			t.Fatalf("re-parse: %d, %v", n2, err)
		}
		if !bytes.Equal(Append(nil, &st2), again) {
			t.Fatal("unstable encoding")
		}
		if Len(st) != len(again) {
			t.Fatalf("Len %d, Append %d", Len(st), len(again))
		}
	})
}

func xxhashOf(b []byte) uint64 { return xxhash.Sum64(b) }
