package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arcadexr/arcade/tools/internal/toolrun"
)

// sealedRun is what one run of TestSealedCaptureStats gives: arcade-cap's
// report of the server's capture, and what the bots say they sent.
type sealedRun struct {
	file string
	rep  Report
	sent map[string]uint64 // inputs sent, by bot name and path
}

// botReport is the part of arcade-bot --json this test reads.
type botReport struct {
	Clients []struct {
		Name       string `json:"name"`
		InputsSent uint64 `json:"inputs_sent"`
	} `json:"clients"`
}

// TestSealedCaptureStats runs the real arcade-server with --capture and
// four arcade-bot headsets (three on multicast, one on unicast) on
// loopback, once in clear and once with a venue passphrase, and reads each
// capture with arcade-cap --stats. With --passphrase-file the sealed
// capture gives the same figures as the open one, within 1 %: every
// headset's poses against the inputs its bot sent (the reference measured
// in the same run), the share of them reported back by a state, and the
// loss both ways; nothing stays sealed. Without the passphrase it decodes
// nothing after the handshakes and says the passphrase is what is
// missing; with a wrong one it stops, saying so.
func TestSealedCaptureStats(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server and the bots; skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	dir := t.TempDir()
	if err := toolrun.Build(ctx, dir, "./cmd/arcade-server", "./tools/arcade-bot"); err != nil {
		t.Fatal(err)
	}
	const passphrase = "lantern orchard 42"
	passFile := filepath.Join(dir, "passphrase")
	if err := os.WriteFile(passFile, []byte(passphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	open := runCaptured(ctx, t, dir, "")
	sealed := runCaptured(ctx, t, dir, passFile)

	// Without the passphrase: sealed, and the report says what to give.
	var plain bytes.Buffer
	if code := run([]string{"--stats", "--json", sealed.file}, &plain, &bytes.Buffer{}); code != 0 {
		t.Fatalf("arcade-cap --stats without the passphrase: exit %d", code)
	}
	var undecoded Report
	if err := json.Unmarshal(plain.Bytes(), &undecoded); err != nil {
		t.Fatal(err)
	}
	if undecoded.Sealed == 0 || undecoded.Decrypted != 0 || !strings.Contains(undecoded.Missing, "--passphrase-file") {
		t.Fatalf("without the passphrase: %d sealed, %d decrypted, missing %q", undecoded.Sealed, undecoded.Decrypted, undecoded.Missing)
	}
	for _, c := range undecoded.Clients {
		if c.Poses != 0 {
			t.Fatalf("without the passphrase, client %d shows %d poses", c.ClientID, c.Poses)
		}
	}
	// With another passphrase: an error naming it.
	wrong := filepath.Join(dir, "wrong")
	os.WriteFile(wrong, []byte("not it\n"), 0o600)
	var errOut bytes.Buffer
	if code := run([]string{"--stats", "--passphrase-file", wrong, sealed.file}, &bytes.Buffer{}, &errOut); code != 1 || !strings.Contains(errOut.String(), "does not open with this passphrase") {
		t.Fatalf("a wrong passphrase: exit %d, %q", code, errOut.String())
	}

	if sealed.rep.Sealed != 0 || sealed.rep.Decrypted == 0 || sealed.rep.Missing != "" {
		t.Fatalf("with the passphrase: %d still sealed (%q), %d decrypted", sealed.rep.Sealed, sealed.rep.Missing, sealed.rep.Decrypted)
	}
	if open.rep.Decrypted != 0 || open.rep.Sealed != 0 {
		t.Fatalf("the open run: %d sealed, %d decrypted", open.rep.Sealed, open.rep.Decrypted)
	}
	figures := func(r sealedRun) map[string]float64 {
		f := map[string]float64{"clients": float64(len(r.rep.Clients)), "malformed": float64(r.rep.Malformed)}
		for _, c := range r.rep.Clients {
			k := c.Name + "/" + c.Path
			if c.Path != "unicast" {
				k = c.Name + "/multicast"
			}
			if r.sent[k] == 0 {
				t.Fatalf("%s: client %s sent nothing by its bot's count", r.file, k)
			}
			f[k+" poses/sent"] = float64(c.Poses) / float64(r.sent[k])
			f[k+" reported/poses"] = float64(c.InputToState.Samples) / float64(max(c.Poses, 1))
			f[k+" up loss %"] = c.UpLoss.LossPct
			f[k+" down loss %"] = c.DownLoss.LossPct
			f[k+" types from client"] = float64(len(c.FromClientTypes))
		}
		for _, g := range r.rep.Groups {
			t.Logf("%s: group %v types %v", r.file, g.Group, g.Types)
			f["group types"] += float64(len(g.Types))
			f["group loss %"] += g.Loss.LossPct
		}
		return f
	}
	fo, fs := figures(open), figures(sealed)
	keys := make([]string, 0, len(fo))
	for k := range fo {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a, b := fo[k], fs[k]
		t.Logf("%-40s open %8.4f sealed %8.4f", k, a, b)
		switch {
		case strings.HasSuffix(k, "loss %"): // percentages: 1 point
			if math.Abs(a-b) > 1 {
				t.Errorf("%s: open %.3f, sealed %.3f", k, a, b)
			}
		case math.Abs(a-b) > 0.01*math.Max(math.Abs(a), 1e-9) && a != b:
			t.Errorf("%s: open %.4f, sealed %.4f: more than 1 %% apart", k, a, b)
		}
	}
	if len(fs) != len(fo) {
		t.Errorf("the sealed run has %d figures, the open one %d", len(fs), len(fo))
	}
}

// runCaptured runs the server with --capture (and --passphrase-file when
// passFile is set) and the bots to their end, then reads the capture.
func runCaptured(ctx context.Context, t *testing.T, dir, passFile string) sealedRun {
	t.Helper()
	gamePort, err1 := toolrun.FreePort("udp")
	groupPort, err2 := toolrun.FreePort("udp")
	httpPort, err3 := toolrun.FreePort("tcp")
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatal(err1, err2, err3)
	}
	game := fmt.Sprintf("127.0.0.1:%d", gamePort)
	group := fmt.Sprintf("239.255.%d.%d:%d", 1+gamePort%250, 1+groupPort%250, groupPort)
	label := "open"
	if passFile != "" {
		label = "sealed"
	}
	file := filepath.Join(dir, label+".pcapng")
	args := []string{"--listen", game, "--http", fmt.Sprintf("127.0.0.1:%d", httpPort), "--iface", "lo",
		"--multicast", group, "--discovery=false", "--capture", file, "--idle-timeout", "30s"}
	if passFile != "" {
		args = append(args, "--passphrase-file", passFile)
	}
	var srvErr toolrun.CapBuffer
	srvErr.Max = 1 << 16
	srv := exec.Command(filepath.Join(dir, "arcade-server"), args...)
	srv.Stdout, srv.Stderr = &srvErr, &srvErr
	srv.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = srv.Wait(); close(exited) }()
	defer func() {
		srv.Process.Kill()
		<-exited
	}()
	api := fmt.Sprintf("http://127.0.0.1:%d/api/stats", httpPort)
	for up := false; !up; {
		select {
		case <-exited:
			t.Fatalf("%s server exited: %v\n%s", label, waitErr, srvErr.Tail(20))
		case <-ctx.Done():
			t.Fatalf("%s server did not answer: %s", label, srvErr.Tail(20))
		case <-time.After(50 * time.Millisecond):
		}
		if resp, err := http.Get(api); err == nil {
			resp.Body.Close()
			up = resp.StatusCode == http.StatusOK
		}
	}
	sent := map[string]uint64{}
	bots := []struct {
		path string
		args []string
	}{
		{"multicast", []string{"--clients", "3"}},
		{"unicast", []string{"--clients", "1", "--unicast"}},
	}
	outs := make([]*bytes.Buffer, len(bots))
	cmds := make([]*exec.Cmd, len(bots))
	for i, b := range bots {
		a := append([]string{"--server", game, "--rate", "60", "--duration", "2s", "--iface", "lo", "--json"}, b.args...)
		if passFile != "" {
			a = append(a, "--passphrase", "lantern orchard 42")
		}
		outs[i] = &bytes.Buffer{}
		cmds[i] = exec.CommandContext(ctx, filepath.Join(dir, "arcade-bot"), a...)
		cmds[i].Stdout = outs[i]
		cmds[i].SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, b := range bots {
		if err := cmds[i].Wait(); err != nil {
			t.Fatalf("%s bots (%s): %v\n%s", label, b.path, err, outs[i])
		}
		var r botReport
		if err := json.Unmarshal(outs[i].Bytes(), &r); err != nil {
			t.Fatalf("%s bots: %v\n%s", label, err, outs[i])
		}
		for _, c := range r.Clients {
			sent[c.Name+"/"+b.path] = c.InputsSent
		}
	}
	srv.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s server did not stop: %s", label, srvErr.Tail(20))
	}
	var out, errOut bytes.Buffer
	a := []string{"--stats", "--json", file}
	if passFile != "" {
		a = append([]string{"--passphrase-file", passFile}, a...)
	}
	if code := run(a, &out, &errOut); code != 0 {
		t.Fatalf("arcade-cap %v: exit %d: %s", a, code, errOut.String())
	}
	r := sealedRun{file: file, sent: sent}
	if err := json.Unmarshal(out.Bytes(), &r.rep); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPassphraseFileFlag: --passphrase-file with --live, or naming an
// empty file, is a flag error saying why.
func TestPassphraseFileFlag(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("lantern\n"), 0o600)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--live", "lo", "--passphrase-file", good}, "a live capture holds no keys"},
		{[]string{"--passphrase-file", empty, "x.pcapng"}, "first line is empty"},
		{[]string{"--passphrase-file", filepath.Join(dir, "absent"), "x.pcapng"}, "no such file"},
	} {
		var errOut bytes.Buffer
		if code := run(c.args, &bytes.Buffer{}, &errOut); code != 2 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, errOut.String(), c.want)
		}
	}
	o, err := parseFlags([]string{"--passphrase-file", good, "x.pcapng"}, &bytes.Buffer{})
	if err != nil || o.passphrase != "lantern" {
		t.Fatalf("a good file: %+v, %v", o, err)
	}
}
