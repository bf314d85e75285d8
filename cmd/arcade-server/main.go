// Command arcade-server runs an Arcade venue server: headsets on the LAN
// connect over UDP, stream their poses, and receive the shared world state
// every tick by multicast (or unicast on request).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/arcadexr/arcade/capture"
	"github.com/arcadexr/arcade/discovery"
	"github.com/arcadexr/arcade/internal/hostprobe"
	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/operator"
	"github.com/arcadexr/arcade/pair"
	"github.com/arcadexr/arcade/replay"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/sim"
	"github.com/arcadexr/arcade/tick"
	"github.com/arcadexr/arcade/wire"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	for {
		code := run(os.Args[1:], os.Stdout, os.Stderr)
		if code != exitSteppedDown {
			os.Exit(code)
		}
		// Another server of the pair took over: this one follows it now,
		// a standby again (PROTOCOL §18.4).
	}
}

// options are the parsed command line.
type options struct {
	listen      netip.AddrPort
	tickRate    int
	iface       string
	multicast   netip.AddrPort
	noMcast     bool
	maxClients  int
	httpAddr    string
	httpToken   string // from --http-token-file; empty: generated at start
	fileToken   bool   // httpToken came from --http-token-file
	dscp        int
	rtPrio      int
	tickCPU     int
	spinMax     time.Duration
	tickYield   bool
	coalesce    time.Duration
	signedGap   time.Duration
	eagerGap    time.Duration
	delta       bool
	stateBudget int
	hostProbe   bool
	pprof       bool
	echoRPC     bool
	scenePath   string
	eager       bool
	fallback    bool
	allow       []netip.Prefix
	deny        []netip.Prefix
	hashEvery   int
	idle        time.Duration
	logFormat   string
	capture     string
	captureDir  string
	version     bool
	name        string
	discovery   bool
	beaconPort  int
	passphrase  string
	checkpoint  string
	ckptEvery   time.Duration
	fresh       bool
	record      string
	replay      string
	replaySeek  time.Duration
	replaySpeed float64
	replayPause bool
	replayLoop  bool
	// A standby pair (pair.go): the peer's pair address, this box's index
	// (1 with --standby), its own pair address, the key, the epoch file.
	pairPeer   netip.AddrPort
	pairIndex  int
	pairListen netip.AddrPort
	pairKey    string
	epochFile  string
	takeover   time.Duration
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("arcade-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		o         options
		listen    = fs.String("listen", ":7777", "UDP `address` for game traffic (IPv4 host:port; empty host = all interfaces)")
		multicast = fs.String("multicast", server.DefaultMulticast.String(), "IPv4 multicast `group:port` for snapshots, or \"off\" to send every client unicast")
	)
	fs.IntVar(&o.tickRate, "tick-rate", server.DefaultTickRate, fmt.Sprintf("ticks per second (%d..%d)", server.MinTickRate, server.MaxTickRate))
	fs.StringVar(&o.iface, "iface", "", "network `interface` to multicast on and to advertise on (default: multicast on the first up, multicast-capable non-loopback interface, else lo; advertise on every up IPv4 interface the game socket is reachable on)")
	fs.IntVar(&o.maxClients, "max-clients", server.DefaultMaxClients, fmt.Sprintf("maximum connected headsets (1..%d)", server.MaxClientsLimit))
	fs.StringVar(&o.httpAddr, "http", "127.0.0.1:7780", "HTTP `address` for the operator API and dashboard (loopback only by default; e.g. 0.0.0.0:7780 to serve the LAN), or \"off\"")
	tokenFile := fs.String("http-token-file", "", "read the operator API token from the first line of `file` (default: a random token, printed at start); every request that changes state (POST, PUT, DELETE) needs it")
	fs.IntVar(&o.dscp, "dscp", 46, "DSCP mark for game traffic (0..63; 46 = EF, WMM voice), -1 to leave unmarked")
	fs.IntVar(&o.rtPrio, "rt-priority", 10, "SCHED_FIFO priority (1..99) for the tick thread so other load cannot delay a tick; 0 = normal scheduling")
	fs.StringVar(&o.scenePath, "scene", "", "scene `file` to load (default: the embedded demo arcade)")
	fs.Func("allow", "serve only these sources: comma-separated `prefixes` or addresses (e.g. 192.168.10.0/24); repeatable", func(v string) error {
		p, err := parsePrefixes(v)
		o.allow = append(o.allow, p...)
		return err
	})
	fs.Func("deny", "never serve these sources: comma-separated `prefixes` or addresses; repeatable", func(v string) error {
		p, err := parsePrefixes(v)
		o.deny = append(o.deny, p...)
		return err
	})
	fs.BoolVar(&o.delta, "delta-state", true, "send the tick's state coded against a tick each headset holds (StateDelta) to the headsets that take it, and to the multicast group while all on it do; false: Snapshots only")
	fs.IntVar(&o.stateBudget, "state-budget", 0, "hold the multicast group's StateDelta payload to this many `kbps`: past it, the entities that waited longest or move fastest are sent first and the rest a few ticks later (avatars and held objects never wait); 0 = no budget")
	fs.BoolVar(&o.fallback, "unicast-fallback", true, "switch a headset whose multicast is lossy or late (against a unicast probe stream) to unicast, and back when multicast recovers")
	fs.BoolVar(&o.eager, "eager", true, "send a headset's avatar and what its hands hold the moment its pose arrives, not at the next tick")
	fs.DurationVar(&o.coalesce, "coalesce", 0, "let an eager update wait this long for more poses to share its datagram (0..a quarter of a tick; 0 = send each receive batch at once)")
	fs.DurationVar(&o.eagerGap, "eager-update-gap", server.DefaultEagerUpdateGap, "without a passphrase, pace eager updates to the multicast group to one per this gap after a burst of 4 (0: not paced; at most a quarter of a tick): with many headsets, the poses of a gap share an update")
	fs.DurationVar(&o.signedGap, "signed-update-gap", server.DefaultSignedUpdateGap, "with a passphrase, pace eager updates to the multicast group (each signed, and checked by every headset) to one per this gap after a burst of 4 (1µs..a quarter of a tick): bounds a headset's signature checks")
	fs.IntVar(&o.tickCPU, "tick-cpu", -1, "pin the tick thread to this `CPU` (-1 = any), e.g. to keep load generators off it")
	fs.BoolVar(&o.pprof, "pprof", false, "serve Go's /debug/pprof/ (profiles, heap, runtime trace) on the --http address")
	fs.BoolVar(&o.echoRPC, "echo-rpc", false, "for testing a headset's receive side: announce every SceneChangeRequest as a SceneChange to every headset, answer every ButtonEvent with a Text and a sound Event to its sender")
	fs.BoolVar(&o.hostProbe, "host-probe", true, "run a reference timerfd loop beside the tick (every 2 ms; about 2% of a core) and sample CPU steal, so late ticks are told apart as the host's or Arcade's")
	fs.IntVar(&o.hashEvery, "hash-every", server.DefaultHashEvery, "carry the state hash in the snapshot every N ticks (0 = never)")
	fs.DurationVar(&o.spinMax, "tick-spin", server.DefaultSpinMax, "longest the tick thread may spin before a deadline after an early timer wake (adapts to the host's timer lateness; at most half a tick); 0 = sleep only")
	fs.BoolVar(&o.tickYield, "tick-yield", true, "let the tick thread pass through Go's scheduler just after each tick, so the runtime never preempts it near a deadline (false: for measuring the difference)")
	fs.DurationVar(&o.idle, "idle-timeout", server.DefaultIdleTimeout, "remove a headset silent for this long")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	configPath := fs.String("config", "", "read flags from `file`: one \"name = value\" a line (the flag's name, no dashes; '#' starts a comment); flags on the command line win; an unknown name is an error")
	fs.StringVar(&o.capture, "capture", "", "record every game datagram received and sent to this pcapng `file` from the start (read it with arcade-cap or Wireshark; with a passphrase it holds the session keys, sealed with it)")
	fs.StringVar(&o.captureDir, "capture-dir", "", "let the operator API start and stop captures (POST /api/capture/start, /stop) into this `directory`")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	hostname, _ := os.Hostname()
	hostname, _, _ = strings.Cut(hostname, ".")
	fs.StringVar(&o.name, "name", hostname, "server `name` headsets see (the mDNS/DNS-SD instance name; renamed \"name (2)\" if taken)")
	fs.BoolVar(&o.discovery, "discovery", true, "advertise the server by mDNS/DNS-SD (_arcade._udp.local) and answer beacon probes")
	fs.IntVar(&o.beaconPort, "beacon-port", discovery.DefaultBeaconPort, "UDP `port` for discovery beacon probes (0 = off)")
	fs.StringVar(&o.passphrase, "passphrase", "", "venue `passphrase`: headsets must know it, and every datagram after the handshake is authenticated and encrypted (empty = off; visible in ps, prefer --passphrase-file)")
	passFile := fs.String("passphrase-file", "", "read the venue passphrase from the first line of `file`")
	fs.StringVar(&o.checkpoint, "checkpoint", "", "keep the world in this `file` (written atomically every --checkpoint-every and at shutdown) and resume from it at start: objects, holds, players' ids (empty = off; the systemd unit keeps /var/lib/arcade/world.checkpoint)")
	fs.DurationVar(&o.ckptEvery, "checkpoint-every", server.DefaultCheckpointEvery, "checkpoint period: at most this much of the world's changes is lost to a crash (one tick..1h)")
	fs.StringVar(&o.record, "record", "", "record the session to this `file` for arcade-replay: every input and request that changed the world, with its tick and time, each tick's state hash, keyframes every 2 s (a recording already there is kept as FILE.<time>.rec; empty = off)")
	fs.BoolVar(&o.fresh, "fresh", false, "start from the scene even if --checkpoint names a checkpoint (set aside as FILE.old), and even if it is corrupt or of another scene")
	fs.StringVar(&o.replay, "replay", "", "serve this recording (--record) as a live session: headsets and the dashboard join as spectators and see its players and objects move as recorded; pause, seek and speed by the --replay-* flags and POST /api/replay (the world is the recording's: no --scene, --checkpoint or --record)")
	fs.DurationVar(&o.replaySeek, "replay-seek", 0, "with --replay: start at this server `time` from the recording's start")
	fs.Float64Var(&o.replaySpeed, "replay-speed", 1, fmt.Sprintf("with --replay: play speed (0..%d; 1 = real time)", replay.MaxSpeed))
	fs.BoolVar(&o.replayPause, "replay-paused", false, "with --replay: start paused")
	fs.BoolVar(&o.replayLoop, "replay-loop", true, "with --replay: at the end, play it again from the start")
	pairFlag := fs.String("pair", "", "run as the primary of a standby pair: the standby's pair `address` (host:port); needs --pair-key-file and --epoch-file")
	standbyFlag := fs.String("standby", "", "run as the standby of a pair: follow the primary at this pair `address` (host:port) and take over when it falls silent; needs --pair-key-file and --epoch-file")
	pairListen := fs.String("pair-listen", "", "UDP `address` of this box's end of the pair link (default: --listen's host, port 7781)")
	pairKeyFile := fs.String("pair-key-file", "", "read the pair key (the same on both boxes, at least 16 bytes) from the first line of `file`")
	fs.StringVar(&o.epochFile, "epoch-file", "", "with --pair or --standby: keep the highest epoch this box served under in this `file` (synced before each takeover; the systemd unit's is /var/lib/arcade/epoch)")
	fs.DurationVar(&o.takeover, "takeover-silence", pair.DefaultSilence, "with --pair or --standby: take over when the active has been silent this long")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if *configPath != "" {
		if err := applyConfig(fs, *configPath, given); err != nil {
			return nil, err
		}
	}
	var err error
	if given["passphrase-file"] {
		if given["passphrase"] {
			return nil, errors.New("--passphrase and --passphrase-file: give only one")
		}
		if o.passphrase, err = readSecretFile("--passphrase-file", *passFile); err != nil {
			return nil, err
		}
	} else if o.passphrase != "" && strings.TrimSpace(o.passphrase) == "" {
		return nil, errors.New("--passphrase: only whitespace (give a passphrase, or leave the flag out to run without one)")
	}
	if o.listen, err = parseListen(*listen); err != nil {
		return nil, fmt.Errorf("--listen: %w", err)
	}
	if *multicast == "off" {
		o.noMcast = true
	} else if o.multicast, err = netip.ParseAddrPort(*multicast); err != nil {
		return nil, fmt.Errorf("--multicast: %q is not group:port: %w", *multicast, err)
	} else if !o.multicast.Addr().Is4() || !o.multicast.Addr().IsMulticast() {
		return nil, fmt.Errorf("--multicast: %s is not an IPv4 multicast group (224.0.0.0/4)", o.multicast.Addr())
	} else if linkLocalGroups.Contains(o.multicast.Addr()) {
		return nil, fmt.Errorf("--multicast: %s is in %s, the link-local control block (routing protocols, mDNS 224.0.0.251): use an administratively scoped group such as %s", o.multicast.Addr(), linkLocalGroups, server.DefaultMulticast.Addr())
	} else if o.multicast.Port() == 0 {
		return nil, errors.New("--multicast: port must not be 0")
	} else if o.multicast.Port() == o.listen.Port() {
		return nil, fmt.Errorf("--multicast: port %d is the game port (--listen %s): snapshots need a port of their own", o.multicast.Port(), o.listen)
	}
	if o.tickRate < server.MinTickRate || o.tickRate > server.MaxTickRate {
		return nil, fmt.Errorf("--tick-rate: %d is out of range %d..%d", o.tickRate, server.MinTickRate, server.MaxTickRate)
	}
	if o.maxClients < 1 || o.maxClients > server.MaxClientsLimit {
		return nil, fmt.Errorf("--max-clients: %d is out of range 1..%d", o.maxClients, server.MaxClientsLimit)
	}
	if o.dscp < -1 || o.dscp > 63 {
		return nil, fmt.Errorf("--dscp: %d is out of range 0..63 (or -1)", o.dscp)
	}
	if o.rtPrio < 0 || o.rtPrio > 99 {
		return nil, fmt.Errorf("--rt-priority: %d is out of range 0..99", o.rtPrio)
	}
	if o.stateBudget < 0 || o.stateBudget > 1_000_000 {
		return nil, fmt.Errorf("--state-budget: %d kbps is out of range 0..1000000", o.stateBudget)
	}
	if o.stateBudget > 0 && !o.delta {
		return nil, errors.New("--state-budget: needs --delta-state (a budget shapes the StateDelta stream)")
	}
	if o.coalesce < 0 || o.coalesce > time.Second/time.Duration(o.tickRate)/4 {
		return nil, fmt.Errorf("--coalesce: %v is out of range 0..a quarter of a tick (%v)", o.coalesce, time.Second/time.Duration(o.tickRate)/4)
	}
	if o.eagerGap < 0 || o.eagerGap > time.Second/time.Duration(o.tickRate)/4 {
		return nil, fmt.Errorf("--eager-update-gap: %v is out of range 0..a quarter of a tick (%v)", o.eagerGap, time.Second/time.Duration(o.tickRate)/4)
	}
	if o.signedGap <= 0 || o.signedGap > time.Second/time.Duration(o.tickRate)/4 {
		return nil, fmt.Errorf("--signed-update-gap: %v is out of range 1µs..a quarter of a tick (%v)", o.signedGap, time.Second/time.Duration(o.tickRate)/4)
	}
	if o.tickCPU < -1 || o.tickCPU >= runtime.NumCPU() {
		return nil, fmt.Errorf("--tick-cpu: %d is not -1 or a CPU of this machine (0..%d)", o.tickCPU, runtime.NumCPU()-1)
	}
	if o.spinMax < 0 || o.spinMax > time.Second/time.Duration(o.tickRate)/2 {
		return nil, fmt.Errorf("--tick-spin: %v is out of range 0..half a tick (%v)", o.spinMax, time.Second/time.Duration(o.tickRate)/2)
	}
	if o.hashEvery < 0 {
		return nil, fmt.Errorf("--hash-every: %d must not be negative", o.hashEvery)
	}
	if o.record != "" && o.record == o.checkpoint {
		return nil, errors.New("--record: the same file as --checkpoint")
	}
	if o.replay != "" && (o.record != "" || o.checkpoint != "" || o.scenePath != "") {
		return nil, errors.New("--replay: the world is the recording's; it takes no --scene, --checkpoint or --record")
	}
	if o.replay == "" && (given["replay-seek"] || given["replay-speed"] || given["replay-paused"] || given["replay-loop"]) {
		return nil, errors.New("--replay-seek, --replay-speed, --replay-paused, --replay-loop: need --replay")
	}
	if o.replaySeek < 0 {
		return nil, fmt.Errorf("--replay-seek: %v is negative", o.replaySeek)
	}
	if !(o.replaySpeed > 0 && o.replaySpeed <= replay.MaxSpeed) {
		return nil, fmt.Errorf("--replay-speed: %v is out of range (0, %d]", o.replaySpeed, replay.MaxSpeed)
	}
	if o.fresh && o.checkpoint == "" {
		return nil, errors.New("--fresh: needs --checkpoint (there is no checkpoint to set aside)")
	}
	if o.ckptEvery < time.Second/time.Duration(o.tickRate) || o.ckptEvery > time.Hour {
		return nil, fmt.Errorf("--checkpoint-every: %v is out of range one tick (%v)..1h", o.ckptEvery, time.Second/time.Duration(o.tickRate))
	}
	if o.idle <= 0 {
		return nil, fmt.Errorf("--idle-timeout: %v must be positive", o.idle)
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return nil, fmt.Errorf("--log-format: %q is not text or json", o.logFormat)
	}
	if o.httpAddr != "off" {
		if _, _, err := net.SplitHostPort(o.httpAddr); err != nil {
			return nil, fmt.Errorf("--http: %q is not host:port: %w", o.httpAddr, err)
		}
	}
	if given["http-token-file"] {
		if o.httpToken, err = readSecretFile("--http-token-file", *tokenFile); err != nil {
			return nil, err
		}
		o.httpToken = strings.TrimSpace(o.httpToken)
		if !tokenRE.MatchString(o.httpToken) {
			return nil, fmt.Errorf("--http-token-file %s: the token has characters a bearer token cannot carry (want letters, digits and -._~+/, then any '=')", *tokenFile)
		}
		if len(o.httpToken) < minTokenLen {
			return nil, fmt.Errorf("--http-token-file %s: the token is %d bytes, want at least %d", *tokenFile, len(o.httpToken), minTokenLen)
		}
		o.fileToken = true
	}
	if o.iface != "" {
		if _, err := net.InterfaceByName(o.iface); err != nil {
			return nil, fmt.Errorf("--iface: no interface %q", o.iface)
		}
	}
	if o.name == "" {
		o.name = "arcade"
	}
	if err := discovery.CheckInstance(o.name); err != nil {
		return nil, fmt.Errorf("--name: %w", err)
	}
	if o.beaconPort < 0 || o.beaconPort > 65535 {
		return nil, fmt.Errorf("--beacon-port: %d is out of range 0..65535", o.beaconPort)
	}
	if bp := uint16(o.beaconPort); bp != 0 {
		switch {
		case bp == o.listen.Port():
			return nil, fmt.Errorf("--beacon-port: %d is the game port (--listen %s)", bp, o.listen)
		case !o.noMcast && bp == o.multicast.Port():
			return nil, fmt.Errorf("--beacon-port: %d is the snapshot multicast port (--multicast %s)", bp, o.multicast)
		case bp == discovery.MDNSPort:
			return nil, fmt.Errorf("--beacon-port: %d is the mDNS port", bp)
		}
	}
	if err := parsePair(&o, given, *pairFlag, *standbyFlag, *pairListen, *pairKeyFile); err != nil {
		return nil, err
	}
	return &o, nil
}

