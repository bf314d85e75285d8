package grab

import (
	"slices"

	"github.com/arcadexr/arcade/geom"
)

// NodeID names a node. The server chooses them; the graph only requires
// them to be unique among live nodes.
type NodeID uint32

// HandOff says what happens when a grabber reaches for an exclusive object
// someone else holds.
type HandOff uint8

const (
	// TakeOver gives the object to the new grabber; the old holder loses
	// it and Grab reports from whom it was taken. The zero value.
	TakeOver HandOff = iota
	// Refuse keeps the object with its holder; Grab fails with ErrHeld.
	Refuse
)

// Rules are a node's fixed grab properties.
type Rules struct {
	// Grabbable nodes may be held.
	Grabbable bool
	// Grabber nodes may hold others: hands, and objects such as tongs or a
	// racket carrying a ball.
	Grabber bool
	// Shared objects accept several holders at once. The first holder
	// drives the pose; later ones are attached but passive, queued in grab
	// order. When the driver lets go the next holder in the queue drives
	// from then on, with its offset taken from the poses at that moment so
	// the object does not jump. A shared object is never taken over and
	// never refused for being held; HandOff does not apply to it.
	Shared bool
	// HandOff applies to exclusive (not Shared) objects held by another
	// grabber.
	HandOff HandOff
	// MaxDistance, if positive, is the largest distance in metres between
	// the grabber's and this object's positions at which a grab succeeds.
	MaxDistance float64
}

// Release describes an object a grabber let go of.
type Release struct {
	ID NodeID // the released object
	By NodeID // the grabber that let go
	// Free is true when nothing holds the object any more: physics takes
	// over, starting from Linear (m/s) and Angular (rad/s, world frame), a
	// fit of its last VelocityWindow of world poses.
	Free bool
	// Holder is the holder now driving a Shared object that is not free.
	Holder          NodeID
	Linear, Angular geom.Vec3
}

type node struct {
	id    NodeID
	rules Rules
	pose  geom.Pose // world pose
	at    int64     // time of pose: SetPose's now, or the driver's at

	driver int32     // slot of holders[0], or -1 when nothing holds it
	offset geom.Pose // pose in the driver's frame: driver⁻¹·pose at grab

	holders []int32 // every holder, in grab order; holders[0] drives
	holding []int32 // every node this one holds, in grab order

	pos  int32 // index in Graph.order
	size int32 // 1 + number of nodes it drives, directly or not

	mark uint32 // cycle search: visited when equal to Graph.epoch
	via  int32  // cycle search: the node it was reached from
}

// Graph is the grab graph. Each node has at most one driving holder, so the
// driving edges form a forest; kept in preorder, it is a topological order
// in which one pass computes every world pose, and in which a root's
// subtree is one contiguous run. The graph is not safe for concurrent use.
type Graph struct {
	index map[NodeID]int32 // id → slot in nodes
	nodes []node
	hist  []ring // per slot, beside nodes to keep the hot fields dense
	free  []int32

	order []int32  // slots in preorder of the driving forest
	ids   []NodeID // ids[i] is nodes[order[i]].id; what Order returns

	epoch uint32
	stack []int32
}

// New returns an empty graph with room for capacity nodes before Add
// allocates.
func New(capacity int) *Graph {
	return &Graph{
		index: make(map[NodeID]int32, capacity),
		nodes: make([]node, 0, capacity),
		hist:  make([]ring, 0, capacity),
		free:  make([]int32, 0, capacity),
		order: make([]int32, 0, capacity),
		ids:   make([]NodeID, 0, capacity),
		stack: make([]int32, 0, capacity),
	}
}

// Len returns the number of nodes.
func (g *Graph) Len() int { return len(g.order) }

// Has reports whether id is in the graph.
func (g *Graph) Has(id NodeID) bool {
	_, ok := g.index[id]
	return ok
}

// Add inserts a free node at pose (rotation normalized).
func (g *Graph) Add(id NodeID, r Rules, pose geom.Pose) error {
	if _, ok := g.index[id]; ok {
		return &Error{Op: "add", Kind: ErrExists, Target: id, Node: id}
	}
	var s int32
	if n := len(g.free); n > 0 {
		s, g.free = g.free[n-1], g.free[:n-1]
	} else {
		s = int32(len(g.nodes))
		g.nodes = append(g.nodes, node{})
		g.hist = append(g.hist, ring{})
	}
	nd := &g.nodes[s]
	*nd = node{
		id: id, rules: r, pose: norm(pose), driver: -1,
		holders: nd.holders[:0], holding: nd.holding[:0],
		pos: int32(len(g.order)), size: 1,
	}
	g.hist[s] = ring{}
	g.order = append(g.order, s)
	g.ids = append(g.ids, id)
	g.index[id] = s
	return nil
}

