package client

import (
	"slices"
	"sync"

	"github.com/arcadexr/arcade/wire"
)

// World is a headset's copy of the shared world, kept from the state a
// Client (or a Session) delivers: every player's avatar and every entity,
// by the rules of docs/PROTOCOL.md §10.2 (a record replaces what is held
// only when its message's server time is newer than the one held for that
// player or entity, so a late snapshot never undoes a newer update), and
// who is in the world, decided by complete ticks alone (§10): a player
// joins when a complete tick first lists it and leaves when a complete
// tick no longer does; an incomplete tick (a part lost) decides nothing.
// A newer tick supersedes an incomplete older one.
//
// Feed it with ApplySnapshot and ApplyEntityUpdate from the Client's
// callbacks, or let Track set those. OnJoined and OnLeft run on the
// feeding goroutine, after the tick that decided them is applied and with
// the World's lock released (they may read the World; from a Client's
// callback, only the Client's getters may be called). Its other methods
// are safe for concurrent use: the application reads the World from its
// own goroutine.
//
// It holds at most wire.MaxStatePlayers players and wire.MaxStateEntities
// entities: records past that are not kept, and counted (Refused).
type World struct {
	mu       sync.Mutex
	players  map[uint16]*heldPlayer
	entities map[uint16]*heldEntity
	present  map[uint16]bool
	refused  uint64

	// The tick being assembled from its parts.
	tick      uint32
	haveTick  bool
	parts     uint8
	partsSeen [4]uint64
	nSeen     int
	inTick    map[uint16]bool

	onJoined, onLeft func(id uint16)
	joined, left     []uint16 // events of the tick just completed, fired after unlock
}

type heldPlayer struct {
	at uint64 // server time of the message the state came from
	wire.PlayerState
}

type heldEntity struct {
	at uint64
	wire.EntityState
}

// NewWorld returns an empty World.
func NewWorld() *World {
	return &World{players: map[uint16]*heldPlayer{}, entities: map[uint16]*heldEntity{}, present: map[uint16]bool{}, inTick: map[uint16]bool{}}
}

// OnJoined sets the function called with the client id of each player
// that a complete tick lists for the first time (or again after it left).
func (w *World) OnJoined(fn func(id uint16)) {
	w.mu.Lock()
	w.onJoined = fn
	w.mu.Unlock()
}

// OnLeft sets the function called with the client id of each present
// player that a complete tick no longer lists. Its last state stays
// readable (Player) until the World forgets it: never, in this version.
func (w *World) OnLeft(fn func(id uint16)) {
	w.mu.Lock()
	w.onLeft = fn
	w.mu.Unlock()
}

// Track makes c feed w: it sets c's OnSnapshot and OnEntityUpdate (a
// caller that needs those too calls ApplySnapshot and ApplyEntityUpdate
// from its own).
func (w *World) Track(c *Client) {
	c.OnSnapshot(func(s *wire.Snapshot, _ int64, _ bool) { w.ApplySnapshot(s) })
	c.OnEntityUpdate(func(u *wire.EntityUpdate, _ int64, _ bool) { w.ApplyEntityUpdate(u) })
}

// ApplySnapshot applies one delivered snapshot part (one the Session did
// not drop: its tick is the newest or a repair). s is not kept.
func (w *World) ApplySnapshot(s *wire.Snapshot) {
	w.mu.Lock()
	for i := range s.Players {
		w.applyPlayer(s.ServerTime, &s.Players[i])
	}
	for i := range s.Entities {
		w.applyEntity(s.ServerTime, &s.Entities[i])
	}
	w.assemble(s)
	fire := w.takeEvents()
	w.mu.Unlock()
	fire()
}

// ApplyEntityUpdate applies one delivered entity update. u is not kept.
// An update never decides presence.
func (w *World) ApplyEntityUpdate(u *wire.EntityUpdate) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range u.Players {
		w.applyPlayer(u.ServerTime, &u.Players[i])
	}
	for i := range u.Entities {
		w.applyEntity(u.ServerTime, &u.Entities[i])
	}
}

