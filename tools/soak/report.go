package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Bounds of the checks.
const (
	// minDropShare: of the datagrams the server read during the attack, at
	// least this share must be counted as drops. The rest are the bots'
	// and headsets' own traffic and the connect requests answered with a
	// challenge.
	minDropShare = 0.9
	// minOwnApplied: of the inputs the own headset sent while the attack
	// ran, at least this share must have been reflected back to it before
	// the attack ended. The attacker uses its token and address; the
	// margin covers a headset thread starved of CPU on a loaded box, not
	// a server that sheds the victim's inputs.
	minOwnApplied = 0.5
)

// check returns every way the run failed, empty if it passed.
func check(r *Report) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if r.Exit.Code != 0 || r.Exit.Timeout {
		add("server exit status %d after SIGTERM (killed after timeout: %v)", r.Exit.Code, r.Exit.Timeout)
	}
	if r.Exit.Panic {
		add("server stderr mentions a panic: %s", r.Exit.Stderr)
	}
	if !r.ServerUp {
		add("server did not answer /api/stats during or after the attack")
	}
	for _, ph := range []struct {
		name string
		*Phase
	}{{"baseline", &r.Baseline}, {"attack", &r.Attack}} {
		if ph.BotsConnected != r.Bots {
			add("%s: %d of %d bots connected %v", ph.name, ph.BotsConnected, r.Bots, ph.BotErrors)
		}
		if !ph.LateJoin {
			add("%s: a fresh headset could not join mid-phase", ph.name)
		}
		if ph.ClientsMid != r.Bots+1 {
			add("%s: the server had %d clients mid-phase, want %d bots + the own headset", ph.name, ph.ClientsMid, r.Bots)
		}
	}
	if !r.Own.Connected {
		add("own headset lost its session: %s", r.Own.Error)
	} else {
		o := &r.Own
		if sent := o.AttackSent; sent == 0 || float64(o.AttackApplied) < minOwnApplied*float64(sent) {
			add("own headset: %d inputs sent during the attack, only %d reflected (want ≥ %.0f%%)", sent, o.AttackApplied, 100*minOwnApplied)
		}
		if !o.CaughtUp {
			add("own headset: input %d sent, only %d applied after the attack stopped", o.InputsSent, o.LastApplied)
		}
	}
	a := &r.Attack
	for c := range numCategories {
		name := c.String()
		if r.Attacker.Sent[name] == 0 {
			add("attack category %s sent nothing", name)
			continue
		}
		for _, reason := range targets[c] {
			if a.Dropped[reason] == 0 {
				add("attack category %s: drop reason %s did not grow", name, reason)
			}
		}
	}
	if float64(a.DroppedSum) < minDropShare*float64(a.RxPackets) {
		add("server counted %d drops for %d datagrams read (want ≥ %.0f%%)", a.DroppedSum, a.RxPackets, 100*minDropShare)
	}
	if a.SnapshotLossPct != 0 {
		add("bots lost %.3f%% of snapshots during the attack", a.SnapshotLossPct)
	}
	return p
}

