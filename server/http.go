package server

import (
	"encoding/json"
	"net/http"

	"arcade/internal/metrics"
)

// Quantiles in microseconds, as /api/stats reports them.
type Quantiles struct {
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max,omitempty"`
	Mean float64 `json:"mean,omitempty"`
}

func quantilesUS(h *metrics.Histogram, withMax bool) Quantiles {
	q := Quantiles{P50: us(h.Quantile(0.5)), P99: us(h.Quantile(0.99))}
	if withMax {
		q.Max = us(h.Max())
		q.Mean = h.Mean() / 1e3
	}
	return q
}

func us(ns int64) float64 { return float64(ns) / 1e3 }

// StatsReport is the body of GET /api/stats.
type StatsReport struct {
	Clients              int                  `json:"clients"`
	TickRate             int                  `json:"tick_rate"`
	Ticks                uint64               `json:"ticks"`
	MissedTicks          uint64               `json:"missed_ticks"`
	TickLatenessUS       Quantiles            `json:"tick_lateness_us"`
	TickSpinUS           Quantiles            `json:"tick_spin_us"`
	StageUS              map[string]Quantiles `json:"stage_us"`
	GrabPhysicsUS        Quantiles            `json:"grab_physics_us"`
	RxDelayUS            Quantiles            `json:"rx_delay_us"`
	ServerAddedLatencyUS Quantiles            `json:"server_added_latency_us"`
	ServerAddedSamples   uint64               `json:"server_added_samples"`
	ServerAddedGrabUS    Quantiles            `json:"server_added_grab_latency_us"`
	ServerAddedGrabCount uint64               `json:"server_added_grab_samples"`
	Eager                bool                 `json:"eager"`
	EagerUpdates         uint64               `json:"eager_updates"`
	DeliverySwitches     uint64               `json:"delivery_switches"`
	RxPackets            uint64               `json:"rx_packets"`
	TxPackets            uint64               `json:"tx_packets"`
	Dropped              map[string]uint64    `json:"dropped"`
	ClientList           []ClientInfo         `json:"client_list"`
	Multicast            string               `json:"multicast,omitempty"`
}

// Report gathers the current statistics. Safe to call from any goroutine.
func (s *Server) Report() StatsReport {
	st := s.stats
	r := StatsReport{
		Clients:              int(st.Clients.Load()),
		TickRate:             s.cfg.TickRate,
		Ticks:                st.Ticks.Load(),
		MissedTicks:          st.MissedTicks.Load(),
		TickLatenessUS:       quantilesUS(&st.TickLateness, true),
		TickSpinUS:           quantilesUS(&st.TickSpin, true),
		StageUS:              make(map[string]Quantiles),
		GrabPhysicsUS:        quantilesUS(&st.GrabPhysics, true),
		RxDelayUS:            quantilesUS(&st.RxDelay, true),
		ServerAddedLatencyUS: quantilesUS(&st.ServerAdded, true),
		ServerAddedSamples:   st.ServerAdded.Count(),
		ServerAddedGrabUS:    quantilesUS(&st.ServerAddedGrab, true),
		ServerAddedGrabCount: st.ServerAddedGrab.Count(),
		Eager:                !s.cfg.NoEager && s.cfg.World != nil,
		EagerUpdates:         st.EagerUpdates.Load(),
		DeliverySwitches:     st.DeliverySwitches.Load(),
		RxPackets:            st.RxPackets.Load(),
		TxPackets:            st.TxPackets.Load(),
		Dropped:              st.DroppedByName(),
		ClientList:           st.ClientList(),
	}
	if !s.cfg.NoMulticast {
		r.Multicast = s.cfg.Multicast.String()
	}
	for _, name := range s.pipeline.Stages() {
		r.StageUS[name] = quantilesUS(s.pipeline.Duration(name), false)
	}
	return r
}

// ResetMeasurements clears the latency and timing histograms so a
// measurement run starts from zero. Counters keep counting.
func (s *Server) ResetMeasurements() {
	s.stats.Reset()
	for _, name := range s.pipeline.Stages() {
		s.pipeline.Duration(name).Reset()
	}
}

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