// minTokenLen is the shortest operator token --http-token-file accepts.
const minTokenLen = 16

// tokenRE is the syntax of a bearer token (RFC 6750 §2.1, b64token).
var tokenRE = regexp.MustCompile(`^[A-Za-z0-9._~+/-]+=*$`)

// linkLocalGroups is the IPv4 Local Network Control Block (RFC 5771): groups
// for link-local protocols (OSPF, IGMP, mDNS, ...), never for application
// data.
var linkLocalGroups = netip.MustParsePrefix("224.0.0.0/24")

// readSecretFile returns the first line of the file at path, without its
// line ending, for a flag that names a secret's file. It fails, naming the
// flag and the file, when the name is empty, the file cannot be read, or
// its first line is empty or only whitespace: a secret that is asked for
// but missing never means "no secret".
func readSecretFile(flagName, path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("%s: empty file name", flagName)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("%s %s: cannot read: %w", flagName, path, err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSuffix(line, "\r")
	switch {
	case len(b) == 0:
		return "", fmt.Errorf("%s %s: the file is empty", flagName, path)
	case strings.TrimSpace(line) == "":
		return "", fmt.Errorf("%s %s: the first line is empty or only whitespace", flagName, path)
	}
	return line, nil
}

// parsePrefixes parses a comma-separated list of prefixes or addresses (an
// address stands for itself alone).
func parsePrefixes(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or prefix (like 192.168.10.0/24)", f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// parseListen accepts "host:port" with an IPv4 host, or ":port".
func parseListen(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q is not host:port", s)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: port %q is not a number 0..65535", s, port)
	}
	a := netip.IPv4Unspecified()
	if host != "" {
		if a, err = netip.ParseAddr(host); err != nil || !a.Is4() {
			return netip.AddrPort{}, fmt.Errorf("%q: host %q is not an IPv4 address", s, host)
		}
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}

// newToken returns a random operator token: 32 bytes, hex.
func newToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// dashboardURL is the dashboard's address on the listener a: an
// unspecified host (all interfaces) is shown as 127.0.0.1, which reaches
// it from this machine.
func dashboardURL(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return "http://" + a.String() + "/"
	}
	if ap.Addr().IsUnspecified() {
		ap = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), ap.Port())
	}
	return "http://" + ap.String() + "/"
}

