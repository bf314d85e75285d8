package wire

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestParityRebuilds: for a tick in many coded parts, the parity part of
// each group rebuilds any one lost part of it byte for byte (but for
// zero padding a parse ignores), whatever order the parts come in; with
// two lost it rebuilds nothing.
func TestParityRebuilds(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	prior := onGrid(randState(r, 600, 400))
	prior.Tick = 1
	base := onGrid(evolve(r, prior, 0.6))
	base.Tick = 5
	cur := onGrid(evolve(r, base, 0.6))
	cur.Tick = 6
	var e StateEncoder
	h := StateDelta{Tick: 6, Base: 5, Prior: 1, Flags: DeltaCoded | DeltaAvatarGrid | DeltaPrior | DeltaHasHash, StateHash: 42}
	parts := e.EncodePrior(&h, base, prior, cur, 300-ParityRoom)
	if len(parts) < ParityGroup+2 {
		t.Fatalf("%d parts", len(parts))
	}
	var par [][]byte
	for j := range ParityGroups(len(parts)) {
		b := AppendParity(nil, parts, j)
		var m StateDelta
		if n, err := m.Parse(b); err != nil || n != len(b) || m.Flags&DeltaParity == 0 || int(m.Part) != j || int(m.Parts) != len(parts) {
			t.Fatalf("parity %d: parse %d of %d: %v, %+v", j, n, len(b), err, m.Flags)
		}
		if len(b) > 300 {
			t.Fatalf("parity %d: %d bytes, more than the parts' 300", j, len(b))
		}
		if err := new(StateDecoder).Apply(&m, &State{}); err != ErrField {
			t.Fatalf("a parity part applied as records: %v", err)
		}
		par = append(par, b)
	}
	var g Parity
	for lost := range parts {
		j := lost / ParityGroup
		lo, hi := j*ParityGroup, min(len(parts), (j+1)*ParityGroup)
		g.Reset(hi - lo)
		order := r.Perm(hi - lo + 1)
		for _, k := range order {
			switch {
			case k == hi-lo:
				g.AddParity(par[j])
			case lo+k != lost:
				g.AddData(k, parts[lo+k])
			}
		}
		if i, ok := g.Missing(); !ok || lo+i != lost {
			t.Fatalf("lost %d: missing %d %v", lost, i, ok)
		}
		got := g.Recover(nil, lost)
		if !bytes.Equal(bytes.TrimRight(got[len(parts[lost]):], "\x00"), nil) || !bytes.Equal(got[:len(parts[lost])], parts[lost]) {
			t.Fatalf("lost %d: rebuilt\n%x\nwant\n%x", lost, got, parts[lost])
		}
		// Two lost: nothing.
		if hi-lo >= 2 {
			g.Reset(hi - lo)
			g.AddParity(par[j])
			for k := 2; k < hi-lo; k++ {
				g.AddData(k, parts[lo+k])
			}
			if _, ok := g.Missing(); ok || len(g.Recover(nil, lo)) != 0 {
				t.Fatalf("group %d rebuilds a part with two lost", j)
			}
		}
	}
}

// TestParityParse: a parity part is refused without DeltaCoded, past its
// tick's groups, or with records.
func TestParityParse(t *testing.T) {
	m := StateDelta{Tick: 2, Base: 1, Parts: 9, Part: 1, Flags: DeltaCoded | DeltaParity, PlayerFrom: 1}
	if _, err := new(StateDelta).Parse(m.Append(nil)); err != nil {
		t.Fatalf("group 1 of 9 parts: %v", err)
	}
	for _, bad := range []func(*StateDelta){
		func(m *StateDelta) { m.Flags &^= DeltaCoded },
		func(m *StateDelta) { m.Part = uint8(ParityGroups(int(m.Parts))) },
		func(m *StateDelta) { m.PlayerRecords = 1 },
	} {
		c := m
		bad(&c)
		if _, err := new(StateDelta).Parse(c.Append(nil)); err != ErrField {
			t.Errorf("%+v: %v", c, err)
		}
	}
}
