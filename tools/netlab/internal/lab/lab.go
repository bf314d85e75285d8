//go:build linux

// Package lab builds and tears down the venue LAN lab: network namespaces
// for the server, the access point and each headset, wired so that every
// frame between the server and the headsets crosses the impairment relay.
//
//	<prefix>-srv            <prefix>-ap                                 <prefix>-hN
//	 srv0 10.77.0.1 ── srv-a ⇄ relay ⇄ rel-b ── rel-a ┐                  hs0 10.77.0.(10+N)
//	                                                  br0 ── hN-a ────── ┘
//
// With Config.Standby the wired side is a switch of two servers, a standby
// pair's, ahead of the relay: their pair link crosses only the switch.
//
//	<prefix>-srv  srv0 10.77.0.1 ── srv-p ┐
//	                                      br1 ── wup ── srv-a ⇄ relay ⇄ …
//	<prefix>-sb   srv0 10.77.0.2 ── sb-p  ┘   (all in <prefix>-ap)
//
// Setting srv-p or sb-p down cuts that server off, as a pulled cable does.
//
// srv-a and rel-b have no addresses: the relay reads every frame arriving
// on one with an AF_PACKET socket and writes it out of the other. rel-a and
// the headsets' peers hN-a are ports of the bridge br0 (multicast snooping
// off, so it floods group traffic as an access point does). Checksum
// offload is off on every veth, because a frame captured with a partial
// checksum and written out again would reach its receiver with a bad one.
// IPv6 is off in every namespace, so no router solicitations or DAD probes
// cross the relay.
//
// Namespace names are <family><pid>-…: the family (Config.Prefix) names the
// tool, the pid the process that built the lab, so that labs of concurrent
// runs never touch each other, and a crashed run's namespaces, whose pid
// is gone, are found and removed by the next run (CleanStale). Every
// interface, bridge, address, port and multicast group lives inside the
// lab's own namespaces (the veths are created there, never in the host's),
// so their names need no suffix to keep concurrent runs apart, and fit
// IFNAMSIZ as they are. A lab is removed by Close, and by the guard (see
// guard.go) if this process ends without closing it.
//
// All traffic stays inside the namespaces this package creates: the
// addresses are private and no namespace has a route out.
package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Interface names and addresses inside the lab.
const (
	SrvIface  = "srv0"  // the server's interface, in <prefix>-srv
	HeadIface = "hs0"   // each headset's interface, in <prefix>-hN
	RelayA    = "srv-a" // the relay's server side, in <prefix>-ap
	RelayB    = "rel-b" // the relay's headset side, in <prefix>-ap
	Bridge    = "br0"
	bridgeUp  = "rel-a" // rel-b's peer, a bridge port

	// With Config.Standby: the wired switch, its port to the relay (srv-a's
	// peer) and its ports to the two servers, in <prefix>-ap.
	WiredBridge = "br1"
	wiredUp     = "wup"
	PrimaryPort = "srv-p"
	StandbyPort = "sb-p"

	maxHeadsets = 200
	cmdTimeout  = 10 * time.Second
	netnsDir    = "/run/netns"
)

// Subnet is the lab's address range; it exists only inside the lab.
var Subnet = netip.MustParsePrefix("10.77.0.0/24")

// SrvAddr is the server's address.
var SrvAddr = netip.MustParseAddr("10.77.0.1")

// StandbyAddr is the standby server's address (Config.Standby).
var StandbyAddr = netip.MustParseAddr("10.77.0.2")

// HeadsetAddr returns headset i's address (i from 1), 10.77.0.(10+i).
func HeadsetAddr(i int) netip.Addr {
	a := SrvAddr.As4()
	a[3] = byte(10 + i)
	return netip.AddrFrom4(a)
}

// Config describes a lab.
type Config struct {
	// Prefix is the family of namespace names: 1 to 8 lower-case
	// letters. The lab's namespaces are named <Prefix><pid>-….
	Prefix string
	// Headsets is the number of headset namespaces, 1..200.
	Headsets int
	// Standby adds a second server namespace, <Prefix><pid>-sb at
	// StandbyAddr, beside the first on a wired switch ahead of the relay.
	Standby bool
}

var familyRE = regexp.MustCompile(`^[a-z]{1,8}$`)

// Validate reports the first field out of range.
func (c Config) Validate() error {
	if !familyRE.MatchString(c.Prefix) {
		return fmt.Errorf("lab: Prefix %q is not 1..8 lower-case letters", c.Prefix)
	}
	if c.Headsets < 1 || c.Headsets > maxHeadsets {
		return fmt.Errorf("lab: Headsets %d outside 1..%d", c.Headsets, maxHeadsets)
	}
	return nil
}

// Headset is one headset's namespace.
type Headset struct {
	NS    string
	Addr  netip.Addr
	Iface string
}

// Lab is a built lab. Close removes it.
type Lab struct {
	Prefix   string // <family><pid>: every namespace is named Prefix-…
	Srv      string // the server's namespace
	Standby  string // the standby server's namespace (Config.Standby), or ""
	AP       string // the access point's namespace (bridge and relay)
	Headsets []Headset
}

