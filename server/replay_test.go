package server_test

import (
	"math"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/record"
	sessionreplay "github.com/arcadexr/arcade/replay"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/sim"
	"github.com/arcadexr/arcade/wire"
)

// player is a headset of the replay scenario: where its right hand goes
// and whether its grip is closed, as a function of time.
type player struct {
	p    *twinPeer
	hand func(t float64) (wire.Vec3, float32)
}

// runPlayers streams every player's pose at 90 Hz for d; t is seconds
// since from.
func (e *twinEnv) runPlayers(d time.Duration, from int64, ps []*player, at func(now int64)) {
	period := int64(time.Second / 90)
	next := e.r.net.Now()
	e.r.advance(d, func(now int64) {
		if now >= next {
			next += period
			for i, pl := range ps {
				if pl.p.silent {
					continue
				}
				pos, grip := pl.hand(float64(now-from) / 1e9)
				in := wire.PoseInput{InputSeq: pl.p.seq + 1, Tracking: wire.TrackHead | wire.TrackLeft | wire.TrackRight}
				in.Head = wire.Pose{Pos: wire.Vec3{X: float32(i), Y: 1.7}, Rot: wire.Quat{W: 1}}
				in.Hands[wire.Left].Rot.W = 1
				in.Hands[wire.Right] = wire.Pose{Pos: pos, Rot: wire.Quat{W: 1}}
				in.Grip[wire.Right] = grip
				pl.p.seq = pl.p.s.SendPose(now, &in)
			}
		}
		if at != nil {
			at(now)
		}
		e.step(now)
	})
}

// at returns the position of the demo scene's first object with tag.
func objectAt(t *testing.T, tag string) (uint16, wire.Vec3) {
	o := firstTag(t, tag)
	return o.ID, wire.Vec3{X: float32(o.Pose.Pos.X), Y: float32(o.Pose.Pos.Y), Z: float32(o.Pose.Pos.Z)}
}

// swing moves a hand about p in a 0.2 m circle, grip closed until
// release (s), then open.
func swing(p wire.Vec3, release float64) func(float64) (wire.Vec3, float32) {
	return func(t float64) (wire.Vec3, float32) {
		if t >= release {
			return wire.Vec3{X: p.X, Y: p.Y + 0.3, Z: p.Z}, 0
		}
		a := 2 * math.Pi * 1.3 * t
		return wire.Vec3{X: p.X + float32(0.1*math.Sin(a)), Y: p.Y + 0.25 + float32(0.1*(1-math.Cos(a))), Z: p.Z}, 1
	}
}

