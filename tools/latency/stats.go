package main

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Quant is a distribution as the server or the bot reports it; a missing
// figure is nil (shown as n/a), never 0.
type Quant struct {
	P50 *float64 `json:"p50"`
	P99 *float64 `json:"p99"`
	Max *float64 `json:"max"`
}

// ServerStats is the part of GET /api/stats this command reads. Some of
// these fields are newer than some servers: every field is optional, and
// one of an unexpected shape is left nil and named in Unreadable rather
// than failing the whole report.
type ServerStats struct {
	Clients      *float64 `json:"clients"`
	TickRate     *float64 `json:"tick_rate"`
	Eager        *bool    `json:"eager"`
	Ticks        *float64 `json:"ticks"`
	MissedTicks  *float64 `json:"missed_ticks"`
	TickLateness *Quant   `json:"tick_lateness_us"`
	TickSpin     *Quant   `json:"tick_spin_us"`
	// Avatars: each input → the return of the send that first carries it.
	ServerAdded        *Quant   `json:"server_added_latency_us"`
	ServerAddedSamples *float64 `json:"server_added_samples"`
	// Held objects: the hand's input → the send carrying the object.
	ServerAddedGrab        *Quant   `json:"server_added_grab_latency_us"`
	ServerAddedGrabSamples *float64 `json:"server_added_grab_samples"`
	RxDelay                *Quant   `json:"rx_delay_us"`
	// HostProbe false: the server ran without its reference probe, and
	// its (zero) host figures are read as n/a.
	HostProbe         *bool    `json:"host_probe"`
	HostTimerLateness *Quant   `json:"host_timer_lateness_us"`
	CPUStealPct       *float64 `json:"cpu_steal_pct"`
	TicksLateHost     *float64 `json:"ticks_late_host"`
	TicksLateArcade   *float64 `json:"ticks_late_arcade"`
	TicksLateUnknown  *float64 `json:"ticks_late_unknown"`
	LateTickUS        *float64 `json:"late_tick_us"`
	TimerWakeLate     *Quant   `json:"timer_wake_late_us"`
	SamplesDropped    *float64 `json:"server_added_samples_dropped"`
	SendSyscall       *Quant   `json:"send_syscall_us"`
	EagerUpdates      *float64 `json:"eager_updates"`
	RxPackets         *float64 `json:"rx_packets"`
	TxPackets         *float64 `json:"tx_packets"`
	Multicast         *string  `json:"multicast"`
	Unreadable        []string `json:"unreadable_fields,omitempty"`
}

// parseServerStats reads a /api/stats body. Only a body that is not a JSON
// object is an error.
func parseServerStats(body []byte) (*ServerStats, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("/api/stats: %w", err)
	}
	s := &ServerStats{}
	num := func(key string, dst **float64) { field(m, key, dst, &s.Unreadable) }
	quant := func(key string, dst **Quant) { field(m, key, dst, &s.Unreadable) }
	num("clients", &s.Clients)
	num("tick_rate", &s.TickRate)
	field(m, "eager", &s.Eager, &s.Unreadable)
	num("ticks", &s.Ticks)
	num("missed_ticks", &s.MissedTicks)
	quant("tick_lateness_us", &s.TickLateness)
	quant("tick_spin_us", &s.TickSpin)
	quant("server_added_latency_us", &s.ServerAdded)
	num("server_added_samples", &s.ServerAddedSamples)
	quant("server_added_grab_latency_us", &s.ServerAddedGrab)
	num("server_added_grab_samples", &s.ServerAddedGrabSamples)
	quant("rx_delay_us", &s.RxDelay)
	quant("host_timer_lateness_us", &s.HostTimerLateness)
	num("cpu_steal_pct", &s.CPUStealPct)
	num("ticks_late_host", &s.TicksLateHost)
	num("ticks_late_arcade", &s.TicksLateArcade)
	num("ticks_late_unknown", &s.TicksLateUnknown)
	num("late_tick_us", &s.LateTickUS)
	quant("timer_wake_late_us", &s.TimerWakeLate)
	num("server_added_samples_dropped", &s.SamplesDropped)
	field(m, "host_probe", &s.HostProbe, &s.Unreadable)
	if s.HostProbe != nil && !*s.HostProbe {
		s.HostTimerLateness, s.CPUStealPct = nil, nil
	}
	quant("send_syscall_us", &s.SendSyscall)
	num("eager_updates", &s.EagerUpdates)
	num("rx_packets", &s.RxPackets)
	num("tx_packets", &s.TxPackets)
	field(m, "multicast", &s.Multicast, &s.Unreadable)
	slices.Sort(s.Unreadable)
	return s, nil
}

