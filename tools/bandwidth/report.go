package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Reference is a published figure to read the cubes rows against.
type Reference struct {
	What string  `json:"what"`
	Kbps float64 `json:"kbps"`
	Note string  `json:"note"`
}

// fiedler are Glenn Fiedler's figures for his 901-cube scene at 60 Hz
// ("Snapshot Compression", gafferongames.com, 2015): payload only, no
// packet headers.
var fiedler = []Reference{
	{"naive (floats)", 17370, "901 cubes × 60 Hz, uncompressed"},
	{"quantized", 4300, "≈80 bits a cube, every cube every tick"},
	{"delta + bit-packing", 256, "below 256 kbps: delta against acked baselines"},
	{"arithmetic coded", 190, "≈190 kbps (Fabian Giesen's entry)"},
}

func writeTable(out io.Writer, rep *Report, o *options) {
	fmt.Fprintf(out, "%d receivers, RTT %v, seed %d; cubes: first %g s (the drop) left out.\n", o.receivers, o.rtt, o.seed, o.settle)
	fmt.Fprintln(out, "kbps: body = bodies only; +arc = with the 22-byte Arcade header per datagram; +ip = also IPv4+UDP (28 bytes).")
	fmt.Fprintln(out, "Mean over the measured ticks; p95 over one-second windows. complete: share of (receiver, tick) with every datagram;")
	fmt.Fprintln(out, "base age: mean ticks from the newest tick all receivers acked to the tick sent (none: share of ticks without one).")
	fmt.Fprintln(out, "delta only (its own receivers decode every part): repair = unicast repairs, kbps +ip, all receivers; stale = the longest")
	fmt.Fprintln(out, "(p99) a receiver showed a record other than the one sent, ms; bad = ticks decoded to anything but the sender's state (must be 0).")
	fmt.Fprintln(out, "delta+budget: held to the --budget payload kbps; held back = entities deferred a tick on average, wait = the longest one waited, ms.")
	fmt.Fprintln(out, "coded: range-coded, avatars on the avatar grid, predicted from a prior tick (coded-fine: on the wire's grid); parity = kbps body of")
	fmt.Fprintln(out, "repair parts (counted in kbps body), sent while a receiver reports > 1 % loss; rebuilt = parts receivers rebuilt from them.")
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scene\tHz\tencoder\tloss\tkbps body\tkbps +arc\tp95 +arc\tkbps +ip\tp95 +ip\tB/tick\tdg/tick\tcomplete\tbase age\tnone\trepair\tstale (p99)\tbad\tparity\trebuilt\theld back\twait\t")
	prev := ""
	for _, r := range rep.Results {
		key := fmt.Sprintf("%s/%d", r.Scene, r.Rate)
		if prev != "" && key != prev {
			if prev == "cubes/60" {
				writeFiedler(tw)
			}
			fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t")
		}
		prev = key
		age := "-"
		if r.NoBaseline < 1 {
			age = fmt.Sprintf("%.1f", r.BaselineAge)
		}
		rep, gap, bad := "", "", ""
		if r.Decoded > 0 {
			rep, gap, bad = fmt.Sprintf("%.0f", r.RepairKbpsWire), fmt.Sprintf("%.0f (%.0f)", r.WorstGapMs, r.StaleP99Ms), fmt.Sprint(r.Mismatches)
		}
		par, rebuilt := "", ""
		if r.ParityKbps > 0 || r.Recovered > 0 {
			par, rebuilt = fmt.Sprintf("%.0f", r.ParityKbps), fmt.Sprint(r.Recovered)
		}
		held, wait := "", ""
		if r.BudgetKbps > 0 {
			held, wait = fmt.Sprintf("%.1f", r.DeferredPerTick), fmt.Sprintf("%.0f", r.LongestWaitMs)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.0f%%\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.2f\t%.1f%%\t%s\t%.0f%%\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			r.Scene, r.Rate, r.Encoder, 100*r.Loss, r.KbpsBody, r.KbpsArcade, r.P95KbpsArcade, r.KbpsWire, r.P95KbpsWire,
			r.BodyBytesPerTick, r.DatagramsPerTick, 100*r.CompleteShare, age, 100*r.NoBaseline, rep, gap, bad, par, rebuilt, held, wait)
	}
	if prev == "cubes/60" {
		writeFiedler(tw)
	}
	tw.Flush()
}

func writeFiedler(tw io.Writer) {
	for _, f := range fiedler {
		fmt.Fprintf(tw, "cubes\t60\tFiedler: %s\t\t%.0f\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n", f.What, f.Kbps)
	}
}
