//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arcadexr/arcade/tools/netlab/internal/lab"
	"github.com/arcadexr/arcade/tools/netlab/internal/relay"

	"golang.org/x/sys/unix"
)

// The discovery acceptance test's namespace family, apart from the lab
// command's and the lab package tests'.
const discoveryPrefix = "arcdisc"

// Limits of the discovery acceptance test. They bound waits for things
// that must happen, far beyond the protocol's own timing (which the test
// reports next to what it measured), so that they fail only when a thing
// does not happen, not when a loaded host makes it slow.
const (
	discoveryTimeout = 120 * time.Second // the whole test, after the build
	resolveTimeout   = 15 * time.Second  // browse start to the resolved service
	// The goodbye (TTL 0) makes avahi drop the service 1 s later (RFC 6762
	// §10.1); without one it would stay until its records' TTL ran out,
	// 120 s at the least, far beyond this.
	goodbyeTimeout  = 20 * time.Second
	renameTimeout   = 20 * time.Second // second server's start to both names resolved
	claimTimeout    = 15 * time.Second // server start to "mDNS: advertising"
	announceTimeout = 15 * time.Second // the claim to the second announcement heard
	// The responder multicasts a record at most once a second (RFC 6762
	// §6), and drops, as avahi and mDNSResponder do, what a query asks for
	// within that second. The checks that must see a query answered start
	// this long after the last multicast they can know of: a protocol
	// interval, not a guess at how long something takes.
	multicastQuiet  = 1200 * time.Millisecond
	announcements   = 2 // the responder's (RFC 6762 §8.3: at least two, a second apart)
	procStop        = 5 * time.Second
	serviceType     = "_arcade._udp"
	instance        = "Arena"
	renamedInstance = "Arena (2)"
)

