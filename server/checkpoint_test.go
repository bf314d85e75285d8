package server_test

import (
	"math"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/sim"
	"github.com/arcadexr/arcade/wire"
)

// connectAs is rig.connect with a player identity.
func (r *rig) connectAs(c *rawClient, flags uint8, player [wire.PlayerIDSize]byte) (resumed bool) {
	r.t.Helper()
	req := wire.ConnectRequest{ClientNonce: c.nonce, Flags: flags}
	req.SetName("bot")
	c.send(wire.TypeConnectRequest, req.Append)
	var ch wire.Challenge
	r.advance(2*time.Millisecond, func(int64) {
		for _, m := range c.recv() {
			if m.h.Type == wire.TypeChallenge {
				ch.Parse(m.body)
			}
		}
	})
	resp := wire.ChallengeResponse{ClientNonce: c.nonce, Flags: flags, Cookie: ch.Cookie, PlayerID: player}
	c.send(wire.TypeChallengeResponse, resp.Append)
	r.advance(2*time.Millisecond, func(int64) {
		for _, m := range c.recv() {
			if m.h.Type == wire.TypeAccepted {
				var a wire.Accepted
				a.Parse(m.body)
				c.token, c.id = m.h.Token, a.ClientID
				resumed = a.Flags&wire.AcceptedResumed != 0
			}
		}
	})
	if c.token == 0 {
		r.t.Fatal("not accepted")
	}
	return resumed
}

// holdAt streams poses with the right hand at p, grip closed, every 10 ms
// of d.
func (r *rig) holdAt(c *rawClient, seq *uint32, p wire.Vec3, d time.Duration) {
	next := r.net.Now()
	r.advance(d, func(now int64) {
		if now >= next {
			*seq++
			c.grabPose(*seq, p.X, p.Y, p.Z, 1)
			next = now + int64(10*time.Millisecond)
		}
		c.recv()
	})
}

