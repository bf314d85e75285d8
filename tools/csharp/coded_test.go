package csharp

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcadexr/arcade/statesync"
	"github.com/arcadexr/arcade/wire"
)

// stateSum is a hash of a tick's records, the same in the C# test
// (CodedStreamTests): FNV-1a 64 over every player (id, seq, tracking,
// three poses) and entity (id, flags, pose), little-endian.
func stateSum(st *wire.State) uint64 {
	h := fnv.New64a()
	var b []byte
	pose := func(p *wire.QPose) {
		b = binary.LittleEndian.AppendUint16(b, p.X)
		b = binary.LittleEndian.AppendUint16(b, p.Y)
		b = binary.LittleEndian.AppendUint16(b, p.Z)
		b = binary.LittleEndian.AppendUint64(b, p.Rot&(1<<38-1))
	}
	for i := range st.Players {
		p := &st.Players[i]
		b = binary.LittleEndian.AppendUint16(b[:0], p.ClientID)
		b = binary.LittleEndian.AppendUint32(b, p.Seq)
		b = append(b, p.Tracking)
		for k := range p.Poses {
			pose(&p.Poses[k])
		}
		h.Write(b)
	}
	for i := range st.Entities {
		e := &st.Entities[i]
		b = binary.LittleEndian.AppendUint16(b[:0], e.ID)
		b = append(b, e.Flags)
		pose(&e.Pose)
		h.Write(b)
	}
	return h.Sum64()
}

// codedWorld is a room that moves: players walking and turning (on the
// avatar grid), joining and leaving; entities, some moving.
type codedWorld struct {
	r        *rand.Rand
	players  []wire.PlayerState
	entities []wire.EntityState
	nextID   uint16
}

func turn(q wire.Quat, r *rand.Rand, by float64) wire.Quat {
	x, y, z, w := float64(q.X)+by*(r.Float64()-0.5), float64(q.Y)+by*(r.Float64()-0.5), float64(q.Z)+by*(r.Float64()-0.5), float64(q.W)+by*(r.Float64()-0.5)
	n := math.Sqrt(x*x + y*y + z*z + w*w)
	return wire.Quat{X: float32(x / n), Y: float32(y / n), Z: float32(z / n), W: float32(w / n)}
}

func (w *codedWorld) player() wire.PlayerState {
	w.nextID++
	r := w.r
	p := wire.PlayerState{ClientID: w.nextID, LastInputSeq: r.Uint32(), Tracking: wire.TrackHead | wire.TrackLeft | wire.TrackRight}
	p.Head = wire.Pose{Pos: wire.Vec3{X: float32(r.Float64()*8 - 4), Y: 1.7, Z: float32(r.Float64()*8 - 4)}, Rot: turn(wire.Quat{W: 1}, r, 1)}
	for k := range p.Hands {
		p.Hands[k] = wire.Pose{Pos: wire.Vec3{X: p.Head.Pos.X + 0.2, Y: 1.2, Z: p.Head.Pos.Z}, Rot: turn(wire.Quat{W: 1}, r, 1)}
	}
	return p
}

func (w *codedWorld) step() {
	r := w.r
	for i := range w.players {
		p := &w.players[i]
		if r.IntN(10) == 0 {
			continue // stood still: not coded
		}
		p.LastInputSeq += uint32(1 + r.IntN(2))
		p.Head.Pos.X += float32(0.01 * (r.Float64() - 0.3))
		p.Head.Pos.Z += float32(0.01 * (r.Float64() - 0.5))
		p.Head.Rot = turn(p.Head.Rot, r, 0.02)
		for k := range p.Hands {
			p.Hands[k].Pos.Y += float32(0.02 * (r.Float64() - 0.5))
			p.Hands[k].Rot = turn(p.Hands[k].Rot, r, 0.05)
		}
		if r.IntN(200) == 0 {
			p.Tracking ^= wire.TrackLeft
		}
	}
	if r.IntN(8) == 0 && len(w.players) > 1 {
		i := r.IntN(len(w.players))
		w.players = append(w.players[:i], w.players[i+1:]...) // left
	}
	if r.IntN(8) == 0 {
		w.players = append(w.players, w.player()) // joined, with the newest id
	}
	for i := range w.entities {
		e := &w.entities[i]
		if i%5 != 0 {
			continue // asleep
		}
		e.Pose.Pos.Y += float32(0.03 * (r.Float64() - 0.5))
		e.Pose.Rot = turn(e.Pose.Rot, r, 0.03)
		if r.IntN(50) == 0 {
			e.Flags ^= wire.EntityHeld
		}
	}
}

