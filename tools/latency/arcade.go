package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/arcadexr/arcade/tools/internal/toolrun"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Fixed parts of an Arcade run.
const (
	botRate      = 90 // poses per second per headset
	serverMaxCl  = 64 // the server's default --max-clients
	startTimeout = 10 * time.Second
	connectWait  = 7 * time.Second // the bots' own connect limit is 5 s
	botSlack     = 15 * time.Second
	stopTimeout  = 10 * time.Second
	httpTimeout  = 2 * time.Second
	pollEvery    = 20 * time.Millisecond
	minWindow    = 0.5 // of --duration, or the run failed
	keepStderr   = 64 << 10
)

// ArcadeRun is one server + bots measurement.
type ArcadeRun struct {
	Headsets   int      `json:"headsets"`
	Mode       string   `json:"mode"` // "eager", "tick" or "sealed" (eager, with a venue passphrase)
	ServerArgv []string `json:"server_argv"`
	BotArgv    []string `json:"bot_argv"`
	Error      string   `json:"error,omitempty"`
	// The configured warm-up and window.
	WarmupS   float64 `json:"warmup_s"`
	DurationS float64 `json:"duration_s"`
	// AllConnected: the server counted every bot within connectWait,
	// ConnectedAfterS after the bot process started; the warm-up is
	// counted from then.
	AllConnected    bool    `json:"all_connected_seen"`
	ConnectedAfterS float64 `json:"connected_after_s"`
	// WindowS is the measured window: from POST /api/stats/reset at the
	// end of the warm-up to the final GET /api/stats, which came after
	// --duration or when the bots stopped (WindowEnd).
	WindowS   float64 `json:"window_s"`
	WindowEnd string  `json:"window_end"`
	// Steal is /proc/stat over the window.
	Steal Steal `json:"proc_stat_steal"`
	// Server is /api/stats at the end of the window.
	Server *ServerStats `json:"server"`
	// Counters are the server's counters over the window (right after
	// the reset → the end), whether or not the reset clears them.
	Counters struct {
		Ticks           *float64 `json:"ticks"`
		MissedTicks     *float64 `json:"missed_ticks"`
		TicksLateHost   *float64 `json:"ticks_late_host"`
		TicksLateArcade *float64 `json:"ticks_late_arcade"`
		TicksLateUnkn   *float64 `json:"ticks_late_unknown"`
	} `json:"counters_over_window"`
	Bot          *BotStats       `json:"bot"`
	BotExit      *int            `json:"bot_exit_code"`
	ServerExit   *int            `json:"server_exit_code"`
	ServerStderr string          `json:"server_stderr_tail,omitempty"`
	BotStderr    string          `json:"bot_stderr_tail,omitempty"`
	Ratios       Ratios          `json:"ratios"`
	ServerRaw    json.RawMessage `json:"server_stats_raw,omitempty"`
	BotRaw       json.RawMessage `json:"bot_raw,omitempty"`
}

func (r *ArcadeRun) label() string { return fmt.Sprintf("%d %s", r.Headsets, r.Mode) }

// longestStallMS is the longest the server left a datagram unread or a
// tick unserved: the larger of the receive delay and tick lateness maxima.
func (r *ArcadeRun) longestStallMS() *float64 {
	if r.Server == nil {
		return nil
	}
	var out *float64
	for _, v := range []*float64{r.Server.RxDelay.max(), r.Server.TickLateness.max()} {
		if v != nil && (out == nil || *v/1e3 > *out) {
			out = ptr(*v / 1e3)
		}
	}
	return out
}

// inputsSentPct is the share of the poses the bots should have sent
// (headsets × botRate × (warm-up + window)) that they did: well below 100,
// the bots were starved of CPU and the load was lighter than asked for.
func (r *ArcadeRun) inputsSentPct() *float64 {
	if r.Bot == nil || r.Bot.InputsSent == nil {
		return nil
	}
	want := float64(r.Headsets) * botRate * (r.WarmupS + r.DurationS)
	return ptr(100 * *r.Bot.InputsSent / want)
}

// serverHasFlag reports whether the server binary lists flag (without
// dashes) in its -h usage.
func serverHasFlag(ctx context.Context, bin, flag string) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "-h").CombinedOutput() // -h exits non-zero
	return strings.Contains(string(out), "  -"+flag+" ") || strings.Contains(string(out), "  -"+flag+"\n")
}

// proc is a child process whose output is kept (the first keepStderr
// bytes of stderr).
type proc struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr toolrun.CapBuffer
	done   chan struct{}
}

