package server_test

import (
	"testing"
	"time"

	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/sim"
	"github.com/arcadexr/arcade/wire"
)

func worldRig(t *testing.T, noEager bool) *rig {
	t.Helper()
	w, err := sim.New(scene.Default())
	if err != nil {
		t.Fatal(err)
	}
	return newRig(t, netsim.Config{}, server.Config{World: w, NoEager: noEager})
}

func firstTag(t *testing.T, tag string) scene.Object {
	for _, o := range scene.Default().Objects {
		if o.Tag == tag {
			return o
		}
	}
	t.Fatalf("no %s in the demo scene", tag)
	return scene.Object{}
}

// grabPose sends a pose with the right hand at (x, y, z) and the given grip.
func (c *rawClient) grabPose(seq uint32, x, y, z float32, grip float32) {
	in := wire.PoseInput{InputSeq: seq, Tracking: wire.TrackHead | wire.TrackLeft | wire.TrackRight}
	in.Head.Rot.W, in.Hands[0].Rot.W, in.Hands[1].Rot.W = 1, 1, 1
	in.Hands[wire.Right].Pos = wire.Vec3{X: x, Y: y, Z: z}
	in.Grip[wire.Right] = grip
	c.send(wire.TypePoseInput, in.Append)
}

// alignAfterTick moves virtual time to just after a tick.
func (r *rig) alignAfterTick() {
	r.advance(time.Duration(r.srv.NextTick()-r.net.Now())+100*time.Microsecond, nil)
}

func TestEagerUpdateBeforeTheTick(t *testing.T) {
	r := worldRig(t, false)
	c := r.client("10.0.0.2:5000")
	r.connect(c, wire.ConnectWantUnicast)
	dart := firstTag(t, "dart")
	p := dart.Pose.Pos
	r.alignAfterTick()
	c.recv()
	c.grabPose(1, float32(p.X), float32(p.Y), float32(p.Z), 1)
	// Well before the next tick (Δt = 8.3 ms), the update is already out.
	var upd []wire.EntityUpdate
	var snaps int
	check := func() {
		for _, m := range c.recv() {
			switch m.h.Type {
			case wire.TypeEntityUpdate:
				var u wire.EntityUpdate
				if _, err := u.Parse(m.body); err != nil {
					t.Fatal(err)
				}
				u.Entities = append([]wire.EntityState(nil), u.Entities...)
				upd = append(upd, u)
			case wire.TypeSnapshot:
				snaps++
			}
		}
	}
	r.advance(time.Millisecond, func(int64) { check() })
	if snaps != 0 {
		t.Fatal("a tick ran; the test needs the update to come first")
	}
	if len(upd) != 1 || len(upd[0].Causes) != 1 || upd[0].Causes[0] != (wire.UpdateCause{Client: c.id, Input: 1}) {
		t.Fatalf("updates %+v, want one caused by client %d input 1", upd, c.id)
	}
	if e := upd[0].Entities; len(e) != 1 || e[0].ID != dart.ID || e[0].Flags&wire.EntityHeld == 0 {
		t.Fatalf("update entities %+v, want the held dart %d", e, dart.ID)
	}
	// Moving the hand moves the dart in the next update, again before the tick.
	r.alignAfterTick()
	upd = upd[:0]
	c.recv()
	c.grabPose(2, float32(p.X)+0.25, float32(p.Y), float32(p.Z), 1)
	r.advance(time.Millisecond, func(int64) { check() })
	if len(upd) != 1 || upd[0].Causes[0].Input != 2 {
		t.Fatalf("second move: %+v", upd)
	}
	want := wire.QuantizePose(wire.Pose{Pos: wire.Vec3{X: float32(dart.Pose.Pos.X + 0.25)}}).Pos.X
	if got := upd[0].Entities[0].Pose.Pos.X; got != want {
		t.Fatalf("dart at x=%v, want %v (hand moved 0.25 m)", got, want)
	}
	st := r.srv.Stats()
	if st.ServerAddedGrab.Count() != 2 || st.ServerAddedGrab.Max() > int64(time.Millisecond) {
		t.Fatalf("grab latency samples %d max %d ns", st.ServerAddedGrab.Count(), st.ServerAddedGrab.Max())
	}
}