// Available reports why the lab cannot be built here, or nil: it needs
// root, the ip and ethtool commands, and network namespaces.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces, veths, AF_PACKET)")
	}
	for _, tool := range []string{"ip", "ethtool"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("needs %s (tools/install-lab-deps.sh installs it)", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cleanProbes(ctx)
	probe := fmt.Sprintf("%s-%d", probePrefix, os.Getpid())
	if err := ip(ctx, "netns", "add", probe); err != nil {
		return fmt.Errorf("ip netns does not work here: %v", err)
	}
	if err := ip(ctx, "netns", "del", probe); err != nil {
		return fmt.Errorf("ip netns del: %v", err)
	}
	return nil
}

// Build creates the lab, after removing the namespaces that crashed runs
// of the same family left. On error it removes what it created.
func Build(ctx context.Context, cfg Config) (l *Lab, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if _, err := CleanStale(ctx, cfg.Prefix, false); err != nil {
		return nil, err
	}
	inst := fmt.Sprintf("%s%d", cfg.Prefix, os.Getpid())
	// The guard first: from here on, the lab goes when this process does.
	if err := watch("ns", inst); err != nil {
		return nil, err
	}
	l = &Lab{Prefix: inst, Srv: inst + "-srv", AP: inst + "-ap"}
	if cfg.Standby {
		l.Standby = inst + "-sb"
	}
	register(l)
	for i := 1; i <= cfg.Headsets; i++ {
		l.Headsets = append(l.Headsets, Headset{NS: fmt.Sprintf("%s-h%d", inst, i), Addr: HeadsetAddr(i), Iface: HeadIface})
	}
	defer func() {
		if err != nil {
			l.Close()
			l = nil
		}
	}()
	step := func(args ...string) {
		if err == nil {
			err = ip(ctx, args...)
		}
	}
	all := append([]string{l.Srv, l.AP}, l.headsetNS()...)
	if l.Standby != "" {
		all = append(all, l.Standby)
	}
	for _, ns := range all {
		step("netns", "add", ns)
	}
	if err != nil {
		return l, err
	}
	for _, ns := range all {
		// Before any interface exists, so none gets IPv6; a kernel
		// without IPv6 has no such files, which is as good.
		Do(ns, func() error {
			for _, f := range []string{"default", "all"} {
				os.WriteFile("/proc/sys/net/ipv6/conf/"+f+"/disable_ipv6", []byte("1"), 0)
			}
			return nil
		})
		step("-n", ns, "link", "set", "lo", "up")
	}
	step("-n", l.AP, "link", "add", Bridge, "type", "bridge", "stp_state", "0", "mcast_snooping", "0")
	if l.Standby == "" {
		step("-n", l.AP, "link", "add", RelayA, "type", "veth", "peer", "name", SrvIface, "netns", l.Srv)
	} else {
		step("-n", l.AP, "link", "add", WiredBridge, "type", "bridge", "stp_state", "0", "mcast_snooping", "0")
		step("-n", l.AP, "link", "add", RelayA, "type", "veth", "peer", "name", wiredUp)
		step("-n", l.AP, "link", "add", PrimaryPort, "type", "veth", "peer", "name", SrvIface, "netns", l.Srv)
		step("-n", l.AP, "link", "add", StandbyPort, "type", "veth", "peer", "name", SrvIface, "netns", l.Standby)
		for _, dev := range []string{wiredUp, PrimaryPort, StandbyPort} {
			step("-n", l.AP, "link", "set", dev, "master", WiredBridge)
		}
	}
	step("-n", l.AP, "link", "add", bridgeUp, "type", "veth", "peer", "name", RelayB)
	step("-n", l.AP, "link", "set", bridgeUp, "master", Bridge)
	for i, h := range l.Headsets {
		port := fmt.Sprintf("h%d-a", i+1)
		step("-n", l.AP, "link", "add", port, "type", "veth", "peer", "name", h.Iface, "netns", h.NS)
		step("-n", l.AP, "link", "set", port, "master", Bridge)
	}
	// Checksum offload off on every veth end: frames must carry complete
	// checksums when the relay copies them.
	offload := func(ns, dev string) {
		if err == nil {
			err = run(ctx, "ip", "netns", "exec", ns, "ethtool", "-K", dev, "tx", "off", "rx", "off")
		}
	}
	offload(l.Srv, SrvIface)
	offload(l.AP, RelayA)
	offload(l.AP, RelayB)
	offload(l.AP, bridgeUp)
	wired := []string{}
	if l.Standby != "" {
		wired = []string{WiredBridge, wiredUp, PrimaryPort, StandbyPort}
		offload(l.Standby, SrvIface)
		for _, dev := range wired[1:] {
			offload(l.AP, dev)
		}
	}
	for i, h := range l.Headsets {
		offload(l.AP, fmt.Sprintf("h%d-a", i+1))
		offload(h.NS, h.Iface)
	}
	for _, dev := range append([]string{Bridge, RelayA, RelayB, bridgeUp}, wired...) {
		step("-n", l.AP, "link", "set", dev, "up")
	}
	for i := range l.Headsets {
		step("-n", l.AP, "link", "set", fmt.Sprintf("h%d-a", i+1), "up")
	}
	host := func(ns, dev string, a netip.Addr) {
		step("-n", ns, "addr", "add", netip.PrefixFrom(a, Subnet.Bits()).String(), "dev", dev)
		step("-n", ns, "link", "set", dev, "up")
		// Multicast leaves by this interface (there is no default route).
		step("-n", ns, "route", "add", "224.0.0.0/4", "dev", dev)
	}
	host(l.Srv, SrvIface, SrvAddr)
	if l.Standby != "" {
		host(l.Standby, SrvIface, StandbyAddr)
	}
	for _, h := range l.Headsets {
		host(h.NS, h.Iface, h.Addr)
	}
	return l, err
}

func (l *Lab) headsetNS() []string {
	var out []string
	for _, h := range l.Headsets {
		out = append(out, h.NS)
	}
	return out
}

// Close stops whatever still runs in the lab's namespaces (processes the
// lab's user started there), deletes the namespaces and checks that none
// is left.
func (l *Lab) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 4*cmdTimeout)
	defer cancel()
	names, err := Namespaces(ctx, l.Prefix)
	if err != nil {
		return err
	}
	if err := remove(ctx, l.Prefix, names); err != nil {
		return err
	}
	unregister(l)
	return nil
}

