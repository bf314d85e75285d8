// Command arcade-bot is Arcade's load and measurement bot: it connects N
// simulated headsets to a server, streams their poses at display rate for a
// fixed time, and reports input-to-state latency, snapshot loss, round-trip
// time and whether every bot saw every other.
//
//	arcade-bot --server host:port --clients N --rate 90 --duration 10s [--unicast] [--iface lo] [--grab] [--json]
//	           [--per-client-mcast] [--cpu LIST] [--nice N] [--interval-reports]
//	arcade-bot --discover [--beacon host:port] ...
//
// With --discover instead of --server the bot finds the server as a headset
// would: an mDNS/DNS-SD browse for _arcade._udp.local (1 s), then, if that
// found nothing, a beacon probe (1 s) to --beacon, by default the subnet
// broadcast address of --iface or 255.255.255.255:7779. The report says
// which method worked, why the other failed, and how long it took.
//
// Each bot is its own client.Client. One goroutine samples and sends every
// bot's poses, staggered evenly over the frame so the server sees a steady
// stream; the clients' reader goroutines record snapshots and pongs. The run
// is bounded: connect (ConnectTimeout 5 s), send for --duration, drain for
// 500 ms (up to 10 s while a bot's last input is not yet reported), close
// every client (the server is told), report.
//
// The bots of one process share one socket joined to the snapshot group
// (client.MulticastHub), as the headsets of a real venue share the switch
// that copies each multicast datagram to them: one read per datagram for
// the process, handed to every bot. A socket per bot instead
// (--per-client-mcast) makes the kernel copy every datagram once per bot,
// inside the server's send call when the server is on the same host, and
// that copying then shows in the server's send times and tick lateness.
// The report says which (shared_multicast) and what the shared socket read
// (multicast_hub).
//
// --cpu LIST (e.g. 1, or 0,2-3) pins every thread of the bot process to
// those CPUs (sched_setaffinity) and sets GOMAXPROCS to their number when
// fewer than before; --nice N sets every thread's nice value
// (setpriority). Both keep the load generator off the server's CPU or
// behind it; the report says what was applied (pinned_cpus, null when not
// pinned; nice, the value in effect either way; gomaxprocs).
//
// --interval-reports makes each SIGUSR1 print one JSON line of what the
// headsets measured since the previous one (IntervalReport: headsets
// connected, inputs sent, snapshot path counters, input_to_state as a
// histogram), for a driver that runs the bots for long and cuts their
// measurements into windows of its own (arcade-load); the final report
// follows the last such line.
//
// Measurements, per bot, aggregated over all connected bots:
//   - input_to_state: for each input k, the clock read just before its send
//     system call to the kernel receive time of the first snapshot whose
//     record for this bot has LastInputSeq >= k. Inputs never reported are
//     not counted.
//   - snapshots_received: distinct snapshot datagrams.
//   - snapshot_loss_pct: header sequence gaps on the path snapshots came on
//     (the multicast group's sequence, or the unicast per-connection one),
//     from the first datagram received after connecting.
//   - rtt: from pongs, one ping every 100 ms.
//   - inputs_sent_measured: inputs sent after the warm-up (inputs_sent
//     counts the warm-up's too); inputs_reflected of them were reported
//     by the end of the drain (inputs_reported, the latency samples, also
//     counts warm-up inputs reported after it).
//   - reports_beyond_sent: player records naming a bot's input seq more
//     than 2 beyond the newest it had sent. No server sends one: it is
//     forged state its session took (open mode, stamped a little ahead of
//     the server clock), and it is left out of every measurement.
//   - dropped, state_recoveries: the sessions' client.SessionStats
//     (Dropped by client.DropReason name, StateRecoveries), summed over
//     the bots, and per bot in clients.
//   - saw_all_peers: every bot saw every other connected bot's ClientID in
//     snapshots with an advancing LastInputSeq.
//
// With --grab the bots also hold and swing objects. The i-th bot by ClientID
// takes the i-th grabbable object (by id) of the first complete snapshot
// tick (the (N+i)-th with --grab-first N, for bot processes sharing a
// server); bots beyond the number of objects just move. A grabbing bot puts its
// right hand at the object's centre with the grip open for three inputs,
// then closes it (Grip 1) until a state reflecting one of those inputs
// shows the object held. After 0.3 s without it, it opens and closes again;
// after three attempts, or at once if the object turns out held while its
// hand was open, it tries the next free object, four at most. Once holding,
// it swings the hand on a 0.3 m arc of radius 0.3 m at 1.5 Hz, twisting the
// wrist, with the grip closed, until the end. Grips are otherwise open, so
// no bot grabs anything by accident. Extra measurements:
//   - grab_to_state: for each input k sent while holding, the send time (as
//     for input_to_state) to the kernel receive time of the first datagram
//     showing the object at k's pose: an EntityUpdate listing the object
//     with a cause whose client is the bot's id and input >= k, or a snapshot
//     with the bot's LastInputSeq >= k listing it held.
//     grab_shown_by_update counts the samples that were entity updates.
//   - grab_pose_mismatch: the first held state gives the object's offset in
//     the frame of the hand pose of the input it reflects; every later one
//     (of those two kinds) must show the object within 2 mm and 1° of that
//     input's hand pose times the offset. grab_pose_checks counts the
//     states compared.
//   - grabbing: bots that held an object.
//
// With a standby pair's server (the Accepted carries an epoch, PROTOCOL
// §18) each bot records every takeover it sees (client.Takeover): the gap
// between the receive times of the old server's last state and the new
// one's first, the newest own input the old server's state showed applied
// against the first the new one shows (acked_lost: inputs the new world
// does not have), the world difference (the largest distance between an
// object's position in the old server's last state and in the new
// server's first tick; world_diff_unheld_m over the objects held in
// neither) and, grabbing, whether the new server's first tick still shows
// its object held. Per bot in clients[].takeovers, with its final epoch
// and its new handshakes (restarts); summed in takeovers,
// takeover_gap_ms, acked_inputs_lost, takeovers_losing_acked,
// world_diff_m, grabs_held_before and grabs_still_held.
//
// Exit status: 0 after a run, 1 if no bot connected or --discover found no
// server, 2 for bad flags, including a --cpu or --nice the system refused.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/wire"
)

