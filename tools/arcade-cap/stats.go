package main

import (
	"math"
	"net/netip"
	"slices"
	"sort"

	"github.com/arcadexr/arcade/wire"
)

// maxPending bounds the inputs per client waiting for a snapshot that
// reflects them; older ones are given up (counted as unreported).
const maxPending = 1 << 14

// stats accumulates the --stats report from the capture alone.
type stats struct {
	ss      *sessions
	clients map[*session]*clientStats
	groups  map[netip.AddrPort]*groupStats
	other   uint64 // Arcade datagrams of no known client or group
	bad     uint64 // Arcade datagrams that did not parse
	sealed  uint64 // sealed ones, not decoded
	first   int64
	last    int64
	n       uint64
}

// clientStats is one session's figures.
type clientStats struct {
	s *session

	fromClient, toClient uint64
	fromTypes, toTypes   [wire.MaxType + 1]uint64
	up, down             seqTrack // client → server; server → client unicast
	poses                uint64
	seenInput            map[uint32]bool
	jitter               float64 // RFC 3550 J, ns
	lastTransit          int64
	hasTransit           bool
	lastArrival          int64
	gaps                 []float64 // pose inter-arrival, ns
	pending              []pendingInput
	latency              []int64 // input → state, ns
	unreported           uint64
	deltas               deltaCounts // StateDelta parts by unicast
}

// deltaCounts counts StateDelta parts on one path by what became of them.
type deltaCounts [deltaBad + 1]uint64

func (c *deltaCounts) observe(d *datagram) {
	if d.err == nil && d.hdr.Type == wire.TypeStateDelta {
		c[d.dv.status]++
	}
}

// DeltaReport is what became of the StateDelta parts of one path.
type DeltaReport struct {
	Parts      uint64 `json:"parts"`
	Ticks      uint64 `json:"ticks_whole"` // ticks assembled whole from their parts
	Partial    uint64 `json:"partial"`     // applied to a tick that needed more
	Copies     uint64 `json:"copies"`      // of a tick held whole already
	Duplicates uint64 `json:"duplicates"`  // of a part applied already
	NoBaseline uint64 `json:"no_baseline"` // coded against a tick not captured (or not whole)
	Bad        uint64 `json:"bad_delta"`   // did not decode, or the parts did not add up
}

// report returns the counts, or nil when the path carried no StateDelta.
func (c *deltaCounts) report() *DeltaReport {
	r := c.result()
	if r.Parts == 0 {
		return nil
	}
	return &r
}

func (c *deltaCounts) result() DeltaReport {
	r := DeltaReport{Ticks: c[deltaWhole], Partial: c[deltaPartial], Copies: c[deltaCopy],
		Duplicates: c[deltaDuplicate], NoBaseline: c[deltaNoBaseline], Bad: c[deltaBad]}
	for _, n := range c {
		r.Parts += n
	}
	return r
}

type pendingInput struct {
	seq uint32
	at  int64
}

// groupStats is one multicast group's figures.
type groupStats struct {
	datagrams uint64
	types     [wire.MaxType + 1]uint64
	seq       seqTrack
	deltas    deltaCounts
}

func newStats(ss *sessions) *stats {
	return &stats{ss: ss, clients: map[*session]*clientStats{}, groups: map[netip.AddrPort]*groupStats{}}
}

func (st *stats) client(s *session) *clientStats {
	c := st.clients[s]
	if c == nil {
		c = &clientStats{s: s, seenInput: map[uint32]bool{}}
		st.clients[s] = c
	}
	return c
}

// observe accounts for one decoded datagram, in capture order.
func (st *stats) observe(d *datagram) {
	if st.n == 0 {
		st.first = d.at
	}
	st.n++
	st.last = d.at
	if d.err == errSealed {
		st.sealed++
		return
	}
	if d.err != nil {
		st.bad++
		return
	}
	t := d.hdr.Type
	if d.dst.Addr().IsMulticast() {
		g := st.groups[d.dst]
		if g == nil {
			g = &groupStats{}
			st.groups[d.dst] = g
		}
		g.datagrams++
		g.types[t]++
		g.seq.observe(d.hdr.Seq)
		g.deltas.observe(d)
		st.state(d)
		return
	}
	s := st.ss.owner(d)
	if s == nil {
		st.other++
		return
	}
	c := st.client(s)
	if st.ss.clientToServer(d) {
		c.fromClient++
		c.fromTypes[t]++
		if d.hdr.Token == s.token {
			c.up.observe(d.hdr.Seq)
		}
		if t == wire.TypePoseInput {
			c.poseInput(d)
		}
		return
	}
	c.toClient++
	c.toTypes[t]++
	if d.hdr.Token == s.token {
		c.down.observe(d.hdr.Seq)
	}
	c.deltas.observe(d)
	st.state(d)
}

