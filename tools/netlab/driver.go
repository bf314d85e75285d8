package main

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/arcadexr/arcade/tools/netlab/internal/lab"
	"github.com/arcadexr/arcade/tools/netlab/internal/relay"
)

// Fixed parts of a lab run.
const (
	gamePort      = 7777
	httpPort      = 7780
	mcastGroup    = "239.255.77.77:7778"
	serverUp      = 5 * time.Second // wait for /api/stats
	botSlack      = 25 * time.Second
	pollEvery     = time.Second
	httpTimeout   = 3 * time.Second
	stopTimeout   = 5 * time.Second
	maxStatsBytes = 4 << 20
	// hostStall is the relay wake-up or read lag p99 beyond which the run
	// is flagged: a real-time thread on an idle host wakes within ~100 µs.
	hostStall = int64(time.Millisecond)
)

// options are the lab run's parsed flags.
type options struct {
	prefix        string
	headsets      int
	duration      time.Duration
	warmup        time.Duration
	profiles      []relay.Profile
	noFallbackRun bool
	reliable      bool
	bin, out      string
	seed          uint64
	relayRT       int
	tickRate      int
	rate          int
	join          string
	timeout       time.Duration
}

func (o *options) validate() error {
	switch {
	case o.headsets < 1 || o.headsets > 64:
		return fmt.Errorf("--headsets %d outside 1..64", o.headsets)
	case o.warmup < 0 || o.warmup > time.Minute:
		return fmt.Errorf("--warmup %v outside [0, 1m]", o.warmup)
	case o.duration < time.Second || o.duration > 10*time.Minute:
		return fmt.Errorf("--duration %v outside [1s, 10m]", o.duration)
	case o.join != "auto" && o.join != "discover" && o.join != "address":
		return fmt.Errorf("--join %q: want auto, discover or address", o.join)
	case o.relayRT < 0 || o.relayRT > 99:
		return fmt.Errorf("--relay-rt %d outside 0..99", o.relayRT)
	case o.tickRate < 30 || o.tickRate > 500:
		return fmt.Errorf("--tick-rate %d outside 30..500", o.tickRate)
	}
	return nil
}

// features are the optional flags the binaries have, read from --help.
type features struct {
	discover        bool // arcade-bot --discover
	unicastFallback bool // arcade-server --unicast-fallback
	warmup          bool // arcade-bot --warmup
	samples         bool // arcade-bot --samples
	httpToken       bool // arcade-server --http-token-file
}

func helpHas(ctx context.Context, bin, flagName string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "--help").CombinedOutput() // exits 0 or 2
	return bytes.Contains(out, []byte("  -"+flagName+" ")) || bytes.Contains(out, []byte("  -"+flagName+"\n"))
}

// runSpec is one measured run.
type runSpec struct {
	label      string
	profile    relay.Profile
	noFallback bool
}

