package main

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/sim"
)

// TestUnusableCheckpointIsAnError: a corrupt, truncated or foreign
// checkpoint stops the start with an error naming the file and the
// problem, never a silent reset; --fresh sets it aside (FILE.old) and
// starts from the scene; a missing one is a first start.
func TestUnusableCheckpointIsAnError(t *testing.T) {
	world, err := sim.New(scene.Default())
	if err != nil {
		t.Fatal(err)
	}
	var st checkpoint.State
	world.SaveState(&st)
	good := checkpoint.Append(nil, &st)
	foreign := st
	foreign.Scene++
	bad := bytes.Clone(good)
	bad[len(bad)-3] ^= 1
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	for _, c := range []struct {
		name, want string
		b          []byte
	}{
		{"corrupt", "checksum", bad},
		{"truncated", "truncated", good[:len(good)-10]},
		{"foreign", "another scene", checkpoint.Append(nil, &foreign)},
		{"not-one", "not a checkpoint", []byte("world = big\n")},
	} {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, c.b, 0o600); err != nil {
			t.Fatal(err)
		}
		o := &options{checkpoint: path, ckptEvery: 1e9}
		_, closeFn, err := openCheckpoint(o, world, log)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--fresh") {
			t.Errorf("%s: %v, want an error naming %s, %q and --fresh", c.name, err, path, c.want)
		}
		closeFn()
		o.fresh = true
		p, closeFn, err := openCheckpoint(o, world, log)
		if err != nil || p.Resume != nil || p.Checkpoint == nil {
			t.Errorf("%s with --fresh: %v (resume %v)", c.name, err, p.Resume != nil)
		}
		closeFn()
		if old, err := os.ReadFile(path + ".old"); err != nil || !bytes.Equal(old, c.b) {
			t.Errorf("%s with --fresh: the old file was not kept as .old: %v", c.name, err)
		}
	}
	path := filepath.Join(dir, "good")
	os.WriteFile(path, good, 0o600)
	p, closeFn, err := openCheckpoint(&options{checkpoint: path, ckptEvery: 1e9}, world, log)
	if err != nil || p.Resume == nil || p.Resume.Scene != st.Scene {
		t.Fatalf("a good checkpoint: %v, resume %v", err, p.Resume)
	}
	closeFn()
	p, closeFn, err = openCheckpoint(&options{checkpoint: filepath.Join(dir, "none"), ckptEvery: 1e9}, world, log)
	if err != nil || p.Resume != nil {
		t.Fatalf("a missing checkpoint: %v, resume %v", err, p.Resume)
	}
	closeFn()
	if _, err := os.Stat(filepath.Join(dir, "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a checkpoint was written with nothing to write: %v", err)
	}
}

// TestRecordKeepsTheRecordingBefore: a restarted server with --record
// does not overwrite the session it recorded before (its crash, say): the
// old file is kept beside, under its time.
func TestRecordKeepsTheRecordingBefore(t *testing.T) {
	world, err := sim.New(scene.Default())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	path := filepath.Join(t.TempDir(), "show.rec")
	var last []byte
	for range 3 {
		var p server.Persist
		closeFn, err := openRecord(&options{record: path, tickRate: 120}, scene.Default(), world, &p, log)
		if err != nil {
			t.Fatal(err)
		}
		closeFn()
		if last, err = os.ReadFile(path); err != nil || len(last) == 0 {
			t.Fatalf("no recording in %s: %v", path, err)
		}
	}
	kept, _ := filepath.Glob(path + ".*.rec")
	if len(kept) != 2 {
		t.Fatalf("kept %v, want the two recordings before the last", kept)
	}
	for _, k := range kept {
		if b, err := os.ReadFile(k); err != nil || !bytes.Equal(b, last) { // the same empty session each time
			t.Fatalf("%s: %v, not a whole recording", k, err)
		}
	}
}