// TestCheckpointRestoresWorldAndHolds: a server checkpoints every 100 ms
// while alice holds a dart she moved and bob holds a ball. It dies
// without a word. A new server of the same scene resumes from the file:
// before anyone is back, the dart and the ball are held where they were
// at the last checkpoint and the tick numbers go on. Alice returns with
// her player id and gets her client id and her dart, which follows her
// hand. Bob never returns: after ResumeWindow his ball is let go, to
// physics.
func TestCheckpointRestoresWorldAndHolds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "world.checkpoint")
	cw, err := checkpoint.NewWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	w1, err := sim.New(scene.Default())
	if err != nil {
		t.Fatal(err)
	}
	r1 := newRig(t, netsim.Config{}, server.Config{World: w1, Persist: server.Persist{Checkpoint: cw, Every: 100 * time.Millisecond}})
	alice, bob := [16]byte{0xa1}, [16]byte{0xb0}
	a, b := r1.client("10.0.0.2:5000"), r1.client("10.0.0.3:5000")
	r1.connectAs(a, wire.ConnectWantUnicast, alice)
	r1.connectAs(b, wire.ConnectWantUnicast, bob)
	dart, ball := firstTag(t, "dart"), firstTag(t, "ball")
	vec := func(p scene.Object) wire.Vec3 {
		return wire.Vec3{X: float32(p.Pose.Pos.X), Y: float32(p.Pose.Pos.Y), Z: float32(p.Pose.Pos.Z)}
	}
	var aSeq, bSeq uint32
	pa, pb := vec(dart), vec(ball)
	r1.holdAt(a, &aSeq, pa, 20*time.Millisecond)
	r1.holdAt(b, &bSeq, pb, 20*time.Millisecond)
	pa.X += 0.25
	pb.Y += 0.3
	for range 30 { // 300 ms: three checkpoints, both holding where they moved
		r1.holdAt(a, &aSeq, pa, 5*time.Millisecond)
		r1.holdAt(b, &bSeq, pb, 5*time.Millisecond)
	}
	before, _ := w1.Entity(dart.ID)
	if before.Flags&wire.EntityHeld == 0 || math.Abs(float64(before.Pose.Pos.X-pa.X)) > 1.0/1024 {
		t.Fatalf("alice's dart before the crash: %+v, want held at x=%v", before, pa.X)
	}
	if err := cw.Close(); err != nil { // what was handed over is on disk; then the server dies
		t.Fatal(err)
	}
	st, err := checkpoint.Load(path, w1.Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Players) != 2 || len(st.Holds) != 2 || st.Tick == 0 {
		t.Fatalf("checkpoint of tick %d: players %+v holds %+v", st.Tick, st.Players, st.Holds)
	}

	w2, err := sim.New(scene.Default())
	if err != nil {
		t.Fatal(err)
	}
	r2 := newRig(t, netsim.Config{}, server.Config{World: w2, Persist: server.Persist{Resume: st}})
	for _, id := range []uint16{dart.ID, ball.ID} {
		was, _ := w1.Entity(id)
		now, _ := w2.Entity(id)
		if now.Flags&wire.EntityHeld == 0 || dist(now.Pose.Pos, was.Pose.Pos) > 1e-4 {
			t.Fatalf("entity %d restored as %+v, want held where it was, %+v", id, now, was)
		}
	}
	a2 := r2.client("10.0.0.2:5001")
	if !r2.connectAs(a2, wire.ConnectWantUnicast, alice) || a2.id != a.id {
		t.Fatalf("alice came back as client %d (resumed?), want her id %d resumed", a2.id, a.id)
	}
	var tick uint32
	pa.X += 0.1
	r2.advance(0, nil)
	next := r2.net.Now()
	r2.advance(100*time.Millisecond, func(now int64) {
		if now >= next {
			aSeq++
			a2.grabPose(aSeq, pa.X, pa.Y, pa.Z, 1)
			next = now + int64(10*time.Millisecond)
		}
		for _, m := range a2.recv() {
			var s wire.Snapshot
			if m.h.Type == wire.TypeSnapshot {
				if _, err := s.Parse(m.body); err == nil {
					tick = s.Tick
				}
			}
		}
	})
	if uint64(tick) <= st.Tick {
		t.Fatalf("the resumed server's tick %d, want past the checkpoint's %d", tick, st.Tick)
	}
	moved, _ := w2.Entity(dart.ID)
	// The hand's position comes quantized to 1/1024 m (PROTOCOL §3.1).
	if moved.Flags&wire.EntityHeld == 0 || math.Abs(float64(moved.Pose.Pos.X-pa.X)) > 1.0/1024 {
		t.Fatalf("alice's dart after her return: %+v, want held at her hand's x=%v", moved, pa.X)
	}
	// Bob is away past the window: his ball goes back to physics.
	r2.advance(server.ResumeWindow+200*time.Millisecond, func(now int64) {
		if now >= next {
			aSeq++
			a2.grabPose(aSeq, pa.X, pa.Y, pa.Z, 1)
			next = now + int64(10*time.Millisecond)
		}
		a2.recv()
	})
	if e, _ := w2.Entity(ball.ID); e.Flags&wire.EntityHeld != 0 {
		t.Fatalf("bob's ball still held %v after the restart: %+v", server.ResumeWindow, e)
	}
	if e, _ := w2.Entity(dart.ID); e.Flags&wire.EntityHeld == 0 {
		t.Fatal("alice's dart was let go with bob's ball")
	}
}

// TestCheckpointTakenAtShutdown: the last checkpoint is of the world as
// the server stops, with its players still holding.
func TestCheckpointTakenAtShutdown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "world.checkpoint")
	cw, err := checkpoint.NewWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := sim.New(scene.Default())
	r := newRig(t, netsim.Config{}, server.Config{World: w, Persist: server.Persist{Checkpoint: cw, Every: time.Hour}})
	c := r.client("10.0.0.2:5000")
	r.connectAs(c, wire.ConnectWantUnicast, [16]byte{7})
	var seq uint32
	dart := firstTag(t, "dart")
	r.holdAt(c, &seq, wire.Vec3{X: float32(dart.Pose.Pos.X), Y: float32(dart.Pose.Pos.Y), Z: float32(dart.Pose.Pos.Z)}, 50*time.Millisecond)
	r.srv.Shutdown(r.net.Now())
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := checkpoint.Load(path, w.Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Holds) != 1 || st.Holds[0].Target != uint32(dart.ID) || len(st.Players) != 1 || st.Players[0].PlayerID != [16]byte{7} {
		t.Fatalf("shutdown checkpoint: holds %+v players %+v", st.Holds, st.Players)
	}
}