// defaultIface picks the interface to multicast on when --iface is not given.
func defaultIface() string {
	ifs, _ := net.Interfaces()
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagLoopback != 0 || ifi.Flags&net.FlagMulticast == 0 {
			continue
		}
		if _, err := udp.InterfaceIPv4(ifi.Name); err == nil {
			return ifi.Name
		}
	}
	return "lo"
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		v += " " + bi.GoVersion
	}
	return v
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "arcade-server: %v\n", err)
		return 2
	}
	if o.version {
		fmt.Fprintf(stdout, "arcade-server %s\n", versionString())
		return 0
	}
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if o.logFormat == "json" {
		h = slog.NewJSONHandler(stderr, nil)
	}
	log := slog.New(h)
	if n, ok := spareProcs(); ok {
		log.Info("GOMAXPROCS raised by 2 for the threads locked to the tick and its probe", "gomaxprocs", n)
	}

	sc := scene.Default()
	if o.scenePath != "" {
		if sc, err = scene.Load(o.scenePath); err != nil {
			fmt.Fprintf(stderr, "arcade-server: --scene: %v\n", err)
			return 2
		}
	}
	if len(sc.Objects) > maxSceneObjects {
		fmt.Fprintf(stderr, "arcade-server: --scene: %d objects, at most %d: a tick could not simulate them, nor a snapshot carry them\n", len(sc.Objects), maxSceneObjects)
		return 2
	}
	if n := dynamicObjects(sc); n > measuredDynamic {
		log.Warn("the scene has more dynamic objects than measured to fit a tick", "dynamic", n, "measured", measuredDynamic,
			"source", "make physicsbench (2026-12-04, 2-core box, 16 headsets, steal 0 %): 420 resting + 580 moving (about 500 awake) took a 120 Hz tick's physics p50 1.0 ms, p99 1.6 ms, 0 of 2465 ticks missed")
	}
	if o.maxClients > measuredClients {
		log.Warn("--max-clients is above what was measured to hold the tick", "max_clients", o.maxClients, "measured", measuredClients,
			"source", "make load-2000 (2026-12-04, 2-core box otherwise idle, its generator beside), two ramps: at every step to 2000 headsets no tick missed through Arcade (9 and 10 in a ramp through the kernel's late wake of the tick thread, counted apart), 0 UDP drops, 0 % snapshot loss, 97-100 % of the 90 Hz inputs sent, input→state p99 ≤ 4.8 ms, the server at 63-79 % of a core")
	}
	var world server.World
	var simWorld *sim.World
	if o.replay != "" {
		show, err := replay.OpenShow(o.replay, replay.ShowOptions{Seek: o.replaySeek, Speed: o.replaySpeed, Paused: o.replayPause, Loop: o.replayLoop})
		if err != nil {
			fmt.Fprintf(stderr, "arcade-server: --replay: %v\n", err)
			return 1
		}
		defer show.Close()
		sc, world = show.Scene(), show
		log.Info("serving a recording", "file", o.replay, "scene", sc.Name, "duration", show.Duration().Round(time.Millisecond),
			"players", len(show.CastIDs()), "seek", o.replaySeek, "speed", o.replaySpeed, "paused", o.replayPause, "loop", o.replayLoop)
	} else if simWorld, err = sim.New(sc); err != nil {
		fmt.Fprintf(stderr, "arcade-server: --scene: %v\n", err)
		return 2
	} else {
		world = simWorld
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var link *pair.Link
	var epoch uint32
	var copyOf *server.Replica
	standby := o.pairPeer.IsValid()

	persist, closePersist, err := openCheckpoint(o, simWorld, log)
	if err != nil {
		fmt.Fprintf(stderr, "arcade-server: %v\n", err)
		return 1
	}
	defer closePersist()
	// A box of a pair makes its server before it follows (warm: sockets
	// and files open, tables made) and hands it the world at takeover
	// (§18.3): the checkpoint's, or the active's copy, fresher.
	ckptResume := persist.Resume
	if standby {
		persist.Resume = nil
	}
	if o.record != "" {
		closeRecord, err := openRecord(o, sc, simWorld, &persist, log)
		if err != nil {
			fmt.Fprintf(stderr, "arcade-server: --record: %v\n", err)
			return 1
		}
		defer closeRecord()
	}

	iface := o.iface
	if iface == "" && !o.noMcast {
		iface = defaultIface()
	}
	conn, err := udp.Listen(udp.Config{
		Listen:         o.listen,
		DSCP:           o.dscp,
		Timestamps:     true,
		MulticastIface: iface,
	})
	if err != nil {
		fmt.Fprintf(stderr, "arcade-server: %v\n", err)
		return 1
	}
	defer conn.Close()

	cfg := server.Config{
		TickRate:    o.tickRate,
		MaxClients:  o.maxClients,
		Multicast:   o.multicast,
		NoMulticast: o.noMcast,
		IdleTimeout: o.idle,

		World:             world,
		NoEager:           !o.eager,
		NoUnicastFallback: !o.fallback,
		NoDeltaState:      !o.delta,
		StateBudgetKbps:   o.stateBudget,
		Allow:             o.allow,
		Deny:              o.deny,
		HashEvery:         o.hashEvery,
		RealtimePriority:  o.rtPrio,
		PinTick:           o.tickCPU >= 0,
		TickCPU:           max(o.tickCPU, 0),
		SpinMax:           o.spinMax,
		NoTickYield:       !o.tickYield,
		CoalesceWindow:    o.coalesce,
		SignedUpdateGap:   o.signedGap,
		EagerUpdateGap:    eagerGap(o.eagerGap),
		Passphrase:        o.passphrase,
		Persist:           persist,
		Standby:           standby,
	}
	var path *takeoverPath
	if standby {
		path = newTakeoverPath()
		cfg.Replicate = path
	}
	if o.spinMax == 0 {
		cfg.SpinMax = -1
	}
	if o.hashEvery == 0 {
		cfg.HashEvery = -1
	}
	if o.hostProbe {
		// The reference loop runs at the tick thread's priority, and on
		// its CPU when that is pinned, so the two see the same host (a
		// vCPU the hypervisor holds stalls only what runs on it).
		// There it runs one priority above the tick thread, or a spin of
		// the tick would count as the host's lateness.
		// Every 2 ms: four deadlines a tick at 120 Hz, for half the cost
		// of the package's 1 ms.
		pc := hostprobe.Config{Priority: o.rtPrio, Period: 2 * time.Millisecond}
		if o.tickCPU >= 0 {
			pc.Pin, pc.CPU = true, o.tickCPU
			if o.rtPrio > 0 && o.rtPrio < 99 {
				pc.Priority++
			}
		}
		h, err := hostprobe.StartHost(pc, 0)
		if err != nil {
			fmt.Fprintf(stderr, "arcade-server: --host-probe: %v\n", err)
			return 1
		}
		defer h.Stop()
		if err := h.RealtimeErr(); err != nil {
			log.Warn("host probe runs at normal priority", "err", err, "hint", realtimeHint)
		}
		if err := h.StealErr(); err != nil {
			log.Warn("CPU steal not sampled", "err", err)
		}
		cfg.HostProbe = h
	}
	if o.capture != "" || o.captureDir != "" {
		rec, err := capture.NewRecorder(capture.RecorderConfig{Local: conn.LocalAddr(), Dir: o.captureDir, Passphrase: o.passphrase})
		if err != nil {
			fmt.Fprintf(stderr, "arcade-server: --capture-dir: %v\n", err)
			return 1
		}
		if o.capture != "" {
			if _, err := rec.Start(capture.StartOptions{Path: o.capture}, time.Now()); err != nil {
				fmt.Fprintf(stderr, "arcade-server: --capture: %v\n", err)
				return 1
			}
		}
		cfg.Tap = rec
		defer func() { // after Run: the tap is no longer called
			st, err := rec.Stop(time.Now())
			if errors.Is(err, capture.ErrNotRunning) {
				return
			}
			lvl := slog.LevelInfo
			if err != nil || st.Dropped > 0 {
				lvl = slog.LevelWarn
			}
			log.Log(context.Background(), lvl, "capture closed", "file", st.File,
				"datagrams", st.Datagrams, "dropped", st.Dropped, "files", st.Files, "key_log", st.KeyLog, "err", err)
		}()
	}
	disco := &discoveryStatus{}
	cfg.Describe = func() server.Description {
		name, status := disco.describe()
		if name == "" && o.discovery {
			name = o.name
		}
		if !o.discovery {
			status = "off (--discovery=false)"
		}
		return server.Description{Name: name, Version: versionString(), Discovery: status, Pair: pairStatus(link, o)}
	}
	srv, err := server.New(cfg, conn, tick.Now())
	if err == nil && standby {
		// A box of a pair listens before it writes: it follows the
		// active, if there is one, until it is to take over, and then
		// switches its server on.
		if link, epoch, copyOf, err = followPair(ctx, o, iface, log); err != nil {
			if ctx.Err() != nil {
				return 0
			}
			fmt.Fprintf(stderr, "arcade-server: %v\n", err)
			return 1
		}
		defer func() {
			if keptLink != link {
				link.Close()
			}
		}()
		path.Link = link
		t := server.Takeover{Epoch: epoch, Resume: ckptResume}
		if copyOf != nil {
			// The active's world of its last tick: fresher than any checkpoint.
			t.GroupToken, t.Resume, t.Sessions, t.Applied = copyOf.GroupToken, &copyOf.State, copyOf.Sessions, link.Pending()
			if copyOf.Sealed {
				// A sealed server's: its group and sessions' keys, resumed
				// (--passphrase on both boxes, PROTOCOL §18.6).
				t.Group = &copyOf.Group
			}
		}
		path.switching = time.Now()
		err = srv.TakeOver(t, tick.Now())
		path.made = time.Now()
		persist.Resume = t.Resume
	}
	if err != nil && copyOf != nil {
		fmt.Fprintf(stderr, "arcade-server: the active's copy: %v (do both boxes run the same build, --scene and --passphrase?)\n", err)
		return 1
	}
	if err != nil && persist.Resume != nil && strings.Contains(err.Error(), "Persist.Resume") {
		fmt.Fprintf(stderr, "arcade-server: --checkpoint %s: %v; start with --fresh to set it aside and begin from the scene\n", o.checkpoint, err)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "arcade-server: %v\n", err)
		return 1
	}
	if o.echoRPC {
		echoRPCs(srv)
	}

	var hs *http.Server
	httpDone := make(chan struct{})
	if o.httpAddr != "off" {
		ln, err := net.Listen("tcp", o.httpAddr)
		if err != nil {
			fmt.Fprintf(stderr, "arcade-server: --http: %v\n", err)
			return 1
		}
		token := o.httpToken
		if token == "" {
			if token, err = newToken(); err != nil {
				fmt.Fprintf(stderr, "arcade-server: operator token: %v\n", err)
				return 1
			}
		}
		var h http.Handler = operator.Handler(srv, operator.Options{Token: token})
		if o.pprof {
			// Read-only, like every GET; other methods fall through to the
			// operator API, which wants the token.
			mux := http.NewServeMux()
			mux.Handle("/", h)
			mux.HandleFunc("GET /debug/pprof/", pprof.Index)
			mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
			mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
			h = mux
		}
		hs = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			defer close(httpDone)
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server", "err", err)
			}
		}()
		dash := dashboardURL(ln.Addr())
		if o.fileToken {
			log.Info("operator API", "addr", ln.Addr().String(), "dashboard", dash+"#token=<the token in --http-token-file>")
		} else {
			// The one place the generated token is shown: the operator
			// opens this address; the page keeps the token for its tab.
			log.Info("operator API", "addr", ln.Addr().String(), "dashboard", dash+"#token="+token,
				"token", "generated for this run; POST, PUT and DELETE need \"Authorization: Bearer <token>\"")
		}
	} else {
		close(httpDone)
	}

	mc := "off"
	if !o.noMcast {
		mc = o.multicast.String() + " via " + iface
	}
	log.Info("arcade-server listening", "version", version, "udp", conn.LocalAddr().String(),
		"tick_rate", o.tickRate, "multicast", mc, "max_clients", o.maxClients,
		"scene", sc.Name, "objects", len(sc.Objects), "eager", o.eager)

	stopDiscovery := func(bool) {}
	if o.discovery {
		stopDiscovery = startDiscovery(ctx, o, discoveryInfo{
			game:     conn.LocalAddr(),
			scene:    sc.Name,
			players:  func() int { return int(srv.Stats().Clients.Load()) },
			capacity: o.maxClients,
			epoch:    epoch,
		}, disco, log)
	}

	srv.Started = func() {
		if err := srv.RealtimeErr(); err != nil {
			log.Warn("tick thread runs at normal priority", "err", err, "hint", realtimeHint)
		}
	}
	go logEvents(ctx, srv.Events(), log)
	watched := make(chan struct{})
	if link != nil {
		log.Info("active", "epoch", epoch, "pair", link.LocalAddr().String(), "peer", o.pairPeer.String())
		go path.logPath(ctx, epoch, log)
		go func() {
			defer close(watched)
			link.Watch(ctx, func(e uint32) {
				// Another server took over: it has the headsets now. Not
				// a word to them; follow it (§18.4).
				srv.StepDown()
				log.Warn("stepping down: another server of the pair writes under a higher epoch", "epoch", epoch, "theirs", e)
				stop()
			})
		}()
	} else {
		close(watched)
	}
	if copyOf != nil && len(copyOf.Sessions) > 0 {
		go watchIsolation(ctx, srv, log, stop)
	}
	runErr := srv.Run(ctx, conn.Fd())
	stop()
	<-watched                        // the link is read by one goroutine at a time: the next run's follower is next
	stopDiscovery(srv.SteppedDown()) // goodbyes: headsets drop the server (or, stepping down, this box) from their lists
	if hs != nil {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		hs.Shutdown(sctx)
		cancel()
	}
	<-httpDone
	if runErr != nil {
		log.Error("server stopped", "err", runErr)
		return 1
	}
	if srv.SteppedDown() {
		keptLink = link
		log.Info("stepped down: following the new active as a standby", "pair", o.pairListen.String())
		return exitSteppedDown
	}
	log.Info("arcade-server stopped; clients were told")
	return 0
}

