package grab

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/arcadexr/arcade/geom"
)

// refGraph is the slow, obviously correct twin of Graph: no order, no
// cached poses. World poses are recomputed from the roots by recursion on
// every query; cycles are found by searching everything a node holds.
type refGraph struct {
	nodes map[NodeID]*refNode
}

type refNode struct {
	rules   Rules
	pose    geom.Pose // meaningful only while free
	holders []NodeID  // grab order; the first drives
	offset  geom.Pose // in the driver's frame
}

func (r *refGraph) world(id NodeID) geom.Pose {
	n := r.nodes[id]
	if len(n.holders) == 0 {
		return n.pose
	}
	return r.world(n.holders[0]).Mul(n.offset)
}

// holds reports whether a holds b, directly or through others, by a DFS
// over every node a holds.
func (r *refGraph) holds(a, b NodeID, seen map[NodeID]bool) bool {
	if seen[a] {
		return false
	}
	seen[a] = true
	for id, n := range r.nodes {
		if slices.Contains(n.holders, a) && (id == b || r.holds(id, b, seen)) {
			return true
		}
	}
	return false
}

func (r *refGraph) add(id NodeID, rules Rules, p geom.Pose) error {
	if r.nodes[id] != nil {
		return ErrExists
	}
	r.nodes[id] = &refNode{rules: rules, pose: norm(p)}
	return nil
}

// drop removes the hold h → t, freezing t where it is or handing it to the
// next holder.
func (r *refGraph) drop(h, t NodeID) {
	n := r.nodes[t]
	w := r.world(t)
	i := slices.Index(n.holders, h)
	n.holders = slices.Delete(n.holders, i, i+1)
	if len(n.holders) == 0 {
		n.pose = w
	} else if i == 0 {
		n.offset = r.world(n.holders[0]).Inverse().Mul(w)
	}
}

func (r *refGraph) held(id NodeID) []NodeID {
	var out []NodeID
	for t, n := range r.nodes {
		if slices.Contains(n.holders, id) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

func (r *refGraph) grab(a, b NodeID) (NodeID, bool, error) {
	na, nb := r.nodes[a], r.nodes[b]
	switch {
	case na == nil || nb == nil:
		return 0, false, ErrUnknownNode
	case a == b:
		return 0, false, ErrSelf
	case !na.rules.Grabber:
		return 0, false, ErrNotGrabber
	case !nb.rules.Grabbable:
		return 0, false, ErrNotGrabbable
	case slices.Contains(nb.holders, a):
		return 0, false, nil
	case r.holds(b, a, map[NodeID]bool{}):
		return 0, false, ErrCycle
	case !nb.rules.Shared && len(nb.holders) > 0 && nb.rules.HandOff == Refuse:
		return 0, false, ErrHeld
	case nb.rules.MaxDistance > 0 && r.world(a).Pos.Sub(r.world(b).Pos).Len() > nb.rules.MaxDistance:
		return 0, false, ErrTooFar
	}
	var from NodeID
	took := false
	if !nb.rules.Shared && len(nb.holders) > 0 {
		from, took = nb.holders[0], true
		r.drop(from, b)
	}
	if len(nb.holders) == 0 {
		nb.offset = r.world(a).Inverse().Mul(r.world(b))
	}
	nb.holders = append(nb.holders, a)
	return from, took, nil
}

func (r *refGraph) release(a, b NodeID) (Release, error) {
	if r.nodes[a] == nil || r.nodes[b] == nil {
		return Release{}, ErrUnknownNode
	}
	nb := r.nodes[b]
	if !slices.Contains(nb.holders, a) {
		return Release{}, ErrNotHeld
	}
	r.drop(a, b)
	rel := Release{ID: b, By: a, Free: len(nb.holders) == 0}
	if !rel.Free {
		rel.Holder = nb.holders[0]
	}
	return rel, nil
}

func (r *refGraph) remove(id NodeID) error {
	if r.nodes[id] == nil {
		return ErrUnknownNode
	}
	for _, t := range r.held(id) {
		r.drop(id, t)
	}
	delete(r.nodes, id)
	return nil
}

func (r *refGraph) setPose(id NodeID, p geom.Pose) bool {
	n := r.nodes[id]
	if n == nil || len(n.holders) > 0 {
		return false
	}
	n.pose = norm(p)
	return true
}

func kind(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if !errors.As(err, &e) {
		return fmt.Errorf("not an *Error: %w", err)
	}
	return e.Kind
}

// TestDifferential runs random operation sequences on Graph and refGraph and
// requires the same result for every operation and the same holders and
// world poses (within 1e-9) for every node after it.
func TestDifferential(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runDifferential(t, seed, 4000) })
	}
}

