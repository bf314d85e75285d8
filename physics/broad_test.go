package physics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/arcadexr/arcade/geom"
)

// randomScene fills w with a floor, a tilted plane, static boxes, two
// kinematic boxes and n dynamic spheres and boxes scattered over a region
// whose proportions depend on the seed, some of them fast and spinning.
func randomScene(t testing.TB, w *World, seed uint64, n int) {
	r := rand.New(rand.NewPCG(seed, 7))
	m := func() Material {
		return Material{Restitution: 0.6 * r.Float64(), Friction: r.Float64(), Rolling: 0.02 * r.Float64()}
	}
	mustAdd(t, w, 1, BodyDef{Shape: Plane(v3(0, 1, 0), 0), Kind: Static, Material: m()})
	mustAdd(t, w, 2, BodyDef{Shape: Plane(v3(1, 0.2, 0), -3), Kind: Static, Material: m()})
	size := v3(1+4*r.Float64(), 1+3*r.Float64(), 1+4*r.Float64())
	rot := func() geom.Quat {
		return geom.AxisAngle(v3(r.Float64()-0.5, r.Float64()-0.5, r.Float64()-0.5).Add(v3(0, 0.01, 0)), 6*r.Float64())
	}
	pos := func() geom.Vec3 {
		return v3(size.X*(r.Float64()-0.5), 0.05+size.Y*r.Float64(), size.Z*(r.Float64()-0.5))
	}
	for k := 0; k < 6; k++ {
		mustAdd(t, w, BodyID(10+k), BodyDef{Shape: Box(v3(0.05+r.Float64(), 0.02+0.3*r.Float64(), 0.05+r.Float64())), Kind: Static,
			Pose: geom.Pose{Pos: pos(), Rot: rot()}, Material: m()})
	}
	for k := 0; k < 2; k++ {
		mustAdd(t, w, BodyID(20+k), BodyDef{Shape: Box(v3(0.3, 0.05, 0.3)), Kind: Kinematic, Mass: 1,
			Pose: geom.Pose{Pos: pos(), Rot: rot()}, Material: m()})
	}
	for k := 0; k < n; k++ {
		def := BodyDef{Pose: geom.Pose{Pos: pos(), Rot: rot()}, Material: m(), Mass: 0.1 + r.Float64()}
		if k%2 == 0 {
			def.Shape = Sphere(0.02 + 0.13*r.Float64())
		} else {
			def.Shape = Box(v3(0.01+0.19*r.Float64(), 0.01+0.19*r.Float64(), 0.01+0.19*r.Float64()))
		}
		switch k % 7 {
		case 0: // fast: swept
			def.Vel = v3(30*(r.Float64()-0.5), 20*(r.Float64()-0.5), 30*(r.Float64()-0.5))
			def.AngVel = v3(60*(r.Float64()-0.5), 60*(r.Float64()-0.5), 60*(r.Float64()-0.5))
		case 1, 2:
			def.Vel = v3(2*(r.Float64()-0.5), 0, 2*(r.Float64()-0.5))
		}
		mustAdd(t, w, BodyID(100+k), def)
	}
}

// disturb moves the kinematic boxes and, now and then, throws, teleports,
// removes and adds bodies: the same calls for the same frame and seed.
func disturb(w *World, seed uint64, frame int) {
	r := rand.New(rand.NewPCG(seed, uint64(frame)))
	for k := 0; k < 2; k++ {
		ph := float64(frame)*tick*(1+float64(k)) + float64(k)
		w.SetKinematicPose(BodyID(20+k), geom.Pose{
			Pos: v3(2*math.Sin(ph), 0.3+0.25*math.Sin(2*ph), 2*math.Sin(1.3*ph+1)),
			Rot: geom.AxisAngle(v3(0, 1, 0), ph),
		})
	}
	if frame%37 == 0 {
		id := BodyID(100 + r.IntN(60))
		w.SetVelocity(id, v3(20*(r.Float64()-0.5), 10*r.Float64(), 20*(r.Float64()-0.5)), v3(0, 40*r.Float64(), 0))
	}
	if frame%53 == 0 {
		w.SetPose(BodyID(100+r.IntN(60)), at(r.Float64()-0.5, 1+r.Float64(), r.Float64()-0.5))
	}
	if frame%97 == 0 {
		id := BodyID(100 + r.IntN(60))
		w.Remove(id)
		w.Add(id, BodyDef{Shape: Sphere(0.05 + 0.1*r.Float64()), Mass: 0.5, Pose: at(r.Float64()-0.5, 2, r.Float64()-0.5),
			Material: Material{Restitution: 0.5, Friction: 0.5}})
	}
}

