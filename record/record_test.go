package record

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/internal/golden"
	"github.com/arcadexr/arcade/wire"
)

var update = flag.Bool("update", false, "rewrite ../testdata/record/v1.hex")

const goldenFile = "../testdata/record/v1.hex"

var sceneText = []byte("name Tiny\nobject floor shape=plane normal=0,1,0 offset=0 kind=static\n")

func input(seq uint32) *wire.PoseInput {
	in := &wire.PoseInput{InputSeq: seq, ClientTime: 1000 + uint64(seq), Tracking: wire.TrackHead | wire.TrackRight, Grip: [2]float32{0, 0.9}}
	in.Head.Rot.W, in.Hands[0].Rot.W, in.Hands[1].Rot.W = 1, 1, 1
	in.Hands[1].Pos = wire.Vec3{X: 0.25, Y: 1.1, Z: -0.5}
	return in
}

// session writes one of every frame type through w, the way a server's
// tick does.
func session(w *Writer) {
	k := w.KeyState()
	k.State = checkpoint.State{Scene: 0xfeed, Entities: append(k.State.Entities, checkpoint.Entity{ID: 2, Pose: geom.IdentityPose})}
	w.Keyframe(KeyFresh, 5, k)
	w.Join(10, 1, false, input(0))
	w.AddPlayer(10, 1)
	w.ApplyInput(20, 1, input(1))
	w.Grab(21, 1, wire.Right, 2, true)
	w.Release(22, 1, wire.Left, false)
	w.Propagate(30)
	w.BeginStep(30, 1.0/120, 2)
	w.SubStep(0)
	w.ApplyInput(31, 1, input(2))
	w.SubStep(1)
	w.EndStep(30)
	w.Tick(1, 30, 0xabcdef, 1, 1, []wire.EntityState{{ID: 2, Flags: wire.EntityHeld, Pose: wire.Pose{Pos: wire.Vec3{X: 0.25, Y: 1.1, Z: -0.5}, Rot: wire.Quat{W: 1}}}})
	w.Leave(40, 1)
	w.RemovePlayer(40, 1)
}

// readAll decodes every frame of a recording.
func readAll(t *testing.T, b []byte) ([]Event, *Reader, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, nil, err
	}
	var out []Event
	for {
		f, err := r.Next()
		if err == io.EOF {
			return out, r, nil
		}
		if err != nil {
			return out, r, err
		}
		var e Event
		if err := e.Decode(f); err != nil {
			return out, r, err
		}
		out = append(out, e)
	}
}

