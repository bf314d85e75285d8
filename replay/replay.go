// Package replay re-runs a session recording (package record) on this
// build's world and checks every tick against it: the entities' states
// field by field and bit for bit, the state hash, and at keyframes the
// exact poses, velocities, sleep and holds. arcade-replay is its command.
package replay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/record"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/sim"
	"github.com/arcadexr/arcade/wire"
)

// Mismatch is the first difference between a replay and its recording.
type Mismatch struct {
	Tick   uint64
	Entity uint16 // 0: not an entity's (the players' part, or a count)
	Field  string
	Want   string // recorded
	Got    string // replayed
}

func (m *Mismatch) Error() string {
	what := "the state"
	if m.Entity != 0 {
		what = fmt.Sprintf("entity %d", m.Entity)
	}
	return fmt.Sprintf("tick %d: %s: %s is %s in the recording, %s in the replay", m.Tick, what, m.Field, m.Want, m.Got)
}

// Speed is the server time replayed over the time the replay took.
func (r *Result) Speed() float64 {
	if r.Took <= 0 {
		return 0
	}
	return r.Replayed.Seconds() / r.Took.Seconds()
}

// Result is what a replay found.
type Result struct {
	Scene            string             `json:"scene"`
	Ticks            uint64             `json:"ticks"`   // ticks replayed
	Checked          uint64             `json:"checked"` // of them, ticks whose hash and entities were compared and matched
	FirstTick        uint64             `json:"first_tick"`
	LastTick         uint64             `json:"last_tick"`
	Span             time.Duration      `json:"-"` // server time from the recording's start to the last tick replayed
	Replayed         time.Duration      `json:"-"` // server time from the first tick replayed to the last
	Events           uint64             `json:"events"`
	Keyframes        int                `json:"keyframes"` // periodic keyframes met (checked when from the start)
	Took             time.Duration      `json:"-"`
	Mismatch         *Mismatch          `json:"-"`          // the first; the replay stopped there
	AfterSeek        uint64             `json:"after_seek"` // ticks that differed after a seek (not exact: see seek)
	Cut              error              `json:"-"`          // the recording ended without its End frame, or lost events: where
	Ended            bool               `json:"ended"`      // its End frame was read
	Skipped          int                `json:"skipped"`    // frames of unknown types, skipped
	SeekTick         uint64             `json:"seek_tick"`  // with a seek: the keyframe's tick it started from
	FinalEntities    []wire.EntityState `json:"-"`
	FinalPlayers     []wire.PlayerState `json:"-"` // by client id, as a state carries them
	FinalPlayerCount int                `json:"-"`
}

// replayer re-runs a recording's world calls on a world of its scene.
type replayer struct {
	world   *sim.World
	avatars map[uint16]wire.PoseInput // the sessions' players
	ids     []uint16
	rec     []wire.EntityState // the recorded state, by index
	recIdx  map[uint16]int
	hashBuf []byte
	ents    []wire.EntityState
	players []wire.PlayerState
	moved   []uint16
	key     checkpoint.State
	// exact: the world was built as the server's was (from the start); a
	// world restored from a periodic keyframe lacks the solver's contact
	// cache and the poses' history, so its ticks may differ.
	exact bool
}

// Options of one replay.
type Options struct {
	Seek    time.Duration // start from the last keyframe at or before this server time after the start; < 0: from the start
	StopAt  time.Duration // stop at the first tick at or past this server time after the start; < 0: at the end
	KeepEnd bool          // keep the final entities in the Result
}

