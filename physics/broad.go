package physics

import (
	"math"
	"slices"

	"github.com/arcadexr/arcade/geom"
)

// The broad phase is sweep and prune on one axis, mostly once into the
// step's candidate pairs (cand.go), which the sub-steps filter while they
// hold; the sweeps below are what a sub-step that cannot use them runs.
// World.bp.order keeps the body indices sorted by the low end of their
// bounds along the axis; a sub-step that reads it re-sorts it by
// insertion, which costs one pass when few bodies changed place (resting
// and sleeping ones never do). Each question the
// step asks (which awake bodies touch which, which awake bodies touch
// sleeping ones, which bodies a fast one may have passed into) filters
// that order into sorted lists of spans and sweeps them: a span only meets
// the spans that start before it ends, so the cost is the length of the
// lists plus the pairs that overlap along the axis, not the square of the
// count. Sleeping and static bodies enter a sweep only as the other side
// of an awake one, so they cost a comparison each.
//
// The candidate pairs are a superset of those the all-pairs loops accept:
// they are sorted and then filtered by the very tests of those loops, so
// the step sees the same pairs in the same order either way (World.brute
// keeps the all-pairs loops, for tests and comparison).
//
// The axis is the one along which the centres of the awake and moving
// bodies spread most (of all bodies but planes, when fewer than two are),
// since the sweeps cost the overlaps of those along it: chosen again at
// each Begin and changed only for one with twice the variance.

// span is a body's bounds in one sweep; lo and hi are its extent along the
// axis.
type span struct {
	lo, hi float64
	box    aabb
	m      float64 // sweepPairs' moving spans: the carry, or a box's reach
	i      int32
}

// broad is the broad phase's state and buffers.
type broad struct {
	axis    int
	dirty   bool    // order must be rebuilt (bodies were added or removed)
	order   []int32 // body indices by box.min along axis, then index
	a, b, c []span
	// sweepPairs' spans of the awake and moving bodies (d, of sw), the
	// fixed bodies (b, and the boxes and planes among them, h), the
	// queries swept against those (spheres f, boxes g)
	d, f, g, h []span
	sw         []sweepEnd
	slowPairs  [2]int // sweepPairs' slow sphere and box queries meeting a fast enough target
	pairs      []uint64
	tmp        []uint64 // sortPairs' buffer
	count      []int32  // sortPairs' buckets
	islands    []BodyID
	planes     []int32 // contactPairs' and sweepPairs' planes
	planeRefs  []planeRef
	moved      []int32 // bodies a sweep has moved, in this sub-step
	listed     int     // sleeping bodies wakeTouched's first round listed (tests)
	listedOf   []int32 // wakeCandidates' buffer for listed

	// The step's candidate pairs (cand.go).
	cand       []uint64  // pairs of overlapping fat bounds, one tracked, sorted
	candOK     bool      // cand holds until a bound is found outside
	candSweeps int       // how many times they were swept (tests)
	candWoken  int       // bodies trackWoken made tracked (tests)
	candUses   [3]int    // sub-steps whose waking, contacts, sweep used them (tests)
	loneSkips  int       // awake bodies the sweep left out, in no candidate pair (tests)
	role       []uint8   // by body index: its role in cand
	fat        []aabb    // by body index, for a role: its fat bounds
	swOf       []int32   // by body index: its sweepEnd in sweepPairs, or −1
	lone       []bool    // by body index, tracked: it is in no candidate pair
	planeGap   []float64 // by body index, tracked: its fat bounds' height above the nearest plane
	serial     uint64    // counts sub-steps begun and ended: the bounds stand within one
	checked    uint64    // the sub-step the candidates were last checked or swept in
	sorted     bool      // order is up to date for the sub-step
	tracked    []int32   // the tracked bodies, in order
	candPlanes []int32   // the planes, in order
	live, near []span    // buildCandidates' spans of the tracked and fixed bodies
}

// planeRef is a plane as contactPairs tests bodies against it: its
// normal, the magnitudes of the normal's components, its offset and its
// body index.
type planeRef struct {
	n, abs geom.Vec3
	off    float64
	i      int32
}

