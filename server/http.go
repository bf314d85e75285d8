package server

import (
	"encoding/json"
	"net/http"
)

// Handler serves the operator API:
//
//	GET  /api/stats        StatsReport as JSON
//	GET  /metrics          the same figures in Prometheus text format
//	POST /api/stats/reset  clear the latency and timing histograms
//	GET  /                 the operator dashboard (dashboard.go)
//	GET  /api/events       the dashboard's Server-Sent Events stream
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(s.Report())
	})
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	mux.HandleFunc("POST /api/stats/reset", func(w http.ResponseWriter, r *http.Request) {
		s.ResetMeasurements()
		w.WriteHeader(http.StatusNoContent)
	})
	s.newDashboard().register(mux)
	return mux
}