// drive builds the lab, runs every profile and prints the results. The lab
// is removed however it ends.
func drive(ctx context.Context, o *options, stdout, stderr io.Writer) (err error) {
	srvBin, botBin := filepath.Join(o.bin, "arcade-server"), filepath.Join(o.bin, "arcade-bot")
	for _, b := range []string{srvBin, botBin} {
		if _, err := os.Stat(b); err != nil {
			return fmt.Errorf("%s missing: build it first (make lab does)", b)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	feat := features{discover: helpHas(ctx, botBin, "discover"), unicastFallback: helpHas(ctx, srvBin, "unicast-fallback"),
		warmup: helpHas(ctx, botBin, "warmup"), samples: helpHas(ctx, botBin, "samples"), httpToken: helpHas(ctx, srvBin, "http-token-file")}
	useDiscover := o.join == "discover" || (o.join == "auto" && feat.discover)
	if o.join == "discover" && !feat.discover {
		return errors.New("--join discover: arcade-bot has no --discover")
	}

	start := time.Now()
	loadStart := loadAvg()
	l, err := lab.Build(ctx, lab.Config{Prefix: o.prefix, Headsets: o.headsets})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := l.Close(); cerr != nil && err == nil {
			err = cerr
		}
		left, _ := lab.Namespaces(context.Background(), l.Prefix)
		fmt.Fprintf(stdout, "netlab: lab removed (%d namespaces named %s-… left)\n", len(left), l.Prefix)
	}()
	// This run's own directory: concurrent runs never share a file.
	out := filepath.Join(o.out, l.Prefix)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "netlab: lab %s up in %v: server %s in %s, relay %s⇄%s in %s, %d headsets %s..%s, one arcade-bot --clients 1 each\n",
		l.Prefix, time.Since(start).Round(time.Millisecond), lab.SrvAddr, l.Srv, lab.RelayA, lab.RelayB, l.AP,
		len(l.Headsets), l.Headsets[0].Addr, l.Headsets[len(l.Headsets)-1].Addr)
	fmt.Fprintf(stdout, "netlab: arcade-bot --discover %s; arcade-server --unicast-fallback %s\n",
		have(feat.discover, map[bool]string{true: "used", false: "absent: bots join by --server"}[useDiscover]),
		have(feat.unicastFallback, "present"))

	var specs []runSpec
	for _, p := range o.profiles {
		specs = append(specs, runSpec{label: p.Name, profile: p})
	}
	if ps, ok := relay.ProfileByName("wifi-powersave"); ok && o.noFallbackRun {
		specs = append(specs, runSpec{label: "wifi-powersave, no fallback", profile: ps, noFallback: true})
	}
	var rows []row
	var relays []relay.Stats
	for i, sp := range specs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r := &labRun{o: o, l: l, out: out, self: self, srvBin: srvBin, botBin: botBin, spec: sp, seed: o.seed + uint64(i)*2,
			discover: useDiscover, fallbackFlag: feat.unicastFallback, warmupFlag: feat.warmup, samplesFlag: feat.samples, tokenFlag: feat.httpToken}
		rw, rs, err := r.run(ctx, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "netlab: %s: %v\n", sp.label, err)
			rw = row{Profile: sp.label, Note: "failed: " + err.Error()}
		}
		rw.ProfileRTT = float64(sp.profile.ToServer.Delay+sp.profile.ToHeadsets.Delay) / 1e6
		rows = append(rows, rw)
		rs.Profile = sp.label // the run, not only its profile
		relays = append(relays, rs)
		fmt.Fprintf(stdout, "netlab: %s done (%d/%d headsets), %v elapsed\n", sp.label, rw.Connected, o.headsets, time.Since(start).Round(time.Second))
	}
	var rel *relResult
	if o.reliable && ctx.Err() == nil {
		res, rerr := runReliableIn(ctx, o, l, self, out)
		if rerr != nil {
			fmt.Fprintf(stderr, "netlab: reliable channel: %v\n", rerr)
		} else {
			rel = res
			rs := rel.Relay
			rs.Profile += " (reliable)"
			relays = append(relays, rs)
		}
		fmt.Fprintf(stdout, "netlab: reliable channel done, %v elapsed\n", time.Since(start).Round(time.Second))
	}
	fmt.Fprintln(stdout)
	printTable(stdout, rows, o.tickRate)
	fmt.Fprintln(stdout)
	printRelay(stdout, relays)
	if rel != nil {
		fmt.Fprintln(stdout)
		printReliable(stdout, rel)
	}
	fmt.Fprintf(stdout, "\nhost: load average %s at the start, %s at the end (%d CPUs)\n", loadStart, loadAvg(), runtime.NumCPU())
	for _, rs := range relays {
		if rs.Wake.P99 > hostStall || max(rs.ToHeadsets.ReadLag.P99, rs.ToServer.ReadLag.P99) > hostStall {
			fmt.Fprintf(stdout, "warning: %s: the host delayed the relay (wake-up p99 %s µs, max %s µs) or the kernel's delivery to it (read lag p99 %s µs): the figures include host stalls, not only the profile\n",
				rs.Profile, us(rs.Wake.P99), us(rs.Wake.Max), us(max(rs.ToHeadsets.ReadLag.P99, rs.ToServer.ReadLag.P99)))
		}
	}
	if !feat.unicastFallback {
		fmt.Fprintln(stdout, "\nnote: arcade-server has no --unicast-fallback: the last run used the server's default delivery.")
	}
	if !useDiscover {
		fmt.Fprintln(stdout, "note: bots joined by --server "+netip.AddrPortFrom(lab.SrvAddr, gamePort).String()+" (arcade-bot has no --discover, or --join address).")
	}
	fmt.Fprintf(stdout, "netlab: logs and raw JSON in %s\n", out)
	return nil
}

