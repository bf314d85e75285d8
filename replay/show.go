package replay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arcadexr/arcade/record"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/sim"
	"github.com/arcadexr/arcade/wire"
)

// Show plays a recording back as a live session: it is the World (a
// server.Cast) of a real server, whose tick shows the recorded tick due at
// its play position: the recorded entities where they were, the recorded
// players' avatars in the state in place of the sessions', which are
// spectators. Headsets and the dashboard join that server as they would
// any other, and see the session move as it was recorded.
//
// A goroutine replays the recording (the same code as Run) a few ticks
// ahead of the play position and hands each tick's state to the tick
// thread over a channel; the tick thread only takes the one due. Pause,
// Seek and SetSpeed are for any goroutine (the operator API) and never
// wait for the tick. A seek replays from the keyframe before its target
// (the world of a keyframe lacks the solver's contact cache, so what
// follows a seek past the first keyframe may differ from the recording
// by a little; from the start it is exact).
type Show struct {
	path     string
	sc       *scene.Scene
	ids      []uint16      // client ids of the recorded players
	duration time.Duration // server time from the first keyframe to the last tick
	ticks    uint64

	frames chan *showFrame // producer → tick thread
	free   chan *showFrame // tick thread → producer
	seeks  chan seekReq
	stop   chan struct{}
	done   chan struct{}
	seekMu sync.Mutex // Seek's
	loop   bool

	// Controls, set by any goroutine, read by the tick thread.
	epoch  atomic.Uint64 // one per seek: frames of an older one are dropped
	speed  atomic.Uint64 // float64 bits
	paused atomic.Bool

	// Published by the tick thread for Status.
	pubTick   atomic.Uint64
	pubPos    atomic.Int64
	pubEnded  atomic.Bool
	pubLoops  atomic.Uint64
	pubFrames atomic.Uint64
	lastErr   atomic.Pointer[string]

	// The tick thread's.
	cur, pending *showFrame
	curEpoch     uint64
	pos          time.Duration // play position: server time from the recording's start
	last         int64         // now at the last BeginStep
	started      bool
}

// showFrame is one recorded tick's state, as shown.
type showFrame struct {
	epoch   uint64
	tick    uint64
	at      time.Duration
	end     bool // no more frames in this epoch: the recording ends here
	ents    []wire.EntityState
	players []wire.PlayerState
}

type seekReq struct {
	epoch uint64
	to    time.Duration
}

// ShowOptions configure a Show. The zero value plays from the start at
// real time, once.
type ShowOptions struct {
	Seek   time.Duration // start here (server time from the recording's start)
	Speed  float64       // play speed, 0 < Speed ≤ MaxSpeed; 0 means 1
	Paused bool          // start paused (at Seek)
	Loop   bool          // at the end, start again from the beginning
}

// MaxSpeed bounds a Show's speed: the replay runs 40× real time and more
// with 16 players on a shared 2-core box, and keeps ahead below this.
const MaxSpeed = 16

// showAhead is how many recorded ticks the producer keeps ready.
const showAhead = 8

