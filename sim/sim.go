// Package sim is the simulated world the server ticks: a scene's objects in
// the physics world, the players' hands and the grab graph that ties them.
// Hands follow the headsets' inputs; a grip squeeze grabs the nearest
// grabbable object in reach and a release hands it back to physics with the
// velocity the hand gave it. It implements server.World.
package sim

import (
	"errors"
	"fmt"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/grab"
	"github.com/arcadexr/arcade/physics"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/wire"
)

// Grip thresholds: a hand grabs when its grip value rises to GripOn and lets
// go when it falls to GripOff. The gap keeps a trembling trigger from
// grabbing and releasing on alternate samples.
const (
	GripOn  = 0.6
	GripOff = 0.4
)

// SubSteps is the number of physics sub-steps of a tick: 3, sub-steps of
// 2.8 ms at the server's 120 Hz. The physics package's tests (stacks,
// bounces, darts against paddles, energy) all pass with 3 as its default;
// with 2 a fast dart goes through a paddle. One fewer than the package's
// default of 4 makes the physics of make physicsbench's 1 000-object
// scene 17 % fewer instructions a tick.
const SubSteps = 3

// handBase separates hand nodes from entity ids (entity ids are < 0x8000).
const handBase = 1 << 20

// HandNode is the grab graph node of a client's hand (wire.Left or
// wire.Right).
func HandNode(client uint16, hand int) grab.NodeID {
	return grab.NodeID(handBase + uint32(client)*2 + uint32(hand))
}

type object struct {
	id        uint16
	node      grab.NodeID
	body      physics.BodyID
	grabbable bool
	dynamic   bool // handed back to physics when released
	reach     float64
}

type player struct {
	gripDown [2]bool
}

// World is the simulation. It is used from one goroutine (the tick thread).
type World struct {
	scene   *scene.Scene
	phys    *physics.World
	graph   *grab.Graph
	objs    []object // non-static objects, by id
	byID    []int32  // entity id → index in objs, -1 if none
	players map[uint16]*player

	releases []grab.Release
	holding  []grab.NodeID
	holders  []grab.NodeID // SaveState's
	// fingerprint is the scene's checkpoint.SceneFingerprint.
	fingerprint uint64
	moved       []uint16
	onMoved     func(grab.NodeID, geom.Pose)
}

// New builds the world of a scene.
func New(sc *scene.Scene) (*World, error) {
	pw, err := physics.NewWorld(physics.Config{Gravity: sc.Gravity, SubSteps: SubSteps})
	if err != nil {
		return nil, err
	}
	w := &World{
		scene:    sc,
		phys:     pw,
		graph:    grab.New(len(sc.Objects) + 64),
		byID:     make([]int32, scene.MaxID+1),
		players:  make(map[uint16]*player),
		releases: make([]grab.Release, 0, 16),
		holding:  make([]grab.NodeID, 0, 16),
		holders:  make([]grab.NodeID, 0, 16),
	}
	// A scene that cannot be written out (one built in code, with names a
	// file could not carry) has fingerprint 0.
	w.fingerprint, _ = checkpoint.SceneFingerprint(sc)
	w.onMoved = w.recordMoved
	for i := range w.byID {
		w.byID[i] = -1
	}
	for i := range sc.Objects {
		o := &sc.Objects[i]
		if err := w.add(o); err != nil {
			return nil, fmt.Errorf("sim: scene %q: object %q (line %d): %w", sc.Name, o.Name, o.Line, err)
		}
	}
	return w, nil
}

func (w *World) add(o *scene.Object) error {
	def := physics.BodyDef{
		Mass:     o.Mass,
		Pose:     o.Pose,
		Material: physics.Material{Restitution: o.Restitution, Friction: o.Friction},
	}
	switch o.Shape {
	case scene.ShapeSphere:
		def.Shape = physics.Sphere(o.Radius)
	case scene.ShapeBox:
		def.Shape = physics.Box(o.Half)
	case scene.ShapePlane:
		def.Shape = physics.Plane(o.Normal, o.Offset)
		def.Pose = geom.IdentityPose
	}
	switch o.Kind {
	case scene.Dynamic:
		def.Kind = physics.Dynamic
	case scene.Kinematic:
		def.Kind = physics.Kinematic
	case scene.Static:
		def.Kind = physics.Static
	}
	if err := w.phys.Add(physics.BodyID(o.ID), def); err != nil {
		return err
	}
	if o.Kind == scene.Static {
		return nil
	}
	rules := grab.Rules{
		Grabbable:   o.Grab != scene.GrabNone,
		Grabber:     o.Grabber,
		Shared:      o.Grab == scene.GrabShared,
		MaxDistance: o.Reach,
	}
	if o.HandOff == scene.HandOffRefuse {
		rules.HandOff = grab.Refuse
	}
	if err := w.graph.Add(grab.NodeID(o.ID), rules, o.Pose); err != nil {
		return err
	}
	w.byID[o.ID] = int32(len(w.objs))
	w.objs = append(w.objs, object{
		id:        o.ID,
		node:      grab.NodeID(o.ID),
		body:      physics.BodyID(o.ID),
		grabbable: rules.Grabbable,
		dynamic:   o.Kind == scene.Dynamic,
		reach:     o.Reach,
	})
	return nil
}