// runReliableIn runs the reliable-channel scenario on the lab's first
// headset, with this binary's relay, logging the relay to out.
func runReliableIn(ctx context.Context, o *options, l *lab.Lab, self, out string) (*relResult, error) {
	p, ok := relay.ProfileByName(relProfile)
	if !ok {
		return nil, fmt.Errorf("no profile %s", relProfile)
	}
	logf, err := os.Create(filepath.Join(out, "reliable.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	rcmd := lab.Command(context.Background(), l.AP, self, "relay", "--profile", relProfile,
		"--seed", fmt.Sprint(relSeed), "--rt", fmt.Sprint(o.relayRT))
	rcmd.Stderr = logf
	res, err := runReliable(ctx, relConfig{Lab: l, Headset: l.Headsets[0], Profile: p, Relay: rcmd})
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	printReliable(&b, res)
	logf.WriteString(b.String())
	return res, nil
}

func have(ok bool, yes string) string {
	if ok {
		return yes
	}
	return "absent"
}

// labRun is one profile's run.
type labRun struct {
	o              *options
	l              *lab.Lab
	out            string // this run's directory
	self           string
	srvBin, botBin string
	spec           runSpec
	seed           uint64
	discover       bool
	fallbackFlag   bool
	warmupFlag     bool   // arcade-bot has --warmup
	samplesFlag    bool   // arcade-bot has --samples
	tokenFlag      bool   // arcade-server has --http-token-file
	token          string // the operator token POSTs carry, if tokenFlag
}

// run starts the relay, the server and the bots, polls the server while
// the bots stream, and stops everything in reverse order.
func (r *labRun) run(ctx context.Context, stderr io.Writer) (rw row, rs relay.Stats, err error) {
	file := strings.NewReplacer(" ", "", ",", "-").Replace(r.spec.label)
	logf, err := os.Create(filepath.Join(r.out, file+".log"))
	if err != nil {
		return rw, rs, err
	}
	defer logf.Close()

	// The relay, in the access point.
	rcmd := lab.Command(context.Background(), r.l.AP, r.self, "relay", "--profile", r.spec.profile.Name,
		"--seed", fmt.Sprint(r.seed), "--rt", fmt.Sprint(r.o.relayRT))
	rcmd.Stderr = logf
	proc, err := relay.Spawn(rcmd)
	if err != nil {
		return rw, rs, err
	}
	relayStopped := false
	stopRelay := func() {
		if relayStopped {
			return
		}
		relayStopped = true
		s, serr := proc.Stop()
		rs = s
		if serr != nil && err == nil {
			err = serr
		}
	}
	defer stopRelay()

	// The server.
	srvAddr := netip.AddrPortFrom(lab.SrvAddr, gamePort).String()
	httpAddr := netip.AddrPortFrom(lab.SrvAddr, httpPort).String()
	args := []string{"--iface", lab.SrvIface, "--listen", srvAddr, "--http", httpAddr,
		"--multicast", mcastGroup, "--tick-rate", fmt.Sprint(r.o.tickRate)}
	if r.spec.noFallback && r.fallbackFlag {
		args = append(args, "--unicast-fallback=false")
	}
	if r.tokenFlag { // the reset below needs the operator token
		r.token = crand.Text()
		tf := filepath.Join(r.out, file+".token")
		if err := os.WriteFile(tf, []byte(r.token+"\n"), 0o600); err != nil {
			return rw, rs, err
		}
		args = append(args, "--http-token-file", tf)
	}
	srvCtx, srvCancel := context.WithCancel(context.Background())
	defer srvCancel()
	scmd := lab.Command(srvCtx, r.l.Srv, r.srvBin, args...)
	scmd.Stdout, scmd.Stderr = logf, logf
	fmt.Fprintf(logf, "# server: %s\n", strings.Join(scmd.Args, " "))
	if err := scmd.Start(); err != nil {
		return rw, rs, fmt.Errorf("server: %w", err)
	}
	srvDone := make(chan error, 1)
	go func() { srvDone <- scmd.Wait() }()
	defer func() {
		srvCancel() // SIGTERM, then SIGKILL after WaitDelay
		select {
		case <-srvDone:
		case <-time.After(stopTimeout):
			scmd.Process.Kill()
		}
	}()
	ready := false
	for deadline := time.Now().Add(serverUp); time.Now().Before(deadline) && ctx.Err() == nil; {
		if _, herr := r.http(ctx, http.MethodGet, "/api/stats"); herr == nil {
			ready = true
			break
		}
		select {
		case e := <-srvDone:
			return rw, rs, fmt.Errorf("server exited: %v (see %s)", e, logf.Name())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if !ready {
		return rw, rs, fmt.Errorf("server's /api/stats not up within %v", serverUp)
	}
	r.http(ctx, http.MethodPost, "/api/stats/reset")

	// The bots: one process per headset namespace.
	botCtx, botCancel := context.WithTimeout(ctx, r.o.warmup+r.o.duration+botSlack)
	defer botCancel()
	reports := make([]botReport, len(r.l.Headsets))
	outs := make([]bytes.Buffer, len(r.l.Headsets))
	var wg sync.WaitGroup
	for i, h := range r.l.Headsets {
		bargs := []string{"--clients", "1", "--iface", h.Iface, "--rate", fmt.Sprint(r.o.rate),
			"--duration", r.o.duration.String(), "--json"}
		if r.warmupFlag && r.o.warmup > 0 {
			bargs = append(bargs, "--warmup", r.o.warmup.String())
		}
		if r.samplesFlag {
			bargs = append(bargs, "--samples")
		}
		if r.discover {
			bargs = append(bargs, "--discover")
		} else {
			bargs = append(bargs, "--server", srvAddr)
		}
		bcmd := lab.Command(botCtx, h.NS, r.botBin, bargs...)
		bcmd.Stdout, bcmd.Stderr = &outs[i], logf
		if i == 0 {
			fmt.Fprintf(logf, "# bot: %s\n", strings.Join(bcmd.Args, " "))
		}
		if err := bcmd.Start(); err != nil {
			return rw, rs, fmt.Errorf("bot %d: %w", i+1, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			bcmd.Wait() // exit 1 when it did not connect: the report says so
		}()
	}
	botsDone := make(chan struct{})
	go func() { wg.Wait(); close(botsDone) }()

	// Poll the server while the bots run; keep the last view with the
	// most clients: the end of the steady state, before bots leave.
	var during *serverStats
	var duringRaw []byte
	for polling := true; polling; {
		select {
		case <-botsDone:
			polling = false
		case <-time.After(pollEvery):
			if body, herr := r.http(ctx, http.MethodGet, "/api/stats"); herr == nil {
				var st serverStats
				if json.Unmarshal(body, &st) == nil && len(st.ClientList) > 0 &&
					(during == nil || len(st.ClientList) >= len(during.ClientList)) {
					during, duringRaw = &st, body
				}
			}
		}
	}
	os.WriteFile(filepath.Join(r.out, file+"-server-during.json"), duringRaw, 0o644)
	final, _ := r.http(ctx, http.MethodGet, "/api/stats")
	os.WriteFile(filepath.Join(r.out, file+"-server.json"), final, 0o644)
	for i := range reports {
		os.WriteFile(filepath.Join(r.out, fmt.Sprintf("%s-bot%d.json", file, i+1)), outs[i].Bytes(), 0o644)
		if jerr := json.Unmarshal(lastLine(outs[i].Bytes()), &reports[i]); jerr != nil {
			reports[i] = botReport{Error: "no JSON report"}
		}
	}
	stopRelay()
	rw = makeRow(r.spec.label, reports, during, r.o.tickRate, rs)
	rw.Note = appendNote(rw.Note, deliveryNote(during))
	var fin serverStats
	if json.Unmarshal(final, &fin) == nil && fin.DeliverySwitches > 0 {
		rw.Note = appendNote(rw.Note, fmt.Sprintf("%d delivery switches", fin.DeliverySwitches))
	}
	if r.spec.noFallback && !r.fallbackFlag {
		rw.Note = appendNote(rw.Note, "server has no --unicast-fallback")
	}
	if r.discover {
		rw.Note = appendNote(rw.Note, "joined by --discover")
	}
	return rw, rs, err
}

func appendNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// lastLine returns the last non-empty line of b.
func lastLine(b []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return lines[len(lines)-1]
}

// http makes one request to the server's operator API over a connection
// opened inside the server's namespace (nothing else reaches it).
func (r *labRun) http(ctx context.Context, method, path string) ([]byte, error) {
	addr := netip.AddrPortFrom(lab.SrvAddr, httpPort).String()
	var conn net.Conn
	err := lab.Do(r.l.Srv, func() (err error) {
		// A single address: the dialer's socket is made on this goroutine,
		// so in the namespace Do switched to.
		conn, err = (&net.Dialer{Timeout: httpTimeout}).DialContext(ctx, "tcp4", addr)
		return err
	})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(httpTimeout))
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, nil)
	if err != nil {
		return nil, err
	}
	req.Close = true
	if r.token != "" && method != http.MethodGet {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if err := req.Write(conn); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxStatsBytes))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return body, fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return body, nil
}

// loadAvg returns the host's 1-minute load average, or "?".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}
