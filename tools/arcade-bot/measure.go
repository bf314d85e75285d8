package main

import (
	"maps"
	"math"
	"slices"
	"sync"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/wire"
)

// inputRing is how many inputs a recorder remembers while waiting for a
// snapshot to report them: 45 s at 90 Hz, far beyond any plausible delay.
const inputRing = 4096

// inputSlot is one input waiting to be reported, or one report waiting for
// its input's send time (the snapshot can be handled before the sending
// goroutine records the send).
type inputSlot struct {
	seq   uint32
	sent  int64 // ns, client clock; 0: not recorded yet
	acked int64 // ns, kernel rx time of the first snapshot reporting it; 0: not yet
}

// peerSeen is what one bot saw of another player.
type peerSeen struct {
	first    uint32 // LastInputSeq when first seen
	advanced bool   // a later snapshot reported a newer LastInputSeq
}

// recorder collects one bot's measurements. sent runs on the sending
// goroutine, snapshot and pong on the client's reader; both take mu. The
// sender never holds mu while calling into the client, so the lock order
// client → recorder (callbacks run under the client's lock) cannot invert.
//
// Nothing allocates per packet once the peers are known and the sample
// slices have reached their preallocated capacity.
type recorder struct {
	mu        sync.Mutex
	self      uint16 // this bot's ClientID
	ring      [inputRing]inputSlot
	reported  uint32 // newest LastInputSeq reported for self
	latency   []int64
	rtt       []int64
	snapshots uint64
	inputs    uint64
	peers     map[uint16]peerSeen
	grab      *grabber    // nil unless --grab
	world     *worldWatch // nil unless the server is one of a standby pair
	// connected is when the bot connected; firstUnicast when its first
	// snapshot came by unicast (0 = never), ns.
	connected, firstUnicast int64
	// newest is the newest input seq the sender numbered (sent or
	// unsent); beyond counts reports of this bot's inputs past it, which
	// no server sends: forged state (open mode) that the session took.
	newest uint32
	beyond uint64
	// inputsAtReset is inputs when the warm-up ended, seqAtReset the
	// newest input seq numbered then.
	inputsAtReset uint64
	seqAtReset    uint32
}

// maxReportAhead is how far past the newest input the sender recorded a
// report may name one: the input being sent when the report came (its
// send is recorded after the system call) and one more for slack. A
// report further ahead names an input never sent.
const maxReportAhead = 2

func newRecorder(self uint16, expectInputs int) *recorder {
	return &recorder{
		self:    self,
		latency: make([]int64, 0, expectInputs),
		rtt:     make([]int64, 0, 64),
		peers:   make(map[uint16]peerSeen, 64),
	}
}

// enableTakeovers makes the bot watch the world across takeovers (its
// server is one of a standby pair).
func (r *recorder) enableTakeovers() {
	r.mu.Lock()
	r.world = newWorldWatch()
	r.mu.Unlock()
}

// takeover notes that the first state under a new epoch is about to be
// handled (client.OnTakeover).
func (r *recorder) takeover(t *client.Takeover) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.world != nil {
		target, holding := r.target()
		r.world.takeover(t, target, holding)
	}
}

// target returns the grabbed object and whether the bot holds it.
func (r *recorder) target() (uint16, bool) {
	if r.grab == nil || r.grab.phase != grabHolding {
		return 0, false
	}
	return r.grab.target, true
}

// watch hands the objects of a state datagram to the takeover watch.
func (r *recorder) watch(ents []wire.EntityState, tick uint32, isSnapshot bool) {
	if r.world == nil {
		return
	}
	target, holding := r.target()
	if !holding {
		target = 0 // no object of the bot's to follow: id 0 is none
	}
	r.world.state(ents, tick, isSnapshot, target)
}

// enableGrab makes the bot take part in the grab run.
func (r *recorder) enableGrab(expectInputs int) {
	r.mu.Lock()
	r.grab = newGrabber(r.self, expectInputs)
	r.mu.Unlock()
}

