package main

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/arcadexr/arcade/tools/internal/toolrun"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// options configure one soak run.
type options struct {
	serverBin, botBin string // built binaries; empty: build them
	duration          time.Duration
	warmup            time.Duration // bots stream this long before measuring
	bots              int
	botRate           int
	attackRate        int
	ports             int // attacker sockets on 127.0.0.1
	spoofAddrs        int // attacker sockets on 127.0.0.2..
	seed              uint64
	log               io.Writer // progress lines; nil: none
	// sealed runs the soak with a venue passphrase: the attack is then
	// sealed junk from the own headset's socket (junkRate a second) and
	// an insider's forged group datagrams, instead of the open flood.
	sealed   bool
	junkRate int
	// forgeRate is the forged state datagrams a second sent to the
	// multicast group in the attack phase (open: in clear; sealed: by an
	// insider), 0 for none.
	forgeRate int
	// pinSessions sessions (0: none) send pinRounds rounds of fragment
	// announcements after the attack phase (open mode).
	pinSessions, pinRounds int
}

// Fixed parts of a run.
const (
	headsetRate   = 90 // the soak's own headsets, poses/s
	stopTimeout   = 10 * time.Second
	statsTimeout  = 2 * time.Second
	startTimeout  = 10 * time.Second
	connectWait   = 8 * time.Second // bots connecting (their own limit is 5 s)
	settleMax     = 3 * time.Second // the server reading what is still queued
	caughtUpWait  = 3 * time.Second
	maxStderrKeep = 1 << 20
)

// Report is the soak's result: one JSON object.
type Report struct {
	Seed           uint64  `json:"seed"`
	DurationS      float64 `json:"duration_s"`
	Bots           int     `json:"bots"`
	BotRateHz      int     `json:"bot_rate_hz"`
	AttackRateGoal int     `json:"attack_rate_goal_per_s"`
	// Mode is "open" (no passphrase) or "sealed".
	Mode string `json:"mode"`

	Baseline Phase `json:"baseline"`
	Attack   Phase `json:"attack"`
	// AttackOverBaseline is attack / baseline for the bots' input-to-state
	// quantiles.
	AttackOverBaseline struct {
		InputToStateP50 float64 `json:"input_to_state_p50"`
		InputToStateP99 float64 `json:"input_to_state_p99"`
	} `json:"attack_over_baseline"`

	Attacker AttackReport        `json:"attacker"`
	Targets  map[string][]string `json:"targets"` // category → drop reasons
	// Forged is the forged state sent to the multicast group during the
	// attack; Insider the venue headset whose group key it used (sealed).
	Forged  ForgeReport    `json:"forged_state"`
	Insider *InsiderReport `json:"insider,omitempty"`
	// Junk is the sealed junk sent from the own headset's socket (sealed).
	Junk *JunkReport `json:"sealed_junk,omitempty"`
	// Pin is the fragment-pin phase after the attack (open).
	Pin *PinReport `json:"fragment_pin,omitempty"`

	Own OwnReport `json:"own_headset"`
	// ServerUp: /api/stats answered during the attack and after it.
	ServerUp     bool    `json:"server_up"`
	StatsMsInAtk float64 `json:"stats_response_ms_during_attack"`
	Exit         Exit    `json:"server_exit"`

	Problems []string `json:"problems"`
}

