//go:build linux

package relay

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The relay runs in a process of its own (Run in the child, Spawn in the
// parent) so that nothing else in its Go runtime allocates, collects
// garbage or holds a P when its locked thread wakes: in the same process
// as a driver or a test, the relay's wake-ups waited for the runtime
// (stop-the-world, a free P) behind threads the kernel had descheduled, tens
// of milliseconds on a loaded host.
//
// The protocol on the child's standard output: one line "ready <origin>"
// once forwarding (origin as Relay.Origin), then one line of Stats as JSON
// for every SIGUSR1 (a snapshot; the relay goes on), and finally, after
// SIGTERM or SIGINT, one line of Stats as JSON.

const readyWord = "ready"

// Run opens a Relay with cfg in the calling thread's network namespace,
// starts it, writes the ready line to w, forwards until ctx is done, and
// writes its Stats as JSON to w; on each SIGUSR1 meanwhile it writes a
// snapshot of them. Garbage collection is switched off for the process:
// the relay does not allocate while it forwards (the snapshots' own
// allocations are not counted in Stats.Mallocs).
func Run(ctx context.Context, cfg Config, w io.Writer) error {
	r, err := Open(cfg)
	if err != nil {
		return err
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	debug.SetGCPercent(-1)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r.Start()
	if _, err := fmt.Fprintf(w, "%s %d\n", readyWord, r.Origin()); err != nil {
		r.Close()
		return err
	}
	enc := json.NewEncoder(w)
	var own uint64 // allocations of the snapshots
	for waiting := true; waiting; {
		select {
		case <-ctx.Done():
			waiting = false
		case <-usr1:
			// ReadMemStats stops the world for some µs: snapshots are
			// for the end of a run, when little is in flight.
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			err := enc.Encode(r.Stats())
			runtime.ReadMemStats(&m1)
			own += m1.Mallocs - m0.Mallocs
			if err != nil {
				r.Close()
				return err
			}
		}
	}
	cerr := r.Close()
	runtime.ReadMemStats(&after)
	s := r.Stats()
	s.Mallocs = after.Mallocs - before.Mallocs - min(own, after.Mallocs-before.Mallocs)
	if e := r.RealtimeErr(); e != nil {
		s.RealtimeErr = e.Error()
	}
	if err := enc.Encode(s); err != nil {
		return err
	}
	return cerr
}

// Proc is a relay child process started by Spawn. Its methods are safe for
// concurrent use.
type Proc struct {
	mu      sync.Mutex // serialises the lines read from out
	cmd     *exec.Cmd
	out     *bufio.Reader
	origin  int64
	stopped bool
	final   Stats
	err     error
}

// readyTimeout bounds the wait for the child's ready line.
const readyTimeout = 10 * time.Second

// Spawn starts cmd, a command that ends in Run (for example "netlab relay"
// in the access point's namespace), and waits for it to be forwarding.
func Spawn(cmd *exec.Cmd) (*Proc, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("relay: start: %w", err)
	}
	p := &Proc{cmd: cmd, out: bufio.NewReader(stdout)}
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := p.out.ReadString('\n')
		ch <- result{line, err}
	}()
	select {
	case res := <-ch:
		word, num, _ := strings.Cut(strings.TrimSpace(res.line), " ")
		origin, perr := strconv.ParseInt(num, 10, 64)
		if res.err != nil || word != readyWord || perr != nil {
			cmd.Process.Kill()
			werr := cmd.Wait()
			return nil, fmt.Errorf("relay: child did not start (%q, %v, exit %v)", res.line, res.err, werr)
		}
		p.origin = origin
		return p, nil
	case <-time.After(readyTimeout):
		cmd.Process.Kill()
		cmd.Wait()
		return nil, errors.New("relay: child not ready within 10 s")
	}
}

// Origin is the child relay's DTIM origin on CLOCK_MONOTONIC (tick.Now),
// which is one clock for every process on the host.
func (p *Proc) Origin() int64 { return p.origin }

// reportTimeout bounds the wait for a line of Stats.
const reportTimeout = 5 * time.Second

// readStats reads one line of Stats, waiting at most reportTimeout. On a
// timeout the reading goroutine is left to end with the child.
func (p *Proc) readStats() (Stats, error) {
	type result struct {
		s   Stats
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var r result
		line, err := p.out.ReadBytes('\n')
		if err == nil {
			err = json.Unmarshal(line, &r.s)
		}
		r.err = err
		ch <- r
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-time.After(reportTimeout):
		return Stats{}, errors.New("relay: child did not report within 5 s")
	}
}

// Snapshot returns the running child's Stats so far (SIGUSR1).
func (p *Proc) Snapshot() (Stats, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return p.final, errors.New("relay: child stopped")
	}
	if err := p.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return Stats{}, fmt.Errorf("relay: %w", err)
	}
	return p.readStats()
}

// Stop asks the child to stop (SIGTERM), reads its Stats and waits for it,
// killing it if it has not reported within five seconds. Later calls
// return the same.
func (p *Proc) Stop() (Stats, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return p.final, p.err
	}
	p.stopped = true
	p.cmd.Process.Signal(syscall.SIGTERM)
	s, err := p.readStats()
	if err != nil {
		p.cmd.Process.Kill()
	}
	if werr := p.cmd.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("relay: child: %w", werr)
	}
	p.final, p.err = s, err
	return s, err
}