// Remove deletes id. Everything it holds is released, as by ReleaseAll,
// and appended to dst; whatever held it simply loses it.
func (g *Graph) Remove(dst []Release, id NodeID, now int64) ([]Release, error) {
	s, ok := g.index[id]
	if !ok {
		return dst, &Error{Op: "remove", Kind: ErrUnknownNode, Target: id, Node: id}
	}
	dst = g.releaseAll(dst, s, now)
	nd := &g.nodes[s]
	for _, h := range nd.holders {
		nh := &g.nodes[h]
		nh.holding = deleteSlot(nh.holding, s)
	}
	nd.holders = nd.holders[:0]
	if nd.driver >= 0 {
		g.detach(s)
	}
	g.removeAt(nd.pos)
	delete(g.index, id)
	g.free = append(g.free, s)
	return dst, nil
}

// SetPose sets the world pose of a node nothing holds (a hand, or a free
// object moved by physics), measured at time now (ns), and records it for
// velocity estimates when the node is Grabbable. The rotation is
// normalized. It reports false, and does nothing, for an unknown or held
// node. Call Propagate (or PropagateAll) afterwards to move what the node
// holds; doing so after every SetPose also gives each held node one
// history sample per pose.
func (g *Graph) SetPose(id NodeID, p geom.Pose, now int64) bool {
	s, ok := g.index[id]
	if !ok || g.nodes[s].driver >= 0 {
		return false
	}
	nd := &g.nodes[s]
	nd.pose, nd.at = norm(p), now
	if nd.rules.Grabbable {
		g.hist[s].push(now, nd.pose)
	}
	return true
}

// Pose returns id's world pose as of the last SetPose or propagation, or
// the zero Pose for an unknown node.
func (g *Graph) Pose(id NodeID) geom.Pose {
	if s, ok := g.index[id]; ok {
		return g.nodes[s].pose
	}
	return geom.Pose{}
}

// Velocity returns id's linear and angular velocity estimate at now, fitted
// like a release velocity. It is zero for an unknown node and for one that
// is not Grabbable: the history is kept for what can be held, and so
// released (a hand's pose, set with every input of every headset, is never
// recorded: at 2000 headsets its pushes, a cache miss each, were a tenth
// of the server's CPU).
func (g *Graph) Velocity(id NodeID, now int64) (lin, ang geom.Vec3) {
	if s, ok := g.index[id]; ok {
		return g.hist[s].velocity(now)
	}
	return
}

// Propagate recomputes the world pose of every node id drives, directly or
// through others, from id's current pose: drivers before what they drive,
// touching only id's subtree. moved, if not nil, is called with each node
// it moved (id itself excluded), in that order. Each moved pose is
// recorded in the node's history at the time of id's pose. It returns the
// number of nodes moved.
func (g *Graph) Propagate(id NodeID, moved func(NodeID, geom.Pose)) int {
	s, ok := g.index[id]
	if !ok {
		return 0
	}
	nd := &g.nodes[s]
	return g.propagate(nd.pos+1, nd.pos+nd.size, moved)
}

// PropagateAll recomputes every held node's world pose from its driver's,
// in topological order, as Propagate does for each root. It returns the
// number of nodes moved.
func (g *Graph) PropagateAll(moved func(NodeID, geom.Pose)) int {
	return g.propagate(0, int32(len(g.order)), moved)
}

func (g *Graph) propagate(from, to int32, moved func(NodeID, geom.Pose)) int {
	n := 0
	for _, s := range g.order[from:to] {
		nd := &g.nodes[s]
		if nd.driver < 0 {
			continue
		}
		d := &g.nodes[nd.driver]
		nd.pose, nd.at = d.pose.Mul(nd.offset), d.at
		g.hist[s].push(nd.at, nd.pose) // held, so Grabbable
		n++
		if moved != nil {
			moved(nd.id, nd.pose)
		}
	}
	return n
}

