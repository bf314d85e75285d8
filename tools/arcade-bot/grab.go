package main

import (
	"math"
	"slices"

	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/wire"
)

// The grab run (--grab): each bot picks one grabbable object, closes its
// right hand on it, then swings it for the rest of the run, and measures how
// soon the server shows the object where each hand pose puts it.
const (
	grabRing       = 1024          // inputs remembered for the grab measurement: 11 s at 90 Hz
	maxCandidates  = 256           // grabbable objects a bot keeps track of
	gripOpenFrames = 3             // inputs with the grip open at the object before closing it
	attemptTime    = 0.3           // s after which an attempt with no grab seen is given up
	attemptsPerObj = 3             // attempts on one object before picking another
	maxTargets     = 4             // objects tried before the bot gives up and just moves
	reachSlack     = 0.3           // m: a held object farther from the hand than this is not ours
	swingRadius    = 0.3           // m: the hand swings on an arc of this radius about a pivot above it
	swingAmplitude = 0.5           // rad either side of the grab point: 0.3 m of arc
	swingHz        = 1.5           // swings per second
	twistAmplitude = 0.3           // rad of wrist twist about the vertical, to exercise rotation
	twistHz        = 0.7           // twists per second
	grabPosTol     = 0.002         // m: a held pose this close to hand·offset matches
	grabRotTol     = math.Pi / 180 // rad (1°)
)

// grabPhase is where a bot is in the grab run.
type grabPhase uint8

const (
	grabSelecting grabPhase = iota // waiting for the objects and its rank
	grabApproach                   // hand at the object, grip open then closed
	grabHolding                    // holding and swinging: measuring
	grabIdle                       // nothing to grab, or gave up: just moves
)

// candidate is a grabbable object seen in the snapshots.
type candidate struct {
	id    uint16
	flags uint8
	pose  wire.Pose
	given bool // tried by this bot and abandoned
}

// grabSlot is what the bot sent with one input, filled in before the send so
// that a state reflecting the input can be handled even when it arrives
// before the sender records the send time.
type grabSlot struct {
	seq     uint32
	sampled bool
	hand    geom.Pose // right hand, as the server decodes it
	gripped bool      // grip closed on target in attempt
	target  uint16
	attempt uint32
	holding bool  // sent while the bot held its object: measured
	sent    int64 // ns, client clock; 0: not sent yet
	acked   int64 // ns, rx time of the first state showing it; 0: not yet
	byUpd   bool  // that state was an entity update
}

// grabber drives one bot's right hand in the grab run and measures it. It
// has no lock of its own: the recorder's mutex guards it. Nothing allocates
// once the objects are selected and the latency slice is within its
// preallocated capacity.
type grabber struct {
	self       uint16
	rank, bots int // this bot's place by ClientID among the bots that connected; rank < 0: not known yet
	phase      grabPhase

	// Selection: the grabbable objects of the first complete tick, by id.
	cands     []candidate
	partsTick uint32
	partsSeen int
	complete  bool // every part of one tick seen

	// Approach.
	cur          int // index in cands
	target       uint16
	targetPose   wire.Pose // newest seen
	tried        int       // objects tried
	attempt      uint32    // attempt number, all objects together
	attemptStart float64   // s; < 0: set by the next sample
	attemptIns   int       // inputs sampled in this attempt
	attemptsHere int       // attempts on the current object
	lastHand     wire.Pose // right hand of the newest sample

	// Holding.
	holdStart float64 // s; < 0: set by the next sample
	grabPos   geom.Vec3
	offset    geom.Pose // object in the hand's frame, from the first held state

	// Inputs.
	lastSeq  uint32 // newest sequence number SendPose returned
	pend     grabSlot
	ring     [grabRing]grabSlot
	reported uint32 // newest input seq a held state reflected
	selfTick uint32 // tick of the newest snapshot part carrying this bot's record
	selfSeq  uint32 // its LastInputSeq
	selfSeen bool

	// Results.
	held       bool // the bot held its object at some point
	latency    []int64
	byUpdate   uint64 // latency samples whose first state was an entity update
	checks     uint64 // held states whose pose was compared with hand·offset
	mismatches uint64
	released   uint64 // snapshots showing the object no longer held while holding
	updates    uint64 // entity update datagrams received
}

