//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcadexr/arcade/tools/netlab/internal/lab"
)

// asCommandEnv makes this test binary the netlab command (its arguments are
// the command's), so that the tests run the relay child ("netlab relay")
// without building netlab; see selfCommand.
const asCommandEnv = "ARCADE_NETLAB_AS_COMMAND"

// TestMain is the netlab command when asCommandEnv is set. Otherwise it runs
// the tests under lab.RunGuarded: their temporary directories (and go
// build's) inside one of this run's own, removed at the end, and SIGINT or
// SIGTERM tearing the labs down before the binary exits.
func TestMain(m *testing.M) {
	if os.Getenv(asCommandEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(lab.RunGuarded(m.Run))
}

// selfCommand returns a command that runs "netlab args…" in namespace ns,
// with this test binary as netlab.
func selfCommand(t *testing.T, ns string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := lab.Command(context.Background(), ns, exe, args...)
	cmd.Env = append(os.Environ(), asCommandEnv+"=1")
	cmd.Stderr = os.Stderr
	return cmd
}

// buildTimeout bounds the build of the binaries; it is apart from the
// tests' own limits, which start after it.
const buildTimeout = 5 * time.Minute

// built is the one build of the lab tests' binaries.
var built struct {
	once sync.Once
	dir  string
	took time.Duration
	err  error
}

// buildBinaries builds arcade-server and arcade-bot into a temporary
// directory, once for all the tests of this run, and returns the directory.
func buildBinaries(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		root, err := filepath.Abs(filepath.Join("..", ".."))
		if err == nil {
			_, err = os.Stat(filepath.Join(root, "go.mod"))
		}
		if err != nil {
			built.err = fmt.Errorf("repository root not found: %v", err)
			return
		}
		// Under TMPDIR, which RunGuarded made for this run: removed with it.
		if built.dir, err = os.MkdirTemp("", "netlab-bin-"); err != nil {
			built.err = err
			return
		}
		start := time.Now()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", built.dir+string(filepath.Separator), "./cmd/arcade-server", "./tools/arcade-bot")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
		built.took = time.Since(start)
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	t.Logf("arcade-server and arcade-bot built in %v (once for all tests)", built.took.Round(time.Millisecond))
	return built.dir
}

// recT is a lab test whose failures are said once more at its very end,
// after the processes' logs: a log read from its tail still names what
// failed, not only the last process's output.
type recT struct {
	*testing.T
	mu    sync.Mutex
	fails []string
}

// recorded wraps t; call it first, before any other Cleanup, so that the
// summary runs last.
func recorded(t *testing.T) *recT {
	r := &recT{T: t}
	t.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if len(r.fails) > 0 {
			t.Logf("%s failed (as said above the processes' output):\n  %s", t.Name(), strings.Join(r.fails, "\n  "))
		}
	})
	return r
}

func (r *recT) note(s string) {
	r.mu.Lock()
	r.fails = append(r.fails, s)
	r.mu.Unlock()
}

func (r *recT) Fatal(a ...any) {
	r.T.Helper()
	r.note(fmt.Sprint(a...))
	r.T.Fatal(a...)
}

func (r *recT) Fatalf(format string, a ...any) {
	r.T.Helper()
	r.note(fmt.Sprintf(format, a...))
	r.T.Fatalf(format, a...)
}

func (r *recT) Error(a ...any) {
	r.T.Helper()
	r.note(fmt.Sprint(a...))
	r.T.Error(a...)
}

func (r *recT) Errorf(format string, a ...any) {
	r.T.Helper()
	r.note(fmt.Sprintf(format, a...))
	r.T.Errorf(format, a...)
}
