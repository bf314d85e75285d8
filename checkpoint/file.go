package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/arcadexr/arcade/scene"
)

// SceneFingerprint identifies a scene: the xxhash64 of its text as
// scene.Format writes it (names, shapes, kinds, starting poses, rules), so
// that a checkpoint of another scene, or of an edited one, is refused.
func SceneFingerprint(sc *scene.Scene) (uint64, error) {
	var b bytes.Buffer
	if err := sc.Format(&b); err != nil {
		return 0, err
	}
	return xxhash.Sum64(b.Bytes()), nil
}

// ErrScene: the checkpoint is of another scene.
var ErrScene = errors.New("written for another scene")

// Load reads the checkpoint at path for the scene with fingerprint scene.
// An error names the file and the problem: a file that does not exist
// (errors.Is(err, fs.ErrNotExist)), cannot be read, is not a checkpoint,
// is truncated or corrupt, or is of another scene (ErrScene).
func Load(path string, scene uint64) (*State, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: cannot read: %w", path, err)
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("checkpoint %s: larger than %d bytes, the largest a checkpoint can be: %w", path, MaxSize, ErrCorrupt)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("checkpoint %s: the file is empty: %w", path, ErrTruncated)
	}
	st := new(State)
	if _, err := Parse(b, st); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if st.Scene != scene {
		return nil, fmt.Errorf("checkpoint %s: %w (its scene fingerprint %016x, this scene's %016x)", path, ErrScene, st.Scene, scene)
	}
	return st, nil
}

// WriteFile writes b to path atomically: to path+".tmp", fsynced, renamed
// over path, and the directory fsynced, so that after a crash path holds
// the old contents or b, whole.
func WriteFile(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync() // the rename itself; not every file system can
		d.Close()
	}
	return nil
}

// Writer keeps a checkpoint file up to date from the tick thread without
// ever making it wait: it owns two States; the tick takes a free one
// (Begin), fills it and hands it back (Commit); a goroutine of the
// Writer's encodes it and writes it with WriteFile. While both States are
// with the goroutine (a disk slower than the checkpoint period) Begin
// returns nil and the checkpoint is skipped, and counted.
type Writer struct {
	path  string
	write func([]byte) error
	free  chan *State
	todo  chan *State
	done  chan struct{}
	buf   []byte

	written, skipped, failed atomic.Uint64
	bytes                    atomic.Int64
	lastTick                 atomic.Uint64
	lastWrite                atomic.Int64 // ns the last write took
	lastAt                   atomic.Int64 // wall clock (Unix ns) when the last good write ended
	lastErr                  atomic.Pointer[string]
}

// NewWriter starts the writer of the checkpoint at path. It checks that
// the directory takes a file by writing path+".tmp" once.
func NewWriter(path string) (*Writer, error) {
	if path == "" {
		return nil, errors.New("checkpoint: empty file name")
	}
	if err := WriteFile(path+".probe", nil); err != nil {
		return nil, fmt.Errorf("checkpoint %s: cannot write beside it: %w", path, err)
	}
	os.Remove(path + ".probe")
	return NewWriterFunc(path, func(b []byte) error { return WriteFile(path, b) }), nil
}

// NewWriterFunc is NewWriter with write, not WriteFile, taking each
// encoded checkpoint (another store; tests). name is for errors.
func NewWriterFunc(name string, write func(b []byte) error) *Writer {
	w := &Writer{
		path:  name,
		write: write,
		free:  make(chan *State, 2),
		todo:  make(chan *State, 2),
		done:  make(chan struct{}),
	}
	for range 2 {
		w.free <- NewState()
	}
	go w.run()
	return w
}

// Path returns the checkpoint file's name.
func (w *Writer) Path() string { return w.path }

// Begin returns a free State, reset, for the caller to fill and Commit, or
// nil (counted as skipped) while the writer still holds both.
func (w *Writer) Begin() *State {
	select {
	case st := <-w.free:
		st.Reset()
		return st
	default:
		w.skipped.Add(1)
		return nil
	}
}

// Commit hands a State from Begin to the writer. It never blocks.
func (w *Writer) Commit(st *State) {
	select {
	case w.todo <- st:
	default: // cannot happen: two States, room for two
		w.free <- st
	}
}

// Close writes what was committed, stops the goroutine and returns the
// last write's error, if the last write failed.
func (w *Writer) Close() error {
	close(w.todo)
	<-w.done
	if e := w.lastErr.Load(); e != nil {
		return errors.New(*e)
	}
	return nil
}

func (w *Writer) run() {
	defer close(w.done)
	for st := range w.todo {
		t0 := time.Now()
		w.buf = Append(w.buf[:0], st)
		err := w.write(w.buf)
		w.lastWrite.Store(int64(time.Since(t0)))
		if err != nil {
			w.failed.Add(1)
			msg := fmt.Sprintf("checkpoint %s: %v", w.path, err)
			w.lastErr.Store(&msg)
		} else {
			w.written.Add(1)
			w.bytes.Store(int64(len(w.buf)))
			w.lastTick.Store(st.Tick)
			w.lastAt.Store(time.Now().UnixNano())
			w.lastErr.Store(nil)
		}
		w.free <- st
	}
}

// WriterStats are a Writer's counters.
type WriterStats struct {
	Written, Skipped, Failed uint64
	Bytes                    int64         // size of the last checkpoint written
	LastTick                 uint64        // tick of the last checkpoint written
	LastWrite                time.Duration // how long the last write took (encode, write, fsync, rename)
	LastAt                   time.Time     // when the last good write ended (zero: none yet)
	LastErr                  string        // the last write's error; empty once one succeeds
}

// Stats returns the counters.
func (w *Writer) Stats() WriterStats {
	s := WriterStats{
		Written: w.written.Load(), Skipped: w.skipped.Load(), Failed: w.failed.Load(),
		Bytes: w.bytes.Load(), LastTick: w.lastTick.Load(), LastWrite: time.Duration(w.lastWrite.Load()),
	}
	if at := w.lastAt.Load(); at != 0 {
		s.LastAt = time.Unix(0, at)
	}
	if e := w.lastErr.Load(); e != nil {
		s.LastErr = *e
	}
	return s
}

// BeginWait is Begin that waits up to d for the writer to give back a
// State: for a last checkpoint at shutdown, when no tick waits on it. It
// returns nil, counted as skipped, if none came back in time.
func (w *Writer) BeginWait(d time.Duration) *State {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case st := <-w.free:
		st.Reset()
		return st
	case <-t.C:
		w.skipped.Add(1)
		return nil
	}
}