// sweepSlack pads the bounds of the sweep's broad phase beyond what its
// tests can reach, against rounding.
const sweepSlack = 1e-6

func (w *World) mkspan(i int32, box aabb) span {
	k := w.bp.axis
	return span{lo: comp(box.min, k), hi: comp(box.max, k), box: box, i: i}
}

// chooseAxis picks the sweep axis from the spread of the body centres, the
// awake and moving ones' if there are two.
func (w *World) chooseAxis() {
	var sum, sum2 [3]float64
	n := 0
	for pass := 0; pass < 2 && n < 2; pass++ {
		sum, sum2, n = [3]float64{}, [3]float64{}, 0
		for i := range w.bodies {
			b := &w.bodies[i]
			if b.shape.Kind == ShapePlane || (pass == 0 && !b.active() && !b.moving()) {
				continue
			}
			for k := 0; k < 3; k++ {
				x := comp(b.pose.Pos, k)
				sum[k] += x
				sum2[k] += x * x
			}
			n++
		}
	}
	if n < 2 {
		return
	}
	var v [3]float64
	best := 0
	for k := 0; k < 3; k++ {
		m := sum[k] / float64(n)
		v[k] = sum2[k]/float64(n) - m*m
		if v[k] > v[best] {
			best = k
		}
	}
	if v[best] > 2*v[w.bp.axis] {
		w.bp.axis = best
		w.bp.dirty = true
	}
}

// ensureOrder sorts bp.order if the sub-step has not yet: it is read
// only by the sweeps that build lists from it, which a sub-step that uses
// the step's candidates does not run.
func (w *World) ensureOrder() {
	if !w.bp.sorted {
		w.sortOrder()
	}
}

// sortOrder brings bp.order up to date with the bodies' bounds.
func (w *World) sortOrder() {
	bp := &w.bp
	bp.sorted = true
	n := len(w.bodies)
	key := func(i int32) float64 { return comp(w.bodies[i].box.min, bp.axis) }
	cmp := func(x, y int32) int {
		kx, ky := key(x), key(y)
		switch {
		case kx < ky:
			return -1
		case kx > ky:
			return 1
		}
		return int(x) - int(y)
	}
	if bp.dirty || len(bp.order) != n {
		bp.order = bp.order[:0]
		for i := 0; i < n; i++ {
			bp.order = append(bp.order, int32(i))
		}
		slices.SortFunc(bp.order, cmp)
		bp.dirty = false
		return
	}
	o := bp.order
	moves, limit := 0, 2*n+16
	for k := 1; k < n; k++ {
		x := o[k]
		m := k
		for m > 0 && cmp(x, o[m-1]) < 0 {
			o[m] = o[m-1]
			m--
		}
		o[m] = x
		if moves += k - m; moves > limit {
			slices.SortFunc(o, cmp)
			return
		}
	}
}

// sortSpans sorts s by lo, then body index: by insertion when it is
// nearly sorted already, as the lists filtered from bp.order are.
func sortSpans(s []span) {
	less := func(x, y *span) bool { return x.lo < y.lo || (x.lo == y.lo && x.i < y.i) }
	moves, limit := 0, 2*len(s)+16
	for k := 1; k < len(s); k++ {
		x := s[k]
		m := k
		for m > 0 && less(&x, &s[m-1]) {
			s[m] = s[m-1]
			m--
		}
		s[m] = x
		if moves += k - m; moves > limit {
			slices.SortFunc(s, func(x, y span) int {
				switch {
				case less(&x, &y):
					return -1
				case less(&y, &x):
					return 1
				}
				return 0
			})
			return
		}
	}
}

// selfPairs appends the pairs of s (sorted by lo) whose boxes overlap, as
// lower index << 32 | higher index.
func selfPairs(s []span, out []uint64) []uint64 {
	for k := range s {
		a := &s[k]
		for m := k + 1; m < len(s) && s[m].lo <= a.hi; m++ {
			if a.box.overlaps(s[m].box) {
				out = append(out, pairKey(a.i, s[m].i))
			}
		}
	}
	return out
}