// Scene returns the scene the world was built from.
func (w *World) Scene() *scene.Scene { return w.scene }

// Physics exposes the physics world (tests, tools).
func (w *World) Physics() *physics.World { return w.phys }

// Graph exposes the grab graph (tests, tools).
func (w *World) Graph() *grab.Graph { return w.graph }

// AddPlayer gives client id two hands.
func (w *World) AddPlayer(id uint16, now int64) {
	if _, ok := w.players[id]; ok {
		return
	}
	w.players[id] = &player{}
	for h := range 2 {
		w.graph.Add(HandNode(id, h), grab.Rules{Grabber: true}, geom.IdentityPose)
	}
}

// RemovePlayer releases what the player's hands hold and removes them.
func (w *World) RemovePlayer(id uint16, now int64) {
	if _, ok := w.players[id]; !ok {
		return
	}
	for h := range 2 {
		w.releases, _ = w.graph.Remove(w.releases[:0], HandNode(id, h), now)
		w.freeReleased()
	}
	delete(w.players, id)
}

// ApplyInput moves the player's hands, grabs or releases by grip and
// propagates each hand's chain at once. Moved entity ids are appended to
// moved.
func (w *World) ApplyInput(id uint16, in *wire.PoseInput, now int64, moved []uint16) []uint16 {
	p := w.players[id]
	if p == nil {
		return moved
	}
	w.moved = moved
	for h := range 2 {
		hand := HandNode(id, h)
		if in.Tracking&(wire.TrackLeft<<h) != 0 {
			w.graph.SetPose(hand, toGeom(in.Hands[h]), now)
		}
		grip := in.Grip[h]
		switch {
		case !p.gripDown[h] && grip >= GripOn:
			p.gripDown[h] = true
			w.grabNearest(hand)
		case p.gripDown[h] && grip <= GripOff:
			p.gripDown[h] = false
			w.releases, _ = w.graph.ReleaseAll(w.releases[:0], hand, now)
			w.freeReleased()
		}
		w.graph.Propagate(hand, w.onMoved)
	}
	moved, w.moved = w.moved, nil
	return moved
}

func (w *World) recordMoved(n grab.NodeID, _ geom.Pose) {
	if n < handBase {
		w.moved = append(w.moved, uint16(n))
	}
}

// Errors of Grab and Release. They are sentinel values so that refusing a
// request never allocates.
var (
	ErrNoPlayer       = errors.New("sim: no such player")
	ErrHand           = errors.New("sim: hand must be wire.Left or wire.Right")
	ErrNoEntity       = errors.New("sim: no such entity")
	ErrNotGrabbable   = errors.New("sim: entity is not grabbable")
	ErrOutOfReach     = errors.New("sim: entity out of reach")
	ErrNothingInReach = errors.New("sim: nothing grabbable in reach")
	ErrGrabRefused    = errors.New("sim: grab refused by the grab graph")
)

// Grab makes a player's hand grab an entity by request (an RPC) rather than
// by grip: entity 0 is the nearest grabbable object in reach, as a grip
// squeeze takes; another id must name a grabbable object within its reach
// of the hand. The grab graph decides as for a squeeze (taking an object
// from another hand, refusing a cycle).
func (w *World) Grab(client uint16, hand int, entity uint16, now int64) error {
	if w.players[client] == nil {
		return ErrNoPlayer
	}
	if hand != wire.Left && hand != wire.Right {
		return ErrHand
	}
	hn := HandNode(client, hand)
	if entity == 0 {
		if !w.grabNearest(hn) {
			return ErrNothingInReach
		}
		return nil
	}
	if int(entity) >= len(w.byID) || w.byID[entity] < 0 {
		return ErrNoEntity
	}
	o := &w.objs[w.byID[entity]]
	switch {
	case !o.grabbable:
		return ErrNotGrabbable
	case w.graph.Pose(o.node).Pos.Sub(w.graph.Pose(hn).Pos).Len() > o.reach:
		return ErrOutOfReach
	}
	if !w.grabObject(hn, o) {
		return ErrGrabRefused
	}
	return nil
}

// Release lets go of everything a player's hand holds, by request, as
// opening the grip does.
func (w *World) Release(client uint16, hand int, now int64) error {
	if w.players[client] == nil {
		return ErrNoPlayer
	}
	if hand != wire.Left && hand != wire.Right {
		return ErrHand
	}
	w.releases, _ = w.graph.ReleaseAll(w.releases[:0], HandNode(client, hand), now)
	w.freeReleased()
	return nil
}

