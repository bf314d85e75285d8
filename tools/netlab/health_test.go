//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arcadexr/arcade/tools/internal/headless"
	"github.com/arcadexr/arcade/tools/netlab/internal/lab"
	"github.com/arcadexr/arcade/tools/netlab/internal/relay"
)

// The dashboard health test: 5 headsets, 2 of them behind 6 % random loss
// each way (nftables in their own namespaces), the dashboard open in
// headless Chromium. The dashboard must flag exactly those 2, with loss
// figures that show it, while the loss lasts, and clear them after it
// ends; /metrics must show the same. How long flagging and clearing took is
// reported (the bound is 10 s each); the limits below only stop a
// hung run.
const (
	healthPrefix   = "health"
	healthHeadsets = 5
	healthLossPct  = 6
	healthTimeout  = 3 * time.Minute
	healthHung     = 40 * time.Second // waiting for a flag or a clear
)

// healthLossy are the headsets (1-based) behind the loss.
var healthLossy = map[int]bool{2: true, 4: true}

func TestDashboardFlagsLossyHeadsets(t *testing.T) {
	if err := lab.Available(); err != nil {
		t.Skipf("dashboard health lab test skipped: %v", err)
	}
	headless.SkipWithout(t, "dashboard health lab test")
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("dashboard health lab test skipped: no nft (tools/install-lab-deps.sh installs nftables)")
	}
	bin := buildBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	l, err := lab.Build(ctx, lab.Config{Prefix: healthPrefix, Headsets: healthHeadsets})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // registered first: runs last
		if err := l.Close(); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})

	// A relay that adds nothing: the loss is nftables' alone.
	proc, err := relay.Spawn(selfCommand(t, l.AP, "relay", "--profile", "wired", "--seed", "1"))
	if err != nil {
		t.Fatal(err)
	}
	defer proc.Stop()

	srvAddr := netip.AddrPortFrom(lab.SrvAddr, gamePort).String()
	httpAddr := netip.AddrPortFrom(lab.SrvAddr, httpPort).String()
	srvCtx, srvCancel := context.WithCancel(ctx)
	defer srvCancel()
	var srvOut strings.Builder
	var srvMu sync.Mutex
	scmd := lab.Command(srvCtx, l.Srv, bin+"/arcade-server", "--iface", lab.SrvIface, "--listen", srvAddr,
		"--http", httpAddr, "--multicast", mcastGroup, "--rt-priority", "0")
	scmd.Stdout = lockedWriter{&srvMu, &srvOut}
	scmd.Stderr = scmd.Stdout
	if err := scmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		srvCancel()
		scmd.Wait()
		if t.Failed() {
			srvMu.Lock()
			t.Logf("server output:\n%s", srvOut.String())
			srvMu.Unlock()
		}
	}()

	// The dashboard is served inside the server's namespace; a proxy on
	// this namespace's loopback, dialling from inside that namespace, lets
	// Chromium and the /metrics reads reach it.
	proxy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	go serveNSProxy(proxy, l.Srv, httpAddr)
	base := "http://" + proxy.Addr().String()
	if !pollUntil(ctx, 30*time.Second, func() bool {
		resp, err := http.Get(base + "/api/stats")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		t.Fatal("server's HTTP API not up through the proxy")
	}

	// The bots, one per headset, for longer than the test needs.
	addrOf := map[string]int{} // headset address → headset number
	for i, h := range l.Headsets {
		addrOf[h.Addr.String()] = i + 1
		bcmd := lab.Command(ctx, h.NS, bin+"/arcade-bot", "--clients", "1", "--iface", h.Iface, "--rate", "90",
			"--duration", "150s", "--server", srvAddr)
		if err := bcmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { bcmd.Process.Kill(); bcmd.Wait() }()
	}

	page := headless.Open(ctx, t)
	if _, err := chromedp.Run(page, chromedp.Navigate(base+"/")); err != nil {
		t.Fatalf("open the dashboard: %v", err)
	}

	// rows reads the headsets table: per row, the headset number (from its
	// address), whether it is flagged, its status and its loss cell.
	type row struct {
		Addr    string `json:"addr"`
		Lagging bool   `json:"lagging"`
		Status  string `json:"status"`
		Loss    string `json:"loss"`
	}
	const rowsJS = `[...document.querySelectorAll('#clients tbody tr[data-id]')].map(tr => ({
		addr: tr.querySelector('td.addr').textContent, lagging: tr.classList.contains('lagging'),
		status: tr.querySelector('td.status').textContent, loss: tr.querySelector('td.loss').textContent}))`
	rows := func() []row {
		rs, err := chromedp.Run(page, chromedp.Evaluate[[]row](rowsJS))
		if err != nil {
			t.Fatalf("read the table: %v", err)
		}
		return rs
	}
	headset := func(r row) int {
		ap, err := netip.ParseAddrPort(r.Addr)
		if err != nil {
			return 0
		}
		return addrOf[ap.Addr().String()]
	}
	// flagged returns the flagged headsets, and whether all 5 are shown.
	flagged := func() (map[int]row, bool) {
		rs := rows()
		f := map[int]row{}
		for _, r := range rs {
			if r.Lagging {
				f[headset(r)] = r
			}
		}
		return f, len(rs) == healthHeadsets
	}
	if !pollUntil(ctx, healthHung, func() bool { f, all := flagged(); return all && len(f) == 0 }) {
		f, _ := flagged()
		t.Fatalf("5 healthy headsets not shown, or some flagged before any loss: %v", f)
	}
	// A few seconds of a healthy run, so the loss starts mid-session.
	time.Sleep(3 * time.Second)

	setLoss := func(on bool) {
		for i, h := range l.Headsets {
			if !healthLossy[i+1] {
				continue
			}
			var script string
			if on {
				script = fmt.Sprintf(`add table inet arcadeloss
add chain inet arcadeloss in { type filter hook input priority 0; }
add chain inet arcadeloss out { type filter hook output priority 0; }
add rule inet arcadeloss in meta l4proto udp numgen random mod 100 < %d drop
add rule inet arcadeloss out meta l4proto udp numgen random mod 100 < %d drop
`, healthLossPct, healthLossPct)
			} else {
				script = "delete table inet arcadeloss\n"
			}
			cmd := lab.Command(ctx, h.NS, "nft", "-f", "-")
			cmd.Stdin = strings.NewReader(script)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("nft in headset %d: %v\n%s", i+1, err, out)
			}
		}
	}
	exactlyLossy := func(f map[int]row) bool {
		if len(f) != len(healthLossy) {
			return false
		}
		for n := range f {
			if !healthLossy[n] {
				return false
			}
		}
		return true
	}

	setLoss(true)
	lossOn := time.Now()
	var shown map[int]row
	if !pollUntil(ctx, healthHung, func() bool {
		f, _ := flagged()
		shown = f
		return exactlyLossy(f)
	}) {
		t.Fatalf("the dashboard did not flag exactly headsets 2 and 4 behind %d %% loss; flagged: %v", healthLossPct, shown)
	}
	flagTook := time.Since(lossOn)
	t.Logf("flagged %v after the loss began: %v", flagTook.Round(10*time.Millisecond), shown)
	// Once the recent windows (2 s multicast, 5 s upstream) hold only the
	// lossy stretch, the figures show loss both ways near the 6 % put on
	// the path, on exactly those headsets.
	converged := func(f map[int]row) bool {
		if !exactlyLossy(f) {
			return false
		}
		for _, r := range f {
			down, up, ok := parseLoss(r.Loss)
			if !ok || down < 3 || up < 3 || down > 12 || up > 12 || !strings.Contains(r.Status, "loss") {
				return false
			}
		}
		return true
	}
	if !pollUntil(ctx, healthHung, func() bool {
		f, _ := flagged()
		shown = f
		return converged(f)
	}) {
		t.Fatalf("flagged headsets' loss never showed both ways near %d %% on exactly headsets 2 and 4: %v", healthLossPct, shown)
	}
	t.Logf("%v after the loss began: %v", time.Since(lossOn).Round(10*time.Millisecond), shown)

	// /metrics says the same.
	met := scrapeClientLoss(t, base+"/metrics")
	for addr, n := range addrOf {
		v, ok := met[addr]
		if !ok {
			t.Errorf("/metrics has no recent upstream loss for headset %d (%s)", n, addr)
			continue
		}
		if healthLossy[n] != (v > 0.02) {
			t.Errorf("/metrics: headset %d's recent upstream loss %.3f, lossy %v", n, v, healthLossy[n])
		}
	}

	setLoss(false)
	lossOff := time.Now()
	if !pollUntil(ctx, healthHung, func() bool { f, all := flagged(); shown = f; return all && len(f) == 0 }) {
		t.Fatalf("the dashboard still flags %v after the loss ended", shown)
	}
	t.Logf("flagged %v after the loss began, cleared %v after it ended (the issue's bound: 10 s each)",
		flagTook.Round(10*time.Millisecond), time.Since(lossOff).Round(10*time.Millisecond))
}