// crossPairs appends the pairs of a span of s and a span of t (both sorted
// by lo) whose boxes overlap, as s's index << 32 | t's index; a body in
// both lists is not paired with itself.
func crossPairs(s, t []span, out []uint64) []uint64 {
	i, j := 0, 0
	for i < len(s) && j < len(t) {
		if s[i].lo <= t[j].lo {
			a := &s[i]
			for k := j; k < len(t) && t[k].lo <= a.hi; k++ {
				if a.i != t[k].i && a.box.overlaps(t[k].box) {
					out = append(out, uint64(a.i)<<32|uint64(t[k].i))
				}
			}
			i++
			continue
		}
		b := &t[j]
		for k := i; k < len(s) && s[k].lo <= b.hi; k++ {
			if s[k].i != b.i && s[k].box.overlaps(b.box) {
				out = append(out, uint64(s[k].i)<<32|uint64(b.i))
			}
		}
		j++
	}
	return out
}

// sortPairs sorts bp.pairs, keys of two body indices below n: by
// counting sort on the second index, then (stably) on the first, so the
// cost is linear in the pairs and bodies.
func (bp *broad) sortPairs(n int) {
	if len(bp.pairs) < 256 {
		slices.Sort(bp.pairs)
		return
	}
	if cap(bp.count) < n+1 {
		bp.count = make([]int32, n+1)
	}
	bp.tmp = slices.Grow(bp.tmp[:0], len(bp.pairs))[:len(bp.pairs)]
	src, dst := bp.pairs, bp.tmp
	for _, shift := range [2]uint{0, 32} {
		count := bp.count[:n+1]
		clear(count)
		for _, p := range src {
			count[uint32(p>>shift)+1]++
		}
		for k := 1; k <= n; k++ {
			count[k] += count[k-1]
		}
		for _, p := range src {
			d := uint32(p >> shift)
			dst[count[d]] = p
			count[d]++
		}
		src, dst = dst, src
	}
	bp.pairs, bp.tmp = src, dst
}

func pairKey(a, b int32) uint64 {
	if a > b {
		a, b = b, a
	}
	return uint64(a)<<32 | uint64(b)
}

// contactPairs sets bp.pairs to the candidate pairs of collide in a
// sub-step of h, sorted: pairs of bodies not asleep, one of them awake and
// dynamic, whose bounds grown by margin overlap and, if one is a plane,
// that planeApart does not keep apart (collide would find no point).
func (w *World) contactPairs(h float64) {
	bp := &w.bp
	bp.pairs = bp.pairs[:0]
	if w.brute {
		for i := range w.bodies {
			a := &w.bodies[i]
			if a.sleeping {
				continue
			}
			for j := i + 1; j < len(w.bodies); j++ {
				b := &w.bodies[j]
				if b.sleeping || (!a.active() && !b.active()) || !contactCandidate(a, b, h) {
					continue
				}
				bp.pairs = append(bp.pairs, uint64(i)<<32|uint64(j))
			}
		}
		return
	}
	if !w.anyAwake(false) {
		return
	}
	if w.candidates() {
		bp.candUses[1]++
		w.contactCandidatePairs(h)
		act := bp.a[:0]
		for _, i := range bp.tracked {
			if b := &w.bodies[i]; b.active() {
				act = append(act, span{i: i})
			}
		}
		bp.a = act
		w.planePairs(act, bp.candPlanes, h, true)
		return
	}
	w.ensureOrder()
	act, other, planes := bp.a[:0], bp.b[:0], bp.planes[:0]
	var reach aabb // of act
	for _, i := range bp.order {
		b := &w.bodies[i]
		switch {
		case b.sleeping:
		case b.active():
			s := w.mkspan(i, b.box.grow(margin))
			if len(act) == 0 {
				reach = s.box
			}
			act = append(act, s)
			reach = reach.union(s.box)
		case b.shape.Kind == ShapePlane:
			planes = append(planes, i)
		default:
			other = append(other, w.mkspan(i, b.box.grow(margin)))
		}
	}
	if len(act) == 0 {
		bp.a, bp.b, bp.planes = act, other, planes
		return
	}
	// The others out of reach of every awake body meet none.
	near := other[:0]
	for _, s := range other {
		if s.box.overlaps(reach) {
			near = append(near, s)
		}
	}
	bp.a, bp.b, bp.planes = act, near, planes
	bp.pairs = selfPairs(act, bp.pairs)
	bp.pairs = crossPairs(act, near, bp.pairs)
	// The exact test of the all-pairs loop, on the pair in index order.
	out := bp.pairs[:0]
	for _, p := range bp.pairs {
		p = pairKey(int32(p>>32), int32(uint32(p)))
		if contactCandidate(&w.bodies[p>>32], &w.bodies[uint32(p)], h) {
			out = append(out, p)
		}
	}
	bp.pairs = out
	w.planePairs(act, planes, h, false)
}

