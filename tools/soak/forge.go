package main

import (
	"context"
	crand "crypto/rand"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/seal"
	"github.com/arcadexr/arcade/wire"
)

// forgeKind is one kind of forged state sent to the multicast group.
type forgeKind uint8

// Forged state, stamped against the server clock as the own headset's
// session estimates it. Every kind carries a player record for each of
// the client ids 1..forgedPlayers with input seq 2³⁰ (far beyond any
// input sent): a headset that took one would show every avatar frozen and
// every input as applied.
const (
	forgeFar       forgeKind = iota // a Snapshot 2³¹ ticks and as far in time ahead
	forgeNearSnap                   // a Snapshot 100..240 ms ahead, its tick that of its time
	forgeNearUpd                    // an EntityUpdate 100..240 ms ahead
	forgeWrongTick                  // a Snapshot at the server clock with a tick 1000 ahead of it
	numForgeKinds
)

var forgeNames = [numForgeKinds]string{
	forgeFar:       "far_ahead",
	forgeNearSnap:  "near_ahead_snapshot",
	forgeNearUpd:   "near_ahead_update",
	forgeWrongTick: "wrong_tick",
}

func (k forgeKind) String() string { return forgeNames[k] }

const (
	// forgedPlayers: the records fit a sealed and signed datagram (19 +
	// 24·40 bytes of Snapshot body, the header and 88 bytes of seal).
	forgedPlayers = 24
	forgedInput   = 1 << 30
	// Near-ahead stamps: beyond StateRecoverAhead (30 ms), so real state
	// recovers on its next datagram, and within MaxStateAhead (250 ms), so
	// a headset takes the forgery.
	nearMin, nearMax = 100 * time.Millisecond, 240 * time.Millisecond
	// insiderSkip: the insider's group numbers start this far ahead of
	// the server's.
	insiderSkip = 100_000
	// forgedSeqBehind: far behind a headset's window whether it is ahead
	// of what the forger sniffed or behind it, and far from half the
	// sequence space (which would read as ahead).
	forgedSeqBehind = 1024
)

// ForgeReport is what the state forger sent to the multicast group.
type ForgeReport struct {
	Group     string            `json:"group"`
	RateGoal  int               `json:"rate_goal_per_s"`
	Sent      map[string]uint64 `json:"sent"`
	SentTotal uint64            `json:"sent_total"`
	// Sealed mode (an insider holding the group key): each forgery goes
	// out sealed with the group key and a signature not the server's, and
	// in clear.
	Insider    bool   `json:"insider"`
	SentSealed uint64 `json:"sent_sealed_bad_signature"`
	SentClear  uint64 `json:"sent_clear"`
	SendErrors uint64 `json:"send_errors"`
	// Sniffed counts the server's group datagrams the forger read for
	// their sequence numbers; Unsniffed the forgeries not sent because
	// none had been read yet.
	Sniffed   uint64  `json:"sniffed"`
	Unsniffed uint64  `json:"not_sent_before_sniffing"`
	DurationS float64 `json:"duration_s"`
}

// forger sends forged state to the multicast group from a socket of its
// own on lo.
//
// Each forgery's header seq is forgedSeqBehind below the newest the
// server sent to the group, as the forger sniffs it from a socket joined
// to the group: behind every headset's sequence window (64), so
// the forgery is judged by the state rules (tick and server time), the
// ones it aims at, and neither counted as loss nor taken as a jump. (A
// seq within the window would count the gap as loss, or refuse the real
// datagram of that seq as a duplicate: attacks on the statistics and on
// delivery that this soak does not measure.)
type forger struct {
	conn     *udp.Conn
	sniff    *udp.Conn
	in       *udp.Batch
	real     uint16 // newest seq the server sent to the group
	known    bool
	group    netip.AddrPort
	token    uint64 // the group token, as every multicast header shows it
	tickRate uint64
	clock    func(time.Time) uint64 // the server clock, µs
	insider  *seal.Group            // sealed mode: the insider's group sealer; nil in open mode
	rate     int
	rng      *rand.Rand
}

func newForger(group netip.AddrPort, token uint64, tickRate int, clock func(time.Time) uint64, insider *seal.Group, rate int, seed uint64) (*forger, error) {
	c, err := udp.Listen(udp.Config{
		Listen:         netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0),
		RecvBuffer:     64 << 10,
		SendBuffer:     256 << 10,
		DSCP:           -1,
		MulticastIface: "lo",
	})
	if err != nil {
		return nil, err
	}
	sn, err := udp.Listen(udp.Config{Listen: group, ReuseAddr: true, RecvBuffer: 1 << 20, DSCP: -1})
	if err == nil {
		if err = sn.JoinGroup(group.Addr(), "lo"); err != nil {
			sn.Close()
		}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return &forger{conn: c, sniff: sn, in: udp.NewBatch(64, 2048), group: group, token: token, tickRate: uint64(tickRate), clock: clock, insider: insider,
		rate: rate, rng: rand.New(rand.NewPCG(seed, seed^0x5eed))}, nil
}

func (f *forger) close() { f.conn.Close(); f.sniff.Close() }

