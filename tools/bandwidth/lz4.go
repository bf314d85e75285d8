package main

import (
	"github.com/pierrec/lz4/v4"

	"github.com/arcadexr/arcade/wire"
)

// lz4Share measures what LZ4 (block format, default level) would save on
// a whole tick of tr: as today's Snapshot parts, and as a StateDelta
// keyframe (what a new receiver is sent first). It returns the compressed
// size over the raw size of each, concatenated as one block (the best
// case for LZ4: the reliable channel or a checkpoint could carry it so).
func lz4Share(tr Trace, tick int) (snapshot, keyframe float64) {
	var s State
	tr.State(tick, &s)
	var raw []byte
	for _, p := range todayParts(nil, uint32(tick), 1, &s, false) {
		raw = p.Append(raw)
	}
	snapshot = lz4Ratio(raw)
	var st wire.State
	st.From(uint32(tick), s.Players, s.Entities)
	var enc wire.StateEncoder
	raw = raw[:0]
	for _, p := range enc.Encode(&wire.StateDelta{Tick: uint32(tick)}, nil, &st, wire.MaxBodySize) {
		raw = append(raw, p...)
	}
	keyframe = lz4Ratio(raw)
	return snapshot, keyframe
}

func lz4Ratio(b []byte) float64 {
	if len(b) == 0 {
		return 1
	}
	var c lz4.Compressor
	out := make([]byte, lz4.CompressBlockBound(len(b)))
	n, err := c.CompressBlock(b, out)
	if err != nil || n == 0 {
		return 1 // incompressible: LZ4 stores nothing shorter
	}
	return float64(n) / float64(len(b))
}