// TestDiscoveryLab checks the mDNS/DNS-SD responder of arcade-server
// against stacks that are not ours, across the lab's relay (wired profile):
//
//  1. avahi-daemon in headset 1, started after the server's announcements
//     (so its cache is empty and it must query), resolves "Arena" (address,
//     port, TXT) with avahi-browse -rpt;
//  2. dig's legacy unicast queries (source port ≠ 5353) from headset 2 get
//     the PTR, SRV and TXT records, TTLs capped at 10 s;
//  3. arcade-bot --discover in headset 1, next to avahi-daemon (sharing port
//     5353), finds the server by mDNS and connects, when started more than a
//     second after the server's last multicast (see multicastQuiet);
//  4. a second server named "Arena" in headset 2 is renamed "Arena (2)", and
//     avahi sees both;
//  5. SIGTERM to the first server makes avahi drop it long before its
//     records' TTL would (the goodbye), and a new browse no longer lists it.
//
// How long each step took is reported beside the protocol's own timing.
func TestDiscoveryLab(t *testing.T) {
	if err := lab.Available(); err != nil {
		t.Skipf("discovery lab test skipped: %v", err)
	}
	if err := lab.AvahiAvailable(); err != nil {
		t.Skipf("discovery lab test skipped: %v", err)
	}
	bin := buildBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), discoveryTimeout)
	defer cancel()
	tr := &transcript{}
	t.Cleanup(func() { tr.dump(t) })

	l, err := lab.Build(ctx, lab.Config{Prefix: discoveryPrefix, Headsets: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // registered first: runs last
		if err := l.Close(); err != nil {
			t.Errorf("teardown: %v", err)
		}
		if left, _ := lab.Namespaces(context.Background(), l.Prefix); len(left) > 0 {
			t.Errorf("namespaces left after teardown: %v", left)
		}
	})
	h1, h2 := l.Headsets[0], l.Headsets[1]
	startLabRelay(t, l)
	fig := &discoveryFigures{}
	t.Cleanup(func() { fig.log(t) })

	// Headset 2 listens for the server's announcements until avahi starts.
	ann := watchMDNS(t, h2.NS, h2.Iface, lab.SrvAddr)
	srvGame := netip.AddrPortFrom(lab.SrvAddr, gamePort)
	srv1 := startProc(t, "server 1", l.Srv, filepath.Join(bin, "arcade-server"),
		"--name", instance, "--iface", lab.SrvIface, "--listen", srvGame.String(),
		"--http", netip.AddrPortFrom(lab.SrvAddr, httpPort).String(), "--beacon-port", "7779")
	name1, err := srv1.advertised(ctx)
	if err != nil {
		t.Fatalf("server 1: %v", err)
	}
	t.Logf("server 1 advertising %q", name1)
	fig.add("server 1: start to name claimed", srv1.claimed.Sub(srv1.started), "≈ 0.75–1 s: a random 0–250 ms, then 3 probes 250 ms apart (§8.1)")
	// avahi starts once the announcements are over, so its cache is empty
	// and the browse must query (the cached path is the rename step's).
	last, ok := ann.wait(ctx, announcements, announceTimeout)
	ann.stop()
	if !ok {
		t.Fatalf("headset 2 heard %d of the server's %d announcements within %v", ann.count(), announcements, announceTimeout)
	}
	fig.add("server 1: claim to last announcement", last.Sub(srv1.claimed), "1 s: 2 announcements a second apart (§8.3)")
	sleepUntil(ctx, last.Add(multicastQuiet))
	av, err := lab.StartAvahi(ctx, h1.NS, h1.Iface, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		av.Close()
		tr.add("avahi-daemon in "+h1.NS, av.Log.String())
	})
	t.Run("avahi-resolve", func(t *testing.T) {
		found, at, runs, ok := browseUntil(ctx, t, av, tr, resolveTimeout, func(res map[string]lab.BrowseEvent) bool {
			e, ok := res[instance]
			return ok && len(checkResolved(e, srvGame)) == 0
		})
		if !ok {
			e, seen := found[instance]
			if !seen {
				t.Fatalf("avahi-browse -rpt did not resolve %q within %v (%d runs)", instance, resolveTimeout, runs)
			}
			t.Fatalf("avahi-browse -rpt resolved %q wrongly within %v: %s", instance, resolveTimeout, strings.Join(checkResolved(e, srvGame), "; "))
		}
		e := found[instance]
		fig.add("avahi: browse start to resolved", at, "≈ 0.1–0.3 s: avahi's query, the answer 20–120 ms later (§6), then SRV/TXT/A")
		t.Logf("avahi-browse -rpt resolved %q in %v (browse run %d): host %s, %s on %s, TXT %q",
			e.Name, at.Round(time.Millisecond), runs, e.Host, e.Addr, e.Iface, e.TXT)
	})

	t.Run("dig-legacy-unicast", func(t *testing.T) {
		server := "@" + lab.SrvAddr.String()
		fqdn := instance + "._arcade._udp.local."
		ptr := dig(ctx, t, tr, h2.NS, server, "_arcade._udp.local", "PTR")
		if rr := ptr.find("_arcade._udp.local.", "PTR"); rr == nil {
			t.Errorf("PTR query: no PTR answer")
		} else if target, _ := lab.UnescapeName(rr.data); target != fqdn {
			t.Errorf("PTR query: answer %q, want %q", rr.data, fqdn)
		}
		// A legacy reply is no longer than needed: additional records only
		// as far as the reply stays within the query's size. dig's plain
		// query has no room for them; padded to 512 bytes it has room for
		// all that RFC 6763 §12 suggests.
		if len(ptr.additional) > 0 {
			t.Errorf("PTR query: additional records %v in the reply to an unpadded query", ptr.additional)
		}
		padded := dig(ctx, t, tr, h2.NS, server, "+padding=512", "_arcade._udp.local", "PTR")
		if padded.find("_arcade._udp.local.", "PTR") == nil {
			t.Errorf("padded PTR query: no PTR answer")
		}
		for _, want := range []string{"SRV", "TXT"} {
			if !slices.ContainsFunc(padded.additional, func(r digRR) bool { return r.typ == want }) {
				t.Errorf("padded PTR query: no %s in the additional section (RFC 6763 §12)", want)
			}
		}
		if !slices.ContainsFunc(padded.additional, func(r digRR) bool { return r.typ == "A" && r.data == lab.SrvAddr.String() }) {
			t.Errorf("padded PTR query: no A %s in the additional section (RFC 6763 §12)", lab.SrvAddr)
		}

		srv := dig(ctx, t, tr, h2.NS, server, fqdn, "SRV")
		if rr := srv.find(fqdn, "SRV"); rr == nil {
			t.Errorf("SRV query: no SRV answer")
		} else if f := strings.Fields(rr.data); len(f) != 4 || f[2] != strconv.Itoa(gamePort) {
			t.Errorf("SRV query: %q, want port %d", rr.data, gamePort)
		} else {
			t.Logf("SRV: %s", rr.data)
		}

		txt := dig(ctx, t, tr, h2.NS, server, fqdn, "TXT")
		if rr := txt.find(fqdn, "TXT"); rr == nil {
			t.Errorf("TXT query: no TXT answer")
		} else if strs, err := lab.ParseTXT(rr.data); err != nil {
			t.Errorf("TXT query: %v", err)
		} else if bad := checkTXT(strs); len(bad) > 0 {
			t.Errorf("TXT query: %q: %s", strs, strings.Join(bad, "; "))
		} else {
			t.Logf("TXT: %q", strs)
		}
		// Legacy unicast replies (RFC 6762 §6.7): the question repeated, TTLs
		// at most 10 s.
		for _, r := range []*digResult{ptr, padded, srv, txt} {
			if r.status != "NOERROR" || r.questions != 1 {
				t.Errorf("%s: status %q, %d questions; want NOERROR and the question repeated", r.query, r.status, r.questions)
			}
			for _, rr := range append(slices.Clone(r.answer), r.additional...) {
				if rr.ttl > 10 {
					t.Errorf("%s: %s %s TTL %d, want ≤ 10 in a legacy unicast reply", r.query, rr.name, rr.typ, rr.ttl)
				}
			}
		}
	})

	t.Run("arcade-bot", func(t *testing.T) {
		// No waiting for a quiet second: the browse re-queries at 1 s and
		// listens for 1.5 s, so it finds the server even right after the
		// server multicast its records (when the first query goes
		// unanswered under RFC 6762's once-a-second rule).
		bctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		cmd := lab.Command(bctx, h1.NS, filepath.Join(bin, "arcade-bot"),
			"--discover", "--iface", h1.Iface, "--clients", "1", "--duration", "1s", "--json")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		tr.add("arcade-bot in "+h1.NS, fmt.Sprintf("$ %s\nexit: %v\nstdout: %s\nstderr: %s", strings.Join(cmd.Args, " "), err, stdout.String(), stderr.String()))
		var rep struct {
			ClientsConnected int `json:"clients_connected"`
			Discovery        *struct {
				Method    string  `json:"method"`
				MDNSError string  `json:"mdns_error"`
				MS        float64 `json:"ms"`
				Service   *struct {
					Instance string `json:"instance"`
					Addr     string `json:"addr"`
				} `json:"service"`
			} `json:"discovery"`
		}
		if jerr := json.Unmarshal(lastLine(stdout.Bytes()), &rep); jerr != nil || rep.Discovery == nil {
			t.Fatalf("arcade-bot: no JSON report with discovery (exit %v, %v)", err, jerr)
		}
		d := rep.Discovery
		if d.Method != "mdns" || d.Service == nil || d.Service.Instance != instance || d.Service.Addr != srvGame.String() {
			t.Errorf("arcade-bot discovered %+v by %q (mDNS error %q), want %q at %s by mdns", d.Service, d.Method, d.MDNSError, instance, srvGame)
		}
		if rep.ClientsConnected != 1 || err != nil {
			t.Errorf("arcade-bot: %d of 1 clients connected (exit %v)", rep.ClientsConnected, err)
		}
		t.Logf("arcade-bot --discover: method %s in %.0f ms, %d/1 connected", d.Method, d.MS, rep.ClientsConnected)
		fig.add("arcade-bot: discovery by mDNS", time.Duration(d.MS*float64(time.Millisecond)), "< 1.5 s: a query, another at 1 s, listening 1.5 s")
	})

	// A continuous browse from before the second server starts, through the
	// first one's goodbye.
	watch, err := av.Browse(ctx, "-rp", serviceType)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		watch.Stop()
		tr.add("continuous browse in "+h1.NS, watch.Output())
	}()
	srv2Game := netip.AddrPortFrom(h2.Addr, gamePort)
	srv2 := startProc(t, "server 2", h2.NS, filepath.Join(bin, "arcade-server"),
		"--name", instance, "--iface", h2.Iface, "--listen", srv2Game.String(),
		"--http", netip.AddrPortFrom(h2.Addr, httpPort+1).String(), "--multicast", mcastGroup, "--beacon-port", "7779")
	byAddr := map[netip.AddrPort]string{}

	renamed := t.Run("rename", func(t *testing.T) {
		name2, err := srv2.advertised(ctx)
		if err != nil {
			t.Fatalf("server 2: %v", err)
		}
		t.Logf("server 2 advertising %q %v after it started (server 1 is %q)", name2, srv2.claimed.Sub(srv2.started).Round(time.Millisecond), name1)
		if got := []string{name1, name2}; !slices.Contains(got, instance) || !slices.Contains(got, renamedInstance) {
			t.Errorf("the servers advertise %q, want %q and %q", got, instance, renamedInstance)
		}
		wctx, cancel := context.WithDeadline(ctx, srv2.started.Add(renameTimeout))
		defer cancel()
		resolved := map[string]lab.BrowseEvent{}
		e, ok := watch.Wait(wctx, func(e lab.BrowseEvent) bool {
			if e.Kind == '=' {
				resolved[e.Name] = e
			}
			a, b := resolved[name1], resolved[name2]
			return a.Addr == srvGame && b.Addr == srv2Game
		})
		if !ok {
			t.Fatalf("avahi-browse -rp did not resolve %q at %s and %q at %s within %v of server 2's start; resolved %v",
				name1, srvGame, name2, srv2Game, renameTimeout, resolved)
		}
		byAddr[srvGame], byAddr[srv2Game] = name1, name2
		fig.add("server 2: start to name claimed (after a conflict)", srv2.claimed.Sub(srv2.started), "≈ 1 s: a probe draws the conflict, then a new name and 3 probes (§9)")
		fig.add("avahi: server 2 start to both resolved", e.At-srv2.started.Sub(watch.Start), "about the claim plus an announcement")
		t.Logf("avahi resolved both %v after server 2 started: %q at %s (host %s), %q at %s (host %s)",
			(e.At - srv2.started.Sub(watch.Start)).Round(time.Millisecond), name1, resolved[name1].Addr, resolved[name1].Host,
			name2, resolved[name2].Addr, resolved[name2].Host)
	})
	if !renamed {
		return // the goodbye step needs to know which server is "Arena"
	}

	t.Run("goodbye", func(t *testing.T) {
		name := byAddr[srvGame]
		sent := time.Now()
		srv1.cmd.Process.Signal(syscall.SIGTERM)
		wctx, cancel := context.WithDeadline(ctx, sent.Add(goodbyeTimeout))
		defer cancel()
		e, ok := watch.Wait(wctx, func(e lab.BrowseEvent) bool { return e.Kind == '-' && e.Name == name })
		if !ok {
			t.Errorf("avahi-browse -rp did not report %q removed within %v of SIGTERM: no goodbye", name, goodbyeTimeout)
		} else {
			fig.add("avahi: SIGTERM to service removed", e.At-sent.Sub(watch.Start), "1 s: removal 1 s after the goodbye (§10.1); TTL 120 s without one")
		}
		if err := srv1.wait(procStop); err != nil {
			t.Errorf("server 1 after SIGTERM: %v", err)
		}
		// A fresh browse lists the other server and not this one.
		b, err := av.Browse(ctx, "-rpt", serviceType)
		if err != nil {
			t.Fatal(err)
		}
		xctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		at, berr, exited := b.Exited(xctx)
		b.Stop()
		tr.add("browse after goodbye in "+h1.NS, b.Output())
		if !exited {
			t.Errorf("avahi-browse -rpt still running after 5 s")
		}
		names := map[string]bool{}
		for _, e := range b.Events() {
			names[e.Name] = true
		}
		if names[name] {
			t.Errorf("avahi-browse -rpt still lists %q after its goodbye", name)
		}
		if other := byAddr[srv2Game]; !names[other] {
			t.Errorf("avahi-browse -rpt no longer lists %q either (exit %v)", other, berr)
		}
		t.Logf("avahi-browse -rpt after the goodbye: %d lines, names %v, exited after %v", len(b.Events()), keys(names), at.Round(time.Millisecond))
	})
}