// OpenShow reads the recording at path (its scene, players and length)
// and starts the goroutine that replays it; the Show is ready to be a
// server's World. Close stops it.
func OpenShow(path string, o ShowOptions) (*Show, error) {
	if o.Speed == 0 {
		o.Speed = 1
	}
	if !(o.Speed > 0 && o.Speed <= MaxSpeed) {
		return nil, fmt.Errorf("replay: speed %v out of range (0, %d]", o.Speed, MaxSpeed)
	}
	if o.Seek < 0 {
		return nil, fmt.Errorf("replay: seek %v is negative", o.Seek)
	}
	sh := &Show{
		path:   path,
		frames: make(chan *showFrame, showAhead),
		free:   make(chan *showFrame, showAhead+2),
		seeks:  make(chan seekReq, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		loop:   o.Loop,
	}
	if err := sh.scan(); err != nil {
		return nil, err
	}
	sh.speed.Store(math.Float64bits(o.Speed))
	sh.paused.Store(o.Paused)
	sh.curEpoch = math.MaxUint64 // nothing shown yet
	sh.seeks <- seekReq{epoch: 0, to: min(o.Seek, sh.duration)}
	go sh.run()
	return sh, nil
}

// scan reads the whole recording once: its scene, the client ids of its
// players, and its length.
func (sh *Show) scan() error {
	r, err := record.Open(sh.path)
	if err != nil {
		return err
	}
	defer r.Close()
	if sh.sc, err = scene.Parse("recorded scene", bytes.NewReader(r.Scene)); err != nil {
		return fmt.Errorf("%s: the recorded scene: %w", sh.path, err)
	}
	w, err := sim.New(sh.sc)
	if err != nil {
		return fmt.Errorf("%s: the recorded scene: %w", sh.path, err)
	}
	if w.Fingerprint() != r.Fingerprint {
		return fmt.Errorf("%s: the recorded scene fingerprints %016x here, %016x when recorded (another build's scene format?)", sh.path, w.Fingerprint(), r.Fingerprint)
	}
	var ev record.Event
	seen := map[uint16]bool{}
	var start int64
	first := true
	for {
		f, err := r.Next()
		if err != nil {
			break // the end, or a cut: the show plays what was read
		}
		switch f.Type {
		case record.TypeKeyframe, record.TypeTick, record.TypeJoin:
		default:
			continue
		}
		if ev.Decode(f) != nil {
			break
		}
		switch {
		case first && ev.Type != record.TypeKeyframe:
			return fmt.Errorf("%s: the recording does not start with a keyframe (frame type %d at byte %d)", sh.path, ev.Type, f.Offset)
		case first:
			start, first = ev.Now, false
		case ev.Type == record.TypeJoin:
			seen[ev.Client] = true
		case ev.Type == record.TypeTick:
			sh.ticks++
			sh.duration = time.Duration(ev.Now - start)
		}
		if ev.Type == record.TypeKeyframe {
			for _, id := range ev.Sessions {
				seen[id] = true
			}
			for i := range ev.State.Players {
				seen[ev.State.Players[i].ClientID] = true
			}
		}
	}
	if first {
		return fmt.Errorf("%s: the recording holds no keyframe", sh.path)
	}
	for id := range seen {
		sh.ids = append(sh.ids, id)
	}
	slices.Sort(sh.ids)
	return nil
}

// Scene is the recorded scene.
func (sh *Show) Scene() *scene.Scene { return sh.sc }

// Duration is the recording's length in server time.
func (sh *Show) Duration() time.Duration { return sh.duration }

// Close stops the replaying goroutine; the server that shows it must have
// stopped.
func (sh *Show) Close() error {
	if !sh.stopped() {
		close(sh.stop)
	}
	<-sh.done
	return nil
}

// Pause stops (true) or resumes (false) the play position.
func (sh *Show) Pause(p bool) { sh.paused.Store(p) }

// SetSpeed sets the play speed (0, MaxSpeed].
func (sh *Show) SetSpeed(v float64) error {
	if !(v > 0 && v <= MaxSpeed) {
		return fmt.Errorf("replay: speed %v out of range (0, %d]", v, MaxSpeed)
	}
	sh.speed.Store(math.Float64bits(v))
	return nil
}

// Seek moves the play position to t (server time from the recording's
// start; past the end, to the end): the frames already replayed are
// dropped and the goroutine replays from the keyframe at or before t.
// It does not wait: the shown state moves once the replay reaches t.
func (sh *Show) Seek(t time.Duration) error {
	if t < 0 {
		return fmt.Errorf("replay: seek %v is negative", t)
	}
	sh.seekMu.Lock()
	defer sh.seekMu.Unlock()
	e := sh.epoch.Add(1)
	select { // a seek not yet taken is replaced
	case <-sh.seeks:
	default:
	}
	sh.seeks <- seekReq{epoch: e, to: min(t, sh.duration)}
	return nil
}

// ShowStatus is what a Show reports (the operator API's /api/replay).
type ShowStatus struct {
	File      string  `json:"file"`
	Scene     string  `json:"scene"`
	DurationS float64 `json:"duration_s"`
	Ticks     uint64  `json:"ticks"`
	PositionS float64 `json:"position_s"` // of the tick shown
	Tick      uint64  `json:"tick"`       // the recorded tick shown
	Speed     float64 `json:"speed"`
	Paused    bool    `json:"paused"`
	Ended     bool    `json:"ended"` // at the end (and not looping)
	Loop      bool    `json:"loop"`
	Loops     uint64  `json:"loops"`   // times it started again
	Shown     uint64  `json:"shown"`   // recorded ticks shown
	Players   int     `json:"players"` // recorded players (client ids)
	Err       string  `json:"error,omitempty"`
}

// Status is safe from any goroutine.
func (sh *Show) Status() ShowStatus {
	st := ShowStatus{
		File: sh.path, Scene: sh.sc.Name, DurationS: sh.duration.Seconds(), Ticks: sh.ticks,
		PositionS: time.Duration(sh.pubPos.Load()).Seconds(), Tick: sh.pubTick.Load(),
		Speed: math.Float64frombits(sh.speed.Load()), Paused: sh.paused.Load(), Ended: sh.pubEnded.Load(),
		Loop: sh.loop, Loops: sh.pubLoops.Load(), Shown: sh.pubFrames.Load(), Players: len(sh.ids),
	}
	if e := sh.lastErr.Load(); e != nil {
		st.Err = *e
	}
	return st
}

// run is the producer: it replays from each seek's target and hands the
// ticks over, until Close.
func (sh *Show) run() {
	defer close(sh.done)
	var req seekReq
	select {
	case req = <-sh.seeks:
	case <-sh.stop:
		return
	}
	for {
		next, ok := sh.play(req)
		if !ok {
			return
		}
		req = next
	}
}

// errStopped ends play at Close.
var errStopped = errors.New("stopped")

// play replays from req's target to the end, then waits; it returns the
// next seek, or false at Close.
func (sh *Show) play(req seekReq) (seekReq, bool) {
	next, err := sh.replayFrom(req)
	switch {
	case err == errStopped:
		return seekReq{}, false
	case err == nil:
		return next, true
	case err != io.EOF:
		msg := err.Error()
		sh.lastErr.Store(&msg)
	}
	// The end (or as far as the recording reads): say so, and wait for a
	// seek.
	if !sh.send(&showFrame{epoch: req.epoch, end: true}, &next) {
		return next, !sh.stopped()
	}
	select {
	case next = <-sh.seeks:
		return next, true
	case <-sh.stop:
		return seekReq{}, false
	}
}

func (sh *Show) stopped() bool {
	select {
	case <-sh.stop:
		return true
	default:
		return false
	}
}

// send hands f to the tick thread; false when a seek (in *next) or Close
// (next left zero) came first.
func (sh *Show) send(f *showFrame, next *seekReq) bool {
	select {
	case sh.frames <- f:
		return true
	case *next = <-sh.seeks:
		return false
	case <-sh.stop:
		return false
	}
}

// replayFrom replays from the keyframe at or before req.to, handing over
// every tick from req.to on. It returns io.EOF at the recording's end (or
// another error where it stops reading), nil with the next seek when one
// comes, errStopped at Close.
func (sh *Show) replayFrom(req seekReq) (seekReq, error) {
	r, err := record.Open(sh.path)
	if err != nil {
		return seekReq{}, err
	}
	defer r.Close()
	var start int64
	haveStart := false
	if req.to > 0 {
		off, s0, found, err := findKey(sh.path, req.to)
		if err != nil {
			return seekReq{}, err
		}
		if found {
			if err := r.SeekFrame(off); err != nil {
				return seekReq{}, err
			}
		}
		start, haveStart = s0, true
	}
	p := &replayer{avatars: map[uint16]wire.PoseInput{}, recIdx: map[uint16]int{}, exact: true}
	var ev record.Event
	for n := 0; ; n++ {
		if n%256 == 0 { // a fast-forward to a far target still hears a seek or Close
			select {
			case next := <-sh.seeks:
				return next, nil
			case <-sh.stop:
				return seekReq{}, errStopped
			default:
			}
		}
		f, err := r.Next()
		if err != nil {
			return seekReq{}, err
		}
		if err := ev.Decode(f); errors.Is(err, record.ErrUnknownType) {
			continue
		} else if err != nil {
			return seekReq{}, err
		}
		if p.world == nil {
			if ev.Type != record.TypeKeyframe {
				return seekReq{}, fmt.Errorf("%s: the recording does not start with a keyframe", sh.path)
			}
			if p.world, err = sim.New(sh.sc); err != nil {
				return seekReq{}, err
			}
			if err := p.begin(&ev); err != nil {
				return seekReq{}, fmt.Errorf("%s: the keyframe at byte %d: %w", sh.path, f.Offset, err)
			}
			if !haveStart {
				start, haveStart = ev.Now, true
			}
			continue
		}
		switch ev.Type {
		case record.TypeTick:
			at := time.Duration(ev.Now - start)
			if at < req.to {
				continue
			}
			fr := sh.frame()
			fr.epoch, fr.tick, fr.at, fr.end = req.epoch, ev.Tick, at, false
			fr.ents = p.world.Entities(fr.ents[:0])
			fr.players = p.showPlayers(fr.players[:0])
			var next seekReq
			if !sh.send(fr, &next) {
				sh.recycle(fr)
				if sh.stopped() {
					return seekReq{}, errStopped
				}
				return next, nil
			}
		case record.TypeKeyframe, record.TypeEnd:
		case record.TypeLost:
			return seekReq{}, fmt.Errorf("the recording lost %d events after tick %d: shown up to there", ev.LostEvents, ev.LostFrom)
		default:
			p.apply(&ev) // a difference from the recording is the replay's (Run) to find
		}
	}
}

// frame returns a free frame, or a new one.
func (sh *Show) frame() *showFrame {
	select {
	case f := <-sh.free:
		return f
	default:
		return &showFrame{ents: make([]wire.EntityState, 0, 256), players: make([]wire.PlayerState, 0, 16)}
	}
}

// recycle gives a frame the tick thread is done with back.
func (sh *Show) recycle(f *showFrame) {
	if f == nil {
		return
	}
	select {
	case sh.free <- f:
	default:
	}
}

// showPlayers appends the recorded players, by client id, as a state
// carries them.
func (p *replayer) showPlayers(dst []wire.PlayerState) []wire.PlayerState {
	p.ids = p.ids[:0]
	for id := range p.avatars {
		p.ids = append(p.ids, id)
	}
	slices.Sort(p.ids)
	for _, id := range p.ids {
		in := p.avatars[id]
		dst = append(dst, server.PlayerState(id, &in))
	}
	return dst
}

// advance moves the play position to now and takes the frames due: the
// tick thread's, at the start of each tick.
func (sh *Show) advance(now int64) {
	epoch := sh.epoch.Load()
	if sh.started && !sh.paused.Load() && sh.curEpoch == epoch {
		sh.pos += time.Duration(float64(now-sh.last) * math.Float64frombits(sh.speed.Load()))
	}
	sh.last, sh.started = now, true
	for {
		if sh.pending == nil {
			select {
			case f := <-sh.frames:
				sh.pending = f
			default:
				return
			}
		}
		f := sh.pending
		switch {
		case f.epoch != epoch:
			sh.recycle(f)
		case f.end:
			sh.pubEnded.Store(!sh.loop)
			if sh.loop {
				sh.pubLoops.Add(1)
				sh.Seek(0)
				epoch = sh.epoch.Load()
			}
		case sh.curEpoch != epoch: // the first tick after a seek: shown at once
			sh.show(f)
			sh.curEpoch, sh.pos = epoch, f.at
			sh.pubEnded.Store(false)
		case f.at <= sh.pos:
			sh.show(f)
		default:
			return // not due yet: kept
		}
		sh.pending = nil
	}
}

func (sh *Show) show(f *showFrame) {
	sh.recycle(sh.cur)
	sh.cur = f
	sh.pubTick.Store(f.tick)
	sh.pubPos.Store(int64(f.at))
	sh.pubFrames.Add(1)
}

// The server.World (a server.Cast) the server's tick drives. Spectators
// are not in the world: their calls do nothing, and a grab is refused.

var errSpectator = errors.New("replay: a spectator of a recorded session cannot grab")

func (sh *Show) AddPlayer(uint16, int64)    {}
func (sh *Show) RemovePlayer(uint16, int64) {}
func (sh *Show) ApplyInput(_ uint16, _ *wire.PoseInput, _ int64, moved []uint16) []uint16 {
	return moved
}
func (sh *Show) Grab(uint16, int, uint16, int64) error { return errSpectator }
func (sh *Show) Release(uint16, int, int64) error      { return errSpectator }
func (sh *Show) Holding(uint16) bool                   { return false }
func (sh *Show) Propagate(int64)                       {}

// BeginStep moves the show to the recorded tick due at now; there is no
// physics to step.
func (sh *Show) BeginStep(now int64, _ float64) int {
	sh.advance(now)
	return 0
}
func (sh *Show) SubStep(int)   {}
func (sh *Show) EndStep(int64) {}

// Entities appends the recorded entities of the tick shown.
func (sh *Show) Entities(dst []wire.EntityState) []wire.EntityState {
	if sh.cur == nil {
		return dst
	}
	return append(dst, sh.cur.ents...)
}

// Entity returns one recorded entity of the tick shown.
func (sh *Show) Entity(id uint16) (wire.EntityState, bool) {
	if sh.cur == nil {
		return wire.EntityState{}, false
	}
	e := sh.cur.ents
	i := sort.Search(len(e), func(i int) bool { return e[i].ID >= id })
	if i < len(e) && e[i].ID == id {
		return e[i], true
	}
	return wire.EntityState{}, false
}

// CastPlayers appends the recorded players of the tick shown.
func (sh *Show) CastPlayers(dst []wire.PlayerState) []wire.PlayerState {
	if sh.cur == nil {
		return dst
	}
	return append(dst, sh.cur.players...)
}

// CastIDs lists the recorded players' client ids.
func (sh *Show) CastIDs() []uint16 { return sh.ids }

var _ server.Cast = (*Show)(nil)
