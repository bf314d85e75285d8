package operator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	"github.com/arcadexr/arcade/replay"
)

// ReplayControl is a server World that plays a recording back as a live
// session (*replay.Show, arcade-server --replay): the operator API
// pauses, seeks and speeds it.
type ReplayControl interface {
	Status() replay.ShowStatus
	Pause(paused bool)
	SetSpeed(v float64) error
	Seek(t time.Duration) error
}

// replayControl is POST /api/replay's JSON body: each field set is done,
// in the order speed, paused, seek.
type replayControl struct {
	Paused *bool    `json:"paused"`
	Speed  *float64 `json:"speed"`
	SeekS  *float64 `json:"seek_s"` // server time from the recording's start, s
}

const maxReplayBody = 4 << 10

// registerReplay serves the controls of the recording the server plays
// back, when its World is a ReplayControl:
//
//	GET  /api/replay  where the replay is (replay.ShowStatus) as JSON
//	POST /api/replay  change it (token): {"paused": true, "speed": 2, "seek_s": 45}, each optional
//
// A server that serves no recording answers 404 with how to start one; a
// bad body, speed or seek is 400.
func registerReplay(mux *http.ServeMux, s Source) {
	rc, _ := s.Config().World.(ReplayControl)
	notServing := func(w http.ResponseWriter) bool {
		if rc == nil {
			http.Error(w, "no recording is being served: start arcade-server with --replay FILE", http.StatusNotFound)
			return true
		}
		return false
	}
	answer := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(rc.Status())
	}
	mux.HandleFunc("GET /api/replay", func(w http.ResponseWriter, r *http.Request) {
		if !notServing(w) {
			answer(w)
		}
	})
	mux.HandleFunc("POST /api/replay", func(w http.ResponseWriter, r *http.Request) {
		if notServing(w) {
			return
		}
		var req replayControl
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxReplayBody))
		if err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
			return
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if req.SeekS != nil && !(*req.SeekS >= 0 && *req.SeekS < math.MaxInt64/1e9) {
			http.Error(w, fmt.Sprintf("seek_s %v: want a time from the recording's start, ≥ 0", *req.SeekS), http.StatusBadRequest)
			return
		}
		if req.Speed != nil {
			if err := rc.SetSpeed(*req.Speed); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		if req.Paused != nil {
			rc.Pause(*req.Paused)
		}
		if req.SeekS != nil {
			if err := rc.Seek(time.Duration(*req.SeekS * 1e9)); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		answer(w)
	})
}