// Phase is one measurement: the bots' report and the server's counters
// over it.
type Phase struct {
	BotsConnected   int      `json:"bots_connected"`
	SawAllPeers     bool     `json:"saw_all_peers"`
	InputToStateP50 float64  `json:"input_to_state_p50_ms"`
	InputToStateP99 float64  `json:"input_to_state_p99_ms"`
	InputToStateMax float64  `json:"input_to_state_max_ms"`
	Samples         int      `json:"input_to_state_samples"`
	InputsSent      uint64   `json:"inputs_sent"`
	SnapshotsRecv   uint64   `json:"snapshots_received"`
	SnapshotLossPct float64  `json:"snapshot_loss_pct"`
	BotErrors       []string `json:"bot_errors,omitempty"`
	// InputsMeasured: inputs the bots sent after their warm-up;
	// InputsReflected of them were reflected in state they received.
	InputsMeasured  uint64 `json:"inputs_sent_measured"`
	InputsReflected uint64 `json:"inputs_reflected"`
	// BotDrainS: how long the bots waited for their last states.
	BotDrainS float64 `json:"bot_drain_s"`
	// From the server's client list, read when the bots were connected
	// and near the end of their streaming: the bots' inputs it applied
	// over the input seqs it took, summed over the bots.
	BotsServerInputs  uint64 `json:"bots_server_inputs_applied"`
	BotsServerSeqSpan uint64 `json:"bots_server_input_seq_span"`
	// ReportsBeyond: state records naming a bot's input before it was
	// sent (forged state a session took). BotDropped sums the bots'
	// sessions' drops by client.DropReason name, StateRecoveries their
	// recoveries from state stamped in the future; PerBot is each bot's.
	ReportsBeyond   uint64            `json:"reports_beyond_sent"`
	BotDropped      map[string]uint64 `json:"bot_dropped"`
	StateRecoveries uint64            `json:"bot_state_recoveries"`
	PerBot          []BotCounters     `json:"per_bot"`

	// Server counters, deltas over the phase.
	RxPackets   uint64            `json:"rx_packets"`
	TxPackets   uint64            `json:"tx_packets"`
	Dropped     map[string]uint64 `json:"dropped"`
	DroppedSum  uint64            `json:"dropped_total"`
	KernelDrops uint64            `json:"kernel_socket_drops"`
	MissedTicks uint64            `json:"missed_ticks"`
	// From the server's histograms, reset at the phase's start.
	TickLatenessP99US float64 `json:"tick_lateness_p99_us"`
	ServerAddedP50US  float64 `json:"server_added_p50_us"`
	ServerAddedP99US  float64 `json:"server_added_p99_us"`
	ClientsMid        int     `json:"server_clients_mid_phase"`
	// LateJoin: a fresh headset from 127.0.0.51 (no attacker uses it)
	// connected in the middle of the phase.
	LateJoin   bool    `json:"late_join"`
	LateJoinMs float64 `json:"late_join_ms"`
}

// OwnReport is the soak's own headset, whose token the attacker uses.
type OwnReport struct {
	Connected   bool   `json:"connected_to_the_end"`
	Error       string `json:"error,omitempty"`
	InputsSent  uint32 `json:"inputs_sent"`
	LastApplied uint32 `json:"last_applied"`
	// AttackSent and AttackApplied count the inputs sent while the flood
	// ran and how far the snapshots' reflection of them advanced in the
	// same window; CaughtUp says every input sent by the end of the
	// attack was reflected soon after it.
	AttackSent    uint32 `json:"inputs_sent_during_attack"`
	AttackApplied uint32 `json:"inputs_reflected_during_attack"`
	CaughtUp      bool   `json:"caught_up_after_attack"`
	Snapshots     uint64 `json:"snapshots"`
	CapturedPoses int    `json:"captured_poses"`
	// From the server's client list at the attack's start and end: the
	// inputs of the own headset it applied, over the span of input seqs
	// it took (the newest applied, from first to last read), and their
	// ratio.
	ServerInputs  uint64  `json:"server_inputs_applied_during_attack"`
	ServerSeqSpan uint32  `json:"server_input_seq_span_during_attack"`
	AppliedShare  float64 `json:"server_applied_share_during_attack"`
}

// BotCounters are one bot's session counters that the forged state
// aims at.
type BotCounters struct {
	Name         string `json:"name"`
	Implausible  uint64 `json:"implausible"`
	Recoveries   uint64 `json:"state_recoveries"`
	BadSignature uint64 `json:"bad_signature"`
	Unsealed     uint64 `json:"unsealed"`
	OldTick      uint64 `json:"old_tick"`
	Duplicate    uint64 `json:"duplicate"`
	Beyond       uint64 `json:"reports_beyond_sent"`
	// On the server: the bot's inputs applied over the input seqs it took.
	ServerInputs  uint64 `json:"server_inputs_applied"`
	ServerSeqSpan uint32 `json:"server_input_seq_span"`
}

