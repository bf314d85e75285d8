package wire

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/arcadexr/arcade/internal/golden"
)

// stateHashVectors are the states of testdata/wire/state_hash*.txt: the
// bytes the hash is taken over, field by field, and the hash.
func stateHashVectors() []struct {
	name, what string
	st         State
} {
	var st State
	st.From(1003, []PlayerState{player(3, 0), player(5, 1)}, flagged([]EntityState{entity(1, 2), entity(7, 3), entity(300, 4)},
		EntityHeld|EntityGrabbable, EntitySleeping, 0))
	return []struct {
		name, what string
		st         State
	}{
		{"state_hash", "tick 1003: players 3 and 5, entities 1 (held, grabbable), 7 (sleeping) and 300", st},
		{"state_hash_empty", "tick 0 with no player and no entity", State{}},
	}
}

// stateHashFile writes a vector: comments, the hash, then the hashed bytes
// one field per line in the format of the .hex vectors.
func stateHashFile(name, what string, st *State) string {
	var w strings.Builder
	in := AppendStateHashInput(nil, st)
	fmt.Fprintf(&w, "# %s: the state hash (docs/PROTOCOL.md §10.5) of %s.\n", name, what)
	fmt.Fprintf(&w, "# The hash is XXH64 with seed 0 of the %d bytes below (8 + 40 per player + 14 per entity),\n", len(in))
	w.WriteString("# sent little-endian in the state hash field of Snapshot and StateDelta.\n")
	fmt.Fprintf(&w, "# xxh64 = %016x\n", xxhash.Sum64(in))
	w.WriteString("# One field per line: its bytes in hex, then '#' and its meaning.\n")
	w.WriteString("# Regenerate with: go test ./wire -run StateHashGolden -update\n")
	line := func(b []byte, f string, a ...any) {
		fmt.Fprintf(&w, "%-24x # %s\n", b, fmt.Sprintf(f, a...))
	}
	line(in[0:4], "tick = %d", st.Tick)
	line(in[4:6], "player count = %d", len(st.Players))
	line(in[6:8], "entity count = %d", len(st.Entities))
	off := StateHashPrefixSize
	pose := func(what string, q QPose) {
		line(in[off:off+6], "%s position q = (%d, %d, %d)", what, q.X, q.Y, q.Z)
		line(in[off+6:off+11], "%s rotation = 0x%010x (index %d)", what, q.Rot, q.Rot&3)
		off += PoseSize
	}
	for _, p := range st.Players {
		line(in[off:off+2], "player: client id = %d", p.ClientID)
		line(in[off+2:off+6], "  last input seq = %d", p.Seq)
		line(in[off+6:off+7], "  tracking = 0x%02x", p.Tracking)
		off += 7
		for i, what := range []string{"  head", "  left hand", "  right hand"} {
			pose(what, p.Poses[i])
		}
	}
	for _, e := range st.Entities {
		line(in[off:off+2], "entity: id = %d", e.ID)
		line(in[off+2:off+3], "  flags = 0x%02x", e.Flags)
		off += 3
		pose("  pose", e.Pose)
	}
	return w.String()
}

func TestStateHashGolden(t *testing.T) {
	for _, v := range stateHashVectors() {
		path := filepath.Join(goldenDir, v.name+".txt")
		if *update {
			if err := os.WriteFile(path, []byte(stateHashFile(v.name, v.what, &v.st)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		in, err := golden.Parse(string(text))
		if err != nil {
			t.Fatal(err)
		}
		if want := AppendStateHashInput(nil, &v.st); !bytes.Equal(in, want) {
			t.Fatalf("%s: hashed bytes differ (run with -update if the change is intended)\n got %x\nwant %x", v.name, in, want)
		}
		var sum uint64
		for line := range strings.Lines(string(text)) {
			if s, ok := strings.CutPrefix(line, "# xxh64 = "); ok {
				fmt.Sscanf(s, "%x", &sum)
			}
		}
		if h := HashState(&v.st); h != sum || sum == 0 {
			t.Errorf("%s: HashState = %016x, the file says %016x", v.name, h, sum)
		}
		if h := xxhash.Sum64(in); h != sum {
			t.Errorf("%s: XXH64 of the file's bytes = %016x, the file says %016x", v.name, h, sum)
		}
	}
}

// TestStateHashRecordsAgree: hashing the records as the server holds them
// (floats, put on the grid as a Snapshot encodes them) and as a
// StateDelta receiver holds them (on the grid already), or as a client
// holds a Snapshot's decoded records, gives one value; a change of any
// field changes it.
func TestStateHashRecordsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	f := func() float32 { return rng.Float32()*80 - 40 } // beyond the range too: clamped alike
	pose := func() Pose {
		return Pose{Pos: Vec3{f(), f(), f()}, Rot: Quat{f(), f(), f(), f()}}
	}
	var h StateHasher
	for range 200 {
		ps := make([]PlayerState, rng.IntN(30))
		for i := range ps {
			ps[i] = PlayerState{ClientID: uint16(i + 1), LastInputSeq: rng.Uint32(), Tracking: uint8(rng.Uint32()),
				Head: pose(), Hands: [2]Pose{pose(), pose()}}
		}
		es := make([]EntityState, rng.IntN(100))
		for i := range es {
			es[i] = EntityState{ID: uint16(i*3 + 1), Flags: uint8(rng.Uint32()), Pose: pose()}
		}
		tick := rng.Uint32()
		var st State
		st.From(tick, ps, es)
		want := h.Records(tick, ps, es)
		if got := h.State(&st); got != want {
			t.Fatalf("State = %016x, Records = %016x", got, want)
		}
		if got := xxhash.Sum64(AppendStateHashInput(nil, &st)); got != want {
			t.Fatalf("XXH64 of the input = %016x, Records = %016x", got, want)
		}
		// As a client holds a Snapshot: decoded, then put back on the grid.
		var back State
		dp, de := make([]PlayerState, len(ps)), make([]EntityState, len(es))
		for i := range st.Players {
			dp[i] = st.Players[i].Player()
		}
		for i := range st.Entities {
			de[i] = st.Entities[i].Entity()
		}
		back.From(tick, dp, de)
		if got := h.State(&back); got != want {
			t.Fatalf("decoded and re-quantized: %016x, want %016x", got, want)
		}
		if len(st.Entities) > 0 {
			st.Entities[len(st.Entities)-1].Pose.X ^= 1
			if h.State(&st) == want {
				t.Fatal("a changed position leaves the hash as it was")
			}
		}
		st.Tick++
		if h.State(&st) == want {
			t.Fatal("another tick hashes alike")
		}
	}
}

func TestStateHashZeroAlloc(t *testing.T) {
	var h StateHasher
	v := stateHashVectors()[0]
	ps, es := make([]PlayerState, len(v.st.Players)), make([]EntityState, len(v.st.Entities))
	for i := range ps {
		ps[i] = v.st.Players[i].Player()
	}
	for i := range es {
		es[i] = v.st.Entities[i].Entity()
	}
	if n := testing.AllocsPerRun(100, func() { h.State(&v.st); h.Records(v.st.Tick, ps, es) }); n != 0 {
		t.Errorf("hashing allocates %v times", n)
	}
}
