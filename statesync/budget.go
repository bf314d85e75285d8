package statesync

import (
	"slices"

	"github.com/arcadexr/arcade/wire"
)

// Budget holds the group's state to a number of payload bits a tick: when
// entities change faster than that allows, the ones with the highest
// accumulated priority are sent and the rest keep, for now, the state last
// sent (Fiedler's priority accumulator). Avatars, held entities, entities
// that appear or go, and changed flags that make an entity held are never
// deferred; a deferred entity's priority grows every tick by one plus its
// speed (grid steps moved since it was last sent, over eight), so a fast
// one is sent sooner and a slow one is not starved. At least a quarter of
// the budget goes to waiting entities, whatever the avatars take.
//
// What Shape returns is what receivers will hold: the server keeps and
// codes the shaped state, never the true one, so a deferred entity costs
// only what it cost before (its last sent state against the baseline).
type Budget struct {
	// Bits is the payload budget a tick; 0: no budget, every change sent.
	Bits int
	prio []float32 // by entity id
	cand []candidate
	// Deferred counts the entities deferred at the last Shape.
	Deferred int
}

type candidate struct {
	i          int // index in out.Entities
	prev       wire.QEntity
	prio       float32
	stand, add int // bits: keeping prev; sending the new state, over stand
}

// BitsFor returns the payload bits a tick of a kbps budget at rate Hz.
func BitsFor(kbps, rate int) int { return kbps * 1000 / max(rate, 1) }

// Shape writes into out the state to send at cur.Tick: cur, with the
// entities deferred under the budget at their state in prev (the state
// sent at the tick before; nil: none), costs reckoned against base (the
// group's baseline; nil: a keyframe).
func (b *Budget) Shape(prev, base, cur, out *wire.State) {
	out.Tick = cur.Tick
	out.Players = append(out.Players[:0], cur.Players...)
	out.Entities = append(out.Entities[:0], cur.Entities...)
	b.Deferred = 0
	if b.Bits <= 0 || prev == nil {
		return
	}
	if b.prio == nil {
		b.prio = make([]float32, 1<<16)
	}
	// Everything but the deferrable entities is spent first.
	spent := 0
	var bp []wire.QPlayer
	if base != nil {
		bp = base.Players
	}
	for i := range cur.Players {
		c := &cur.Players[i]
		for len(bp) > 0 && bp[0].ClientID < c.ClientID {
			bp = bp[1:]
		}
		if len(bp) == 0 || bp[0].ClientID != c.ClientID || bp[0] != *c {
			spent += playerBitsBound
		}
	}
	b.cand = b.cand[:0]
	pe := prev.Entities
	var be []wire.QEntity
	if base != nil {
		be = base.Entities
	}
	baseOf := func(id uint16) *wire.QEntity {
		for len(be) > 0 && be[0].ID < id {
			be = be[1:]
		}
		if len(be) > 0 && be[0].ID == id {
			return &be[0]
		}
		return nil
	}
	for i := range out.Entities {
		c := &out.Entities[i]
		for len(pe) > 0 && pe[0].ID < c.ID {
			pe = pe[1:]
		}
		bb := baseOf(c.ID)
		if len(pe) == 0 || pe[0].ID != c.ID || pe[0] == *c || c.Flags&wire.EntityHeld != 0 || pe[0].Flags&wire.EntityHeld != 0 {
			// New, unchanged, or held (now or before): as it is.
			spent += cost(bb, c)
			b.prio[c.ID] = 0
			continue
		}
		p := pe[0]
		b.prio[c.ID] += 1 + float32(moved(&p.Pose, &c.Pose))/8
		stand := cost(bb, &p)
		b.cand = append(b.cand, candidate{i: i, prev: p, prio: b.prio[c.ID], stand: stand, add: cost(bb, c) - stand})
		spent += stand
	}
	slices.SortFunc(b.cand, func(x, y candidate) int {
		switch {
		case x.prio > y.prio:
			return -1
		case x.prio < y.prio:
			return 1
		}
		return int(out.Entities[x.i].ID) - int(out.Entities[y.i].ID)
	})
	// A quarter of the budget always goes to the waiting entities, so
	// that avatars and held objects that take it all cannot starve them.
	left := max(b.Bits-spent, b.Bits/4)
	for _, k := range b.cand {
		e := &out.Entities[k.i]
		if k.add <= left {
			left -= k.add
			b.prio[e.ID] = 0
			continue
		}
		*e = k.prev // deferred: receivers keep what they were last sent
		b.Deferred++
	}
}

// playerBitsBound is what a changed avatar is reckoned to cost: avatars
// are never deferred, so the figure only takes its share of the budget.
const playerBitsBound = 120

// cost is the bits of c's record against b, with its id gap.
func cost(b, c *wire.QEntity) int {
	n := wire.EntityRecordBits(b, c)
	if n == 0 {
		return 0
	}
	return n + 3
}

// moved is the largest position change from a to b, in grid steps.
func moved(a, b *wire.QPose) int {
	d := func(x, y uint16) int {
		v := int(int16(y - x))
		if v < 0 {
			v = -v
		}
		return v
	}
	return min(max(d(a.X, b.X), d(a.Y, b.Y), d(a.Z, b.Z)), 1024)
}
