package hostprobe

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// procStat is /proc/stat as a 6.x kernel prints it on a 2-CPU machine.
const procStat = `cpu  370779 778 130244 133204 1258 0 3752 5112 0 0
cpu0 185363 398 63652 68674 257 0 1848 2447 0 0
cpu1 185416 379 66592 64530 1000 0 1904 2665 0 0
intr 52395862 0 9 0 0 0 0 0 0 0 0 0 0 0 0 0 0
ctxt 96453186
btime 1760000000
processes 283544
procs_running 3
procs_blocked 0
softirq 19480337 0 3003476 20 1074211 0 0 2003520 6994785 0 6404325
`

func TestParseCPULine(t *testing.T) {
	tests := []struct {
		name  string
		line  string
		total uint64
		steal uint64
		err   string // in the error; empty: no error
	}{
		{"linux 6", "cpu  370779 778 130244 133204 1258 0 3752 5112 0 0",
			370779 + 778 + 130244 + 133204 + 1258 + 0 + 3752 + 5112, 5112, ""},
		{"guest time is already in user and nice", "cpu  100 10 50 800 0 0 0 40 30 5",
			1000, 40, ""},
		{"fields added by a later kernel", "cpu  100 10 50 800 0 0 0 40 30 5 77 88",
			1000, 40, ""},
		{"2.6.24: no guest_nice", "cpu  100 10 50 800 0 0 0 40 30", 1000, 40, ""},
		{"2.6.11: steal, no guest", "cpu  100 10 50 800 0 0 0 40", 1000, 40, ""},
		{"2.6.0: no steal", "cpu  100 10 50 800 20 5 15", 1000, 0, ""},
		{"2.4: four fields", "cpu  100 10 90 800", 1000, 0, ""},
		{"tabs and trailing space", "cpu\t100 10\t90 800 \t", 1000, 0, ""},
		{"largest counter", "cpu  18446744073709551615 0 0 0", math.MaxUint64, 0, ""},

		{"empty", "", 0, 0, "not the aggregate cpu line"},
		{"per-CPU line first", "cpu0 185363 398 63652 68674 257 0 1848 2447 0 0", 0, 0, "not the aggregate cpu line"},
		{"another file", "MemTotal:       16318412 kB", 0, 0, "not the aggregate cpu line"},
		{"no fields", "cpu  ", 0, 0, "has 0 fields"},
		{"three fields", "cpu  1 2 3", 0, 0, "has 3 fields"},
		{"not a number", "cpu  100 10 x50 800 0 0 0 40", 0, 0, `field system "x50"`},
		{"negative", "cpu  100 10 50 800 0 0 0 -4", 0, 0, `field steal "-4"`},
		{"overflow", "cpu  18446744073709551616 0 0 0", 0, 0, "field user"},
		{"binary garbage", "cpu \x00\xff\x01", 0, 0, "field user"},
	}
	for _, tt := range tests {
		got, err := parseCPULine([]byte(tt.line))
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: parseCPULine(%q): %v", tt.name, tt.line, err)
		case tt.err != "" && err == nil:
			t.Errorf("%s: parseCPULine(%q) = %+v; want an error with %q", tt.name, tt.line, got, tt.err)
		case tt.err != "" && !strings.Contains(err.Error(), tt.err):
			t.Errorf("%s: parseCPULine(%q) error %q; want it to contain %q", tt.name, tt.line, err, tt.err)
		case tt.err == "" && (got.total != tt.total || got.steal != tt.steal):
			t.Errorf("%s: parseCPULine(%q) = total %d steal %d; want %d, %d",
				tt.name, tt.line, got.total, got.steal, tt.total, tt.steal)
		}
	}
}

// statFile writes a /proc/stat-format file and returns its path.
func statFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stat")
	writeStat(t, path, text)
	return path
}