// Exit is how the server stopped after SIGTERM.
type Exit struct {
	Code    int    `json:"code"`
	Panic   bool   `json:"panic_in_stderr"`
	Timeout bool   `json:"killed_after_timeout"`
	Stderr  string `json:"stderr_tail,omitempty"`
}

// serverStats is the part of the server's /api/stats the soak reads.
type serverStats struct {
	Clients        int               `json:"clients"`
	MissedTicks    uint64            `json:"missed_ticks"`
	RxPackets      uint64            `json:"rx_packets"`
	TxPackets      uint64            `json:"tx_packets"`
	Dropped        map[string]uint64 `json:"dropped"`
	TickLateness   quantiles         `json:"tick_lateness_us"`
	ServerAdded    quantiles         `json:"server_added_latency_us"`
	ServerAddedCnt uint64            `json:"server_added_samples"`
	ClientList     []clientInfo      `json:"client_list"`
}

// clientInfo is the part of one /api/stats client_list entry the soak
// reads.
type clientInfo struct {
	ID           uint16 `json:"id"`
	Name         string `json:"name"`
	Inputs       uint64 `json:"inputs"`
	LastInputSeq uint32 `json:"last_input_seq"`
	BytesIn      uint64 `json:"bytes_in"`
}

// client returns the entry of client id, if listed.
func (st *serverStats) client(id uint16) (clientInfo, bool) {
	for _, c := range st.ClientList {
		if c.ID == id {
			return c, true
		}
	}
	return clientInfo{}, false
}

type quantiles struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
}

// botReport is the part of arcade-bot --json the soak reads.
type botReport struct {
	ClientsConnected int               `json:"clients_connected"`
	SawAllPeers      bool              `json:"saw_all_peers"`
	SnapshotsRecv    uint64            `json:"snapshots_received"`
	SnapshotLossPct  float64           `json:"snapshot_loss_pct"`
	InputsSent       uint64            `json:"inputs_sent"`
	DrainS           float64           `json:"drain_s"`
	InputsMeasured   uint64            `json:"inputs_sent_measured"`
	InputsReflected  uint64            `json:"inputs_reflected"`
	ReportsBeyond    uint64            `json:"reports_beyond_sent"`
	Dropped          map[string]uint64 `json:"dropped"`
	StateRecoveries  uint64            `json:"state_recoveries"`
	InputToState     struct {
		Samples int     `json:"samples"`
		P50     float64 `json:"p50"`
		P99     float64 `json:"p99"`
		Max     float64 `json:"max"`
	} `json:"input_to_state_ms"`
	Clients []struct {
		Name            string            `json:"name"`
		Connected       bool              `json:"connected"`
		Error           string            `json:"error"`
		ReportsBeyond   uint64            `json:"reports_beyond_sent"`
		Dropped         map[string]uint64 `json:"dropped"`
		StateRecoveries uint64            `json:"state_recoveries"`
	} `json:"clients"`
}

