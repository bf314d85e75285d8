package model

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// check runs spin on failover.pml with defs, compiles the verifier with
// cflags and runs it with args, and returns its output. It skips when spin
// or a C compiler is missing.
func check(t *testing.T, defs, cflags, args []string) string {
	t.Helper()
	spin, err := exec.LookPath("spin")
	if err != nil {
		t.Skip("spin not installed (apt-get install spin): the failover model is not checked")
	}
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc): the failover model is not checked")
	}
	src, err := os.ReadFile("failover.pml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "failover.pml"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := func(name string, arg ...string) string {
		cmd := exec.CommandContext(ctx, name, arg...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil && name != "./pan" { // pan exits non-zero on a violation
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(arg, " "), err, out)
		}
		return string(out)
	}
	run(spin, append(append([]string{}, defs...), "-a", "failover.pml")...)
	run(cc, append(append([]string{"-O1", "-w", "-o", "pan"}, cflags...), "pan.c")...)
	return run("./pan", args...)
}

var (
	errorsRe = regexp.MustCompile(`errors: (\d+)`)
	storedRe = regexp.MustCompile(`(\d+) states, stored`)
)

func result(t *testing.T, out string) (errors, states string) {
	t.Helper()
	e, s := errorsRe.FindStringSubmatch(out), storedRe.FindStringSubmatch(out)
	if e == nil || s == nil {
		t.Fatalf("no result in the verifier's output:\n%s", out)
	}
	return e[1], s[1]
}

var safety = []string{"-DSAFETY", "-DCOLLAPSE"}

// TestSafety: S1, S2, S3 and S4 hold in every reachable state, every
// message lost or not, servers crashing, restarting and cut off, standbys
// suspecting a live active they do not hear on the group.
func TestSafety(t *testing.T) {
	t.Parallel()
	out := check(t, nil, safety, []string{"-m100000"})
	errs, states := result(t, out)
	if errs != "0" {
		t.Fatalf("spin finds a violation:\n%s", out)
	}
	if strings.Contains(out, "max search depth too small") {
		t.Fatalf("search depth too small, the search was cut:\n%s", out)
	}
	t.Logf("safety: %s states, no violation", states)
}

// TestReorderSafety: the same with two datagrams in flight to each
// headset, read in any order, so one server's datagrams are reordered too.
func TestReorderSafety(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: the reordering run is the longest")
	}
	out := check(t, []string{"-DHCAP=2"}, safety, []string{"-m100000"})
	errs, states := result(t, out)
	if errs != "0" || strings.Contains(out, "max search depth too small") {
		t.Fatalf("spin finds a violation or cut the search:\n%s", out)
	}
	t.Logf("safety with reordering: %s states, no violation", states)
}

// TestLiveness: with finitely many faults and weak fairness, eventually for
// ever exactly one server is active and every headset follows it.
func TestLiveness(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: the liveness run takes seconds")
	}
	out := check(t, []string{"-DLIVE"}, []string{"-DCOLLAPSE", "-DNFAIR=3"}, []string{"-a", "-f", "-m100000"})
	errs, states := result(t, out)
	if errs != "0" || strings.Contains(out, "max search depth too small") {
		t.Fatalf("spin finds an acceptance cycle or cut the search:\n%s", out)
	}
	t.Logf("liveness: %s states, no acceptance cycle", states)
}

// TestMutations: each rule is needed: without it spin finds the violation
// of the property it protects.
func TestMutations(t *testing.T) {
	t.Parallel()
	for _, m := range []struct{ def, assert string }{
		{"NOFENCE", "e>=hE[h]"},               // S2: headsets take every state
		{"NOSTEPDOWN", "epoch[me]>=seen[me]"}, // S3: a server that saw a higher epoch writes on
		{"NOPARITY", "writer[e]==0"},          // S1: two takeovers under one epoch
		{"NOGROUP", "!(gh)"},                  // S4: a suspicion while the group hears the active
	} {
		t.Run(m.def, func(t *testing.T) {
			t.Parallel()
			out := check(t, []string{"-D" + m.def}, safety, []string{"-m100000"})
			errs, states := result(t, out)
			if errs == "0" || !strings.Contains(out, "assertion violated") || !strings.Contains(out, m.assert) {
				t.Fatalf("-D%s: want a violation of the assertion with %q:\n%s", m.def, m.assert, out)
			}
			t.Logf("-D%s: violation found after %s states", m.def, states)
		})
	}
}
