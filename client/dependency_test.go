package client_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestUsableAsDependency: a headset-side program in a module of its own,
// outside this repository, requires this module by its module path (the
// repository stands in for the download with a replace directive) and
// builds and runs: the client package is usable as a dependency.
func TestUsableAsDependency(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program outside the module; skipped in -short mode")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	mod := modulePath(t, filepath.Join(root, "go.mod"))
	if !strings.Contains(mod, ".") {
		t.Errorf("module path %q has no domain: `go get` cannot fetch it", mod)
	}
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/headset\n\ngo 1.26\n\nrequire "+mod+" v0.0.0\n\nreplace "+mod+" => "+root+"\n")
	write("main.go", `package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"`+mod+`/client"
	"`+mod+`/wire"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	// Nothing listens there: Dial gives up when ctx ends.
	_, err := client.Dial(ctx, "127.0.0.1:9", client.Config{SessionConfig: client.SessionConfig{Name: "outside"}})
	in := wire.PoseInput{Tracking: wire.TrackHead}
	fmt.Println("dial failed:", err != nil, errors.Is(err, context.DeadlineExceeded), in.Tracking)
}
`)
	run := func(args ...string) string {
		cmd := exec.Command(goBin, args...)
		cmd.Dir = dir
		// Everything it needs is in the module cache already (this test's
		// own build put it there): nothing is fetched.
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOSUMDB=off", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(bytes.TrimSpace(out))
	}
	run("mod", "tidy")
	out := run("run", ".")
	t.Logf("the outside program: %s", out)
	if !strings.HasPrefix(out, "dial failed: true") {
		t.Errorf("the outside program printed %q, want a failed dial", out)
	}
}

// modulePath reads the module path from go.mod.
func modulePath(t *testing.T, gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(sc.Text(), "module "); ok {
			return strings.TrimSpace(m)
		}
	}
	t.Fatal("go.mod has no module line")
	return ""
}