// setGrabRank tells the grab run the bot's place among the n connected bots.
func (r *recorder) setGrabRank(rank, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.grab != nil {
		r.grab.setRank(rank, n)
	}
}

// sample lets the grab run set the right hand and the grips of the input
// about to be sent; see grabber.sample.
func (r *recorder) sample(t float64, in *wire.PoseInput) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.grab != nil {
		r.grab.sample(t, in)
	}
}

// unsent records that SendPose numbered input seq but failed to send it.
func (r *recorder) unsent(seq uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.numbered(seq)
	if r.grab != nil {
		r.grab.unsent(seq)
	}
}

// entityUpdate records one entity update datagram received at rx: the
// bot's own player record in it reports its inputs as a snapshot does.
func (r *recorder) entityUpdate(u *wire.EntityUpdate, rx int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range u.Players {
		if p := &u.Players[i]; p.ClientID == r.self {
			r.report(p.LastInputSeq, rx)
		}
	}
	r.watch(u.Entities, u.Tick, false)
	if r.grab != nil {
		r.grab.update(u, rx)
	}
}

// sent records that input seq left at t (ns, client clock).
func (r *recorder) sent(seq uint32, t int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inputs++
	r.numbered(seq)
	if r.grab != nil {
		r.grab.sent(seq, t)
	}
	s := &r.ring[seq%inputRing]
	if s.seq == seq && s.acked != 0 && s.sent == 0 {
		s.sent = t
		r.latency = append(r.latency, s.acked-t)
		return
	}
	*s = inputSlot{seq: seq, sent: t}
}

// snapshot records one snapshot datagram received at rx (kernel time, ns).
// Every input up to this bot's LastInputSeq not reported before is reported
// now, including inputs superseded by a newer one within the same tick.
func (r *recorder) snapshot(snap *wire.Snapshot, rx int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snapshots++
	for i := range snap.Players {
		p := &snap.Players[i]
		if p.ClientID == r.self {
			r.report(p.LastInputSeq, rx)
			continue
		}
		ps, ok := r.peers[p.ClientID]
		switch {
		case !ok:
			r.peers[p.ClientID] = peerSeen{first: p.LastInputSeq}
		case !ps.advanced && wire.InputSeqNewer(p.LastInputSeq, ps.first):
			ps.advanced = true
			r.peers[p.ClientID] = ps
		}
	}
	r.watch(snap.Entities, snap.Tick, true)
	if r.grab != nil {
		r.grab.snapshot(snap, rx)
	}
}

// caughtUp reports whether the newest input numbered has been reported.
func (r *recorder) caughtUp() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !wire.InputSeqNewer(r.newest, r.reported)
}

// numbered notes that the sender numbered input seq.
func (r *recorder) numbered(seq uint32) {
	if wire.InputSeqNewer(seq, r.newest) {
		r.newest = seq
	}
}

func (r *recorder) report(last uint32, rx int64) {
	if !wire.InputSeqNewer(last, r.reported) {
		return
	}
	if wire.InputSeqNewer(last, r.newest+maxReportAhead) {
		r.beyond++ // an input not sent yet: not the server's report
		return
	}
	from := r.reported + 1
	if last-from >= inputRing {
		from = last - inputRing + 1
	}
	r.reported = last
	for k := from; ; k++ {
		s := &r.ring[k%inputRing]
		switch {
		case s.seq == k && s.sent != 0 && s.acked == 0:
			s.acked = rx
			r.latency = append(r.latency, rx-s.sent)
		case s.seq != k:
			*s = inputSlot{seq: k, acked: rx} // sent() completes it
		}
		if k == last {
			return
		}
	}
}

// pong records one round-trip sample.
func (r *recorder) pong(rtt int64) {
	r.mu.Lock()
	r.rtt = append(r.rtt, rtt)
	r.mu.Unlock()
}

