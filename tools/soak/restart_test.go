package main

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/record"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/sim"
	"github.com/arcadexr/arcade/tools/internal/toolrun"
	"github.com/arcadexr/arcade/wire"
)

// observer is a headset of the test's own that only watches: per entity,
// the poses it was shown and the tick of each, before the crash and
// after it apart, and when each tick arrived before the crash.
type observer struct {
	mu      sync.Mutex
	after   bool
	before  map[uint16][]seen
	since   map[uint16][]seen // after the restart
	arrived map[uint32]time.Time
}

type seen struct {
	tick  uint32
	flags uint8
	pos   wire.Vec3
}

// maxSamples bounds each entity's history: 10 s at 120 Hz.
const maxSamples = 1200

func (o *observer) onSnapshot(s *wire.Snapshot, _ int64, _ bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := o.before
	if o.after {
		m = o.since
	} else if _, ok := o.arrived[s.Tick]; !ok {
		o.arrived[s.Tick] = time.Now()
	}
	for _, e := range s.Entities {
		h := m[e.ID]
		if n := len(h); n > 0 && h[n-1].tick == s.Tick {
			continue
		}
		if len(h) == maxSamples {
			h = append(h[:0], h[1:]...)
		}
		m[e.ID] = append(h, seen{s.Tick, e.Flags, e.Pose.Pos})
	}
}

// at returns the pose entity id was shown at tick (the newest at or
// before it) before the crash.
func (o *observer) at(id uint16, tick uint32) (seen, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	h := o.before[id]
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].tick <= tick {
			return h[i], true
		}
	}
	return seen{}, false
}

func dist(a, b wire.Vec3) float64 {
	dx, dy, dz := float64(a.X-b.X), float64(a.Y-b.Y), float64(a.Z-b.Z)
	return math.Sqrt(dx*dx + dy*dy + dz*dz)
}

// quantum is the position step of the wire (PROTOCOL §3.1), per axis.
const quantum = 1.0 / 1024

// movedFar is how far from its start an entity must be to count as moved.
const movedFar = 0.01