// Run replays the recording at path. An error means it could not be read
// or its world not built; what the replay found is in the Result.
func Run(path string, o Options) (*Result, error) {
	t0 := time.Now()
	r, err := record.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	sc, err := scene.Parse("recorded scene", bytes.NewReader(r.Scene))
	if err != nil {
		return nil, fmt.Errorf("%s: the recorded scene: %w", path, err)
	}
	res := &Result{Scene: sc.Name}
	var start int64 // server time of the recording's first keyframe
	haveStart, have := false, false
	var first int64 // server time of the first tick replayed
	if o.Seek >= 0 {
		off, s0, found, err := findKey(path, o.Seek)
		if err != nil {
			return nil, err
		}
		if found {
			if err := r.SeekFrame(off); err != nil {
				return nil, err
			}
		}
		start, haveStart = s0, true
	}
	p := &replayer{avatars: map[uint16]wire.PoseInput{}, recIdx: map[uint16]int{}, exact: true}
	var ev record.Event
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			res.Cut = err
			break
		}
		if err := ev.Decode(f); errors.Is(err, record.ErrUnknownType) {
			res.Skipped++
			continue
		} else if err != nil {
			res.Cut = err
			break
		}
		if p.world == nil {
			if ev.Type != record.TypeKeyframe {
				return nil, fmt.Errorf("%s: the recording does not start with a keyframe (frame type %d at byte %d)", path, ev.Type, f.Offset)
			}
			if p.world, err = sim.New(sc); err != nil {
				return nil, fmt.Errorf("%s: the recorded scene: %w", path, err)
			}
			if p.world.Fingerprint() != r.Fingerprint {
				return nil, fmt.Errorf("%s: the recorded scene fingerprints %016x here, %016x when recorded (another build's scene format?)", path, p.world.Fingerprint(), r.Fingerprint)
			}
			if err := p.begin(&ev); err != nil {
				return nil, fmt.Errorf("%s: the keyframe at byte %d: %w", path, f.Offset, err)
			}
			if ev.KeyKind == record.KeyPeriodic {
				res.SeekTick = ev.State.Tick
			}
			if !haveStart {
				start, haveStart = ev.Now, true
			}
			continue
		}
		res.Events++
		switch ev.Type {
		case record.TypeTick:
			if !have {
				res.FirstTick, have, first = ev.Tick, true, ev.Now
			}
			res.LastTick, res.Span, res.Replayed = ev.Tick, time.Duration(ev.Now-start), time.Duration(ev.Now-first)
			res.Ticks++
			if m := p.check(&ev); m != nil {
				if p.exact {
					res.Mismatch = m
					res.Took = time.Since(t0)
					return res, nil
				}
				res.AfterSeek++
			} else {
				res.Checked++
			}
			if o.StopAt >= 0 && time.Duration(ev.Now-start) >= o.StopAt {
				res.Took = time.Since(t0)
				res.finish(p, o)
				return res, nil
			}
		case record.TypeKeyframe:
			res.Keyframes++
			if m := p.checkKey(&ev); m != nil && p.exact {
				res.Mismatch = m
				res.Took = time.Since(t0)
				return res, nil
			}
		case record.TypeLost:
			res.Cut = fmt.Errorf("the recording lost %d events (%d bytes) after tick %d: its writer fell behind the tick; replayed up to there", ev.LostEvents, ev.Bytes, ev.LostFrom)
		case record.TypeEnd:
			res.Ended = true
		default:
			if m := p.apply(&ev); m != nil && p.exact {
				res.Mismatch = m
				res.Took = time.Since(t0)
				return res, nil
			}
		}
		if res.Cut != nil {
			break
		}
	}
	res.Took = time.Since(t0)
	res.finish(p, o)
	return res, nil
}

// findKey scans the recording for the last periodic keyframe at or before
// target (server time from the recording's first keyframe) and returns
// its offset, and that first keyframe's time; found is false when the
// target is before every periodic keyframe (the replay starts from the
// beginning). A recording cut short is scanned up to the cut.
func findKey(path string, target time.Duration) (off, start int64, found bool, err error) {
	r, err := record.Open(path)
	if err != nil {
		return 0, 0, false, err
	}
	defer r.Close()
	var ev record.Event
	first := true
	for {
		f, err := r.Next()
		if err != nil {
			return off, start, found, nil // the end, or a cut: what was read is all there is
		}
		if f.Type != record.TypeKeyframe {
			continue
		}
		if err := ev.Decode(f); err != nil {
			return off, start, found, nil
		}
		if first {
			start, first = ev.Now, false
			continue
		}
		if time.Duration(ev.Now-start) > target {
			return off, start, found, nil
		}
		off, found = f.Offset, true
	}
}

func (res *Result) finish(p *replayer, o Options) {
	if o.KeepEnd && p.world != nil {
		res.FinalEntities = p.world.Entities(nil)
		res.FinalPlayers = p.showPlayers(nil)
		res.FinalPlayerCount = len(p.avatars)
	}
}

// begin builds the world from the first keyframe read: as the server did
// (from the scene, or restoring the state it started from), or from a
// periodic keyframe after a seek.
func (p *replayer) begin(ev *record.Event) error {
	switch ev.KeyKind {
	case record.KeyFresh:
		return nil
	case record.KeyRestored:
		return p.world.RestoreState(&ev.State, ev.Now)
	}
	// A periodic keyframe: the world restored, the sessions' avatars from
	// it, the recorded state taken as the replayed one at that tick.
	p.exact = false
	if err := p.world.RestoreState(&ev.State, ev.Now); err != nil {
		return err
	}
	for _, id := range ev.Sessions {
		var in wire.PoseInput
		for i := range ev.State.Players {
			if pl := &ev.State.Players[i]; pl.ClientID == id && pl.HasAvatar {
				in = pl.Avatar
			}
		}
		p.avatars[id] = in
	}
	p.rec = p.world.Entities(p.rec[:0])
	for i, e := range p.rec {
		p.recIdx[e.ID] = i
	}
	return nil
}