// botResult is everything measured for one bot.
type botResult struct {
	Name      string
	ID        uint16
	Connected bool
	Err       string
	Inputs    uint64
	// Measured counts the inputs sent after the warm-up, Reflected those
	// of them reported (the newest reported input seq beyond the last
	// one of the warm-up, at most Measured).
	Measured  uint64
	Reflected uint64
	Snapshots uint64
	// Beyond counts reports of inputs the bot had not sent (forged
	// state the session took).
	Beyond uint64
	// Dropped is the session's received datagrams dropped, by reason
	// (client.DropReason names, only those above zero); Recoveries its
	// StateRecoveries: older state taken because the newest was stamped
	// in the future.
	Dropped    map[string]uint64
	Recoveries uint64
	// CookieRetries counts handshakes the server made the client restart.
	CookieRetries uint64
	// Path is the sequence accounting of the path snapshots came on.
	PathReceived, PathLost uint64
	Latency                []int64 // ns, input send → first snapshot or update reporting it
	RTT                    []int64 // ns
	Peers                  map[uint16]peerSeen
	Grab                   *grabResult // nil unless --grab
	// UnicastAfter is how long after connecting the first unicast snapshot
	// came (ns); 0 if none did.
	UnicastAfter int64
	// Epoch is the session's epoch at the end (EpochOK: its server is one
	// of a standby pair); Restarts its new handshakes. Takeovers are the
	// epoch changes it saw (TakeoversMore beyond those recorded);
	// takeoverRecs the recorder's part of them.
	Epoch         uint32
	EpochOK       bool
	Restarts      uint64
	Takeovers     []ClientTakeover
	TakeoversMore uint64
	takeoverRecs  []takeoverRec
}

// unicastSnapshot notes a snapshot that came by unicast: for a bot that
// joined on multicast, the moment the server switched it.
func (r *recorder) unicastSnapshot(rx int64) {
	r.mu.Lock()
	if r.firstUnicast == 0 {
		r.firstUnicast = rx
	}
	r.mu.Unlock()
}

// resetLatency forgets the latency and RTT samples taken so far, at the end
// of a warm-up.
func (r *recorder) resetLatency() {
	r.mu.Lock()
	r.latency, r.rtt = r.latency[:0], r.rtt[:0]
	r.inputsAtReset, r.seqAtReset = r.inputs, r.newest
	if r.grab != nil {
		r.grab.resetLatency()
	}
	r.mu.Unlock()
}

// result is a snapshot of the recorder's measurements.
func (r *recorder) result() botResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := botResult{
		ID:        r.self,
		Connected: true,
		Inputs:    r.inputs,
		Measured:  r.inputs - r.inputsAtReset,
		Reflected: min(uint64(max(int32(r.reported-r.seqAtReset), 0)), r.inputs-r.inputsAtReset),
		Snapshots: r.snapshots,
		Beyond:    r.beyond,
		Latency:   slices.Clone(r.latency),
		RTT:       slices.Clone(r.rtt),
		Peers:     maps.Clone(r.peers),
	}
	if r.firstUnicast != 0 && r.connected != 0 {
		res.UnicastAfter = r.firstUnicast - r.connected
	}
	if r.grab != nil {
		res.Grab = r.grab.result()
	}
	if r.world != nil {
		res.takeoverRecs = slices.Clone(r.world.recs)
		res.TakeoversMore = r.world.more
	}
	return res
}

// Millis summarises samples in milliseconds.
type Millis struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
}

// RTTMillis summarises round trips in milliseconds.
type RTTMillis struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50"`
	P99     float64 `json:"p99"`
}

