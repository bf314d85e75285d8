package grab

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/arcadexr/arcade/geom"
)

var (
	hand   = Rules{Grabber: true}
	object = Rules{Grabbable: true}
	holder = Rules{Grabbable: true, Grabber: true} // racket, tongs
)

func randPose(r *rand.Rand) geom.Pose {
	q := geom.Quat{X: r.NormFloat64(), Y: r.NormFloat64(), Z: r.NormFloat64(), W: r.NormFloat64()}.Norm()
	return geom.Pose{Pos: geom.Vec3{X: r.Float64()*2 - 1, Y: r.Float64()*2 + 0.5, Z: r.Float64()*2 - 1}, Rot: q}
}

// poseDiff is the larger of the position distance and the rotation angle.
func poseDiff(a, b geom.Pose) float64 {
	d := a.Pos.Sub(b.Pos).Len()
	// Component difference up to sign: Angle's acos is too flat near 0.
	q, p := a.Rot, b.Rot
	if q.Dot(p) < 0 {
		p = geom.Quat{X: -p.X, Y: -p.Y, Z: -p.Z, W: -p.W}
	}
	return max(d, math.Abs(q.X-p.X), math.Abs(q.Y-p.Y), math.Abs(q.Z-p.Z), math.Abs(q.W-p.W))
}

func mustAdd(t testing.TB, g *Graph, id NodeID, r Rules, p geom.Pose) {
	t.Helper()
	if err := g.Add(id, r, p); err != nil {
		t.Fatal(err)
	}
}

func mustGrab(t testing.TB, g *Graph, a, b NodeID) {
	t.Helper()
	if _, _, err := g.Grab(a, b); err != nil {
		t.Fatal(err)
	}
}

// checkInvariants verifies the graph's internal structure against its
// definition: order is a preorder of the driving forest with correct
// positions and sizes, and holds are recorded on both ends.
func checkInvariants(t testing.TB, g *Graph) {
	t.Helper()
	if len(g.order) != len(g.index) || len(g.ids) != len(g.order) {
		t.Fatalf("order has %d entries, ids %d, index %d", len(g.order), len(g.ids), len(g.index))
	}
	for i, s := range g.order {
		nd := &g.nodes[s]
		if g.index[nd.id] != s || g.ids[i] != nd.id || nd.pos != int32(i) {
			t.Fatalf("order[%d]: slot %d id %d pos %d ids %d", i, s, nd.id, nd.pos, g.ids[i])
		}
		want := nd.driver
		if len(nd.holders) == 0 {
			if want != -1 {
				t.Fatalf("%d: driver %d with no holders", nd.id, want)
			}
		} else if want != nd.holders[0] {
			t.Fatalf("%d: driver %d, first holder %d", nd.id, want, nd.holders[0])
		}
		for _, h := range nd.holders {
			if !slices.Contains(g.nodes[h].holding, s) {
				t.Fatalf("%d held by %d, which does not list it", nd.id, g.nodes[h].id)
			}
		}
		for _, c := range nd.holding {
			if !slices.Contains(g.nodes[c].holders, s) {
				t.Fatalf("%d holds %d, which does not list it", nd.id, g.nodes[c].id)
			}
		}
		// The block after a node is exactly its driven subtree.
		end := int(nd.pos + nd.size)
		if end > len(g.order) {
			t.Fatalf("%d: block [%d,%d) past the end", nd.id, nd.pos, end)
		}
		for j := i + 1; j < end; j++ {
			a := g.order[j]
			for a >= 0 && a != s {
				a = g.nodes[a].driver
			}
			if a != s {
				t.Fatalf("%d: order[%d]=%d in its block is not driven by it", nd.id, j, g.ids[j])
			}
		}
		if nd.driver >= 0 {
			d := &g.nodes[nd.driver]
			if d.pos >= nd.pos || nd.pos+nd.size > d.pos+d.size {
				t.Fatalf("%d not inside its driver %d's block", nd.id, d.id)
			}
		}
	}
	// Sizes: each node's size is one plus its direct children's.
	sum := make(map[int32]int32)
	for _, s := range g.order {
		if d := g.nodes[s].driver; d >= 0 {
			sum[d] += g.nodes[s].size
		}
	}
	for _, s := range g.order {
		if g.nodes[s].size != 1+sum[s] {
			t.Fatalf("%d: size %d, want %d", g.nodes[s].id, g.nodes[s].size, 1+sum[s])
		}
	}
}