func start(argv []string) (*proc, error) {
	p := &proc{cmd: exec.Command(argv[0], argv[1:]...), done: make(chan struct{})}
	p.stderr.Max = keepStderr
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	// The child dies with this process even if it is killed before it can
	// stop it. Pdeathsig follows the thread that forks: runArcade keeps
	// its goroutine on one thread while children run.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to d, then kills; it returns the exit code
// (-1 when ended by a signal).
func (p *proc) stop(d time.Duration) int {
	if !p.exited() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(d):
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	return p.cmd.ProcessState.ExitCode()
}

// wait waits up to d for the exit, then kills.
func (p *proc) wait(d time.Duration) int {
	if p.exited() {
		return p.cmd.ProcessState.ExitCode()
	}
	select {
	case <-p.done:
	case <-time.After(d):
		p.cmd.Process.Kill()
		<-p.done
	}
	return p.cmd.ProcessState.ExitCode()
}

var httpClient = &http.Client{Timeout: httpTimeout}

func getStats(url string) ([]byte, *ServerStats, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	st, err := parseServerStats(body)
	return body, st, err
}

func resetStats(url, token string) error {
	req, err := http.NewRequest(http.MethodPost, url+"/reset", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s/reset: %s", url, resp.Status)
	}
	return nil
}

// sleepCtx sleeps d or until ctx is done or stop is closed.
func sleepCtx(ctx context.Context, d time.Duration, stop <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-stop:
		return errors.New("arcade-bot exited early")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// arcadeConfig is what every Arcade run shares.
type arcadeConfig struct {
	serverBin, botBin string
	place             Placement
	duration, warmup  time.Duration
	logf              func(format string, args ...any)
}

// runArcade starts the server and the bots for one headset count and mode,
// measures over the window after the warm-up, and stops both. A run that
// could not be measured carries Error.
func runArcade(ctx context.Context, c arcadeConfig, headsets int, mode string) *ArcadeRun {
	runtime.LockOSThread() // see proc.start: Pdeathsig
	defer runtime.UnlockOSThread()
	r := &ArcadeRun{Headsets: headsets, Mode: mode, WarmupS: c.warmup.Seconds(), DurationS: c.duration.Seconds()}
	if err := r.measure(ctx, c, mode != "tick", mode == "sealed"); err != nil {
		r.Error = err.Error()
	}
	return r
}

func (r *ArcadeRun) measure(ctx context.Context, c arcadeConfig, eager, sealed bool) error {
	game, err := toolrun.FreePort("udp")
	if err != nil {
		return err
	}
	httpPort, err := toolrun.FreePort("tcp")
	if err != nil {
		return err
	}
	groupPort, err := toolrun.FreePort("udp")
	if err != nil {
		return err
	}
	// A group of this run's own, so that concurrent runs on this host
	// do not hear each other's snapshots.
	group := fmt.Sprintf("239.255.%d.%d:%d", 1+rand.IntN(254), 1+rand.IntN(254), groupPort)
	gameAddr := fmt.Sprintf("127.0.0.1:%d", game)
	api := fmt.Sprintf("http://127.0.0.1:%d/api/stats", httpPort)
	// The reset needs the operator token: one of this run's own.
	token := crand.Text()
	tokenFile, err := toolrun.WriteSecret("arcade-latency-token-", token)
	if err != nil {
		return err
	}
	defer os.Remove(tokenFile)

	sargs := []string{c.serverBin, "--listen", gameAddr, "--http", fmt.Sprintf("127.0.0.1:%d", httpPort), "--http-token-file", tokenFile,
		"--iface", "lo", "--multicast", group, "--discovery=false", "--tick-rate", strconv.Itoa(tickRate),
		"--rt-priority", strconv.Itoa(rtPriority), "--eager=" + strconv.FormatBool(eager)}
	if c.place.TickCPU >= 0 {
		sargs = append(sargs, "--tick-cpu", strconv.Itoa(c.place.TickCPU))
	}
	if r.Headsets > serverMaxCl {
		sargs = append(sargs, "--max-clients", strconv.Itoa(r.Headsets))
	}
	bargs := []string{c.botBin, "--server", gameAddr, "--clients", strconv.Itoa(r.Headsets),
		"--rate", strconv.Itoa(botRate), "--duration", c.duration.String(), "--warmup", c.warmup.String(),
		"--iface", "lo", "--grab", "--json"}
	if sealed {
		// A venue passphrase of this run's own.
		pass := crand.Text()
		passFile, err := toolrun.WriteSecret("arcade-latency-passphrase-", pass)
		if err != nil {
			return err
		}
		defer os.Remove(passFile)
		sargs = append(sargs, "--passphrase-file", passFile)
		bargs = append(bargs, "--passphrase", pass)
	}
	r.ServerArgv = c.place.serverCmd(sargs)
	r.BotArgv = c.place.botCmd(bargs)

	srv, err := start(r.ServerArgv)
	if err != nil {
		return fmt.Errorf("start arcade-server: %w", err)
	}
	defer func() {
		code := srv.stop(stopTimeout)
		r.ServerExit = &code
		r.ServerStderr = srv.stderr.Tail(8)
	}()
	if err := waitUp(ctx, api, srv); err != nil {
		return fmt.Errorf("arcade-server did not answer %s: %w", api, err)
	}
	c.logf("arcade-server on %s, http %s, group %s", gameAddr, api, group)
	_, st0, err := getStats(api)
	if err != nil {
		return err
	}
	base := 0.0
	if st0.Clients != nil {
		base = *st0.Clients
	}

	bot, err := start(r.BotArgv)
	if err != nil {
		return fmt.Errorf("start arcade-bot: %w", err)
	}
	collected := false
	collect := func(d time.Duration) error {
		collected = true
		return r.collectBot(bot, d)
	}
	defer func() {
		if !collected {
			bot.stop(3 * time.Second)
		}
	}()

	// The bots' warm-up starts once all of them are connected: wait for
	// the server to count them (or for the bots' own connect limit).
	botStart := time.Now()
	for end := botStart.Add(connectWait); time.Now().Before(end) && !bot.exited(); {
		if _, st, err := getStats(api); err == nil && st.Clients != nil && *st.Clients >= base+float64(r.Headsets) {
			r.AllConnected = true
			break
		}
		if err := sleepCtx(ctx, pollEvery, nil); err != nil {
			return err
		}
	}
	r.ConnectedAfterS = time.Since(botStart).Seconds()
	if err := sleepCtx(ctx, c.warmup, bot.done); err != nil {
		if ctx.Err() == nil {
			err = errors.Join(err, collect(0))
		}
		return fmt.Errorf("before the window: %w", err)
	}
	if err := resetStats(api, token); err != nil {
		return err
	}
	steal := watchSteal()
	t0 := time.Now()
	_, stStart, err := getStats(api)
	if err != nil {
		return err
	}
	// The window ends after --duration, or when the bots stop if they do
	// first (their warm-up began before this command saw them connected).
	r.WindowEnd = "duration"
	if err := sleepCtx(ctx, c.duration-time.Since(t0), bot.done); err != nil {
		if ctx.Err() != nil {
			return err
		}
		if time.Since(t0) < c.duration { // not both at once
			r.WindowEnd = "arcade-bot exited"
		}
	}
	raw, stEnd, err := getStats(api)
	r.WindowS = time.Since(t0).Seconds()
	r.Steal = steal.done()
	if err != nil {
		return err
	}
	r.Server, r.ServerRaw = stEnd, raw
	r.Counters.Ticks = delta(stStart.Ticks, stEnd.Ticks)
	r.Counters.MissedTicks = delta(stStart.MissedTicks, stEnd.MissedTicks)
	r.Counters.TicksLateHost = delta(stStart.TicksLateHost, stEnd.TicksLateHost)
	r.Counters.TicksLateArcade = delta(stStart.TicksLateArcade, stEnd.TicksLateArcade)
	r.Counters.TicksLateUnkn = delta(stStart.TicksLateUnknown, stEnd.TicksLateUnknown)

	if err := collect(c.warmup + c.duration + botSlack); err != nil {
		return err
	}
	if r.WindowS < minWindow*c.duration.Seconds() {
		return fmt.Errorf("the window lasted %.2f s of %v: arcade-bot ended early", r.WindowS, c.duration)
	}
	if n := stEnd.ServerAddedSamples; n != nil && *n == 0 {
		return fmt.Errorf("the server measured no input in the window (%d of %d bots ended early)", len(r.Bot.Errors), r.Headsets)
	}
	return nil
}

// collectBot waits up to d for the bot to exit (then kills it) and reads
// its report.
func (r *ArcadeRun) collectBot(bot *proc, d time.Duration) error {
	code := bot.wait(d)
	r.BotExit = &code
	r.BotStderr = bot.stderr.Tail(8)
	out := bytes.TrimSpace(bot.stdout.Bytes())
	if len(out) == 0 || !json.Valid(out) {
		return fmt.Errorf("arcade-bot exited %d without a JSON report: %s", code, r.BotStderr)
	}
	r.BotRaw = out
	var err error
	if r.Bot, err = parseBotStats(out); err != nil {
		return err
	}
	if r.Bot.ClientsConnected == nil || *r.Bot.ClientsConnected == 0 {
		return fmt.Errorf("arcade-bot exited %d, no bot connected: %s", code, strings.Join(r.Bot.Errors, "; "))
	}
	return nil
}

// waitUp polls /api/stats until it answers, the server exits or
// startTimeout passes.
func waitUp(ctx context.Context, api string, p *proc) error {
	end := time.Now().Add(startTimeout)
	for {
		_, _, err := getStats(api)
		if err == nil {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("arcade-server exited: %s", p.stderr.Tail(8))
		}
		if time.Now().After(end) {
			return err
		}
		if err := sleepCtx(ctx, 50*time.Millisecond, nil); err != nil {
			return err
		}
	}
}
