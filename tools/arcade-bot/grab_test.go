package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/wire"
)

const frame = 1.0 / 90 // s

var identity = wire.Quat{W: 1}

func ent(id uint16, flags uint8, x, y, z float32) wire.EntityState {
	return wire.EntityState{ID: id, Flags: flags, Pose: wire.Pose{Pos: wire.Vec3{X: x, Y: y, Z: z}, Rot: identity}}
}

// world is a snapshot part of tick with the bot's record (LastInputSeq
// seq) and the given objects.
func world(tick uint32, self uint16, seq uint32, es ...wire.EntityState) *wire.Snapshot {
	return &wire.Snapshot{Tick: tick, Parts: 1, PlayerCount: 1,
		Players:  []wire.PlayerState{{ClientID: self, LastInputSeq: seq}},
		Entities: es}
}

// grabTest drives one grabber as the bot's sending goroutine would.
type grabTest struct {
	t   *testing.T
	g   *grabber
	now float64 // s since the bots started moving
	in  wire.PoseInput
}

// send samples and sends the next input at now+frame; the send time in ns
// is the sample time in ms, so that latencies are easy to read.
func (gt *grabTest) send() (uint32, wire.PoseInput) {
	seq, in := gt.sample()
	gt.g.sent(seq, gt.sendTime(seq))
	return seq, in
}

// sample samples the next input without recording its send.
func (gt *grabTest) sample() (uint32, wire.PoseInput) {
	gt.now += frame
	gt.in = wire.PoseInput{Hands: [2]wire.Pose{{Rot: identity}, {Rot: identity}}, Grip: [2]float32{1, 1}}
	gt.g.sample(gt.now, &gt.in)
	return gt.g.lastSeq + 1, gt.in
}

func (gt *grabTest) sendTime(seq uint32) int64 { return int64(seq) * msNs }

// heldAt is the object state the server reports for hand pose hand and
// grab offset off: hand·off, quantized.
func heldAt(id uint16, hand wire.Pose, off geom.Pose) wire.EntityState {
	p := toPose(wire.QuantizePose(hand)).Mul(off)
	return wire.EntityState{ID: id, Flags: wire.EntityHeld | wire.EntityGrabbable, Pose: wire.QuantizePose(wire.Pose{
		Pos: wire.Vec3{X: float32(p.Pos.X), Y: float32(p.Pos.Y), Z: float32(p.Pos.Z)},
		Rot: wire.Quat{X: float32(p.Rot.X), Y: float32(p.Rot.Y), Z: float32(p.Rot.Z), W: float32(p.Rot.W)},
	})}
}

// update is an entity update caused by input seq of client cause alone.
func update(cause uint16, seq uint32, es ...wire.EntityState) *wire.EntityUpdate {
	return coalesced([]wire.UpdateCause{{Client: cause, Input: seq}}, es...)
}

// coalesced is an entity update reflecting several inputs.
func coalesced(causes []wire.UpdateCause, es ...wire.EntityState) *wire.EntityUpdate {
	return &wire.EntityUpdate{Causes: causes, Entities: es}
}

func TestGrabSelection(t *testing.T) {
	objs := []wire.EntityState{
		ent(2, 0, 0, 0, 0), // static-ish, not grabbable
		ent(9, wire.EntityGrabbable, 1, 1, 0),
		ent(4, wire.EntityGrabbable|wire.EntitySleeping, 0.5, 1, 0.5),
		ent(6, wire.EntityGrabbable, -1, 1, 0),
	}
	// Rank r of 4 takes the r-th grabbable by id: 4, 6, 9, then nothing.
	for rank, want := range []uint16{4, 6, 9, 0} {
		g := newGrabber(7, 16)
		// The tick is split in two parts: no choice before both arrived.
		p0 := world(5, 7, 0, objs[:2]...)
		p0.Parts = 2
		p1 := world(5, 7, 0, objs[2:]...)
		p1.Part, p1.Parts = 1, 2
		g.snapshot(p0, 1)
		g.setRank(rank, 4)
		if g.phase != grabSelecting {
			t.Fatalf("rank %d: phase %d after one part of two", rank, g.phase)
		}
		g.snapshot(p1, 2)
		switch {
		case want == 0 && g.phase != grabIdle:
			t.Errorf("rank %d of 4 with 3 objects: phase %d, want idle", rank, g.phase)
		case want != 0 && (g.phase != grabApproach || g.target != want):
			t.Errorf("rank %d: phase %d target %d, want approaching %d", rank, g.phase, g.target, want)
		}
	}
	// The rank may come after the objects.
	g := newGrabber(7, 16)
	g.snapshot(world(1, 7, 0, objs...), 1)
	if g.phase != grabSelecting {
		t.Fatal("selected before knowing the rank")
	}
	g.setRank(0, 1)
	if g.target != 4 {
		t.Errorf("target %d, want 4", g.target)
	}
	// No grabbable objects at all: just move, grips open.
	g = newGrabber(7, 16)
	g.setRank(0, 1)
	g.snapshot(world(1, 7, 0, objs[0]), 1)
	gt := &grabTest{t: t, g: g}
	if _, in := gt.send(); g.phase != grabIdle || in.Grip != [2]float32{} {
		t.Errorf("no objects: phase %d grips %v", g.phase, in.Grip)
	}
}

