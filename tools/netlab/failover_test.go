//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arcadexr/arcade/tools/netlab/internal/lab"
	"github.com/arcadexr/arcade/tools/netlab/internal/relay"
)

// The failover lab test (PROTOCOL §18): a standby pair in two namespaces
// on the wired side of the relay (their pair link crosses only the wired
// switch), the relay at wifi-good, 8 headsets behind it, each an
// arcade-bot --grab holding and swinging an object of its own. Ten times
// the active box is killed (kill -9): the other must take over, every
// headset must follow it without a new handshake, and the killed box,
// started again with the same flags, must come back as its standby (it
// has a stored epoch) and hold a copy of its world before it is killed in
// turn. Then the active's cable is pulled for 2 s and put back: exactly
// one server must be active afterwards (the other stepped down and
// follows it) and every headset on it. Last the active's pair datagrams
// alone are dropped for a while: its state still reaches the group, and
// the standby, hearing it there, must not take over.
//
// What the headsets saw is asserted as behaviour: none left behind, none
// started a new handshake, every object held before a takeover still held
// in the new server's first tick, no input the old server showed applied
// missing from the new one's first state. The gaps (the last state of the
// old server to the first of the new, per headset and takeover) and the
// world difference are reported, never compared with a bound: the host's
// timer lateness and CPU steal are part of them.
const (
	failPrefix   = "failover"
	failHeadsets = 8
	failKills    = 10
	failCut      = 2 * time.Second
	// failPairSilent: the pair link alone silent, the group not.
	failPairSilent = 300 * time.Millisecond
	failTimeout    = 3 * time.Minute
	failHung       = 15 * time.Second // one step: a takeover, a box's start, the headsets' move
	pairPort       = 7781
)

// failBox is one box of the pair: its namespace, its flags, the port of
// the wired switch its cable is plugged into, and the process running it
// now.
type failBox struct {
	name, ns, port string
	args           []string
	proc           *labProc
}

var (
	takingOverRE = regexp.MustCompile(`msg="taking over" epoch=(\d+)`)
	// stampedRE reads the time of the n-th takeover line and of the
	// "active" line after it.
	stampedRE = regexp.MustCompile(`time=(\S+) level=\S+ msg=("taking over"|active) epoch=(\d+)`)
)

// takeoverTimes returns when the box logged it was taking over under
// epoch and when it logged it was active under it (log times, ms).
func (b *failBox) takeoverTimes(epoch uint32) (taking, active time.Time) {
	for _, m := range stampedRE.FindAllStringSubmatch(b.proc.out.String(), -1) {
		if m[3] != strconv.FormatUint(uint64(epoch), 10) {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			continue
		}
		if m[2] == "active" {
			active = at
		} else {
			taking = at
		}
	}
	return taking, active
}

// start runs the box's server again, with the same flags.
func (b *failBox) start(t *testing.T, bin string) {
	b.proc = startProc(t, b.name, b.ns, bin+"/arcade-server", b.args...)
}

// count returns how many lines of the box's current run contain s.
func (b *failBox) count(s string) int { return strings.Count(b.proc.out.String(), s) }

// active reports whether the box's server runs and is active: its last
// role line is "active", not a step down or back, nor "standby:
// following".
func (b *failBox) active() bool {
	select {
	case <-b.proc.done:
		return false
	default:
	}
	out := b.proc.out.String()
	return strings.LastIndex(out, "msg=active ") > max(strings.LastIndex(out, `msg="standby: following"`),
		strings.LastIndex(out, `msg="stepping down`), strings.LastIndex(out, `msg="stepping back`))
}

// tookOver waits for the box's n-th takeover in its current run and
// returns its epoch.
func (b *failBox) tookOver(ctx context.Context, n int) (uint32, error) {
	if err := b.waitLog(ctx, `msg="taking over"`, n); err != nil {
		return 0, err
	}
	m := takingOverRE.FindAllStringSubmatch(b.proc.out.String(), -1)
	if len(m) < n {
		return 0, fmt.Errorf("%s: cannot read the epoch of its takeover", b.name)
	}
	e, err := strconv.ParseUint(m[n-1][1], 10, 32)
	return uint32(e), err
}