func (w *World) applyPlayer(at uint64, p *wire.PlayerState) {
	h := w.players[p.ClientID]
	if h == nil {
		if len(w.players) >= wire.MaxStatePlayers {
			w.refused++
			return
		}
		h = &heldPlayer{}
		w.players[p.ClientID] = h
	} else if at <= h.at {
		return // older than what is held (§10.2)
	}
	h.at, h.PlayerState = at, *p
}

func (w *World) applyEntity(at uint64, e *wire.EntityState) {
	h := w.entities[e.ID]
	if h == nil {
		if len(w.entities) >= wire.MaxStateEntities {
			w.refused++
			return
		}
		h = &heldEntity{}
		w.entities[e.ID] = h
	} else if at <= h.at {
		return
	}
	h.at, h.EntityState = at, *e
}

// assemble notes which players part s of its tick lists; once every part
// of the tick is in, the tick decides who joined and who left.
func (w *World) assemble(s *wire.Snapshot) {
	if s.Parts == 0 {
		return
	}
	if !w.haveTick || s.Tick != w.tick {
		if w.haveTick && wire.InputSeqNewer(w.tick, s.Tick) {
			return // a part of an older tick than the one being assembled
		}
		w.tick, w.haveTick, w.parts = s.Tick, true, s.Parts
		w.partsSeen, w.nSeen = [4]uint64{}, 0
		clear(w.inTick)
	}
	bit := uint64(1) << (s.Part % 64)
	if s.Part >= w.parts || w.partsSeen[s.Part/64]&bit != 0 || s.Parts != w.parts {
		return
	}
	w.partsSeen[s.Part/64] |= bit
	w.nSeen++
	for i := range s.Players {
		if len(w.inTick) < wire.MaxStatePlayers {
			w.inTick[s.Players[i].ClientID] = true
		}
	}
	if w.nSeen < int(w.parts) {
		return
	}
	for id := range w.inTick {
		if !w.present[id] {
			w.present[id] = true
			w.joined = append(w.joined, id)
		}
	}
	for id := range w.present {
		if !w.inTick[id] {
			delete(w.present, id)
			w.left = append(w.left, id)
		}
	}
	slices.Sort(w.joined)
	slices.Sort(w.left)
}

// takeEvents returns a function firing the pending events, to be called
// with the lock released.
func (w *World) takeEvents() func() {
	if len(w.joined) == 0 && len(w.left) == 0 {
		return func() {}
	}
	joined, left := w.joined, w.left
	w.joined, w.left = nil, nil
	onJ, onL := w.onJoined, w.onLeft
	return func() {
		for _, id := range left {
			if onL != nil {
				onL(id)
			}
		}
		for _, id := range joined {
			if onJ != nil {
				onJ(id)
			}
		}
	}
}

// Player returns the newest state held of the player with client id, and
// whether it is present (listed by the newest complete tick). ok is false
// for a player never seen.
func (w *World) Player(id uint16) (p wire.PlayerState, present, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.players[id]
	if h == nil {
		return p, false, false
	}
	return h.PlayerState, w.present[id], true
}

// Entity returns the newest state held of entity id.
func (w *World) Entity(id uint16) (wire.EntityState, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.entities[id]
	if h == nil {
		return wire.EntityState{}, false
	}
	return h.EntityState, true
}

// Present returns the client ids of the players present, ascending.
func (w *World) Present() []uint16 {
	w.mu.Lock()
	defer w.mu.Unlock()
	ids := make([]uint16, 0, len(w.present))
	for id := range w.present {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Entities returns every entity held, by ascending id.
func (w *World) Entities() []wire.EntityState {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]wire.EntityState, 0, len(w.entities))
	for _, h := range w.entities {
		out = append(out, h.EntityState)
	}
	slices.SortFunc(out, func(a, b wire.EntityState) int { return int(a.ID) - int(b.ID) })
	return out
}

// Refused returns how many records were not kept because the World held
// its most players or entities.
func (w *World) Refused() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.refused
}
