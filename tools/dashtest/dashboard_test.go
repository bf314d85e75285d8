package dashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arcadexr/arcade/internal/testnet"
	"github.com/arcadexr/arcade/internal/wait"
	"github.com/arcadexr/arcade/tools/internal/headless"
)

// dashboardRE finds the dashboard's address, with the token, in the
// server's log.
var dashboardRE = regexp.MustCompile(`dashboard="?(http://[^\s"]+/#token=([0-9a-f]{64}))`)

// repoRoot is the module root: the test runs in tools/dashtest.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from %s: %v", root, err)
	}
	return root
}

// output is a process's output so far, safe to read while it runs.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(b)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// start runs a binary whose output goes to a buffer logged at the end, and
// registers its stop: SIGTERM, then SIGKILL after two seconds. The channel
// is closed when the process has exited.
func start(t *testing.T, ctx context.Context, name string, args ...string) (*exec.Cmd, <-chan struct{}, *output) {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	out := &output{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 2 * time.Second
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT) // in case the test stopped it
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		t.Logf("%s output:\n%s", filepath.Base(name), strings.TrimSpace(out.String()))
	})
	return cmd, done, out
}

// writeArtifact writes b to path through a file of this process's own and
// a rename: two test runs at once leave one whole file, never a mix.
func writeArtifact(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// eval runs a JavaScript expression in the page and returns its value.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %q: %v", js, err)
	}
	return v
}