func TestPersistNeedsACheckpointer(t *testing.T) {
	cfg := server.Config{Persist: server.Persist{Resume: &checkpoint.State{}}}
	if _, err := server.New(cfg, nil, 0); err == nil {
		t.Fatal("Persist without a World that can restore was accepted")
	}
	cfg = server.Config{Persist: server.Persist{Every: -time.Second}}
	if _, err := server.New(cfg, nil, 0); err == nil {
		t.Fatal("a negative Persist.Every was accepted")
	}
}

func dist(a, b wire.Vec3) float64 {
	dx, dy, dz := float64(a.X-b.X), float64(a.Y-b.Y), float64(a.Z-b.Z)
	return math.Sqrt(dx*dx + dy*dy + dz*dz)
}

// TestHotPathAllocationFreeWithCheckpoint: a checkpoint every tick (the
// world copied into the writer's State and handed over), still no
// allocation per receive → tick → send round.
func TestHotPathAllocationFreeWithCheckpoint(t *testing.T) {
	var writes atomic.Int64
	cw := checkpoint.NewWriterFunc("test", func(b []byte) error { writes.Add(1); return nil })
	srv, rp, now := hotPathConfig(t, 16, false, true, server.Config{Persist: server.Persist{Checkpoint: cw, Every: time.Millisecond}})
	for range 10 { // the States and the encoding buffer grow once
		round(srv, rp, now)
		time.Sleep(time.Millisecond)
	}
	if allocs := testing.AllocsPerRun(200, func() { round(srv, rp, now) }); allocs != 0 {
		t.Fatalf("%.1f allocations per round with a checkpoint every tick, want 0", allocs)
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	// Every tick took one, or skipped it while the writer held both States.
	if s := cw.Stats(); writes.Load() == 0 || s.Written == 0 || s.Written+s.Skipped < 200 {
		t.Fatalf("checkpoints written %d (stats %+v) over 210 ticks", writes.Load(), s)
	}
}

// TestCheckpointKeepsPlayersAway: a player whose session ended just before
// the checkpoint (its slot kept for its return) is in the checkpoint as
// away, and after the restart comes back to its client id.
func TestCheckpointKeepsPlayersAway(t *testing.T) {
	path := filepath.Join(t.TempDir(), "world.checkpoint")
	cw, err := checkpoint.NewWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	w1, _ := sim.New(scene.Default())
	r1 := newRig(t, netsim.Config{}, server.Config{World: w1, Persist: server.Persist{Checkpoint: cw, Every: 50 * time.Millisecond}})
	carol := [16]byte{0xca}
	first, c := r1.client("10.0.0.2:5000"), r1.client("10.0.0.4:5000")
	r1.connectAs(first, wire.ConnectWantUnicast, [16]byte{0x11}) // takes id 1: carol's is not the lowest
	r1.connectAs(c, wire.ConnectWantUnicast, carol)
	var seq uint32
	r1.holdAt(c, &seq, wire.Vec3{X: 3, Y: 1.5}, 30*time.Millisecond)
	c.send(wire.TypeDisconnect, (&wire.Disconnect{Reason: wire.DisconnectClientLeft}).Append)
	r1.holdAt(first, &seq, wire.Vec3{Y: 1}, 200*time.Millisecond) // carol is away; checkpoints go on
	cw.Close()
	st, err := checkpoint.Load(path, w1.Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	var away *checkpoint.Player
	for i := range st.Players {
		if st.Players[i].PlayerID == carol {
			away = &st.Players[i]
		}
	}
	if away == nil || !away.Away || away.ClientID != c.id || !away.HasAvatar {
		t.Fatalf("carol in the checkpoint: %+v (players %+v)", away, st.Players)
	}
	w2, _ := sim.New(scene.Default())
	r2 := newRig(t, netsim.Config{}, server.Config{World: w2, Persist: server.Persist{Resume: st}})
	other := r2.client("10.0.0.9:5000")
	r2.connectAs(other, wire.ConnectWantUnicast, [16]byte{0x99}) // a newcomer does not get carol's id
	c2 := r2.client("10.0.0.4:5001")
	if !r2.connectAs(c2, wire.ConnectWantUnicast, carol) || c2.id != c.id || other.id == c.id {
		t.Fatalf("after the restart carol is client %d (newcomer %d), want her id %d resumed", c2.id, other.id, c.id)
	}
}
