// Package toolrun holds what the measuring tools (latency, soak,
// arcade-load, ticktrace) share to run the real binaries on loopback:
// building them, free ports, secret files.
package toolrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Build compiles pkgs (e.g. ./cmd/arcade-server) of the module the working
// directory is in into dir.
func Build(ctx context.Context, dir string, pkgs ...string) error {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return errors.New("go env GOMOD: not inside the arcade module; give the binaries' paths")
	}
	args := append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = filepath.Dir(gomod)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(pkgs, " "), err, b)
	}
	return nil
}

// FreePort returns a port on 127.0.0.1 that was free a moment ago, for
// network "tcp" or "udp".
func FreePort(network string) (int, error) {
	if network == "tcp" {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// WriteSecret writes secret and a newline to a new 0600 temporary file
// named with prefix, and returns its path.
func WriteSecret(prefix, secret string) (string, error) {
	f, err := os.CreateTemp("", prefix)
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(secret + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// CapBuffer keeps the first Max bytes written to it (a child's stderr),
// safe for concurrent use.
type CapBuffer struct {
	Max int
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write keeps what fits under Max and reports all of p written.
func (b *CapBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.Max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// String returns what was kept.
func (b *CapBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Tail returns the last n lines of what was kept.
func (b *CapBuffer) Tail(n int) string {
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Binaries is one build of some packages' commands shared by all the
// tests of a test binary: the first test that asks builds them, the
// others wait for it; TestMain removes the directory with Remove.
type Binaries struct {
	pkgs []string
	once sync.Once
	dir  string
	err  error
}

// NewBinaries is the shared build of pkgs (module paths such as
// "./cmd/arcade-server", relative to the module's root).
func NewBinaries(pkgs ...string) *Binaries { return &Binaries{pkgs: pkgs} }

// Fataler is what Dir needs of a testing.TB.
type Fataler interface {
	Helper()
	Fatal(args ...any)
}

// Dir builds the commands the first time and returns the directory that
// holds them; a failed build fails t.
func (b *Binaries) Dir(t Fataler) string {
	t.Helper()
	b.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		if b.dir, b.err = os.MkdirTemp("", "arcade-bin-"); b.err != nil {
			return
		}
		b.err = Build(ctx, b.dir, b.pkgs...)
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.dir
}

// Remove deletes the build, if one was made.
func (b *Binaries) Remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}
