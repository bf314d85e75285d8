package checkpoint

import (
	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/wire"
)

// State is one checkpoint: a world at a tick.
type State struct {
	// Scene is the fingerprint of the scene the world was built from
	// (SceneFingerprint); a state restores only into the same scene.
	Scene uint64
	// Tick is the tick whose end the state is; the server resuming from it
	// runs tick Tick+1 next, so state hashes keep their tick numbers.
	Tick uint64
	// ServerTime is the server time at that tick, µs.
	ServerTime uint64
	// Wall is when it was taken, Unix ns (for people; never used to
	// restore).
	Wall int64
	// Entities are the scene's non-static objects, by increasing id.
	Entities []Entity
	// Players are the players whose hands are in the world, and those
	// away (their session ended within the server's resume window), by
	// increasing client id.
	Players []Player
	// Holds are the grab graph's holds: for each held node, in the graph's
	// order, its holders in grab order, the driving one first.
	Holds []Hold
}

// Entity is one object.
type Entity struct {
	ID uint16
	// Kind is the physics body kind now (physics.BodyKind: 0 dynamic, 1
	// kinematic; a held dynamic object is kinematic while held).
	Kind      uint8
	Sleeping  bool
	Pose      geom.Pose
	Vel       geom.Vec3 // m/s
	AngVel    geom.Vec3 // rad/s, world frame
	SleepTime float64   // s the body has been slow
	Island    uint32    // the island it sleeps with, while Sleeping
}

// Player is a player whose hands are in the world, or one away.
type Player struct {
	ClientID uint16
	// PlayerID is the identity the headset sends in its handshake (zero:
	// anonymous; such a player cannot be given its hands back).
	PlayerID [wire.PlayerIDSize]byte
	// Grip says whether each hand's grip is closed (sim's hysteresis).
	Grip  [2]bool
	Hands [2]geom.Pose
	// Avatar is the newest input applied, when HasAvatar.
	HasAvatar bool
	Avatar    wire.PoseInput
	// Away: the player's session had ended and its slot was kept for its
	// return; it has no hands in the world (Grip and Hands are zero), only
	// its identity, client id and avatar.
	Away bool
}

// Hold is one hold of the grab graph: Holder holds Target. Node ids are
// the grab graph's: an entity's id, or a hand's node (sim.HandNode).
type Hold struct {
	Holder, Target uint32
}

// NewState returns an empty State with room for 1024 entities, 64
// players and 64 holds, its memory touched: the tick that first fills it
// takes no page faults (a first write to a page costs the writer about
// 2 µs on a VM), and until the world outgrows that room, none later.
func NewState() *State {
	st := &State{Entities: make([]Entity, 1024), Players: make([]Player, 64), Holds: make([]Hold, 64)}
	clear(st.Entities) // make's memory, if fresh from the kernel, is not yet backed; clear writes every page
	clear(st.Players)
	clear(st.Holds)
	st.Reset()
	return st
}

// Reset empties s, keeping its slices' room.
func (s *State) Reset() {
	*s = State{Entities: s.Entities[:0], Players: s.Players[:0], Holds: s.Holds[:0]}
}