// waitFor waits until a JavaScript condition on the page's DOM is true:
// the page evaluates it at once and again on every DOM change, until d
// has passed.
func waitFor(t *testing.T, ctx context.Context, what, js string, d time.Duration) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(d))); err != nil {
		t.Fatalf("waiting for %s (%s), up to %v: %v", what, js, d, err)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// inkJS counts the pixels of a canvas that are not transparent: the
// dashboard clears its canvases to transparent before drawing.
const inkJS = `(() => {
	const c = document.querySelector(%q);
	const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
	let n = 0;
	for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
	return n;
})()`

// colorJS counts the pixels of a canvas within a few levels of an RGB colour.
const colorJS = `(() => {
	const c = document.querySelector(%q);
	const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
	let n = 0;
	for (let i = 0; i < d.length; i += 4)
		if (d[i+3] === 255 && Math.abs(d[i]-%d) < 8 && Math.abs(d[i+1]-%d) < 8 && Math.abs(d[i+2]-%d) < 8) n++;
	return n;
})()`

func TestDashboardInChromium(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("dashtest runs arcade-server (Linux only) and Debian's chromium")
	}
	headless.SkipWithout(t, "the dashboard browser test")
	root := repoRoot(t)

	// Build the server and the bot (its own budget: a loaded machine with a
	// cold build cache takes a while).
	bin := t.TempDir()
	bctx, bcancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer bcancel()
	build := exec.CommandContext(bctx, "go", "build", "-o", bin+string(filepath.Separator), "./cmd/arcade-server", "./tools/arcade-bot")
	build.Dir = root
	build.SysProcAttr = childAttr()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The server on loopback, multicast on lo to a group of this run's own,
	// at normal priority; its discovery under a name and on a beacon port
	// no other run uses.
	udpPorts := testnet.UDPPorts(t, 3)
	game, beacon, httpPort := udpPorts[0], udpPorts[2], testnet.TCPPort(t)
	group := netip.AddrPortFrom(testnet.GroupAddr(), udpPorts[1])
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	_, serverDone, serverOut := start(t, ctx, filepath.Join(bin, "arcade-server"),
		"--listen", fmt.Sprintf("127.0.0.1:%d", game), "--iface", "lo",
		"--http", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"--multicast", group.String(), "--rt-priority", "0",
		"--name", fmt.Sprintf("dashtest %d-%d", os.Getpid(), game), "--beacon-port", fmt.Sprint(beacon))
	var apiErr error
	up := wait.Until(30*time.Second, func() bool {
		select {
		case <-serverDone:
			t.Fatal("arcade-server exited")
		default:
		}
		resp, err := http.Get(base + "/api/stats")
		if apiErr = err; err != nil {
			return false
		}
		resp.Body.Close()
		apiErr = fmt.Errorf("GET /api/stats: %s", resp.Status)
		return resp.StatusCode == http.StatusOK
	})
	if !up {
		t.Fatalf("server's HTTP API not up: %v", apiErr)
	}
	// The operator opens the address the server printed, token and all;
	// by then a request that changes state without it is refused.
	m := dashboardRE.FindStringSubmatch(serverOut.String())
	if m == nil {
		t.Fatalf("the server did not print the dashboard's address with a token")
	}
	dashURL, token := m[1], m[2]
	if !strings.HasPrefix(dashURL, base+"/#token=") {
		t.Fatalf("dashboard address %q is not on %s", dashURL, base)
	}
	if resp, err := http.Post(base+"/api/stats/reset", "", nil); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("POST /api/stats/reset without the token: %s (WWW-Authenticate %q), want 401 with a challenge", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}
	// Headless Chromium with a fresh profile.
	page := headless.Open(ctx, t)
	if err := chromedp.Do(page, chromedp.Navigate(dashURL)); err != nil {
		t.Fatalf("open the dashboard: %v", err)
	}
	// The waits below return as soon as the page shows what they wait for;
	// their timeouts only bound a failing run.
	const pageTimeout = 30 * time.Second
	waitFor(t, page, "the event stream", `document.querySelector('#conn').textContent === 'live'`, pageTimeout)
	// The page took the token out of the address bar and kept it for the tab.
	if h := eval[string](t, page, `location.hash`); h != "" {
		t.Errorf("the token is still in the address bar: %q", h)
	}
	if got := eval[string](t, page, `sessionStorage.getItem('arcade-operator-token') || ''`); got != token {
		t.Errorf("the page keeps token %q, want the printed %q", got, token)
	}
	if eval[bool](t, page, `document.querySelector('#reset').disabled`) {
		t.Errorf("the reset button is disabled with the token")
	}

	// The bots start once the page is live, and run for longer than the
	// test needs them (the cleanup stops them), so the lagging check below
	// finds them running on a slow machine too.
	bot, botDone, _ := start(t, ctx, filepath.Join(bin, "arcade-bot"),
		"--server", fmt.Sprintf("127.0.0.1:%d", game), "--clients", "4", "--rate", "90",
		"--duration", "90s", "--iface", "lo", "--grab")

	rows := `document.querySelectorAll('#clients tbody tr').length`
	waitFor(t, page, "4 headsets in the table", rows+` === 4`, pageTimeout)

	// A live figure changes: the first headset's input count.
	inputs := `document.querySelector('#clients tbody tr[data-id] td.inputs').textContent`
	first := eval[string](t, page, inputs)
	changed := time.Now()
	waitFor(t, page, "the input count to change from "+first, inputs+` !== `+jsString(first), pageTimeout)
	second := eval[string](t, page, inputs)
	t.Logf("first headset's inputs: %s, then %s after %v", first, second, time.Since(changed).Round(time.Millisecond))
	waitFor(t, page, "an input rate", `[...document.querySelectorAll('#clients td.rate')].every(td => /\d+ Hz/.test(td.textContent))`, pageTimeout)
	// Every headset shows a measured RTT and its own input→state latency.
	waitFor(t, page, "an RTT per headset", `[...document.querySelectorAll('#clients td.rtt')].every(td => /^\d+\.\d+ ms$/.test(td.textContent))`, pageTimeout)
	waitFor(t, page, "a latency per headset", `[...document.querySelectorAll('#clients tbody tr[data-id]')].every(tr => / \/ .* ms$/.test(tr.querySelector('td.lat').textContent))`, pageTimeout)

	// The charts drew: non-transparent pixels, and the budget chart's Δt
	// line (#ff5d5d) and the venue's player heads (palette colours).
	for _, c := range []struct {
		sel string
		min int
	}{{"#budget", 2000}, {"#latency", 2000}, {"#venue", 5000}, {"#spark-latency", 30}, {"#spark-loss", 30}, {"#spark-budget", 30}} {
		if n := eval[int](t, page, fmt.Sprintf(inkJS, c.sel)); n < c.min {
			t.Errorf("canvas %s has %d drawn pixels, want at least %d", c.sel, n, c.min)
		} else {
			t.Logf("canvas %s: %d drawn pixels", c.sel, n)
		}
	}
	if n := eval[int](t, page, fmt.Sprintf(colorJS, "#budget", 0xff, 0x5d, 0x5d)); n < 100 {
		t.Errorf("tick budget chart: no Δt line (%d red pixels)", n)
	}
	// The box's own limits beside the tick budget: the host probe's timer
	// lateness and the CPU steal as text, and its p99 as a line on the
	// chart (#ffb454).
	waitFor(t, page, "the host's timer lateness and steal",
		`/ \/ /.test(document.querySelector('#host-late').textContent) && /\d+\.\d %/.test(document.querySelector('#host-steal').textContent) && / \/ /.test(document.querySelector('#late-ticks').textContent)`, pageTimeout)
	t.Logf("host: timer lateness %s, steal %s, late ticks host/Arcade %s; %s",
		eval[string](t, page, `document.querySelector('#host-late').textContent`),
		eval[string](t, page, `document.querySelector('#host-steal').textContent`),
		eval[string](t, page, `document.querySelector('#late-ticks').textContent`),
		eval[string](t, page, `document.querySelector('#host-note').textContent`))
	if n := eval[int](t, page, fmt.Sprintf(colorJS, "#budget", 0xff, 0xb4, 0x54)); n < 30 {
		t.Errorf("tick budget chart: no host timer lateness line (%d amber pixels)", n)
	}
	if n := eval[int](t, page, fmt.Sprintf(colorJS, "#venue", 0xff, 0x6b, 0x6b)); n < 50 {
		t.Errorf("venue view: player 1's head is not drawn (%d pixels of its colour)", n)
	}
	// The sparklines hold a point per update, measured ones once the
	// recent window has passed.
	waitFor(t, page, "sparkline points", `['latency', 'loss', 'budget'].every(k => window.arcadeDashboard.sparks[k].filter(v => v != null).length >= 4)`, pageTimeout)
	if n := eval[int](t, page, `window.arcadeDashboard.sparks.latency.filter(v => v > 0).length`); n < 4 {
		t.Errorf("server-added p99 sparkline: %d positive points", n)
	}
	if n := eval[int](t, page, `window.arcadeDashboard.last.world.players.length`); n != 4 {
		t.Errorf("%d players in the world view, want 4", n)
	}

	// The reset button: its POST carries the token, and the histograms
	// start again from few samples.
	samples := `window.arcadeDashboard.last.stats.server_added_samples`
	waitFor(t, page, "latency samples to pile up", samples+` > 500`, pageTimeout)
	before := eval[int](t, page, samples)
	if _, err := chromedp.Run(page, chromedp.Click(chromedp.ID("reset"))); err != nil {
		t.Fatalf("click the reset button: %v", err)
	}
	waitFor(t, page, "the reset to be reported", `/^measurements reset at /.test(document.querySelector('#reset-status').textContent)`, pageTimeout)
	waitFor(t, page, "fewer samples after the reset", samples+` < `+fmt.Sprint(before/2), pageTimeout)
	t.Logf("reset from the page: %d latency samples before, %d after (%q)", before, eval[int](t, page, samples),
		eval[string](t, page, `document.querySelector('#reset-status').textContent`))

	shot, err := chromedp.Run(page, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := filepath.Join(root, "bin")
	if a := os.Getenv("ARTIFACTS_DIR"); a != "" {
		dir = a
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "dashboard.png")
	if err := writeArtifact(path, shot); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))

	// Freeze the bots: every headset goes idle and is flagged as lagging
	// before the server's idle timeout removes it.
	select {
	case <-botDone:
		t.Log("the bots finished before the lagging check (slow machine?); skipped it")
		return
	default:
	}
	if err := bot.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("stop the bots: %v", err)
	}
	// A headset may already be flagged for another reason (a loaded
	// machine can make the server move one to unicast): wait for one
	// flagged as idle.
	idle := `[...document.querySelectorAll('#clients tr.lagging td.status')].some(td => td.textContent.includes('idle'))`
	waitFor(t, page, "a headset flagged as lagging because idle", idle, pageTimeout)
	t.Logf("lagging headsets: %q", eval[[]string](t, page, `[...document.querySelectorAll('#clients tr.lagging td.status')].map(td => td.textContent)`))
	if shot, err := chromedp.Run(page, chromedp.FullScreenshot(100)); err == nil {
		lag := filepath.Join(dir, "dashboard-lagging.png")
		if writeArtifact(lag, shot) == nil {
			t.Logf("screenshot with lagging headsets: %s", lag)
		}
	}
}