// printTable writes the human-readable summary.
func printTable(w io.Writer, r *Report) {
	b, a := &r.Baseline, &r.Attack
	fmt.Fprintf(w, "soak: %d bots at %d Hz, %gs baseline then %gs under attack (goal %d datagrams/s, seed %d)\n\n",
		r.Bots, r.BotRateHz, r.DurationS, r.DurationS, r.AttackRateGoal, r.Seed)
	fmt.Fprintf(w, "  %-26s %12s %12s %8s\n", "bots", "baseline", "attack", "ratio")
	fmt.Fprintf(w, "  %-26s %12d %12d\n", "connected", b.BotsConnected, a.BotsConnected)
	fmt.Fprintf(w, "  %-26s %12.3f %12.3f %8.2f\n", "input→state p50 (ms)", b.InputToStateP50, a.InputToStateP50, r.AttackOverBaseline.InputToStateP50)
	fmt.Fprintf(w, "  %-26s %12.3f %12.3f %8.2f\n", "input→state p99 (ms)", b.InputToStateP99, a.InputToStateP99, r.AttackOverBaseline.InputToStateP99)
	fmt.Fprintf(w, "  %-26s %12.3f %12.3f\n", "input→state max (ms)", b.InputToStateMax, a.InputToStateMax)
	fmt.Fprintf(w, "  %-26s %12.3f %12.3f\n", "snapshot loss (%)", b.SnapshotLossPct, a.SnapshotLossPct)
	fmt.Fprintf(w, "  %-26s %12.1f %12.1f\n", "server added p99 (µs)", b.ServerAddedP99US, a.ServerAddedP99US)
	fmt.Fprintf(w, "  %-26s %12.1f %12.1f\n", "tick lateness p99 (µs)", b.TickLatenessP99US, a.TickLatenessP99US)
	fmt.Fprintf(w, "  %-26s %12d %12d\n", "missed ticks", b.MissedTicks, a.MissedTicks)
	fmt.Fprintf(w, "  %-26s %12d %12d\n", "server rx datagrams", b.RxPackets, a.RxPackets)
	fmt.Fprintf(w, "  %-26s %12d %12d\n", "server counted drops", b.DroppedSum, a.DroppedSum)
	fmt.Fprintf(w, "  %-26s %12d %12d\n", "kernel socket drops", b.KernelDrops, a.KernelDrops)
	fmt.Fprintf(w, "  %-26s %12v %12v\n", "late joiner connected", b.LateJoin, a.LateJoin)

	fmt.Fprintf(w, "\n  attacker: %d datagrams (%.0f/s, %.1f MB) from %d sockets on %d addresses; %d would-block, %d replies read (%.4f reply bytes per byte sent)\n",
		r.Attacker.SentTotal, r.Attacker.RatePerS, float64(r.Attacker.SentBytes)/1e6, r.Attacker.Sockets, r.Attacker.SourceAddrs,
		r.Attacker.WouldBlock, r.Attacker.Replies, r.Attacker.Amplify)
	fmt.Fprintf(w, "  %-16s %10s   %s\n", "category", "sent", "targets (Δ during attack)")
	for c := range numCategories {
		var ts []string
		for _, t := range targets[c] {
			ts = append(ts, fmt.Sprintf("%s %d", t, a.Dropped[t]))
		}
		fmt.Fprintf(w, "  %-16s %10d   %s\n", c, r.Attacker.Sent[c.String()], strings.Join(ts, ", "))
	}
	fmt.Fprintf(w, "\n  %-16s %10s %10s\n", "drop reason", "baseline", "attack")
	var reasons []string
	for k := range a.Dropped {
		reasons = append(reasons, k)
	}
	for k := range b.Dropped {
		if _, ok := a.Dropped[k]; !ok {
			reasons = append(reasons, k)
		}
	}
	slices.Sort(reasons)
	for _, k := range reasons {
		fmt.Fprintf(w, "  %-16s %10d %10d\n", k, b.Dropped[k], a.Dropped[k])
	}
	fmt.Fprintf(w, "\n  own headset: connected %v, %d of %d inputs sent during the attack reflected, input %d sent / %d applied at the end, %d poses replayed from the baseline\n",
		r.Own.Connected, r.Own.AttackApplied, r.Own.AttackSent, r.Own.InputsSent, r.Own.LastApplied, r.Own.CapturedPoses)
	fmt.Fprintf(w, "  server: /api/stats during attack %v (%.1f ms), exit %d after SIGTERM, panic in stderr %v\n",
		r.ServerUp, r.StatsMsInAtk, r.Exit.Code, r.Exit.Panic)
	if len(r.Problems) == 0 {
		fmt.Fprintln(w, "\n  PASS")
		return
	}
	fmt.Fprintln(w, "\n  FAIL:")
	for _, p := range r.Problems {
		fmt.Fprintln(w, "   -", p)
	}
}