func TestGrabToState(t *testing.T) {
	const self, other = 7, 8
	g := newGrabber(self, 64)
	gt := &grabTest{t: t, g: g}
	obj := ent(6, wire.EntityGrabbable, -1, 1.2, 0.25)
	g.snapshot(world(1, self, 0, obj), 1)
	g.setRank(0, 1)

	// Approach: hand at the object's centre, grip open for three inputs,
	// then closed.
	var seq uint32
	var in wire.PoseInput
	for i := range gripOpenFrames + 2 {
		seq, in = gt.send()
		if in.Hands[wire.Right].Pos != obj.Pose.Pos || in.Grip[wire.Left] != 0 {
			t.Fatalf("input %d: right hand %+v left grip %v", seq, in.Hands[wire.Right], in.Grip[wire.Left])
		}
		if closed := in.Grip[wire.Right] == 1; closed != (i >= gripOpenFrames) {
			t.Fatalf("input %d: grip %v", seq, in.Grip[wire.Right])
		}
	}
	// The object's pose in the hand's frame, as the server captured it.
	off := geom.Pose{Pos: geom.Vec3{X: 0.01, Y: -0.02, Z: 0.005}, Rot: geom.AxisAngle(geom.Vec3{Z: 1}, 0.5)}
	// Another client's update listing the object held proves nothing.
	g.update(update(other, 999, heldAt(6, in.Hands[wire.Right], off)), 10*msNs)
	if g.phase != grabApproach {
		t.Fatal("another client's update confirmed the grab")
	}
	// The update caused by the closed grip does.
	g.update(update(self, seq, heldAt(6, in.Hands[wire.Right], off)), 11*msNs)
	if g.phase != grabHolding || !g.held {
		t.Fatalf("phase %d after the held state", g.phase)
	}

	// Holding: the swing starts at the grab point, grip closed.
	k1, in1 := gt.send()
	if p := in1.Hands[wire.Right]; p.Pos != obj.Pose.Pos || p.Rot != identity || in1.Grip[wire.Right] != 1 {
		t.Fatalf("first holding input %+v grip %v", p, in1.Grip)
	}
	k2, in2 := gt.send()
	k3, in3 := gt.send()
	if in2.Hands[wire.Right].Pos == in1.Hands[wire.Right].Pos {
		t.Fatal("the hand does not swing")
	}
	// An update naming only other clients' inputs: not counted.
	g.update(coalesced([]wire.UpdateCause{{Client: other, Input: 5000}, {Client: other + 1, Input: 3}},
		heldAt(6, in1.Hands[wire.Right], off)), 20*msNs)
	// Coalesced with another client's later input, k1 is named: k1 is
	// shown.
	g.update(coalesced([]wire.UpdateCause{{Client: self, Input: k1}, {Client: other, Input: 5001}},
		heldAt(6, in1.Hands[wire.Right], off)), 21*msNs)
	// A snapshot reflecting k2 but not listing the object, then one
	// listing it not held: neither shows k2.
	g.snapshot(world(2, self, k2), 22*msNs)
	notHeld := heldAt(6, in2.Hands[wire.Right], off)
	notHeld.Flags &^= wire.EntityHeld
	g.snapshot(world(2, self, k2, notHeld), 23*msNs)
	// A snapshot reflecting k3 with the object held shows k2 and k3.
	g.snapshot(world(3, self, k3, heldAt(6, in3.Hands[wire.Right], off)), 24*msNs)
	// Late and repeated states change nothing.
	g.update(update(self, k2, heldAt(6, in2.Hands[wire.Right], off)), 25*msNs)
	g.snapshot(world(3, self, k3, heldAt(6, in3.Hands[wire.Right], off)), 26*msNs)

	// A state can arrive before the sender records the send.
	k4, in4 := gt.sample()
	g.update(update(self, k4, heldAt(6, in4.Hands[wire.Right], off)), 40*msNs)
	g.sent(k4, gt.sendTime(k4))

	want := []int64{
		21*msNs - gt.sendTime(k1),
		24*msNs - gt.sendTime(k2),
		24*msNs - gt.sendTime(k3),
		40*msNs - gt.sendTime(k4),
	}
	res := g.result()
	if len(res.Latency) != len(want) {
		t.Fatalf("latencies %v, want %v", res.Latency, want)
	}
	for i := range want {
		if res.Latency[i] != want[i] {
			t.Errorf("latency[%d] = %d, want %d", i, res.Latency[i], want[i])
		}
	}
	// Checked: k1, k3, k2 (late), k3 again, k4; the unheld snapshot is a
	// release, not a check.
	if res.ByUpdate != 2 || res.Checks != 5 || res.Mismatches != 0 || res.Released != 1 || !res.Held || res.Target != 6 {
		t.Errorf("result %+v", res)
	}

	// Pose verification: 1 mm off passes, 3 mm or 2° off does not.
	k5, in5 := gt.send()
	shifted := func(dx float32, angle float64) wire.EntityState {
		e := heldAt(6, in5.Hands[wire.Right], off)
		e.Pose.Pos.X += dx
		q := geom.AxisAngle(geom.Vec3{Y: 1}, angle).Mul(toPose(e.Pose).Rot)
		e.Pose.Rot = wire.Quat{X: float32(q.X), Y: float32(q.Y), Z: float32(q.Z), W: float32(q.W)}
		return e
	}
	g.update(update(self, k5, shifted(0.001, 0)), 50*msNs)
	g.update(update(self, k5, shifted(0.003, 0)), 51*msNs)
	g.update(update(self, k5, shifted(0, 2*math.Pi/180)), 52*msNs)
	if res := g.result(); res.Checks != 8 || res.Mismatches != 2 || len(res.Latency) != 5 {
		t.Errorf("after the pose checks: %+v", res)
	}
}