// sleepUntil returns at t, or when ctx is done.
func sleepUntil(ctx context.Context, t time.Time) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(t)):
	}
}

// startLabRelay runs netlab relay --profile wired (this test binary as
// netlab) in the access point until the test ends.
func startLabRelay(t *testing.T, l *lab.Lab) {
	t.Helper()
	p, err := relay.Spawn(selfCommand(t, l.AP, "relay", "--profile", "wired"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s, err := p.Stop()
		if err != nil {
			t.Errorf("relay: %v", err)
		}
		t.Logf("relay (wired) forwarded %d frames to the headsets, %d to the server", s.ToHeadsets.Forwarded, s.ToServer.Forwarded)
	})
}

// labProc is a process the test runs in a lab namespace.
type labProc struct {
	name    string
	cmd     *exec.Cmd
	out     *lab.Log
	started time.Time
	claimed time.Time // when it logged "mDNS: advertising"
	done    chan struct{}
	err     error // after done
}

// startProc starts bin in namespace ns; it is stopped (SIGTERM, SIGKILL
// after 5 s) when the test ends, and its output logged if the test failed.
func startProc(t *testing.T, name, ns, bin string, args ...string) *labProc {
	t.Helper()
	p := &labProc{name: name, out: &lab.Log{}, done: make(chan struct{})}
	p.cmd = lab.Command(context.Background(), ns, bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	fmt.Fprintf(p.out, "$ %s\n", strings.Join(p.cmd.Args, " "))
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Signal(syscall.SIGTERM)
		}
		p.wait(procStop)
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out)
		}
	})
	return p
}