// waitLog waits for the n-th line of the box's log containing s.
func (b *failBox) waitLog(ctx context.Context, s string, n int) error {
	wctx, cancel := context.WithTimeout(ctx, failHung)
	defer cancel()
	if err := b.proc.out.WaitN(wctx, s, n); err != nil {
		return fmt.Errorf("%s: %v", b.name, err)
	}
	return nil
}

// failRuns is every server run of the test, for the epochs they took.
type failRuns []*labProc

// epochs returns every epoch a run took over under, ascending.
func (r failRuns) epochs() []uint32 {
	var es []uint32
	for _, p := range r {
		for _, m := range takingOverRE.FindAllStringSubmatch(p.out.String(), -1) {
			if e, err := strconv.ParseUint(m[1], 10, 32); err == nil {
				es = append(es, uint32(e))
			}
		}
	}
	slices.Sort(es)
	return es
}

// tookOverRE reads a "took over" line: the steps of a takeover, from the
// active's last pair datagram to the new server's first tick, on the new
// server's clock.
var tookOverRE = regexp.MustCompile(`msg="took over" epoch=(\d+) (.*)`)

// takeoverSteps are the steps "took over" logs, in their order.
var takeoverSteps = []string{"silence", "store", "start", "switch", "first_tick", "path"}

// paths returns, per epoch taken over, its takeover's steps (ms) and
// whether its epoch was stored ahead.
func (r failRuns) paths() map[uint32]map[string]float64 {
	steps := map[uint32]map[string]float64{}
	for _, p := range r {
		for _, m := range tookOverRE.FindAllStringSubmatch(p.out.String(), -1) {
			e, err := strconv.ParseUint(m[1], 10, 32)
			if err != nil {
				continue
			}
			st := map[string]float64{}
			for _, kv := range strings.Fields(m[2]) {
				k, v, _ := strings.Cut(kv, "=")
				if d, err := time.ParseDuration(v); err == nil {
					st[k] = float64(d) / 1e6
				} else if v == "true" {
					st[k] = 1
				}
			}
			steps[uint32(e)] = st
		}
	}
	return steps
}

// takingOverGroupRE reads what a "taking over" line says of the group:
// the active's state datagrams heard there while the box followed, and
// how often the pair link's silence did not end in a takeover.
var takingOverGroupRE = regexp.MustCompile(`msg="taking over" epoch=(\d+) .*group_heard=(\d+) held_off=(\d+)`)

// groupHeard returns, per epoch taken over, the group datagrams the box
// heard while it followed.
func (r failRuns) groupHeard() map[uint32]int {
	heard := map[uint32]int{}
	for _, p := range r {
		for _, m := range takingOverGroupRE.FindAllStringSubmatch(p.out.String(), -1) {
			e, err1 := strconv.ParseUint(m[1], 10, 32)
			n, err2 := strconv.Atoi(m[2])
			if err1 == nil && err2 == nil {
				heard[uint32(e)] = n
			}
		}
	}
	return heard
}

// newest returns the highest epoch any run took over under.
func (r failRuns) newest() uint32 {
	es := r.epochs()
	if len(es) == 0 {
		return 0
	}
	return es[len(es)-1]
}

// failBot is one headset's arcade-bot and the interval lines asked of it.
type failBot struct {
	proc  *labProc
	lines int
}

// intervalLine is what the test reads of an arcade-bot interval line.
type intervalLine struct {
	Interval  bool     `json:"interval"`
	Connected int      `json:"connected"`
	Epochs    []uint32 `json:"epochs"`
	Holding   int      `json:"holding"`
	Samples   int      `json:"input_to_state_samples"`
}