func runDifferential(t *testing.T, seed uint64, steps int) {
	const ids = 24
	rng := rand.New(rand.NewPCG(seed, 99))
	g := New(4)
	ref := &refGraph{nodes: map[NodeID]*refNode{}}
	randRules := func() Rules {
		switch rng.IntN(6) {
		case 0:
			return hand
		case 1:
			return Rules{Grabbable: true, HandOff: Refuse}
		case 2:
			return Rules{Grabbable: true, Grabber: true, Shared: true}
		case 3:
			return Rules{Grabbable: true, Grabber: true, HandOff: HandOff(rng.IntN(2)), MaxDistance: 1.2}
		case 4:
			return Rules{Grabbable: true, Shared: true, MaxDistance: 1.5}
		}
		return Rules{Grabbable: true, Grabber: rng.IntN(2) == 0, HandOff: HandOff(rng.IntN(2))}
	}
	pick := func() NodeID { return NodeID(rng.IntN(ids + 1)) } // id == ids is never added
	var now int64
	var kinds [8]int
	errs := map[error]int{}
	maxDepth := 0
	for step := 0; step < steps; step++ {
		now += 11_000_000
		op := rng.IntN(100)
		var desc string
		switch {
		case op < 12:
			id, rules, p := pick(), randRules(), randPose(rng)
			if id == ids {
				id = 0
			}
			desc = fmt.Sprintf("add %d %+v", id, rules)
			if a, b := kind(g.Add(id, rules, p)), ref.add(id, rules, p); a != b {
				t.Fatalf("step %d %s: graph %v, ref %v", step, desc, a, b)
			}
			kinds[0]++
		case op < 16:
			id := pick()
			desc = fmt.Sprintf("remove %d", id)
			want := ref.held(id)
			rels, err := g.Remove(nil, id, now)
			if a, b := kind(err), ref.remove(id); a != b {
				t.Fatalf("step %d %s: graph %v, ref %v", step, desc, a, b)
			}
			var got []NodeID
			for _, r := range rels {
				got = append(got, r.ID)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("step %d %s: released %v, ref %v", step, desc, got, want)
			}
			kinds[1]++
		case op < 50:
			a, b := pick(), pick()
			if rng.IntN(4) > 0 { // mostly a grabber and a grabbable that exist
				a, b = pickWhere(rng, ref, a, func(n *refNode) bool { return n.rules.Grabber }), pickWhere(rng, ref, b, func(n *refNode) bool { return n.rules.Grabbable })
			}
			desc = fmt.Sprintf("%d grabs %d", a, b)
			f1, t1, e1 := g.Grab(a, b)
			f2, t2, e2 := ref.grab(a, b)
			if kind(e1) != e2 || f1 != f2 || t1 != t2 {
				t.Fatalf("step %d %s: graph (%d %v %v), ref (%d %v %v)", step, desc, f1, t1, e1, f2, t2, e2)
			}
			if e1 == nil {
				kinds[2]++
			}
			if t1 {
				kinds[3]++
			}
			errs[e2]++
		case op < 68:
			// Mostly release a real hold.
			a, b := pick(), pick()
			if rng.IntN(4) > 0 {
				b = pickWhere(rng, ref, b, func(n *refNode) bool { return len(n.holders) > 0 })
				if hs := g.Holders(nil, b); len(hs) > 0 {
					a = hs[rng.IntN(len(hs))]
				}
			}
			desc = fmt.Sprintf("%d releases %d", a, b)
			r1, e1 := g.Release(a, b, now)
			r2, e2 := ref.release(a, b)
			if kind(e1) != e2 || r1.ID != r2.ID || r1.By != r2.By || r1.Free != r2.Free || r1.Holder != r2.Holder {
				t.Fatalf("step %d %s: graph (%+v %v), ref (%+v %v)", step, desc, r1, e1, r2, e2)
			}
			if e1 == nil {
				kinds[4]++
			}
			if e1 == nil && !r1.Free {
				kinds[7]++
			}
		case op < 72:
			a := pick()
			desc = fmt.Sprintf("%d releases all", a)
			want := ref.held(a)
			rels, err := g.ReleaseAll(nil, a, now)
			var e2 error
			if ref.nodes[a] == nil {
				e2 = ErrUnknownNode
			}
			for _, id := range want {
				ref.release(a, id)
			}
			var got []NodeID
			for _, r := range rels {
				got = append(got, r.ID)
			}
			slices.Sort(got)
			if kind(err) != e2 || !slices.Equal(got, want) {
				t.Fatalf("step %d %s: graph %v %v, ref %v %v", step, desc, got, err, want, e2)
			}
		case op < 92:
			id, p := pick(), randPose(rng)
			desc = fmt.Sprintf("set %d and propagate it", id)
			if a, b := g.SetPose(id, p, now), ref.setPose(id, p); a != b {
				t.Fatalf("step %d %s: graph %v, ref %v", step, desc, a, b)
			}
			g.Propagate(id, nil)
			kinds[5]++
		default:
			desc = "set several, propagate all"
			for range 4 {
				id, p := pick(), randPose(rng)
				if a, b := g.SetPose(id, p, now), ref.setPose(id, p); a != b {
					t.Fatalf("step %d %s: SetPose(%d) graph %v, ref %v", step, desc, id, a, b)
				}
			}
			g.PropagateAll(nil)
			kinds[6]++
		}
		compareGraphs(t, step, desc, g, ref, ids)
		for id := range ref.nodes {
			d := 0
			for n := ref.nodes[id]; len(n.holders) > 0; n = ref.nodes[n.holders[0]] {
				d++
			}
			maxDepth = max(maxDepth, d)
		}
	}
	t.Logf("adds %d removes %d grabs %d takeovers %d releases %d (shared, still held %d) sets %d propagateAll %d",
		kinds[0], kinds[1], kinds[2], kinds[3], kinds[4], kinds[7], kinds[5], kinds[6])
	t.Logf("grab results %v, deepest chain %d", errs, maxDepth)
	if kinds[2] < steps/10 || kinds[3] == 0 || kinds[4] < steps/20 || kinds[7] == 0 || maxDepth < 4 ||
		errs[ErrCycle] == 0 || errs[ErrHeld] == 0 || errs[ErrTooFar] == 0 {
		t.Fatalf("sequence too tame to be a test: %v %v depth %d", kinds, errs, maxDepth)
	}
}