// wait waits for the process to exit, killing it after limit.
func (p *labProc) wait(limit time.Duration) error {
	select {
	case <-p.done:
	case <-time.After(limit):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not exit within %v: killed", p.name, limit)
	}
	return p.err
}

var advertisingRE = regexp.MustCompile(`msg="mDNS: advertising" name=("(?:[^"\\]|\\.)*"|\S+)`)

// advertised waits (claimLimit) until the server has claimed its name and
// returns the name.
func (p *labProc) advertised(ctx context.Context) (string, error) {
	wctx, cancel := context.WithTimeout(ctx, claimTimeout)
	defer cancel()
	go func() {
		select {
		case <-p.done:
			cancel()
		case <-wctx.Done():
		}
	}()
	if err := p.out.Wait(wctx, `msg="mDNS: advertising"`); err != nil {
		return "", fmt.Errorf("did not claim a name within %v: %v", claimTimeout, err)
	}
	p.claimed = time.Now()
	m := advertisingRE.FindStringSubmatch(p.out.String())
	if m == nil {
		return "", fmt.Errorf("cannot read the name in its log")
	}
	if name, err := strconv.Unquote(m[1]); err == nil {
		return name, nil
	}
	return m[1], nil
}

// checkResolved lists what is wrong with avahi's resolution of the first
// server.
func checkResolved(e lab.BrowseEvent, game netip.AddrPort) []string {
	var bad []string
	if e.Addr != game {
		bad = append(bad, fmt.Sprintf("address %s, want %s", e.Addr, game))
	}
	if e.Protocol != "IPv4" || e.Type != serviceType || e.Domain != "local" {
		bad = append(bad, fmt.Sprintf("%s %s in %s, want IPv4 %s in local", e.Protocol, e.Type, e.Domain, serviceType))
	}
	return append(bad, checkTXT(e.TXT)...)
}

