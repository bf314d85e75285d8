package main

import (
	"testing"

	"github.com/arcadexr/arcade/wire"
)

const msNs = int64(1_000_000)

func snap(players ...wire.PlayerState) *wire.Snapshot {
	return &wire.Snapshot{Parts: 1, PlayerCount: uint16(len(players)), Players: players}
}

func TestRecorderInputToState(t *testing.T) {
	r := newRecorder(1, 16)
	// Inputs 1..3 sent 1 ms apart; a snapshot at 10 ms reports 2 (1 and 2
	// applied in one tick: both count as processed by it), one at 20 ms
	// reports 3; input 4 is never reported.
	r.sent(1, 1*msNs)
	r.sent(2, 2*msNs)
	r.sent(3, 3*msNs)
	r.sent(4, 4*msNs)
	r.snapshot(snap(wire.PlayerState{ClientID: 1, LastInputSeq: 2}), 10*msNs)
	r.snapshot(snap(wire.PlayerState{ClientID: 1, LastInputSeq: 2}), 15*msNs) // already reported
	r.snapshot(snap(wire.PlayerState{ClientID: 1, LastInputSeq: 3}), 20*msNs)
	r.snapshot(snap(wire.PlayerState{ClientID: 1, LastInputSeq: 1}), 25*msNs) // an older snapshot, late
	res := r.result()
	want := []int64{9 * msNs, 8 * msNs, 17 * msNs}
	if len(res.Latency) != len(want) {
		t.Fatalf("latencies %v, want %v", res.Latency, want)
	}
	for i := range want {
		if res.Latency[i] != want[i] {
			t.Errorf("latency[%d] = %d, want %d", i, res.Latency[i], want[i])
		}
	}
	if res.Inputs != 4 || res.Snapshots != 4 {
		t.Errorf("inputs %d snapshots %d", res.Inputs, res.Snapshots)
	}
}

// The snapshot reporting an input may be handled before the sender records
// the send: the sample is completed when it does.
func TestRecorderReportBeforeSend(t *testing.T) {
	r := newRecorder(1, 16)
	r.sent(1, 1*msNs)
	r.snapshot(snap(wire.PlayerState{ClientID: 1, LastInputSeq: 2}), 10*msNs)
	r.sent(2, 9*msNs)
	r.sent(3, 11*msNs) // not reported
	res := r.result()
	if len(res.Latency) != 2 || res.Latency[0] != 9*msNs || res.Latency[1] != 1*msNs {
		t.Fatalf("latencies %v, want [9ms 1ms]", res.Latency)
	}
}

// A record naming an input the bot has not sent (forged state) is
// counted and changes nothing: later real reports are measured as before.
func TestRecorderReportBeyondSent(t *testing.T) {
	r := newRecorder(1, 16)
	r.sent(1, 1*msNs)
	r.sent(2, 2*msNs)
	r.snapshot(snap(wire.PlayerState{ClientID: 1, LastInputSeq: 1 << 30}), 3*msNs)
	r.snapshot(snap(wire.PlayerState{ClientID: 1, LastInputSeq: 2}), 5*msNs)
	r.sent(3, 6*msNs)
	r.unsent(4)
	r.snapshot(snap(wire.PlayerState{ClientID: 1, LastInputSeq: 7}), 7*msNs) // 4 + 3: beyond
	r.snapshot(snap(wire.PlayerState{ClientID: 1, LastInputSeq: 3}), 8*msNs)
	res := r.result()
	if res.Beyond != 2 {
		t.Errorf("%d reports beyond the inputs sent, want 2", res.Beyond)
	}
	want := []int64{4 * msNs, 3 * msNs, 2 * msNs}
	if len(res.Latency) != len(want) {
		t.Fatalf("latencies %v, want %v", res.Latency, want)
	}
	for i := range want {
		if res.Latency[i] != want[i] {
			t.Errorf("latency[%d] = %d, want %d", i, res.Latency[i], want[i])
		}
	}
}

// Inputs sent after the warm-up are reflected once a report names them
// or a later one; warm-up inputs reported after it do not count.
func TestRecorderReflected(t *testing.T) {
	r := newRecorder(1, 16)
	r.sent(1, 1*msNs)
	r.sent(2, 2*msNs)
	r.resetLatency()
	r.sent(3, 3*msNs)
	r.sent(4, 4*msNs)
	r.sent(5, 5*msNs)
	r.snapshot(snap(wire.PlayerState{ClientID: 1, LastInputSeq: 4}), 6*msNs)
	if res := r.result(); res.Measured != 3 || res.Reflected != 2 || len(res.Latency) != 4 {
		t.Errorf("measured %d, reflected %d, %d latency samples; want 3, 2, 4", res.Measured, res.Reflected, len(res.Latency))
	}
	if r.caughtUp() {
		t.Error("caught up with input 5 not reported")
	}
	r.snapshot(snap(wire.PlayerState{ClientID: 1, LastInputSeq: 5}), 7*msNs)
	if res := r.result(); res.Reflected != 3 || !r.caughtUp() {
		t.Errorf("reflected %d (want 3), caught up %v", res.Reflected, r.caughtUp())
	}
}

