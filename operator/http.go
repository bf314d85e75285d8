// Package operator serves a venue operator's view of a running server over
// HTTP: /api/stats (the server's Report as JSON), /metrics (Prometheus),
// the reset of the measurements, and the live dashboard. It reads only
// what the server publishes for readers (Report, Stats, its Config), never
// the tick thread's state, so a slow or hostile HTTP client cannot delay a
// tick.
package operator

import (
	"encoding/json"
	"net/http"

	"arcade/server"
	"arcade/tick"
)

// Source is what the operator surface reads: *server.Server.
type Source interface {
	Report() server.StatsReport
	Stats() *server.Stats
	Config() server.Config
	ResetMeasurements()
	// Loop is the tick thread's real-time loop, for its wake and spin
	// figures; nil before it runs.
	Loop() *tick.Loop
}

// Handler serves the operator API:
//
//	GET  /api/stats        StatsReport as JSON
//	GET  /metrics          the same figures in Prometheus text format
//	POST /api/stats/reset  clear the latency and timing histograms
//	GET  /                 the operator dashboard (dashboard.go)
//	GET  /api/events       the dashboard's Server-Sent Events stream
func Handler(s Source) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(s.Report())
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) { serveMetrics(s, w, r) })
	mux.HandleFunc("POST /api/stats/reset", func(w http.ResponseWriter, r *http.Request) {
		s.ResetMeasurements()
		w.WriteHeader(http.StatusNoContent)
	})
	newDashboard(s).register(mux)
	return mux
}