func newGrabber(self uint16, expectInputs int) *grabber {
	return &grabber{
		self:         self,
		rank:         -1,
		cands:        make([]candidate, 0, maxCandidates),
		latency:      make([]int64, 0, expectInputs),
		attemptStart: -1,
		holdStart:    -1,
	}
}

// setRank tells the bot its place among the n bots that connected.
// resetLatency forgets the samples of a warm-up.
func (g *grabber) resetLatency() {
	g.latency = g.latency[:0]
	g.byUpdate = 0
}

func (g *grabber) setRank(rank, n int) {
	g.rank, g.bots = rank, n
	g.maybeSelect()
}

// maybeSelect picks the bot's first object once both its rank and the
// objects of one complete tick are known: the rank-th grabbable by id.
func (g *grabber) maybeSelect() {
	if g.phase != grabSelecting || g.rank < 0 || !g.complete {
		return
	}
	if g.rank >= len(g.cands) {
		g.phase = grabIdle // fewer objects than bots
		return
	}
	g.startTarget(g.rank)
}

func (g *grabber) startTarget(i int) {
	g.phase = grabApproach
	g.cur = i
	g.target = g.cands[i].id
	g.targetPose = g.cands[i].pose
	g.tried++
	g.attemptsHere = 0
	g.newAttempt()
}

func (g *grabber) newAttempt() {
	g.attempt++
	g.attemptsHere++
	g.attemptIns = 0
	g.attemptStart = -1
}

// nextTarget abandons the current object for the next free one: not held in
// the newest state seen, not abandoned before, preferably not another bot's
// first choice. After maxTargets objects the bot gives up.
func (g *grabber) nextTarget() {
	g.cands[g.cur].given = true
	if g.tried >= maxTargets {
		g.phase = grabIdle
		return
	}
	best := -1
	for j := 1; j < len(g.cands); j++ {
		i := (g.cur + j) % len(g.cands)
		c := &g.cands[i]
		if c.given || c.flags&wire.EntityHeld != 0 {
			continue
		}
		if i >= g.bots { // nobody's first choice
			best = i
			break
		}
		if best < 0 {
			best = i
		}
	}
	if best < 0 {
		g.phase = grabIdle
		return
	}
	g.startTarget(best)
}

// sample sets the right hand and both grips of in for time t (s since the
// bots started moving), after path.sample set the rest, and remembers them
// under the sequence number the input will get.
func (g *grabber) sample(t float64, in *wire.PoseInput) {
	in.Grip = [2]float32{} // never grab anything by accident
	s := grabSlot{seq: g.lastSeq + 1, sampled: true}
	if g.phase == grabApproach && g.attemptStart >= 0 && g.attemptIns > gripOpenFrames && t-g.attemptStart >= attemptTime {
		if g.attemptsHere >= attemptsPerObj {
			g.nextTarget()
		} else {
			g.newAttempt()
		}
	}
	switch g.phase {
	case grabApproach:
		if g.attemptStart < 0 {
			g.attemptStart = t
		}
		// Straight to the object's centre; the swing starts from this
		// orientation, so it begins without a jump.
		in.Hands[wire.Right] = wire.Pose{Pos: g.targetPose.Pos, Rot: wire.Quat{W: 1}}
		if g.attemptIns >= gripOpenFrames {
			in.Grip[wire.Right] = 1
			s.gripped = true
		}
		s.target, s.attempt = g.target, g.attempt
		g.attemptIns++
	case grabHolding:
		if g.holdStart < 0 {
			g.holdStart = t
			g.grabPos = toVec(g.lastHand.Pos)
		}
		in.Hands[wire.Right] = swing(g.grabPos, t-g.holdStart)
		in.Grip[wire.Right] = 1
		s.gripped, s.target, s.attempt, s.holding = true, g.target, g.attempt, true
	}
	g.lastHand = in.Hands[wire.Right]
	s.hand = toPose(wire.QuantizePose(in.Hands[wire.Right]))
	g.pend = s
	g.ring[s.seq%grabRing] = s
}