// Limits from measurement (see the warnings that name their source).
const (
	// maxSceneObjects: past it a scene is refused.
	maxSceneObjects = 4096
	// measuredDynamic and measuredClients: past them the server warns.
	measuredDynamic = 500
	measuredClients = 2000
)

// eagerGap is server.Config.EagerUpdateGap for --eager-update-gap: 0 is
// "not paced", which the config spells negative.
func eagerGap(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// dynamicObjects counts the scene's objects physics moves.
func dynamicObjects(sc *scene.Scene) int {
	n := 0
	for _, o := range sc.Objects {
		if o.Kind == scene.Dynamic {
			n++
		}
	}
	return n
}

// realtimeHint says how to let the server take SCHED_FIFO when it was
// refused.
const realtimeHint = "SCHED_FIFO needs CAP_SYS_NICE and an RLIMIT_RTPRIO at or above --rt-priority: under systemd AmbientCapabilities=CAP_SYS_NICE and LimitRTPRIO=99; by hand sudo setcap cap_sys_nice+ep on the binary, or run as root; --rt-priority 0 turns it off"

// logEvents logs every headset that joins, leaves or moves between
// multicast and unicast, off the tick thread.
func logEvents(ctx context.Context, events <-chan server.Event, log *slog.Logger) {
	reasons := map[wire.DisconnectReason]string{
		wire.DisconnectClientLeft: "left", wire.DisconnectTimeout: "timed out",
		wire.DisconnectServerShutdown: "server shutdown", wire.DisconnectKicked: "kicked",
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-events:
			if ev.Delivery != "" {
				log.Info("headset delivery changed", "id", ev.ID, "name", ev.Name, "addr", ev.Addr, "delivery", ev.Delivery, "why", ev.DeliveryReason)
				continue
			}
			if ev.Join {
				log.Info("headset joined", "id", ev.ID, "name", ev.Name, "addr", ev.Addr, "resumed", ev.Resumed)
				continue
			}
			why, ok := reasons[ev.Reason]
			if !ok {
				why = fmt.Sprintf("reason %d", ev.Reason)
			}
			log.Info("headset left", "id", ev.ID, "name", ev.Name, "addr", ev.Addr, "why", why)
		}
	}
}