// pickWhere returns a random live node whose rules satisfy ok, or def.
func pickWhere(rng *rand.Rand, ref *refGraph, def NodeID, ok func(*refNode) bool) NodeID {
	var c []NodeID
	for id, n := range ref.nodes {
		if ok(n) {
			c = append(c, id)
		}
	}
	if len(c) == 0 {
		return def
	}
	slices.Sort(c)
	return c[rng.IntN(len(c))]
}

func compareGraphs(t *testing.T, step int, desc string, g *Graph, ref *refGraph, ids int) {
	t.Helper()
	checkInvariants(t, g)
	if g.Len() != len(ref.nodes) {
		t.Fatalf("step %d %s: %d nodes, ref %d", step, desc, g.Len(), len(ref.nodes))
	}
	var buf []NodeID
	for id := NodeID(0); id <= NodeID(ids); id++ {
		n := ref.nodes[id]
		if g.Has(id) != (n != nil) {
			t.Fatalf("step %d %s: Has(%d) %v", step, desc, id, g.Has(id))
		}
		if n == nil {
			continue
		}
		buf = g.Holders(buf[:0], id)
		if !slices.Equal(buf, n.holders) {
			t.Fatalf("step %d %s: holders of %d %v, ref %v", step, desc, id, buf, n.holders)
		}
		h, held := g.Holder(id)
		if held != (len(n.holders) > 0) || held && h != n.holders[0] || g.Held(id) != held {
			t.Fatalf("step %d %s: Holder(%d) %d %v, ref %v", step, desc, id, h, held, n.holders)
		}
		if d := poseDiff(g.Pose(id), ref.world(id)); d > 1e-9 {
			t.Fatalf("step %d %s: pose of %d off by %g", step, desc, id, d)
		}
	}
}