// ClientReport is one bot's line in the report.
type ClientReport struct {
	Name            string            `json:"name"`
	ID              uint16            `json:"client_id,omitempty"`
	Connected       bool              `json:"connected"`
	Error           string            `json:"error,omitempty"`
	InputsSent      uint64            `json:"inputs_sent"`
	InputsMeasured  uint64            `json:"inputs_sent_measured"`
	InputsReflected uint64            `json:"inputs_reflected"`
	InputsReported  int               `json:"inputs_reported"`
	ReportsBeyond   uint64            `json:"reports_beyond_sent,omitempty"`
	Snapshots       uint64            `json:"snapshots_received"`
	Dropped         map[string]uint64 `json:"dropped,omitempty"`
	StateRecoveries uint64            `json:"state_recoveries,omitempty"`
	SnapshotLossPct float64           `json:"snapshot_loss_pct"`
	UnicastAfterMs  float64           `json:"unicast_after_ms,omitempty"`
	InputToStateP50 float64           `json:"input_to_state_p50_ms"`
	RTTP50          float64           `json:"rtt_p50_ms"`
	PeersSeen       int               `json:"peers_seen"`
	PeersAdvancing  int               `json:"peers_advancing"`
	Grab            *ClientGrab       `json:"grab,omitempty"`
	// Epoch is the epoch the bot ended at (a standby pair's servers);
	// Restarts its new handshakes; Takeovers the epoch changes it saw.
	Epoch         uint32           `json:"epoch,omitempty"`
	Restarts      uint64           `json:"restarts,omitempty"`
	Takeovers     []ClientTakeover `json:"takeovers,omitempty"`
	TakeoversMore uint64           `json:"takeovers_unrecorded,omitempty"`
}

// ClientGrab is one bot's part in the grab run.
type ClientGrab struct {
	Object         uint16  `json:"object_id"`
	Held           bool    `json:"held"`
	Samples        int     `json:"grab_to_state_samples"`
	GrabToStateP50 float64 `json:"grab_to_state_p50_ms"`
	PoseChecks     uint64  `json:"pose_checks"`
	PoseMismatch   uint64  `json:"pose_mismatch"`
	Released       uint64  `json:"released"`
	EntityUpdates  uint64  `json:"entity_updates_received"`
}

// GrabReport is the grab run's summary; present only with --grab.
type GrabReport struct {
	// GrabToState: for each input sent while holding, its send time to the
	// kernel receive time of the first datagram showing the held object
	// at the pose that input implies.
	GrabToState Millis `json:"grab_to_state_ms"`
	// GrabShownByUpdate counts the samples whose first state was an entity
	// update; the others waited for a snapshot (the update that carried the
	// input named another client's, or was lost).
	GrabShownByUpdate uint64 `json:"grab_shown_by_update"`
	// Grabbing counts the bots that held an object.
	Grabbing int `json:"grabbing"`
	// GrabPoseChecks counts held states compared with hand·offset, and
	// GrabPoseMismatch those more than 2 mm or 1° off.
	GrabPoseChecks   uint64 `json:"grab_pose_checks"`
	GrabPoseMismatch uint64 `json:"grab_pose_mismatch"`
	// GrabReleased counts snapshots showing a held object released while
	// its bot still held it.
	GrabReleased  uint64 `json:"grab_released"`
	EntityUpdates uint64 `json:"entity_updates_received"`
}

// HubReport is the shared multicast socket's counters (client.HubStats).
type HubReport struct {
	Batches    uint64 `json:"batches"`    // reads that returned datagrams
	Datagrams  uint64 `json:"datagrams"`  // datagrams read, once each for the process
	Deliveries uint64 `json:"deliveries"` // datagrams handed to a bot, one per bot
	Deferred   uint64 `json:"deferred"`   // of those, handed over last because the bot's lock was busy
	Unmatched  uint64 `json:"unmatched"`  // datagrams handed to no bot
	ReadErrors uint64 `json:"read_errors"`
}