// planePairs appends to bp.pairs the pairs of the awake bodies of act
// and the planes that contactCandidate accepts, then sorts bp.pairs. With
// cand, the bodies are tracked by the step's candidates, whose fat bounds
// may keep them from every plane.
func (w *World) planePairs(act []span, planes []int32, h float64, cand bool) {
	bp := &w.bp
	if len(planes) == 0 {
		bp.sortPairs(len(w.bodies))
		return
	}
	// Planes span the axis: each awake body meets each plane, but there
	// are few planes, and most bodies are apart from most of them. This is
	// contactCandidate's test, with the body's centre and extents and its
	// sweptMargin (the same for every plane, which stands still) found
	// once, the latter only when margin alone keeps it apart from one.
	// The planes' normals, their components' magnitudes and offsets are
	// read once, not once a body.
	pl := w.planeRefs(planes)
	for _, s := range act {
		a := &w.bodies[s.i]
		ext := -1.0
		if cand && bp.planeGap[s.i] > margin+sweepSlack+planeTol {
			// Its fat bounds, and so its bounds, lie further above every
			// plane than margin alone keeps it.
			ext = sweptMargin(a, &w.bodies[pl[0].i], h)
			if bp.planeGap[s.i] > margin+ext+sweepSlack+planeTol {
				continue
			}
		}
		c, e := boxCentre(a.box)
		for k := range pl {
			p := &pl[k]
			// planeLow, term for term.
			low := p.n.Dot(c) - p.abs.X*e.X - p.abs.Y*e.Y - p.abs.Z*e.Z - p.off
			if low > margin+sweepSlack {
				if ext < 0 {
					ext = sweptMargin(a, &w.bodies[p.i], h)
				}
				if low > margin+ext+sweepSlack {
					continue
				}
			}
			bp.pairs = append(bp.pairs, pairKey(s.i, p.i))
		}
	}
	bp.sortPairs(len(w.bodies))
}

// planeRefs returns the planeRefs of planes, in bp.planeRefs.
func (w *World) planeRefs(planes []int32) []planeRef {
	pl := w.bp.planeRefs[:0]
	for _, j := range planes {
		sh := &w.bodies[j].shape
		n := sh.Normal
		pl = append(pl, planeRef{n: n, abs: geom.Vec3{X: math.Abs(n.X), Y: math.Abs(n.Y), Z: math.Abs(n.Z)}, off: sh.Offset, i: j})
	}
	w.bp.planeRefs = pl
	return pl
}

// contactCandidate is contactPairs' test of the bounds of a and b, a the
// body of the lower index.
func contactCandidate(a, b *body, h float64) bool {
	return a.box.grow(margin).overlaps(b.box) && !planeApart(a, b, margin+sweptMargin(a, b, h))
}

// anyAwake reports whether some dynamic body is awake, or, with moving,
// some kinematic body moves: when none is, a sub-step has no pairs to find.
func (w *World) anyAwake(moving bool) bool {
	for i := range w.bodies {
		if b := &w.bodies[i]; b.active() || (moving && b.moving()) {
			return true
		}
	}
	return false
}