// TestChainSameCall: chains of depth 1..8 move entirely in the single
// Propagate that follows the hand's SetPose, to hand·offset₁·…·offsetₙ,
// whatever order the links were grabbed in.
func TestChainSameCall(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for depth := 1; depth <= 8; depth++ {
		for _, grabOrder := range []string{"root-first", "leaf-first", "random"} {
			g := New(16)
			ids := make([]NodeID, depth+1) // ids[0] is the hand
			for i := range ids {
				ids[i] = NodeID(100 + i)
				rules := holder
				if i == 0 {
					rules = hand
				}
				mustAdd(t, g, ids[i], rules, randPose(r))
			}
			// Some unrelated nodes, so the chain is not the whole order.
			mustAdd(t, g, 1, hand, randPose(r))
			mustAdd(t, g, 2, object, randPose(r))
			mustGrab(t, g, 1, 2)

			links := make([]int, depth) // link i: ids[i] grabs ids[i+1]
			for i := range links {
				links[i] = i
			}
			switch grabOrder {
			case "leaf-first":
				slices.Reverse(links)
			case "random":
				r.Shuffle(len(links), func(i, j int) { links[i], links[j] = links[j], links[i] })
			}
			offsets := make([]geom.Pose, depth)
			for _, i := range links {
				offsets[i] = g.Pose(ids[i]).Inverse().Mul(g.Pose(ids[i+1]))
				mustGrab(t, g, ids[i], ids[i+1])
			}
			checkInvariants(t, g)

			other := g.Pose(2)
			h := randPose(r)
			if !g.SetPose(ids[0], h, 1) {
				t.Fatal("SetPose of the hand refused")
			}
			var got []NodeID
			n := g.Propagate(ids[0], func(id NodeID, p geom.Pose) {
				got = append(got, id)
				if p != g.Pose(id) {
					t.Fatalf("moved(%d) pose differs from Pose", id)
				}
			})
			if n != depth || !slices.Equal(got, ids[1:]) {
				t.Fatalf("depth %d (%s): moved %v (n=%d), want %v in one call", depth, grabOrder, got, n, ids[1:])
			}
			if g.Pose(2) != other {
				t.Fatal("Propagate of one hand moved another hand's object")
			}
			want := h
			for i := 1; i <= depth; i++ {
				want = want.Mul(offsets[i-1])
				if d := poseDiff(g.Pose(ids[i]), want); d > 1e-12 {
					t.Fatalf("depth %d (%s): link %d off by %g", depth, grabOrder, i, d)
				}
			}
		}
	}
}

