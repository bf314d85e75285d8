// Command testsum runs `go test -json` and prints what `go test` would,
// then what it skipped: one line per skipped test with the reason the
// test gave, so a green run says what it did not check.
//
//	testsum [-v] [-label L] [-skips FILE] -- go test -json [flags] [packages]
//	testsum -summary FILE
//
// In the first form testsum runs the command, prints the packages' results
// (with -v, every line of output, as `go test -v` does; without, the
// output of failed tests only, as `go test` does) and the slowest
// packages' times, appends each skipped and each passed test to FILE
// (tab-separated: skip or pass, package, test, label, reason) and exits
// with the command's status, or 1 if a test failed while the command
// exited 0. The second form prints FILE as the skip summary and exits 0:
// one line per test that no run passed, with its reason; then, apart, the
// tests one run skipped and another passed (the race run leaving to the
// unit run what has one goroutine, say), one line per reason.
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
	"regexp"
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
	if s := r.slowest(slowestShown); s != "" {
		fmt.Fprintf(stdout, "testsum: %s: slowest: %s\n", name, s)
	}
	if *skips != "" && len(r.skipped)+len(r.passedTests) > 0 {
		if err := appendRuns(*skips, *label, r.skipped, r.passedTests); err != nil {
			fmt.Fprintln(stderr, "testsum:", err)
			status = max(status, 1)
		}
	}
	return status
}

// slowestShown is how many packages the slowest line names.
const slowestShown = 8

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64 // seconds, on pass, fail and skip
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
	// passedTests names each passed test: package and test.
	passedTests [][2]string
	// elapsed is each finished package's time as the go command
	// reported it, in the order they finished.
	elapsed []pkgTime
}

// pkgTime is one package's time.
type pkgTime struct {
	pkg     string
	seconds float64
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
			if e.Elapsed > 0 {
				r.elapsed = append(r.elapsed, pkgTime{e.Package, e.Elapsed})
			}
			return
		}
		b := r.out[key]
		delete(r.out, key)
		switch e.Action {
		case "pass":
			r.passed++
			r.passedTests = append(r.passedTests, key)
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

// slowest names the n slowest packages with their times, slowest first,
// the module's common prefix left out: "server 25.0s, model 18.1s".
func (r *reader) slowest(n int) string {
	ts := slices.Clone(r.elapsed)
	slices.SortStableFunc(ts, func(a, b pkgTime) int {
		switch {
		case a.seconds > b.seconds:
			return -1
		case a.seconds < b.seconds:
			return 1
		}
		return 0
	})
	ts = ts[:min(n, len(ts))]
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.pkg
	}
	prefix := commonDir(names)
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = fmt.Sprintf("%s %.1fs", strings.TrimPrefix(t.pkg, prefix), t.seconds)
	}
	return strings.Join(parts, ", ")
}

// commonDir is the longest prefix ending in "/" that every name has and
// none is equal to, or "" when there are fewer than two names.
func commonDir(names []string) string {
	if len(names) < 2 {
		return ""
	}
	p := names[0]
	for _, n := range names[1:] {
		for !strings.HasPrefix(n, p) {
			p = p[:len(p)-1]
		}
	}
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[:i+1]
	}
	return ""
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

// appendRuns appends a line to the file at path for each skipped test and
// each passed one, of the run named label.
func appendRuns(path, label string, skipped []skip, passed [][2]string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	var b strings.Builder
	label = flatten.Replace(label)
	for _, s := range skipped {
		fmt.Fprintf(&b, "skip\t%s\t%s\t%s\t%s\n", s.pkg, s.test, label, flatten.Replace(s.reason))
	}
	for _, p := range passed {
		fmt.Fprintf(&b, "pass\t%s\t%s\t%s\t\n", p[0], p[1], label)
	}
	if _, err := io.WriteString(f, b.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// printSummary prints the skip list: one line per skipped test that no
// run passed, the runs (labels) that skipped it for the same reason listed
// together; then the tests some run skipped and another passed, one line
// per reason (its test file's line left out) with the tests it covers. A
// missing file means nothing was skipped.
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
	passedIn := map[[2]string][]string{} // package and test: the runs it passed in
	for line := range strings.Lines(string(data)) {
		f := strings.SplitN(strings.TrimRight(line, "\n"), "\t", 5)
		if len(f) != 5 {
			continue
		}
		if f[0] == "pass" {
			k := [2]string{f[1], f[2]}
			if !slices.Contains(passedIn[k], f[3]) {
				passedIn[k] = append(passedIn[k], f[3])
			}
			continue
		}
		k := [3]string{f[1], f[2], f[4]}
		e := index[k]
		if e == nil {
			e = &entry{pkg: f[1], test: f[2], reason: f[4]}
			index[k] = e
			entries = append(entries, e)
		}
		if f[3] != "" && !slices.Contains(e.labels, f[3]) {
			e.labels = append(e.labels, f[3])
		}
	}
	runs := func(labels []string) string {
		if len(labels) == 0 {
			return ""
		}
		return " [" + strings.Join(labels, ",") + "]"
	}
	// covered groups the skips another run made up for: by the runs
	// that skipped, the runs that passed, the package and the reason.
	type group struct {
		skipped, passed, pkg, reason string
		tests                        []string
	}
	var gaps []*entry
	var groups []*group
	gindex := map[[4]string]*group{}
	for _, e := range entries {
		passed := passedIn[[2]string{e.pkg, e.test}]
		if len(passed) == 0 {
			gaps = append(gaps, e)
			continue
		}
		k := [4]string{runs(e.labels), runs(passed), e.pkg, location.ReplaceAllString(e.reason, "")}
		g := gindex[k]
		if g == nil {
			g = &group{skipped: k[0], passed: k[1], pkg: k[2], reason: k[3]}
			gindex[k] = g
			groups = append(groups, g)
		}
		g.tests = append(g.tests, e.test)
	}
	if len(gaps) == 0 {
		fmt.Fprintln(w, "skipped: none")
	} else {
		fmt.Fprintf(w, "skipped: %d\n", len(gaps))
	}
	for _, e := range gaps {
		why := e.reason
		if why == "" {
			why = "(no reason given)"
		}
		fmt.Fprintf(w, "  SKIP %s %s%s: %s\n", e.pkg, e.test, runs(e.labels), why)
	}
	if len(groups) == 0 {
		return nil
	}
	n := 0
	for _, g := range groups {
		n += len(g.tests)
	}
	fmt.Fprintf(w, "skipped by one run, passed by another: %d\n", n)
	for _, g := range groups {
		why := g.reason
		if why == "" {
			why = "(no reason given)"
		}
		fmt.Fprintf(w, "  SKIP%s PASS%s %s: %s: %s\n", g.skipped, g.passed, g.pkg, why, strings.Join(g.tests, " "))
	}
	return nil
}

// location is the "file_test.go:12: " a test's log line starts with.
var location = regexp.MustCompile(`^[^ :]+\.go:\d+: `)