// Fixed parts of a run.
const (
	connectTimeout = 5 * time.Second
	pingInterval   = 100 * time.Millisecond
	drainTime      = 500 * time.Millisecond
	// drainMax bounds the drain while a bot's newest input is not yet
	// reported: on a box short of CPU the bots' sessions fall behind the
	// state they receive (with a passphrase each checks a signature per
	// group datagram) and catch up once the inputs, and with them the
	// eager updates, stop.
	drainMax    = 10 * time.Second
	maxClients  = 1024
	maxRate     = 1000
	maxDuration = time.Hour
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the parsed command line.
type options struct {
	server   string
	clients  int
	rate     int
	duration time.Duration
	warmup   time.Duration
	unicast  bool
	iface    string
	grab     bool
	// grabFirst is the rank of this process's first bot in the grab run.
	grabFirst int
	json      bool
	discover  bool
	beacon    netip.AddrPort
	// passphrase is the venue passphrase, empty if none.
	passphrase string
	samples    bool
	// perClientMcast gives every bot a multicast socket of its own.
	perClientMcast bool
	sourceNet      netip.Prefix
	reconnect      bool
	// cpus are the CPUs to pin the process to (nil: not pinned); nice is
	// the nice value to set when niceSet.
	cpus    []int
	nice    int
	niceSet bool
	// intervalReports: print an IntervalReport line on each SIGUSR1;
	// iv answers them once run has started it.
	intervalReports bool
	iv              *intervals
}

// errUsage marks errors for which the flag package already printed usage.
var errUsage = errors.New("usage")

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("arcade-bot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.server, "server", "127.0.0.1:7777", "server `host:port` (IPv4)")
	fs.IntVar(&o.clients, "clients", 4, fmt.Sprintf("simulated headsets (1..%d)", maxClients))
	fs.IntVar(&o.rate, "rate", 90, fmt.Sprintf("poses per second per headset (1..%d)", maxRate))
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to stream poses once all headsets connected")
	fs.DurationVar(&o.warmup, "warmup", 0, "stream this long first without keeping latency samples (e.g. while the server settles each headset's delivery mode)")
	fs.BoolVar(&o.unicast, "unicast", false, "ask for snapshots by unicast instead of multicast")
	fs.StringVar(&o.iface, "iface", "", "`interface` to join the multicast group on (default: the one routing to the server)")
	fs.BoolVar(&o.grab, "grab", false, "grab one object per bot and swing it, measuring grab_to_state")
	fs.IntVar(&o.grabFirst, "grab-first", 0, "with --grab, the first bot takes the `N`-th grabbable object (0-based) and the others the following ones, so that bot processes sharing a server take different objects")
	fs.BoolVar(&o.json, "json", false, "print one JSON object instead of a table")
	fs.BoolVar(&o.discover, "discover", false, "find the server by mDNS, then by beacon broadcast, instead of --server")
	beacon := fs.String("beacon", "", "with --discover: `host:port` to send the beacon probe to (default: broadcast on --iface, or 255.255.255.255:7779)")
	fs.StringVar(&o.passphrase, "passphrase", "", "venue `passphrase` of the server (empty = none)")
	fs.BoolVar(&o.samples, "samples", false, "include every input_to_state sample (ms) in the JSON, for pooling across bot processes")
	fs.Func("source-net", "bind headset i to the i+1-th address of this IPv4 `prefix` (e.g. 127.3.0.0/16), one source address each as a venue's headsets have; default: the system's choice", func(v string) error {
		p, err := netip.ParsePrefix(v)
		if err != nil || !p.Addr().Is4() || p.Bits() > 30 {
			return fmt.Errorf("want an IPv4 prefix of /30 or wider, like 127.3.0.0/16")
		}
		o.sourceNet = p.Masked()
		return nil
	})
	fs.BoolVar(&o.reconnect, "reconnect", true, "when a headset's session is lost (the server restarted, timed it out or shut down), start a new handshake with the same player id, with backoff")
	fs.BoolVar(&o.perClientMcast, "per-client-mcast", false, "give every headset a multicast socket of its own instead of one shared by the process (the kernel then copies each snapshot once per headset)")
	cpuList := fs.String("cpu", "", "pin the bot's threads to these `CPUs` (e.g. 1, or 0,2-3)")
	fs.BoolVar(&o.intervalReports, "interval-reports", false, "on each SIGUSR1 print one JSON line of what the headsets measured since the previous one (for a driver cutting a long run into windows; see interval.go)")
	fs.IntVar(&o.nice, "nice", 0, "set the bot's threads to this nice `value` (-20..19; below the current one needs CAP_SYS_NICE)")
	if err := fs.Parse(args); err != nil {
		return nil, errUsage
	}
	serverSet := false
	fs.Visit(func(f *flag.Flag) { serverSet = serverSet || f.Name == "server" })
	if o.discover && serverSet {
		return nil, errors.New("--discover: give --discover or --server, not both")
	}
	if *beacon != "" {
		ap, err := netip.ParseAddrPort(*beacon)
		if err != nil || !ap.Addr().Is4() || ap.Port() == 0 {
			return nil, fmt.Errorf("--beacon: %q is not an IPv4 host:port", *beacon)
		}
		if !o.discover {
			return nil, errors.New("--beacon: only with --discover")
		}
		o.beacon = ap
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cpuSet := false
	fs.Visit(func(f *flag.Flag) {
		o.niceSet = o.niceSet || f.Name == "nice"
		cpuSet = cpuSet || f.Name == "cpu"
	})
	if o.niceSet && (o.nice < -20 || o.nice > 19) {
		return nil, fmt.Errorf("--nice: %d is out of range -20..19", o.nice)
	}
	if cpuSet {
		cpus, err := parseCPUList(*cpuList)
		if err != nil {
			return nil, fmt.Errorf("--cpu %q: %v", *cpuList, err)
		}
		allowed, err := allowedCPUs()
		if err != nil {
			return nil, fmt.Errorf("--cpu %q: %v", *cpuList, err)
		}
		for _, c := range cpus {
			if !slices.Contains(allowed, c) {
				return nil, fmt.Errorf("--cpu %q: CPU %d is not available to this process (it may run on %s)", *cpuList, c, formatCPUList(allowed))
			}
		}
		o.cpus = cpus
	}
	host, port, err := net.SplitHostPort(o.server)
	if err != nil || host == "" {
		return nil, fmt.Errorf("--server: %q is not host:port", o.server)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return nil, fmt.Errorf("--server: %q has no valid port", o.server)
	}
	if a, err := netip.ParseAddr(host); err == nil && !a.Unmap().Is4() {
		return nil, fmt.Errorf("--server: %s is not an IPv4 address", host)
	}
	if o.grabFirst < 0 || o.grabFirst >= maxCandidates {
		return nil, fmt.Errorf("--grab-first: %d is out of range 0..%d", o.grabFirst, maxCandidates-1)
	}
	if o.clients < 1 || o.clients > maxClients {
		return nil, fmt.Errorf("--clients: %d is out of range 1..%d", o.clients, maxClients)
	}
	if o.sourceNet.IsValid() && o.clients > 1<<(32-o.sourceNet.Bits())-2 {
		return nil, fmt.Errorf("--source-net: %v has too few addresses for %d headsets", o.sourceNet, o.clients)
	}
	if o.rate < 1 || o.rate > maxRate {
		return nil, fmt.Errorf("--rate: %d is out of range 1..%d", o.rate, maxRate)
	}
	if o.warmup < 0 || o.warmup > maxDuration {
		return nil, fmt.Errorf("--warmup: %v is out of range [0, %v]", o.warmup, maxDuration)
	}
	if o.duration <= 0 || o.duration > maxDuration {
		return nil, fmt.Errorf("--duration: %v is out of range (0, %v]", o.duration, maxDuration)
	}
	if o.intervalReports && intervalSignal == nil {
		return nil, fmt.Errorf("--interval-reports: needs SIGUSR1, which %s does not have", runtime.GOOS)
	}
	if o.iface != "" {
		if _, err := net.InterfaceByName(o.iface); err != nil {
			return nil, fmt.Errorf("--iface: no interface %q", o.iface)
		}
	}
	return &o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if err != errUsage {
			fmt.Fprintf(stderr, "arcade-bot: %v\n", err)
		}
		return 2
	}
	sched, err := applySched(o)
	if err != nil {
		fmt.Fprintf(stderr, "arcade-bot: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.intervalReports {
		var outMu sync.Mutex
		o.iv = watchIntervals(stdout, &outMu)
		defer o.iv.stop()
	}
	var disc *DiscoveryReport
	if o.discover {
		d := discover(ctx, o.iface, o.beacon)
		disc = &d
		if d.Service == nil {
			if o.json {
				rep := Report{ClientsRequested: o.clients, Discovery: disc}
				sched.fill(&rep)
				json.NewEncoder(stdout).Encode(rep)
			} else {
				printDiscovery(stdout, disc)
			}
			return 1
		}
		o.server = d.Service.Addr.String()
	}
	rep := runBots(ctx, o)
	rep.Discovery = disc
	sched.fill(&rep)
	if disc != nil && !o.json {
		printDiscovery(stdout, disc)
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "arcade-bot: %v\n", err)
			return 1
		}
	} else {
		printTable(stdout, rep)
	}
	if rep.ClientsConnected == 0 {
		return 1
	}
	return 0
}