// swing is the hand's pose tau seconds into holding: an arc of radius
// swingRadius about a pivot above the grab point, with a wrist twist. At
// tau = 0 it is the grab point, unrotated.
func swing(grab geom.Vec3, tau float64) wire.Pose {
	phi := swingAmplitude * math.Sin(2*math.Pi*swingHz*tau)
	psi := twistAmplitude * math.Sin(2*math.Pi*twistHz*tau)
	arc := geom.AxisAngle(geom.Vec3{X: 1}, phi)
	pivot := grab.Add(geom.Vec3{Y: swingRadius})
	pos := pivot.Add(arc.Rotate(geom.Vec3{Y: -swingRadius}))
	rot := arc.Mul(geom.AxisAngle(geom.Vec3{Y: 1}, psi))
	return wire.Pose{
		Pos: wire.Vec3{X: float32(pos.X), Y: float32(pos.Y), Z: float32(pos.Z)},
		Rot: wire.Quat{X: float32(rot.X), Y: float32(rot.Y), Z: float32(rot.Z), W: float32(rot.W)},
	}
}

// sent records that input seq, sampled last, left at t (ns, client clock).
func (g *grabber) sent(seq uint32, t int64) {
	g.lastSeq = seq
	s := &g.ring[seq%grabRing]
	if s.seq != seq || !s.sampled { // SendPose numbered it otherwise than foreseen
		*s = g.pend
		s.seq = seq
	}
	s.sent = t
	if s.holding && s.acked != 0 {
		g.addSample(s.acked-t, s.byUpd)
	}
}

// unsent records that SendPose numbered input seq but could not send it.
func (g *grabber) unsent(seq uint32) {
	g.lastSeq = seq
	if s := &g.ring[seq%grabRing]; s.seq == seq {
		s.holding = false // never measured
	}
}

// snapshot handles one snapshot part received at rx (kernel time, ns).
func (g *grabber) snapshot(snap *wire.Snapshot, rx int64) {
	for i := range snap.Players {
		if p := &snap.Players[i]; p.ClientID == g.self {
			g.selfTick, g.selfSeq, g.selfSeen = snap.Tick, p.LastInputSeq, true
		}
	}
	if g.phase == grabSelecting {
		g.collect(snap)
		return
	}
	var target *wire.EntityState
	for i := range snap.Entities {
		e := &snap.Entities[i]
		if e.ID == g.target {
			target = e
		}
		if j, ok := slices.BinarySearchFunc(g.cands, e.ID, byID); ok {
			g.cands[j].flags, g.cands[j].pose = e.Flags, e.Pose
		}
	}
	if target == nil || g.phase == grabIdle {
		return
	}
	g.targetPose = target.Pose
	// This bot's record may be in another part of the same tick.
	if g.selfSeen && g.selfTick == snap.Tick {
		g.state(g.selfSeq, target, rx, false)
	}
}

func byID(c candidate, id uint16) int { return int(c.id) - int(id) }

// collect adds the grabbable objects of a snapshot part to the candidates
// and selects once every part of one tick was seen.
func (g *grabber) collect(snap *wire.Snapshot) {
	for i := range snap.Entities {
		e := &snap.Entities[i]
		if e.Flags&wire.EntityGrabbable == 0 {
			continue
		}
		j, ok := slices.BinarySearchFunc(g.cands, e.ID, byID)
		switch {
		case ok:
			g.cands[j].flags, g.cands[j].pose = e.Flags, e.Pose
		case len(g.cands) < maxCandidates:
			g.cands = slices.Insert(g.cands, j, candidate{id: e.ID, flags: e.Flags, pose: e.Pose})
		}
	}
	if snap.Tick != g.partsTick || g.partsSeen == 0 {
		g.partsTick, g.partsSeen = snap.Tick, 0
	}
	g.partsSeen++
	if g.partsSeen >= int(snap.Parts) {
		g.complete = true
		g.maybeSelect()
	}
}

