package server

import (
	"github.com/arcadexr/arcade/wire"
)

// World is the simulation the tick drives: the scene's objects, the grab
// graph and physics. The server owns the sessions and the wire; the World
// owns what moves. Every method is called from the tick thread only.
type World interface {
	// AddPlayer gives a new client its two hands.
	AddPlayer(id uint16, now int64)
	// RemovePlayer releases whatever the player's hands hold and removes
	// them.
	RemovePlayer(id uint16, now int64)
	// ApplyInput moves the player's hands to the input's poses, starts or
	// ends grabs as its grip values say, and propagates the hands' grab
	// chains at once, root first. It appends the ids of the entities that
	// moved to moved and returns it.
	ApplyInput(id uint16, in *wire.PoseInput, now int64, moved []uint16) []uint16
	// Grab makes a player's hand (wire.Left or wire.Right) grab an entity
	// on request (a GrabRequest RPC): entity 0 means the nearest grabbable
	// one in reach. It returns an error, without allocating, when the grab
	// is refused.
	Grab(client uint16, hand int, entity uint16, now int64) error
	// Release lets go of whatever the player's hand holds, on request.
	Release(client uint16, hand int, now int64) error
	// Holding reports whether the player's hands hold anything.
	Holding(id uint16) bool
	// Propagate runs the grab stage: every grab chain in dependency order.
	Propagate(now int64)
	// BeginStep starts the physics stage for one tick of dt seconds and
	// returns its number of sub-steps; the server runs SubStep for each,
	// in order, taking inputs between them, then EndStep.
	BeginStep(now int64, dt float64) int
	SubStep(i int)
	EndStep(now int64)
	// Entities appends the state of every non-static object, by id.
	Entities(dst []wire.EntityState) []wire.EntityState
	// Entity returns one object's state.
	Entity(id uint16) (wire.EntityState, bool)
}

// stateHasher computes the state hash snapshots carry (docs/PROTOCOL.md
// §10.5): XXH64 over the tick number, the player and entity counts and the
// quantized player and entity records exactly as a snapshot encodes them,
// players by client id, entities by id. A headset holding the tick's
// records computes the same value, and two servers fed the same inputs
// produce the same sequence.
type stateHasher struct{ h wire.StateHasher }

func newStateHasher() *stateHasher { return &stateHasher{} }

// sum hashes a tick's players and entities (each sorted by id).
func (h *stateHasher) sum(tick uint32, players []wire.PlayerState, entities []wire.EntityState) uint64 {
	return h.h.Records(tick, players, entities)
}

// sumState hashes a tick's state already on the wire's grid.
func (h *stateHasher) sumState(st *wire.State) uint64 { return h.h.State(st) }
