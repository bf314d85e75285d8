//go:build linux

package lab

// A private avahi-daemon in one of the lab's namespaces, as a headset's
// mDNS stack that is not ours, and avahi-browse against it.
//
// avahi-daemon talks to its clients over the D-Bus system bus and keeps its
// pid file and socket in /run/avahi-daemon, both of which the host may
// already use. So each Avahi gets a dbus-daemon of its own, listening on a
// socket in a directory of the caller's, and avahi-daemon runs with a
// tmpfs over /run in a mount namespace of its own (unshare --mount;
// propagation private, so the host never sees that mount). The host has no
// /run/avahi-daemon to mount on, and nothing is created on the host: the
// daemon makes the directory in the tmpfs. Both processes live in the
// lab's namespace, so Lab.Close kills them too if Close was not called.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// avahiTools are the commands an Avahi and the discovery tests need, and
// the Debian packages that have them.
var avahiTools = []struct{ cmd, pkg string }{
	{"dbus-daemon", "dbus"}, {"avahi-daemon", "avahi-daemon"}, {"avahi-browse", "avahi-utils"},
	{"dig", "dnsutils"}, {"unshare", "util-linux"}, {"mount", "mount"},
}

// AvahiAvailable reports which of the commands an Avahi and the discovery
// tests need (avahi-daemon, avahi-browse, dbus-daemon, dig, unshare,
// mount) are missing, or nil.
func AvahiAvailable() error {
	var missing []string
	for _, tool := range avahiTools {
		if _, err := exec.LookPath(tool.cmd); err != nil {
			missing = append(missing, fmt.Sprintf("%s (package %s)", tool.cmd, tool.pkg))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("needs %s: run tools/install-lab-deps.sh", strings.Join(missing, ", "))
	}
	return nil
}

// avahiStartup bounds the wait for each daemon to be ready.
const avahiStartup = 5 * time.Second

const dbusConf = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="method_return"/>
    <allow send_type="signal"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="signal"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
`

// avahiConf: browse only, on one interface, IPv4 only; nothing published
// (not even the host's name), no wide-area DNS-SD.
const avahiConf = `[server]
allow-interfaces=%s
use-ipv4=yes
use-ipv6=no
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
disable-publishing=yes
[reflector]
[rlimits]
`

// Avahi is an avahi-daemon, with its own D-Bus system bus, running in a
// lab namespace.
type Avahi struct {
	NS  string
	Bus string // the bus address, for DBUS_SYSTEM_BUS_ADDRESS
	// Log is the output of both daemons.
	Log *Log

	stop   context.CancelFunc
	waits  []chan struct{}
	closed bool
}

// StartAvahi starts dbus-daemon and avahi-daemon in namespace ns, avahi on
// interface iface only, with their files in dir (a directory of the
// caller's, outside /run), and waits until avahi-daemon has started.
func StartAvahi(ctx context.Context, ns, iface, dir string) (a *Avahi, err error) {
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	if dir == "/run" || strings.HasPrefix(dir, "/run/") {
		return nil, fmt.Errorf("lab: avahi dir %s is under /run, which avahi-daemon's mount namespace hides", dir)
	}
	sock := filepath.Join(dir, "bus")
	dconf, aconf := filepath.Join(dir, "dbus.conf"), filepath.Join(dir, "avahi-daemon.conf")
	if err := os.WriteFile(dconf, fmt.Appendf(nil, dbusConf, sock), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(aconf, fmt.Appendf(nil, avahiConf, iface), 0o644); err != nil {
		return nil, err
	}
	dctx, stop := context.WithCancel(context.Background())
	a = &Avahi{NS: ns, Log: &Log{}, stop: stop}
	defer func() {
		if err != nil {
			a.Close()
			a = nil
		}
	}()
	// start starts cmd (ip netns exec <ns> <command> …) and returns a
	// channel closed when it has exited.
	start := func(cmd *exec.Cmd) (chan struct{}, error) {
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("lab: %s: %w", cmd.Args[4], err)
		}
		done := make(chan struct{})
		a.waits = append(a.waits, done)
		go func() {
			err := cmd.Wait()
			fmt.Fprintf(a.Log, "[%s exited: %v]\n", cmd.Args[4], err)
			close(done)
		}()
		return done, nil
	}

	// dbus-daemon prints its address once it listens.
	dbus := Command(dctx, ns, "dbus-daemon", "--config-file="+dconf, "--nofork", "--nopidfile", "--print-address=1")
	addrR, addrW := io.Pipe()
	dbus.Stdout, dbus.Stderr = addrW, a.Log
	dbusDone, err := start(dbus)
	if err != nil {
		return a, err
	}
	go func() { <-dbusDone; addrW.Close() }()
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(addrR).ReadString('\n')
		addr <- strings.TrimSpace(line)
		io.Copy(a.Log, addrR)
	}()
	select {
	case a.Bus = <-addr:
	case <-time.After(avahiStartup):
	case <-ctx.Done():
		return a, ctx.Err()
	}
	if a.Bus == "" {
		return a, fmt.Errorf("lab: dbus-daemon in %s did not start: %s", ns, a.Log)
	}

	// avahi-daemon logs to standard error when it does not daemonize.
	daemon := Command(dctx, ns, "unshare", "--mount", "--propagation", "private",
		"sh", "-c", `mount -t tmpfs -o mode=0755 tmpfs /run && exec "$@"`, "sh",
		"avahi-daemon", "--no-drop-root", "--no-chroot", "--no-rlimits", "-f", aconf)
	daemon.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+a.Bus)
	daemon.Stdout, daemon.Stderr = a.Log, a.Log
	daemonDone, err := start(daemon)
	if err != nil {
		return a, err
	}
	wctx, cancel := context.WithTimeout(ctx, avahiStartup)
	defer cancel()
	go func() {
		select {
		case <-daemonDone: // exited: no need to wait longer
			cancel()
		case <-wctx.Done():
		}
	}()
	if err := a.Log.Wait(wctx, "Server startup complete"); err != nil {
		return a, fmt.Errorf("lab: avahi-daemon in %s did not start: %v\n%s", ns, err, a.Log)
	}
	return a, nil
}

// Close stops avahi-daemon and dbus-daemon (SIGTERM, SIGKILL after 3 s)
// and waits for them.
func (a *Avahi) Close() {
	if a.closed {
		return
	}
	a.closed = true
	a.stop()
	for _, w := range a.waits {
		<-w
	}
}

// Browse starts avahi-browse with args in the Avahi's namespace, against
// its bus, and collects the lines it prints. Stop it with Browse.Stop.
func (a *Avahi) Browse(ctx context.Context, args ...string) (*Browse, error) {
	ctx, cancel := context.WithCancel(ctx)
	cmd := Command(ctx, a.NS, "avahi-browse", args...)
	cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+a.Bus)
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	b := &Browse{Args: args, cancel: cancel, changed: make(chan struct{}), done: make(chan struct{})}
	cmd.Stderr = &b.stderr
	b.Start = time.Now()
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("lab: avahi-browse: %w", err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			b.add(sc.Text())
		}
		err := cmd.Wait()
		b.mu.Lock()
		b.err, b.ended = err, time.Since(b.Start)
		close(b.changed)
		b.mu.Unlock()
		close(b.done)
	}()
	return b, nil
}

// Browse is a running or finished avahi-browse.
type Browse struct {
	Args  []string
	Start time.Time

	cancel  context.CancelFunc
	mu      sync.Mutex
	events  []BrowseEvent
	raw     bytes.Buffer
	stderr  Log
	changed chan struct{} // closed and replaced when a line arrives
	done    chan struct{}
	err     error
	ended   time.Duration
}

func (b *Browse) add(line string) {
	at := time.Since(b.Start)
	b.mu.Lock()
	defer b.mu.Unlock()
	fmt.Fprintf(&b.raw, "%7.3fs %s\n", at.Seconds(), line)
	if e, err := ParseBrowseLine(line); err == nil {
		e.At = at
		b.events = append(b.events, e)
	}
	close(b.changed)
	b.changed = make(chan struct{})
}

// Wait returns the first event, in the order printed, for which match is
// true, waiting for it until ctx is done or avahi-browse exits.
func (b *Browse) Wait(ctx context.Context, match func(BrowseEvent) bool) (BrowseEvent, bool) {
	for i := 0; ; {
		b.mu.Lock()
		for ; i < len(b.events); i++ {
			if match(b.events[i]) {
				e := b.events[i]
				b.mu.Unlock()
				return e, true
			}
		}
		changed, exited := b.changed, b.isDone()
		b.mu.Unlock()
		if exited {
			return BrowseEvent{}, false
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return BrowseEvent{}, false
		}
	}
}

func (b *Browse) isDone() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// Exited waits until avahi-browse exits or ctx is done, and returns when
// it exited (since Start) and its error; ok is false if it is still
// running.
func (b *Browse) Exited(ctx context.Context) (at time.Duration, err error, ok bool) {
	select {
	case <-b.done:
	case <-ctx.Done():
		return 0, nil, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ended, b.err, true
}

// Stop ends avahi-browse (SIGTERM) if it still runs and waits for it.
func (b *Browse) Stop() {
	b.cancel()
	<-b.done
}

// Events returns the lines parsed so far.
func (b *Browse) Events() []BrowseEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]BrowseEvent(nil), b.events...)
}

// Output returns everything avahi-browse printed, each line of standard
// output with its time since Start, then standard error.
func (b *Browse) Output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := "$ avahi-browse " + strings.Join(b.Args, " ") + "\n" + b.raw.String()
	if e := b.stderr.String(); e != "" {
		s += "stderr: " + e
	}
	if b.isDone() {
		s += fmt.Sprintf("[exited after %.3fs: %v]\n", b.ended.Seconds(), b.err)
	}
	return s
}

// BrowseEvent is one line of avahi-browse --parsable output:
//
//	+;iface;protocol;name;type;domain                          (new)
//	-;iface;protocol;name;type;domain                          (removed)
//	=;iface;protocol;name;type;domain;host;address;port;"txt"… (resolved)
//
// Name, Type and Domain are decoded (avahi escapes them, "Arena\032\0402\041").
type BrowseEvent struct {
	At                 time.Duration // since the browse started
	Kind               byte          // '+', '-' or '='
	Iface, Protocol    string
	Name, Type, Domain string
	Host               string         // '=' only
	Addr               netip.AddrPort // '=' only
	TXT                []string       // '=' only, decoded, in avahi's order
}

// ParseBrowseLine parses one line of avahi-browse --parsable output.
func ParseBrowseLine(line string) (BrowseEvent, error) {
	var e BrowseEvent
	f := strings.SplitN(line, ";", 10)
	if len(f) < 6 || len(f[0]) != 1 || !strings.Contains("+-=", f[0]) {
		return e, fmt.Errorf("not an avahi-browse line: %q", line)
	}
	e.Kind, e.Iface, e.Protocol = f[0][0], f[1], f[2]
	var err error
	for i, dst := range []*string{&e.Name, &e.Type, &e.Domain} {
		if *dst, err = UnescapeName(f[3+i]); err != nil {
			return e, err
		}
	}
	if e.Kind != '=' {
		return e, nil
	}
	if len(f) != 10 {
		return e, fmt.Errorf("resolved line with %d fields: %q", len(f), line)
	}
	e.Host = f[6]
	a, err := netip.ParseAddr(f[7])
	if err != nil {
		return e, err
	}
	port, err := strconv.ParseUint(f[8], 10, 16)
	if err != nil {
		return e, err
	}
	e.Addr = netip.AddrPortFrom(a, uint16(port))
	e.TXT, err = ParseTXT(f[9])
	return e, err
}

// UnescapeName decodes the escapes of DNS presentation format (RFC 1035
// §5.1) that avahi-browse and dig print in names: \DDD is the byte of
// that decimal value, \c is c. An escaped dot comes out as a plain dot.
func UnescapeName(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			out = append(out, s[i])
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if v > 255 {
				return "", fmt.Errorf("bad escape in %q", s)
			}
			out = append(out, byte(v))
			i += 3
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("trailing backslash in %q", s)
		}
		out = append(out, s[i+1])
		i++
	}
	return string(out), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// ParseTXT splits TXT data as avahi-browse and dig print it, `"a=1" "b=2"`,
// into its strings; inside the quotes '"' and '\' are escaped with a
// backslash and unprintable bytes as \DDD.
func ParseTXT(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		switch s[i] {
		case ' ':
			i++
			continue
		case '"':
		default:
			return nil, fmt.Errorf("TXT %q: unexpected %q at %d", s, s[i], i)
		}
		j := i + 1
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(s) {
			return nil, fmt.Errorf("TXT %q: unterminated string", s)
		}
		v, err := UnescapeName(s[i+1 : j])
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		i = j + 1
	}
	return out, nil
}

// Log is an io.Writer that keeps what is written, for processes' output
// that a test waits on and shows on failure. It is safe for concurrent use.
type Log struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return len(p), nil
}

func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Wait waits until the log contains s, or ctx is done.
func (l *Log) Wait(ctx context.Context, s string) error { return l.WaitN(ctx, s, 1) }

// WaitN waits until the log contains s n times, or ctx is done.
func (l *Log) WaitN(ctx context.Context, s string, n int) error {
	for {
		l.mu.Lock()
		if bytes.Count(l.buf.Bytes(), []byte(s)) >= n {
			l.mu.Unlock()
			return nil
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%q not %d times: %w", s, n, ctx.Err())
		}
	}
}
