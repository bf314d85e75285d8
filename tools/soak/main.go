// Command soak is Arcade's hostile-input soak test: a real arcade-server on
// loopback serves well-behaved arcade-bot headsets, first alone (baseline),
// then beside an attacker flooding it with malformed, spoofed, replayed
// and misdirected datagrams and forging state to the multicast group,
// then beside sessions pinning reliable-channel fragments; it reports what
// the bots saw, what the attacker sent, the server's drop counters and
// memory, and fails if the server panicked, lost a headset, let an attack
// through or grew past its memory bound.
//
//	soak [--duration 10s] [--bots 8] [--attack-rate 50000] [--forge-rate 100]
//	     [--pin-sessions 64 --pin-rounds 6] [--seed 1]
//	     [--server-bin bin/arcade-server --bot-bin bin/arcade-bot] [--json]
//	soak --sealed [--junk-rate 20000] [--forge-rate 100] ...
//
// Layout (both phases): the server on 127.0.0.1 with free ports and a
// multicast group of its own on lo; one arcade-bot process with --bots
// headsets at 90 Hz by multicast; the soak's own headset (a client.Session
// over a socket the soak owns, unicast), whose token and earlier poses the
// attacker uses. In the attack phase the attacker sends, paced to at most
// --attack-rate datagrams/s, from --ports sockets on 127.0.0.1 and one on
// each of 127.0.0.2 onwards (--spoof-addrs; all of 127.0.0.0/8 is
// loopback), a seeded mix of the categories in attack.go; replays and
// real-token malformations go from the own headset's socket. Beside it a
// forger sends --forge-rate forged Snapshots and EntityUpdates a second to
// the multicast group (forge.go: stamped 2³¹ ticks ahead, 100–240 ms ahead
// of the server clock, or with a tick not of their time; group token from
// the own headset's Accepted), which reach every bot. Halfway through each
// phase a fresh headset joins from 127.0.0.51. After the attack,
// --pin-sessions sessions from 127.0.1.1 onwards complete real handshakes
// and send --pin-rounds rounds of fragments announcing 256 KiB messages on
// every stream's whole receive window (pin.go); the server's /metrics is
// read before and after.
//
// --sealed runs the same phases with a venue passphrase (the server's
// --passphrase-file, the bots' --passphrase) and a sealed attack instead
// of the flood and the pin (sealed.go): --junk-rate datagrams a second of
// sealed junk carrying the own headset's token, from its own socket, and
// an insider (a headset that joined with the passphrase and left, keeping
// the group key) forging group datagrams sealed with the group key but
// signed with a key not the server's, and the same in clear.
//
// Output: one JSON object, then a table (--json: the JSON only). Exit
// status 0 if every check passed, 1 if one failed, 2 if the soak could not
// run. Everything stays on 127.0.0.0/8 and every loop is bounded in count
// and time.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var jsonOnly bool
	fs.StringVar(&o.serverBin, "server-bin", "", "arcade-server `binary` (default: build one into a temporary directory)")
	fs.StringVar(&o.botBin, "bot-bin", "", "arcade-bot `binary` (default: build one into a temporary directory)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each phase's measurement (baseline, then attack)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "bots stream this long unmeasured before each phase (the attack starts in it)")
	fs.IntVar(&o.bots, "bots", 8, "arcade-bot headsets (1..64)")
	fs.IntVar(&o.botRate, "bot-rate", 90, "poses per second per bot")
	fs.IntVar(&o.attackRate, "attack-rate", 50000, "most datagrams per second the attacker sends (1..200000)")
	fs.IntVar(&o.ports, "ports", 16, "attacker sockets on 127.0.0.1 (1..64)")
	fs.IntVar(&o.spoofAddrs, "spoof-addrs", 49, "attacker sockets on 127.0.0.2 onwards, one per address (0..49)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the attack's datagrams and their mix")
	fs.IntVar(&o.forgeRate, "forge-rate", 100, "forged Snapshots and EntityUpdates per second sent to the multicast group during the attack (0..1000); sealed: by an insider")
	fs.IntVar(&o.pinSessions, "pin-sessions", 64, "sessions that pin fragments after the attack (0..64; open mode)")
	fs.IntVar(&o.pinRounds, "pin-rounds", 6, "rounds of fragment announcements each pinning session sends (1..6)")
	fs.BoolVar(&o.sealed, "sealed", false, "run with a venue passphrase: the attack is sealed junk from the own headset's socket and an insider's forged group datagrams")
	fs.IntVar(&o.junkRate, "junk-rate", 20000, "with --sealed, sealed junk datagrams per second from the own headset's socket (0..50000)")
	fs.BoolVar(&jsonOnly, "json", false, "print the JSON only, not the table")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "soak: unexpected argument %q\n", fs.Arg(0))
		return 2
	case o.duration <= 0 || o.duration > time.Hour:
		fmt.Fprintf(stderr, "soak: --duration %v out of range (0, 1h]\n", o.duration)
		return 2
	case o.warmup < 0 || o.warmup > time.Minute:
		fmt.Fprintf(stderr, "soak: --warmup %v out of range [0, 1m]\n", o.warmup)
		return 2
	case o.bots < 1 || o.bots > 64:
		fmt.Fprintf(stderr, "soak: --bots %d out of range 1..64\n", o.bots)
		return 2
	case o.botRate < 1 || o.botRate > 1000:
		fmt.Fprintf(stderr, "soak: --bot-rate %d out of range 1..1000\n", o.botRate)
		return 2
	case o.attackRate < 1 || o.attackRate > 200000:
		fmt.Fprintf(stderr, "soak: --attack-rate %d out of range 1..200000\n", o.attackRate)
		return 2
	case o.ports < 1 || o.ports > 64:
		fmt.Fprintf(stderr, "soak: --ports %d out of range 1..64\n", o.ports)
		return 2
	case o.forgeRate < 0 || o.forgeRate > 1000:
		fmt.Fprintf(stderr, "soak: --forge-rate %d out of range 0..1000\n", o.forgeRate)
		return 2
	case o.pinSessions < 0 || o.pinSessions > 64:
		fmt.Fprintf(stderr, "soak: --pin-sessions %d out of range 0..64\n", o.pinSessions)
		return 2
	case o.pinRounds < 1 || o.pinRounds > 6:
		// Six rounds' blocks (150 blocks apart) fit the 65536 fragments
		// of a 256 KiB message in 4-byte fragments.
		fmt.Fprintf(stderr, "soak: --pin-rounds %d out of range 1..6\n", o.pinRounds)
		return 2
	case o.junkRate < 0 || o.junkRate > 50000:
		fmt.Fprintf(stderr, "soak: --junk-rate %d out of range 0..50000\n", o.junkRate)
		return 2
	case o.spoofAddrs < 0 || o.spoofAddrs > 49:
		// 127.0.0.51 is the late joiner's: no attacker may use it.
		fmt.Fprintf(stderr, "soak: --spoof-addrs %d out of range 0..49\n", o.spoofAddrs)
		return 2
	}
	o.log = stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := soak(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "soak: %v\n", err)
		return 2
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.Encode(rep)
	if !jsonOnly {
		fmt.Fprintln(stdout)
		printTable(stdout, rep)
	}
	if len(rep.Problems) > 0 {
		return 1
	}
	return 0
}
