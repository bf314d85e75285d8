// The race detector backs its shadow of the ring on the tick's first
// write to each part of it: page faults of its own.

//go:build !race

package record

import (
	"io"
	"runtime"
	"syscall"
	"testing"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/wire"
)

// minorFaults is the calling thread's count of minor page faults.
func minorFaults(t *testing.T) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		t.Fatal(err)
	}
	return ru.Minflt
}

// TestTickTakesNoPageFaults: the tick's first pass through the ring, and
// the first keyframe it fills, write to memory New has already touched,
// so the tick's thread takes no page faults for them (without that it
// took one per 4 KiB recorded: 256 here).
func TestTickTakesNoPageFaults(t *testing.T) {
	const ring = 1 << 20
	w, err := New(io.Discard, Config{TickRate: 120, Buffer: ring})
	if err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	in := input(1)
	changed := make([]wire.EntityState, 16)
	e := checkpoint.Entity{Pose: geom.IdentityPose}
	f0 := minorFaults(t)
	k := w.KeyState()
	for i := range 1000 {
		e.ID = uint16(i)
		k.State.Entities = append(k.State.Entities, e)
	}
	w.Keyframe(KeyPeriodic, 0, k)
	var tick uint64
	for bytes := 0; bytes < ring; tick++ {
		for c := range 16 {
			w.ApplyInput(int64(tick), uint16(c+1), in)
		}
		w.Tick(tick, int64(tick), tick, 16, 16, changed)
		bytes += 16*(FrameOverhead+10+InputSize) + FrameOverhead + 30 + len(changed)*EntitySize
	}
	faults := minorFaults(t) - f0
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if faults > 8 { // the runtime's own (a stack growing, say) aside
		t.Fatalf("the tick's thread took %d page faults recording %d ticks (%d KiB)", faults, tick, ring>>10)
	}
}
