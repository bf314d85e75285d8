package capture

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/seal"
)

// Recorder is a server Tap that captures only while it is told to: an
// operator starts and stops a capture on a running server (operator API,
// POST /api/capture), and caps its size with rotation. Between captures
// Received and Sent cost one atomic load.
//
// With a passphrase it is also the server's key logger (server.KeyLogger):
// it keeps the keys of the live sealed sessions at all times, in memory,
// so that a capture started while they run still holds their keys, sealed
// under the passphrase (keylog.go).
type Recorder struct {
	cfg  RecorderConfig
	keys *KeyLog // nil without a passphrase
	cur  atomic.Pointer[Writer]

	mu   sync.Mutex // Start, Stop, Status
	wrap *KeyWrap   // derived at the first Start
	last Status
}

// RecorderConfig configures a Recorder.
type RecorderConfig struct {
	// Local is the server's bound address (see New).
	Local netip.AddrPort
	// Dir is where captures started without a Path go, as
	// arcade-YYYYMMDDTHHMMSSZ.pcapng. Empty: only Start with a Path.
	Dir string
	// Passphrase is the server's venue passphrase; set, every capture
	// holds the sealed key log.
	Passphrase string
	// KDF is the key log's Argon2id cost (zero fields: the default).
	KDF KDF
	// Options is the base for every capture's Writer (its Keys, Wrap,
	// MaxBytes and MaxFiles are the Recorder's and Start's).
	Options Options
}

// StartOptions are one capture's.
type StartOptions struct {
	// Path is the file; empty means a new file in RecorderConfig.Dir.
	Path string
	// MaxBytes and MaxFiles cap the capture (Options).
	MaxBytes int64
	MaxFiles int
}

// Status describes the running capture, or the last one.
type Status struct {
	Running   bool      `json:"running"`
	File      string    `json:"file,omitempty"` // the first file; rotated ones are FILE.N.pcapng
	Started   time.Time `json:"started,omitzero"`
	Stopped   time.Time `json:"stopped,omitzero"`
	MaxBytes  int64     `json:"max_bytes,omitempty"`
	MaxFiles  int       `json:"max_files,omitempty"`
	Files     int       `json:"files,omitempty"`
	Datagrams uint64    `json:"datagrams"`
	Dropped   uint64    `json:"dropped"`
	KeyLog    bool      `json:"key_log"` // the files hold the sealed key log
	Err       string    `json:"error,omitempty"`
}

// ErrRunning and ErrNotRunning are Start's and Stop's errors out of turn.
var (
	ErrRunning    = errors.New("capture: a capture is already running (stop it first)")
	ErrNotRunning = errors.New("capture: no capture is running")
	ErrNoDir      = errors.New("capture: no capture directory configured (arcade-server --capture-dir)")
)

// NewRecorder returns a stopped Recorder.
func NewRecorder(cfg RecorderConfig) (*Recorder, error) {
	r := &Recorder{cfg: cfg}
	if cfg.Passphrase != "" {
		r.keys = NewKeyLog()
	}
	if cfg.Dir != "" {
		fi, err := os.Stat(cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("capture: directory: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("capture: %s is not a directory", cfg.Dir)
		}
	}
	o := cfg.Options
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	return r, nil
}

// Received and Sent pass the datagram to the running capture, if any.
func (r *Recorder) Received(m *udp.Message) {
	if w := r.cur.Load(); w != nil {
		w.Received(m)
	}
}

// Sent: see Received.
func (r *Recorder) Sent(m *udp.Message, at int64) {
	if w := r.cur.Load(); w != nil {
		w.Sent(m, at)
	}
}

// SessionKeys, SessionEnded and GroupKeys make the Recorder a
// server.KeyLogger; without a passphrase they do nothing.
func (r *Recorder) SessionKeys(token uint64, k seal.SessionKeys) {
	if r.keys != nil {
		r.keys.SessionKeys(token, k)
	}
}

// SessionEnded: see SessionKeys.
func (r *Recorder) SessionEnded(token uint64) {
	if r.keys != nil {
		r.keys.SessionEnded(token)
	}
}

// GroupKeys: see SessionKeys.
func (r *Recorder) GroupKeys(token uint64, k seal.GroupKeys) {
	if r.keys != nil {
		r.keys.GroupKeys(token, k)
	}
}

// Start begins a capture. With a passphrase the first Start derives the
// key log's wrapping key (Argon2id: a fraction of a second, on the
// caller's goroutine).
func (r *Recorder) Start(o StartOptions, now time.Time) (Status, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur.Load() != nil {
		return r.status(), ErrRunning
	}
	path := o.Path
	if path == "" {
		if r.cfg.Dir == "" {
			return r.status(), ErrNoDir
		}
		path = filepath.Join(r.cfg.Dir, "arcade-"+now.UTC().Format("20060102T150405Z")+".pcapng")
		if _, err := os.Stat(path); err == nil {
			path = filepath.Join(r.cfg.Dir, "arcade-"+now.UTC().Format("20060102T150405.000000000Z")+".pcapng")
		}
	}
	opts := r.cfg.Options
	opts.MaxBytes, opts.MaxFiles = o.MaxBytes, o.MaxFiles
	if r.keys != nil {
		if r.wrap == nil {
			w, err := NewKeyWrap(r.cfg.Passphrase, r.cfg.KDF)
			if err != nil {
				return r.status(), err
			}
			r.wrap = w
		}
		opts.Keys, opts.Wrap = r.keys, r.wrap
	}
	w, err := New(path, r.cfg.Local, opts)
	if err != nil {
		return r.status(), err
	}
	r.last = Status{Running: true, File: path, Started: now, MaxBytes: o.MaxBytes, MaxFiles: o.MaxFiles, KeyLog: r.keys != nil}
	r.cur.Store(w)
	return r.status(), nil
}

// Stop ends the running capture: the datagrams queued are written and the
// file closed.
func (r *Recorder) Stop(now time.Time) (Status, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.cur.Swap(nil)
	if w == nil {
		return r.status(), ErrNotRunning
	}
	err := w.Close()
	r.last.Running, r.last.Stopped = false, now
	r.last.Datagrams, r.last.Dropped, r.last.Files = w.Captured(), w.Dropped(), w.Files()
	if err != nil {
		r.last.Err = err.Error()
	}
	return r.status(), err
}

// Status describes the running capture, or the last one.
func (r *Recorder) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status()
}

func (r *Recorder) status() Status {
	s := r.last
	if w := r.cur.Load(); w != nil {
		s.Datagrams, s.Dropped, s.Files = w.Captured(), w.Dropped(), w.Files()
	}
	return s
}
