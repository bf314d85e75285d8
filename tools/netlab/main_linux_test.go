//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"arcade/tools/netlab/internal/lab"
)

// TestMain runs the tests under lab.RunGuarded: their temporary directories
// (and go build's) inside one of this run's own, removed at the end, and
// SIGINT or SIGTERM tearing the labs down before the binary exits.
func TestMain(m *testing.M) {
	os.Exit(lab.RunGuarded(m.Run))
}

// built is the one build of the lab tests' binaries.
var built struct {
	once sync.Once
	dir  string
	took time.Duration
	err  error
}

// buildBinaries builds arcade-server, arcade-bot and netlab (for its relay)
// into a temporary directory, once for all the tests of this run, and
// returns the directory.
func buildBinaries(ctx context.Context, t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
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
		cmd := exec.CommandContext(ctx, "go", "build", "-o", built.dir+string(filepath.Separator), "./cmd/arcade-server", "./tools/arcade-bot", "./tools/netlab")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
		built.took = time.Since(start)
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	t.Logf("arcade-server, arcade-bot, netlab built in %v (once for all tests)", built.took.Round(time.Millisecond))
	return built.dir
}
