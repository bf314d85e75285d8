// Command netlab is Arcade's venue LAN lab: it builds network namespaces
// for a server, an access point and N headsets (see package lab), puts an
// impairment relay in the access point that gives every frame between
// server and headsets WiFi-like delay, loss and power-save multicast
// bursts (see package relay), and measures arcade-server with one
// arcade-bot per headset under each profile.
//
//	netlab [--headsets 8] [--duration 10s] [--profiles wired,wifi-good,wifi-busy,wifi-powersave] [--reliable] [--bin bin]
//	netlab clean [--prefix arclab] [--all]
//	netlab relay --profile NAME ...   (the relay child process; run by netlab itself)
//
// A run builds the lab once, then for each profile starts the relay, the
// server and the bots, polls /api/stats, stops everything, and finally runs
// wifi-powersave once more with the server's unicast fallback switched off
// (if the server has --unicast-fallback) to show the multicast penalty, and
// then (--reliable) the reliable-channel scenario of TestReliableLab over
// wifi-busy. It prints a table per run with the profile's configured delays
// beside the measured ones, the relay's own measurements, and the reliable
// channel's resend delay beside the RTT measured on the path and the
// profile's; it writes the logs and raw JSON to a directory of the run's
// own under --out, and removes the lab, also on error or interrupt (a
// second interrupt ends it at once; a guard process then removes the lab).
// The lab's namespaces are named <prefix><pid>-…, so concurrent runs keep
// apart; if a run is killed outright, its guard removes them, and failing
// that the next run, or netlab clean, removes those whose pid is gone.
// Needs root, ip and ethtool (tools/install-lab-deps.sh); the binaries come
// from --bin (make lab builds them).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/arcadexr/arcade/tools/netlab/internal/lab"
	"github.com/arcadexr/arcade/tools/netlab/internal/relay"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), lab.Signals...)
	defer stop()
	// The first signal starts the teardown; a second one ends the process
	// at once (the lab's guard removes what is left).
	go func() { <-ctx.Done(); stop() }()
	cmd := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "":
		err = runLab(ctx, args, stdout, stderr)
	case "clean":
		err = runClean(ctx, args, stdout, stderr)
	case "relay":
		err = runRelay(ctx, args, stdout, stderr)
	default:
		err = fmt.Errorf("unknown command %q (want none, clean or relay)", cmd)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(stderr, "netlab: %v\n", err)
	return 1
}

// errUsage marks errors for which the flag package already printed usage.
var errUsage = errors.New("usage")

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

const defaultPrefix = "arclab"

func runClean(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("netlab clean", flag.ContinueOnError)
	fs.SetOutput(stderr)
	prefix := fs.String("prefix", defaultPrefix, "namespace family: remove <`prefix`><pid>-… of runs no longer running")
	all := fs.Bool("all", false, "also remove the namespaces of runs still running (and stop what runs in them)")
	if err := parse(fs, args); err != nil {
		return err
	}
	removed, err := lab.CleanStale(ctx, *prefix, *all)
	fmt.Fprintf(stdout, "netlab: removed %d namespaces %v\n", len(removed), removed)
	return err
}

// runRelay is the relay child: it runs in the access point's namespace
// (started by ip netns exec) until SIGTERM, then prints its Stats.
func runRelay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("netlab relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	a := fs.String("a", lab.RelayA, "`interface` on the server's side")
	b := fs.String("b", lab.RelayB, "`interface` on the headsets' side")
	profile := fs.String("profile", "wired", "impairment profile: "+profileNames())
	seed := fs.Uint64("seed", 1, "random seed")
	rt := fs.Int("rt", 20, "SCHED_FIFO priority of the relay thread (0 = normal)")
	if err := parse(fs, args); err != nil {
		return err
	}
	p, ok := relay.ProfileByName(*profile)
	if !ok {
		return fmt.Errorf("--profile: no profile %q (have %s)", *profile, profileNames())
	}
	return relay.Run(ctx, relay.Config{A: *a, B: *b, Profile: p, Seed: *seed, RTPriority: *rt}, stdout)
}

func profileNames() string {
	var names []string
	for _, p := range relay.Profiles {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

func runLab(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("netlab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.prefix, "prefix", defaultPrefix, "namespace family: the lab's namespaces are <`prefix`><pid>-…")
	fs.IntVar(&o.headsets, "headsets", 8, "headset namespaces, one arcade-bot with one client in each")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long the bots stream per profile")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "bots stream this long first without keeping latency samples, while the server settles each headset's delivery mode")
	profiles := fs.String("profiles", profileNames(), "comma-separated profiles to run")
	fs.BoolVar(&o.noFallbackRun, "nofallback-run", true, "run wifi-powersave once more with the server's unicast fallback off")
	fs.StringVar(&o.bin, "bin", "bin", "`directory` holding arcade-server and arcade-bot")
	fs.StringVar(&o.out, "out", "bin/lab", "`directory` under which each run writes its logs and raw JSON, in a subdirectory named after its lab (<prefix><pid>)")
	fs.BoolVar(&o.reliable, "reliable", true, "run the reliable-channel scenario (10 000 messages over "+relProfile+") after the profiles and print its resend delay")
	fs.Uint64Var(&o.seed, "seed", 1, "relay random seed")
	fs.IntVar(&o.relayRT, "relay-rt", 20, "SCHED_FIFO priority of the relay thread (0 = normal)")
	fs.IntVar(&o.tickRate, "tick-rate", 120, "server ticks per second")
	fs.IntVar(&o.rate, "rate", 90, "poses per second per headset")
	fs.StringVar(&o.join, "join", "auto", "how bots find the server: discover, address, or auto (discover if arcade-bot has --discover)")
	fs.DurationVar(&o.timeout, "timeout", 170*time.Second, "limit for the whole run")
	if err := parse(fs, args); err != nil {
		return err
	}
	for _, name := range strings.Split(*profiles, ",") {
		p, ok := relay.ProfileByName(strings.TrimSpace(name))
		if !ok {
			return fmt.Errorf("--profiles: no profile %q (have %s)", name, profileNames())
		}
		o.profiles = append(o.profiles, p)
	}
	if err := o.validate(); err != nil {
		return err
	}
	if err := lab.Available(); err != nil {
		return fmt.Errorf("the lab cannot run here: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	return drive(ctx, &o, stdout, stderr)
}