// TestRecordedSessionReplaysExactly: on virtual time over the lossy
// in-memory network, four headsets play (two grab by grip, swing and
// throw; one grabs by GrabRequest RPC and lets go by ReleaseRequest; one
// only watches, then leaves) while the server records the session and
// checkpoints. Every tick of the recording replays to the same entities
// and state hash. Then the server is restarted from its checkpoint with
// a new recording; two players come back with their player ids and go on:
// that recording, which starts from the restored state, replays exactly
// too.
func TestRecordedSessionReplaysExactly(t *testing.T) {
	dir := t.TempDir()
	sc := scene.Default()
	fp := func() uint64 { w, _ := sim.New(sc); return w.Fingerprint() }()
	text := func() []byte {
		var b []byte
		buf := &sliceWriter{&b}
		sc.Format(buf)
		return b
	}()
	newRecording := func(name string) (*record.Writer, string) {
		path := filepath.Join(dir, name)
		w, err := record.Create(path, record.Config{TickRate: server.DefaultTickRate, Scene: text, Fingerprint: fp})
		if err != nil {
			t.Fatal(err)
		}
		return w, path
	}
	ckptPath := filepath.Join(dir, "world.checkpoint")
	cw, err := checkpoint.NewWriter(ckptPath)
	if err != nil {
		t.Fatal(err)
	}
	rec1, path1 := newRecording("first.rec")
	w1, _ := sim.New(sc)
	netCfg := netsim.Config{Delay: 300 * time.Microsecond, Jitter: 200 * time.Microsecond, Loss: 0.02, Seed: 9}
	e := &twinEnv{t: t, r: newRig(t, netCfg, server.Config{World: w1, Persist: server.Persist{Checkpoint: cw, Every: 250 * time.Millisecond, Record: rec1}})}
	ids := [][16]byte{{1}, {2}, {3}, {4}}
	var peers []*twinPeer
	for i, id := range ids {
		peers = append(peers, e.joinAs(t, "p", id, netipAddr(10, 0, 5, byte(i+1), 4000)))
	}
	_, paddle := objectAt(t, "paddle")
	_, ball := objectAt(t, "ball")
	dartID, dart := objectAt(t, "dart")
	ps := []*player{
		{p: peers[0], hand: swing(paddle, 2.0)},
		{p: peers[1], hand: swing(ball, 1.2)},
		{p: peers[2], hand: func(float64) (wire.Vec3, float32) { return dart, 0 }}, // grabs by RPC
		{p: peers[3], hand: func(float64) (wire.Vec3, float32) { return wire.Vec3{Y: 1}, 0 }},
	}
	from := e.r.net.Now()
	rpcDone := 0
	e.runPlayers(3*time.Second, from, ps, func(now int64) {
		switch t := float64(now-from) / 1e9; {
		case rpcDone == 0 && t > 0.5:
			peers[2].s.Grab(now, wire.Right, dartID)
			rpcDone++
		case rpcDone == 1 && t > 1.5:
			peers[2].s.Release(now, wire.Right)
			rpcDone++
		case rpcDone == 2 && t > 2.0:
			peers[3].leave(true)
			rpcDone++
		}
	})
	if n := e.r.srv.Stats().GrabsRefused.Load(); n != 0 {
		t.Fatalf("%d grab requests refused: the scenario needs the RPC grab to hold", n)
	}
	if err := rec1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	r1 := replayAll(t, path1)
	if r1.Ticks < 300 {
		t.Fatalf("only %d ticks recorded", r1.Ticks)
	}
	if !hasFrames(t, path1, record.TypeGrab, record.TypeRelease, record.TypeLeave) {
		t.Fatal("the recording has no RPC grab, release or leave: the scenario did not run")
	}

	// The restart: from the checkpoint, recorded anew.
	st, err := checkpoint.Load(ckptPath, fp)
	if err != nil {
		t.Fatal(err)
	}
	rec2, path2 := newRecording("second.rec")
	w2, _ := sim.New(sc)
	e2 := &twinEnv{t: t, r: newRig(t, netCfg, server.Config{World: w2, Persist: server.Persist{Resume: st, Record: rec2}})}
	back := []*twinPeer{
		e2.joinAs(t, "p", ids[0], netipAddr(10, 0, 6, 1, 4000)),
		e2.joinAs(t, "p", ids[1], netipAddr(10, 0, 6, 2, 4000)),
	}
	if !back[0].s.Resumed() || !back[1].s.Resumed() {
		t.Fatal("the players did not resume their slots after the restart")
	}
	from2 := e2.r.net.Now()
	e2.runPlayers(1500*time.Millisecond, from2, []*player{
		{p: back[0], hand: swing(paddle, 0.7)},
		{p: back[1], hand: swing(ball, 10)},
	}, nil)
	if err := rec2.Close(); err != nil {
		t.Fatal(err)
	}
	r2 := replayAll(t, path2)
	if r2.FirstTick <= st.Tick {
		t.Fatalf("the restarted server's first tick %d, want past the checkpoint's %d", r2.FirstTick, st.Tick)
	}
	t.Logf("first session: %d ticks, %d events, %d keyframes; after the restart: %d ticks from tick %d, %d events",
		r1.Ticks, r1.Events, r1.Keyframes, r2.Ticks, r2.FirstTick, r2.Events)
}

// replayAll replays a recording from the start and fails on any
// difference.
func replayAll(t *testing.T, path string) *sessionreplay.Result {
	t.Helper()
	res, err := sessionreplay.Run(path, sessionreplay.Options{Seek: -1, StopAt: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Mismatch != nil {
		t.Fatalf("%s: %v", filepath.Base(path), res.Mismatch)
	}
	if !res.Ended || res.Cut != nil || res.Checked != res.Ticks {
		t.Fatalf("%s: ended %v, cut %v, %d of %d ticks checked", filepath.Base(path), res.Ended, res.Cut, res.Checked, res.Ticks)
	}
	return res
}

// hasFrames reports whether the recording has a frame of every type.
func hasFrames(t *testing.T, path string, types ...uint8) bool {
	r, err := record.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	seen := map[uint8]bool{}
	for {
		f, err := r.Next()
		if err != nil {
			break
		}
		seen[f.Type] = true
	}
	for _, ty := range types {
		if !seen[ty] {
			return false
		}
	}
	return true
}

func netipAddr(a, b, c, d byte, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{a, b, c, d}), port)
}

type sliceWriter struct{ b *[]byte }

func (w *sliceWriter) Write(p []byte) (int, error) { *w.b = append(*w.b, p...); return len(p), nil }