func TestCycleRefused(t *testing.T) {
	g := New(8)
	for id := NodeID(1); id <= 5; id++ {
		mustAdd(t, g, id, holder, geom.IdentityPose)
	}
	mustGrab(t, g, 1, 2) // 1 holds 2
	mustGrab(t, g, 2, 3) // 2 holds 3
	mustGrab(t, g, 3, 4) // 3 holds 4

	cases := []struct {
		grabber, target NodeID
		path            []NodeID
		text            string
	}{
		{2, 1, []NodeID{1, 2}, "1 already holds 2 through 1 → 2"},
		{4, 1, []NodeID{1, 2, 3, 4}, "1 already holds 4 through 1 → 2 → 3 → 4"},
		{4, 2, []NodeID{2, 3, 4}, "2 already holds 4 through 2 → 3 → 4"},
		{3, 3, nil, "3 cannot grab itself"},
	}
	for _, c := range cases {
		_, _, err := g.Grab(c.grabber, c.target)
		if !errors.Is(err, ErrCycle) {
			t.Fatalf("%d grabs %d: err %v, want ErrCycle", c.grabber, c.target, err)
		}
		var e *Error
		if !errors.As(err, &e) || !slices.Equal(e.Path, c.path) {
			t.Fatalf("%d grabs %d: path %v, want %v", c.grabber, c.target, e.Path, c.path)
		}
		if !strings.Contains(err.Error(), c.text) {
			t.Fatalf("%d grabs %d: %q lacks %q", c.grabber, c.target, err, c.text)
		}
	}
	if _, _, err := g.Grab(3, 3); !errors.Is(err, ErrSelf) {
		t.Fatalf("self grab: %v, want ErrSelf too", err)
	}
	// Passive holds count: 5 holds 4 passively (4 made Shared for that).
	g2 := New(8)
	mustAdd(t, g2, 1, holder, geom.IdentityPose)
	mustAdd(t, g2, 2, holder, geom.IdentityPose)
	mustAdd(t, g2, 3, Rules{Grabbable: true, Grabber: true, Shared: true}, geom.IdentityPose)
	mustGrab(t, g2, 1, 3) // 1 drives 3
	mustGrab(t, g2, 2, 3) // 2 holds 3 passively
	_, _, err := g2.Grab(3, 2)
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrCycle || !slices.Equal(e.Path, []NodeID{2, 3}) {
		t.Fatalf("grab through a passive hold: %v, want ErrCycle via 2 → 3", err)
	}
	// Unrelated grabs in the same graph still succeed.
	if _, _, err := g.Grab(5, 1); err != nil {
		t.Fatalf("5 grabs 1: %v", err)
	}
	checkInvariants(t, g)
}

func TestHandOff(t *testing.T) {
	g := New(8)
	mustAdd(t, g, 1, hand, geom.Pose{Pos: geom.Vec3{X: 0}, Rot: geom.Identity})
	mustAdd(t, g, 2, hand, geom.Pose{Pos: geom.Vec3{X: 1}, Rot: geom.Identity})
	mustAdd(t, g, 10, Rules{Grabbable: true, HandOff: TakeOver}, geom.Pose{Pos: geom.Vec3{X: 0.5}, Rot: geom.Identity})
	mustAdd(t, g, 11, Rules{Grabbable: true, HandOff: Refuse}, geom.Pose{Pos: geom.Vec3{X: 0.5}, Rot: geom.Identity})

	mustGrab(t, g, 1, 10)
	from, took, err := g.Grab(2, 10)
	if err != nil || !took || from != 1 {
		t.Fatalf("take over: from %d took %v err %v", from, took, err)
	}
	if h, _ := g.Holder(10); h != 2 || len(g.Holding(nil, 1)) != 0 {
		t.Fatalf("after take over holder %d, 1 holds %v", h, g.Holding(nil, 1))
	}
	// Taken over at the new hand's pose: it follows hand 2 from where it is.
	g.SetPose(2, geom.Pose{Pos: geom.Vec3{X: 1, Y: 1}, Rot: geom.Identity}, 1)
	g.Propagate(2, nil)
	if d := poseDiff(g.Pose(10), geom.Pose{Pos: geom.Vec3{X: 0.5, Y: 1}, Rot: geom.Identity}); d > 1e-12 {
		t.Fatalf("taken object at %v", g.Pose(10))
	}

	mustGrab(t, g, 1, 11)
	_, _, err = g.Grab(2, 11)
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrHeld || e.Holder != 1 {
		t.Fatalf("refuse: %v", err)
	}
	if h, _ := g.Holder(11); h != 1 {
		t.Fatalf("refused object moved to %d", h)
	}
	// Grabbing what you hold is a no-op.
	if from, took, err := g.Grab(1, 11); err != nil || took || from != 0 {
		t.Fatalf("re-grab: %d %v %v", from, took, err)
	}
	checkInvariants(t, g)
}

