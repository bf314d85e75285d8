package server

import "github.com/arcadexr/arcade/wire"

// quantCache keeps each player's state on the wire's grid, by client id,
// with the state it was put there from. The tick's Snapshot, its
// StateDelta and every eager update carry each player's three poses on
// that grid; putting a rotation there (smallest three, made canonical) is
// the costliest arithmetic the server does per headset, and a player's
// state changes only when one of its inputs is applied: with the cache a
// pose is put on the grid once, not once per send.
type quantCache struct {
	slots []quantSlot // index = client id
	spare quantSlot   // a client id past the slots (a cast's): not kept
}

type quantSlot struct {
	from wire.PlayerState
	q    wire.QPlayer // from on the wire's grid (wire.QuantPlayer)
	grid wire.QPlayer // q with its rotations on the avatar grid (wire.AvatarGridPlayer)
	ok   bool
}

func newQuantCache(maxClients int) quantCache {
	return quantCache{slots: make([]quantSlot, maxClients+1)}
}

// get returns p on the wire's grid, and on the avatar grid. Both stay
// valid until the next get. A slot is reused while p equals the state it
// was made from: equal floats (+0 and −0 aside) are the same bits, and
// ±0 quantize alike; a NaN never equals, and is quantized anew.
func (t *quantCache) get(p *wire.PlayerState) (q, grid *wire.QPlayer) {
	e := &t.spare
	if int(p.ClientID) < len(t.slots) {
		e = &t.slots[p.ClientID]
	}
	if !e.ok || e.from != *p {
		e.from, e.q, e.ok = *p, wire.QuantPlayer(p), true
		e.grid = e.q
		wire.AvatarGridPlayer(&e.grid)
	}
	return &e.q, &e.grid
}