func TestRecorderNoAllocs(t *testing.T) {
	r := newRecorder(1, 1000)
	s := snap(wire.PlayerState{ClientID: 1}, wire.PlayerState{ClientID: 2}, wire.PlayerState{ClientID: 3})
	var seq uint32
	r.snapshot(s, 0) // peers seen once
	allocs := testing.AllocsPerRun(500, func() {
		seq++
		r.sent(seq, int64(seq)*msNs)
		for i := range s.Players {
			s.Players[i].LastInputSeq = seq
		}
		r.snapshot(s, int64(seq)*msNs+5*msNs)
		r.pong(msNs)
	})
	if allocs != 0 {
		t.Errorf("%v allocs per input", allocs)
	}
}

func TestPercentile(t *testing.T) {
	s := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		p    float64
		want int64
	}{{50, 5}, {99, 10}, {100, 10}, {10, 1}, {11, 2}, {0, 1}} {
		if got := percentile(s, c.p); got != c.want {
			t.Errorf("p%v = %d, want %d", c.p, got, c.want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("empty percentile not 0")
	}
	hundred := make([]int64, 100)
	for i := range hundred {
		hundred[i] = int64(i + 1)
	}
	if got := percentile(hundred, 99); got != 99 {
		t.Errorf("p99 of 1..100 = %d", got)
	}
}

// peersOf builds a result for a bot that saw the given peers advance.
func peersOf(ids ...uint16) map[uint16]peerSeen {
	m := map[uint16]peerSeen{}
	for _, id := range ids {
		m[id] = peerSeen{first: 1, advanced: true}
	}
	return m
}

func TestAggregate(t *testing.T) {
	bots := []botResult{
		{Name: "a", ID: 1, Connected: true, Inputs: 5, Snapshots: 90, PathReceived: 90, PathLost: 10,
			Latency: []int64{1 * msNs, 2 * msNs, 3 * msNs, 4 * msNs, 5 * msNs}, RTT: []int64{msNs / 2, msNs},
			Peers: peersOf(2, 3)},
		{Name: "b", ID: 2, Connected: true, Inputs: 5, Snapshots: 100, PathReceived: 100,
			Latency: []int64{6 * msNs, 7 * msNs, 8 * msNs, 9 * msNs, 10 * msNs}, RTT: []int64{2 * msNs},
			Peers: peersOf(1, 3)},
		{Name: "c", ID: 3, Connected: true, Inputs: 3, Snapshots: 100, PathReceived: 100,
			Latency: []int64{11500 * 1000}, Peers: peersOf(1, 2)},
		{Name: "d", Err: "client: no answer from the server before ConnectTimeout"},
	}
	rep := aggregate(bots, 120)
	if rep.ClientsRequested != 4 || rep.ClientsConnected != 3 || rep.TickRate != 120 {
		t.Errorf("counts %+v", rep)
	}
	if !rep.SawAllPeers {
		t.Error("saw_all_peers false, every connected bot saw every other")
	}
	if rep.SnapshotsRecv != 290 || rep.SnapshotLossPct != 3.3333 { // 10 of 300 sent
		t.Errorf("snapshots %d loss %v", rep.SnapshotsRecv, rep.SnapshotLossPct)
	}
	// 11 samples 1..10 ms and 11.5 ms: p50 is the 6th, p99 the 11th.
	if want := (Millis{Samples: 11, P50: 6, P99: 11.5, Max: 11.5}); rep.InputToState != want {
		t.Errorf("input_to_state %+v, want %+v", rep.InputToState, want)
	}
	if want := (RTTMillis{Samples: 3, P50: 1, P99: 2}); rep.RTT != want {
		t.Errorf("rtt %+v, want %+v", rep.RTT, want)
	}
	if rep.InputsSent != 13 || rep.InputsReported != 11 {
		t.Errorf("inputs %d/%d", rep.InputsReported, rep.InputsSent)
	}
	if c := rep.Clients[3]; c.Connected || c.Error == "" {
		t.Errorf("failed bot reported as %+v", c)
	}
	if c := rep.Clients[0]; c.SnapshotLossPct != 10 || c.PeersAdvancing != 2 || c.InputToStateP50 != 3 {
		t.Errorf("bot a %+v", c)
	}

	// One bot never saw bot 3: false.
	bots[0].Peers = peersOf(2)
	if aggregate(bots, 120).SawAllPeers {
		t.Error("saw_all_peers true with bot 3 missing from bot 1's view")
	}
	// Seen but never advancing: false.
	bots[0].Peers = peersOf(2)
	bots[0].Peers[3] = peerSeen{first: 5}
	if aggregate(bots, 120).SawAllPeers {
		t.Error("saw_all_peers true with bot 3 never advancing")
	}
	// Nobody connected: false.
	if aggregate([]botResult{{Name: "x", Err: "denied"}}, 0).SawAllPeers {
		t.Error("saw_all_peers true with no bot connected")
	}
}

func TestRecorderPeers(t *testing.T) {
	r := newRecorder(1, 4)
	r.snapshot(snap(wire.PlayerState{ClientID: 1}, wire.PlayerState{ClientID: 2, LastInputSeq: 0}, wire.PlayerState{ClientID: 3, LastInputSeq: 7}), 1)
	r.snapshot(snap(wire.PlayerState{ClientID: 2, LastInputSeq: 4}), 2)
	r.snapshot(snap(wire.PlayerState{ClientID: 3, LastInputSeq: 7}), 3)
	p := r.result().Peers
	if _, self := p[1]; self || !p[2].advanced || p[3].advanced || len(p) != 2 {
		t.Errorf("peers %+v, want 2 advanced and 3 not", p)
	}
}
