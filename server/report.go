package server

import (
	"github.com/arcadexr/arcade/internal/metrics"
)

// Quantiles in microseconds, as /api/stats reports them.
type Quantiles struct {
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max,omitempty"`
	Mean float64 `json:"mean,omitempty"`
}

func quantilesUS(h *metrics.Histogram, withMax bool) Quantiles {
	var v [2]int64
	h.Quantiles(v[:], 0.5, 0.99)
	q := Quantiles{P50: us(v[0]), P99: us(v[1])}
	if withMax {
		q.Max = us(h.Max())
		q.Mean = h.Mean() / 1e3
	}
	return q
}

func us(ns int64) float64 { return float64(ns) / 1e3 }

// StatsReport is the body of GET /api/stats.
type StatsReport struct {
	Clients        int       `json:"clients"`
	TickRate       int       `json:"tick_rate"`
	Ticks          uint64    `json:"ticks"`
	MissedTicks    uint64    `json:"missed_ticks"`
	TickLatenessUS Quantiles `json:"tick_lateness_us"`
	// Late ticks by whose fault (Stats.TicksLateHost and the rest), and
	// the bar for "late".
	TicksLateHost    uint64  `json:"ticks_late_host"`
	TicksLateArcade  uint64  `json:"ticks_late_arcade"`
	TicksLateUnknown uint64  `json:"ticks_late_unknown"`
	LateTickUS       float64 `json:"late_tick_us"`
	// Missed ticks by the fault of the late tick that skipped them
	// (Stats.MissedTicksHost and the rest); they add up to MissedTicks.
	MissedTicksHost    uint64 `json:"missed_ticks_host"`
	MissedTicksWake    uint64 `json:"missed_ticks_wake"`
	MissedTicksArcade  uint64 `json:"missed_ticks_arcade"`
	MissedTicksUnknown uint64 `json:"missed_ticks_unknown"`
	// The host's own limits, from the reference probe (Config.HostProbe):
	// how late a bare timerfd loop on this box woke, and the CPU steal.
	HostProbe           bool      `json:"host_probe"`
	HostTimerLatenessUS Quantiles `json:"host_timer_lateness_us"`
	CPUStealPct         float64   `json:"cpu_steal_pct"`
	// The tick thread's own timer wakes (how late after the instant armed
	// for) and the time it spun to meet deadlines; empty before Run.
	TimerWakeLateUS Quantiles            `json:"timer_wake_late_us"`
	TickSpinUS      Quantiles            `json:"tick_spin_us"`
	SpinPolls       uint64               `json:"spin_polls"`
	StageUS         map[string]Quantiles `json:"stage_us"`
	TickUS          Quantiles            `json:"tick_us"`
	GrabPhysicsUS   Quantiles            `json:"grab_physics_us"`
	SubStepIOUS     Quantiles            `json:"substep_io_us"`
	RxDelayUS       Quantiles            `json:"rx_delay_us"`
	// ServerAddedLatencyUS: every input, kernel receive to the hand-off of
	// the first send carrying it (its avatar); ServerAddedGrabUS: the
	// inputs that moved held objects; SendSyscallUS: time in the send
	// calls, kept apart.
	ServerAddedLatencyUS Quantiles         `json:"server_added_latency_us"`
	ServerAddedSamples   uint64            `json:"server_added_samples"`
	ServerAddedGrabUS    Quantiles         `json:"server_added_grab_latency_us"`
	ServerAddedGrabCount uint64            `json:"server_added_grab_samples"`
	SamplesDropped       uint64            `json:"server_added_samples_dropped"`
	SendSyscallUS        Quantiles         `json:"send_syscall_us"`
	Eager                bool              `json:"eager"`
	EagerUpdates         uint64            `json:"eager_updates"`
	DeliverySwitches     uint64            `json:"delivery_switches"`
	FallbackDeferred     uint64            `json:"fallback_deferred"`
	StateRepairs         uint64            `json:"state_repairs"`
	StateDeferred        uint64            `json:"state_deferred"`
	RxPackets            uint64            `json:"rx_packets"`
	TxPackets            uint64            `json:"tx_packets"`
	Dropped              map[string]uint64 `json:"dropped"`
	ClientList           []ClientInfo      `json:"client_list"`
	Multicast            string            `json:"multicast,omitempty"`
	// DesyncChecks and DesyncMismatches are the state hash checks every
	// headset reported and the mismatches among them (§10.5).
	DesyncChecks     uint64 `json:"desync_checks"`
	DesyncMismatches uint64 `json:"desync_mismatches"`
	// The checkpoint writer's and the recording's state, when on
	// (persistreport.go).
	Checkpoint *CheckpointReport `json:"checkpoint,omitempty"`
	Recording  *RecordingReport  `json:"recording,omitempty"`
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
		TicksLateHost:        st.TicksLateHost.Load(),
		TicksLateArcade:      st.TicksLateArcade.Load(),
		TicksLateUnknown:     st.TicksLateUnknown.Load(),
		LateTickUS:           us(s.lateBar),
		MissedTicksHost:      st.MissedTicksHost.Load(),
		MissedTicksWake:      st.MissedTicksWake.Load(),
		MissedTicksArcade:    st.MissedTicksArcade.Load(),
		MissedTicksUnknown:   st.MissedTicksUnknown.Load(),
		StageUS:              make(map[string]Quantiles, numStages),
		TickUS:               quantilesUS(&st.TickTotal, true),
		GrabPhysicsUS:        quantilesUS(&st.GrabPhysics, true),
		SubStepIOUS:          quantilesUS(&st.SubStepIO, true),
		RxDelayUS:            quantilesUS(&st.RxDelay, true),
		ServerAddedLatencyUS: quantilesUS(&st.ServerAdded, true),
		ServerAddedSamples:   st.ServerAdded.Count(),
		ServerAddedGrabUS:    quantilesUS(&st.ServerAddedGrab, true),
		ServerAddedGrabCount: st.ServerAddedGrab.Count(),
		SamplesDropped:       st.SamplesDropped.Load(),
		SendSyscallUS:        quantilesUS(&st.SendSyscall, true),
		Eager:                s.eagerOn,
		EagerUpdates:         st.EagerUpdates.Load(),
		DeliverySwitches:     st.DeliverySwitches.Load(),
		FallbackDeferred:     st.FallbackDeferred.Load(),
		StateRepairs:         st.StateRepairs.Load(),
		StateDeferred:        st.StateDeferred.Load(),
		DesyncChecks:         st.DesyncChecks.Load(),
		DesyncMismatches:     st.DesyncMismatches.Load(),
		RxPackets:            st.RxPackets.Load(),
		TxPackets:            st.TxPackets.Load(),
		Dropped:              st.DroppedByName(),
		ClientList:           st.ClientList(),
	}
	s.persistReport(&r)
	if p := s.cfg.HostProbe; p != nil {
		r.HostProbe = true
		r.HostTimerLatenessUS = quantilesUS(p.Lateness(), true)
		r.CPUStealPct = p.StealPct()
	}
	if l := s.loop.Load(); l != nil {
		r.TimerWakeLateUS = quantilesUS(&l.WakeLate, true)
		r.TickSpinUS = quantilesUS(&l.Spin, true)
		r.SpinPolls = l.Polls.Load()
	}
	if !s.cfg.NoMulticast {
		r.Multicast = s.cfg.Multicast.String()
	}
	for i, name := range StageNames {
		r.StageUS[name] = quantilesUS(&st.Stage[i], false)
	}
	return r
}

// ResetMeasurements clears the latency and timing histograms, the tick
// loop's and the host probe's too, so a measurement run starts from zero.
// Counters keep counting.
func (s *Server) ResetMeasurements() {
	s.stats.Reset()
	if l := s.loop.Load(); l != nil {
		l.WakeLate.Reset()
		l.Spin.Reset()
	}
	if p := s.cfg.HostProbe; p != nil {
		p.Reset()
	}
}

// ClientList returns the connected headsets as last published (about ten
// times a second): Report's ClientList without the rest of the report.
func (s *Server) ClientList() []ClientInfo { return s.stats.ClientList() }