// wakeTouched wakes the islands of sleeping bodies touched by awake dynamic
// bodies or moving kinematic ones, until no more wake.
func (w *World) wakeTouched() {
	if w.brute {
		w.wakeTouchedBrute()
		return
	}
	if !w.anyAwake(true) {
		return
	}
	bp := &w.bp
	if w.candidates() {
		bp.candUses[0]++
		w.wakeCandidates()
		// Some wake: they are tracked from here on, with fat bounds and
		// pairs of their own (with the others asleep among them), and the
		// next round pairs them with those still asleep.
		for len(bp.islands) > 0 {
			slices.Sort(bp.islands)
			bp.islands = slices.Compact(bp.islands)
			w.trackWoken()
			w.wakeCandidates()
		}
		return
	}
	w.ensureOrder()
	front := bp.a[:0]
	var reach aabb // of the first front
	for _, i := range bp.order {
		if b := &w.bodies[i]; b.active() || b.moving() {
			s := w.mkspan(i, b.box.grow(margin))
			if len(front) == 0 {
				reach = s.box
			}
			front = append(front, s)
			reach = reach.union(s.box)
		}
	}
	// The first round needs only the sleeping bodies within reach of the
	// awake ones; once it wakes some, the others are all listed.
	asleep := w.asleepSpans(bp.b[:0], &reach)
	bp.listed = len(asleep)
	all := false
	// Each round pairs the bodies woken by the last (at first, all awake
	// ones) with those still asleep.
	for len(front) > 0 && len(asleep) > 0 {
		bp.pairs = crossPairs(front, asleep, bp.pairs[:0])
		bp.islands = bp.islands[:0]
		for _, p := range bp.pairs {
			a, b := &w.bodies[p>>32], &w.bodies[uint32(p)]
			if !a.box.grow(margin).overlaps(b.box) {
				continue
			}
			if _, c := collide(a, b, margin, &w.scratch); c > 0 {
				bp.islands = append(bp.islands, b.island)
			}
		}
		if len(bp.islands) == 0 {
			break
		}
		slices.Sort(bp.islands)
		bp.islands = slices.Compact(bp.islands)
		if !all {
			asleep, all = w.asleepSpans(asleep[:0], nil), true
		}
		front = front[:0]
		still := asleep[:0]
		for _, s := range asleep {
			b := &w.bodies[s.i]
			if _, found := slices.BinarySearch(bp.islands, b.island); found {
				b.sleeping, b.sleepTime = false, 0
				front = append(front, s)
				continue
			}
			still = append(still, s)
		}
		asleep = still
	}
	bp.a, bp.b = front, asleep
}

// asleepSpans appends the spans of the sleeping bodies, in order, grown by
// margin: those that meet within, if not nil.
func (w *World) asleepSpans(out []span, within *aabb) []span {
	for _, i := range w.bp.order {
		b := &w.bodies[i]
		if !b.sleeping {
			continue
		}
		box := b.box.grow(margin)
		if within != nil && !box.overlaps(*within) {
			continue
		}
		out = append(out, w.mkspan(i, box))
	}
	return out
}

// wakeTouchedBrute is wakeTouched over all pairs.
func (w *World) wakeTouchedBrute() {
	for changed := true; changed; {
		changed = false
		for i := range w.bodies {
			a := &w.bodies[i]
			if !a.active() && !a.moving() {
				continue
			}
			grown := a.box.grow(margin)
			for j := range w.bodies {
				b := &w.bodies[j]
				if !b.sleeping || !grown.overlaps(b.box) {
					continue
				}
				if _, c := collide(a, b, margin, &w.scratch); c > 0 {
					w.wakeIsland(b.island)
					changed = true
				}
			}
		}
	}
}

