package main

import (
	"math"
	"slices"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/wire"
)

// Takeovers (a server of a standby pair, PROTOCOL §18): at each epoch
// change the session records the gap and the inputs the old server showed
// applied (client.Takeover); the recorder adds what the world looked like
// across it: how far each object the new server's first tick shows is from
// where the old server's last state had it, and whether the bot's grabbed
// object is still held.
const (
	maxTakeovers = 64  // takeovers a bot records; more are counted only
	maxWorld     = 512 // objects a bot keeps the newest pose of
)

// seenEntity is the newest state of one object the bot saw.
type seenEntity struct {
	id    uint16
	flags uint8
	pos   wire.Vec3
}

// takeoverRec is one takeover as the bot saw it.
type takeoverRec struct {
	tk client.Takeover // as at the first state under the new epoch
	// diff is the largest distance between an object's position in the
	// old server's last state and in the new server's first tick;
	// diffUnheld the same over the objects held in neither. compared
	// counts the objects compared.
	diff, diffUnheld float64
	compared         int
	// heldBefore: the bot held its object and the old server's state
	// showed it held; heldAfter: the new server's first tick showed it
	// held; afterKnown: it showed the object at all.
	heldBefore, heldAfter, afterKnown bool
}

// worldWatch is the bot's view of the world for the takeover measurement:
// the newest state of every object (sorted by id), a copy of it taken at a
// takeover, and the takeover whose first tick is being compared. The
// recorder's mutex guards it. Nothing allocates once the objects are known.
type worldWatch struct {
	now, old []seenEntity
	recs     []takeoverRec
	more     uint64 // takeovers beyond maxTakeovers
	cmp      *takeoverRec
	cmpTick  uint32
	haveTick bool
}

func newWorldWatch() *worldWatch {
	return &worldWatch{now: make([]seenEntity, 0, maxWorld), old: make([]seenEntity, 0, maxWorld),
		recs: make([]takeoverRec, 0, maxTakeovers)}
}

func bySeenID(e seenEntity, id uint16) int { return int(e.id) - int(id) }

// takeover opens the record of a takeover: its first state is about to be
// handled. target is the bot's grabbed object and holding whether it
// holds it.
func (w *worldWatch) takeover(t *client.Takeover, target uint16, holding bool) {
	w.cmp = nil
	if len(w.recs) == cap(w.recs) {
		w.more++
		return
	}
	w.old = append(w.old[:0], w.now...)
	r := takeoverRec{tk: *t}
	if holding {
		if i, ok := slices.BinarySearchFunc(w.old, target, bySeenID); ok {
			r.heldBefore = w.old[i].flags&wire.EntityHeld != 0
		}
	}
	w.recs = append(w.recs, r)
	w.cmp, w.haveTick = &w.recs[len(w.recs)-1], false
}

// state handles the objects of one state datagram: a snapshot part of tick
// (isSnapshot) or an entity update. Under a takeover being compared, the
// objects of the new server's first tick (and of its updates before it)
// are compared with the old server's last state.
func (w *worldWatch) state(ents []wire.EntityState, tick uint32, isSnapshot bool, target uint16) {
	if c := w.cmp; c != nil && isSnapshot {
		switch {
		case !w.haveTick:
			w.cmpTick, w.haveTick = tick, true
		case tick != w.cmpTick:
			w.cmp = nil // the first tick is over
		}
	}
	for i := range ents {
		e := &ents[i]
		if c := w.cmp; c != nil {
			if j, ok := slices.BinarySearchFunc(w.old, e.ID, bySeenID); ok {
				o := &w.old[j]
				d := dist(o.pos, e.Pose.Pos)
				c.compared++
				c.diff = max(c.diff, d)
				if (o.flags|e.Flags)&wire.EntityHeld == 0 {
					c.diffUnheld = max(c.diffUnheld, d)
				}
			}
			if e.ID == target && isSnapshot && !c.afterKnown {
				c.afterKnown, c.heldAfter = true, e.Flags&wire.EntityHeld != 0
			}
		}
		j, ok := slices.BinarySearchFunc(w.now, e.ID, bySeenID)
		switch {
		case ok:
			w.now[j].flags, w.now[j].pos = e.Flags, e.Pose.Pos
		case len(w.now) < maxWorld:
			w.now = slices.Insert(w.now, j, seenEntity{id: e.ID, flags: e.Flags, pos: e.Pose.Pos})
		}
	}
}

