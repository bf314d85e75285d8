package hostprobe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// ProcStat is the file StealSampler reads by default.
const ProcStat = "/proc/stat"

// cpuTimes is the aggregate "cpu" line of /proc/stat, in clock ticks.
type cpuTimes struct {
	total uint64 // user+nice+system+idle+iowait+irq+softirq+steal
	steal uint64
}

// StealSampler reports the hypervisor's CPU steal: the share of all CPU
// time, summed over every CPU, during which a vCPU of this machine was
// runnable but the hypervisor ran something else. It reads the aggregate
// "cpu" line of /proc/stat.
//
// The file stays open and is read from offset 0 on each Sample (the kernel
// regenerates /proc files read from the start), into a buffer allocated
// once, so Sample does not allocate unless it returns an error. A
// StealSampler is not safe for concurrent use.
type StealSampler struct {
	f    *os.File
	buf  [512]byte // the aggregate line is about 80 bytes
	prev cpuTimes
}

// NewStealSampler opens path, ProcStat if empty, and takes a first reading
// as the baseline of the first Sample.
func NewStealSampler(path string) (*StealSampler, error) {
	if path == "" {
		path = ProcStat
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hostprobe: steal: %w", err)
	}
	s := &StealSampler{f: f}
	if s.prev, err = s.read(); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// ErrNoInterval is returned by Sample when no CPU time has passed since the
// previous reading (within one clock tick, usually 10 ms). The baseline is
// kept, so the next Sample covers the longer interval.
var ErrNoInterval = errors.New("hostprobe: steal: no CPU time passed since the previous sample")

// Sample returns the steal, in percent of all CPU time (0..100), since the
// previous Sample or since NewStealSampler. On an error other than
// ErrNoInterval the baseline becomes the current reading, if there is one.
func (s *StealSampler) Sample() (pct float64, err error) {
	cur, err := s.read()
	if err != nil {
		return 0, err
	}
	return s.advance(cur)
}

// advance makes cur the baseline and returns the steal since the previous
// one.
func (s *StealSampler) advance(cur cpuTimes) (pct float64, err error) {
	prev := s.prev
	if cur.total == prev.total && cur.steal == prev.steal {
		return 0, ErrNoInterval
	}
	s.prev = cur
	if cur.total < prev.total || cur.steal < prev.steal {
		return 0, fmt.Errorf("hostprobe: steal: counters went backwards (total %d→%d, steal %d→%d)",
			prev.total, cur.total, prev.steal, cur.steal)
	}
	dTotal, dSteal := cur.total-prev.total, cur.steal-prev.steal
	if dTotal == 0 {
		return 0, ErrNoInterval
	}
	return min(100*float64(dSteal)/float64(dTotal), 100), nil
}

// Close closes the file.
func (s *StealSampler) Close() error { return s.f.Close() }

// read reads and parses the aggregate cpu line.
func (s *StealSampler) read() (cpuTimes, error) {
	n, err := s.f.ReadAt(s.buf[:], 0)
	if err != nil && err != io.EOF {
		return cpuTimes{}, fmt.Errorf("hostprobe: steal: %w", err)
	}
	line := s.buf[:n]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	} else if n == len(s.buf) {
		return cpuTimes{}, fmt.Errorf("hostprobe: steal: %s: first line longer than %d bytes", s.f.Name(), len(s.buf))
	}
	t, err := parseCPULine(line)
	if err != nil {
		return cpuTimes{}, fmt.Errorf("hostprobe: steal: %s: %w", s.f.Name(), err)
	}
	return t, nil
}

// cpuFields names the fields of the cpu line, in order.
var cpuFields = [...]string{"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice"}

// parseCPULine parses the aggregate line "cpu  user nice system idle
// [iowait [irq softirq [steal [guest [guest_nice]]]]]". Kernels before
// 2.6.11 print no steal field: steal is then 0. guest and guest_nice are
// already counted in user and nice, so they are left out of the total. It
// does not allocate unless it returns an error.
func parseCPULine(line []byte) (cpuTimes, error) {
	rest, ok := bytes.CutPrefix(line, []byte("cpu"))
	if !ok || len(rest) == 0 || (rest[0] != ' ' && rest[0] != '\t') {
		return cpuTimes{}, fmt.Errorf("first line %q is not the aggregate cpu line", clip(line))
	}
	var t cpuTimes
	nf := 0
	for {
		rest = bytes.TrimLeft(rest, " \t")
		if len(rest) == 0 {
			break
		}
		end := bytes.IndexAny(rest, " \t")
		if end < 0 {
			end = len(rest)
		}
		field := rest[:end]
		rest = rest[end:]
		if nf == len(cpuFields) {
			break // fields added by later kernels
		}
		v, ok := parseUint(field)
		if !ok {
			return cpuTimes{}, fmt.Errorf("cpu field %s %q is not a number", cpuFields[nf], clip(field))
		}
		switch name := cpuFields[nf]; name {
		case "guest", "guest_nice":
		case "steal":
			t.steal = v
			t.total += v
		default:
			t.total += v
		}
		nf++
	}
	if nf < 4 {
		return cpuTimes{}, fmt.Errorf("cpu line %q has %d fields, want at least 4 (user nice system idle)", clip(line), nf)
	}
	return t, nil
}

// parseUint parses a decimal uint64 without allocating.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, false // overflow
		}
		v = v*10 + d
	}
	return v, true
}

// clip shortens b for an error message.
func clip(b []byte) []byte {
	if len(b) > 60 {
		return b[:60]
	}
	return b
}
