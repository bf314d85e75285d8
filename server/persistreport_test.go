package server_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/record"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/sim"
	"github.com/arcadexr/arcade/wire"
)

// TestReportShowsCheckpointAndRecording: the StatsReport carries the
// checkpoint writer's state (file, period, the last checkpoint's tick,
// size, time and write duration; then the failure of a disk that refuses
// the file) and the recording's (ticks, events, keyframes, bytes); a
// server that keeps neither reports neither.
func TestReportShowsCheckpointAndRecording(t *testing.T) {
	var fail atomic.Bool
	cw := checkpoint.NewWriterFunc("world.checkpoint", func([]byte) error {
		if fail.Load() {
			return errors.New("disk full")
		}
		return nil
	})
	var out countingDiscard
	rw, err := record.New(&out, record.Config{TickRate: server.DefaultTickRate})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := sim.New(scene.Default())
	r := newRig(t, netsim.Config{}, server.Config{World: w, Persist: server.Persist{Checkpoint: cw, Every: 100 * time.Millisecond, Record: rw}})
	c := r.client("10.0.0.2:5000")
	r.connectAs(c, wire.ConnectWantUnicast, [16]byte{7})
	r.advance(500*time.Millisecond, nil)
	rep := r.srv.Report()
	// The writer's goroutine runs in real time: a checkpoint due while it
	// is still writing the last is skipped, so on a busy machine the
	// first half second of virtual time may write none. Give it turns.
	for i := 0; i < 200 && rep.Checkpoint != nil && rep.Checkpoint.Written < 2; i++ {
		time.Sleep(5 * time.Millisecond)
		r.advance(100*time.Millisecond, nil)
		rep = r.srv.Report()
	}
	ck, rec := rep.Checkpoint, rep.Recording
	if ck == nil || rec == nil {
		t.Fatalf("report: checkpoint %+v, recording %+v", ck, rec)
	}
	if ck.File != "world.checkpoint" || ck.EveryS != 0.1 || ck.Written < 2 || ck.Bytes == 0 || ck.LastTick == 0 || ck.LastAt == "" || ck.AgeS < 0 || ck.Err != "" {
		t.Fatalf("checkpoint report %+v", ck)
	}
	if rec.Ticks == 0 || rec.Events == 0 || rec.Keyframes == 0 || rec.LostEvents != 0 || rec.Err != "" {
		t.Fatalf("recording report %+v", rec)
	}
	fail.Store(true) // the writer's goroutine reads it after the next hand-over
	written := ck.Written
	for range 50 {
		r.advance(100*time.Millisecond, nil)
		time.Sleep(5 * time.Millisecond) // real time for the writer's goroutine
		if ck = r.srv.Report().Checkpoint; ck.Failed > 0 {
			break
		}
	}
	if ck.Failed == 0 || !strings.Contains(ck.Err, "disk full") || ck.Written < written {
		t.Fatalf("after the disk refused the checkpoint: %+v", ck)
	}
	cw.Close()
	rw.Close()

	w2, _ := sim.New(scene.Default())
	plain := newRig(t, netsim.Config{}, server.Config{World: w2})
	if rep := plain.srv.Report(); rep.Checkpoint != nil || rep.Recording != nil {
		t.Fatalf("a server keeping nothing reports checkpoint %+v, recording %+v", rep.Checkpoint, rep.Recording)
	}
}
