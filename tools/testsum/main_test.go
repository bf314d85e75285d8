package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stream is a go test -json run of two packages: one test passes, one is
// skipped with a two-line reason, one fails, a subtest is skipped, and
// the second package fails to build.
const stream = `{"Action":"start","Package":"arcade/a"}
{"Action":"run","Package":"arcade/a","Test":"TestOK"}
{"Action":"output","Package":"arcade/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"arcade/a","Test":"TestOK","Output":"    a_test.go:9: figure 12\n"}
{"Action":"output","Package":"arcade/a","Test":"TestOK","Output":"--- PASS: TestOK (0.00s)\n"}
{"Action":"pass","Package":"arcade/a","Test":"TestOK"}
{"Action":"run","Package":"arcade/a","Test":"TestLab"}
{"Action":"output","Package":"arcade/a","Test":"TestLab","Output":"=== RUN   TestLab\n"}
{"Action":"output","Package":"arcade/a","Test":"TestLab","Output":"    lab_test.go:40: not root:\n"}
{"Action":"output","Package":"arcade/a","Test":"TestLab","Output":"    \tip netns needs CAP_SYS_ADMIN\n"}
{"Action":"output","Package":"arcade/a","Test":"TestLab","Output":"--- SKIP: TestLab (0.00s)\n"}
{"Action":"skip","Package":"arcade/a","Test":"TestLab"}
{"Action":"run","Package":"arcade/a","Test":"TestBad"}
{"Action":"output","Package":"arcade/a","Test":"TestBad","Output":"=== RUN   TestBad\n"}
{"Action":"output","Package":"arcade/a","Test":"TestBad","Output":"    a_test.go:20: got 1, want 2\n"}
{"Action":"output","Package":"arcade/a","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}
{"Action":"fail","Package":"arcade/a","Test":"TestBad"}
{"Action":"run","Package":"arcade/a","Test":"TestTable/tshark"}
{"Action":"output","Package":"arcade/a","Test":"TestTable/tshark","Output":"    t_test.go:5: tshark not in PATH\n"}
{"Action":"skip","Package":"arcade/a","Test":"TestTable/tshark"}
{"Action":"output","Package":"arcade/a","Output":"FAIL\n"}
{"Action":"output","Package":"arcade/a","Output":"FAIL\tarcade/a\t0.01s\n"}
{"Action":"fail","Package":"arcade/a"}
{"ImportPath":"arcade/b","Action":"build-output","Output":"b.go:3:1: syntax error\n"}
{"Action":"output","Package":"arcade/b","Output":"FAIL\tarcade/b [build failed]\n"}
{"Action":"fail","Package":"arcade/b"}
`

func TestReaderQuiet(t *testing.T) {
	var out bytes.Buffer
	r := newReader(&out, false)
	if err := r.read(strings.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"a_test.go:20: got 1, want 2", "--- FAIL: TestBad", "FAIL\tarcade/a\t0.01s", "b.go:3:1: syntax error", "FAIL\tarcade/b [build failed]"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, notWant := range []string{"figure 12", "=== RUN", "not root"} {
		if strings.Contains(got, notWant) {
			t.Errorf("quiet output shows %q:\n%s", notWant, got)
		}
	}
	if r.passed != 1 || r.failed != 1 || r.failedPkgs != 2 {
		t.Errorf("passed %d, failed %d tests and %d packages; want 1, 1, 2", r.passed, r.failed, r.failedPkgs)
	}
	want := []skip{
		{"arcade/a", "TestLab", "lab_test.go:40: not root: | ip netns needs CAP_SYS_ADMIN"},
		{"arcade/a", "TestTable/tshark", "t_test.go:5: tshark not in PATH"},
	}
	if fmt.Sprint(r.skipped) != fmt.Sprint(want) {
		t.Errorf("skipped %q, want %q", r.skipped, want)
	}
}

func TestReaderVerbose(t *testing.T) {
	var out bytes.Buffer
	r := newReader(&out, true)
	if err := r.read(strings.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"figure 12", "=== RUN   TestOK", "not root:", "got 1, want 2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("verbose output lacks %q", want)
		}
	}
	// A failure is printed once, as it streams, not again at its end.
	if n := strings.Count(out.String(), "got 1, want 2"); n != 1 {
		t.Errorf("failure printed %d times", n)
	}
}

// TestReaderPassesNonJSON: a line that is no event (a panic of the
// go command, say) reaches the output.
func TestReaderPassesNonJSON(t *testing.T) {
	var out bytes.Buffer
	r := newReader(&out, false)
	if err := r.read(strings.NewReader("go: downloading x\n{not json\n")); err != nil {
		t.Fatal(err)
	}
	if out.String() != "go: downloading x\n{not json\n" {
		t.Errorf("got %q", out.String())
	}
}

func TestSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "skips")
	var out bytes.Buffer
	if err := printSummary(&out, path); err != nil || out.String() != "skipped: none\n" {
		t.Fatalf("missing file: %q, %v", out.String(), err)
	}
	a := []skip{{"arcade/a", "TestLab", "not root"}, {"arcade/a", "TestWeb", "chromium\tnot found\n"}}
	if err := appendRuns(path, "unit", a, [][2]string{{"arcade/a", "TestOK"}, {"arcade/b", "TestTwin"}, {"arcade/b", "TestTwin2"}}); err != nil {
		t.Fatal(err)
	}
	// The race run skips two tests the unit run passed, at two lines of
	// the same reason, and one nobody ran.
	race := []skip{a[0], {"arcade/b", "TestTwin", "b_test.go:12: one goroutine"}, {"arcade/b", "TestTwin2", "c_test.go:40: one goroutine"}}
	if err := appendRuns(path, "race", race, [][2]string{{"arcade/a", "TestOK"}}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := printSummary(&out, path); err != nil {
		t.Fatal(err)
	}
	want := "skipped: 2\n" +
		"  SKIP arcade/a TestLab [unit,race]: not root\n" +
		"  SKIP arcade/a TestWeb [unit]: chromium not found \n" +
		"skipped by one run, passed by another: 2\n" +
		"  SKIP [race] PASS [unit] arcade/b: one goroutine: TestTwin TestTwin2\n"
	if out.String() != want {
		t.Errorf("summary\n%s\nwant\n%s", out.String(), want)
	}
	// With nothing left uncovered, the first line says so.
	path = filepath.Join(t.TempDir(), "skips")
	if err := appendRuns(path, "race", race[1:], nil); err != nil {
		t.Fatal(err)
	}
	if err := appendRuns(path, "unit", nil, [][2]string{{"arcade/b", "TestTwin"}, {"arcade/b", "TestTwin2"}}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := printSummary(&out, path); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "skipped: none\nskipped by one run, passed by another: 2\n") {
		t.Errorf("summary\n%s", out.String())
	}
}

func TestSlowest(t *testing.T) {
	r := newReader(&bytes.Buffer{}, false)
	for _, e := range []event{
		{Action: "pass", Package: "m/a", Elapsed: 1.5},
		{Action: "pass", Package: "m/tools/b", Elapsed: 20},
		{Action: "pass", Package: "m/a", Test: "TestX", Elapsed: 99},
		{Action: "fail", Package: "m/c", Elapsed: 3},
		{Action: "skip", Package: "m/d"}, // no test files
	} {
		r.event(&e)
	}
	if got, want := r.slowest(2), "tools/b 20.0s, c 3.0s"; got != want {
		t.Errorf("slowest(2) = %q, want %q", got, want)
	}
	if got, want := r.slowest(5), "tools/b 20.0s, c 3.0s, a 1.5s"; got != want {
		t.Errorf("slowest(5) = %q, want %q", got, want)
	}
}

// The helper process: with TESTSUM_HELPER set, the test binary prints the
// canned stream and exits with the status it names.
func TestMain(m *testing.M) {
	if code := os.Getenv("TESTSUM_HELPER"); code != "" {
		os.Stdout.WriteString(stream)
		if code == "0" {
			os.Exit(0)
		}
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestRunStatusAndSkips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "skips")
	for _, code := range []string{"1", "0"} {
		t.Setenv("TESTSUM_HELPER", code)
		var out, errb bytes.Buffer
		// The stream has failures, so the status is 1 even when the
		// command says 0.
		if st := run([]string{"-label", "unit", "-skips", path, "--", os.Args[0], "-json"}, &out, &errb); st != 1 {
			t.Errorf("helper exit %s: status %d, want 1 (stderr %q)", code, st, errb.String())
		}
		if !strings.Contains(out.String(), "testsum: unit: 1 passed, 2 skipped, 1 failed, 2 packages failed") {
			t.Errorf("no count line:\n%s", out.String())
		}
	}
	data, err := os.ReadFile(path)
	// Each run: two skips and one pass.
	if err != nil || strings.Count(string(data), "\n") != 6 || strings.Count(string(data), "pass\t") != 2 {
		t.Errorf("skips file %q, %v; want 6 lines, 2 of passes", data, err)
	}
}

func TestRunRejectsBadUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"--", "go", "test"}, {"-summary", "x", "--", "go"}, {"-nope"}} {
		var out, errb bytes.Buffer
		if st := run(args, &out, &errb); st != 2 || errb.Len() == 0 {
			t.Errorf("%q: status %d, stderr %q; want 2 and a message", args, st, errb.String())
		}
	}
}
