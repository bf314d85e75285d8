// Command arcade-cap decodes Arcade traffic from a packet capture, or live
// from an interface, and measures it.
//
//	arcade-cap [flags] FILE.pcap|FILE.pcapng
//	arcade-cap [flags] --live IFACE
//
// It reads pcap and pcapng (detected from the file's first bytes; the
// server's --capture files, tcpdump's and Wireshark's, any common link
// type), or captures live with an AF_PACKET socket (Linux, CAP_NET_RAW; a
// BPF filter keeps UDP to or from --ports, default 7777 and 7778, so pass
// the server's ports when they differ). Every UDP datagram that starts with
// the Arcade magic is decoded with the wire package; other UDP is ignored.
//
// Output is one line per datagram (UTC time of day, source → destination,
// type, client id when known, header token/seq/ack, the message's key
// fields; for a Message the ack bits, the payload length and each chunk of
// the reliable layer as stream/message id with its RPC type or fragment
// number, or "ack" for a pure acknowledgement), or with --json one JSON
// object per line.
//
// StateDelta (docs/PROTOCOL.md §10.4) is decoded as a client would,
// passively: per state stream (the group token, each session token) the
// ticks assembled whole from the capture are kept (the 64 newest), later
// parts are applied to a copy of their baseline, and a part shows its
// header fields and what became of it: whole (it completed its tick),
// partial, copy (of a tick held whole), duplicate, no-baseline (coded
// against a tick the capture does not hold whole: its records are
// unknown) or bad-delta; with the players of its tick within the part's
// ids (client id: last input seq) once decoded. A unicast repair may be
// coded against a tick the group carried and the reverse, as a client
// holds both paths' ticks in one ring.
//
// Clients are identified from the Accepted packets in the capture: the
// header token is the session token, the destination the client's address.
// A file is read twice so that datagrams before a client's Accepted (its
// handshake) are attributed too; live, attribution starts at the Accepted.
// Session traffic of a client whose handshake is not in the capture has no
// client id.
//
// Filters (all must match):
//   - --client ID|ADDR:PORT: datagrams of that client: those carrying its
//     session token, and those from or to its address. Multicast datagrams
//     belong to no client and are left out.
//   - --type T1,T2: message type names (case-insensitive) or numbers.
//   - --from/--to: RFC 3339 times, or durations from the first datagram read.
//   - --ports: UDP ports; a datagram matches if either port is listed.
//
// --stats prints a report instead of the datagrams, computed from the
// capture alone, per client: datagrams each way by type; loss from header
// seq gaps on the client → server path and on the server → client unicast
// path (and per multicast group); pose arrival jitter, as RFC 3550's
// interarrival jitter J (J += (|D| − J)/16, with D the change in capture
// time minus client time between consecutive PoseInputs, the client's send
// time being the "RTP timestamp") and as the mean and standard deviation of
// the gaps between arrivals; and input → state latency: for each PoseInput
// k captured at t_k, the time to the capture of the first later Snapshot,
// EntityUpdate or StateDelta part completing a tick on that client's path
// (a multicast group, or its unicast address) whose record for the client
// has LastInputSeq ≥ k, as p50/p99/max; and per path what became of the
// StateDelta parts (whole ticks, no-baseline, bad-delta …). Where the
// capture was taken decides what that measures: on the server (its
// --capture: the pose at the kernel's receive time, the snapshot when the
// send returned) it is the latency the server adds; on a headset (tcpdump)
// it is the client's view, the network both ways included. --stats uses
// every datagram in --from/--to and ignores --type; --client limits the
// clients reported.
//
// Sealed datagrams (a venue passphrase, docs/PROTOCOL.md §17) are shown
// as sealed and count in no figure, unless --passphrase-file names the
// passphrase: then the key log a server writes into its own capture
// (docs/CAPTURE.md) opens them, they are decoded as in clear and marked
// "(decrypted)", and --stats gives the figures an open capture would.
// Whatever stays sealed is counted, and the tool says what is missing:
// the passphrase, a key log (a headset's tcpdump has none: the handshake
// alone cannot give the keys), or a session's key.
//
// Exit status: 0 after a run, 1 on a read error or a passphrase that does
// not open the key log, 2 for bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/arcadexr/arcade/wire"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// maxPorts bounds --ports (the BPF program's jumps are 8-bit).
const maxPorts = 16

// options are the parsed command line.
type options struct {
	file   string
	live   string
	json   bool
	stats  bool
	client string
	types  [256]bool
	anyT   bool // no --type: every type
	from   bound
	to     bound
	ports  []uint16

	passphrase string // --passphrase-file's
}

// bound is a --from/--to time: absolute, or relative to the first datagram.
type bound struct {
	set bool
	abs int64
	rel time.Duration
	isR bool
}

func (b bound) resolve(first int64) int64 {
	if b.isR {
		return first + int64(b.rel)
	}
	return b.abs
}