// checkTXT lists what is wrong with the first server's TXT strings.
func checkTXT(txt []string) []string {
	var bad []string
	for _, want := range []string{"v=1", "tick=120", "players=0/64"} {
		if !slices.Contains(txt, want) {
			bad = append(bad, "no "+want)
		}
	}
	i := slices.IndexFunc(txt, func(s string) bool { return strings.HasPrefix(s, "mcast=") })
	if i < 0 {
		return append(bad, "no mcast=")
	}
	if g, err := netip.ParseAddrPort(strings.TrimPrefix(txt[i], "mcast=")); err != nil || !g.Addr().IsMulticast() {
		bad = append(bad, txt[i]+" is not a multicast group:port")
	}
	return bad
}

// browseUntil runs avahi-browse -rpt again and again, until done is true of
// the services resolved by one run, or limit has passed since the first
// started. It returns the resolved services, the time from the first
// start to the line that made done true, and the number of runs.
func browseUntil(ctx context.Context, t *testing.T, av *lab.Avahi, tr *transcript, limit time.Duration,
	done func(map[string]lab.BrowseEvent) bool) (resolved map[string]lab.BrowseEvent, at time.Duration, runs int, ok bool) {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithDeadline(ctx, start.Add(limit))
	defer cancel()
	for ctx.Err() == nil {
		runs++
		b, err := av.Browse(ctx, "-rpt", serviceType)
		if err != nil {
			t.Fatal(err)
		}
		resolved = map[string]lab.BrowseEvent{}
		e, ok := b.Wait(ctx, func(e lab.BrowseEvent) bool {
			if e.Kind == '=' {
				resolved[e.Name] = e
			}
			return done(resolved)
		})
		if ok {
			b.Exited(ctx) // for the transcript: when -t ended it
			b.Stop()
			tr.add(fmt.Sprintf("browse run %d in %s", runs, av.NS), b.Output())
			return resolved, b.Start.Sub(start) + e.At, runs, true
		}
		b.Stop()
		tr.add(fmt.Sprintf("browse run %d in %s", runs, av.NS), b.Output())
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	return resolved, time.Since(start), runs, false
}

// digRR is one resource record as dig prints it.
type digRR struct {
	name string
	ttl  int
	typ  string
	data string
}

// digResult is one dig run.
type digResult struct {
	query      string
	status     string
	questions  int
	answer     []digRR
	additional []digRR
}

func (r *digResult) find(name, typ string) *digRR {
	for i, rr := range r.answer {
		if n, _ := lab.UnescapeName(rr.name); n == name && rr.typ == typ {
			return &r.answer[i]
		}
	}
	return nil
}

var (
	digStatusRE = regexp.MustCompile(`status: (\w+)`)
	digQueryRE  = regexp.MustCompile(`QUERY: (\d+), ANSWER`)
)

// dig runs dig -p 5353 (a legacy unicast query: dig's source port is not
// 5353) in namespace ns and parses its answer and additional sections.
func dig(ctx context.Context, t *testing.T, tr *transcript, ns string, args ...string) *digResult {
	t.Helper()
	args = append([]string{"-p", "5353", "+time=1", "+tries=2"}, args...)
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := lab.Command(dctx, ns, "dig", args...)
	out, err := cmd.CombinedOutput()
	tr.add("dig in "+ns, fmt.Sprintf("$ dig %s\n%s", strings.Join(args, " "), out))
	r := &digResult{query: "dig " + strings.Join(args[4:], " ")}
	if err != nil {
		t.Errorf("%s: %v", r.query, err)
		return r
	}
	if m := digStatusRE.FindSubmatch(out); m != nil {
		r.status = string(m[1])
	}
	if m := digQueryRE.FindSubmatch(out); m != nil {
		r.questions, _ = strconv.Atoi(string(m[1]))
	}
	var section *[]digRR
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		switch {
		case line == ";; ANSWER SECTION:":
			section = &r.answer
		case line == ";; ADDITIONAL SECTION:":
			section = &r.additional
		case line == "" || strings.HasPrefix(line, ";"):
			section = nil
		case section != nil:
			if rr, ok := parseDigRR(line); ok {
				*section = append(*section, rr)
			}
		}
	}
	return r
}

