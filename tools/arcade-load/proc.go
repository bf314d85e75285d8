package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/arcadexr/arcade/tools/internal/toolrun"
)

// child is a process this command started. Its stdout is read line by line
// into lines; the first keepStderr bytes of stderr are kept.
type child struct {
	cmd    *exec.Cmd
	lines  chan []byte
	stderr toolrun.CapBuffer
	done   chan struct{}
}

const keepStderr = 32 << 10

// startChild starts argv. The child is killed if this process dies first
// (Pdeathsig: run keeps its goroutine on one thread while children run).
func startChild(argv []string, nice int) (*child, error) {
	c := &child{cmd: exec.Command(argv[0], argv[1:]...), lines: make(chan []byte, 64), done: make(chan struct{})}
	c.stderr.Max = keepStderr
	c.cmd.Stderr = &c.stderr
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	if nice != 0 {
		// Before it has connected anything: the bot is the load, not
		// what is measured, and stays behind the server.
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, c.cmd.Process.Pid, nice); err != nil {
			c.kill()
			return nil, fmt.Errorf("setpriority %d: %w", nice, err)
		}
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			c.lines <- bytes.Clone(sc.Bytes())
		}
		io.Copy(io.Discard, out)
		c.cmd.Wait()
		close(c.lines)
		close(c.done)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *child) kill() {
	if !c.exited() {
		c.cmd.Process.Kill()
	}
}

// stop sends SIGTERM and kills after d.
func (c *child) stop(d time.Duration) {
	if c.exited() {
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(d):
		c.cmd.Process.Kill()
		<-c.done
	}
}

// nextLine returns the child's next stdout line, waiting up to d.
func (c *child) nextLine(d time.Duration) ([]byte, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case l, ok := <-c.lines:
		if !ok {
			return nil, fmt.Errorf("exited: %s", c.stderr.Tail(4))
		}
		return l, nil
	case <-t.C:
		return nil, errors.New("no line in time")
	}
}

var httpClient = &http.Client{Timeout: 2 * time.Second}

// getJSON reads GET url into a map.
func getJSON(url string) (map[string]any, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var m map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&m); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return m, nil
}

// getMetrics reads the unlabelled samples of GET /metrics.
func getMetrics(url string) (map[string]float64, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 16<<20))
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "#") || strings.Contains(l, "{") {
			continue
		}
		if k, v, ok := strings.Cut(l, " "); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				m[k] = f
			}
		}
	}
	return m, sc.Err()
}

func postReset(url, token string) error {
	req, err := http.NewRequest(http.MethodPost, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s", url, resp.Status)
	}
	return nil
}

// clkTck is USER_HZ, the unit of /proc/PID/stat's times (100 on Linux).
const clkTck = 100

// procCPU returns a process's user and system CPU time (s), all threads.
func procCPU(pid int) (user, sys float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, errors.New("/proc/PID/stat: no command")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, 0, errors.New("/proc/PID/stat: short")
	}
	u, err1 := strconv.ParseFloat(f[11], 64)
	s, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, 0, errors.New("/proc/PID/stat: bad times")
	}
	return u / clkTck, s / clkTck, nil
}

// procRSS returns a process's resident set (bytes).
func procRSS(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for l := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseFloat(f[0], 64)
				return kb * 1024, err
			}
		}
	}
	return 0, errors.New("no VmRSS")
}

// udpSNMP returns the host's Udp InErrors and RcvbufErrors
// (/proc/net/snmp).
func udpSNMP() (inErrors, rcvbuf float64, err error) {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0, 0, err
	}
	var names []string
	for l := range strings.Lines(string(b)) {
		if !strings.HasPrefix(l, "Udp: ") {
			continue
		}
		f := strings.Fields(l)[1:]
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if i < len(f) {
				v, _ := strconv.ParseFloat(f[i], 64)
				switch n {
				case "InErrors":
					inErrors = v
				case "RcvbufErrors":
					rcvbuf = v
				}
			}
		}
		return inErrors, rcvbuf, nil
	}
	return 0, 0, errors.New("/proc/net/snmp: no Udp line")
}

// socketDrops sums the drops column of /proc/net/udp over the sockets the
// process holds.
func socketDrops(pid int) (float64, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/udp", pid))
	if err != nil {
		return 0, err
	}
	var drops float64
	for l := range strings.Lines(string(b)) {
		f := strings.Fields(l)
		// sl local rem st tx:rx tr:tm retrnsmt uid timeout inode ref pointer drops
		if len(f) >= 13 && inodes[f[9]] {
			v, _ := strconv.ParseFloat(f[12], 64)
			drops += v
		}
	}
	return drops, nil
}

// loBytes returns lo's received bytes and packets (/proc/net/dev). Every
// datagram on loopback is counted once in each of lo's directions, so
// these are all the loopback traffic: server → headsets and back, with
// each multicast datagram once, and whatever else on the host uses lo.
func loBytes() (bytes, packets float64, err error) {
	b, err := os.ReadFile("/proc/net/dev")
	if err != nil {
		return 0, 0, err
	}
	for l := range strings.Lines(string(b)) {
		name, rest, ok := strings.Cut(l, ":")
		if !ok || strings.TrimSpace(name) != "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			break
		}
		bytes, _ = strconv.ParseFloat(f[0], 64)
		packets, _ = strconv.ParseFloat(f[1], 64)
		return bytes, packets, nil
	}
	return 0, 0, errors.New("/proc/net/dev: no lo")
}

// reniceSelf sets every thread of this process to nice (Linux's nice is
// per thread; threads started later inherit it from the one that starts
// them, so it is applied again at every step).
func reniceSelf(nice int) error {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("renice: %w", err)
	}
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice); err != nil && err != syscall.ESRCH {
			return fmt.Errorf("renice thread %d to %d: %w", tid, nice, err)
		}
	}
	return nil
}