// parseLoss reads the dashboard's loss cell, "↓ 5.9 % · ↑ 6.1 %".
func parseLoss(cell string) (down, up float64, ok bool) {
	f := strings.Fields(strings.NewReplacer("↓", " ", "↑", " ", "%", " ", "·", " ").Replace(cell))
	if len(f) != 2 {
		return 0, 0, false
	}
	d, err1 := strconv.ParseFloat(f[0], 64)
	u, err2 := strconv.ParseFloat(f[1], 64)
	return d, u, err1 == nil && err2 == nil
}

// scrapeClientLoss reads arcade_client_upstream_loss_recent_ratio per
// headset address from /metrics (the address is found through
// /api/stats, which lists each client's id and address).
func scrapeClientLoss(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(strings.TrimSuffix(url, "/metrics") + "/api/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		ClientList []struct {
			ID   int    `json:"id"`
			Addr string `json:"addr"`
		} `json:"client_list"`
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	addrOfID := map[string]string{}
	for _, c := range st.ClientList {
		if ap, err := netip.ParseAddrPort(c.Addr); err == nil {
			addrOfID[strconv.Itoa(c.ID)] = ap.Addr().String()
		}
	}
	resp, err = http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	const name = "arcade_client_upstream_loss_recent_ratio{"
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		i := strings.Index(line, `client="`)
		j := strings.LastIndex(line, " ")
		if i < 0 || j < 0 {
			continue
		}
		id, _, _ := strings.Cut(line[i+len(`client="`):], `"`)
		v, err := strconv.ParseFloat(line[j+1:], 64)
		if addr, ok := addrOfID[id]; ok && err == nil {
			out[addr] = v
		}
	}
	return out
}

// serveNSProxy accepts on ln and forwards each connection to addr, dialled
// from inside namespace ns, until ln is closed.
func serveNSProxy(ln net.Listener, ns, addr string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			var up net.Conn
			if err := lab.Do(ns, func() error {
				var err error
				up, err = net.DialTimeout("tcp", addr, 5*time.Second)
				return err
			}); err != nil {
				return
			}
			defer up.Close()
			done := make(chan struct{}, 2)
			go func() { io.Copy(up, c); done <- struct{}{} }()
			go func() { io.Copy(c, up); done <- struct{}{} }()
			<-done
		}()
	}
}

// pollUntil calls cond every 250 ms until it holds (true), limit passes or
// ctx ends (false).
func pollUntil(ctx context.Context, limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