// parseDigRR parses "name ttl class type data".
func parseDigRR(line string) (digRR, bool) {
	var f [4]string
	rest := line
	for i := range f {
		rest = strings.TrimLeft(rest, " \t")
		j := strings.IndexAny(rest, " \t")
		if j < 0 {
			return digRR{}, false
		}
		f[i], rest = rest[:j], rest[j:]
	}
	ttl, err := strconv.Atoi(f[1])
	if err != nil {
		return digRR{}, false
	}
	return digRR{name: f[0], ttl: ttl, typ: f[3], data: strings.TrimSpace(rest)}, true
}

// transcript keeps every avahi, dig and bot output, logged if the test
// fails.
type transcript struct {
	mu      sync.Mutex
	entries []string
}

func (tr *transcript) add(title, text string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.entries = append(tr.entries, "--- "+title+"\n"+strings.TrimRight(text, "\n"))
}

func (tr *transcript) dump(t *testing.T) {
	if !t.Failed() {
		return
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	t.Logf("avahi, dig and arcade-bot output:\n%s", strings.Join(tr.entries, "\n"))
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// discoveryFigures are the step timings of the discovery test, logged
// together at its end beside the protocol's own.
type discoveryFigures struct {
	mu   sync.Mutex
	rows [][]string
}

func (f *discoveryFigures) add(what string, d time.Duration, nominal string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows = append(f.rows, []string{what, fmt.Sprintf("%.3f", d.Seconds()), nominal})
}

func (f *discoveryFigures) log(t *testing.T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.rows) == 0 {
		return
	}
	var b strings.Builder
	writeCells(&b, append([][]string{{"discovery step", "measured s", "protocol (RFC 6762)"}}, f.rows...))
	t.Log("\n" + strings.TrimRight(b.String(), "\n"))
}

// mdnsWatch records when a host's mDNS responses (announcements, when
// nobody asks) reach a headset.
type mdnsWatch struct {
	fd      int
	from    netip.Addr
	mu      sync.Mutex
	at      []time.Time
	changed chan struct{}
	quit    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// watchMDNS listens on port 5353 (shared: SO_REUSEPORT) for the mDNS group
// on iface in namespace ns, for responses sent by from.
func watchMDNS(t *testing.T, ns, iface string, from netip.Addr) *mdnsWatch {
	t.Helper()
	w := &mdnsWatch{fd: -1, from: from, changed: make(chan struct{}), quit: make(chan struct{}), done: make(chan struct{})}
	group := [4]byte{224, 0, 0, 251}
	err := lab.Do(ns, func() error {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		w.fd = fd
		for _, o := range []int{unix.SO_REUSEADDR, unix.SO_REUSEPORT} {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, o, 1); err != nil {
				return err
			}
		}
		tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrInet4{Port: 5353}); err != nil {
			return err
		}
		return unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, &unix.IPMreqn{Multiaddr: group, Ifindex: int32(ifi.Index)})
	})
	if err != nil {
		if w.fd >= 0 {
			unix.Close(w.fd)
		}
		t.Fatalf("mDNS listener in %s: %v", ns, err)
	}
	go w.loop()
	t.Cleanup(w.stop)
	return w
}