// field decodes m[key] into a new *T at dst. Absent or null leaves dst
// nil; a value of another shape leaves it nil and adds key to bad.
func field[T any](m map[string]json.RawMessage, key string, dst **T, bad *[]string) {
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		return
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		*bad = append(*bad, key)
		return
	}
	*dst = v
}

// samples reports whether a histogram with this sample count has data:
// the server reports 0 for every quantile of an empty histogram, which
// must not pass for a measurement. An unknown count is given the benefit.
func samples(n *float64) bool { return n == nil || *n > 0 }

// BotStats is the part of arcade-bot --json this command reads.
type BotStats struct {
	ClientsRequested *float64 `json:"clients_requested"`
	ClientsConnected *float64 `json:"clients_connected"`
	SnapshotLossPct  *float64 `json:"snapshot_loss_pct"`
	InputsSent       *float64 `json:"inputs_sent"`
	InputToState     *Quant   `json:"input_to_state_ms"`
	InputSamples     *float64 `json:"input_to_state_samples"`
	GrabToState      *Quant   `json:"grab_to_state_ms"`
	GrabSamples      *float64 `json:"grab_to_state_samples"`
	Grabbing         *float64 `json:"grabbing"`
	RTT              *Quant   `json:"rtt_ms"`
	Path             *string  `json:"snapshot_path"`
	Errors           []string `json:"errors,omitempty"`
	Unreadable       []string `json:"unreadable_fields,omitempty"`
}

// parseBotStats reads arcade-bot --json output.
func parseBotStats(body []byte) (*BotStats, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("arcade-bot --json: %w", err)
	}
	b := &BotStats{}
	bad := &b.Unreadable
	field(m, "clients_requested", &b.ClientsRequested, bad)
	field(m, "clients_connected", &b.ClientsConnected, bad)
	field(m, "snapshot_loss_pct", &b.SnapshotLossPct, bad)
	field(m, "inputs_sent", &b.InputsSent, bad)
	field(m, "input_to_state_ms", &b.InputToState, bad)
	field(m, "grab_to_state_ms", &b.GrabToState, bad)
	field(m, "grabbing", &b.Grabbing, bad)
	field(m, "rtt_ms", &b.RTT, bad)
	field(m, "snapshot_path", &b.Path, bad)
	// The sample counts sit inside the distributions.
	var counted struct {
		Samples *float64 `json:"samples"`
	}
	if raw, ok := m["input_to_state_ms"]; ok && json.Unmarshal(raw, &counted) == nil {
		b.InputSamples = counted.Samples
	}
	counted.Samples = nil
	if raw, ok := m["grab_to_state_ms"]; ok && json.Unmarshal(raw, &counted) == nil {
		b.GrabSamples = counted.Samples
	}
	var clients []struct {
		Name  string `json:"name"`
		Error string `json:"error"`
	}
	if raw, ok := m["clients"]; ok && json.Unmarshal(raw, &clients) == nil {
		for _, c := range clients {
			if c.Error != "" {
				b.Errors = append(b.Errors, c.Name+": "+c.Error)
			}
		}
	}
	slices.Sort(b.Unreadable)
	return b, nil
}

// delta is b − a of a counter; nil if either is missing. A counter that
// went down (reset between the readings) counts from 0.
func delta(a, b *float64) *float64 {
	if a == nil || b == nil {
		return nil
	}
	if *b < *a {
		return ptr(*b)
	}
	return ptr(*b - *a)
}