// sweepPairs sets bp.pairs to the candidates of the sweep, sorted: pairs
// (i, j) of an awake dynamic body i and any other j whose tests in
// sweepBall or sweepBoxBody could pass, with j at its integrated pose.
//
// i's query bounds hold its bounds at the start and end of the sub-step.
// j's target bounds hold its bounds grown by its reach (what a swept box
// tests) and, for a moving j, its end bounds grown by how far the point
// under a swept sphere is carried: |v|·h plus |ω|·h times that point's
// distance from j's centre. A sphere whose path meets j's end bounds is at
// most |ds| + √3·(r + ccdGap) + the carry from them (ds its own motion), so
// the distance D is at most (S + e + d + |v|·h) / (1 − |ω|·h) with S the
// largest such reach of any sphere, e the half diagonal of j's bounds and
// d j's motion over the sub-step.
//
// The awake and moving bodies are one list, each with its query and
// target bounds and their union, swept once against itself: a pair whose
// unions meet is tested both ways, i's query against j's target, with
// the conditions below.
func (w *World) sweepPairs(h float64) {
	bp := &w.bp
	bp.pairs = bp.pairs[:0]
	bp.slowPairs = [2]int{}
	reach, any := 0.0, false // S above
	awake := func(b *body) {
		any = any || b.active()
		if b.active() && b.shape.Kind == ShapeSphere {
			reach = max(reach, b.pose.Pos.Sub(b.start).Len()+math.Sqrt(3)*(b.shape.Radius+ccdGap))
		}
	}
	if w.candidatesHold() {
		// Every awake body is tracked.
		for _, i := range bp.tracked {
			awake(&w.bodies[i])
		}
	} else {
		for i := range w.bodies {
			awake(&w.bodies[i])
		}
	}
	if !any {
		return
	}
	// Pairs the sweeps would skip by their first tests are left out: an
	// awake body is paired with the fixed ones only if it moved far enough
	// to be swept against one (sweepsFixed; their spans are built only
	// then), and a box (which spheres sweep themselves against) only with
	// boxes and planes. So an awake sphere's query meets every moving
	// body's target, a box's the moving boxes'.
	//
	// And slow bodies meet only fast ones. A sphere that moved less than
	// half the distance that gets it swept (ccdFraction of its radius) is
	// slow; it is swept against a body only if its own motion plus that
	// body's carry (which bounds the motion of the point under it, if their
	// bounds meet at all) exceeds that distance, so a slow sphere meets
	// only the moving bodies whose carry is at least the margin it has left
	// (need, less 1 %, against rounding). Likewise a box whose reach is
	// below half its threshold meets only the moving boxes whose reach is
	// at least its margin. When, as at rest, nothing moves fast, the slow
	// bodies meet nothing.
	if w.sweepFromCandidates(h, reach) {
		return
	}
	w.ensureOrder()
	all, sw := bp.d[:0], bp.sw[:0]
	qfs, qfb := bp.f[:0], bp.g[:0] // queries of the bodies swept against fixed ones
	fixed, fb := bp.b[:0], bp.h[:0]
	far, queries := false, 0
	var freach aabb // of qfs and qfb: fixed bodies beyond it meet none
	for _, i := range bp.order {
		b := &w.bodies[i]
		if !b.active() && !b.moving() {
			continue
		}
		sw = growEnds(sw)
		e := &sw[len(sw)-1]
		u := w.sweepEndOf(e, i, h, reach)
		if e.query != queryNone {
			queries++
		}
		if e.fixed != fixedNone {
			// Far bodies are fast.
			far = true
			s := w.mkspan(i, e.q)
			if len(qfs)+len(qfb) == 0 {
				freach = s.box
			}
			freach = freach.union(s.box)
			if e.fixed == fixedSphere {
				qfs = append(qfs, s)
			} else {
				qfb = append(qfb, s)
			}
		}
		all = append(all, w.mkspan(int32(len(sw)-1), u))
	}
	bp.d, bp.sw, bp.f, bp.g = all, sw, qfs, qfb
	if queries == 0 {
		bp.b, bp.h = fixed, fb
		return
	}
	sortSpans(all)
	for k := range all {
		x := &all[k]
		for m := k + 1; m < len(all) && all[m].lo <= x.hi; m++ {
			if !x.box.overlaps(all[m].box) {
				continue
			}
			a, c := &sw[x.i], &sw[all[m].i]
			bp.sweepPair(a, c)
			bp.sweepPair(c, a)
		}
	}
	if far {
		sortSpans(qfs)
		sortSpans(qfb)
		planes := bp.planes[:0]
		for _, i := range bp.order {
			b := &w.bodies[i]
			if b.active() || b.moving() {
				continue
			}
			if b.shape.Kind == ShapePlane {
				planes = append(planes, i)
				continue
			}
			box := b.box.grow(sweepSlack)
			if !box.overlaps(freach) {
				continue
			}
			s := w.mkspan(i, box)
			fixed = append(fixed, s)
			if b.shape.Kind != ShapeSphere {
				fb = append(fb, s)
			}
		}
		bp.planes = planes
		w.sweepPlanePairs(qfs, planes, false)
		w.sweepPlanePairs(qfb, planes, true)
	}
	bp.b, bp.h = fixed, fb
	bp.pairs = crossPairs(qfs, fixed, bp.pairs)
	bp.pairs = crossPairs(qfb, fb, bp.pairs)
	bp.sortPairs(len(w.bodies))
}