// Order returns every node in the current topological order: each driving
// holder before what it drives, and each node followed by its whole driven
// subtree. The slice is the graph's own, valid until the next Add, Remove,
// Grab or Release; do not modify it.
func (g *Graph) Order() []NodeID { return g.ids }

// Holder returns the node driving id's pose, if any.
func (g *Graph) Holder(id NodeID) (NodeID, bool) {
	s, ok := g.index[id]
	if !ok || g.nodes[s].driver < 0 {
		return 0, false
	}
	return g.nodes[g.nodes[s].driver].id, true
}

// Held reports whether anything holds id.
func (g *Graph) Held(id NodeID) bool {
	s, ok := g.index[id]
	return ok && g.nodes[s].driver >= 0
}

// Holders appends every holder of id to dst in grab order, the driver first.
func (g *Graph) Holders(dst []NodeID, id NodeID) []NodeID {
	if s, ok := g.index[id]; ok {
		for _, h := range g.nodes[s].holders {
			dst = append(dst, g.nodes[h].id)
		}
	}
	return dst
}

// Holding appends every node id holds, driving or not, to dst in grab order.
func (g *Graph) Holding(dst []NodeID, id NodeID) []NodeID {
	if s, ok := g.index[id]; ok {
		for _, t := range g.nodes[s].holding {
			dst = append(dst, g.nodes[t].id)
		}
	}
	return dst
}

// Grab makes grabber hold target, capturing target's pose in grabber's
// frame (grabber⁻¹·target) so that it follows from then on. Checks, in
// order: both nodes exist (ErrUnknownNode), they differ (ErrSelf), grabber
// is a Grabber (ErrNotGrabber), target is Grabbable (ErrNotGrabbable),
// target does not already hold grabber through any chain of holds,
// driving or passive (ErrCycle), an exclusive target held by someone else
// allows TakeOver (ErrHeld), and the distance is within the target's
// MaxDistance (ErrTooFar). Grabbing what the grabber already holds changes
// nothing and succeeds. When an exclusive target is taken over, from is
// its previous holder and took is true; that holder no longer holds it.
func (g *Graph) Grab(grabber, target NodeID) (from NodeID, took bool, err error) {
	gs, ok := g.index[grabber]
	if !ok {
		return 0, false, &Error{Op: "grab", Kind: ErrUnknownNode, Grabber: grabber, Target: target, Node: grabber}
	}
	ts, ok := g.index[target]
	if !ok {
		return 0, false, &Error{Op: "grab", Kind: ErrUnknownNode, Grabber: grabber, Target: target, Node: target}
	}
	if gs == ts {
		return 0, false, &Error{Op: "grab", Kind: ErrSelf, Grabber: grabber, Target: target}
	}
	gn, tn := &g.nodes[gs], &g.nodes[ts]
	if !gn.rules.Grabber {
		return 0, false, &Error{Op: "grab", Kind: ErrNotGrabber, Grabber: grabber, Target: target, Node: grabber}
	}
	if !tn.rules.Grabbable {
		return 0, false, &Error{Op: "grab", Kind: ErrNotGrabbable, Grabber: grabber, Target: target, Node: target}
	}
	if slices.Contains(tn.holders, gs) {
		return 0, false, nil
	}
	if g.holdsTransitively(ts, gs) {
		return 0, false, &Error{Op: "grab", Kind: ErrCycle, Grabber: grabber, Target: target, Path: g.cyclePath(ts, gs)}
	}
	exclusiveHeld := !tn.rules.Shared && tn.driver >= 0
	if exclusiveHeld && tn.rules.HandOff == Refuse {
		return 0, false, &Error{Op: "grab", Kind: ErrHeld, Grabber: grabber, Target: target, Holder: g.nodes[tn.driver].id}
	}
	if m := tn.rules.MaxDistance; m > 0 {
		if d := gn.pose.Pos.Sub(tn.pose.Pos).Len(); d > m {
			return 0, false, &Error{Op: "grab", Kind: ErrTooFar, Grabber: grabber, Target: target, Dist: d, Max: m}
		}
	}
	if exclusiveHeld {
		old := tn.driver
		from, took = g.nodes[old].id, true
		g.unhold(old, ts)
	}
	tn.holders = append(tn.holders, gs)
	gn.holding = append(gn.holding, ts)
	if len(tn.holders) == 1 {
		tn.offset = gn.pose.Inverse().Mul(tn.pose)
		g.attach(ts, gs)
	}
	return from, took, nil
}