// TestGrabCoalescedCauses checks an update naming several inputs of this
// bot: it shows the newest of them, whatever other inputs lie between, and
// every earlier one sent while holding.
func TestGrabCoalescedCauses(t *testing.T) {
	const self, other = 7, 8
	g := newGrabber(self, 64)
	gt := &grabTest{t: t, g: g}
	g.snapshot(world(1, self, 0, ent(6, wire.EntityGrabbable, -1, 1.2, 0.25)), 1)
	g.setRank(0, 1)
	var seq uint32
	var in wire.PoseInput
	for range gripOpenFrames + 1 {
		seq, in = gt.send()
	}
	g.update(update(self, seq, heldAt(6, in.Hands[wire.Right], geom.IdentityPose)), 1)
	if g.phase != grabHolding {
		t.Fatalf("phase %d after the held state", g.phase)
	}
	k1, _ := gt.send()
	k2, in2 := gt.send()
	// Naming this bot's inputs but not listing the object: nothing shown.
	g.update(update(self, k2), 2*msNs)
	// The object at k2's pose; k1 named first, another client's input
	// between.
	g.update(coalesced([]wire.UpdateCause{{Client: self, Input: k1}, {Client: other, Input: 99}, {Client: self, Input: k2}},
		heldAt(6, in2.Hands[wire.Right], geom.IdentityPose)), 30*msNs)
	res := g.result()
	if want := []int64{30*msNs - gt.sendTime(k1), 30*msNs - gt.sendTime(k2)}; len(res.Latency) != 2 || res.Latency[0] != want[0] || res.Latency[1] != want[1] {
		t.Errorf("latencies %v, want %v", res.Latency, want)
	}
	if res.ByUpdate != 2 || res.Checks != 1 || res.Mismatches != 0 || res.Updates != 3 {
		t.Errorf("result %+v", res)
	}
}