// now asks the bot for an interval line (SIGUSR1) and returns it.
func (b *failBot) now(ctx context.Context) (intervalLine, error) {
	var il intervalLine
	if err := b.proc.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return il, err
	}
	b.lines++
	wctx, cancel := context.WithTimeout(ctx, failHung)
	defer cancel()
	if err := b.proc.out.WaitN(wctx, `{"interval":true`, b.lines); err != nil {
		return il, fmt.Errorf("%s: %v", b.proc.name, err)
	}
	n := 0
	for line := range strings.Lines(b.proc.out.String()) {
		if strings.HasPrefix(line, `{"interval":true`) {
			if n++; n == b.lines {
				return il, json.Unmarshal([]byte(line), &il)
			}
		}
	}
	return il, fmt.Errorf("%s: interval line %d not found", b.proc.name, b.lines)
}

// botsAt waits until every bot is connected, holds its object (holding),
// and follows the newest epoch (epoch, when not nil) with its inputs shown
// applied in the state since it did: the server of that epoch has its
// state and its inputs. It returns what the last poll saw of the bots that
// never got there.
func botsAt(ctx context.Context, bots []*failBot, newest func() uint32, holding bool) error {
	deadline := time.Now().Add(failHung)
	on := make([]bool, len(bots)) // seen at epoch by an earlier line
	done := make([]bool, len(bots))
	for {
		var behind []string
		for i, b := range bots {
			if done[i] {
				continue
			}
			il, err := b.now(ctx)
			if err != nil {
				return err
			}
			epoch := uint32(0)
			if newest != nil {
				epoch = newest()
			}
			switch {
			case il.Connected != 1:
				behind = append(behind, fmt.Sprintf("headset %d not connected", i+1))
			case holding && il.Holding != 1:
				behind = append(behind, fmt.Sprintf("headset %d not holding its object", i+1))
			case epoch > 0 && !slices.Equal(il.Epochs, []uint32{epoch}):
				behind = append(behind, fmt.Sprintf("headset %d at epochs %v", i+1, il.Epochs))
				on[i] = false
			case epoch > 0 && (!on[i] || il.Samples == 0):
				behind = append(behind, fmt.Sprintf("headset %d at epoch %d, no input of it shown applied since", i+1, epoch))
				on[i] = true
			default:
				done[i] = true
			}
		}
		if len(behind) == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("after %v: %s", failHung, strings.Join(behind, "; "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// botReportTail is what the test reads of arcade-bot's final report.
type botReportTail struct {
	ClientsConnected int `json:"clients_connected"`
	Clients          []struct {
		Name      string `json:"name"`
		Connected bool   `json:"connected"`
		Error     string `json:"error"`
		Epoch     uint32 `json:"epoch"`
		Restarts  uint64 `json:"restarts"`
		Takeovers []struct {
			From             uint32  `json:"from_epoch"`
			To               uint32  `json:"to_epoch"`
			GapMs            float64 `json:"gap_ms"`
			OldAcked         uint32  `json:"old_acked"`
			NewAcked         uint32  `json:"new_acked"`
			AckedLost        uint32  `json:"acked_lost"`
			WorldDiffM       float64 `json:"world_diff_m"`
			WorldDiffUnheldM float64 `json:"world_diff_unheld_m"`
			HeldBefore       bool    `json:"held_before"`
			HeldAfter        bool    `json:"held_after"`
		} `json:"takeovers"`
		Grab *struct {
			Held     bool   `json:"held"`
			Released uint64 `json:"released"`
		} `json:"grab"`
	} `json:"clients"`
}

func TestFailoverLab(t *testing.T) { failoverLab(t, "") }

// TestFailoverLabSealed is the lab with a venue passphrase: the copy
// carries the sealed sessions' keys (PROTOCOL §18.6) and the headsets go on
// opening the new active's datagrams without a new handshake.
func TestFailoverLabSealed(t *testing.T) { failoverLab(t, "failover lab venue passphrase") }

// failoverLab runs the failover lab, sealed under passphrase unless it is
// empty.
func failoverLab(tt *testing.T, passphrase string) {
	t := recorded(tt)
	if err := lab.Available(); err != nil {
		t.Skipf("failover lab test skipped: %v", err)
	}
	bin := buildBinaries(t.T)
	ctx, cancel := context.WithTimeout(context.Background(), failTimeout)
	defer cancel()
	began := time.Now()
	l, err := lab.Build(ctx, lab.Config{Prefix: failPrefix, Headsets: failHeadsets, Standby: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // registered first: runs last
		if err := l.Close(); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	proc, err := relay.Spawn(selfCommand(t.T, l.AP, "relay", "--profile", "wifi-good", "--seed", "16"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		s, err := proc.Stop()
		if err != nil {
			t.Errorf("relay: %v", err)
		}
		t.Logf("relay (wifi-good): %d frames to the headsets (%d lost), %d to the servers (%d lost)",
			s.ToHeadsets.Forwarded, s.ToHeadsets.Dropped, s.ToServer.Forwarded, s.ToServer.Dropped)
	}()

	dir := t.TempDir()
	key := filepath.Join(dir, "pair.key")
	if err := os.WriteFile(key, []byte("failover-lab-pair-key-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	passFile := filepath.Join(dir, "passphrase")
	if err := os.WriteFile(passFile, []byte(passphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	boxArgs := func(self, peer netip.Addr, role, epochFile string) []string {
		a := []string{"--listen", netip.AddrPortFrom(self, gamePort).String(), "--iface", lab.SrvIface,
			"--multicast", mcastGroup, "--http", "off", "--discovery=false", "--beacon-port", "0",
			role, netip.AddrPortFrom(peer, pairPort).String(), "--pair-key-file", key, "--epoch-file", filepath.Join(dir, epochFile)}
		if passphrase != "" {
			a = append(a, "--passphrase-file", passFile)
		}
		return a
	}
	boxes := [2]*failBox{
		{name: "primary", ns: l.Srv, port: lab.PrimaryPort, args: boxArgs(lab.SrvAddr, lab.StandbyAddr, "--pair", "epoch-primary")},
		{name: "standby", ns: l.Standby, port: lab.StandbyPort, args: boxArgs(lab.StandbyAddr, lab.SrvAddr, "--standby", "epoch-standby")},
	}
	var runs failRuns
	for _, b := range boxes {
		b.start(t.T, bin)
		runs = append(runs, b.proc)
	}
	// The primary, alone, listens and then takes the room; the standby
	// follows it.
	if _, err := boxes[0].tookOver(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := boxes[1].waitLog(ctx, `msg="standby: holding the active's copy"`, 1); err != nil {
		t.Fatal(err)
	}

	// The headsets: one bot each, streaming until told to stop.
	var bots []*failBot
	for i, h := range l.Headsets {
		p := startProc(t.T, fmt.Sprintf("headset %d", i+1), h.NS, bin+"/arcade-bot", "--clients", "1", "--iface", h.Iface,
			"--rate", "90", "--duration", "10m", "--server", netip.AddrPortFrom(lab.SrvAddr, gamePort).String(),
			"--grab", "--grab-first", strconv.Itoa(i), "--interval-reports", "--json", "--passphrase", passphrase)
		bots = append(bots, &failBot{proc: p})
	}
	if err := boxes[0].waitLog(ctx, `msg="headset joined"`, failHeadsets); err != nil {
		t.Fatal(err)
	}
	if err := botsAt(ctx, bots, runs.newest, true); err != nil {
		t.Fatalf("before the first kill: %v", err)
	}
	t.Logf("lab up, %d headsets holding their objects under epoch %d, in %v", failHeadsets, runs.newest(), time.Since(began).Round(time.Millisecond))

	// Ten kills of the active box. Before each, one box is active, the
	// other holds a copy of its world, and every headset follows it.
	// activeOne waits until exactly one box is active (a box told of a
	// higher epoch takes a moment to stop) and returns it and the other.
	activeOne := func(when string) (*failBox, *failBox) {
		deadline := time.Now().Add(failHung)
		for {
			switch a, b := boxes[0].active(), boxes[1].active(); {
			case a && !b:
				return boxes[0], boxes[1]
			case b && !a:
				return boxes[1], boxes[0]
			case time.Now().After(deadline):
				t.Fatalf("%s: %d servers active for %v, want exactly one", when, btoi(a)+btoi(b), failHung)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	killEpochs := map[uint32]bool{}
	var toTaking, toActive []float64 // kill → "taking over" → "active", ms (log times)
	for k := range failKills {
		victim, other := activeOne(fmt.Sprintf("before kill %d", k+1))
		n, actives := other.count(`msg="taking over"`), other.count("msg=active ")
		killedAt := time.Now()
		victim.proc.cmd.Process.Kill()
		victim.proc.wait(procStop)
		e, err := other.tookOver(ctx, n+1)
		if err != nil {
			t.Fatalf("kill %d of the %s: %v", k+1, victim.name, err)
		}
		killEpochs[e] = true
		if err := other.waitLog(ctx, "msg=active ", actives+1); err == nil {
			taking, active := other.takeoverTimes(e)
			toTaking = append(toTaking, float64(taking.Sub(killedAt))/1e6)
			toActive = append(toActive, float64(active.Sub(taking))/1e6)
		}
		if err := botsAt(ctx, bots, runs.newest, false); err != nil {
			t.Fatalf("kill %d: a headset left behind: %v", k+1, err)
		}
		victim.start(t.T, bin)
		runs = append(runs, victim.proc)
		if err := victim.waitLog(ctx, `msg="standby: holding the active's copy"`, 1); err != nil {
			t.Fatalf("kill %d: the %s did not come back as the standby: %v", k+1, victim.name, err)
		}
	}
	t.Logf("%d kills done in %v", failKills, time.Since(began).Round(time.Millisecond))

	// The active's cable out for 2 s, then back.
	cut, other := activeOne("before the cable cut")
	link := func(state string) {
		if out, err := exec.CommandContext(ctx, "ip", "-n", l.AP, "link", "set", cut.port, state).CombinedOutput(); err != nil {
			t.Fatalf("ip link set %s %s: %v %s", cut.port, state, err, out)
		}
	}
	stepsBefore := cut.count(`msg="stepping down`)
	followsBefore := cut.count(`msg="standby: following"`)
	n := other.count(`msg="taking over"`)
	cutAt := time.Now()
	link("down")
	cutEpoch, err := other.tookOver(ctx, n+1)
	if err != nil {
		link("up")
		t.Fatalf("the %s's cable out: %v", cut.name, err)
	}
	if err := botsAt(ctx, bots, runs.newest, false); err != nil {
		link("up")
		t.Fatalf("the %s's cable out: a headset left behind: %v", cut.name, err)
	}
	sleepUntil(ctx, cutAt.Add(failCut))
	link("up")
	if err := cut.waitLog(ctx, `msg="stepping down`, stepsBefore+1); err != nil {
		t.Fatalf("cable back: the %s did not step down: %v", cut.name, err)
	}
	if err := cut.waitLog(ctx, `msg="standby: following"`, followsBefore+1); err != nil {
		t.Fatalf("cable back: the %s does not follow: %v", cut.name, err)
	}
	// Long enough for a second takeover to show, if either box made one.
	time.Sleep(500 * time.Millisecond)
	act, _ := activeOne("cable back")
	if err := botsAt(ctx, bots, runs.newest, false); err != nil {
		t.Fatalf("cable back: a headset not on the active: %v", err)
	}
	epoch := runs.newest()
	t.Logf("cable of the %s out for %v and back: the %s active under epoch %d (the cut's takeover: %d), every headset on it",
		cut.name, failCut, act.name, epoch, cutEpoch)

	// The pair link alone silent: the active's pair datagrams dropped on
	// their way out for failPairSilent (ten takeover silences) while its
	// state still reaches the group. The standby hears it there and does
	// not take over (§18.3): no takeover, no step down, the headsets
	// where they were.
	pact, follower := activeOne("before the pair link's silence")
	taking := follower.count(`msg="taking over"`)
	heldBefore := follower.count(`msg="standby: the pair link is silent but the active's state is heard on the group`)
	nftRun := func(script string) {
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", pact.ns, "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("nft in %s: %v %s", pact.ns, err, out)
		}
	}
	nftRun(fmt.Sprintf("table inet arcadelab {\n chain out {\n  type filter hook output priority 0;\n  udp dport %d drop\n }\n}\n", pairPort))
	time.Sleep(failPairSilent)
	nftRun("delete table inet arcadelab\n")
	time.Sleep(200 * time.Millisecond) // copies again
	falseTakeover := follower.count(`msg="taking over"`) != taking
	if falseTakeover {
		t.Errorf("the pair link silent for %v, the active heard on the group: the %s took over anyway", failPairSilent, follower.name)
	}
	if a, _ := activeOne("after the pair link's silence"); a != pact {
		t.Errorf("after the pair link's silence the %s is active, want the %s", a.name, pact.name)
	}
	if err := botsAt(ctx, bots, runs.newest, false); err != nil {
		t.Fatalf("after the pair link's silence: a headset not on the active: %v", err)
	}
	if !falseTakeover {
		t.Logf("the active's pair datagrams dropped for %v, its state heard on the group: no takeover, the %s held off %d time(s), every headset on the %s",
			failPairSilent, follower.name, follower.count(`msg="standby: the pair link is silent but the active's state is heard on the group`)-heldBefore, pact.name)
	}

	// The headsets' own account.
	var gaps, cutGaps, otherGaps, network []float64
	paths := runs.paths()
	var diff, diffUnheld float64
	held, stillHeld, lostAcked := 0, 0, 0
	for i, b := range bots {
		b.proc.cmd.Process.Signal(syscall.SIGTERM)
		if err := b.proc.wait(procStop); err != nil {
			t.Fatalf("headset %d: %v", i+1, err)
		}
		var rep botReportTail
		sc := bufio.NewScanner(strings.NewReader(b.proc.out.String()))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "{") && !strings.HasPrefix(line, `{"interval":true`) {
				if err := json.Unmarshal([]byte(line), &rep); err != nil {
					t.Fatalf("headset %d: report: %v", i+1, err)
				}
			}
		}
		if rep.ClientsConnected != 1 || len(rep.Clients) != 1 {
			t.Fatalf("headset %d: no report of its one bot", i+1)
		}
		c := rep.Clients[0]
		switch {
		case !c.Connected || c.Error != "":
			t.Errorf("headset %d: connected %v, error %q", i+1, c.Connected, c.Error)
		case c.Restarts != 0:
			t.Errorf("headset %d: %d new handshakes; a takeover needs none", i+1, c.Restarts)
		case c.Epoch != epoch:
			t.Errorf("headset %d ended at epoch %d, the active's is %d", i+1, c.Epoch, epoch)
		case len(c.Takeovers) < failKills+1:
			t.Errorf("headset %d saw %d epoch changes, want at least %d (%d kills, 1 cut)", i+1, len(c.Takeovers), failKills+1, failKills)
		}
		if c.Grab == nil || !c.Grab.Held {
			t.Errorf("headset %d never held its object", i+1)
		}
		for j, k := range c.Takeovers {
			if k.AckedLost > 0 {
				lostAcked += int(k.AckedLost)
				t.Errorf("headset %d, takeover %d (epoch %d→%d): input %d shown applied by the old server, the new one's first state has %d",
					i+1, j+1, k.From, k.To, k.OldAcked, k.NewAcked)
			}
			if k.HeldBefore {
				held++
				if k.HeldAfter {
					stillHeld++
				} else {
					t.Errorf("headset %d, takeover %d (epoch %d→%d): its object held before, not in the new server's first tick", i+1, j+1, k.From, k.To)
				}
			}
			if j > 0 && k.To <= c.Takeovers[j-1].To {
				t.Errorf("headset %d, takeover %d: epoch %d→%d after a change to %d", i+1, j+1, k.From, k.To, c.Takeovers[j-1].To)
			}
			switch {
			case k.GapMs < 0:
			case killEpochs[k.To]:
				gaps = append(gaps, k.GapMs)
				if st, ok := paths[k.To]; ok {
					network = append(network, k.GapMs-st["path"])
				}
			case k.To == cutEpoch:
				cutGaps = append(cutGaps, k.GapMs)
			default:
				otherGaps = append(otherGaps, k.GapMs)
			}
			diff, diffUnheld = max(diff, k.WorldDiffM), max(diffUnheld, k.WorldDiffUnheldM)
		}
	}
	if held == 0 {
		t.Error("no takeover found a headset holding its object")
	}
	slices.Sort(gaps)
	slices.Sort(cutGaps)
	if len(gaps) > 0 {
		t.Logf("kill -9 takeovers: headset-visible gap p50 %.1f ms, p90 %.1f ms, max %.1f ms over %d (headset, takeover) samples; acknowledged inputs lost %d",
			nearestRank(gaps, 0.5), nearestRank(gaps, 0.9), gaps[len(gaps)-1], len(gaps), lostAcked)
	}
	if len(toTaking) > 0 {
		slices.Sort(toTaking)
		slices.Sort(toActive)
		t.Logf("the servers' side (log times, ms): kill → \"taking over\" p50 %.0f, max %.0f; \"taking over\" → \"active\" p50 %.0f, max %.0f",
			nearestRank(toTaking, 0.5), toTaking[len(toTaking)-1], nearestRank(toActive, 0.5), toActive[len(toActive)-1])
	}
	// The gap decomposed: the new server's steps (its own clock), and
	// what is left of each headset's gap, the network's part (the pair
	// link's delay, the relay's delay and jitter, each way) and the
	// headset's own lateness.
	var line []string
	ahead := 0
	for _, step := range takeoverSteps {
		var v []float64
		for e := range killEpochs {
			if st, ok := paths[e]; ok {
				v = append(v, st[step])
			}
		}
		if len(v) == 0 {
			continue
		}
		slices.Sort(v)
		line = append(line, fmt.Sprintf("%s p50 %.2f max %.2f", step, nearestRank(v, 0.5), v[len(v)-1]))
	}
	for e := range killEpochs {
		if paths[e]["stored_ahead"] == 1 {
			ahead++
		}
	}
	if len(line) > 0 {
		t.Logf("kill -9 takeovers, the new server's steps (ms): %s; epoch stored ahead in %d of %d", strings.Join(line, ", "), ahead, len(killEpochs))
		var slow uint32
		for e := range killEpochs {
			if st, ok := paths[e]; ok && (slow == 0 || st["path"] > paths[slow]["path"]) {
				slow = e
			}
		}
		if st := paths[slow]; slow != 0 {
			t.Logf("the slowest kill -9 takeover, epoch %d (ms): silence %.2f, store %.2f, start %.2f (switch %.2f), first_tick %.2f, path %.2f",
				slow, st["silence"], st["store"], st["start"], st["switch"], st["first_tick"], st["path"])
		}
	}
	if len(network) > 0 {
		slices.Sort(network)
		t.Logf("kill -9 takeovers, the network's and the headset's part (headset gap − the server's path, ms): p50 %.2f, min %.2f, max %.2f",
			nearestRank(network, 0.5), network[0], network[len(network)-1])
	}
	if len(cutGaps) > 0 {
		t.Logf("cable cut takeover: gap p50 %.1f ms, max %.1f ms over %d headsets", nearestRank(cutGaps, 0.5), cutGaps[len(cutGaps)-1], len(cutGaps))
	}
	heard, onGroup := runs.groupHeard(), 0
	for e := range killEpochs {
		if heard[e] > 0 {
			onGroup++
		}
	}
	t.Logf("kill -9 takeovers whose standby heard the active's state on the group while it followed: %d of %d", onGroup, len(killEpochs))
	if extra := len(runs.epochs()) - 2 - failKills; extra > 0 {
		// A standby that heard nothing for the silence while the active
		// lived (a loaded host): safe, and one more switch for the room.
		t.Logf("takeovers beside the test's: %d (a standby that heard no copy for %v while the active lived); the headsets' gaps there: %v ms", extra, 30*time.Millisecond, otherGaps)
	}
	t.Logf("world difference across a takeover (old server's last state to the new one's first tick): max %.3f m, %.3f m for objects held in neither; %d of %d held objects still held",
		diff, diffUnheld, stillHeld, held)
	t.Logf("failover lab: %v in all", time.Since(began).Round(time.Millisecond))
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