// applyConfig sets, from the file at path, every flag the command line did
// not give (given, which it extends). A line is "name = value" (or "name
// value"); '#' starts a comment; a name may repeat for the flags that
// accumulate (allow, deny). An unknown name, a bad value or "config"
// itself is an error naming the file, the line and the name.
func applyConfig(fs *flag.FlagSet, path string, given map[string]bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	fromFile := map[string]bool{}
	for i, line := range strings.Split(string(b), "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			name, value, _ = strings.Cut(line, " ")
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		value = strings.Trim(value, "\"")
		where := fmt.Sprintf("--config %s:%d", path, i+1)
		f := fs.Lookup(name)
		switch {
		case f == nil:
			return fmt.Errorf("%s: unknown key %q (the name of a flag, without dashes)", where, name)
		case name == "config":
			return fmt.Errorf("%s: a config file cannot name another", where)
		case given[name] && !fromFile[name]:
			continue // the command line wins
		}
		if err := fs.Set(name, value); err != nil {
			return fmt.Errorf("%s: %s: %v", where, name, err)
		}
		fromFile[name], given[name] = true, true
	}
	return nil
}

// spareProcs gives the Go runtime two Ps more than it chose (unless the
// environment sets GOMAXPROCS): the tick and the host probe run on threads
// of their own, locked (and real-time unless --rt-priority 0), and each,
// back from a blocking wait, needs a P. With one P a CPU, a P held by
// other Go work (the HTTP surface, the collector, the logger) kept either
// waiting, for up to 10 ms: under 2000 headsets on a 2-core box the
// probe's lateness p99 read 1.4-2.3 ms, with two spare Ps 70-120 µs, and
// the ticks missed then counted as Arcade's fell from 15 to 5 over six
// 10 s steps. The real-time threads keep their CPU from the others. It
// reports the new GOMAXPROCS and whether it changed it.
func spareProcs() (int, bool) {
	if os.Getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0), false
	}
	n := runtime.GOMAXPROCS(0) + 2
	runtime.GOMAXPROCS(n)
	return n, true
}