func TestTickOnlyWithoutEager(t *testing.T) {
	r := worldRig(t, true)
	c := r.client("10.0.0.2:5000")
	r.connect(c, wire.ConnectWantUnicast)
	dart := firstTag(t, "dart")
	p := dart.Pose.Pos
	r.alignAfterTick()
	c.recv()
	c.grabPose(1, float32(p.X), float32(p.Y), float32(p.Z), 1)
	updates := 0
	var held bool
	r.advance(time.Duration(r.srv.NextTick()-r.net.Now())+100*time.Microsecond, func(int64) {
		for _, m := range c.recv() {
			switch m.h.Type {
			case wire.TypeEntityUpdate:
				updates++
			case wire.TypeSnapshot:
				var s wire.Snapshot
				s.Parse(m.body)
				for _, e := range s.Entities {
					if e.ID == dart.ID && e.Flags&wire.EntityHeld != 0 {
						held = true
					}
				}
			}
		}
	})
	if updates != 0 {
		t.Fatalf("%d entity updates without eager propagation", updates)
	}
	if !held {
		t.Fatal("the tick's snapshot does not show the dart held")
	}
	// Its latency is the wait for the tick: more than the eager path's.
	if st := r.srv.Stats(); st.ServerAddedGrab.Count() != 1 || st.ServerAddedGrab.Max() < int64(time.Millisecond) {
		t.Fatalf("grab latency samples %d max %d ns, want one waiting for the tick", st.ServerAddedGrab.Count(), st.ServerAddedGrab.Max())
	}
}

// TestStateHashReplay feeds the same inputs to two servers and expects the
// same hash sequence, which must also change as the world moves.
func TestStateHashReplay(t *testing.T) {
	run := func() []uint64 {
		r := worldRig(t, false)
		c := r.client("10.0.0.2:5000")
		r.connect(c, wire.ConnectWantUnicast)
		ball := firstTag(t, "ball")
		var hashes []uint64
		var seq uint32
		step := 0
		r.advance(2*time.Second, func(now int64) {
			step++
			if step%200 == 0 { // every 10 ms of virtual time
				seq++
				grip := float32(1)
				if seq > 60 {
					grip = 0 // let go: physics throws it
				}
				y := float32(ball.Pose.Pos.Y) + float32(seq%30)*0.01
				c.grabPose(seq, float32(ball.Pose.Pos.X), y, float32(ball.Pose.Pos.Z), grip)
			}
			for _, s := range snapshotsOf(t, c.recv()) {
				if s.Flags&wire.SnapshotHasHash != 0 {
					hashes = append(hashes, s.StateHash)
				}
			}
		})
		return hashes
	}
	a, b := run(), run()
	if len(a) < 10 || len(a) != len(b) {
		t.Fatalf("hash counts %d and %d", len(a), len(b))
	}
	distinct := map[uint64]bool{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("hash %d differs between identical runs: %x vs %x", i, a[i], b[i])
		}
		distinct[a[i]] = true
	}
	if len(distinct) < len(a)/2 {
		t.Fatalf("only %d distinct hashes in %d: the hash does not follow the state", len(distinct), len(a))
	}
}

// TestCoalescedUpdateNamesEveryCause: two players' poses read in one batch
// give one EntityUpdate that names both inputs and moves both objects.
func TestCoalescedUpdateNamesEveryCause(t *testing.T) {
	r := worldRig(t, false)
	a := r.client("10.0.0.2:5000")
	b := r.client("10.0.0.3:5000")
	r.connect(a, wire.ConnectWantUnicast)
	r.connect(b, wire.ConnectWantUnicast)
	var darts []scene.Object
	for _, o := range scene.Default().Objects {
		if o.Tag == "dart" {
			darts = append(darts, o)
		}
	}
	pa, pb := darts[0].Pose.Pos, darts[1].Pose.Pos
	a.grabPose(1, float32(pa.X), float32(pa.Y), float32(pa.Z), 1)
	b.grabPose(1, float32(pb.X), float32(pb.Y), float32(pb.Z), 1)
	r.advance(time.Millisecond, nil)
	a.recv()
	b.recv()
	// Both move; both datagrams arrive before the server next reads.
	a.grabPose(2, float32(pa.X), float32(pa.Y)+0.1, float32(pa.Z), 1)
	b.grabPose(2, float32(pb.X), float32(pb.Y)+0.1, float32(pb.Z), 1)
	var upd []wire.EntityUpdate
	r.advance(200*time.Microsecond, func(int64) {
		for _, m := range a.recv() {
			if m.h.Type == wire.TypeEntityUpdate {
				var u wire.EntityUpdate
				u.Parse(m.body)
				u.Causes = append([]wire.UpdateCause(nil), u.Causes...)
				u.Entities = append([]wire.EntityState(nil), u.Entities...)
				upd = append(upd, u)
			}
		}
	})
	if len(upd) != 1 {
		t.Fatalf("%d updates, want one coalesced update", len(upd))
	}
	want := []wire.UpdateCause{{Client: a.id, Input: 2}, {Client: b.id, Input: 2}}
	if len(upd[0].Causes) != 2 || upd[0].Causes[0] != want[0] || upd[0].Causes[1] != want[1] {
		t.Fatalf("causes %+v, want %+v", upd[0].Causes, want)
	}
	if len(upd[0].Entities) != 2 {
		t.Fatalf("entities %+v, want both darts", upd[0].Entities)
	}
}
