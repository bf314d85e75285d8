package server

import "time"

// CheckpointReport is the checkpoint writer's state in the StatsReport
// (Persist.Checkpoint): the last checkpoint written, and the failures.
type CheckpointReport struct {
	File     string  `json:"file"`
	EveryS   float64 `json:"every_s"`
	Written  uint64  `json:"written"`
	Skipped  uint64  `json:"skipped"` // due while the disk still held the two before
	Failed   uint64  `json:"failed"`
	LastAt   string  `json:"last_at,omitempty"` // RFC 3339, when the last good one was on disk
	AgeS     float64 `json:"age_s"`             // seconds since then; -1: none yet
	LastTick uint64  `json:"last_tick"`
	Bytes    int64   `json:"bytes"`           // its size
	WriteMS  float64 `json:"last_write_ms"`   // how long the last write took: encode, write, fsync, rename
	Err      string  `json:"error,omitempty"` // the last write's, until one succeeds
}

// RecordingReport is the session recording's state in the StatsReport
// (Persist.Record).
type RecordingReport struct {
	File          string `json:"file,omitempty"`
	Events        uint64 `json:"events"`
	Ticks         uint64 `json:"ticks"`
	Keyframes     uint64 `json:"keyframes"`
	Bytes         int64  `json:"bytes"` // written to the file
	LostEvents    uint64 `json:"lost_events"`
	LostKeyframes uint64 `json:"lost_keyframes"`
	Err           string `json:"error,omitempty"`
}

// persistReport fills the report's checkpoint and recording parts, from
// the writers' counters (safe from any goroutine).
func (s *Server) persistReport(r *StatsReport) {
	p := &s.cfg.Persist
	if w := p.Checkpoint; w != nil {
		st := w.Stats()
		c := &CheckpointReport{File: w.Path(), EveryS: p.Every.Seconds(), Written: st.Written, Skipped: st.Skipped, Failed: st.Failed,
			LastTick: st.LastTick, Bytes: st.Bytes, WriteMS: float64(st.LastWrite) / 1e6, Err: st.LastErr, AgeS: -1}
		if !st.LastAt.IsZero() {
			c.LastAt = st.LastAt.UTC().Format(time.RFC3339Nano)
			c.AgeS = time.Since(st.LastAt).Seconds() // the writer's clock, which stamped it
		}
		r.Checkpoint = c
	}
	if w := p.Record; w != nil {
		st := w.Stats()
		c := &RecordingReport{File: w.Path(), Events: st.Events, Ticks: st.Ticks, Keyframes: st.Keyframes, Bytes: st.Bytes,
			LostEvents: st.LostEvents, LostKeyframes: st.LostKeyframes}
		if st.Err != nil {
			c.Err = st.Err.Error()
		}
		r.Recording = c
	}
}