// apply makes the world call an event records.
func (p *replayer) apply(ev *record.Event) *Mismatch {
	w := p.world
	switch ev.Type {
	case record.TypeAddPlayer:
		w.AddPlayer(ev.Client, ev.Now)
	case record.TypeRemovePlayer:
		w.RemovePlayer(ev.Client, ev.Now)
	case record.TypeJoin:
		var in wire.PoseInput
		if ev.HasAvatar {
			in = ev.Input
		}
		p.avatars[ev.Client] = in
	case record.TypeLeave:
		delete(p.avatars, ev.Client)
	case record.TypeApplyInput:
		if _, ok := p.avatars[ev.Client]; ok {
			p.avatars[ev.Client] = ev.Input
		}
		p.moved = w.ApplyInput(ev.Client, &ev.Input, ev.Now, p.moved[:0])
	case record.TypeGrab:
		ok := w.Grab(ev.Client, int(ev.Hand), ev.Entity, ev.Now) == nil
		if ok != ev.OK {
			return &Mismatch{Entity: ev.Entity, Field: fmt.Sprintf("grab by client %d hand %d", ev.Client, ev.Hand), Want: okStr(ev.OK), Got: okStr(ok)}
		}
	case record.TypeRelease:
		ok := w.Release(ev.Client, int(ev.Hand), ev.Now) == nil
		if ok != ev.OK {
			return &Mismatch{Field: fmt.Sprintf("release by client %d hand %d", ev.Client, ev.Hand), Want: okStr(ev.OK), Got: okStr(ok)}
		}
	case record.TypePropagate:
		w.Propagate(ev.Now)
	case record.TypeBeginStep:
		if n := w.BeginStep(ev.Now, ev.DT); n != ev.N {
			return &Mismatch{Field: "physics sub-steps", Want: fmt.Sprint(ev.N), Got: fmt.Sprint(n)}
		}
	case record.TypeSubStep:
		w.SubStep(ev.N)
	case record.TypeEndStep:
		w.EndStep(ev.Now)
	}
	return nil
}

func okStr(ok bool) string {
	if ok {
		return "accepted"
	}
	return "refused"
}

// check compares the replayed state at the end of a tick with the
// recorded one: entity by entity and field by field, then the hash.
func (p *replayer) check(ev *record.Event) *Mismatch {
	for _, e := range ev.Changed {
		i, ok := p.recIdx[e.ID]
		if !ok {
			i = len(p.rec)
			p.recIdx[e.ID] = i
			p.rec = append(p.rec, e)
		}
		p.rec[i] = e
	}
	p.ents = p.world.Entities(p.ents[:0])
	p.ids = p.ids[:0]
	for id := range p.avatars {
		p.ids = append(p.ids, id)
	}
	slices.Sort(p.ids)
	p.players = p.players[:0]
	for _, id := range p.ids {
		in := p.avatars[id]
		p.players = append(p.players, server.PlayerState(id, &in))
	}
	m := &Mismatch{Tick: ev.Tick}
	switch {
	case ev.Entities != len(p.ents):
		m.Field, m.Want, m.Got = "entity count", fmt.Sprint(ev.Entities), fmt.Sprint(len(p.ents))
		return m
	case ev.Players != len(p.players):
		m.Field, m.Want, m.Got = "player count", fmt.Sprint(ev.Players), fmt.Sprint(len(p.players))
		return m
	case len(p.rec) != len(p.ents):
		m.Field, m.Want, m.Got = "entities recorded", fmt.Sprint(len(p.rec)), fmt.Sprint(len(p.ents))
		return m
	}
	for i := range p.ents {
		if f, want, got := diffEntity(&p.rec[i], &p.ents[i]); f != "" {
			m.Entity, m.Field, m.Want, m.Got = p.ents[i].ID, f, want, got
			return m
		}
	}
	var h uint64
	if h, p.hashBuf = record.StateHash(p.hashBuf, ev.Tick, p.players, p.ents); h != ev.Hash {
		m.Field, m.Want, m.Got = "state hash (every entity equal: the players' avatars differ)", fmt.Sprintf("%016x", ev.Hash), fmt.Sprintf("%016x", h)
		return m
	}
	return nil
}