// Namespaces lists the network namespaces whose names start with
// prefix + "-".
func Namespaces(ctx context.Context, prefix string) ([]string, error) {
	out, err := output(ctx, "ip", "netns", "list")
	if err != nil {
		return nil, err
	}
	var names []string
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], prefix+"-") {
			names = append(names, f[0])
		}
	}
	return names, nil
}

// CleanStale removes the namespaces of family (named <family><pid>-…) whose
// pid is no longer running, or all of the family's with all set: it kills,
// by pid, the processes still in them (a crashed run's server, say; only
// this tool puts processes there), then deletes them. It returns the names
// removed, and an error naming any that could not be.
func CleanStale(ctx context.Context, family string, all bool) ([]string, error) {
	out, err := output(ctx, "ip", "netns", "list")
	if err != nil {
		return nil, err
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(family) + `([0-9]+)-`)
	var stale []string
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		m := re.FindStringSubmatch(f[0])
		if m == nil {
			continue
		}
		pid, _ := parsePid(m[1])
		if all || pid == os.Getpid() || !alive(pid) {
			stale = append(stale, f[0])
		}
	}
	return stale, remove(ctx, family, stale)
}

// parsePid parses the decimal pid in a namespace name; one too large for
// an int is returned as -1, which alive reports gone.
func parsePid(s string) (int, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	pid, err := strconv.Atoi(s)
	if err != nil {
		return -1, true
	}
	return pid, true
}

// alive reports whether a process with this pid exists (signal 0 sends
// nothing). Pids beyond pid_t cannot exist.
func alive(pid int) bool {
	return pid > 0 && pid <= math.MaxInt32 && syscall.Kill(pid, 0) != syscall.ESRCH
}

// remove kills what runs in the namespaces names and deletes them.
func remove(ctx context.Context, what string, names []string) error {
	for _, ns := range names {
		killIn(ctx, ns)
		ip(ctx, "netns", "del", ns)
	}
	var left []string
	for _, ns := range names {
		if _, err := os.Stat(netnsDir + "/" + ns); err == nil {
			left = append(left, ns)
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("lab: %s: namespaces left after cleanup: %v", what, left)
	}
	return nil
}

// killIn sends SIGKILL to each process in namespace ns and waits (at most
// a second) for them to go.
func killIn(ctx context.Context, ns string) {
	for range 10 {
		out, err := output(ctx, "ip", "netns", "pids", ns)
		if err != nil || len(bytes.TrimSpace(out)) == 0 {
			return
		}
		for f := range strings.FieldsSeq(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Command returns a command that runs name with args in namespace ns (by
// ip netns exec). It is killed by SIGKILL if this process dies first.
func Command(ctx context.Context, ns, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 3 * time.Second
	return cmd
}

// Do runs fn on an OS thread switched into namespace ns, so that sockets fn
// creates belong to ns; they stay there when used from other threads. If
// the thread cannot be switched back it is discarded, never reused.
func Do(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("lab: open own netns: %w", err)
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open(netnsDir+"/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("lab: open netns %s: %w", ns, err)
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("lab: setns %s: %w", ns, err)
			return
		}
		err = fn()
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		} // else: the goroutine ends locked and the runtime drops the thread
		errc <- err
	}()
	return <-errc
}

func ip(ctx context.Context, args ...string) error { return run(ctx, "ip", args...) }

func run(ctx context.Context, name string, args ...string) error {
	_, err := output(ctx, name, args...)
	return err
}

// output runs a short command with a time limit and returns its standard
// output; the error includes its standard error.
func output(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}
