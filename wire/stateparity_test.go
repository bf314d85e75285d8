package wire

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// gfMulSlow multiplies in GF(2⁸) mod 0x11D bit by bit: the reference
// the tables are checked against.
func gfMulSlow(a, b byte) byte {
	var p byte
	for ; b != 0; b >>= 1 {
		if b&1 != 0 {
			p ^= a
		}
		hi := a & 0x80
		a <<= 1
		if hi != 0 {
			a ^= 0x1D
		}
	}
	return p
}

// TestGF: the product table is GF(2⁸)'s, and every inverse is one.
func TestGF(t *testing.T) {
	for a := range 256 {
		for b := range 256 {
			if got, want := gfMul[a][b], gfMulSlow(byte(a), byte(b)); got != want {
				t.Fatalf("%d·%d = %d, want %d", a, b, got, want)
			}
		}
		if a != 0 && gfMul[a][gfInv(byte(a))] != 1 {
			t.Fatalf("1/%d wrong", a)
		}
	}
	for i := range 254 {
		if RepairCoef(0, i) != 1 {
			t.Fatalf("c(0, %d) = %d: repair part 0 is not the XOR", i, RepairCoef(0, i))
		}
	}
}

// tickParts codes a tick of many parts.
func tickParts(t *testing.T, r *rand.Rand) [][]byte {
	t.Helper()
	prior := onGrid(randState(r, 600, 400))
	prior.Tick = 1
	base := onGrid(evolve(r, prior, 0.6))
	base.Tick = 5
	cur := onGrid(evolve(r, base, 0.6))
	cur.Tick = 6
	var e StateEncoder
	h := StateDelta{Tick: 6, Base: 5, Prior: 1, Flags: DeltaCoded | DeltaAvatarGrid | DeltaPrior | DeltaHasHash, StateHash: 42}
	var parts [][]byte
	for _, p := range e.EncodePrior(&h, base, prior, cur, 300-ParityRoom) {
		parts = append(parts, bytes.Clone(p))
	}
	if len(parts) < 8 {
		t.Fatalf("%d parts", len(parts))
	}
	return parts
}

// TestParityRebuilds: for a tick in many coded parts, any e repair parts
// rebuild any e lost data parts byte for byte (but for zero padding a
// parse ignores), whatever order the parts come in; with fewer repair
// parts than lost parts nothing is rebuilt.
func TestParityRebuilds(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	parts := tickParts(t, r)
	k := len(parts)
	var rep [][]byte
	for j := range MaxRepairs + 2 {
		b := AppendParity(nil, parts, j)
		var m StateDelta
		if n, err := m.Parse(b); err != nil || n != len(b) || m.Flags&DeltaParity == 0 || int(m.Part) != j || int(m.Parts) != k {
			t.Fatalf("repair %d: parse %d of %d: %v, %+v", j, n, len(b), err, m.Flags)
		}
		if len(b) > 300 {
			t.Fatalf("repair %d: %d bytes, more than the parts' 300", j, len(b))
		}
		if err := new(StateDecoder).Apply(&m, &State{}); err != ErrField {
			t.Fatalf("a repair part applied as records: %v", err)
		}
		rep = append(rep, b)
	}
	if got := AppendParity(nil, parts, 256-k); len(got) != 0 {
		t.Fatalf("repair %d of %d parts made", 256-k, k)
	}
	g := new(Parity)
	for trial := range 300 {
		e := 1 + trial%MaxRepairs
		if e > k {
			continue
		}
		lost := r.Perm(k)[:e]
		isLost := make([]bool, k)
		for _, i := range lost {
			isLost[i] = true
		}
		// e repair parts of any indices, or one fewer.
		short := trial%7 == 0
		nr := e
		if short {
			nr--
		}
		use := r.Perm(len(rep))[:nr]
		type in struct {
			b   []byte
			rep bool
			i   int
		}
		var ins []in
		for i := range k {
			if !isLost[i] {
				ins = append(ins, in{parts[i], false, i})
			}
		}
		for _, j := range use {
			ins = append(ins, in{rep[j], true, j})
		}
		r.Shuffle(len(ins), func(a, b int) { ins[a], ins[b] = ins[b], ins[a] })
		g.Reset(k)
		for _, x := range ins {
			if x.rep {
				g.AddParity(x.b)
				g.AddParity(x.b) // a copy counts once
			} else {
				g.AddData(x.i, x.b)
			}
		}
		if n, ok := g.Missing(); n != e || ok == short {
			t.Fatalf("trial %d: %d lost, %d repairs: missing %d %v", trial, e, nr, n, ok)
		}
		if short {
			if g.Recover() {
				t.Fatalf("trial %d: rebuilt %d parts from %d repair parts", trial, e, nr)
			}
			continue
		}
		if !g.Recover() {
			t.Fatalf("trial %d: %d lost, repairs %v: not rebuilt", trial, e, use)
		}
		for _, i := range lost {
			got := g.Body(nil, i)
			if len(bytes.TrimRight(got[min(len(got), len(parts[i])):], "\x00")) != 0 || !bytes.Equal(got[:min(len(got), len(parts[i]))], parts[i]) {
				t.Fatalf("trial %d: lost %d: rebuilt\n%x\nwant\n%x", trial, i, got, parts[i])
			}
		}
	}
}

// TestParityParse: a repair part is refused without DeltaCoded, past its
// tick's repair indices, or with records.
func TestParityParse(t *testing.T) {
	m := StateDelta{Tick: 2, Base: 1, Parts: 9, Part: 1, Flags: DeltaCoded | DeltaParity, PlayerFrom: 1}
	for _, j := range []uint8{0, 1, 9, 246} {
		m.Part = j
		if _, err := new(StateDelta).Parse(m.Append(nil)); err != nil {
			t.Fatalf("repair %d of 9 parts: %v", j, err)
		}
	}
	for _, bad := range []func(*StateDelta){
		func(m *StateDelta) { m.Flags &^= DeltaCoded },
		func(m *StateDelta) { m.Part = 247 },
		func(m *StateDelta) { m.PlayerRecords = 1 },
	} {
		c := m
		c.Part = 1
		bad(&c)
		if _, err := new(StateDelta).Parse(c.Append(nil)); err != ErrField {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// BenchmarkParity: repair part 1 of a tick of eight full parts (and
// part 0, their XOR, as the reference), and rebuilding two lost parts
// from two repair parts.
func BenchmarkParity(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	parts := make([][]byte, 8)
	for i := range parts {
		parts[i] = make([]byte, MaxBodySize-ParityRoom)
		for x := range parts[i] {
			parts[i][x] = byte(r.Uint32())
		}
		parts[i][offDeltaFlags] = DeltaCoded
		parts[i][offDeltaPart] = byte(i)
	}
	for _, j := range []int{0, 1} {
		b.Run(fmt.Sprintf("encode%d", j), func(b *testing.B) {
			b.ReportAllocs()
			dst := make([]byte, 0, MaxBodySize)
			for range b.N {
				dst = AppendParity(dst[:0], parts, j)
			}
		})
	}
	b.Run("rebuild2", func(b *testing.B) {
		rep := [][]byte{AppendParity(nil, parts, 0), AppendParity(nil, parts, 1)}
		g := new(Parity)
		dst := make([]byte, 0, MaxBodySize)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			g.Reset(len(parts))
			for i := 2; i < len(parts); i++ {
				g.AddData(i, parts[i])
			}
			g.AddParity(rep[0])
			g.AddParity(rep[1])
			if !g.Recover() {
				b.Fatal("not rebuilt")
			}
			dst = g.Body(dst[:0], 0)
		}
	})
}