// poseInput records one PoseInput's arrival: for jitter, and as an input
// waiting for the state that reflects it. Duplicates count once.
func (c *clientStats) poseInput(d *datagram) {
	seq := d.pose.InputSeq
	if c.seenInput[seq] {
		return
	}
	c.seenInput[seq] = true
	c.poses++
	// RFC 3550 §6.4.1 interarrival jitter with the client's send time as
	// the sender timestamp: D = (R_j − R_i) − (S_j − S_i), J += (|D| − J)/16.
	transit := d.at - int64(d.pose.ClientTime)*1000
	if c.hasTransit {
		D := float64(transit - c.lastTransit)
		c.jitter += (math.Abs(D) - c.jitter) / 16
		c.gaps = append(c.gaps, float64(d.at-c.lastArrival))
	}
	c.lastTransit, c.lastArrival, c.hasTransit = transit, d.at, true
	if len(c.pending) == maxPending {
		c.pending = c.pending[1:]
		c.unreported++
	}
	c.pending = append(c.pending, pendingInput{seq: seq, at: d.at})
}

// state resolves waiting inputs with a Snapshot's or an EntityUpdate's
// player records, or those of the tick a StateDelta part made whole: for
// every one, the inputs of that client up to its LastInputSeq are
// reflected by this datagram, if it went on that client's path (its
// unicast address, or a multicast group: clients accept state from both
// paths). Input-to-state is the first state datagram reporting an input,
// whichever kind. A StateDelta tick counts when its last part arrives, as
// a client shows it then; a part the capture cannot decode (its baseline
// not captured) reports nothing.
func (st *stats) state(d *datagram) {
	players := statePlayers(d)
	if players == nil {
		return
	}
	for i := range players {
		p := &players[i]
		s := st.ss.byClientAt(p.ClientID, d.at)
		if s == nil || (d.dst != s.addr && !d.dst.Addr().IsMulticast()) {
			continue
		}
		c := st.clients[s]
		if c == nil || len(c.pending) == 0 {
			continue
		}
		keep := c.pending[:0]
		for _, in := range c.pending {
			if wire.InputSeqNewer(in.seq, p.LastInputSeq) {
				keep = append(keep, in)
				continue
			}
			c.latency = append(c.latency, d.at-in.at)
		}
		c.pending = keep
	}
}

// statePlayers returns the player records d reports state with: a
// Snapshot's or an EntityUpdate's, or the whole tick a StateDelta
// completed; nil for any other datagram.
func statePlayers(d *datagram) []wire.PlayerState {
	switch d.hdr.Type {
	case wire.TypeSnapshot:
		return d.snap.Players
	case wire.TypeEntityUpdate:
		return d.upd.Players
	case wire.TypeStateDelta:
		if d.dv.status == deltaWhole {
			return d.dv.tick
		}
	}
	return nil
}

// seqTrack counts loss on one path from header sequence numbers, with
// wraparound: lost = (newest − oldest + 1) − distinct received. A late
// datagram fills its gap; duplicates are counted apart.
type seqTrack struct {
	started bool
	lo, hi  int64
	seen    map[int64]bool
	dup     uint64
}

func (t *seqTrack) observe(seq uint16) {
	if !t.started {
		t.started, t.lo, t.hi = true, int64(seq), int64(seq)
		t.seen = map[int64]bool{int64(seq): true}
		return
	}
	x := t.hi + int64(int16(seq-uint16(t.hi)))
	if t.seen[x] {
		t.dup++
		return
	}
	t.seen[x] = true
	t.lo, t.hi = min(t.lo, x), max(t.hi, x)
}

// PathLoss is one path's sequence accounting.
type PathLoss struct {
	Received   uint64  `json:"received"`
	Lost       uint64  `json:"lost"`
	Duplicates uint64  `json:"duplicates"`
	LossPct    float64 `json:"loss_pct"`
}

func (t *seqTrack) result() PathLoss {
	if !t.started {
		return PathLoss{}
	}
	r := PathLoss{Received: uint64(len(t.seen)), Duplicates: t.dup}
	r.Lost = uint64(t.hi-t.lo+1) - r.Received
	r.LossPct = math.Round(1e6*float64(r.Lost)/float64(r.Lost+r.Received)) / 1e4
	return r
}

// Millis summarises samples in milliseconds (nearest-rank percentiles,
// like arcade-bot's).
type Millis struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
}

func summarize(ns []int64) Millis {
	if len(ns) == 0 {
		return Millis{}
	}
	s := slices.Clone(ns)
	slices.Sort(s)
	return Millis{Samples: len(s), P50: ms(percentile(s, 50)), P99: ms(percentile(s, 99)), Max: ms(s[len(s)-1])}
}

func percentile(sorted []int64, p float64) int64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// ms converts ns to milliseconds, rounded to the microsecond.
func ms(ns int64) float64 { return math.Round(float64(ns)/1e3) / 1e3 }

