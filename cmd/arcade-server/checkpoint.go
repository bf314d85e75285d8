package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/record"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/sim"
)

// openCheckpoint reads --checkpoint, if given, and starts its writer. A
// checkpoint that exists but cannot be used (unreadable, corrupt,
// truncated, of another scene) is an error naming the file and the
// problem unless --fresh sets it aside; a missing one is a first start.
// closeFn, after the server's Run, waits for the last write and logs it.
func openCheckpoint(o *options, world *sim.World, log *slog.Logger) (p server.Persist, closeFn func(), err error) {
	closeFn = func() {}
	if o.checkpoint == "" {
		return p, closeFn, nil
	}
	p.Every = o.ckptEvery
	st, err := checkpoint.Load(o.checkpoint, world.Fingerprint())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		log.Info("no checkpoint yet: starting from the scene", "file", o.checkpoint)
	case o.fresh:
		why := "--fresh"
		if err != nil {
			why = err.Error()
		}
		old := o.checkpoint + ".old"
		if rerr := os.Rename(o.checkpoint, old); rerr != nil {
			return p, closeFn, fmt.Errorf("--fresh: cannot set %s aside: %w", o.checkpoint, rerr)
		}
		log.Warn("checkpoint set aside: starting from the scene", "file", o.checkpoint, "moved_to", old, "why", why)
	case err != nil:
		return p, closeFn, fmt.Errorf("--checkpoint: %w; start with --fresh to set it aside and begin from the scene", err)
	default:
		p.Resume = st
		log.Info("resuming from checkpoint", "file", o.checkpoint, "tick", st.Tick, "entities", len(st.Entities),
			"players", len(st.Players), "holds", len(st.Holds), "age", time.Since(time.Unix(0, st.Wall)).Round(time.Millisecond))
	}
	w, err := checkpoint.NewWriter(o.checkpoint)
	if err != nil {
		return p, closeFn, fmt.Errorf("--checkpoint: %w", err)
	}
	p.Checkpoint = w
	stop := make(chan struct{})
	done := make(chan struct{})
	go watchCheckpoint(w, o.ckptEvery, stop, done, log)
	closeFn = func() {
		err := w.Close()
		stopWatch(stop, done)
		s := w.Stats()
		lvl := slog.LevelInfo
		if err != nil {
			lvl = slog.LevelError
		}
		log.Log(context.Background(), lvl, "checkpoint closed", "file", o.checkpoint, "written", s.Written, "skipped", s.Skipped,
			"failed", s.Failed, "last_tick", s.LastTick, "bytes", s.Bytes, "err", err)
	}
	return p, closeFn, nil
}

// watchCheckpoint warns, off the tick, when checkpoints fail or are
// skipped (the disk slower than the period), at most once a period.
func watchCheckpoint(w *checkpoint.Writer, every time.Duration, stop <-chan struct{}, done chan<- struct{}, log *slog.Logger) {
	defer close(done)
	t := time.NewTicker(max(every, time.Second))
	defer t.Stop()
	var last checkpoint.WriterStats
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		s := w.Stats()
		if s.Failed > last.Failed {
			log.Error("checkpoint not written", "err", s.LastErr, "failed", s.Failed, "last_written_tick", s.LastTick)
		}
		if s.Skipped > last.Skipped {
			log.Warn("checkpoints skipped: the last write had not finished", "skipped", s.Skipped-last.Skipped, "last_write", s.LastWrite)
		}
		last = s
	}
}

func stopWatch(stop chan struct{}, done <-chan struct{}) {
	close(stop)
	<-done
}

// openRecord starts --record's recording of the session into p.Record.
// A recording already in the file (the session before a restart, say) is
// kept: moved to FILE.<its time>.rec first. closeFn, after the server's
// Run, ends the new one (after the last tick) and logs what it wrote.
func openRecord(o *options, sc *scene.Scene, world *sim.World, p *server.Persist, log *slog.Logger) (closeFn func(), err error) {
	var text bytes.Buffer
	if err := sc.Format(&text); err != nil {
		return nil, fmt.Errorf("the scene cannot be written into the recording: %w", err)
	}
	if fi, err := os.Stat(o.record); err == nil && fi.Size() > 0 {
		old := keptName(o.record, fi.ModTime())
		if err := os.Rename(o.record, old); err != nil {
			return nil, fmt.Errorf("cannot keep the recording already in %s: %w", o.record, err)
		}
		log.Info("the recording already there is kept", "file", o.record, "moved_to", old)
	}
	w, err := record.Create(o.record, record.Config{TickRate: o.tickRate, Scene: text.Bytes(), Fingerprint: world.Fingerprint()})
	if err != nil {
		return nil, err
	}
	p.Record = w
	log.Info("recording the session", "file", o.record)
	return func() {
		err := w.Close()
		s := w.Stats()
		lvl := slog.LevelInfo
		if err != nil || s.LostEvents > 0 || s.LostKeyframes > 0 {
			lvl = slog.LevelWarn
		}
		log.Log(context.Background(), lvl, "recording closed", "file", o.record, "ticks", s.Ticks, "events", s.Events,
			"lost_events", s.LostEvents, "keyframes", s.Keyframes, "lost_keyframes", s.LostKeyframes, "bytes", s.Bytes, "err", err)
	}, nil
}

// keptName is where a recording made until t is kept: FILE.<t>.rec, or
// FILE.<t>-N.rec if that is taken.
func keptName(path string, t time.Time) string {
	base := path + "." + t.UTC().Format("2006-01-02T15-04-05")
	name := base + ".rec"
	for i := 2; ; i++ {
		if _, err := os.Stat(name); errors.Is(err, fs.ErrNotExist) {
			return name
		}
		name = fmt.Sprintf("%s-%d.rec", base, i)
	}
}
