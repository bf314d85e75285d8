package wire

import (
	"fmt"
	"testing"
)

// benchSnapshot is a full snapshot part: a hash, the given number of
// entities and as many players as still fit in the datagram.
func benchSnapshot(nEntities int) *Snapshot {
	np := (MaxBodySize - SnapshotLen(0, nEntities, true)) / SnapshotPlayerSize
	return &Snapshot{Tick: 1, ServerTime: 2, Parts: 1, PlayerCount: uint16(np), Flags: SnapshotHasHash,
		StateHash: 3, Players: players(np), Entities: entities(nEntities)}
}

// benchEntityUpdate is an entity update with nc causes and ne entities.
func benchEntityUpdate(nc, ne int) *EntityUpdate {
	return &EntityUpdate{Tick: 1, ServerTime: 2, Causes: causes(nc), Entities: entities(ne)}
}

func samplePoseInput() *PoseInput {
	for _, v := range goldenVectors() {
		if m, ok := v.msg.(*PoseInput); ok {
			return m
		}
	}
	panic("no PoseInput vector")
}

// TestZeroAlloc is the allocation budget of the codecs: none, once the
// caller's buffer and the Snapshot's or EntityUpdate's record slices have
// the capacity.
func TestZeroAlloc(t *testing.T) {
	type tc struct {
		name string
		m    codec
	}
	cases := []tc{{"Header", &Header{Type: TypePoseInput, Token: 1, Seq: 2, Ack: 3, AckBits: 4}}}
	for _, v := range goldenVectors() {
		cases = append(cases, tc{v.name, v.msg})
	}
	for _, n := range []int{16, 64} {
		cases = append(cases, tc{fmt.Sprintf("snapshot_%d_entities", n), benchSnapshot(n)})
		cases = append(cases, tc{fmt.Sprintf("entity_update_%d_entities", n), benchEntityUpdate(1, n)})
	}
	cases = append(cases, tc{"entity_update_16_causes_64_entities", benchEntityUpdate(16, 64)})
	buf := make([]byte, 0, MaxDatagramSize)
	for _, c := range cases {
		enc := c.m.Append(nil)
		if n := testing.AllocsPerRun(100, func() { buf = c.m.Append(buf[:0]) }); n != 0 {
			t.Errorf("%s: Append allocates %v times", c.name, n)
		}
		dst := newCodec(c.m)
		if _, err := dst.Parse(enc); err != nil { // grows the record slices once
			t.Fatalf("%s: %v", c.name, err)
		}
		if n := testing.AllocsPerRun(100, func() { dst.Parse(enc) }); n != 0 {
			t.Errorf("%s: Parse allocates %v times", c.name, n)
		}
		if n := testing.AllocsPerRun(100, func() { dst.Parse(enc[:len(enc)-1]) }); n != 0 {
			t.Errorf("%s: failing Parse allocates %v times", c.name, n)
		}
	}
	d := make([]byte, HeaderSize)
	if n := testing.AllocsPerRun(100, func() { PeekType(d) }); n != 0 {
		t.Errorf("PeekType allocates %v times", n)
	}
	p := samplePoseInput().Head
	if n := testing.AllocsPerRun(100, func() { p = QuantizePose(p) }); n != 0 {
		t.Errorf("QuantizePose allocates %v times", n)
	}
}
