package main

import (
	"encoding/binary"
	"hash"
	"math"

	"github.com/arcadexr/arcade/wire"
)

// State is the world state after one tick, as the server would send it:
// the players' avatars and the non-static entities, each by id.
type State struct {
	Players  []wire.PlayerState
	Entities []wire.EntityState
}

// Trace is one scene recorded at one tick rate: Len ticks of state, read
// in order or at random.
type Trace interface {
	Name() string
	Rate() int // ticks per second
	Len() int
	// State fills s with tick t's state, reusing its slices.
	State(t int, s *State)
}

// hashState writes every field of s to h, bit for bit.
func hashState(h hash.Hash, s *State) {
	b := make([]byte, 0, 8+len(s.Players)*96+len(s.Entities)*36)
	u32 := func(v uint32) { b = binary.LittleEndian.AppendUint32(b, v) }
	pose := func(p *wire.Pose) {
		for _, f := range [...]float32{p.Pos.X, p.Pos.Y, p.Pos.Z, p.Rot.X, p.Rot.Y, p.Rot.Z, p.Rot.W} {
			u32(math.Float32bits(f))
		}
	}
	u32(uint32(len(s.Players)))
	for i := range s.Players {
		p := &s.Players[i]
		u32(uint32(p.ClientID))
		u32(p.LastInputSeq)
		u32(uint32(p.Tracking))
		pose(&p.Head)
		pose(&p.Hands[0])
		pose(&p.Hands[1])
	}
	u32(uint32(len(s.Entities)))
	for i := range s.Entities {
		e := &s.Entities[i]
		u32(uint32(e.ID))
		u32(uint32(e.Flags))
		pose(&e.Pose)
	}
	h.Write(b)
}
