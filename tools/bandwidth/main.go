package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bandwidth:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	scenes    []string
	rates     []int
	encoders  []string
	losses    []float64
	seconds   float64
	settle    float64
	receivers int
	rtt       time.Duration
	budget    int
	seed      uint64
	json      string
}

func parseOptions(args []string) (*options, error) {
	fs := flag.NewFlagSet("bandwidth", flag.ContinueOnError)
	scenes := fs.String("scene", "cubes,players,arcade", "scenes to measure: cubes, players, arcade (comma-separated)")
	rates := fs.String("rates", "60,120", "tick rates, Hz (comma-separated)")
	encs := fs.String("encoders", strings.Join(encoderNames(), ","), "encoders (comma-separated)")
	loss := fs.String("loss", "0,0.05", "per-datagram loss rates of the receivers (comma-separated, 0..1)")
	o := &options{}
	fs.Float64Var(&o.seconds, "seconds", 20, "seconds of each scene")
	fs.Float64Var(&o.settle, "settle", 3, "cubes: seconds at the start (the drop) left out of the figures")
	fs.IntVar(&o.receivers, "receivers", 16, "receivers of the multicast group")
	fs.DurationVar(&o.rtt, "rtt", 4*time.Millisecond, "round trip from sender to receiver and back, for acknowledgements")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the scenes and of the losses")
	fs.IntVar(&o.budget, "budget", 64, "payload budget of the delta+budget coder, `kbps`")
	fs.StringVar(&o.json, "json", "", "also write the results to this file as JSON")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, s := range split(*scenes) {
		switch s {
		case "cubes", "players", "arcade":
			o.scenes = append(o.scenes, s)
		default:
			return nil, fmt.Errorf("--scene: unknown scene %q", s)
		}
	}
	for _, s := range split(*rates) {
		r, err := strconv.Atoi(s)
		if err != nil || (r != 60 && r != 120) {
			return nil, fmt.Errorf("--rates: %q: want 60 or 120", s)
		}
		o.rates = append(o.rates, r)
	}
	o.encoders = split(*encs)
	if _, err := newEncoders(o.encoders, EncoderConfig{Rate: 60}); err != nil {
		return nil, fmt.Errorf("--encoders: %w", err)
	}
	for _, s := range split(*loss) {
		l, err := strconv.ParseFloat(s, 64)
		if err != nil || l < 0 || l > 1 {
			return nil, fmt.Errorf("--loss: %q: want a share 0..1", s)
		}
		o.losses = append(o.losses, l)
	}
	switch {
	case len(o.scenes) == 0 || len(o.rates) == 0 || len(o.encoders) == 0 || len(o.losses) == 0:
		return nil, fmt.Errorf("nothing to measure")
	case !(o.seconds > 0):
		return nil, fmt.Errorf("--seconds %v: want > 0", o.seconds)
	case o.receivers < 1:
		return nil, fmt.Errorf("--receivers %d: want ≥ 1", o.receivers)
	case o.rtt < 0:
		return nil, fmt.Errorf("--rtt %v: want ≥ 0", o.rtt)
	case o.budget < 1:
		return nil, fmt.Errorf("--budget %d: want ≥ 1 kbps", o.budget)
	}
	return o, nil
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Generation is how long one scene took to make.
type Generation struct {
	Scene   string  `json:"scene"`
	Detail  string  `json:"detail"`
	Seconds float64 `json:"wall_seconds"`
}

// Report is everything one run measured.
type Report struct {
	Seed        uint64       `json:"seed"`
	Generations []Generation `json:"generations"`
	Results     []Result     `json:"results"`
	References  []Reference  `json:"references"`
	LZ4         []LZ4Figure  `json:"lz4"`
}

// LZ4Figure is what LZ4 leaves of a whole tick (compressed ÷ raw): as
// Snapshot parts, and as a StateDelta keyframe.
type LZ4Figure struct {
	Scene    string  `json:"scene"`
	Rate     int     `json:"rate_hz"`
	Snapshot float64 `json:"snapshot_share"`
	Keyframe float64 `json:"keyframe_share"`
}

func run(args []string, out io.Writer) error {
	o, err := parseOptions(args)
	if err != nil {
		return err
	}
	rep := &Report{Seed: o.seed, References: fiedler}
	cfg := RunConfig{Receivers: o.receivers, RTT: o.rtt, Seed: o.seed, BudgetKbps: o.budget}
	for _, sc := range o.scenes {
		traces, gen, err := makeTraces(sc, o)
		if err != nil {
			return err
		}
		rep.Generations = append(rep.Generations, gen...)
		c := cfg
		if sc == "cubes" {
			c.Warmup = o.settle
		}
		for i, tr := range traces {
			sn, kf := lz4Share(tr, tr.Len()-1)
			rep.LZ4 = append(rep.LZ4, LZ4Figure{Scene: tr.Name(), Rate: tr.Rate(), Snapshot: sn, Keyframe: kf})
			res, read, err := Run(tr, o.encoders, o.losses, c)
			if err != nil {
				return err
			}
			rep.Results = append(rep.Results, res...)
			if sc == "players" {
				// The players trace is computed as it is read.
				gen[i].Seconds = read.Seconds()
			}
		}
		for _, g := range gen {
			fmt.Fprintf(out, "%-8s %s: %.1f s\n", g.Scene, g.Detail, g.Seconds)
		}
	}
	fmt.Fprintln(out)
	writeTable(out, rep, o)
	fmt.Fprintln(out)
	fmt.Fprintln(out, "LZ4 on one whole tick (the last), compressed ÷ raw:")
	for _, f := range rep.LZ4 {
		fmt.Fprintf(out, "  %-8s %3d Hz  Snapshot parts %.2f  StateDelta keyframe %.2f\n", f.Scene, f.Rate, f.Snapshot, f.Keyframe)
	}
	if b, err := os.ReadFile("scene/demo.scene"); err == nil {
		fmt.Fprintf(out, "  scene/demo.scene (%d bytes of text, what a scene transfer would carry): %.2f\n", len(b), lz4Ratio(b))
	}
	if o.json != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.json, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// makeTraces generates a scene at every rate asked for, timing it.
func makeTraces(sc string, o *options) ([]Trace, []Generation, error) {
	var trs []Trace
	var gen []Generation
	switch sc {
	case "cubes":
		t0 := time.Now()
		rec, err := recordCubes(o.seed, cubeCount, o.seconds)
		if err != nil {
			return nil, nil, err
		}
		gen = append(gen, Generation{sc, fmt.Sprintf("%d cubes + player cube, %g s simulated at 120 Hz (60 Hz sends every other tick)", cubeCount, o.seconds), time.Since(t0).Seconds()})
		for _, r := range o.rates {
			trs = append(trs, rec.at(r))
		}
	case "players":
		for _, r := range o.rates {
			gen = append(gen, Generation{sc, fmt.Sprintf("%d headsets, %g s at %d Hz (computed as read)", playersCount, o.seconds, r), 0})
			trs = append(trs, newPlayersTrace(o.seed, playersCount, r, o.seconds))
		}
	case "arcade":
		for _, r := range o.rates {
			t0 := time.Now()
			tr, err := recordArcade(o.seed, r, o.seconds)
			if err != nil {
				return nil, nil, err
			}
			gen = append(gen, Generation{sc, fmt.Sprintf("demo scene + %d headsets, %g s simulated at %d Hz", arcadeHeadsets, o.seconds, r), time.Since(t0).Seconds()})
			trs = append(trs, tr)
		}
	}
	return trs, gen, nil
}