// soak runs the whole thing: server, own headset, baseline, attack, the
// fragment pin (open mode), shutdown. An error means the soak itself
// could not run; what it found is in Report.Problems.
func soak(ctx context.Context, o options) (*Report, error) {
	logf := func(format string, args ...any) {
		if o.log != nil {
			fmt.Fprintf(o.log, "soak: "+format+"\n", args...)
		}
	}
	rep := &Report{Seed: o.seed, DurationS: o.duration.Seconds(), Bots: o.bots, BotRateHz: o.botRate,
		AttackRateGoal: o.attackRate, Mode: "open", Targets: map[string][]string{}}
	if o.sealed {
		rep.Mode, rep.AttackRateGoal = "sealed", 0
	} else {
		for c := range numCategories {
			rep.Targets[c.String()] = targets[c]
		}
	}

	if o.serverBin == "" || o.botBin == "" {
		dir, err := os.MkdirTemp("", "arcade-soak-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		logf("building arcade-server and arcade-bot")
		if err := toolrun.Build(ctx, dir, "./cmd/arcade-server", "./tools/arcade-bot"); err != nil {
			return nil, err
		}
		o.serverBin, o.botBin = filepath.Join(dir, "arcade-server"), filepath.Join(dir, "arcade-bot")
	}

	// Ports and a multicast group of this run's own, so that a soak can run
	// beside other loopback tests.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(os.Getpid())))
	gamePort, err := toolrun.FreePort("udp")
	if err != nil {
		return nil, err
	}
	httpPort, err := toolrun.FreePort("tcp")
	if err != nil {
		return nil, err
	}
	groupPort, err := toolrun.FreePort("udp")
	if err != nil {
		return nil, err
	}
	game := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(gamePort))
	group := netip.AddrPortFrom(netip.AddrFrom4([4]byte{239, 255, byte(1 + rng.IntN(254)), byte(1 + rng.IntN(254))}), uint16(groupPort))
	api := fmt.Sprintf("http://127.0.0.1:%d/api/stats", httpPort)
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", httpPort)
	passphrase := ""
	if o.sealed {
		passphrase = crand.Text() // a venue passphrase of this run's own
	}

	srv, err := startServer(o.serverBin, game, httpPort, group.String(), passphrase, maxClients(o))
	if err != nil {
		return nil, err
	}
	defer srv.kill()
	if err := waitStats(ctx, api, srv, startTimeout); err != nil {
		return nil, fmt.Errorf("server did not answer /api/stats: %w\n%s", err, srv.stderr.String())
	}
	logf("server on %s, http :%d, group %s, %s", game, httpPort, group, rep.Mode)

	// The soak's own headset: connected through both phases; its poses of
	// the baseline are the attack's replays, its token the wrong-source
	// attack's token (sealed: the junk's), its clock the forgeries'.
	limit := 2*(o.warmup+o.duration) + 2*connectWait + 30*time.Second
	own, err := newHeadset("soak-own", netip.AddrPort{}, game, headsetRate, passphrase)
	if err != nil {
		return nil, err
	}
	hctx, hcancel := context.WithCancel(ctx)
	var hwg sync.WaitGroup
	hwg.Go(func() { own.run(hctx, limit) })
	defer func() { hcancel(); hwg.Wait() }()
	select {
	case <-own.connected:
	case <-time.After(6 * time.Second):
		return nil, fmt.Errorf("own headset did not connect: %v", own.Err())
	}

	// Baseline.
	logf("baseline: %d bots for %v", o.bots, o.duration)
	rep.Baseline, err = runPhase(ctx, o, api, game, passphrase, nil, hooks{})
	if err != nil {
		return nil, err
	}

	// Attack.
	token := own.token.Load()
	var replays [][]byte
	if !o.sealed {
		replays = own.Captured()
		rep.Own.CapturedPoses = len(replays)
	}
	var attacks []func(context.Context, time.Duration)
	if o.sealed {
		// A venue headset joins, proves the passphrase and leaves,
		// keeping the group key for the forgeries.
		rep.Insider = &InsiderReport{}
		t := time.Now()
		g, err := joinInsider(ctx, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 52}), 0), game, passphrase)
		rep.Insider.Ms = float64(time.Since(t).Microseconds()) / 1e3
		if err != nil {
			rep.Insider.Error = err.Error()
		} else {
			rep.Insider.Joined = true
			if o.forgeRate > 0 {
				f, err := newForger(group, own.accepted.GroupToken, int(own.accepted.TickRate), own.ServerTime, g, o.forgeRate, o.seed)
				if err != nil {
					return nil, fmt.Errorf("forger socket: %w", err)
				}
				defer f.close()
				attacks = append(attacks, func(ctx context.Context, d time.Duration) { rep.Forged = f.run(ctx, d) })
			}
		}
		rep.Junk = &JunkReport{RateGoal: o.junkRate}
		if o.junkRate > 0 {
			attacks = append(attacks, func(ctx context.Context, d time.Duration) {
				*rep.Junk = sendJunk(ctx, own.Conn(), token, o.junkRate, d, o.seed)
			})
		}
		logf("attack: %d bots for %v beside %d sealed junk datagrams/s from the own headset's socket and %d forged group datagrams/s from an insider",
			o.bots, o.duration, o.junkRate, o.forgeRate)
	} else {
		atk, err := newAttacker(game, o.attackRate, o.seed, o.ports, o.spoofAddrs, token, own.Conn(), replays)
		if err != nil {
			return nil, fmt.Errorf("attacker sockets: %w", err)
		}
		defer atk.close()
		attacks = append(attacks, func(ctx context.Context, d time.Duration) { rep.Attacker = atk.run(ctx, d) })
		if o.forgeRate > 0 {
			f, err := newForger(group, own.accepted.GroupToken, int(own.accepted.TickRate), own.ServerTime, nil, o.forgeRate, o.seed)
			if err != nil {
				return nil, fmt.Errorf("forger socket: %w", err)
			}
			defer f.close()
			attacks = append(attacks, func(ctx context.Context, d time.Duration) { rep.Forged = f.run(ctx, d) })
		}
		logf("attack: %d bots for %v beside %d datagrams/s from %d sockets and %d forged state datagrams/s to the group",
			o.bots, o.duration, o.attackRate, len(atk.socks)+1, o.forgeRate)
	}
	var statsMs float64
	var upDuring bool
	var sent0, applied0, sent1, applied1 uint32
	var srv0, srv1 clientInfo
	var srvOK0, srvOK1 bool
	ownID := uint16(own.id.Load())
	rep.Attack, err = runPhase(ctx, o, api, game, passphrase, attacks, hooks{
		started: func() {
			sent0, applied0 = own.sent.Load(), own.applied.Load()
			if st, err := getStats(api); err == nil {
				srv0, srvOK0 = st.client(ownID)
			}
		},
		mid: func() {
			t := time.Now()
			if _, err := getStats(api); err == nil {
				upDuring = true
				statsMs = float64(time.Since(t).Microseconds()) / 1e3
			}
		},
		stopped: func() {
			sent1, applied1 = own.sent.Load(), own.applied.Load()
			if st, err := getStats(api); err == nil {
				srv1, srvOK1 = st.client(ownID)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	rep.Own.AttackSent, rep.Own.AttackApplied = sent1-sent0, applied1-applied0
	if srvOK0 && srvOK1 {
		rep.Own.ServerInputs = srv1.Inputs - srv0.Inputs
		rep.Own.ServerSeqSpan = srv1.LastInputSeq - srv0.LastInputSeq
		if rep.Own.ServerSeqSpan > 0 {
			rep.Own.AppliedShare = float64(rep.Own.ServerInputs) / float64(rep.Own.ServerSeqSpan)
		}
	}
	// Once the flood has stopped, every input sent during it is reflected
	// within a few snapshots; a bounded wait covers a starved box.
	for wait := time.Now().Add(caughtUpWait); time.Now().Before(wait) && own.Err() == nil; {
		if int32(own.applied.Load()-sent1) >= 0 {
			rep.Own.CaughtUp = true
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	rep.StatsMsInAtk = statsMs
	if rep.Baseline.InputToStateP50 > 0 {
		rep.AttackOverBaseline.InputToStateP50 = rep.Attack.InputToStateP50 / rep.Baseline.InputToStateP50
	}
	if rep.Baseline.InputToStateP99 > 0 {
		rep.AttackOverBaseline.InputToStateP99 = rep.Attack.InputToStateP99 / rep.Baseline.InputToStateP99
	}
	_, errAfter := getStats(api)
	rep.ServerUp = upDuring && errAfter == nil

	// Fragment pin: many sessions announcing the largest messages, and
	// the server's memory before and after.
	if !o.sealed && o.pinSessions > 0 {
		logf("fragment pin: %d sessions × %d rounds of announcements", o.pinSessions, o.pinRounds)
		pin := runPin(ctx, api, metricsURL, game, o.pinSessions, o.pinRounds, own)
		rep.Pin = &pin
	}

	// The own headset must still be connected and its inputs applied.
	rep.Own.InputsSent = own.sent.Load()
	rep.Own.LastApplied = own.applied.Load()
	rep.Own.Snapshots = own.snapshots.Load()
	if e := own.Err(); e != nil {
		rep.Own.Error = e.Error()
	} else {
		rep.Own.Connected = true
	}
	hcancel()
	hwg.Wait()

	logf("stopping the server (SIGTERM)")
	rep.Exit = srv.stop()
	rep.Problems = check(rep)
	return rep, nil
}

// maxClients is the server's --max-clients: its default (64), or room for
// the bots, the own headset and the late joiner, or for the pinning
// sessions and the own headset, whichever is more.
func maxClients(o options) int {
	n := 64
	n = max(n, o.bots+2)
	if !o.sealed {
		n = max(n, o.pinSessions+1)
	}
	return n
}

// runPhase runs the bots once. With an attacker, the flood starts once
// every bot is connected (they share 127.0.0.1 with the attacker, whose
// connect flood exhausts that address's handshake budget) and inside their
// warm-up, and stops when the bots stop. The hooks that are set run when
// the attack starts, halfway and when it has stopped.
func runPhase(ctx context.Context, o options, api string, game netip.AddrPort, passphrase string, attacks []func(context.Context, time.Duration), h hooks) (Phase, error) {
	var ph Phase
	before, err := getStats(api)
	if err != nil {
		return ph, err
	}
	kBefore := kernelDrops(game)
	resetStats(api)

	run := o.warmup + o.duration
	bctx, cancel := context.WithTimeout(ctx, run+connectWait+20*time.Second) // the bots drain up to 10 s
	defer cancel()
	cmd := exec.CommandContext(bctx, o.botBin, "--server", game.String(), "--clients", strconv.Itoa(o.bots),
		"--rate", strconv.Itoa(o.botRate), "--duration", o.duration.String(), "--warmup", o.warmup.String(),
		"--iface", "lo", "--json")
	if passphrase != "" {
		cmd.Args = append(cmd.Args, "--passphrase", passphrase)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = childAttr()
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 3 * time.Second
	if err := cmd.Start(); err != nil {
		return ph, err
	}
	botsDone := make(chan error, 1)
	go func() { botsDone <- cmd.Wait() }()

	// Wait for the bots (and the own headset) to be connected.
	deadline := time.Now().Add(connectWait)
	for time.Now().Before(deadline) {
		st, err := getStats(api)
		if err == nil && st.Clients >= before.Clients+o.bots {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	actx, acancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if h.started != nil {
		h.started()
	}
	// The bots' entries on the server, early in their warm-up (the list
	// is published ten times a second) and near the end of their
	// streaming: how many of their inputs it applied over the input seqs
	// it took.
	var list0, list1 []clientInfo
	wg.Go(func() {
		start := time.Now()
		for i, at := range [2]time.Duration{o.warmup / 2, o.warmup + o.duration*9/10} {
			select {
			case <-actx.Done():
				return
			case <-time.After(time.Until(start.Add(at))):
			}
			st, err := getStats(api)
			switch {
			case err != nil:
			case i == 0:
				list0 = st.ClientList
			default:
				list1 = st.ClientList
			}
		}
	})
	for _, a := range attacks {
		wg.Go(func() { a(actx, run+connectWait) })
	}
	// Halfway through the measured window: the server's client count, the
	// caller's probe, and a fresh headset joining.
	wg.Go(func() {
		select {
		case <-actx.Done():
			return
		case <-time.After(o.warmup + o.duration/2):
		}
		if st, err := getStats(api); err == nil {
			ph.ClientsMid = st.Clients
		}
		if h.mid != nil {
			h.mid()
		}
		ph.LateJoin, ph.LateJoinMs = lateJoin(actx, game, passphrase)
	})
	berr := <-botsDone
	acancel()
	wg.Wait()
	if h.stopped != nil {
		h.stopped()
	}
	after, err := settled(api, game)
	if err != nil {
		return ph, fmt.Errorf("server not answering after the phase: %w", err)
	}
	var br botReport
	if err := json.Unmarshal(out.Bytes(), &br); err != nil {
		return ph, fmt.Errorf("arcade-bot: %v (exit %v)\nstdout: %s\nstderr: %s", err, berr, out.String(), errb.String())
	}
	ph.BotsConnected = br.ClientsConnected
	ph.SawAllPeers = br.SawAllPeers
	ph.InputToStateP50, ph.InputToStateP99, ph.InputToStateMax = br.InputToState.P50, br.InputToState.P99, br.InputToState.Max
	ph.Samples = br.InputToState.Samples
	ph.InputsSent = br.InputsSent
	ph.SnapshotsRecv = br.SnapshotsRecv
	ph.SnapshotLossPct = br.SnapshotLossPct
	ph.InputsMeasured, ph.InputsReflected, ph.ReportsBeyond = br.InputsMeasured, br.InputsReflected, br.ReportsBeyond
	ph.BotDrainS = br.DrainS
	ph.BotDropped, ph.StateRecoveries = br.Dropped, br.StateRecoveries
	for _, c := range br.Clients {
		if c.Error != "" {
			ph.BotErrors = append(ph.BotErrors, c.Name+": "+c.Error)
		}
		if c.Connected {
			bc := BotCounters{Name: c.Name,
				Implausible: c.Dropped["implausible"], Recoveries: c.StateRecoveries,
				BadSignature: c.Dropped["bad-signature"], Unsealed: c.Dropped["unsealed"],
				OldTick: c.Dropped["old-tick"], Duplicate: c.Dropped["duplicate"], Beyond: c.ReportsBeyond}
			if a, ok := byName(list0, c.Name); ok {
				if b, ok := byName(list1, c.Name); ok {
					bc.ServerInputs, bc.ServerSeqSpan = b.Inputs-a.Inputs, b.LastInputSeq-a.LastInputSeq
					ph.BotsServerInputs += bc.ServerInputs
					ph.BotsServerSeqSpan += uint64(bc.ServerSeqSpan)
				}
			}
			ph.PerBot = append(ph.PerBot, bc)
		}
	}
	ph.RxPackets = after.RxPackets - before.RxPackets
	ph.TxPackets = after.TxPackets - before.TxPackets
	ph.MissedTicks = after.MissedTicks - before.MissedTicks
	ph.Dropped = map[string]uint64{}
	for k, v := range after.Dropped {
		if d := v - before.Dropped[k]; d > 0 {
			ph.Dropped[k] = d
			if k != "send_blocked" && k != "send_error" {
				ph.DroppedSum += d // received datagrams only
			}
		}
	}
	ph.KernelDrops = kernelDrops(game) - kBefore
	ph.TickLatenessP99US = after.TickLateness.P99
	ph.ServerAddedP50US, ph.ServerAddedP99US = after.ServerAdded.P50, after.ServerAdded.P99
	return ph, nil
}

// byName returns the entry of the client called name, if listed once.
func byName(list []clientInfo, name string) (clientInfo, bool) {
	var found clientInfo
	n := 0
	for _, c := range list {
		if c.Name == name {
			found, n = c, n+1
		}
	}
	return found, n == 1
}

// hooks are runPhase's optional callbacks.
type hooks struct{ started, mid, stopped func() }

// settled returns the server's stats once it has read what was still
// queued on its socket when the phase ended (the kernel's receive queue
// empty), or after settleMax.
func settled(api string, game netip.AddrPort) (*serverStats, error) {
	for end := time.Now().Add(settleMax); time.Now().Before(end); {
		if q, _, ok := udpSocket(game); !ok || q == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return getStats(api)
}

// lateJoin connects a fresh headset from 127.0.0.51, holds the session
// for half a second, and closes it.
func lateJoin(ctx context.Context, game netip.AddrPort, passphrase string) (bool, float64) {
	h, err := newHeadset("soak-late", netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 51}), 0), game, headsetRate, passphrase)
	if err != nil {
		return false, 0
	}
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { h.run(hctx, 10*time.Second) })
	defer wg.Wait()
	t := time.Now()
	select {
	case <-h.connected:
		ms := float64(time.Since(t).Microseconds()) / 1e3
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
		return true, ms
	case <-time.After(6 * time.Second):
	case <-ctx.Done():
	}
	return false, 0
}

// childAttr makes a child die with the soak, even when the soak is killed
// before it can stop it.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// process is the running server.
type process struct {
	cmd    *exec.Cmd
	stderr *toolrun.CapBuffer
	done   chan struct{}
	err    error
}

// operatorToken is what resetStats sends: the server reads it from a file
// (--http-token-file), as the reset needs it.
var operatorToken = crand.Text()

// startServer starts the server; passphrase, if not empty, goes to it in
// a file (--passphrase-file); extra flags follow the soak's own.
func startServer(bin string, game netip.AddrPort, httpPort int, group, passphrase string, maxClients int, extra ...string) (*process, error) {
	tokenFile, err := toolrun.WriteSecret("arcade-soak-token-", operatorToken)
	if err != nil {
		return nil, err
	}
	files := []string{tokenFile}
	args := []string{"--listen", game.String(), "--http", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"--http-token-file", tokenFile, "--iface", "lo", "--multicast", group, "--discovery=false",
		"--max-clients", strconv.Itoa(maxClients)}
	if passphrase != "" {
		passFile, err := toolrun.WriteSecret("arcade-soak-passphrase-", passphrase)
		if err != nil {
			os.Remove(tokenFile)
			return nil, err
		}
		files = append(files, passFile)
		args = append(args, "--passphrase-file", passFile)
	}
	args = append(args, extra...)
	removeFiles := func() {
		for _, f := range files {
			os.Remove(f)
		}
	}
	cmd := exec.Command(bin, args...)
	p := &process{cmd: cmd, stderr: &toolrun.CapBuffer{Max: maxStderrKeep}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stderr, p.stderr
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		removeFiles()
		return nil, err
	}
	go func() { p.err = cmd.Wait(); removeFiles(); close(p.done) }()
	return p, nil
}

// stop sends SIGTERM and waits for the exit (SIGKILL after stopTimeout).
func (p *process) stop() Exit {
	var e Exit
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		e.Timeout = true
		p.cmd.Process.Kill()
		<-p.done
	}
	e.Code = p.cmd.ProcessState.ExitCode() // -1 if killed by a signal
	text := p.stderr.String()
	lower := strings.ToLower(text)
	e.Panic = strings.Contains(lower, "panic") || strings.Contains(lower, "fatal error") || strings.Contains(lower, "data race")
	if lines := strings.Split(strings.TrimSpace(text), "\n"); len(lines) > 6 {
		text = strings.Join(lines[len(lines)-6:], "\n")
	}
	e.Stderr = text
	return e
}

// kill ends the server if it is still running (an early return).
func (p *process) kill() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Kill()
		<-p.done
	}
}

var httpClient = &http.Client{Timeout: statsTimeout}

func getStats(api string) (*serverStats, error) {
	resp, err := httpClient.Get(api)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", api, resp.Status)
	}
	var st serverStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, err
	}
	return &st, nil
}

