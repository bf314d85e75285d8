// Command testsum runs `go test -json` and prints what `go test` would,
// then what it skipped: one line per skipped test with the reason the
// test gave, so a green run says what it did not check.
//
//	testsum [-v] [-label L] [-skips FILE] -- go test -json [flags] [packages]
//	testsum -summary FILE
//
// In the first form testsum runs the command, prints the packages' results
// (with -v, every line of output, as `go test -v` does; without, the
// output of failed tests only, as `go test` does), appends each skipped
// test to FILE (tab-separated: package, test, label, reason) and exits
// with the command's status, or 1 if a test failed while the command
// exited 0. The second form prints FILE as the skip summary, one line per
// skipped test, and exits 0.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("testsum", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("v", false, "print every line of the tests' output")
	label := fs.String("label", "", "`name` of this run in the skip list (race, lab, ...)")
	skips := fs.String("skips", "", "append the skipped tests to `FILE`")
	summary := fs.String("summary", "", "print the skip list in `FILE` and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *summary != "" {
		if fs.NArg() > 0 {
			fmt.Fprintln(stderr, "testsum: -summary takes no command")
			return 2
		}
		if err := printSummary(stdout, *summary); err != nil {
			fmt.Fprintln(stderr, "testsum:", err)
			return 2
		}
		return 0
	}
	cmdArgs := fs.Args()
	if len(cmdArgs) == 0 || !slices.Contains(cmdArgs, "-json") {
		fmt.Fprintln(stderr, "testsum: want a command after --, a `go test -json ...`")
		return 2
	}
	cmd := exec.Command(cmdArgs[0], cmdArgs[1:]...)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(stderr, "testsum:", err)
		return 2
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "testsum:", err)
		return 2
	}
	r := newReader(stdout, *verbose)
	perr := r.read(out)
	werr := cmd.Wait()
	status := 0
	var exit *exec.ExitError
	switch {
	case errors.As(werr, &exit):
		status = exit.ExitCode()
	case werr != nil:
		fmt.Fprintln(stderr, "testsum:", werr)
		status = 2
	}
	if perr != nil {
		fmt.Fprintln(stderr, "testsum: reading the test output:", perr)
		status = max(status, 1)
	}
	if r.failed+r.failedPkgs > 0 && status == 0 {
		status = 1
	}
	name := *label
	if name == "" {
		name = "tests"
	}
	fmt.Fprintf(stdout, "testsum: %s: %d passed, %d skipped, %d failed, %d packages failed, in %.1fs\n",
		name, r.passed, len(r.skipped), r.failed, r.failedPkgs, time.Since(start).Seconds())
	if *skips != "" && len(r.skipped) > 0 {
		if err := appendSkips(*skips, *label, r.skipped); err != nil {
			fmt.Fprintln(stderr, "testsum:", err)
			status = max(status, 1)
		}
	}
	return status
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// skip is one skipped test and the reason it logged.
type skip struct {
	pkg, test, reason string
}

// reader turns the event stream into go test's own output and counts.
type reader struct {
	w       io.Writer
	verbose bool
	// out holds each running test's output until it ends, keyed by
	// package and test name.
	out        map[[2]string]*bytes.Buffer
	passed     int
	failed     int // tests
	failedPkgs int // packages: their tests, a build or the binary failed
	skipped    []skip
}

// maxHeld bounds the output held for one test; beyond it the rest is cut.
const maxHeld = 1 << 20

func newReader(w io.Writer, verbose bool) *reader {
	return &reader{w: w, verbose: verbose, out: map[[2]string]*bytes.Buffer{}}
}

func (r *reader) read(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not an event (a tool's own message): pass it on.
			fmt.Fprintf(r.w, "%s\n", line)
			continue
		}
		r.event(&e)
	}
	return sc.Err()
}

func (r *reader) event(e *event) {
	key := [2]string{e.Package, e.Test}
	switch e.Action {
	case "build-output":
		io.WriteString(r.w, e.Output)
	case "output":
		if r.verbose || e.Test == "" {
			io.WriteString(r.w, e.Output)
		}
		if e.Test != "" {
			b := r.out[key]
			if b == nil {
				b = new(bytes.Buffer)
				r.out[key] = b
			}
			if b.Len() < maxHeld {
				b.WriteString(e.Output)
			}
		}
	case "pass", "fail", "skip":
		if e.Test == "" {
			if e.Action == "fail" {
				r.failedPkgs++
			}
			return
		}
		b := r.out[key]
		delete(r.out, key)
		switch e.Action {
		case "pass":
			r.passed++
		case "fail":
			r.failed++
			if !r.verbose && b != nil {
				writeFailure(r.w, b.String())
			}
		case "skip":
			r.skipped = append(r.skipped, skip{e.Package, e.Test, reason(b)})
		}
	}
}

// writeFailure prints a failed test's output as go test does without -v:
// without the === lines of the test runner.
func writeFailure(w io.Writer, s string) {
	for line := range strings.Lines(s) {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "=== ") {
			continue
		}
		io.WriteString(w, line)
	}
}

// reason is what a skipped test logged: its lines without the runner's
// === and --- lines, trimmed and joined.
func reason(b *bytes.Buffer) string {
	if b == nil {
		return ""
	}
	var parts []string
	for line := range strings.Lines(b.String()) {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") {
			continue
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, " | ")
}

// A reason is tab- and newline-free once written.
var flatten = strings.NewReplacer("\t", " ", "\n", " ")

func appendSkips(path, label string, skipped []skip) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, s := range skipped {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", s.pkg, s.test, flatten.Replace(label), flatten.Replace(s.reason))
	}
	if _, err := io.WriteString(f, b.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// printSummary prints the skip list: one line per skipped test, the runs
// (labels) that skipped it for the same reason listed together. A missing
// file means nothing was skipped.
func printSummary(w io.Writer, path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		data, err = nil, nil
	}
	if err != nil {
		return err
	}
	type entry struct {
		pkg, test, reason string
		labels            []string
	}
	var entries []*entry
	index := map[[3]string]*entry{}
	for line := range strings.Lines(string(data)) {
		f := strings.SplitN(strings.TrimRight(line, "\n"), "\t", 4)
		if len(f) != 4 {
			continue
		}
		k := [3]string{f[0], f[1], f[3]}
		e := index[k]
		if e == nil {
			e = &entry{pkg: f[0], test: f[1], reason: f[3]}
			index[k] = e
			entries = append(entries, e)
		}
		if f[2] != "" && !slices.Contains(e.labels, f[2]) {
			e.labels = append(e.labels, f[2])
		}
	}
	if len(entries) == 0 {
		fmt.Fprintln(w, "skipped: none")
		return nil
	}
	fmt.Fprintf(w, "skipped: %d\n", len(entries))
	for _, e := range entries {
		runs := ""
		if len(e.labels) > 0 {
			runs = " [" + strings.Join(e.labels, ",") + "]"
		}
		why := e.reason
		if why == "" {
			why = "(no reason given)"
		}
		fmt.Fprintf(w, "  SKIP %s %s%s: %s\n", e.pkg, e.test, runs, why)
	}
	return nil
}