// sweepEndOf sets *e to the sweepEnd of the awake or moving body i in a
// sub-step of h, with reach the S of sweepPairs, and returns the union of
// its query and target bounds. It fills e in place, in the caller's
// slice: a sweepEnd is large, and this runs for every awake body in every
// sub-step.
func (w *World) sweepEndOf(e *sweepEnd, i int32, h, reach float64) aabb {
	b := &w.bodies[i]
	end := bounds(&b.shape, b.pose)
	vh, turn := b.vel.Len()*h, b.angVel.Len()*h
	moved := b.pose.Pos.Sub(b.start).Len()
	carry := math.Inf(1)
	if turn < 0.5 {
		half := end.max.Sub(end.min).Scale(0.5).Len()
		carry = vh + turn*(reach+half+moved+vh)/(1-turn)
	}
	*e = sweepEnd{
		t:     b.box.grow(b.reach).union(end.grow(carry)).grow(sweepSlack),
		carry: carry, reach: b.reach, box: b.shape.Kind == ShapeBox,
		need: math.Inf(-1), body: i,
	}
	if !b.active() {
		return e.t
	}
	if b.shape.Kind == ShapeSphere {
		path := aabb{min: b.start, max: b.start}.union(aabb{min: b.pose.Pos, max: b.pose.Pos}).grow(b.shape.Radius + ccdGap)
		e.q, e.query = path.grow(sweepSlack), querySphere
		if thr := ccdFraction * b.shape.Radius; moved <= thr/2 {
			e.need, e.query = 0.99*(thr-moved), querySlowSphere
		}
	} else {
		e.q, e.query = b.box.union(end).grow(ccdGap).grow(sweepSlack), queryBox
		ha := b.shape.Half
		if thr := ccdFraction * min(ha.X, ha.Y, ha.Z); b.reach <= thr/2 {
			e.need, e.query = 0.99*(thr-b.reach), querySlowBox
		}
	}
	if sweepsFixed(b) {
		e.fixed = fixedSphere
		if b.shape.Kind != ShapeSphere {
			e.fixed = fixedBox
		}
	}
	return e.t.union(e.q)
}

// growEnds returns sw one longer, the new sweepEnd left as it was (its
// backing array's old contents): sweepEndOf sets all of it.
func growEnds(sw []sweepEnd) []sweepEnd {
	if len(sw) < cap(sw) {
		return sw[:len(sw)+1]
	}
	return append(sw, sweepEnd{})
}