func record(t *testing.T) []byte {
	var buf bytes.Buffer
	w, err := New(&buf, Config{TickRate: 120, Scene: sceneText, Fingerprint: 0xfeed})
	if err != nil {
		t.Fatal(err)
	}
	session(w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTripAndGolden(t *testing.T) {
	b := record(t)
	if *update {
		os.MkdirAll(filepath.Dir(goldenFile), 0o755)
		var s strings.Builder
		s.WriteString("# v1: a recording of one tick: header, scene, fresh keyframe, one of every event, the tick, the end.\n")
		fmt.Fprintf(&s, "# %d bytes. Layout: docs/RECORDING.md. Regenerate with: go test ./record -run Golden -update\n", len(b))
		fmt.Fprintf(&s, "%x # header: magic, version, tick rate, reserved\n", b[:HeaderSize])
		r, _ := NewReader(bytes.NewReader(b))
		prev := int64(HeaderSize) // the scene, read by NewReader, first
		for {
			end := r.Offset()
			fmt.Fprintf(&s, "%x # frame: length, type %d, payload, CRC-32C\n", b[prev:end], b[prev+4])
			prev = end
			if _, err := r.Next(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(goldenFile, []byte(s.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := golden.ReadHex(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("recording differs from %s:\n got %x\nwant %x", goldenFile, b, want)
	}
	evs, r, err := readAll(t, b)
	if err != nil {
		t.Fatal(err)
	}
	if r.TickRate != 120 || r.Fingerprint != 0xfeed || !bytes.Equal(r.Scene, sceneText) {
		t.Fatalf("header: rate %d fingerprint %x scene %q", r.TickRate, r.Fingerprint, r.Scene)
	}
	var types []uint8
	for _, e := range evs {
		types = append(types, e.Type)
	}
	wantTypes := []uint8{TypeKeyframe, TypeJoin, TypeAddPlayer, TypeApplyInput, TypeGrab, TypeRelease, TypePropagate, TypeBeginStep,
		TypeSubStep, TypeApplyInput, TypeSubStep, TypeEndStep, TypeTick, TypeLeave, TypeRemovePlayer, TypeEnd}
	if !reflect.DeepEqual(types, wantTypes) {
		t.Fatalf("frame types %v, want %v", types, wantTypes)
	}
	if e := evs[3]; e.Now != 20 || e.Client != 1 || e.Input != *input(1) {
		t.Fatalf("ApplyInput decoded as %+v", e)
	}
	if e := evs[4]; e.Hand != wire.Right || e.Entity != 2 || !e.OK {
		t.Fatalf("Grab decoded as %+v", e)
	}
	if e := evs[12]; e.Tick != 1 || e.Hash != 0xabcdef || len(e.Changed) != 1 || e.Changed[0].Pose.Pos.X != 0.25 {
		t.Fatalf("Tick decoded as %+v", e)
	}
	if e := evs[len(evs)-1]; e.Events != 14 || e.EndTicks != 1 || e.Lost != 0 {
		t.Fatalf("End decoded as %+v", e)
	}
}

// TestCutAnywhereIsReadToTheCut: a recording cut at any byte reads, frame
// by frame, every frame before the cut, then an error wrapping ErrCut
// that says where; a flipped bit inside is ErrCorrupt (or, in the last
// frame, a torn frame: ErrCut).
func TestCutAnywhereIsReadToTheCut(t *testing.T) {
	b := record(t)
	whole, _, _ := readAll(t, b)
	for n := HeaderSize; n < len(b); n++ {
		evs, _, err := readAll(t, b[:n])
		if err == nil {
			t.Fatalf("cut at %d of %d: no error", n, len(b))
		}
		if !errors.Is(err, ErrCut) {
			t.Fatalf("cut at %d: %v, want ErrCut", n, err)
		}
		if len(evs) > len(whole) || (len(evs) > 0 && !reflect.DeepEqual(evs, whole[:len(evs)])) {
			t.Fatalf("cut at %d: the frames before the cut differ", n)
		}
	}
	bad := bytes.Clone(b)
	bad[HeaderSize+40] ^= 1
	if _, _, err := readAll(t, bad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a flipped bit: %v, want ErrCorrupt", err)
	}
	if _, err := NewReader(strings.NewReader("PK\x03\x04")); !errors.Is(err, ErrNotRecording) {
		t.Fatalf("another file: %v", err)
	}
}

// gate is an output that blocks every write until opened: a disk that
// cannot keep up.
type gate struct {
	mu   sync.Mutex
	open chan struct{}
	buf  bytes.Buffer
}

func (g *gate) Write(b []byte) (int, error) {
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(b)
}

// TestWriterBehindLosesAndSaysSo: with the output stalled, the tick's
// calls never block; once every chunk is queued, events are dropped and
// counted, and the recording carries a Lost frame where they were.
func TestWriterBehindLosesAndSaysSo(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	done := make(chan *Writer)
	go func() {
		w, err := New(g, Config{TickRate: 120, Scene: sceneText, Buffer: MinBuffer})
		if err != nil {
			t.Error(err)
		}
		done <- w
	}()
	close(g.open) // the header and scene go through
	w := <-done
	g.open = make(chan struct{})
	for i := range 2000 { // far more than a 4 KiB ring holds
		w.ApplyInput(int64(i), 1, input(uint32(i)))
	}
	if w.Stats().LostEvents == 0 {
		t.Fatal("nothing lost with the output stalled and the ring full")
	}
	close(g.open)
	ticks := 0
	for w.losing && ticks < 1000 { // until a chunk comes back: the loss is written first
		w.Tick(7, 1, 0, 0, 0, nil)
		ticks++
		time.Sleep(time.Millisecond)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	evs, _, err := readAll(t, g.buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	lost := false
	for _, e := range evs {
		if e.Type == TypeLost {
			lost = true
			if e.LostEvents == 0 || e.Bytes == 0 {
				t.Fatalf("Lost frame %+v", e)
			}
		}
	}
	if !lost {
		t.Fatal("no Lost frame in the recording")
	}
	if s := w.Stats(); s.Events+s.LostEvents != uint64(2000+ticks) {
		t.Fatalf("events %d + lost %d, want %d", s.Events, s.LostEvents, 2000+ticks)
	}
}

// FuzzRead: any bytes after a valid header and scene. Reading never
// panics or hangs, and decoding fails cleanly or gives an event.
func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	w, _ := New(&buf, Config{TickRate: 120, Scene: sceneText})
	session(w)
	w.Close()
	good := buf.Bytes()
	f.Add(good)
	f.Add(good[:len(good)/2])
	if b, err := golden.ReadHex(goldenFile); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		var e Event
		for range 10000 {
			fr, err := r.Next()
			if err != nil {
				return
			}
			before := e
			if err := e.Decode(fr); err != nil && !reflect.DeepEqual(before, e) {
				t.Fatalf("a failed Decode changed the event: %v", err)
			}
		}
	})
}

// TestWriterSealsFramesAcrossTheRingsEnd: the goroutine computes each
// frame's CRC in the ring, where frames go round its end: a small ring
// filled many times over, drained as it goes, gives a recording whose
// every frame passes its checksum, in order.
func TestWriterSealsFramesAcrossTheRingsEnd(t *testing.T) {
	var buf bytes.Buffer
	w, err := New(&buf, Config{TickRate: 120, Scene: sceneText, Buffer: MinBuffer})
	if err != nil {
		t.Fatal(err)
	}
	changed := []wire.EntityState{{ID: 3, Flags: wire.EntityHeld, Pose: wire.Pose{Rot: wire.Quat{W: 1}}}}
	const ticks = 400 // each about 100 bytes of inputs and a Tick: 10 rings' worth
	for i := range ticks {
		w.ApplyInput(int64(i), 1, input(uint32(i)))
		w.Tick(uint64(i), int64(i), uint64(i)*7, 1, 1, changed)
		for w.head.Load()-w.tail.Load() > MinBuffer/2 { // the ring half full: wait for the goroutine
			time.Sleep(100 * time.Microsecond)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s.LostEvents != 0 || s.Bytes < 4*MinBuffer {
		t.Fatalf("stats %+v: want nothing lost and the ring gone round", s)
	}
	evs, _, err := readAll(t, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Type == TypeTick {
			if e.Tick != uint64(n) || e.Hash != uint64(n)*7 || len(e.Changed) != 1 || e.Changed[0] != changed[0] {
				t.Fatalf("tick %d read as %+v", n, e)
			}
			n++
		}
	}
	if n != ticks {
		t.Fatalf("%d ticks read, %d written", n, ticks)
	}
}