// sniffSeq reads what the group carried since the last call and keeps
// the newest seq of the server's datagrams (not the forger's own, which
// the group loops back): at most a few batches, the socket being drained
// every forgery.
func (f *forger) sniffSeq(r *ForgeReport) {
	self := f.conn.LocalAddr()
	for range 16 {
		n, _ := f.sniff.ReadBatch(f.in)
		for i := range n {
			m := &f.in.Msgs[i]
			var h wire.Header
			if m.Addr == self || m.N < wire.HeaderSize {
				continue
			}
			if _, err := h.Parse(m.Buf[:m.N]); err != nil || h.Token != f.token {
				continue
			}
			r.Sniffed++
			if !f.known || int16(h.Seq-f.real) > 0 {
				f.real, f.known = h.Seq, true
			}
		}
		if n < len(f.in.Msgs) {
			return
		}
	}
}

// run sends one forgery every 1/rate s (two in sealed mode: sealed and in
// clear), the kinds in turn, until ctx is done or d has passed: at most
// rate·d of them.
func (f *forger) run(ctx context.Context, d time.Duration) ForgeReport {
	r := ForgeReport{Group: f.group.String(), RateGoal: f.rate, Sent: map[string]uint64{}, Insider: f.insider != nil}
	var sent [numForgeKinds]uint64
	start := time.Now()
	period := time.Second / time.Duration(f.rate)
	tick := time.NewTicker(period)
	defer tick.Stop()
	out := udp.NewBatch(2, 1)
	limit := int(d/period) + 1
	for i := range limit {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		if ctx.Err() != nil || time.Since(start) >= d {
			break
		}
		f.sniffSeq(&r)
		if !f.known {
			r.Unsniffed++
			continue
		}
		k := forgeKind(i % int(numForgeKinds))
		plain := f.datagram(k, time.Now())
		n := 0
		if f.insider != nil {
			sd := f.sealed(plain)
			out.Msgs[n].Buf, out.Msgs[n].N, out.Msgs[n].Addr = sd, len(sd), f.group
			n++
		}
		out.Msgs[n].Buf, out.Msgs[n].N, out.Msgs[n].Addr = plain, len(plain), f.group
		n++
		got, err := f.conn.WriteBatch(out, n)
		if err != nil || got < n {
			r.SendErrors++
		}
		if got > 0 {
			sent[k]++
		}
		switch {
		case f.insider == nil:
		case got == 2:
			r.SentSealed++
			r.SentClear++
		case got == 1:
			r.SentSealed++
		}
	}
	for k := range numForgeKinds {
		r.Sent[k.String()] = sent[k]
		r.SentTotal += sent[k]
	}
	r.DurationS = time.Since(start).Seconds()
	return r
}

// datagram makes one forgery of kind k in clear, stamped against the
// server clock at t.
func (f *forger) datagram(k forgeKind, t time.Time) []byte {
	at := f.clock(t)
	tickOf := func(us uint64) uint32 { return uint32(us*f.tickRate/1_000_000 - 1) }
	near := at + uint64(nearMin+time.Duration(f.rng.Int64N(int64(nearMax-nearMin))))/1000
	far := at + (1<<31)*1_000_000/f.tickRate
	players := make([]wire.PlayerState, forgedPlayers)
	for i := range players {
		players[i] = wire.PlayerState{ClientID: uint16(1 + i), LastInputSeq: forgedInput, Tracking: 7, Head: randPose(f.rng)}
	}
	h := wire.Header{Token: f.token, Seq: f.real - forgedSeqBehind}
	var m interface{ Append([]byte) []byte }
	switch k {
	case forgeFar:
		h.Type = wire.TypeSnapshot
		m = &wire.Snapshot{Tick: tickOf(far), ServerTime: far, Parts: 1, PlayerCount: forgedPlayers, Players: players}
	case forgeNearSnap:
		h.Type = wire.TypeSnapshot
		m = &wire.Snapshot{Tick: tickOf(near), ServerTime: near, Parts: 1, PlayerCount: forgedPlayers, Players: players}
	case forgeNearUpd:
		h.Type = wire.TypeEntityUpdate
		causes := make([]wire.UpdateCause, 0, 4)
		for i := range 4 {
			causes = append(causes, wire.UpdateCause{Client: uint16(1 + i), Input: forgedInput})
		}
		m = &wire.EntityUpdate{Tick: tickOf(near), ServerTime: near, Causes: causes, Players: players}
	default:
		h.Type = wire.TypeSnapshot
		m = &wire.Snapshot{Tick: tickOf(at) + 1000, ServerTime: at, Parts: 1, PlayerCount: forgedPlayers, Players: players}
	}
	return m.Append(h.Append(make([]byte, 0, wire.MaxDatagramSize)))
}

// sealed is the forgery plain sealed with the insider's group key and
// given a random signature (not the server's).
func (f *forger) sealed(plain []byte) []byte {
	var h wire.Header
	h.Parse(plain)
	h.Flags |= wire.FlagSealed
	hdr := h.Append(make([]byte, 0, wire.MaxDatagramSize))
	d := f.insider.Seal(hdr, hdr, plain[wire.HeaderSize:])
	sig := make([]byte, seal.SignatureSize)
	crand.Read(sig)
	return append(d, sig...)
}