func resetStats(api string) {
	req, err := http.NewRequest(http.MethodPost, api+"/reset", nil)
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+operatorToken)
	resp, err := httpClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
}

// waitStats polls /api/stats until it answers, the server exits, or d.
func waitStats(ctx context.Context, api string, p *process, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		_, err := getStats(api)
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return errors.New("server exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return err
		}
	}
}

// kernelDrops reads the receive-buffer drop count of the UDP socket bound
// kernelDrops is the kernel's drop count of the server's socket.
func kernelDrops(addr netip.AddrPort) uint64 {
	_, drops, _ := udpSocket(addr)
	return drops
}

// udpSocket reads the IPv4 UDP socket bound to addr from /proc/net/udp:
// the bytes queued for reading and the datagrams the kernel dropped.
func udpSocket(addr netip.AddrPort) (queued, drops uint64, ok bool) {
	f, err := os.Open("/proc/net/udp")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	a := addr.Addr().As4()
	// Local address as the kernel prints it: the IPv4 address as a
	// host-order (little-endian here) 32-bit hex word, then the port.
	want := fmt.Sprintf("%02X%02X%02X%02X:%04X", a[3], a[2], a[1], a[0], addr.Port())
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 13 && fs[1] == want {
			drops, _ = strconv.ParseUint(fs[len(fs)-1], 10, 64)
			if _, rx, found := strings.Cut(fs[4], ":"); found {
				queued, _ = strconv.ParseUint(rx, 16, 64)
			}
			return queued, drops, true
		}
	}
	return 0, 0, false
}