// diffEntity names the first field of two entity states that differs,
// bit for bit.
func diffEntity(want, got *wire.EntityState) (field, w, g string) {
	if want.ID != got.ID {
		return "id", fmt.Sprint(want.ID), fmt.Sprint(got.ID)
	}
	for _, b := range []struct {
		name string
		bit  uint8
	}{{"held", wire.EntityHeld}, {"grabbable", wire.EntityGrabbable}, {"sleeping", wire.EntitySleeping}} {
		if want.Flags&b.bit != got.Flags&b.bit {
			return "flags." + b.name, fmt.Sprint(want.Flags&b.bit != 0), fmt.Sprint(got.Flags&b.bit != 0)
		}
	}
	if want.Flags != got.Flags {
		return "flags", fmt.Sprintf("%#x", want.Flags), fmt.Sprintf("%#x", got.Flags)
	}
	a, b := want.Pose, got.Pose
	for _, f := range []struct {
		name string
		x, y float32
	}{{"pos.x", a.Pos.X, b.Pos.X}, {"pos.y", a.Pos.Y, b.Pos.Y}, {"pos.z", a.Pos.Z, b.Pos.Z},
		{"rot.x", a.Rot.X, b.Rot.X}, {"rot.y", a.Rot.Y, b.Rot.Y}, {"rot.z", a.Rot.Z, b.Rot.Z}, {"rot.w", a.Rot.W, b.Rot.W}} {
		if math.Float32bits(f.x) != math.Float32bits(f.y) {
			return "pose." + f.name, fmt.Sprint(f.x), fmt.Sprint(f.y)
		}
	}
	return "", "", ""
}

// checkKey compares the replayed world with a periodic keyframe: each
// entity's exact pose, velocities and sleep, and the holds, which the
// state hash (quantized poses) does not see.
func (p *replayer) checkKey(ev *record.Event) *Mismatch {
	p.key.Reset()
	p.world.SaveState(&p.key)
	want, got := &ev.State, &p.key
	m := &Mismatch{Tick: want.Tick}
	if len(want.Entities) != len(got.Entities) {
		m.Field, m.Want, m.Got = "keyframe entity count", fmt.Sprint(len(want.Entities)), fmt.Sprint(len(got.Entities))
		return m
	}
	for i := range want.Entities {
		a, b := &want.Entities[i], &got.Entities[i]
		m.Entity = a.ID
		for _, f := range []struct {
			name string
			x, y float64
		}{{"pose.pos.x", a.Pose.Pos.X, b.Pose.Pos.X}, {"pose.pos.y", a.Pose.Pos.Y, b.Pose.Pos.Y}, {"pose.pos.z", a.Pose.Pos.Z, b.Pose.Pos.Z},
			{"pose.rot.x", a.Pose.Rot.X, b.Pose.Rot.X}, {"pose.rot.y", a.Pose.Rot.Y, b.Pose.Rot.Y}, {"pose.rot.z", a.Pose.Rot.Z, b.Pose.Rot.Z}, {"pose.rot.w", a.Pose.Rot.W, b.Pose.Rot.W},
			{"velocity.x", a.Vel.X, b.Vel.X}, {"velocity.y", a.Vel.Y, b.Vel.Y}, {"velocity.z", a.Vel.Z, b.Vel.Z},
			{"angular.x", a.AngVel.X, b.AngVel.X}, {"angular.y", a.AngVel.Y, b.AngVel.Y}, {"angular.z", a.AngVel.Z, b.AngVel.Z},
			{"sleep time", a.SleepTime, b.SleepTime}} {
			if math.Float64bits(f.x) != math.Float64bits(f.y) {
				m.Field, m.Want, m.Got = "keyframe "+f.name, fmt.Sprint(f.x), fmt.Sprint(f.y)
				return m
			}
		}
		if a.Kind != b.Kind || a.Sleeping != b.Sleeping {
			m.Field, m.Want, m.Got = "keyframe kind/sleeping", fmt.Sprint(a.Kind, a.Sleeping), fmt.Sprint(b.Kind, b.Sleeping)
			return m
		}
	}
	m.Entity = 0
	if !slices.Equal(want.Holds, got.Holds) {
		m.Field, m.Want, m.Got = "keyframe holds", fmt.Sprint(want.Holds), fmt.Sprint(got.Holds)
		return m
	}
	return nil
}