// grabNearest grabs the nearest grabbable object within its reach of hand
// and reports whether it took one.
func (w *World) grabNearest(hand grab.NodeID) bool {
	hp := w.graph.Pose(hand).Pos
	best, bestD := -1, 0.0
	for i := range w.objs {
		o := &w.objs[i]
		if !o.grabbable {
			continue
		}
		d := w.graph.Pose(o.node).Pos.Sub(hp).Len()
		if d <= o.reach && (best < 0 || d < bestD) {
			best, bestD = i, d
		}
	}
	if best < 0 {
		return false
	}
	return w.grabObject(hand, &w.objs[best])
}

// grabObject makes hand grab o and takes o out of physics.
func (w *World) grabObject(hand grab.NodeID, o *object) bool {
	if _, _, err := w.graph.Grab(hand, o.node); err != nil {
		return false
	}
	if o.dynamic {
		w.phys.SetKinematic(o.body)
	}
	return true
}

// freeReleased hands objects nothing holds any more back to physics.
func (w *World) freeReleased() {
	for _, r := range w.releases {
		if !r.Free || r.ID >= handBase {
			continue
		}
		i := w.byID[r.ID]
		if i < 0 || !w.objs[i].dynamic {
			continue
		}
		o := &w.objs[i]
		w.phys.SetKinematicPose(o.body, w.graph.Pose(o.node))
		w.phys.SetDynamic(o.body, r.Linear, r.Angular)
	}
}

// Holding reports whether client id's hands hold anything.
func (w *World) Holding(id uint16) bool {
	for h := range 2 {
		if len(w.graph.Holding(w.holding[:0], HandNode(id, h))) > 0 {
			return true
		}
	}
	return false
}

// Propagate is the grab stage: every chain in dependency order.
func (w *World) Propagate(now int64) { w.graph.PropagateAll(nil) }

// BeginStep starts the physics stage for one tick of dt seconds, run in
// parts (SubStep, then EndStep) so that the caller can take inputs between
// physics sub-steps: held objects become kinematic targets at their
// propagated poses. It returns the number of sub-steps.
func (w *World) BeginStep(now int64, dt float64) int {
	for i := range w.objs {
		o := &w.objs[i]
		if w.graph.Held(o.node) {
			w.phys.SetKinematicPose(o.body, w.graph.Pose(o.node))
		}
	}
	return w.phys.Begin(dt)
}

// SubStep runs physics sub-step i of the step BeginStep started.
func (w *World) SubStep(i int) { w.phys.SubStep(i) }

// EndStep finishes the physics stage: free objects' new poses go back into
// the graph, and whatever free objects hold follows them.
func (w *World) EndStep(now int64) {
	w.phys.End()
	for i := range w.objs {
		// SetPose leaves a held object alone.
		if o := &w.objs[i]; o.dynamic {
			w.graph.SetPose(o.node, w.phys.Pose(o.body), now)
		}
	}
	w.graph.PropagateAll(nil)
}

// Step runs the whole physics stage for one tick: BeginStep, every
// SubStep, EndStep.
func (w *World) Step(now int64, dt float64) {
	for i := range w.BeginStep(now, dt) {
		w.SubStep(i)
	}
	w.EndStep(now)
}

// Entities appends the state of every non-static object, by id.
func (w *World) Entities(dst []wire.EntityState) []wire.EntityState {
	for i := range w.objs {
		dst = append(dst, w.state(&w.objs[i]))
	}
	return dst
}

// Entity returns one object's state.
func (w *World) Entity(id uint16) (wire.EntityState, bool) {
	if int(id) >= len(w.byID) || w.byID[id] < 0 {
		return wire.EntityState{}, false
	}
	return w.state(&w.objs[w.byID[id]]), true
}

func (w *World) state(o *object) wire.EntityState {
	s := wire.EntityState{ID: o.id, Pose: toWire(w.graph.Pose(o.node))}
	if o.grabbable {
		s.Flags |= wire.EntityGrabbable
	}
	if w.graph.Held(o.node) {
		s.Flags |= wire.EntityHeld
	} else if o.dynamic && w.phys.Sleeping(o.body) {
		s.Flags |= wire.EntitySleeping
	}
	return s
}

func toGeom(p wire.Pose) geom.Pose {
	return geom.Pose{
		Pos: geom.Vec3{X: float64(p.Pos.X), Y: float64(p.Pos.Y), Z: float64(p.Pos.Z)},
		Rot: geom.Quat{X: float64(p.Rot.X), Y: float64(p.Rot.Y), Z: float64(p.Rot.Z), W: float64(p.Rot.W)}.Norm(),
	}
}

func toWire(p geom.Pose) wire.Pose {
	return wire.Pose{
		Pos: wire.Vec3{X: float32(p.Pos.X), Y: float32(p.Pos.Y), Z: float32(p.Pos.Z)},
		Rot: wire.Quat{X: float32(p.Rot.X), Y: float32(p.Rot.Y), Z: float32(p.Rot.Z), W: float32(p.Rot.W)},
	}
}