// bot is one simulated headset.
type bot struct {
	name string
	path path
	c    *client.Client
	rec  *recorder
	err  error
	in   wire.PoseInput
}

// runBots connects the bots, streams, drains, closes and aggregates.
func runBots(ctx context.Context, o *options) Report {
	bots := make([]*bot, o.clients)
	expect := int(o.duration.Seconds()*float64(o.rate)*1.1) + 16
	// One socket joined to the snapshot group for every bot of the process,
	// unless each is to have its own. Closed after the clients.
	var hub *client.MulticastHub
	if !o.unicast && !o.perClientMcast {
		hub = client.NewMulticastHub()
		defer hub.Close()
	}
	var wg sync.WaitGroup
	for i := range bots {
		b := &bot{name: fmt.Sprintf("bot-%02d", i), path: newPath(i, o.clients)}
		bots[i] = b
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := client.Config{
				SessionConfig: client.SessionConfig{
					Name:           b.name,
					Unicast:        o.unicast,
					ConnectTimeout: connectTimeout,
					PingInterval:   pingInterval,
					Passphrase:     o.passphrase,
				},
				MulticastIface:  o.iface,
				SharedMulticast: hub,
				LocalAddr:       sourceAddr(o.sourceNet, i),
				Reconnect:       o.reconnect,
			}
			b.c, b.err = client.Dial(ctx, o.server, cfg)
			if b.err != nil {
				return
			}
			b.rec = newRecorder(b.c.ClientID(), expect)
			if o.grab {
				b.rec.enableGrab(expect)
			}
			if _, pair := b.c.Epoch(); pair {
				b.rec.enableTakeovers()
				b.c.OnTakeover(func(t *client.Takeover) { b.rec.takeover(t) })
			}
			b.c.OnEntityUpdate(func(u *wire.EntityUpdate, rx int64, _ bool) { b.rec.entityUpdate(u, rx) })
			b.rec.connected = client.Now()
			b.c.OnSnapshot(func(snap *wire.Snapshot, rx int64, viaMulticast bool) {
				if !viaMulticast && !o.unicast {
					b.rec.unicastSnapshot(rx)
				}
				b.rec.snapshot(snap, rx)
			})
			b.c.OnPong(func(rtt, _ int64) { b.rec.pong(rtt) })
		}()
	}
	wg.Wait()

	var live []*bot
	for _, b := range bots {
		if b.err == nil {
			live = append(live, b)
		}
	}
	if o.grab {
		// Connection order: the server numbers clients as it accepts them.
		byID := slices.SortedFunc(slices.Values(live), func(a, b *bot) int { return int(a.rec.self) - int(b.rec.self) })
		for i, b := range byID {
			b.rec.setGrabRank(o.grabFirst+i, o.grabFirst+len(byID))
		}
	}
	if o.iv != nil {
		o.iv.setBots(live)
	}
	var drainS float64
	if len(live) > 0 {
		if o.warmup > 0 {
			stream(ctx, live, o.rate, o.warmup)
			for _, b := range live {
				b.rec.resetLatency()
			}
		}
		stream(ctx, live, o.rate, o.duration)
		t := time.Now()
		drain(ctx, live)
		drainS = time.Since(t).Seconds()
	}

	results := make([]botResult, len(bots))
	tickRate := 0
	path := "multicast"
	if o.unicast {
		path = "unicast"
	}
	for i, b := range bots {
		if b.err != nil {
			results[i] = botResult{Name: b.name, Err: b.err.Error()}
			continue
		}
		r := b.rec.result()
		r.Name = b.name
		st := b.c.Stats()
		acc := b.c.Accepted()
		ps := st.Multicast
		if acc.Flags&wire.AcceptedUnicast != 0 {
			ps = st.Unicast
			path = "unicast"
		}
		r.PathReceived, r.PathLost = ps.Received, ps.Lost
		r.CookieRetries = st.CookieRetries
		r.Epoch, r.EpochOK = b.c.Epoch()
		r.Restarts = st.Restarts
		sess, _ := b.c.Takeovers(nil)
		r.Takeovers = takeovers(sess, r.takeoverRecs)
		r.Recoveries = st.StateRecoveries
		for d, n := range st.Dropped {
			if n > 0 {
				if r.Dropped == nil {
					r.Dropped = map[string]uint64{}
				}
				r.Dropped[client.DropReason(d).String()] = n
			}
		}
		if b.c.State() != client.Connected {
			r.Err = fmt.Sprint("ended early: ", b.c.Err())
		}
		tickRate = int(acc.TickRate)
		results[i] = r
	}
	var hubRep *HubReport
	if hub != nil {
		if g, _ := hub.Group(); g.IsValid() {
			st := hub.Stats()
			hubRep = &HubReport{Batches: st.Batches, Datagrams: st.Datagrams, Deliveries: st.Deliveries,
				Deferred: st.Deferred, Unmatched: st.Unmatched, ReadErrors: st.ReadErrors}
		}
	}
	if o.iv != nil {
		// No interval line after the final report, nor one reading a
		// closed client.
		o.iv.stop()
		o.iv = nil
	}
	for _, b := range live {
		b.c.Close()
	}
	rep := aggregate(results, tickRate)
	rep.SharedMulticast, rep.MulticastHub = hubRep != nil, hubRep
	if o.samples {
		for _, r := range results {
			for _, ns := range r.Latency {
				rep.Samples = append(rep.Samples, math.Round(float64(ns)/1e3)/1e3)
			}
		}
	}
	if o.grab {
		aggregateGrab(&rep, results)
	}
	rep.Server, rep.Rate, rep.DurationS, rep.SnapshotPath = o.server, o.rate, o.duration.Seconds(), path
	rep.DrainS = math.Round(drainS*1e3) / 1e3
	return rep
}

