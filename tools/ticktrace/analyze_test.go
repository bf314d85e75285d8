package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	rtrace "runtime/trace"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A trace of this process, in which a locked goroutine plays the tick
// thread: it logs ticks (each "late" by a fixed amount) between syscalls.
func TestAnalyzeFindsTheTickGoroutine(t *testing.T) {
	var buf bytes.Buffer
	if err := rtrace.Start(&buf); err != nil {
		t.Skipf("runtime/trace: %v", err)
	}
	const ticks = 40
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		ts := unix.Timespec{Nsec: 50_000}
		for range ticks {
			unix.Nanosleep(&ts, nil)
			rtrace.Log(context.Background(), tickCategory, strconv.Itoa(1000))
		}
	}()
	// Something else for the runtime to schedule meanwhile.
	go func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			_ = make([]byte, 1<<10)
			runtime.Gosched()
		}
	}()
	<-done
	rtrace.Stop()

	a, err := analyze(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Ticks) != ticks {
		t.Fatalf("%d ticks found, want %d (tick goroutine g%d, %s)", len(a.Ticks), ticks, a.TickG, a.Found)
	}
	for _, tk := range a.Ticks {
		if tk.late != 1000 || int64(tk.start-tk.deadline) != 1000 {
			t.Fatalf("tick %+v: want lateness 1000 ns and a window of as much", tk)
		}
		var sum int64
		for _, v := range tk.where {
			sum += v
		}
		if sum > 1000 {
			t.Fatalf("tick %+v: %d ns accounted in a 1000 ns window", tk, sum)
		}
	}
	if a.Tick.Syscalls < ticks || a.Tick.Kept+a.Tick.Lost != a.Tick.Syscalls || len(a.Tick.LostWait) > a.Tick.Lost {
		t.Fatalf("tick goroutine syscalls %+v, want ≥ %d, kept + lost = all", a.Tick, ticks)
	}
	if a.Process.Syscalls < a.Tick.Syscalls {
		t.Fatalf("process syscalls %d < the tick goroutine's %d", a.Process.Syscalls, a.Tick.Syscalls)
	}
	tl := a.tail()
	if tl.N == 0 || tl.P99Late != 1000 {
		t.Fatalf("tail %+v: want the ticks at p99 1000 ns", tl)
	}
}

func TestAnalyzeRejectsATraceWithoutTicks(t *testing.T) {
	var buf bytes.Buffer
	if err := rtrace.Start(&buf); err != nil {
		t.Skipf("runtime/trace: %v", err)
	}
	rtrace.Stop()
	if _, err := analyze(buf.Bytes()); err == nil {
		t.Fatal("no error for a trace with no tick goroutine")
	}
}

func TestQuantile(t *testing.T) {
	v := []int64{5, 1, 4, 2, 3}
	for _, c := range []struct {
		q    float64
		want int64
	}{{0.5, 3}, {0.99, 5}, {1, 5}, {0, 1}} {
		if got := quantile(v, c.q); got != c.want {
			t.Errorf("quantile(%v) = %d, want %d", c.q, got, c.want)
		}
	}
	if quantile(nil, 0.5) != 0 {
		t.Error("quantile of nothing is not 0")
	}
}

// TestReadRejectsGarbage: --read of a file that is no runtime trace, or of
// no file, fails with a message naming the file, not a panic.
func TestReadRejectsGarbage(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.trace")
	if err := os.WriteFile(junk, []byte("go 1.99 trace\x00\xff\xfe not a trace at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{junk, filepath.Join(dir, "missing.trace")} {
		var out, errOut bytes.Buffer
		if code := run([]string{"--read", file}, &out, &errOut); code != 1 {
			t.Errorf("--read %s: exit %d, want 1", file, code)
		}
		if !strings.Contains(errOut.String(), filepath.Base(file)) {
			t.Errorf("--read %s: stderr %q does not name the file", file, errOut.String())
		}
	}
}
