//go:build linux

package lab

// Teardown on every way out.
//
// Lab.Close removes a lab on the normal path, and deferred calls or test
// cleanups cover t.Fatal and a panic in the test's goroutine. What they
// cannot cover is the process ending without running them: a signal, a
// panic in another goroutine, a test binary killed by go test's timeout,
// SIGKILL. Two things close those paths:
//
//   - the guard, a small shell process started on first use, reads a pipe
//     that only this process holds. The pipe reaches end of file when this
//     process exits, however it exits; the guard then deletes the namespaces
//     and directories registered with it, if they still exist, and ends. It
//     ignores SIGINT, SIGTERM and SIGHUP and has a process group of its own,
//     so the Ctrl-C that stops this process does not stop it. What it
//     removes is named by this process's pid (<family><pid>-…) or was made
//     by this process (a fresh temporary directory), so it never touches
//     another run's.
//   - RunGuarded, for TestMain, and the netlab command's own handler turn
//     SIGINT, SIGTERM and SIGHUP into an orderly teardown (CloseAll) before
//     the process exits.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
)

// guardScript is the guard: it collects "ns <prefix>" and "dir <path>"
// lines until end of file, then removes every namespace named <prefix>-…
// (killing what still runs in it first) and every directory.
const guardScript = `trap '' INT TERM HUP QUIT PIPE
prefixes=
dirs=
while IFS= read -r line; do
	case $line in
	"ns "*) prefixes="$prefixes ${line#ns }" ;;
	"dir "*) dirs="$dirs
${line#dir }" ;;
	esac
done
for p in $prefixes; do
	ip netns list 2>/dev/null | while read -r ns _; do
		case $ns in
		"$p"-*)
			for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
			ip netns del "$ns" 2>/dev/null ;;
		esac
	done
done
printf '%s\n' "$dirs" | while IFS= read -r d; do
	[ -n "$d" ] && rm -rf -- "$d"
done
exit 0
`

var guard struct {
	mu  sync.Mutex
	cmd *exec.Cmd      // kept, so that the pipe's write end is never collected
	w   io.WriteCloser // nil until started
	err error
}

// watch registers one line with the guard, starting it on first use.
func watch(kind, arg string) error {
	if arg == "" || strings.ContainsAny(arg, "\n\r") || strings.TrimSpace(arg) != arg {
		return fmt.Errorf("lab: cannot guard %s %q", kind, arg)
	}
	if kind == "ns" && strings.ContainsAny(arg, " \t*?[") {
		return fmt.Errorf("lab: cannot guard namespace prefix %q", arg)
	}
	guard.mu.Lock()
	defer guard.mu.Unlock()
	if guard.w == nil && guard.err == nil {
		cmd := exec.Command("sh", "-c", guardScript, "netlab-guard")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		w, err := cmd.StdinPipe()
		if err == nil {
			err = cmd.Start()
		}
		if err != nil {
			guard.err = fmt.Errorf("lab: start the teardown guard: %w", err)
		} else {
			guard.cmd, guard.w = cmd, w
		}
	}
	if guard.err != nil {
		return guard.err
	}
	if _, err := fmt.Fprintf(guard.w, "%s %s\n", kind, arg); err != nil {
		return fmt.Errorf("lab: teardown guard: %w", err)
	}
	return nil
}

// RemoveOnExit has the guard remove dir (recursively) once this process has
// exited, in case nothing else did. dir must be one this process created,
// for example by os.MkdirTemp.
func RemoveOnExit(dir string) error { return watch("dir", dir) }

// RemoveNamespacesOnExit has the guard delete the namespaces named
// prefix-… once this process has exited, for namespaces made outside
// Build. prefix must name this process's namespaces only.
func RemoveNamespacesOnExit(prefix string) error { return watch("ns", prefix) }

// open are the labs built and not yet closed.
var open struct {
	mu   sync.Mutex
	labs map[*Lab]struct{}
}

func register(l *Lab) {
	open.mu.Lock()
	defer open.mu.Unlock()
	if open.labs == nil {
		open.labs = map[*Lab]struct{}{}
	}
	open.labs[l] = struct{}{}
}

func unregister(l *Lab) {
	open.mu.Lock()
	defer open.mu.Unlock()
	delete(open.labs, l)
}

// CloseAll closes every lab this process has built and not closed, for a
// signal handler; it returns the first error.
func CloseAll() error {
	open.mu.Lock()
	var labs []*Lab
	for l := range open.labs {
		labs = append(labs, l)
	}
	open.mu.Unlock()
	var errs []error
	for _, l := range labs {
		errs = append(errs, l.Close())
	}
	return errors.Join(errs...)
}

// Signals are the signals that tear a lab down rather than leave it.
var Signals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// RunGuarded runs run (a TestMain's m.Run) with TMPDIR set to a fresh
// directory, so that every temporary directory of the tests and of the
// commands they start is inside it, and removes that directory afterwards.
// Until run returns, SIGINT, SIGTERM and SIGHUP close every open lab and
// remove the directory, then exit the process with status 1; a second
// signal while that runs ends the process at once (the guard then removes
// what is left). It returns run's result.
func RunGuarded(run func() int) int {
	dir, err := os.MkdirTemp("", "netlab-run-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "netlab:", err)
		return 1
	}
	if err := RemoveOnExit(dir); err != nil {
		fmt.Fprintln(os.Stderr, "netlab:", err)
		os.RemoveAll(dir)
		return 1
	}
	old, had := os.LookupEnv("TMPDIR")
	os.Setenv("TMPDIR", dir)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, Signals...)
	done := make(chan struct{})
	// Held by a teardown under way: run's return must not end the process
	// in the middle of it.
	var tearing sync.Mutex
	go func() {
		select {
		case s := <-sigs:
			tearing.Lock()
			signal.Stop(sigs)
			fmt.Fprintf(os.Stderr, "netlab: %v: tearing down the labs\n", s)
			if err := CloseAll(); err != nil {
				fmt.Fprintln(os.Stderr, "netlab:", err)
			}
			os.RemoveAll(dir)
			os.Exit(1)
		case <-done:
		}
	}()
	code := run()
	signal.Stop(sigs)
	tearing.Lock() // a teardown under way ends the process
	close(done)
	if had {
		os.Setenv("TMPDIR", old)
	} else {
		os.Unsetenv("TMPDIR")
	}
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, "netlab:", err)
	}
	return code
}

// probePrefix names Available's probe namespaces: netlabprobe-<pid>.
const probePrefix = "netlabprobe"

// cleanProbes removes the probe namespaces of processes that are gone.
func cleanProbes(ctx context.Context) {
	out, err := output(ctx, "ip", "netns", "list")
	if err != nil {
		return
	}
	var stale []string
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], probePrefix+"-") {
			continue
		}
		if pid, ok := parsePid(strings.TrimPrefix(f[0], probePrefix+"-")); ok && !alive(pid) {
			stale = append(stale, f[0])
		}
	}
	remove(ctx, probePrefix, stale)
}
