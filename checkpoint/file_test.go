package checkpoint

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/arcadexr/arcade/scene"
)

func TestWriterKeepsTheFileWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "world.checkpoint")
	w, err := NewWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	want := sample()
	for tick := range uint64(5) {
		st := w.Begin()
		for st == nil { // both with the goroutine: the tick would skip
			st = w.Begin()
		}
		*st = State{Scene: want.Scene, Tick: tick, ServerTime: want.ServerTime, Wall: want.Wall,
			Entities: append(st.Entities[:0], want.Entities...),
			Players:  append(st.Players[:0], want.Players...),
			Holds:    append(st.Holds[:0], want.Holds...)}
		w.Commit(st)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path, want.Scene)
	if err != nil {
		t.Fatal(err)
	}
	want.Tick = 4
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("loaded %+v\nwant %+v", got, want)
	}
	s := w.Stats()
	if s.Written+s.Skipped < 5 || s.Written == 0 || s.LastTick != 4 || s.Failed != 0 {
		t.Fatalf("stats %+v", s)
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the temporary file is left: %v", err)
	}
}

func TestLoadNamesFileAndProblem(t *testing.T) {
	dir := t.TempDir()
	good := Append(nil, sample())
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		path  string
		scene uint64
		want  error
		text  string
	}{
		{filepath.Join(dir, "none"), 1, fs.ErrNotExist, "none"},
		{write("empty", nil), 1, ErrTruncated, "empty"},
		{write("cut", good[:len(good)/2]), sample().Scene, ErrTruncated, "truncated"},
		{write("foreign", good), 42, ErrScene, "another scene"},
		{write("text", []byte("hello")), 1, ErrMagic, "not a checkpoint"},
	} {
		_, err := Load(c.path, c.scene)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("Load(%s) = %v, want %v naming the file and %q", c.path, err, c.want, c.text)
		}
	}
}

func TestSceneFingerprintTellsScenesApart(t *testing.T) {
	a := scene.Default()
	fa, err := SceneFingerprint(a)
	if err != nil {
		t.Fatal(err)
	}
	b := scene.Default()
	b.Objects[len(b.Objects)-1].Pose.Pos.X += 0.01
	fb, _ := SceneFingerprint(b)
	fa2, _ := SceneFingerprint(scene.Default())
	if fa != fa2 || fa == fb {
		t.Fatalf("fingerprints %x %x %x: want the same scene equal, an edited one different", fa, fa2, fb)
	}
}

func TestNewWriterRefusesAnUnwritableDirectory(t *testing.T) {
	_, err := NewWriter(filepath.Join(t.TempDir(), "no", "such", "dir", "w.checkpoint"))
	if err == nil || !strings.Contains(err.Error(), "w.checkpoint") {
		t.Fatalf("err = %v, want one naming the file", err)
	}
}
