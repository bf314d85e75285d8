package main

import (
	"crypto/sha256"
	"math"
	"testing"
	"time"

	"github.com/arcadexr/arcade/wire"
)

// traceHash hashes every state of a trace.
func traceHash(tr Trace) [32]byte {
	h := sha256.New()
	var s State
	for t := range tr.Len() {
		tr.State(t, &s)
		hashState(h, &s)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// testCubes is the cube count the tests simulate: the full 900 unless
// -short.
func testCubes() int {
	if testing.Short() {
		return 100
	}
	return cubeCount
}

func TestCubesDeterministic(t *testing.T) {
	n := testCubes()
	a, err := recordCubes(7, n, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := recordCubes(7, n, 3)
	if err != nil {
		t.Fatal(err)
	}
	c, err := recordCubes(8, n, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, rate := range []int{60, 120} {
		ha, hb, hc := traceHash(a.at(rate)), traceHash(b.at(rate)), traceHash(c.at(rate))
		if ha != hb {
			t.Errorf("%d Hz: two generations with seed 7 differ", rate)
		}
		if ha == hc {
			t.Errorf("%d Hz: seeds 7 and 8 give the same trace", rate)
		}
	}
	if got, want := a.at(60).Len(), 180; got != want {
		t.Errorf("60 Hz: %d ticks in 3 s, want %d", got, want)
	}
}

// TestCubesSettleAndPush: the dropped cubes come to rest before the player
// cube starts, and then the player cube moves some of them.
func TestCubesSettleAndPush(t *testing.T) {
	n := testCubes()
	seconds := 10.0
	t0 := time.Now()
	rec, err := recordCubes(1, n, seconds)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d cubes, %g s at 120 Hz simulated in %v", n, seconds, time.Since(t0).Round(time.Millisecond))
	tr := rec.at(120)
	var s, prev State
	still := func(tick int) (sleeping, slow int) {
		tr.State(tick-1, &prev)
		tr.State(tick, &s)
		for i := range n {
			e := &s.Entities[i]
			if e.Flags&wire.EntitySleeping != 0 {
				sleeping++
			}
			d := wireToGeom(e.Pose).Pos.Sub(wireToGeom(prev.Entities[i].Pose).Pos).Len()
			if d < 0.0005 { // 6 cm/s
				slow++
			}
		}
		return
	}
	settled := int(playerStart * 120)
	sl, slow := still(settled)
	t.Logf("at %.1f s: %d of %d cubes sleeping, %d nearly still", playerStart, sl, n, slow)
	if slow < n*9/10 {
		t.Errorf("at %.1f s only %d of %d cubes nearly still", playerStart, slow, n)
	}
	if sl < n*3/4 {
		t.Errorf("at %.1f s only %d of %d cubes sleeping", playerStart, sl, n)
	}
	// Ids, range, and what moved after the player started.
	tr.State(settled, &prev)
	before := append([]wire.EntityState(nil), prev.Entities...)
	moved, woke := 0, 0
	for tick := settled; tick < tr.Len(); tick++ {
		tr.State(tick, &s)
		if len(s.Entities) != n+1 {
			t.Fatalf("tick %d: %d entities, want %d", tick, len(s.Entities), n+1)
		}
		for i := range s.Entities {
			e := &s.Entities[i]
			if e.ID != uint16(i+1) {
				t.Fatalf("tick %d: entity %d has id %d", tick, i, e.ID)
			}
			if !inRange(wireToGeom(e.Pose).Pos) {
				t.Fatalf("tick %d: entity %d at %+v", tick, e.ID, e.Pose.Pos)
			}
		}
	}
	for i := range n {
		if wireToGeom(s.Entities[i].Pose).Pos.Sub(wireToGeom(before[i].Pose).Pos).Len() > 0.1 {
			moved++
		}
		if before[i].Flags&wire.EntitySleeping != 0 && s.Entities[i].Flags&wire.EntitySleeping == 0 {
			woke++
		}
	}
	t.Logf("from %.1f to %.1f s: %d cubes moved more than 10 cm; %d asleep then are awake at the end", playerStart, seconds, moved, woke)
	if moved < 5 {
		t.Errorf("the player cube moved only %d cubes by more than 10 cm", moved)
	}
}

func TestPlayersDeterministicAndInRange(t *testing.T) {
	seconds := 4.0
	if testing.Short() {
		seconds = 1
	}
	a := newPlayersTrace(3, playersCount, 120, seconds)
	ha := traceHash(a)
	if ha != traceHash(newPlayersTrace(3, playersCount, 120, seconds)) {
		t.Error("two generations with seed 3 differ")
	}
	if ha == traceHash(newPlayersTrace(4, playersCount, 120, seconds)) {
		t.Error("seeds 3 and 4 give the same trace")
	}
	var s State
	lo, hi := math.Inf(1), math.Inf(-1)
	for tick := range a.Len() {
		a.State(tick, &s)
		if len(s.Players) != playersCount {
			t.Fatalf("tick %d: %d players", tick, len(s.Players))
		}
		for i := range s.Players {
			p := &s.Players[i]
			if p.ClientID != uint16(i+1) || p.Tracking != allTracked {
				t.Fatalf("tick %d: player %d: id %d tracking %b", tick, i, p.ClientID, p.Tracking)
			}
			for _, q := range []wire.Pose{p.Head, p.Hands[0], p.Hands[1]} {
				g := wireToGeom(q).Pos
				if !inRange(g) {
					t.Fatalf("tick %d: player %d at %+v", tick, p.ClientID, g)
				}
				lo, hi = math.Min(lo, math.Min(g.X, g.Z)), math.Max(hi, math.Max(g.X, g.Z))
			}
			if h := p.Head.Pos.Y; h < 1.4 || h > 2 {
				t.Fatalf("tick %d: player %d head at %.2f m", tick, p.ClientID, h)
			}
		}
	}
	t.Logf("x and z within %.1f..%.1f m", lo, hi)
}

// TestPlayersInputRate: each player's pose and input seq change at the
// 90 Hz input rate: on about 3 ticks of 4 at 120 Hz, on every tick at 60 Hz.
func TestPlayersInputRate(t *testing.T) {
	seconds := 4.0
	if testing.Short() {
		seconds = 1
	}
	for _, rate := range []int{120, 60} {
		tr := newPlayersTrace(5, 200, rate, seconds)
		var s, prev State
		const from = 2 // the first sample is sent within 1/90 s of the start
		tr.State(from, &prev)
		first := append([]wire.PlayerState(nil), prev.Players...)
		changed, ticks := 0, 0
		for tick := from + 1; tick < tr.Len(); tick++ {
			tr.State(tick, &s)
			for i := range s.Players {
				p, q := &s.Players[i], &prev.Players[i]
				newSeq := p.LastInputSeq != q.LastInputSeq
				newPose := p.Head != q.Head || p.Hands != q.Hands
				if newSeq != newPose {
					t.Fatalf("%d Hz tick %d player %d: seq changed %v, pose changed %v", rate, tick, p.ClientID, newSeq, newPose)
				}
				if newPose {
					changed++
				}
			}
			ticks++
			prev, s = s, prev
		}
		share := float64(changed) / float64(ticks*len(prev.Players))
		var seqRate float64
		for i := range first {
			seqRate += float64(prev.Players[i].LastInputSeq - first[i].LastInputSeq)
		}
		seqRate /= float64(len(first)) * float64(tr.Len()-1-from) / float64(rate)
		t.Logf("%d Hz: pose changed on %.3f of player-ticks; input seq advances %.1f/s", rate, share, seqRate)
		want := math.Min(1, float64(InputRate)/float64(rate))
		if math.Abs(share-want) > 0.01 {
			t.Errorf("%d Hz: pose changed on %.3f of player-ticks, want %.3f", rate, share, want)
		}
		if math.Abs(seqRate-InputRate) > 2 {
			t.Errorf("%d Hz: input seq advances %.1f/s, want %d", rate, seqRate, InputRate)
		}
	}
}

func TestArcade(t *testing.T) {
	a, err := recordArcade(2, 120, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := recordArcade(2, 120, 3)
	if err != nil {
		t.Fatal(err)
	}
	if traceHash(a) != traceHash(b) {
		t.Error("two generations with seed 2 differ")
	}
	var s, first State
	a.State(0, &first)
	a.State(a.Len()-1, &s)
	if len(s.Players) != arcadeHeadsets {
		t.Errorf("%d players, want %d", len(s.Players), arcadeHeadsets)
	}
	held := 0
	for i, e := range s.Entities {
		if e.Flags&wire.EntityHeld == 0 {
			continue
		}
		held++
		if d := wireToGeom(e.Pose).Pos.Sub(wireToGeom(first.Entities[i].Pose).Pos).Len(); d < 0.01 {
			t.Errorf("held entity %d moved only %.3f m in 3 s", e.ID, d)
		}
	}
	if held != len(arcadeHolders) {
		t.Errorf("%d entities held at the end, want %d", held, len(arcadeHolders))
	}
	t.Logf("%d entities, %d held", len(s.Entities), held)
}
