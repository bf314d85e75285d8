package operator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/arcadexr/arcade/capture"
)

// CaptureControl is a server Tap that captures on demand
// (*capture.Recorder): the operator API starts and stops it.
type CaptureControl interface {
	Start(o capture.StartOptions, now time.Time) (capture.Status, error)
	Stop(now time.Time) (capture.Status, error)
	Status() capture.Status
}

// captureStart is POST /api/capture/start's optional JSON body.
type captureStart struct {
	// MaxBytes caps one file (at least 64 KiB); the capture goes on in
	// FILE.1.pcapng, FILE.2.pcapng … 0: no cap.
	MaxBytes int64 `json:"max_bytes"`
	// MaxFiles keeps only the newest this many files. 0: all.
	MaxFiles int `json:"max_files"`
}

// maxCaptureBody bounds the start request's body.
const maxCaptureBody = 4 << 10

// registerCapture serves the packet capture of the server's Tap, when it
// is a CaptureControl (arcade-server --capture-dir, or --capture):
//
//	GET  /api/capture        the running capture, or the last one, as JSON
//	POST /api/capture/start  start one (token): {"max_bytes": N, "max_files": M}, both optional
//	POST /api/capture/stop   stop it (token): the file is complete when this answers
//
// The file goes in the server's capture directory under a name the
// server chooses (the answer's "file"): a request cannot name a path.
// Starting while one runs, or stopping when none does, is 409; a bad body
// or cap is 400; a server without a capture directory answers 404 with
// what to configure.
func registerCapture(mux *http.ServeMux, s Source) {
	cc, _ := s.Config().Tap.(CaptureControl)
	notConfigured := func(w http.ResponseWriter) bool {
		if cc == nil {
			http.Error(w, "packet capture is not configured: start arcade-server with --capture-dir DIR", http.StatusNotFound)
			return true
		}
		return false
	}
	answer := func(w http.ResponseWriter, st capture.Status, code int) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(st)
	}
	mux.HandleFunc("GET /api/capture", func(w http.ResponseWriter, r *http.Request) {
		if notConfigured(w) {
			return
		}
		answer(w, cc.Status(), http.StatusOK)
	})
	mux.HandleFunc("POST /api/capture/start", func(w http.ResponseWriter, r *http.Request) {
		if notConfigured(w) {
			return
		}
		var req captureStart
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCaptureBody))
		if err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if len(body) > 0 {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
				return
			}
		}
		if req.MaxBytes < 0 || req.MaxFiles < 0 {
			http.Error(w, fmt.Sprintf("max_bytes %d and max_files %d must not be negative", req.MaxBytes, req.MaxFiles), http.StatusBadRequest)
			return
		}
		st, err := cc.Start(capture.StartOptions{MaxBytes: req.MaxBytes, MaxFiles: req.MaxFiles}, time.Now())
		switch {
		case errors.Is(err, capture.ErrRunning):
			http.Error(w, err.Error(), http.StatusConflict)
		case errors.Is(err, capture.ErrNoDir):
			http.Error(w, err.Error(), http.StatusNotFound)
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadRequest)
		default:
			answer(w, st, http.StatusOK)
		}
	})
	mux.HandleFunc("POST /api/capture/stop", func(w http.ResponseWriter, r *http.Request) {
		if notConfigured(w) {
			return
		}
		st, err := cc.Stop(time.Now())
		switch {
		case errors.Is(err, capture.ErrNotRunning):
			http.Error(w, err.Error(), http.StatusConflict)
		case err != nil:
			answer(w, st, http.StatusInternalServerError) // the write error is in st
		default:
			answer(w, st, http.StatusOK)
		}
	})
}