func TestSharedPromotion(t *testing.T) {
	g := New(8)
	mustAdd(t, g, 1, hand, geom.Pose{Pos: geom.Vec3{X: -0.3}, Rot: geom.Identity})
	mustAdd(t, g, 2, hand, geom.Pose{Pos: geom.Vec3{X: 0.3}, Rot: geom.Identity})
	mustAdd(t, g, 3, hand, geom.Pose{Pos: geom.Vec3{Z: 0.3}, Rot: geom.Identity})
	mustAdd(t, g, 10, Rules{Grabbable: true, Shared: true, HandOff: Refuse}, geom.IdentityPose)
	mustGrab(t, g, 1, 10)
	mustGrab(t, g, 2, 10) // shared: no refusal, no take over
	mustGrab(t, g, 3, 10)
	if got := g.Holders(nil, 10); !slices.Equal(got, []NodeID{1, 2, 3}) {
		t.Fatalf("holders %v", got)
	}
	// Only the driver moves it.
	g.SetPose(2, geom.Pose{Pos: geom.Vec3{X: 0.3, Y: 1}, Rot: geom.Identity}, 1)
	g.PropagateAll(nil)
	if g.Pose(10) != geom.IdentityPose {
		t.Fatalf("passive holder moved the object to %v", g.Pose(10))
	}
	rel, err := g.Release(1, 10, 2)
	if err != nil || rel.Free || rel.Holder != 2 {
		t.Fatalf("driver release: %+v %v", rel, err)
	}
	// No jump at promotion; then 2 drives it.
	g.PropagateAll(nil)
	if d := poseDiff(g.Pose(10), geom.IdentityPose); d > 1e-12 {
		t.Fatalf("promotion moved the object to %v", g.Pose(10))
	}
	g.SetPose(2, geom.Pose{Pos: geom.Vec3{X: 0.3, Y: 2}, Rot: geom.Identity}, 3)
	g.Propagate(2, nil)
	if d := poseDiff(g.Pose(10), geom.Pose{Pos: geom.Vec3{Y: 1}, Rot: geom.Identity}); d > 1e-12 {
		t.Fatalf("new driver left the object at %v", g.Pose(10))
	}
	rels, err := g.ReleaseAll(nil, 2, 4)
	if err != nil || len(rels) != 1 || rels[0].Holder != 3 {
		t.Fatalf("release all: %+v %v", rels, err)
	}
	rel, err = g.Release(3, 10, 5)
	if err != nil || !rel.Free {
		t.Fatalf("last release: %+v %v", rel, err)
	}
	if _, err := g.Release(3, 10, 5); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("release of a free object: %v", err)
	}
	checkInvariants(t, g)
}

func TestGrabChecks(t *testing.T) {
	g := New(8)
	mustAdd(t, g, 1, hand, geom.IdentityPose)
	mustAdd(t, g, 2, Rules{Grabbable: true, MaxDistance: 0.2}, geom.Pose{Pos: geom.Vec3{X: 0.3}, Rot: geom.Identity})
	mustAdd(t, g, 3, Rules{}, geom.IdentityPose)
	cases := []struct {
		a, b NodeID
		want error
	}{
		{1, 99, ErrUnknownNode},
		{99, 1, ErrUnknownNode},
		{1, 3, ErrNotGrabbable},
		{2, 3, ErrNotGrabber},
		{1, 2, ErrTooFar},
	}
	for _, c := range cases {
		if _, _, err := g.Grab(c.a, c.b); !errors.Is(err, c.want) {
			t.Fatalf("%d grabs %d: %v, want %v", c.a, c.b, err, c.want)
		}
	}
	g.SetPose(1, geom.Pose{Pos: geom.Vec3{X: 0.15}, Rot: geom.Identity}, 1)
	mustGrab(t, g, 1, 2)
	if g.SetPose(2, geom.IdentityPose, 2) {
		t.Fatal("SetPose of a held node accepted")
	}
	if err := g.Add(1, hand, geom.IdentityPose); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate add: %v", err)
	}
	rels, err := g.Remove(nil, 1, 3)
	if err != nil || len(rels) != 1 || rels[0].ID != 2 || !rels[0].Free || g.Held(2) {
		t.Fatalf("remove: %+v %v", rels, err)
	}
	if _, err := g.Remove(nil, 1, 3); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("second remove: %v", err)
	}
	checkInvariants(t, g)
}