type bodyState struct {
	id       BodyID
	p        geom.Pose
	lin, ang geom.Vec3
	sleeping bool
}

func states(w *World) []bodyState {
	var s []bodyState
	w.Bodies(func(id BodyID, p geom.Pose, sl bool) {
		lin, ang := w.Velocity(id)
		s = append(s, bodyState{id, p, lin, ang, sl})
	})
	return s
}

type contactReport struct {
	a, b BodyID
	p    geom.Vec3
	j    float64
}

func reports(w *World) []contactReport {
	var s []contactReport
	w.Contacts(func(a, b BodyID, p geom.Vec3, j float64) { s = append(s, contactReport{a, b, p, j}) })
	return s
}

// TestBroadPhaseAgainstBrute: on random scenes, the sweep-and-prune
// candidates of every sub-step's contact search are exactly the all-pairs
// loop's, and a world stepped with the broad phase stays bit-identical
// (poses, velocities, sleep, contact reports) to one stepped with the
// all-pairs loops, through waking, sleeping, sweeping, teleports, removals
// and additions; the scenes take the shortcuts of waking (sleeping bodies
// out of reach left aside) and of the sweep (slow bodies paired only with
// fast ones).
func TestBroadPhaseAgainstBrute(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4}
	frames := 240
	if testing.Short() {
		seeds, frames = seeds[:2], 120
	}
	// Sub-steps in which waking left sleeping bodies out of reach aside,
	// and in which the sweep paired slow spheres and slow boxes with the
	// moving bodies fast enough for them.
	culled, slowSpheres, slowBoxes, woken := 0, 0, 0, 0
	for _, seed := range seeds {
		fast, slow := newWorld(t, Config{}), newWorld(t, Config{})
		slow.brute = true
		randomScene(t, fast, seed, 120)
		randomScene(t, slow, seed, 120)
		pairs, swept, asleep := 0, 0, 0
		for f := 1; f <= frames; f++ {
			disturb(fast, seed, f)
			disturb(slow, seed, f)
			nf, ns := fast.Begin(tick), slow.Begin(tick)
			if nf != ns {
				t.Fatalf("seed %d frame %d: %d vs %d sub-steps", seed, f, nf, ns)
			}
			for i := 0; i < nf; i++ {
				// The candidates collide will see, both ways, on the fast world.
				fast.sortOrder()
				fast.contactPairs(fast.stepH)
				got := slices.Clone(fast.bp.pairs)
				fast.brute = true
				fast.contactPairs(fast.stepH)
				fast.brute = false
				if !slices.Equal(got, fast.bp.pairs) {
					t.Fatalf("seed %d frame %d sub-step %d: broad phase pairs %d, all pairs %d", seed, f, i, len(got), len(fast.bp.pairs))
				}
				pairs += len(got)
				// Waking again changes nothing (the sub-step wakes the same
				// islands first); it leaves the first round's list of
				// sleeping bodies, those within reach of the awake ones.
				sleeping := 0
				for k := range fast.bodies {
					if fast.bodies[k].sleeping {
						sleeping++
					}
				}
				fast.wakeTouched()
				if fast.bp.listed < sleeping {
					culled++
				}
				fast.SubStep(i)
				slow.SubStep(i)
				swept += len(fast.bp.moved)
				if fast.bp.slowPairs[0] > 0 {
					slowSpheres++
				}
				if fast.bp.slowPairs[1] > 0 {
					slowBoxes++
				}
			}
			fast.End()
			slow.End()
			sf, ss := states(fast), states(slow)
			if !slices.Equal(sf, ss) {
				for k := range sf {
					if k < len(ss) && sf[k] != ss[k] {
						t.Fatalf("seed %d frame %d: body %d: %+v, all pairs %+v", seed, f, sf[k].id, sf[k], ss[k])
					}
				}
				t.Fatalf("seed %d frame %d: %d bodies vs %d", seed, f, len(sf), len(ss))
			}
			if !slices.Equal(reports(fast), reports(slow)) {
				t.Fatalf("seed %d frame %d: contact reports differ", seed, f)
			}
		}
		for _, s := range states(fast) {
			if s.sleeping {
				asleep++
			}
		}
		t.Logf("seed %d: axis %d, %d contact candidates, %d swept hits, %d of %d asleep at the end; step candidates swept %d times, used by %v sub-steps (wake, contact, sweep), %d bodies woken into them",
			seed, fast.bp.axis, pairs, swept, asleep, len(fast.bodies), fast.bp.candSweeps, fast.bp.candUses, fast.bp.candWoken)
		woken += fast.bp.candWoken
	}
	t.Logf("sub-steps: %d waking with sleeping bodies out of reach, %d sweeping slow spheres, %d slow boxes against fast ones",
		culled, slowSpheres, slowBoxes)
	if slowSpheres == 0 || slowBoxes == 0 || woken == 0 || (culled == 0 && !testing.Short()) {
		t.Errorf("the scenes did not exercise the broad phase's shortcuts")
	}
}