// Release makes grabber let go of target. If nothing else holds it the
// result is Free with a velocity fitted at now; a Shared object still held
// reports its (possibly new) driving Holder instead.
func (g *Graph) Release(grabber, target NodeID, now int64) (Release, error) {
	gs, ok := g.index[grabber]
	if !ok {
		return Release{}, &Error{Op: "release", Kind: ErrUnknownNode, Grabber: grabber, Target: target, Node: grabber}
	}
	ts, ok := g.index[target]
	if !ok {
		return Release{}, &Error{Op: "release", Kind: ErrUnknownNode, Grabber: grabber, Target: target, Node: target}
	}
	if !slices.Contains(g.nodes[ts].holders, gs) {
		return Release{}, &Error{Op: "release", Kind: ErrNotHeld, Grabber: grabber, Target: target}
	}
	return g.release(gs, ts, now), nil
}

// ReleaseAll makes grabber let go of everything it holds, in grab order,
// appending one Release per object to dst.
func (g *Graph) ReleaseAll(dst []Release, grabber NodeID, now int64) ([]Release, error) {
	gs, ok := g.index[grabber]
	if !ok {
		return dst, &Error{Op: "release", Kind: ErrUnknownNode, Grabber: grabber, Node: grabber}
	}
	return g.releaseAll(dst, gs, now), nil
}

func (g *Graph) releaseAll(dst []Release, gs int32, now int64) []Release {
	for len(g.nodes[gs].holding) > 0 {
		dst = append(dst, g.release(gs, g.nodes[gs].holding[0], now))
	}
	return dst
}

func (g *Graph) release(gs, ts int32, now int64) Release {
	g.unhold(gs, ts)
	tn := &g.nodes[ts]
	r := Release{ID: tn.id, By: g.nodes[gs].id}
	if tn.driver >= 0 {
		r.Holder = g.nodes[tn.driver].id
		return r
	}
	r.Free = true
	r.Linear, r.Angular = g.hist[ts].velocity(now)
	return r
}

// unhold removes the hold h → t. If h was driving t, the next holder in
// line drives it from its current pose, or t becomes a free root.
func (g *Graph) unhold(h, t int32) {
	nh, nt := &g.nodes[h], &g.nodes[t]
	nh.holding = deleteSlot(nh.holding, t)
	i := slices.Index(nt.holders, h)
	nt.holders = slices.Delete(nt.holders, i, i+1)
	if i != 0 {
		return
	}
	g.detach(t)
	if len(nt.holders) > 0 {
		d := nt.holders[0]
		nt.offset = g.nodes[d].pose.Inverse().Mul(nt.pose)
		g.attach(t, d)
	}
}

// holdsTransitively reports whether a holds b through a chain of holds of
// any kind, searching up from b through its holders. Because every hold,
// passive or driving, counts, the holds form a DAG and promoting a passive
// holder to driver can never make the driving forest cyclic.
func (g *Graph) holdsTransitively(a, b int32) bool {
	g.epoch++
	if g.epoch == 0 { // wrapped: clear stale marks
		for i := range g.nodes {
			g.nodes[i].mark = 0
		}
		g.epoch = 1
	}
	g.nodes[b].mark, g.nodes[b].via = g.epoch, -1
	g.stack = append(g.stack[:0], b)
	for len(g.stack) > 0 {
		x := g.stack[len(g.stack)-1]
		g.stack = g.stack[:len(g.stack)-1]
		for _, h := range g.nodes[x].holders {
			if g.nodes[h].mark == g.epoch {
				continue
			}
			g.nodes[h].mark, g.nodes[h].via = g.epoch, x
			if h == a {
				return true
			}
			g.stack = append(g.stack, h)
		}
	}
	return false
}

// cyclePath returns the chain a, …, b found by the last holdsTransitively(a, b).
func (g *Graph) cyclePath(a, b int32) []NodeID {
	var p []NodeID
	for x := a; x >= 0; x = g.nodes[x].via {
		p = append(p, g.nodes[x].id)
		if x == b {
			break
		}
	}
	return p
}

func deleteSlot(s []int32, v int32) []int32 {
	if i := slices.Index(s, v); i >= 0 {
		return slices.Delete(s, i, i+1)
	}
	return s
}

func norm(p geom.Pose) geom.Pose {
	p.Rot = p.Rot.Norm()
	return p
}