// update handles one entity update received at rx.
func (g *grabber) update(u *wire.EntityUpdate, rx int64) {
	g.updates++
	if g.phase != grabApproach && g.phase != grabHolding {
		return
	}
	for i := range u.Entities {
		e := &u.Entities[i]
		if e.ID != g.target {
			continue
		}
		g.targetPose = e.Pose
		// Coalesced updates name several inputs; the object's pose is that
		// after the newest of this bot's.
		if seq, ok := u.NewestInput(g.self); ok {
			g.state(seq, e, rx, true)
		}
		return
	}
}

// state handles one datagram showing the target object as the server had it
// after applying this bot's input seq (a snapshot's LastInputSeq, or an
// entity update's newest cause from this bot, when it names one).
func (g *grabber) state(seq uint32, e *wire.EntityState, rx int64, isUpdate bool) {
	held := e.Flags&wire.EntityHeld != 0
	s := &g.ring[seq%grabRing]
	known := s.seq == seq && s.sampled
	switch g.phase {
	case grabApproach:
		if !held || !known {
			return
		}
		obj := toPose(e.Pose)
		switch {
		case !s.gripped:
			// Held while this hand was open: another bot got it.
			g.nextTarget()
		case s.target == g.target && s.attempt == g.attempt:
			if obj.Pos.Sub(s.hand.Pos).Len() > reachSlack {
				g.nextTarget() // held, but not by this hand
				return
			}
			g.phase = grabHolding
			g.held = true
			g.holdStart = -1
			g.offset = s.hand.Inverse().Mul(obj)
			g.reported = seq // inputs up to here were not sent holding
		}
		// Otherwise it reflects a closed grip of an earlier attempt: wait.
	case grabHolding:
		if !held && !isUpdate {
			g.released++
			return
		}
		g.report(seq, rx, isUpdate)
		if known {
			want := s.hand.Mul(g.offset)
			got := toPose(e.Pose)
			g.checks++
			if got.Pos.Sub(want.Pos).Len() > grabPosTol || got.Rot.Angle(want.Rot) > grabRotTol {
				g.mismatches++
			}
		}
	}
}

// report records rx as the state time of every input up to seq sent while
// holding and not reported before.
func (g *grabber) report(seq uint32, rx int64, isUpdate bool) {
	if !wire.InputSeqNewer(seq, g.reported) {
		return
	}
	from := g.reported + 1
	if seq-from >= grabRing {
		from = seq - grabRing + 1
	}
	g.reported = seq
	for k := from; ; k++ {
		s := &g.ring[k%grabRing]
		if s.seq == k && s.holding && s.acked == 0 {
			s.acked, s.byUpd = rx, isUpdate
			if s.sent != 0 {
				g.addSample(rx-s.sent, isUpdate)
			}
		}
		if k == seq {
			return
		}
	}
}

// sample1 records one grab_to_state sample.
func (g *grabber) addSample(d int64, byUpdate bool) {
	g.latency = append(g.latency, d)
	if byUpdate {
		g.byUpdate++
	}
}

// grabResult is what one bot measured in the grab run.
type grabResult struct {
	Target     uint16
	Held       bool
	Latency    []int64 // ns, input send → first state showing the object at its pose
	ByUpdate   uint64  // samples whose first state was an entity update
	Checks     uint64
	Mismatches uint64
	Released   uint64
	Updates    uint64
}

func (g *grabber) result() *grabResult {
	return &grabResult{
		Target:     g.target,
		Held:       g.held,
		Latency:    slices.Clone(g.latency),
		ByUpdate:   g.byUpdate,
		Checks:     g.checks,
		Mismatches: g.mismatches,
		Released:   g.released,
		Updates:    g.updates,
	}
}

func toVec(v wire.Vec3) geom.Vec3 {
	return geom.Vec3{X: float64(v.X), Y: float64(v.Y), Z: float64(v.Z)}
}

func toPose(p wire.Pose) geom.Pose {
	return geom.Pose{
		Pos: toVec(p.Pos),
		Rot: geom.Quat{X: float64(p.Rot.X), Y: float64(p.Rot.Y), Z: float64(p.Rot.Z), W: float64(p.Rot.W)},
	}
}
