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
	// minReflected: of the inputs the bots sent in the attack's measured
	// window (forged state to the group beside the flood), at least this
	// share must be reflected in state they received; the same share of
	// the own headset's inputs, in sealed mode (sealed junk from its own
	// socket), must be applied by the server and reflected back to it.
	minReflected = 0.95
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
	sealed := r.Mode == "sealed"
	if !r.Own.Connected {
		add("own headset lost its session: %s", r.Own.Error)
	} else {
		o := &r.Own
		want := minOwnApplied
		if sealed {
			want = minReflected // no flood shares its socket, only junk the server refuses
		}
		if sent := o.AttackSent; sent == 0 || float64(o.AttackApplied) < want*float64(sent) {
			add("own headset: %d inputs sent during the attack, only %d reflected (want ≥ %.0f%%)", sent, o.AttackApplied, 100*want)
		}
		if !o.CaughtUp {
			add("own headset: input %d sent, only %d applied after the attack stopped", o.InputsSent, o.LastApplied)
		}
	}
	a := &r.Attack
	checkForged(r, add)
	if sealed {
		checkSealed(r, add)
	} else {
		checkFlood(r, add)
		if r.Pin != nil {
			checkPin(r.Pin, add)
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

// checkFlood checks the open flood: every category raised its drop
// reasons.
func checkFlood(r *Report, add func(string, ...any)) {
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
}

// checkForged checks the forged state sent to the multicast group: it
// reached every bot, every bot refused it or recovered from it, and the
// bots' inputs kept being reflected. Open: each bot's session dropped
// some as implausible (stamped far ahead, or a tick not of its time) and
// recovered from some (stamped a little ahead, taken until the next real
// state), and refused no more real state as old than a forgery each.
// Sealed: each bot refused the insider's sealed forgeries as not signed
// by the server (bad_signature) and the clear ones (unsealed), and no
// forged record reached a bot.
func checkForged(r *Report, add func(string, ...any)) {
	f, a := &r.Forged, &r.Attack
	if f.RateGoal == 0 {
		return // none asked for, or no insider to send them (checkSealed)
	}
	for k := range numForgeKinds {
		if f.Sent[k.String()] == 0 {
			add("forged state %s: none sent", k)
		}
	}
	if a.InputsMeasured == 0 || float64(a.InputsReflected) < minReflected*float64(a.InputsMeasured) {
		add("bots: %d of %d inputs sent during the attack reflected (want ≥ %.0f%%)", a.InputsReflected, a.InputsMeasured, 100*minReflected)
	}
	// Real state refused: as of an old tick, or as a copy of an update
	// (an update whose server time is below the newest taken).
	var baseRefused uint64
	for _, b := range r.Baseline.PerBot {
		baseRefused = max(baseRefused, b.OldTick+b.Duplicate)
	}
	for _, b := range a.PerBot {
		if b.ServerSeqSpan == 0 || float64(b.ServerInputs) < minReflected*float64(b.ServerSeqSpan) {
			add("%s: the server applied %d of its inputs over %d input seqs during the attack (want ≥ %.0f%%)", b.Name, b.ServerInputs, b.ServerSeqSpan, 100*minReflected)
		}
		if r.Mode == "sealed" {
			if b.BadSignature == 0 || b.Unsealed == 0 {
				add("%s: %d forgeries refused as bad_signature, %d as unsealed: the insider's forgeries did not reach it", b.Name, b.BadSignature, b.Unsealed)
			}
			continue
		}
		if b.Implausible == 0 || b.Recoveries == 0 {
			add("%s: %d forgeries implausible, %d recoveries: the forgeries did not reach it", b.Name, b.Implausible, b.Recoveries)
		}
		if refused := b.OldTick + b.Duplicate; refused > baseRefused+f.SentTotal {
			add("%s: %d state datagrams refused as old or duplicate (baseline at most %d) for %d forgeries", b.Name, refused, baseRefused, f.SentTotal)
		}
	}
	if r.Mode == "sealed" && a.ReportsBeyond != 0 {
		add("bots: %d forged player records taken on a sealed group", a.ReportsBeyond)
	}
}

// checkSealed checks the sealed junk from the victim's own socket: the
// server refused every datagram that reached it as bad_seal, and applied
// the victim's own inputs all the same.
func checkSealed(r *Report, add func(string, ...any)) {
	switch {
	case r.Insider == nil:
		add("insider: none ran")
	case !r.Insider.Joined:
		add("insider: did not join sealed: %s", r.Insider.Error)
	}
	j, a, o := r.Junk, &r.Attack, &r.Own
	if j == nil || j.RateGoal == 0 {
		return
	}
	if j.Sent == 0 {
		add("sealed junk: none sent")
		return
	}
	if got := a.Dropped["bad_seal"]; got+a.KernelDrops < j.Sent {
		add("sealed junk: %d sent, the server counted %d bad_seal (and the kernel dropped %d)", j.Sent, got, a.KernelDrops)
	}
	if o.ServerSeqSpan == 0 || o.AppliedShare < minReflected {
		add("own headset: the server applied %d of its inputs over %d input seqs during the junk (want ≥ %.0f%%)", o.ServerInputs, o.ServerSeqSpan, 100*minReflected)
	}
}

// checkPin checks the fragment pin: every session opened and stayed,
// their payloads reached the reliable layer as valid, the server's
// resident memory grew at most pinGrowthMax, and the own headset kept
// being reflected.
func checkPin(p *PinReport, add func(string, ...any)) {
	for _, e := range p.Errors {
		add("fragment pin: %s", e)
	}
	if p.Opened != p.Sessions {
		add("fragment pin: %d of %d sessions opened", p.Opened, p.Sessions)
	}
	if p.ClientsDuring != p.Opened+1 {
		add("fragment pin: the server had %d clients, want %d sessions + the own headset", p.ClientsDuring, p.Opened)
	}
	if p.PayloadBytes == 0 || 2*p.ServerBytesIn < p.PayloadBytes {
		add("fragment pin: %d payload bytes sent, the sessions' reliable channels took %d", p.PayloadBytes, p.ServerBytesIn)
	}
	if p.BadMessage != 0 {
		add("fragment pin: the server refused %d payloads as bad_message", p.BadMessage)
	}
	if g := p.RSSAfter - p.RSSBefore; g > pinGrowthMax {
		add("fragment pin: server resident memory grew %.1f MiB (want ≤ %d MiB)", float64(g)/(1<<20), pinGrowthMax>>20)
	}
	if !p.OwnAppliedGrew {
		add("fragment pin: the own headset's inputs were not reflected meanwhile")
	}
}

// printTable writes the human-readable summary.
func printTable(w io.Writer, r *Report) {
	b, a := &r.Baseline, &r.Attack
	if r.Mode == "sealed" {
		junk := 0
		if r.Junk != nil {
			junk = r.Junk.RateGoal
		}
		fmt.Fprintf(w, "soak (sealed): %d bots at %d Hz, %gs baseline then %gs under attack (%d sealed junk datagrams/s, %d forged group datagrams/s, seed %d)\n\n",
			r.Bots, r.BotRateHz, r.DurationS, r.DurationS, junk, r.Forged.RateGoal, r.Seed)
	} else {
		fmt.Fprintf(w, "soak: %d bots at %d Hz, %gs baseline then %gs under attack (goal %d datagrams/s, %d forged state datagrams/s, seed %d)\n\n",
			r.Bots, r.BotRateHz, r.DurationS, r.DurationS, r.AttackRateGoal, r.Forged.RateGoal, r.Seed)
	}
	fmt.Fprintf(w, "  %-26s %12s %12s %8s\n", "bots", "baseline", "attack", "ratio")
	fmt.Fprintf(w, "  %-26s %12d %12d\n", "connected", b.BotsConnected, a.BotsConnected)
	fmt.Fprintf(w, "  %-26s %12.3f %12.3f %8.2f\n", "input→state p50 (ms)", b.InputToStateP50, a.InputToStateP50, r.AttackOverBaseline.InputToStateP50)
	fmt.Fprintf(w, "  %-26s %12.3f %12.3f %8.2f\n", "input→state p99 (ms)", b.InputToStateP99, a.InputToStateP99, r.AttackOverBaseline.InputToStateP99)
	fmt.Fprintf(w, "  %-26s %12.3f %12.3f\n", "input→state max (ms)", b.InputToStateMax, a.InputToStateMax)
	fmt.Fprintf(w, "  %-26s %12.3f %12.3f\n", "snapshot loss (%)", b.SnapshotLossPct, a.SnapshotLossPct)
	fmt.Fprintf(w, "  %-26s %12s %12s\n", "inputs reflected", fmt.Sprintf("%d/%d", b.InputsReflected, b.InputsMeasured), fmt.Sprintf("%d/%d", a.InputsReflected, a.InputsMeasured))
	fmt.Fprintf(w, "  %-26s %12.3f %12.3f\n", "bots drained (s)", b.BotDrainS, a.BotDrainS)
	fmt.Fprintf(w, "  %-26s %12s %12s\n", "inputs applied (server)", fmt.Sprintf("%d/%d", b.BotsServerInputs, b.BotsServerSeqSpan), fmt.Sprintf("%d/%d", a.BotsServerInputs, a.BotsServerSeqSpan))
	fmt.Fprintf(w, "  %-26s %12d %12d\n", "state recoveries", b.StateRecoveries, a.StateRecoveries)
	fmt.Fprintf(w, "  %-26s %12d %12d\n", "forged records taken", b.ReportsBeyond, a.ReportsBeyond)
	for _, k := range []string{"implausible", "old-tick", "duplicate", "bad-signature", "unsealed"} {
		fmt.Fprintf(w, "  %-26s %12d %12d\n", "bots dropped "+k, b.BotDropped[k], a.BotDropped[k])
	}
	fmt.Fprintf(w, "  %-26s %12.1f %12.1f\n", "server added p99 (µs)", b.ServerAddedP99US, a.ServerAddedP99US)
	fmt.Fprintf(w, "  %-26s %12.1f %12.1f\n", "tick lateness p99 (µs)", b.TickLatenessP99US, a.TickLatenessP99US)
	fmt.Fprintf(w, "  %-26s %12d %12d\n", "missed ticks", b.MissedTicks, a.MissedTicks)
	fmt.Fprintf(w, "  %-26s %12d %12d\n", "server rx datagrams", b.RxPackets, a.RxPackets)
	fmt.Fprintf(w, "  %-26s %12d %12d\n", "server counted drops", b.DroppedSum, a.DroppedSum)
	fmt.Fprintf(w, "  %-26s %12d %12d\n", "kernel socket drops", b.KernelDrops, a.KernelDrops)
	fmt.Fprintf(w, "  %-26s %12v %12v\n", "late joiner connected", b.LateJoin, a.LateJoin)

	if f := &r.Forged; f.RateGoal > 0 {
		var ks []string
		for k := range numForgeKinds {
			ks = append(ks, fmt.Sprintf("%s %d", k, f.Sent[k.String()]))
		}
		fmt.Fprintf(w, "\n  forged state to %s: %d in %.1f s (%s)", f.Group, f.SentTotal, f.DurationS, strings.Join(ks, ", "))
		if f.Insider {
			fmt.Fprintf(w, "; %d sealed with the group key and a signature not the server's, %d in clear", f.SentSealed, f.SentClear)
		}
		fmt.Fprintln(w)
		if len(a.PerBot) > 0 {
			fmt.Fprintf(w, "  %-12s %11s %10s %13s %9s %9s %10s %7s %9s\n", "bot (attack)", "implausible", "recovered", "bad_signature", "unsealed", "old_tick", "duplicate", "forged", "applied")
			for _, c := range a.PerBot {
				fmt.Fprintf(w, "  %-12s %11d %10d %13d %9d %9d %10d %7d %9s\n", c.Name, c.Implausible, c.Recoveries, c.BadSignature, c.Unsealed, c.OldTick, c.Duplicate, c.Beyond,
					fmt.Sprintf("%d/%d", c.ServerInputs, c.ServerSeqSpan))
			}
		}
	}
	if in := r.Insider; in != nil {
		fmt.Fprintf(w, "  insider: joined sealed, proved the passphrase and left %v (%.1f ms) %s\n", in.Joined, in.Ms, in.Error)
	}
	if j := r.Junk; j != nil && j.RateGoal > 0 {
		fmt.Fprintf(w, "  sealed junk from the own headset's socket: %d (%.0f/s, %.1f MB, %d send errors); server bad_seal %d, kernel drops %d\n",
			j.Sent, j.RatePerS, float64(j.SentBytes)/1e6, j.SendErrors, a.Dropped["bad_seal"], a.KernelDrops)
	}
	if p := r.Pin; p != nil {
		fmt.Fprintf(w, "\n  fragment pin: %d of %d sessions (server had %d clients), %d rounds, %d datagrams, %d fragments, %.1f MB payload (server took %.1f MB), bad_message %d, %.1f s\n",
			p.Opened, p.Sessions, p.ClientsDuring, p.Rounds, p.Datagrams, p.Fragments, float64(p.PayloadBytes)/1e6, float64(p.ServerBytesIn)/1e6, p.BadMessage, p.DurationS)
		fmt.Fprintf(w, "  server memory (MiB)      before    pinned    left    growth (bound %d MiB on RSS)\n", pinGrowthMax>>20)
		fmt.Fprintf(w, "  %-22s %9.1f %9.1f %7.1f %9.1f\n", "resident", mibs(p.RSSBefore), mibs(p.RSSAfter), mibs(p.RSSClosed), p.RSSGrowthMiB)
		fmt.Fprintf(w, "  %-22s %9.1f %9.1f %7.1f %9.1f\n", "heap in use", mibs(p.HeapBefore), mibs(p.HeapAfter), mibs(p.HeapClosed), p.HeapGrowthMiB)
		fmt.Fprintf(w, "  own headset reflected during the pin: %v\n", p.OwnAppliedGrew)
	}
	if r.Mode != "sealed" {
		printFlood(w, r)
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
	fmt.Fprintf(w, "  own headset on the server during the attack: %d inputs applied over %d input seqs (%.1f%%)\n",
		r.Own.ServerInputs, r.Own.ServerSeqSpan, 100*r.Own.AppliedShare)
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

func mibs(b int64) float64 { return float64(b) / (1 << 20) }

// printFlood writes what the open flood sent, by category.
func printFlood(w io.Writer, r *Report) {
	a := &r.Attack
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
}