func TestGrabTakenAndRetries(t *testing.T) {
	const self = 3
	g := newGrabber(self, 64)
	gt := &grabTest{t: t, g: g}
	objs := []wire.EntityState{
		ent(10, wire.EntityGrabbable, 1, 1, 1),
		ent(11, wire.EntityGrabbable, 2, 1, 1),
		ent(12, wire.EntityGrabbable, 3, 1, 1),
		ent(13, wire.EntityGrabbable, 4, 1, 1),
		ent(14, wire.EntityGrabbable, 5, 1, 1),
		ent(15, wire.EntityGrabbable, -1, 1, 1),
	}
	g.snapshot(world(1, self, 0, objs...), 1)
	g.setRank(1, 2) // object 11; 10 is the other bot's
	if g.target != 11 {
		t.Fatalf("target %d", g.target)
	}
	// The object shows up held in a state reflecting an input with this
	// hand open: someone else has it. The next free object that no bot
	// took first is 12.
	seq, _ := gt.send()
	held := objs[1]
	held.Flags |= wire.EntityHeld
	g.snapshot(world(2, self, seq, objs[0], held, objs[2]), 2)
	if g.phase != grabApproach || g.target != 12 {
		t.Fatalf("after the object was taken: phase %d target %d, want approaching 12", g.phase, g.target)
	}
	// The server never shows 12 held: after three attempts of attemptTime,
	// each opening the grip again, the bot moves on to 13.
	opens := 0
	prevClosed := false
	for {
		_, in := gt.send()
		if g.target != 12 {
			break
		}
		closed := in.Grip[wire.Right] == 1
		if !closed && prevClosed {
			opens++
		}
		prevClosed = closed
		if gt.now > 10 {
			t.Fatal("never gave up on 12")
		}
	}
	if opens != attemptsPerObj-1 || g.target != 13 {
		t.Errorf("reopened %d times, next target %d", opens, g.target)
	}
	// Objects tried: 11, 12, 13, then 14; after 14 the bot gives up and
	// just moves with its grips open.
	for g.phase == grabApproach {
		gt.send()
		if gt.now > 20 {
			t.Fatal("never gave up")
		}
	}
	if g.phase != grabIdle || g.tried != maxTargets || g.held {
		t.Errorf("phase %d after %d objects", g.phase, g.tried)
	}
	if _, in := gt.send(); in.Grip != [2]float32{} {
		t.Errorf("idle grips %v", in.Grip)
	}
	// A held state far from the hand is not this bot's grab.
	g = newGrabber(self, 16)
	gt = &grabTest{t: t, g: g}
	g.snapshot(world(1, self, 0, objs[:2]...), 1)
	g.setRank(0, 1)
	for range gripOpenFrames + 1 {
		seq, _ = gt.send()
	}
	far := ent(10, wire.EntityHeld|wire.EntityGrabbable, 1, 1, 2)
	g.update(update(self, seq, far), 5)
	if g.phase != grabApproach || g.target != 11 || g.held {
		t.Errorf("held far away: phase %d target %d", g.phase, g.target)
	}
}

func TestGrabSwing(t *testing.T) {
	grab := geom.Vec3{X: 1, Y: 1, Z: -1}
	prev := swing(grab, 0)
	if prev.Pos != (wire.Vec3{X: 1, Y: 1, Z: -1}) || prev.Rot != identity {
		t.Fatalf("swing starts at %+v", prev)
	}
	var maxDist, maxStep float64
	for k := 1; k <= 3*90; k++ {
		p := swing(grab, float64(k)*frame)
		maxDist = math.Max(maxDist, toVec(p.Pos).Sub(grab).Len())
		maxStep = math.Max(maxStep, toVec(p.Pos).Sub(toVec(prev.Pos)).Len())
		if n := p.Rot.X*p.Rot.X + p.Rot.Y*p.Rot.Y + p.Rot.Z*p.Rot.Z + p.Rot.W*p.Rot.W; math.Abs(float64(n)-1) > 1e-5 {
			t.Fatalf("rotation %+v not unit", p.Rot)
		}
		prev = p
	}
	// A chord of a 0.5 rad swing on a 0.3 m radius: 2·0.3·sin(0.25).
	if want := 2 * swingRadius * math.Sin(swingAmplitude/2); math.Abs(maxDist-want) > 0.002 {
		t.Errorf("hand swings %.3f m from the grab point, want %.3f", maxDist, want)
	}
	if maxStep > 0.02 {
		t.Errorf("hand moves %.3f m in one frame", maxStep)
	}
}