func dist(a, b wire.Vec3) float64 {
	dx, dy, dz := float64(a.X-b.X), float64(a.Y-b.Y), float64(a.Z-b.Z)
	return math.Sqrt(dx*dx + dy*dy + dz*dz)
}

// ClientTakeover is one takeover in one bot's report line.
type ClientTakeover struct {
	From  uint32  `json:"from_epoch"`
	To    uint32  `json:"to_epoch"`
	GapMs float64 `json:"gap_ms"` // -1: no state before it
	// OldAcked is the bot's newest input the old server's state showed
	// applied, NewAcked the one the new server's first state showed;
	// AckedLost how many of the old server's the new one had not.
	OldAcked  uint32 `json:"old_acked"`
	NewAcked  uint32 `json:"new_acked"`
	AckedLost uint32 `json:"acked_lost"`
	// WorldDiffM: the largest distance between an object's position in
	// the old server's last state and the new server's first tick;
	// WorldDiffUnheldM over the objects held in neither.
	WorldDiffM       float64 `json:"world_diff_m"`
	WorldDiffUnheldM float64 `json:"world_diff_unheld_m"`
	Compared         int     `json:"objects_compared"`
	// HeldBefore: the bot held its object before; HeldAfter: the new
	// server's first tick showed it held.
	HeldBefore bool `json:"held_before"`
	HeldAfter  bool `json:"held_after"`
}

// TakeoverReport sums the bots' takeovers; present when any bot saw one.
type TakeoverReport struct {
	// Takeovers counts the epoch changes the bots saw, summed over bots.
	Takeovers int `json:"takeovers"`
	// Gap: per bot and takeover, the last state of the old server to the
	// first of the new (receive times).
	Gap Millis `json:"takeover_gap_ms"`
	// AckedInputsLost sums AckedLost; TakeoversLosing counts the
	// takeovers that lost any.
	AckedInputsLost uint64 `json:"acked_inputs_lost"`
	TakeoversLosing int    `json:"takeovers_losing_acked"`
	// WorldDiffM and WorldDiffUnheldM are the largest over all.
	WorldDiffM       float64 `json:"world_diff_m"`
	WorldDiffUnheldM float64 `json:"world_diff_unheld_m"`
	// GrabsHeldBefore counts takeovers at which a bot held its object,
	// GrabsStillHeld those of them whose new server showed it held.
	GrabsHeldBefore int `json:"grabs_held_before"`
	GrabsStillHeld  int `json:"grabs_still_held"`
}

// takeovers joins the session's takeover records with the bot's: the
// session's are final (a NewAcked shown after the first state), the bot's
// add the world.
func takeovers(sess []client.Takeover, recs []takeoverRec) []ClientTakeover {
	var out []ClientTakeover
	for _, r := range recs {
		tk := r.tk
		for _, s := range sess {
			if s.To == tk.To && s.FirstNew == tk.FirstNew {
				tk = s
			}
		}
		gap := -1.0
		if g := tk.Gap(); g >= 0 {
			gap = ms(g)
		}
		out = append(out, ClientTakeover{From: tk.From, To: tk.To, GapMs: gap,
			OldAcked: tk.OldAcked, NewAcked: tk.NewAcked, AckedLost: tk.AckedLost(),
			WorldDiffM: round6(r.diff), WorldDiffUnheldM: round6(r.diffUnheld), Compared: r.compared,
			HeldBefore: r.heldBefore, HeldAfter: r.heldAfter})
	}
	return out
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// aggregateTakeovers sums the bots' takeovers into rep, nil when none saw
// one.
func aggregateTakeovers(clients []ClientReport) *TakeoverReport {
	t := &TakeoverReport{}
	var gaps []int64
	for _, c := range clients {
		for _, k := range c.Takeovers {
			t.Takeovers++
			if k.GapMs >= 0 {
				gaps = append(gaps, int64(k.GapMs*1e6))
			}
			t.AckedInputsLost += uint64(k.AckedLost)
			if k.AckedLost > 0 {
				t.TakeoversLosing++
			}
			t.WorldDiffM = max(t.WorldDiffM, k.WorldDiffM)
			t.WorldDiffUnheldM = max(t.WorldDiffUnheldM, k.WorldDiffUnheldM)
			if k.HeldBefore {
				t.GrabsHeldBefore++
				if k.HeldAfter {
					t.GrabsStillHeld++
				}
			}
		}
	}
	if t.Takeovers == 0 {
		return nil
	}
	t.Gap = summarize(gaps)
	return t
}