func (w *codedWorld) state(tick uint32) *wire.State {
	st := &wire.State{}
	st.From(tick, w.players, w.entities)
	for i := range st.Players {
		wire.AvatarGridPlayer(&st.Players[i])
	}
	return st
}

// writeCodedStream codes a moving room's ticks as coded StateDelta parts
// with repair parts, against the baselines and priors a receiver (statesync)
// acknowledges holding, loses, duplicates and reorders some datagrams, and
// writes each datagram body with what statesync.Receiver made of it:
// "HEX OUTCOME REBUILT SUM" a line (REBUILT: how many parts it rebuilt;
// SUM of the tick's state when whole).
func writeCodedStream(t *testing.T, path string, ticks int) (lines int, outcomes map[string]int) {
	r := rand.New(rand.NewPCG(14, 15))
	w := &codedWorld{r: r}
	for range 150 {
		w.players = append(w.players, w.player())
	}
	for i := range 400 {
		w.entities = append(w.entities, wire.EntityState{ID: uint16(1 + i*3), Flags: wire.EntityGrabbable,
			Pose: wire.Pose{Pos: wire.Vec3{X: float32(i%20) * 0.3, Y: 0.5, Z: float32(i/20) * 0.3}, Rot: turn(wire.Quat{W: 1}, r, 1)}})
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := bufio.NewWriter(f)
	var rx statesync.Receiver
	var enc wire.StateEncoder
	hist := map[uint32]*wire.State{}
	outcomes = map[string]int{}
	var m wire.StateDelta
	burst := false
	var plainEnc wire.StateEncoder
	var codedBytes, plainBytes int
	var goTime time.Duration
	var goParts int
	send := func(body []byte) {
		if _, err := m.Parse(body); err != nil {
			t.Fatalf("a coded part does not parse: %v", err)
		}
		t0 := time.Now()
		o, st := rx.Apply(&m, nil)
		if m.Tick >= 1200 {
			goTime += time.Since(t0)
			goParts++
		}
		rec := len(rx.Recovered())
		var sum uint64
		if o == statesync.Whole {
			sum = stateSum(st)
		}
		outcomes[o.String()]++
		fmt.Fprintf(out, "%s %s %d %016x\n", hex.EncodeToString(body), o, rec, sum)
		lines++
	}
	for tick := uint32(1000); tick < 1000+uint32(ticks); tick++ {
		w.step()
		cur := w.state(tick)
		hist[tick] = cur
		h := wire.StateDelta{Tick: tick, ServerTime: uint64(tick) * 8333, Flags: wire.DeltaCoded | wire.DeltaAvatarGrid | wire.DeltaPrior | wire.DeltaHasHash,
			StateHash: uint64(tick) * 0x9e3779b97f4a7c15}
		if tick%2 == 0 {
			h.Flags |= wire.DeltaPriorEntities
		}
		var base, prior *wire.State
		if newest, _, ok := rx.Held(); ok && int32(tick-newest) < 50 {
			base, h.Base = hist[newest], newest
			for p := newest - 4; int32(newest-p) <= 12; p-- {
				if rx.Holds(p) != nil {
					prior, h.Prior = hist[p], p
					break
				}
			}
		}
		if (burst || r.IntN(15) == 0) && hist[tick-1] != nil {
			// Against the previous tick, held or not (a group's baseline this receiver may lack).
			base, h.Base = hist[tick-1], tick-1
			if prior != nil && int32(h.Base-h.Prior) <= 0 {
				prior, h.Prior = nil, 0
			}
		}
		parts := enc.EncodePrior(&h, base, prior, cur, wire.MaxBodySize-wire.ParityRoom)
		if parts == nil {
			t.Fatal("a tick does not code")
		}
		var dgrams [][]byte
		for _, p := range parts {
			dgrams = append(dgrams, append([]byte(nil), p...))
			codedBytes += len(p)
		}
		plain := h
		plain.Flags &^= wire.DeltaCoded | wire.DeltaAvatarGrid | wire.DeltaPrior | wire.DeltaPriorEntities
		for _, p := range plainEnc.Encode(&plain, base, cur, wire.MaxBodySize) {
			plainBytes += len(p)
		}
		if len(parts) > 1 {
			// Two repair parts, as a group at high loss is sent, and at
			// times two more of higher indices, as a repair by unicast.
			for j := range 2 {
				dgrams = append(dgrams, wire.AppendParity(nil, parts, j))
			}
			if r.IntN(4) == 0 {
				for j := 2; j < 4; j++ {
					dgrams = append(dgrams, wire.AppendParity(nil, parts, j+r.IntN(8)))
				}
			}
		}
		if r.IntN(4) == 0 { // reordered within the tick
			i, j := r.IntN(len(dgrams)), r.IntN(len(dgrams))
			dgrams[i], dgrams[j] = dgrams[j], dgrams[i]
		}
		burst = r.IntN(20) == 0 // every datagram of the tick lost
		for _, d := range dgrams {
			if burst || r.IntN(100) < 10 {
				continue // lost
			}
			if r.IntN(60) == 0 && len(d) > 60 {
				d = append([]byte(nil), d...)
				d[len(d)-1-r.IntN(20)] ^= 1 << r.IntN(8) // corrupted in its payload
			}
			send(d)
			if r.IntN(100) == 0 {
				send(d) // twice
			}
		}
	}
	if err := out.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Logf("coded data parts: %d bytes, %.0f %% of the same ticks bit-packed against the same baselines (%d bytes)", codedBytes, 100*float64(codedBytes)/float64(plainBytes), plainBytes)
	t.Logf("statesync.Receiver: %.1f µs a datagram from tick 1200 on (shared box, not asserted)", float64(goTime.Microseconds())/float64(max(1, goParts)))
	return lines, outcomes
}

// TestCodedStreamMatchesStatesync: the C# receiver (DeltaReceiver) makes of
// a stream of multi-part coded ticks with repair parts, 10 % of them lost,
// some reordered, duplicated or corrupted, some coded against a baseline it lacks, exactly what statesync.Receiver makes of
// it: the same outcome for every datagram, as many parts rebuilt from
// repair parts, the same state for every tick held whole.
func TestCodedStreamMatchesStatesync(t *testing.T) {
	b := compile(t)
	path := filepath.Join(t.TempDir(), "coded_stream.txt")
	n, outcomes := writeCodedStream(t, path, 500)
	t.Logf("%d datagrams; statesync: %v", n, outcomes)
	if outcomes["whole"] < 100 || outcomes["partial"] == 0 || outcomes["no-baseline"] == 0 {
		t.Fatalf("the stream does not exercise multi-part ticks: %v", outcomes)
	}
	out := runTests(t, b, []string{"ARCADE_CODED_STREAM=" + path}, "CodedStreamTests.")
	if !strings.Contains(out, "ok   CodedStreamTests.MatchesStatesync ") || strings.Contains(out, "not run") {
		t.Fatal("the C# side did not run and pass")
	}
}