// TestRestartRejoin: eight arcade-bot headsets (default flags, four of
// them grabbing and swinging an object) and a watching headset of the
// test's own; the server checkpoints every second (--checkpoint, the
// default period). It is killed with SIGKILL and started again on the
// same ports 70 ms later. Then: the checkpoint on disk is of a tick
// shown less than one period (and a generous slack for the write)
// before the crash, with every entity where the watcher saw it at that
// tick; every object moved before the crash is away from its start pose
// in the checkpoint and at the restarted server's first tick (from its
// own recording, before any headset is back to move it); all nine
// headsets come back by themselves (the figure is reported; only a
// hung run fails); the four grabbed objects are held again.
func TestRestartRejoin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server and the bots; skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir, bins := t.TempDir(), buildBinaries(t)
	gamePort, err := toolrun.FreePort("udp")
	if err != nil {
		t.Fatal(err)
	}
	groupPort, err := toolrun.FreePort("udp")
	if err != nil {
		t.Fatal(err)
	}
	httpPort, err := toolrun.FreePort("tcp")
	if err != nil {
		t.Fatal(err)
	}
	game := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(gamePort))
	group := fmt.Sprintf("239.255.%d.%d:%d", 1+gamePort%250, 1+groupPort%250, groupPort)
	api := fmt.Sprintf("http://127.0.0.1:%d/api/stats", httpPort)
	bin := filepath.Join(bins, "arcade-server")
	ckptPath := filepath.Join(dir, "world.checkpoint")
	const period = server.DefaultCheckpointEvery
	srv, err := startServer(bin, game, httpPort, group, "", 64, "--checkpoint", ckptPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.kill() }()
	if err := waitStats(ctx, api, srv, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	obs := &observer{before: map[uint16][]seen{}, since: map[uint16][]seen{}, arrived: map[uint32]time.Time{}}
	watcher, err := client.Dial(ctx, game.String(), client.Config{SessionConfig: client.SessionConfig{Name: "watcher"}, Reconnect: true, MulticastIface: "lo"})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	watcher.OnSnapshot(obs.onSnapshot)
	var bots []*exec.Cmd
	for i, grab := range []bool{true, false} {
		args := []string{"--server", game.String(), "--clients", "4", "--duration", "20s", "--iface", "lo", "--json",
			"--source-net", "127." + strconv.Itoa(20+i) + ".0.0/24"}
		if grab {
			args = append(args, "--grab")
		}
		b := exec.CommandContext(ctx, filepath.Join(bins, "arcade-bot"), args...)
		b.SysProcAttr = childAttr()
		if err := b.Start(); err != nil {
			t.Fatal(err)
		}
		bots = append(bots, b)
	}
	defer func() {
		for _, b := range bots {
			b.Process.Kill()
			b.Wait()
		}
	}()
	const headsets = 9 // the bots and the watcher
	if !until(ctx, 10*time.Second, func() bool { s, err := getStats(api); return err == nil && s.Clients == headsets }) {
		t.Fatal("the 8 headsets did not connect")
	}
	// They stream, the grabbers take their objects and swing them (on a
	// loaded box a grab can take seconds: wait for the four held away
	// from their starts); then two checkpoints and a half later, so that
	// the last before the kill shows them moved half a second earlier.
	startAt := map[uint16]wire.Vec3{}
	for _, o := range scene.Default().Objects {
		startAt[o.ID] = wire.QuantizePose(wire.Pose{Pos: wire.Vec3{X: float32(o.Pose.Pos.X), Y: float32(o.Pose.Pos.Y), Z: float32(o.Pose.Pos.Z)}}).Pos
	}
	if !until(ctx, 15*time.Second, func() bool {
		n := 0
		for id, p := range startAt {
			if e, ok := obs.at(id, math.MaxUint32); ok && e.flags&wire.EntityHeld != 0 && dist(e.pos, p) > movedFar {
				n++
			}
		}
		return n >= 4
	}) {
		t.Fatal("the 4 grabbers never held their objects away from their starts")
	}
	time.Sleep(2*period + period/2)
	srv.kill() // SIGKILL: no goodbye to anyone, no last checkpoint
	crash := time.Now()
	time.Sleep(70 * time.Millisecond)
	obs.mu.Lock()
	obs.after = true
	obs.mu.Unlock()

	start := map[uint16]wire.Vec3{}
	for _, o := range scene.Default().Objects {
		start[o.ID] = wire.QuantizePose(wire.Pose{Pos: wire.Vec3{X: float32(o.Pose.Pos.X), Y: float32(o.Pose.Pos.Y), Z: float32(o.Pose.Pos.Z)}}).Pos
	}
	world, err := sim.New(scene.Default())
	if err != nil {
		t.Fatal(err)
	}
	st, err := checkpoint.Load(ckptPath, world.Fingerprint())
	if err != nil {
		t.Fatalf("the checkpoint left by the crash: %v", err)
	}
	obs.mu.Lock()
	shown, ok := obs.arrived[uint32(st.Tick)]
	obs.mu.Unlock()
	if !ok {
		t.Fatalf("the checkpoint is of tick %d, which the watcher never saw", st.Tick)
	}
	age := crash.Sub(shown)
	t.Logf("checkpoint on disk at the crash: tick %d, shown %v before the kill (period %v), %d entities, %d players, %d holds",
		st.Tick, age.Round(time.Millisecond), period, len(st.Entities), len(st.Players), len(st.Holds))
	// The write (encode, fsync, rename) of a busy shared box is allowed
	// a generous slack past the period.
	if age > period+500*time.Millisecond {
		t.Errorf("the checkpoint on disk was %v old at the crash: more than one period (%v) and the write's slack", age, period)
	}
	held, lost := 0, 0.0
	moved := map[uint16]wire.Vec3{}
	for _, e := range st.Entities {
		q := wire.QuantizePose(wire.Pose{Pos: wire.Vec3{X: float32(e.Pose.Pos.X), Y: float32(e.Pose.Pos.Y), Z: float32(e.Pose.Pos.Z)}}).Pos
		got, ok := obs.at(e.ID, uint32(st.Tick))
		if !ok {
			t.Errorf("entity %d: never seen before the crash", e.ID)
			continue
		}
		if d := dist(q, got.pos); d > quantum {
			t.Errorf("entity %d: checkpointed at %v, the watcher saw it at %v at that tick (%.4f m apart)", e.ID, q, got.pos, d)
		}
		if got.flags&wire.EntityHeld != 0 {
			held++
		}
		// Moved before the crash, by a period and its slack at least:
		// the checkpoint must have it away from its start.
		early, ok := obs.at(e.ID, uint32(st.Tick)-uint32(server.DefaultTickRate)/2)
		if ok && dist(early.pos, start[e.ID]) > movedFar {
			moved[e.ID] = q
			if last, ok := obs.at(e.ID, math.MaxUint32); ok {
				lost = max(lost, dist(q, last.pos))
			}
			if d := dist(q, start[e.ID]); d <= movedFar {
				t.Errorf("entity %d moved before the crash but the checkpoint has it back at its start pose (%.4f m from it)", e.ID, d)
			}
		}
	}
	t.Logf("%d objects moved before the crash; the farthest is %.3f m from its last pose before the crash in the checkpoint", len(moved), lost)
	if held != 4 || len(st.Holds) != 4 {
		t.Errorf("%d entities held at the checkpoint's tick, %d holds in it: want the 4 grabbers' objects", held, len(st.Holds))
	}
	if len(moved) < 4 {
		t.Errorf("only %d objects moved before the crash: the test needs the 4 grabbed ones at least", len(moved))
	}

	// The restarted server records its session: its first tick is the
	// world it resumed, before any headset is back to move it (the first
	// Step runs that tick before a new handshake can complete).
	recPath := filepath.Join(dir, "after.rec")
	srv, err = startServer(bin, game, httpPort, group, "", 64, "--checkpoint", ckptPath, "--record", recPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := waitStats(ctx, api, srv, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	answered := time.Now()
	var botsBack time.Duration
	if !until(ctx, 10*time.Second, func() bool {
		s, err := getStats(api)
		if err != nil {
			return false
		}
		if _, w := byName(s.ClientList, "watcher"); botsBack == 0 && len(s.ClientList)-b2i(w) == 8 {
			botsBack = time.Since(answered)
		}
		return s.Clients == headsets
	}) {
		s, _ := getStats(api)
		t.Fatalf("after the restart %v headsets came back within 10 s, want %d", s, headsets)
	}
	t.Logf("the 8 bots back %v after the new server answered, the watcher (pings only) too %v after",
		botsBack.Round(time.Millisecond), time.Since(answered).Round(time.Millisecond))
	back := time.Now()
	regrabbed := until(ctx, 5*time.Second, func() bool {
		obs.mu.Lock()
		defer obs.mu.Unlock()
		n := 0
		for _, h := range obs.since {
			if len(h) > 0 && h[len(h)-1].flags&wire.EntityHeld != 0 {
				n++
			}
		}
		return n >= 4
	})
	t.Logf("4 objects shown held again %v after all were back", time.Since(back).Round(time.Millisecond))
	first, firstTick := firstTick(t, recPath)
	if firstTick != st.Tick+1 {
		t.Errorf("the restarted server's first tick is %d, want the checkpoint's %d + 1", firstTick, st.Tick)
	}
	far := 0.0
	for id, was := range moved {
		e, ok := first[id]
		if !ok {
			t.Errorf("entity %d: not in the restarted server's first tick", id)
			continue
		}
		if d := dist(e.Pose.Pos, start[id]); d <= movedFar {
			t.Errorf("entity %d: back at its start pose after the restart (%.4f m from it)", id, d)
		}
		// One physics step from the checkpoint: a held object has not
		// moved, a free one at most a few centimetres.
		d := dist(e.Pose.Pos, was)
		if d > 0.05 {
			t.Errorf("entity %d: %.3f m from its checkpointed pose at the restarted server's first tick", id, d)
		}
		far = max(far, d)
	}
	t.Logf("the restarted server's first tick %d: the moved objects at most %.4f m from their checkpointed poses", firstTick, far)
	obs.mu.Lock()
	defer obs.mu.Unlock()
	for id := range moved {
		if h := obs.since[id]; len(h) > 0 && uint64(h[0].tick) <= st.Tick {
			t.Errorf("entity %d first shown at tick %d after the restart, want past the checkpoint's %d", id, h[0].tick, st.Tick)
		}
	}
	if !regrabbed {
		t.Error("after the restart fewer than 4 objects are held again")
	}
}

// until polls cond every 10 ms for at most d.
func until(ctx context.Context, d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) && ctx.Err() == nil {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// firstTick returns the entities of the first tick in the recording at
// path, and that tick. The server is still writing it (a few ticks at a
// time): it is read again until the first tick is on disk, for at most
// 10 s.
func firstTick(t *testing.T, path string) (map[uint16]wire.EntityState, uint64) {
	t.Helper()
	var last error
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		m, tick, err := readFirstTick(path)
		if err == nil {
			return m, tick
		}
		last = err
	}
	t.Fatalf("%s: no tick: %v", path, last)
	return nil, 0
}

func readFirstTick(path string) (map[uint16]wire.EntityState, uint64, error) {
	r, err := record.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	var ev record.Event
	for {
		f, err := r.Next()
		if err != nil {
			return nil, 0, err
		}
		if f.Type != record.TypeTick {
			continue
		}
		if err := ev.Decode(f); err != nil {
			return nil, 0, err
		}
		out := map[uint16]wire.EntityState{}
		for _, e := range ev.Changed { // the first tick lists every entity
			out[e.ID] = e
		}
		return out, ev.Tick, nil
	}
}
