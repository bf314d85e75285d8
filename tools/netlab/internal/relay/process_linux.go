//go:build linux

package relay

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
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
// once forwarding (origin as Relay.Origin), then, after SIGTERM or SIGINT,
// one line of Stats as JSON.

const readyWord = "ready"

// Run opens a Relay with cfg in the calling thread's network namespace,
// starts it, writes the ready line to w, forwards until ctx is done, and
// writes its Stats as JSON to w. Garbage collection is switched off for
// the process: the relay does not allocate while it forwards.
func Run(ctx context.Context, cfg Config, w io.Writer) error {
	r, err := Open(cfg)
	if err != nil {
		return err
	}
	debug.SetGCPercent(-1)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r.Start()
	if _, err := fmt.Fprintf(w, "%s %d\n", readyWord, r.Origin()); err != nil {
		r.Close()
		return err
	}
	<-ctx.Done()
	cerr := r.Close()
	runtime.ReadMemStats(&after)
	s := r.Stats()
	s.Mallocs = after.Mallocs - before.Mallocs
	if e := r.RealtimeErr(); e != nil {
		s.RealtimeErr = e.Error()
	}
	if err := json.NewEncoder(w).Encode(s); err != nil {
		return err
	}
	return cerr
}

// Proc is a relay child process started by Spawn.
type Proc struct {
	cmd    *exec.Cmd
	out    *bufio.Reader
	origin int64
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

// Stop asks the child to stop (SIGTERM), reads its Stats and waits for it,
// killing it if it has not exited within five seconds.
func (p *Proc) Stop() (Stats, error) {
	var s Stats
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() {
		line, err := p.out.ReadBytes('\n')
		if err == nil {
			err = json.Unmarshal(line, &s)
		}
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		err = errors.New("relay: child did not report within 5 s")
	}
	if werr := p.cmd.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("relay: child: %w", werr)
	}
	return s, err
}