// stream sends every bot's poses at rate for d, from this goroutine: bot i
// of n samples at start + k/rate + i/(n·rate). A bot more than a frame late
// skips the frame rather than bursting.
func stream(ctx context.Context, bots []*bot, rate int, d time.Duration) {
	period := time.Second / time.Duration(rate)
	n := len(bots)
	start := time.Now()
	end := start.Add(d)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for j := 0; ; j++ {
		round, i := j/n, j%n
		due := start.Add(time.Duration(round)*period + time.Duration(i)*period/time.Duration(n))
		if !due.Before(end) {
			return
		}
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if -wait > period {
			continue
		}
		b := bots[i]
		t := time.Since(start).Seconds()
		b.path.sample(t, &b.in)
		b.rec.sample(t, &b.in)
		seq, err := b.c.SendPose(&b.in)
		if seq == 0 {
			continue
		}
		if err != nil {
			b.rec.unsent(seq)
			continue
		}
		// ClientTime is the clock read just before the send system call.
		b.rec.sent(seq, int64(b.in.ClientTime)*1000)
	}
}

// drain waits drainTime for the last states, then up to drainMax in all
// until every bot's newest input has been reported.
func drain(ctx context.Context, bots []*bot) {
	start := time.Now()
	for {
		wait := drainTime - time.Since(start)
		if wait <= 0 {
			done := true
			for _, b := range bots {
				done = done && b.rec.caughtUp()
			}
			if done || time.Since(start) >= drainMax {
				return
			}
			wait = 10 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func printTable(w io.Writer, r Report) {
	yes := map[bool]string{true: "yes", false: "NO"}
	fmt.Fprintf(w, "arcade-bot: %d/%d clients connected to %s, tick %d Hz, snapshots by %s, %d Hz for %gs\n",
		r.ClientsConnected, r.ClientsRequested, r.Server, r.TickRate, r.SnapshotPath, r.Rate, r.DurationS)
	fmt.Fprintf(w, "  %-16s %s\n", "saw all peers", yes[r.SawAllPeers])
	fmt.Fprintf(w, "  %-16s %d received, %.2f%% lost\n", "snapshots", r.SnapshotsRecv, r.SnapshotLossPct)
	fmt.Fprintf(w, "  %-16s p50 %.3f ms   p99 %.3f ms   max %.3f ms   (%d of %d inputs reported)\n",
		"input to state", r.InputToState.P50, r.InputToState.P99, r.InputToState.Max, r.InputsReported, r.InputsSent)
	fmt.Fprintf(w, "  %-16s p50 %.3f ms   p99 %.3f ms   (%d pongs)\n", "rtt", r.RTT.P50, r.RTT.P99, r.RTT.Samples)
	if h := r.MulticastHub; h != nil {
		fmt.Fprintf(w, "  %-16s one shared socket: %d datagrams in %d reads, %d handed to bots, %d to none\n",
			"multicast", h.Datagrams, h.Batches, h.Deliveries, h.Unmatched)
	} else if r.SnapshotPath == "multicast" {
		fmt.Fprintf(w, "  %-16s one socket per headset\n", "multicast")
	}
	pinned := "not pinned"
	if r.PinnedCPUs != nil {
		pinned = "pinned to CPUs " + formatCPUList(r.PinnedCPUs)
	}
	fmt.Fprintf(w, "  %-16s %s, nice %d, GOMAXPROCS %d\n", "scheduling", pinned, r.Nice, r.GOMAXPROCS)
	if g := r.GrabReport; g != nil {
		fmt.Fprintf(w, "  %-16s p50 %.3f ms   p99 %.3f ms   max %.3f ms   (%d samples, %d by entity update; %d of %d bots holding)\n",
			"grab to state", g.GrabToState.P50, g.GrabToState.P99, g.GrabToState.Max, g.GrabToState.Samples, g.GrabShownByUpdate, g.Grabbing, r.ClientsConnected)
		fmt.Fprintf(w, "  %-16s %d of %d held states off hand·offset by more than 2 mm or 1°, %d releases seen, %d entity updates\n",
			"grab pose", g.GrabPoseMismatch, g.GrabPoseChecks, g.GrabReleased, g.EntityUpdates)
	}
	if k := r.TakeoverReport; k != nil {
		fmt.Fprintf(w, "  %-16s %d seen by the bots: gap p50 %.3f ms   max %.3f ms   (%d samples); %d acknowledged inputs lost in %d\n",
			"takeovers", k.Takeovers, k.Gap.P50, k.Gap.Max, k.Gap.Samples, k.AckedInputsLost, k.TakeoversLosing)
		fmt.Fprintf(w, "  %-16s world differs by at most %.3f m (%.3f m for objects not held); %d of %d held grabs still held\n",
			"", k.WorldDiffM, k.WorldDiffUnheldM, k.GrabsStillHeld, k.GrabsHeldBefore)
	}
	if len(r.Dropped) > 0 || r.StateRecoveries > 0 || r.ReportsBeyondSent > 0 {
		keys := slices.Sorted(maps.Keys(r.Dropped))
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d", k, r.Dropped[k]))
		}
		fmt.Fprintf(w, "  %-16s dropped: %s; %d state recoveries, %d reports of inputs not sent\n",
			"received", strings.Join(parts, ", "), r.StateRecoveries, r.ReportsBeyondSent)
	}
	if r.CookieRetries > 0 {
		fmt.Fprintf(w, "  %-16s %d handshakes restarted after a bad-cookie denial\n", "handshake", r.CookieRetries)
	}
	for _, c := range r.Clients {
		if c.Error != "" {
			fmt.Fprintf(w, "  %s: %s\n", c.Name, c.Error)
		}
	}
}

// sourceAddr is headset i's source address in prefix p (zero when p is):
// the i+1-th address of it.
func sourceAddr(p netip.Prefix, i int) netip.Addr {
	if !p.IsValid() {
		return netip.Addr{}
	}
	a := p.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += uint32(i + 1)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