func (w *mdnsWatch) loop() {
	defer close(w.done)
	buf := make([]byte, 9000)
	for {
		select {
		case <-w.quit:
			return
		default:
		}
		n, sa, err := unix.Recvfrom(w.fd, buf, 0)
		a, ok := sa.(*unix.SockaddrInet4)
		// A response (QR set) with answers, from the host watched.
		if err != nil || !ok || netip.AddrFrom4(a.Addr) != w.from || n < 12 || buf[2]&0x80 == 0 || binary.BigEndian.Uint16(buf[6:]) == 0 {
			continue
		}
		w.mu.Lock()
		w.at = append(w.at, time.Now())
		close(w.changed)
		w.changed = make(chan struct{})
		w.mu.Unlock()
	}
}

func (w *mdnsWatch) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.at)
}

// wait waits until n responses have come, at most timeout, and returns
// when the n-th came.
func (w *mdnsWatch) wait(ctx context.Context, n int, timeout time.Duration) (time.Time, bool) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		w.mu.Lock()
		if len(w.at) >= n {
			at := w.at[n-1]
			w.mu.Unlock()
			return at, true
		}
		ch := w.changed
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return time.Time{}, false
		}
	}
}

// stop closes the listener (once), freeing port 5353.
func (w *mdnsWatch) stop() {
	w.once.Do(func() {
		close(w.quit)
		<-w.done
		unix.Close(w.fd)
	})
}