// Report is the bot's output; --json prints it.
type Report struct {
	Server       string  `json:"server"`
	SnapshotPath string  `json:"snapshot_path"`
	Rate         int     `json:"rate_hz"`
	DurationS    float64 `json:"duration_s"`
	// DrainS is how long the bots waited for their last states after
	// streaming (0.5 s, more while a bot's last input was not reported).
	DrainS           float64   `json:"drain_s"`
	ClientsRequested int       `json:"clients_requested"`
	ClientsConnected int       `json:"clients_connected"`
	SawAllPeers      bool      `json:"saw_all_peers"`
	SnapshotsRecv    uint64    `json:"snapshots_received"`
	SnapshotLossPct  float64   `json:"snapshot_loss_pct"`
	InputToState     Millis    `json:"input_to_state_ms"`
	RTT              RTTMillis `json:"rtt_ms"`
	TickRate         int       `json:"tick_rate"`
	InputsSent       uint64    `json:"inputs_sent"`
	// InputsMeasured counts the inputs sent after the warm-up, the window
	// whose reports input_to_state and inputs_reported count.
	InputsMeasured uint64 `json:"inputs_sent_measured"`
	InputsReported int    `json:"inputs_reported"`
	// InputsReflected counts the inputs sent after the warm-up that were
	// reported by the end of the drain (inputs_reported also counts
	// warm-up inputs reported after it).
	InputsReflected uint64 `json:"inputs_reflected"`
	// ReportsBeyondSent counts state records that named a bot's input
	// before the bot had sent it: no server does, so forged state the
	// sessions took (and the bots ignored for their measurements).
	ReportsBeyondSent uint64 `json:"reports_beyond_sent"`
	// Dropped sums the bots' sessions' dropped datagrams by reason
	// (client.DropReason names); StateRecoveries their StateRecoveries.
	Dropped         map[string]uint64 `json:"dropped"`
	StateRecoveries uint64            `json:"state_recoveries"`
	CookieRetries   uint64            `json:"handshake_cookie_retries"`
	// For bots that joined on multicast: how many were later served by
	// unicast (the server's fallback) and the longest time to that switch.
	OnUnicast int `json:"clients_on_unicast"`
	// Samples are every input-to-state sample in ms, with --samples.
	Samples         []float64 `json:"input_to_state_samples_ms,omitempty"`
	UnicastAfterMax float64   `json:"unicast_after_ms_max,omitempty"`
	*GrabReport
	// TakeoverReport is present when a bot saw a standby take over.
	*TakeoverReport
	// SharedMulticast: the bots received the snapshot group on one socket
	// shared by the process (false with --per-client-mcast, --unicast, or
	// when no bot joined the group); MulticastHub is what that socket read.
	SharedMulticast bool       `json:"shared_multicast"`
	MulticastHub    *HubReport `json:"multicast_hub,omitempty"`
	// What --cpu and --nice put in effect: the CPUs every thread is pinned
	// to (null: not pinned), the nice value (set or inherited) and
	// GOMAXPROCS.
	PinnedCPUs []int          `json:"pinned_cpus"`
	Nice       int            `json:"nice"`
	GOMAXPROCS int            `json:"gomaxprocs"`
	Clients    []ClientReport `json:"clients"`
	// Discovery is how --discover found the server; absent without it.
	Discovery *DiscoveryReport `json:"discovery,omitempty"`
}

// percentile returns the nearest-rank p-th percentile of sorted: the
// smallest sample such that at least p% of the samples are <= it.
func percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// ms converts ns to milliseconds, rounded to the microsecond.
func ms(ns int64) float64 { return math.Round(float64(ns)/1e3) / 1e3 }

func lossPct(received, lost uint64) float64 {
	if received+lost == 0 {
		return 0
	}
	return math.Round(1e6*float64(lost)/float64(received+lost)) / 1e4 // percent, 4 decimals
}