func writeStat(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestStealSampler(t *testing.T) {
	path := statFile(t, procStat)
	s, err := NewStealSampler(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// Nothing changed: no interval.
	if pct, err := s.Sample(); !errors.Is(err, ErrNoInterval) {
		t.Errorf("unchanged file: Sample = %v, %v; want ErrNoInterval", pct, err)
	}

	steps := []struct {
		line string
		want float64 // percent
	}{
		// +1000 ticks in all, 100 of them steal.
		{"cpu  371279 778 130344 133504 1258 0 3752 5212 0 0", 10},
		// +200 idle only.
		{"cpu  371279 778 130344 133704 1258 0 3752 5212 0 0", 0},
		// +100 ticks, all steal (a vCPU kept off its CPU).
		{"cpu  371279 778 130344 133704 1258 0 3752 5312 0 0", 100},
		// guest time moves with user time; it must not count twice.
		{"cpu  371379 778 130344 133704 1258 0 3752 5412 100 0", 50},
	}
	for i, st := range steps {
		writeStat(t, path, st.line+"\ncpu0 1 2 3 4\n")
		pct, err := s.Sample()
		if err != nil || math.Abs(pct-st.want) > 1e-9 {
			t.Errorf("step %d: Sample = %v, %v; want %v, nil", i, pct, err, st.want)
		}
	}

	// Counters that go backwards (a different file, a bug) are an error,
	// and the next sample measures from the new reading.
	writeStat(t, path, "cpu  100 0 0 100 0 0 0 10 0 0\n")
	if pct, err := s.Sample(); err == nil || !strings.Contains(err.Error(), "backwards") {
		t.Errorf("counters backwards: Sample = %v, %v; want an error", pct, err)
	}
	writeStat(t, path, "cpu  150 0 0 100 0 0 0 60 0 0\n")
	if pct, err := s.Sample(); err != nil || pct != 50 {
		t.Errorf("after the backwards step: Sample = %v, %v; want 50, nil", pct, err)
	}

	// Garbage: a clear error naming the file.
	writeStat(t, path, "garbage\n")
	if _, err := s.Sample(); err == nil || !strings.Contains(err.Error(), path) ||
		!strings.Contains(err.Error(), "not the aggregate cpu line") {
		t.Errorf("garbage: Sample error %v; want one naming %s and the line", err, path)
	}
	// A first line longer than the buffer.
	writeStat(t, path, "cpu  "+strings.Repeat("1 ", 400)+"\n")
	if _, err := s.Sample(); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("long line: Sample error %v", err)
	}
	// Without a final newline.
	writeStat(t, path, "cpu  250 0 0 100 0 0 0 60 0 0")
	if pct, err := s.Sample(); err != nil || pct != 0 {
		t.Errorf("no final newline: Sample = %v, %v; want 0, nil", pct, err)
	}
}

func TestStealSamplerErrors(t *testing.T) {
	if _, err := NewStealSampler(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("NewStealSampler of a missing file succeeded")
	}
	if _, err := NewStealSampler(statFile(t, "intr 1 2 3\n")); err == nil ||
		!strings.Contains(err.Error(), "not the aggregate cpu line") {
		t.Errorf("NewStealSampler of a file without a cpu line: %v", err)
	}
	if _, err := NewStealSampler(statFile(t, "")); err == nil {
		t.Error("NewStealSampler of an empty file succeeded")
	}
}

func TestStealSamplerAllocs(t *testing.T) {
	path := statFile(t, procStat)
	s, err := NewStealSampler(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Sample is read then advance; the file does not change here, so each
	// is checked on its own.
	if a := testing.AllocsPerRun(100, func() {
		if _, err := s.read(); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("reading and parsing the cpu line allocates %v times", a)
	}
	cur := s.prev
	if a := testing.AllocsPerRun(100, func() {
		cur.total += 100
		cur.steal += 7
		if pct, err := s.advance(cur); err != nil || pct != 7 {
			t.Fatalf("advance = %v, %v", pct, err)
		}
	}); a != 0 {
		t.Errorf("computing the steal allocates %v times", a)
	}
}

// TestStealSamplerProcStat reads the real /proc/stat, where there is one.
func TestStealSamplerProcStat(t *testing.T) {
	s, err := NewStealSampler("")
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("no /proc/stat")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Burn a little CPU so that the counters move.
	for {
		x := 0
		for i := range 10_000_000 {
			x += i
		}
		_ = x
		pct, err := s.Sample()
		if errors.Is(err, ErrNoInterval) {
			continue
		}
		if err != nil || pct < 0 || pct > 100 {
			t.Fatalf("Sample = %v, %v; want 0..100", pct, err)
		}
		t.Logf("steal %.2f%%", pct)
		return
	}
}