// ClientReport is one client's figures.
type ClientReport struct {
	ClientID uint16 `json:"client_id"`
	Name     string `json:"name"`
	Addr     string `json:"addr"`
	Token    string `json:"token"`
	Path     string `json:"path"` // "unicast" or the multicast group from Accepted
	// Datagrams from the client to the server and from the server to the
	// client's own address (multicast ones are in Groups), by type.
	FromClient      uint64            `json:"datagrams_from_client"`
	ToClient        uint64            `json:"datagrams_to_client"`
	FromClientTypes map[string]uint64 `json:"from_client_types"`
	ToClientTypes   map[string]uint64 `json:"to_client_types"`
	// Loss from header seq gaps of the session's datagrams.
	UpLoss   PathLoss `json:"up_loss"`
	DownLoss PathLoss `json:"down_loss"`
	// PoseInputs captured (distinct input seqs), RFC 3550 interarrival
	// jitter using the inputs' client time as the sender timestamp, and the
	// mean and standard deviation of the gaps between their arrivals.
	Poses            uint64  `json:"pose_inputs"`
	JitterMs         float64 `json:"pose_jitter_ms"`
	InterarrivalMs   float64 `json:"pose_interarrival_mean_ms"`
	InterarrivalSDMs float64 `json:"pose_interarrival_stddev_ms"`
	// InputToState: from each PoseInput's capture to the capture of the
	// first snapshot on this client's path whose record for the client has
	// LastInputSeq ≥ the input's.
	InputToState Millis `json:"input_to_state_ms"`
	// Unreported inputs: captured but no later snapshot reflected them.
	Unreported uint64 `json:"inputs_unreported"`
	// StateDelta parts to the client's address, if any.
	StateDelta *DeltaReport `json:"state_delta,omitempty"`
}

// GroupReport is one multicast group's figures.
type GroupReport struct {
	Group     string            `json:"group"`
	Datagrams uint64            `json:"datagrams"`
	Types     map[string]uint64 `json:"types"`
	Loss      PathLoss          `json:"loss"`
	// StateDelta parts to the group, if any.
	StateDelta *DeltaReport `json:"state_delta,omitempty"`
}

// Report is --stats' output.
type Report struct {
	Datagrams uint64 `json:"datagrams"`
	Malformed uint64 `json:"malformed"`
	// Sealed counts datagrams sealed with a venue passphrase's keys: not
	// decoded, in no figure below.
	Sealed uint64 `json:"sealed"`
	// Decrypted counts sealed datagrams opened with the capture's key log
	// (--passphrase-file): they count in every figure, as in clear.
	Decrypted uint64 `json:"decrypted"`
	// Missing says what the capture or the command line lacks to open
	// the datagrams still sealed; empty when none is.
	Missing      string         `json:"missing,omitempty"`
	Unattributed uint64         `json:"unattributed"`
	DurationS    float64        `json:"duration_s"`
	InputToState Millis         `json:"input_to_state_ms"` // all clients' samples together
	Clients      []ClientReport `json:"clients"`
	Groups       []GroupReport  `json:"groups"`
}

func typeCounts(c *[wire.MaxType + 1]uint64) map[string]uint64 {
	m := map[string]uint64{}
	for t, n := range c {
		if n > 0 {
			m[wire.PacketType(t).String()] = n
		}
	}
	return m
}

// report builds the report; keep filters the clients listed.
func (st *stats) report(keep func(*session) bool) *Report {
	r := &Report{Datagrams: st.n, Malformed: st.bad, Sealed: st.sealed, Unattributed: st.other, DurationS: float64(st.last-st.first) / 1e9}
	var all []int64
	for s, c := range st.clients {
		if keep != nil && !keep(s) {
			continue
		}
		cr := ClientReport{
			ClientID: s.id, Name: s.name, Addr: s.addr.String(), Token: hex64(s.token), Path: "unicast",
			FromClient: c.fromClient, ToClient: c.toClient,
			FromClientTypes: typeCounts(&c.fromTypes), ToClientTypes: typeCounts(&c.toTypes),
			UpLoss: c.up.result(), DownLoss: c.down.result(),
			Poses: c.poses, JitterMs: ms(int64(c.jitter)),
			InputToState: summarize(c.latency),
			Unreported:   c.unreported + uint64(len(c.pending)),
		}
		if !s.unicast && s.group.IsValid() {
			cr.Path = s.group.String()
		}
		cr.StateDelta = c.deltas.report()
		if len(c.gaps) > 0 {
			var sum, sq float64
			for _, g := range c.gaps {
				sum += g
			}
			mean := sum / float64(len(c.gaps))
			for _, g := range c.gaps {
				sq += (g - mean) * (g - mean)
			}
			cr.InterarrivalMs = ms(int64(mean))
			cr.InterarrivalSDMs = ms(int64(math.Sqrt(sq / float64(len(c.gaps)))))
		}
		all = append(all, c.latency...)
		r.Clients = append(r.Clients, cr)
	}
	sort.Slice(r.Clients, func(i, j int) bool {
		a, b := r.Clients[i], r.Clients[j]
		if a.ClientID != b.ClientID {
			return a.ClientID < b.ClientID
		}
		return a.Token < b.Token
	})
	r.InputToState = summarize(all)
	for g, gs := range st.groups {
		r.Groups = append(r.Groups, GroupReport{Group: g.String(), Datagrams: gs.datagrams, Types: typeCounts(&gs.types), Loss: gs.seq.result(), StateDelta: gs.deltas.report()})
	}
	sort.Slice(r.Groups, func(i, j int) bool { return r.Groups[i].Group < r.Groups[j].Group })
	return r
}