func parseBound(s string) (bound, error) {
	if s == "" {
		return bound{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return bound{set: true, rel: d, isR: true}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return bound{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration", s)
	}
	return bound{set: true, abs: t.UnixNano()}, nil
}

func parseTypes(s string, o *options) error {
	if s == "" {
		o.anyT = true
		return nil
	}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if n, err := strconv.ParseUint(name, 10, 8); err == nil {
			o.types[n] = true
			continue
		}
		found := false
		for t := wire.PacketType(1); t <= wire.MaxType; t++ {
			if strings.EqualFold(t.String(), name) {
				o.types[t], found = true, true
			}
		}
		if !found {
			return fmt.Errorf("unknown type %q", name)
		}
	}
	return nil
}

func parsePorts(s string) ([]uint16, error) {
	if s == "" {
		return nil, nil
	}
	var ps []uint16
	for _, f := range strings.Split(s, ",") {
		p, err := strconv.ParseUint(strings.TrimSpace(f), 10, 16)
		if err != nil || p == 0 {
			return nil, fmt.Errorf("%q is not a port", f)
		}
		ps = append(ps, uint16(p))
	}
	if len(ps) > maxPorts {
		return nil, fmt.Errorf("at most %d ports", maxPorts)
	}
	return ps, nil
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("arcade-cap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: arcade-cap [flags] FILE.pcap|FILE.pcapng\n       arcade-cap [flags] --live IFACE\n")
		fs.PrintDefaults()
	}
	var o options
	var types, from, to, ports string
	fs.StringVar(&o.live, "live", "", "capture live on this `interface` (AF_PACKET; needs CAP_NET_RAW) until interrupted")
	fs.BoolVar(&o.json, "json", false, "one JSON object per datagram (or, with --stats, one report)")
	fs.BoolVar(&o.stats, "stats", false, "print per-client counts, loss, pose jitter and input→state latency instead of datagrams")
	fs.StringVar(&o.client, "client", "", "only this client: `ID` (from Accepted) or its ADDR:PORT")
	fs.StringVar(&types, "type", "", "only these `types`, comma-separated names or numbers (e.g. Snapshot,PoseInput)")
	fs.StringVar(&from, "from", "", "skip datagrams before this `time` (RFC 3339, or a duration after the first datagram)")
	fs.StringVar(&to, "to", "", "skip datagrams after this `time` (RFC 3339, or a duration after the first datagram)")
	fs.StringVar(&ports, "ports", "", "only UDP to or from these `ports`, comma-separated (default: all; 7777,7778 with --live)")
	passFile := fs.String("passphrase-file", "", "decrypt sealed datagrams: the venue `file`'s first line is the passphrase, which opens the key log the server wrote into its capture")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case o.live == "" && fs.NArg() != 1:
		return nil, errors.New("want one capture file, or --live IFACE")
	case o.live != "" && fs.NArg() != 0:
		return nil, fmt.Errorf("--live takes no file (got %q)", fs.Arg(0))
	}
	o.file = fs.Arg(0)
	var err error
	if *passFile != "" {
		if o.live != "" {
			return nil, errors.New("--passphrase-file: a live capture holds no keys; capture on the server (arcade-server --capture-dir) and read its file")
		}
		if o.passphrase, err = readPassphrase(*passFile); err != nil {
			return nil, fmt.Errorf("--passphrase-file: %w", err)
		}
	}
	if err = parseTypes(types, &o); err != nil {
		return nil, fmt.Errorf("--type: %w", err)
	}
	if o.from, err = parseBound(from); err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	if o.to, err = parseBound(to); err != nil {
		return nil, fmt.Errorf("--to: %w", err)
	}
	if o.ports, err = parsePorts(ports); err != nil {
		return nil, fmt.Errorf("--ports: %w", err)
	}
	if o.live != "" && o.ports == nil {
		o.ports = []uint16{7777, 7778}
	}
	if o.client != "" {
		if _, err := strconv.ParseUint(o.client, 10, 16); err != nil {
			if _, err := netip.ParseAddrPort(o.client); err != nil {
				return nil, fmt.Errorf("--client: %q is neither a client id nor addr:port", o.client)
			}
		}
	}
	return &o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "arcade-cap: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a := newAnalyzer(o, stdout, stderr)
	if o.live != "" {
		src, err := openLive(ctx, o.live, o.ports)
		if err != nil {
			fmt.Fprintf(stderr, "arcade-cap: %v\n", err)
			return 1
		}
		err = a.pass(src, false)
		src.Close()
		if err != nil {
			fmt.Fprintf(stderr, "arcade-cap: %v\n", err)
			return 1
		}
	} else if err := a.file(o.file); err != nil {
		fmt.Fprintf(stderr, "arcade-cap: %v\n", err)
		return 1
	}
	if err := a.finish(); err != nil {
		fmt.Fprintf(stderr, "arcade-cap: %v\n", err)
		return 1
	}
	return 0
}

// readPassphrase reads the first line of path, as arcade-server does: an
// empty or blank first line is an error, never "no passphrase".
func readPassphrase(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSuffix(line, "\r")
	if strings.TrimSpace(line) == "" {
		return "", fmt.Errorf("%s: the first line is empty", path)
	}
	return line, nil
}