func TestGrabNoAllocs(t *testing.T) {
	const self = 7
	g := newGrabber(self, 1000)
	gt := &grabTest{t: t, g: g}
	obj := ent(6, wire.EntityGrabbable, -1, 1.2, 0.25)
	g.snapshot(world(1, self, 0, obj, ent(2, 0, 0, 0, 0)), 1)
	g.setRank(0, 1)
	var seq uint32
	var in wire.PoseInput
	for range gripOpenFrames + 1 {
		seq, in = gt.send()
	}
	g.update(update(self, seq, heldAt(6, in.Hands[wire.Right], geom.IdentityPose)), 1)
	snap := world(2, self, 0, obj, ent(2, 0, 0, 0, 0))
	u := update(self, 0, obj)
	allocs := testing.AllocsPerRun(500, func() {
		seq, in := gt.send()
		u.Causes[0].Input = seq
		u.Entities[0] = heldAt(6, in.Hands[wire.Right], geom.IdentityPose)
		g.update(u, gt.sendTime(seq)+msNs)
		snap.Tick++
		snap.Players[0].LastInputSeq = seq
		snap.Entities[0] = u.Entities[0]
		g.snapshot(snap, gt.sendTime(seq)+2*msNs)
	})
	if allocs != 0 {
		t.Errorf("%v allocs per input", allocs)
	}
	if res := g.result(); res.Mismatches != 0 || len(res.Latency) < 500 {
		t.Errorf("%d samples, %d mismatches", len(res.Latency), res.Mismatches)
	}
}

func TestAggregateGrab(t *testing.T) {
	bots := []botResult{
		{Name: "a", ID: 1, Connected: true, Grab: &grabResult{Target: 4, Held: true, Latency: []int64{1 * msNs, 3 * msNs}, ByUpdate: 1, Checks: 10, Mismatches: 1, Updates: 7}},
		{Name: "b", ID: 2, Connected: true, Grab: &grabResult{Target: 5, Held: true, Latency: []int64{2 * msNs}, Checks: 5, Released: 1, Updates: 3}},
		{Name: "c", ID: 3, Connected: true, Grab: &grabResult{}},
		{Name: "d", Err: "denied"},
	}
	rep := aggregate(bots, 120)
	// Without --grab the JSON is what it always was.
	if b, err := json.Marshal(rep); err != nil || strings.Contains(string(b), "grab") || strings.Contains(string(b), "entity_updates") {
		t.Fatalf("JSON without --grab: %s %v", b, err)
	}
	aggregateGrab(&rep, bots)
	if b, err := json.Marshal(rep); err != nil || !strings.Contains(string(b), `"grab_to_state_ms":{"samples":3,"p50":2,"p99":3,"max":3},"grab_shown_by_update":1,"grabbing":2,`) {
		t.Errorf("JSON with --grab: %s %v", b, err)
	}
	g := rep.GrabReport
	if want := (Millis{Samples: 3, P50: 2, P99: 3, Max: 3}); g.GrabToState != want {
		t.Errorf("grab_to_state %+v, want %+v", g.GrabToState, want)
	}
	if g.Grabbing != 2 || g.GrabPoseChecks != 15 || g.GrabPoseMismatch != 1 || g.GrabReleased != 1 || g.EntityUpdates != 10 {
		t.Errorf("grab report %+v", g)
	}
	if c := rep.Clients[0].Grab; c == nil || c.Object != 4 || c.Samples != 2 || c.GrabToStateP50 != 1 {
		t.Errorf("bot a %+v", c)
	}
	if rep.Clients[3].Grab != nil {
		t.Error("a bot that did not connect has a grab line")
	}
}