// TestWakeLeavesOutOfReachAside: a stack asleep far from a bouncing ball
// is not listed for waking at all, and the world stays bit-identical to
// the all-pairs loops; the ball then rolls into the stack, which wakes.
func TestWakeLeavesOutOfReachAside(t *testing.T) {
	var ws [2]*World
	for k := range ws {
		w := stackWorld(t, Config{})
		w.brute = k == 1
		mustAdd(t, w, 99, BodyDef{Shape: Sphere(0.1), Mass: 1, Pose: at(3, 1, 0), Material: Material{Restitution: 0.5, Friction: 0.5}})
		ws[k] = w
	}
	listed := -1
	for f := 0; f < 4*120; f++ {
		if f == 2*120 { // asleep by now: roll the ball into the stack
			for _, w := range ws {
				if err := w.SetVelocity(99, v3(-3, 0, 0), v3(0, 0, 30)); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, w := range ws {
			w.Step(tick)
		}
		if f == 2*120+5 { // the ball rolls, still 2.8 m away
			if !ws[0].Sleeping(10) || ws[0].Sleeping(99) {
				t.Fatal("the stack is not asleep, or the ball not awake")
			}
			ws[0].sortOrder()
			ws[0].wakeTouched()
			listed = ws[0].bp.listed
		}
		if sa, sb := states(ws[0]), states(ws[1]); !slices.Equal(sa, sb) {
			t.Fatalf("frame %d: the broad phase differs from the all-pairs loops", f)
		}
	}
	if listed != 0 {
		t.Errorf("%d sleeping bodies listed for waking by a ball 3 m away, want 0", listed)
	}
	if ws[0].Sleeping(10) {
		t.Error("the stack still sleeps after the ball rolled into it")
	}
}

// TestCrowdSceneAgainstBrute: the server's capacity scene (scene.Crowd),
// smaller, stepped with the broad phase stays bit-identical (poses,
// velocities, sleep, contact reports) to the all-pairs loops, while its
// bouncing bodies keep the step's candidates in use: by waking, contact
// finding and the sweep, which leaves out the awake bodies in no
// candidate pair, and with the candidates swept anew as bodies leave
// their fat bounds and bodies woken made tracked in them.
func TestCrowdSceneAgainstBrute(t *testing.T) {
	frames := 480
	if testing.Short() {
		frames = 240
	}
	fast, slow := crowdScene(t, 60, 120, 0, 0), crowdScene(t, 60, 120, 0, 0)
	slow.brute = true
	for f := 1; f <= frames; f++ {
		if f == frames/2 {
			// Throw a bouncer into the resting objects, over the fence.
			for _, w := range []*World{fast, slow} {
				if err := w.SetPose(150, at(-1, 9, -5)); err != nil {
					t.Fatal(err)
				}
				if err := w.SetVelocity(150, v3(-2, 0, 0), v3(0, 0, 0)); err != nil {
					t.Fatal(err)
				}
			}
		}
		fast.Step(tick)
		slow.Step(tick)
		if sf, ss := states(fast), states(slow); !slices.Equal(sf, ss) {
			for k := range sf {
				if sf[k] != ss[k] {
					t.Fatalf("frame %d: body %d: %+v, all pairs %+v", f, sf[k].id, sf[k], ss[k])
				}
			}
		}
		if !slices.Equal(reports(fast), reports(slow)) {
			t.Fatalf("frame %d: contact reports differ", f)
		}
	}
	bp := &fast.bp
	t.Logf("%d frames: candidates swept %d times, used by %v sub-steps (wake, contact, sweep), %d awake bodies left out of the sweep, %d woken into them",
		frames, bp.candSweeps, bp.candUses, bp.loneSkips, bp.candWoken)
	if n := 4 * frames; bp.candUses[0] < n/2 || bp.candUses[1] < n/2 || bp.candUses[2] < n/2 || bp.loneSkips == 0 || bp.candSweeps < 2 || bp.candWoken == 0 {
		t.Errorf("the scene did not exercise the step's candidates")
	}
}