// sweepPlanePairs appends the pairs of the queries q (of spheres, or of
// boxes) and the planes that the sweep could find touching. Planes span
// every axis, so each is tested apart: a sphere whose query bounds (its
// path grown by more than its radius) lie above a plane ends the sub-step
// further than ccdGap above it, which sweepPlane does not take for a hit;
// a box whose query bounds (its start and end bounds) lie higher above a
// plane than its reach plus ccdTouch starts further than ccdTouch from it
// and, its points moving at most its reach, cannot close that in the
// sub-step, so toi advances past the end in its first step.
func (w *World) sweepPlanePairs(q []span, planes []int32, boxes bool) {
	bp := &w.bp
	for _, s := range q {
		keep := sweepSlack
		if boxes {
			keep = w.bodies[s.i].reach + ccdTouch
		}
		c, e := boxCentre(s.box)
		for _, j := range planes {
			if planeLow(c, e, &w.bodies[j].shape) > keep {
				continue
			}
			bp.pairs = append(bp.pairs, uint64(s.i)<<32|uint64(j))
		}
	}
}

// sweepEnd is one awake or moving body in sweepPairs: the bounds it is
// swept in (its query, if awake) and those it is swept against (its
// target).
type sweepEnd struct {
	q, t         aabb
	carry, reach float64 // of its target: a sphere's test, a box's
	need         float64 // a slow query: the least carry or reach it meets
	body         int32
	query        int8 // its query's kind, or none (a moving kinematic body)
	fixed        int8 // whether it is swept against fixed bodies (sweepsFixed), and which
	box          bool // its target is a box
}

// The kinds of sweepEnd.query.
const (
	queryNone = iota
	querySphere
	querySlowSphere
	queryBox
	querySlowBox
)

// sweepPair appends (a, b) to bp.pairs if b's target may be swept into by
// a's query: a sphere meets any target, a box only boxes; a slow one only
// targets moving fast enough for it.
func (bp *broad) sweepPair(a, b *sweepEnd) {
	switch a.query {
	case queryNone:
		return
	case querySphere:
	case querySlowSphere:
		if b.carry < a.need {
			return
		}
		bp.slowPairs[0]++
	case queryBox, querySlowBox:
		if !b.box {
			return
		}
		if a.query == querySlowBox {
			if b.reach < a.need {
				return
			}
			bp.slowPairs[1]++
		}
	}
	if a.q.overlaps(b.t) {
		bp.pairs = append(bp.pairs, uint64(a.body)<<32|uint64(b.body))
	}
}

// sweepsFixed reports whether awake body b moved far enough in the
// sub-step for sweepBall or sweepBoxBody to sweep it against a static,
// sleeping or unmoving kinematic body, by their very tests: a sphere more
// than ccdFraction of its radius, a box (whose reach the other's, 0, adds
// to) more than ccdFraction of its smallest half extent.
func sweepsFixed(b *body) bool {
	switch b.shape.Kind {
	case ShapeSphere:
		r := b.shape.Radius
		return !(b.pose.Pos.Sub(b.start).Len2() <= (ccdFraction*r)*(ccdFraction*r))
	case ShapeBox:
		ha := b.shape.Half
		return !(b.reach+0 <= ccdFraction*min(ha.X, min(ha.Y, ha.Z)))
	}
	return false
}

// sweepCandidates calls fn for the bodies i is swept against, in increasing
// index order: all others for the all-pairs loop, else i's candidates from
// pairs (i's run of sweepPairs) and, if moved, the bodies moved by sweeps
// so far (whose end bounds sweepPairs did not know).
func (w *World) sweepCandidates(i int, pairs []uint64, moved bool, fn func(j int)) {
	if w.brute {
		for j := range w.bodies {
			if j != i {
				fn(j)
			}
		}
		return
	}
	var mv []int32
	if moved {
		mv = w.bp.moved
	}
	k, m := 0, 0
	for k < len(pairs) || m < len(mv) {
		var j int
		switch {
		case m == len(mv) || (k < len(pairs) && int(uint32(pairs[k])) < int(mv[m])):
			j = int(uint32(pairs[k]))
			k++
		case k == len(pairs) || int(mv[m]) < int(uint32(pairs[k])):
			j = int(mv[m])
			m++
		default:
			j = int(mv[m])
			k++
			m++
		}
		if j != i {
			fn(j)
		}
	}
}