// aggregate combines the bots' results. Percentiles are exact over all
// samples of all bots. saw_all_peers holds iff every connected bot saw every
// other connected bot's ClientID with an advancing LastInputSeq (and at
// least one bot connected).
func aggregate(bots []botResult, tickRate int) Report {
	rep := Report{ClientsRequested: len(bots), TickRate: tickRate, Dropped: map[string]uint64{}}
	var lat, rtt []int64
	var recv, lost uint64
	var connected []uint16
	for _, b := range bots {
		if b.Connected {
			connected = append(connected, b.ID)
		}
	}
	rep.ClientsConnected = len(connected)
	rep.SawAllPeers = len(connected) > 0
	for _, b := range bots {
		cr := ClientReport{Name: b.Name, ID: b.ID, Connected: b.Connected, Error: b.Err}
		if b.UnicastAfter > 0 {
			cr.UnicastAfterMs = float64(b.UnicastAfter) / 1e6
			rep.OnUnicast++
			rep.UnicastAfterMax = max(rep.UnicastAfterMax, cr.UnicastAfterMs)
		}
		if b.Connected {
			lat = append(lat, b.Latency...)
			rtt = append(rtt, b.RTT...)
			recv += b.PathReceived
			lost += b.PathLost
			rep.SnapshotsRecv += b.Snapshots
			rep.InputsSent += b.Inputs
			rep.InputsMeasured += b.Measured
			rep.InputsReflected += b.Reflected
			rep.InputsReported += len(b.Latency)
			rep.ReportsBeyondSent += b.Beyond
			rep.StateRecoveries += b.Recoveries
			for k, v := range b.Dropped {
				rep.Dropped[k] += v
			}
			rep.CookieRetries += b.CookieRetries

			l := slices.Sorted(slices.Values(b.Latency))
			r := slices.Sorted(slices.Values(b.RTT))
			cr.InputsSent, cr.InputsReported, cr.Snapshots = b.Inputs, len(b.Latency), b.Snapshots
			cr.InputsMeasured, cr.InputsReflected, cr.ReportsBeyond = b.Measured, b.Reflected, b.Beyond
			cr.Dropped, cr.StateRecoveries = b.Dropped, b.Recoveries
			cr.SnapshotLossPct = lossPct(b.PathReceived, b.PathLost)
			cr.InputToStateP50, cr.RTTP50 = ms(percentile(l, 50)), ms(percentile(r, 50))
			cr.PeersSeen = len(b.Peers)
			if b.EpochOK {
				cr.Epoch = b.Epoch
			}
			cr.Restarts, cr.Takeovers, cr.TakeoversMore = b.Restarts, b.Takeovers, b.TakeoversMore
			for _, id := range connected {
				if id == b.ID {
					continue
				}
				if b.Peers[id].advanced {
					cr.PeersAdvancing++
				} else {
					rep.SawAllPeers = false
				}
			}
		}
		rep.Clients = append(rep.Clients, cr)
	}
	slices.Sort(rtt)
	rep.InputToState = summarize(lat)
	rep.RTT = RTTMillis{Samples: len(rtt), P50: ms(percentile(rtt, 50)), P99: ms(percentile(rtt, 99))}
	rep.SnapshotLossPct = lossPct(recv, lost)
	rep.TakeoverReport = aggregateTakeovers(rep.Clients)
	return rep
}

// summarize sorts samples (ns) and summarises them in milliseconds.
func summarize(samples []int64) Millis {
	slices.Sort(samples)
	return Millis{Samples: len(samples), P50: ms(percentile(samples, 50)), P99: ms(percentile(samples, 99)), Max: ms(percentile(samples, 100))}
}

// aggregateGrab adds the grab run's summary to rep, and each connected
// bot's part to its line. Percentiles are exact over all bots' samples.
func aggregateGrab(rep *Report, bots []botResult) {
	g := &GrabReport{}
	var lat []int64
	for i, b := range bots {
		if !b.Connected || b.Grab == nil {
			continue
		}
		r := b.Grab
		lat = append(lat, r.Latency...)
		if r.Held {
			g.Grabbing++
		}
		g.GrabShownByUpdate += r.ByUpdate
		g.GrabPoseChecks += r.Checks
		g.GrabPoseMismatch += r.Mismatches
		g.GrabReleased += r.Released
		g.EntityUpdates += r.Updates
		l := slices.Sorted(slices.Values(r.Latency))
		rep.Clients[i].Grab = &ClientGrab{
			Object: r.Target, Held: r.Held, Samples: len(l), GrabToStateP50: ms(percentile(l, 50)),
			PoseChecks: r.Checks, PoseMismatch: r.Mismatches, Released: r.Released, EntityUpdates: r.Updates,
		}
	}
	g.GrabToState = summarize(lat)
	rep.GrabReport = g
}
