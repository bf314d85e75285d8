package main

// The reliable-channel scenario, run by TestReliableLab (which asserts what
// must always hold) and by the netlab command (which reports the figures):
// one headset sends 10 000 RPC messages of mixed sizes over streams 0..2 to
// an in-process server through the relay, whose handler must see each one
// exactly once, in order per stream, intact. The headset's frames are
// captured (AF_PACKET) and the server's arrivals tapped, so that the resend
// delay of every fragment whose first send the network lost is measured,
// and shown next to the round trip time measured on the same path and the
// profile's configured one.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/reliable"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/tick"
	"github.com/arcadexr/arcade/tools/netlab/internal/lab"
	"github.com/arcadexr/arcade/tools/netlab/internal/relay"
	"github.com/arcadexr/arcade/wire"

	"golang.org/x/sys/unix"
)

// The reliable-delivery scenario.
const (
	relProfile  = "wifi-busy"
	relMessages = 10_000
	relSmall    = 9_900 // payloads of 1 B..1 KiB
	relMedium   = 90    // 1..64 KiB; the rest 64..200 KiB
	relStreams  = 3     // streams 0, 1 and 2
	relSeed     = 2026
	relRPC      = 0x7f00 // above the built-in RPC types: the scenario's own
	relPort     = 7777
	relDeliver  = 60 * time.Second // first send to the last delivery, at most
	relSettle   = 10 * time.Second // last delivery to a settled channel, at most
	relPoll     = 2 * time.Millisecond
	// relSession is the handshake limit and the idle timeout of the
	// scenario's session, both ways: far beyond the defaults (5 s, 2 s),
	// because what the scenario checks is delivery, and a host that stalls
	// a process for seconds must not end the session under it.
	relSession = 30 * time.Second
	// relTagSize is the tag that starts every body: stream (u8), sequence
	// number in the stream (u32), CRC-32 (IEEE) of the rest (u32). The
	// payload after it is what the 1 B..200 KiB sizes count.
	relTagSize = 9
)

// relConfig is one run of the scenario.
type relConfig struct {
	Lab     *lab.Lab
	Headset lab.Headset
	Profile relay.Profile
	// Relay is the relay's command (netlab relay --profile … in the
	// access point), not yet started.
	Relay *exec.Cmd
}

// relResult is what a run measured. Problems are the violations of what
// must always hold; everything else is a figure.
type relResult struct {
	Profile   relay.Profile
	Messages  int
	Bytes     int // payload bytes
	QueueFull int // SendRPC refusals (queue full), each retried
	Queued    time.Duration
	Delivered time.Duration // first send to the last delivery
	// Settled is how long after the last delivery the channel was quiet
	// (every fragment acknowledged, nothing in flight, the server done
	// with what arrived); SettleErr says why it was not, if it was not.
	Settled   time.Duration
	SettleErr error

	ClientRTT    time.Duration // the client's smoothed ping RTT on this path
	ServerMinRTT float64       // ms: the path's minimum, from the server's header acks
	Client       client.Stats

	Datagrams    int    // Message datagrams the headset sent (capture)
	Arrived      int    // of those, that reached the server's socket (tap)
	Fragments    int    // distinct reliable fragments sent
	Resends      int    // fragment sends after the first
	LostFirst    int    // fragments whose first send never reached the server
	Unresent     int    // of those, never resent
	CaptureDrops uint32 // frames the capture socket dropped
	Delays       []time.Duration
	Relay        relay.Stats
	Problems     []string
}

func (r *relResult) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// nominalRTT is the profile's configured mean round trip: the jitter is
// ± around Delay each way.
func (r *relResult) nominalRTT() time.Duration {
	return r.Profile.ToServer.Delay + r.Profile.ToHeadsets.Delay
}

// runReliable runs the scenario. It returns an error when the scenario
// could not run (a socket, the relay); what went wrong while it ran is in
// the result's Problems.
func runReliable(ctx context.Context, cfg relConfig) (res *relResult, err error) {
	res = &relResult{Profile: cfg.Profile, Messages: relMessages}
	h1 := cfg.Headset
	proc, err := relay.Spawn(cfg.Relay)
	if err != nil {
		return nil, err
	}
	defer func() {
		s, serr := proc.Stop()
		res.Relay = s
		if serr != nil && err == nil {
			err = serr
		}
	}()

	// The capture of the headset's frames, before anything is sent.
	srvAddr := netip.AddrPortFrom(lab.SrvAddr, relPort)
	capt, err := startCapture(h1.NS, h1.Iface, relPort)
	if err != nil {
		return nil, err
	}
	defer capt.stop()

	// The server, its socket in the server's namespace.
	var conn *udp.Conn
	if err := lab.Do(cfg.Lab.Srv, func() (err error) {
		conn, err = udp.Listen(udp.Config{Listen: srvAddr, Timestamps: true, MulticastIface: lab.SrvIface})
		return err
	}); err != nil {
		return nil, err
	}
	arrived := &seqTap{seen: map[int64]bool{}}
	// SessionRate: the default (1000 datagrams/s, a headset's pace) would
	// drop this bulk transfer's datagrams at the server and pass the drops
	// off as network loss; this scenario measures the network's.
	srv, err := server.New(server.Config{SessionRate: 100_000, IdleTimeout: relSession, Tap: arrived}, conn, tick.Now())
	if err != nil {
		conn.Close()
		return nil, err
	}
	rec := newRecorder()
	srv.HandleRPC(relRPC, rec.handle)
	sctx, stopServer := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(sctx, conn.Fd()) }()
	defer func() {
		stopServer()
		if rerr := <-runErr; rerr != nil {
			res.problem("server Run: %v", rerr)
		}
		conn.Close()
	}()

	// The client, its socket in the headset's namespace.
	var c *client.Client
	if err := lab.Do(h1.NS, func() (err error) {
		c, err = client.Dial(ctx, srvAddr.String(), client.Config{
			SessionConfig: client.SessionConfig{Name: "reliable", Unicast: true,
				ConnectTimeout: relSession, ServerTimeout: relSession},
			MulticastIface: h1.Iface,
		})
		return err
	}); err != nil {
		return nil, err
	}
	defer c.Close()

	plan := makeRelPlan()
	res.Bytes = plan.bytes
	start := time.Now()
	deadline := start.Add(relDeliver)
	body := make([]byte, 0, relTagSize+200<<10)
	rng := rand.New(rand.NewPCG(relSeed, 2))
send:
	for i, m := range plan.msgs {
		body = body[:relTagSize+m.size]
		for j := relTagSize; j < len(body); j++ {
			body[j] = byte(rng.Uint32())
		}
		putTag(body, m.stream, m.seq)
		for {
			err := c.SendRPC(int(m.stream), relRPC, body)
			if err == nil {
				break
			}
			if !errors.Is(err, reliable.ErrQueueFull) {
				res.problem("message %d (stream %d #%d, %d B): %v", i, m.stream, m.seq, len(body), err)
				break send
			}
			res.QueueFull++
			// The queue frees as the server acknowledges: wait for a
			// delivery, or a moment (acknowledged fragments of a message
			// not yet complete free it too).
			if !rec.progress(ctx, deadline, relPoll) {
				res.problem("message %d still refused (queue full) %v after the first send; %d delivered", i, relDeliver, rec.count())
				break send
			}
		}
	}
	res.Queued = time.Since(start)
	select {
	case <-rec.done:
	case <-time.After(time.Until(deadline)):
	case <-ctx.Done():
	}
	res.Delivered = time.Since(start)
	// Late duplicates: a fragment resent after its message was delivered
	// (its acknowledgement lost) must be dropped, not delivered again. So
	// the check waits until no resend can follow and every one sent has
	// been dealt with.
	settleStart := time.Now()
	res.SettleErr = settle(ctx, capt, proc, arrived, srv, time.Now().Add(relSettle))
	res.Settled = time.Since(settleStart)
	res.Client = c.Stats()
	res.ClientRTT = c.RTT()
	capt.stop()
	for _, ci := range srv.Stats().ClientList() {
		// The server sends no reliable data here, so its reliable RTT
		// has no samples; its header-ack RTT is the path's minimum.
		res.ServerMinRTT = ci.RTTMs
	}
	for _, p := range rec.check(plan) {
		res.problem("%s", p)
	}

	// The resend delay: for every fragment whose first send never reached
	// the server's socket, from that send to its first resend, both
	// stamped by the kernel on the headset's interface.
	res.Delays, res.LostFirst, res.Unresent = capt.resendDelays(arrived.snapshot())
	res.Datagrams, res.Arrived, res.Fragments, res.Resends, res.CaptureDrops = capt.datagrams, arrived.count(), len(capt.frags), capt.resends, capt.drops
	// The capture's completeness is a condition of the measurement: only a
	// complete one can tell that a lost fragment was never resent.
	if res.CaptureDrops == 0 && res.Unresent > 0 {
		res.problem("%d fragments lost on first send were never resent, yet every message arrived: the capture or the tap missed datagrams", res.Unresent)
	}
	if res.LostFirst == 0 {
		res.problem("no fragment was lost on its first send: the profile's loss (%s) did not happen", cfg.Profile.Name)
	}
	return res, nil
}

// settle waits, until deadline, for the reliable channel to be quiet: every
// fragment the headset sent acknowledged in a header it received (so no
// resend is due), the relay holding nothing and having read every frame the
// headset sent, the server's socket having yielded every UDP datagram the
// relay passed on, and two server ticks since (so the server has handled
// them). It says which condition did not come.
func settle(ctx context.Context, capt *capture, proc *relay.Proc, tap *seqTap, srv *server.Server, deadline time.Time) error {
	wait := func(what string, cond func() (bool, error)) error {
		for {
			ok, err := cond()
			if err != nil || ok {
				return err
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return errors.New(what)
			}
			time.Sleep(relPoll)
		}
	}
	if err := wait("fragments still unacknowledged", func() (bool, error) { return capt.unacked.Load() == 0, nil }); err != nil {
		return fmt.Errorf("%w: %d", err, capt.unacked.Load())
	}
	sent := uint64(capt.outFrames.Load())
	var snap relay.Stats
	if err := wait("the relay did not pass on the headset's frames", func() (ok bool, err error) {
		snap, err = proc.Snapshot()
		return snap.ToServer.Received >= sent && snap.ToServer.Queued() == 0, err
	}); err != nil {
		return fmt.Errorf("%w: read %d of %d, holding %d", err, snap.ToServer.Received, sent, snap.ToServer.Queued())
	}
	want := snap.ToServer.UDPForwarded()
	if err := wait("the server did not read every datagram passed on", func() (bool, error) { return tap.total.Load() >= want, nil }); err != nil {
		return fmt.Errorf("%w: %d of %d", err, tap.total.Load(), want)
	}
	ticks := srv.Stats().Ticks.Load()
	return wait("the server did not tick", func() (bool, error) { return srv.Stats().Ticks.Load() >= ticks+2, nil })
}

// printReliable prints a run's figures: the delivery, then the resend
// delay beside the RTT measured on the path and the profile's.
func printReliable(w io.Writer, r *relResult) {
	verdict := "every message delivered once, in order, intact"
	if len(r.Problems) > 0 {
		verdict = fmt.Sprintf("%d problems: %s", len(r.Problems), strings.Join(r.Problems, "; "))
	}
	fmt.Fprintf(w, "Reliable channel over %s (%v ± %v each way, %.1f %% bursty loss, reordering): %d messages, %.2f MB over streams 0..%d\n",
		r.Profile.Name, r.Profile.ToServer.Delay, r.Profile.ToServer.Jitter, 100*r.Profile.ToServer.Loss.Rate(), r.Messages, float64(r.Bytes)/1e6, relStreams-1)
	rate := 0.0
	if r.Delivered > 0 {
		rate = float64(r.Bytes) / 1e6 / r.Delivered.Seconds()
	}
	fmt.Fprintf(w, "  queued in %v (%d queue-full retries), all delivered in %v (%.2f MB/s): %s\n",
		r.Queued.Round(time.Millisecond), r.QueueFull, r.Delivered.Round(time.Millisecond), rate, verdict)
	settled := fmt.Sprintf("settled %v after the last delivery", r.Settled.Round(time.Millisecond))
	if r.SettleErr != nil {
		settled = fmt.Sprintf("not settled after %v: %v", r.Settled.Round(time.Millisecond), r.SettleErr)
	}
	fmt.Fprintf(w, "  headset sent %d Message datagrams (%d reached the server), %d fragments, %d resends; %d fragments lost on first send, %d never resent; capture drops %d; %s\n",
		r.Datagrams, r.Arrived, r.Fragments, r.Resends, r.LostFirst, r.Unresent, r.CaptureDrops, settled)
	fmt.Fprintf(w, "  RTT: measured %s ms (client's smoothed ping), profile %s ms (configured mean), path minimum %.2f ms (server's header acks)\n",
		msStr(r.ClientRTT), msStr(r.nominalRTT()), r.ServerMinRTT)
	if len(r.Delays) == 0 {
		fmt.Fprintln(w, "  resend delay: no fragment lost on its first send, nothing to measure")
		return
	}
	q := func(p float64) time.Duration { return r.Delays[int(p*float64(len(r.Delays)-1))] }
	cells := [][]string{{fmt.Sprintf("resend delay, %d fragments", len(r.Delays)), "p50", "p90", "p99", "max"}}
	qs := []time.Duration{q(.5), q(.9), q(.99), r.Delays[len(r.Delays)-1]}
	row := func(name string, f func(time.Duration) string) {
		c := []string{name}
		for _, d := range qs {
			c = append(c, f(d))
		}
		cells = append(cells, c)
	}
	row("ms", msStr)
	ratio := func(ref time.Duration) func(time.Duration) string {
		return func(d time.Duration) string {
			if ref <= 0 {
				return "—"
			}
			return fmt.Sprintf("%.2f", float64(d)/float64(ref))
		}
	}
	row("÷ measured RTT", ratio(r.ClientRTT))
	row("÷ profile RTT", ratio(r.nominalRTT()))
	writeCells(w, cells)
}

func msStr(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/1e6) }

// relMsg is one planned message.
type relMsg struct {
	stream uint8
	seq    uint32 // in its stream, from 0
	size   int    // payload after the tag
}

type relPlan struct {
	msgs  []relMsg
	per   [relStreams]uint32 // messages per stream
	bytes int                // payload bytes
}

// makeRelPlan draws the sizes (mostly small, a heavy tail) and streams,
// seeded, in a shuffled order.
func makeRelPlan() relPlan {
	rng := rand.New(rand.NewPCG(relSeed, 1))
	sizes := make([]int, 0, relMessages)
	for i := range relMessages {
		switch {
		case i < relSmall:
			sizes = append(sizes, 1+rng.IntN(1<<10))
		case i < relSmall+relMedium:
			sizes = append(sizes, 1<<10+rng.IntN(63<<10+1))
		default:
			sizes = append(sizes, 64<<10+rng.IntN(136<<10+1))
		}
	}
	rng.Shuffle(len(sizes), func(i, j int) { sizes[i], sizes[j] = sizes[j], sizes[i] })
	var p relPlan
	for _, n := range sizes {
		s := uint8(rng.IntN(relStreams))
		p.msgs = append(p.msgs, relMsg{stream: s, seq: p.per[s], size: n})
		p.per[s]++
		p.bytes += n
	}
	return p
}

// putTag writes the tag into the first relTagSize bytes of body.
func putTag(body []byte, stream uint8, seq uint32) {
	body[0] = stream
	binary.LittleEndian.PutUint32(body[1:], seq)
	binary.LittleEndian.PutUint32(body[5:], crc32.ChecksumIEEE(body[relTagSize:]))
}

// recorder is the server's handler: it checks each message against the
// next one expected on its stream.
type recorder struct {
	mu       sync.Mutex
	next     [relStreams]uint32
	n        int
	bytes    int
	problems []string // the first few
	bad      int
	changed  chan struct{} // closed and replaced at every delivery
	done     chan struct{} // closed at the relMessages-th delivery
}

func newRecorder() *recorder {
	return &recorder{changed: make(chan struct{}), done: make(chan struct{})}
}

// handle runs on the server's tick thread.
func (r *recorder) handle(now int64, from server.ClientRef, body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	close(r.changed)
	r.changed = make(chan struct{})
	if r.n == relMessages {
		close(r.done)
	}
	r.bytes += len(body)
	if len(body) < relTagSize {
		r.problem("a %d-byte body, shorter than the tag", len(body))
		return
	}
	s, seq, sum := body[0], binary.LittleEndian.Uint32(body[1:]), binary.LittleEndian.Uint32(body[5:])
	switch {
	case int(s) >= relStreams:
		r.problem("stream %d", s)
	case crc32.ChecksumIEEE(body[relTagSize:]) != sum:
		r.problem("stream %d #%d (%d B): checksum mismatch", s, seq, len(body))
	case seq < r.next[s]:
		r.problem("stream %d #%d: duplicate or out of order (next expected #%d)", s, seq, r.next[s])
	case seq > r.next[s]:
		r.problem("stream %d #%d: #%d..#%d skipped", s, seq, r.next[s], seq-1)
		r.next[s] = seq + 1
	default:
		r.next[s]++
	}
}

func (r *recorder) problem(format string, args ...any) {
	r.bad++
	if len(r.problems) < 10 {
		r.problems = append(r.problems, fmt.Sprintf(format, args...))
	}
}

// count returns the messages handled so far.
func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// progress waits for the next delivery, at most poll, and reports false
// once deadline has passed or ctx is done.
func (r *recorder) progress(ctx context.Context, deadline time.Time, poll time.Duration) bool {
	if time.Now().After(deadline) || ctx.Err() != nil {
		return false
	}
	r.mu.Lock()
	ch := r.changed
	r.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(poll):
	case <-ctx.Done():
	}
	return true
}

// check lists what is wrong with the deliveries.
func (r *recorder) check(p relPlan) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	if r.bad > 0 {
		out = append(out, fmt.Sprintf("%d bad deliveries, first: %v", r.bad, r.problems))
	}
	if r.n != relMessages || r.next != p.per {
		out = append(out, fmt.Sprintf("server handled %d messages, next expected per stream %v; want %d, %v", r.n, r.next, relMessages, p.per))
	}
	if want := p.bytes + relTagSize*relMessages; r.bytes != want {
		out = append(out, fmt.Sprintf("server handled %d body bytes, want %d", r.bytes, want))
	}
	return out
}

// seqTap is the server's Tap: it counts the datagrams that reached the
// server's socket and records the (unwrapped) packet numbers of the
// Message datagrams among them.
type seqTap struct {
	total atomic.Uint64
	mu    sync.Mutex
	seq   unwrapper
	seen  map[int64]bool
}

func (s *seqTap) Received(m *udp.Message) {
	s.total.Add(1)
	var h wire.Header
	if _, err := h.Parse(m.Buf[:m.N]); err != nil || h.Type != wire.TypeMessage {
		return
	}
	s.mu.Lock()
	s.seen[s.seq.ext(h.Seq)] = true
	s.mu.Unlock()
}

func (s *seqTap) Sent(*udp.Message, int64) {}

func (s *seqTap) snapshot() map[int64]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.seen)
}

func (s *seqTap) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// unwrapper extends 16-bit packet numbers, seen nearly in order, to 64 bits.
type unwrapper struct {
	last    int64
	started bool
}

func (u *unwrapper) ext(s uint16) int64 {
	if !u.started {
		u.started, u.last = true, int64(s)
		return u.last
	}
	v := u.peek(s)
	u.last = max(u.last, v)
	return v
}

// peek extends s like ext without recording it.
func (u *unwrapper) peek(s uint16) int64 { return u.last + int64(int16(s-uint16(u.last))) }

// fragKey names a reliable fragment (a whole message is fragment 0).
type fragKey struct {
	stream uint8
	msgID  uint16
	index  uint16
}

// fragSends is when a fragment was first sent, in which packet, when it
// was first sent again (0: never), and whether a packet carrying it was
// acknowledged.
type fragSends struct {
	first, resend int64
	packet        int64
	acked         bool
}

// capture reads the headset's frames with an AF_PACKET socket: it records
// every reliable fragment's first send and first resend, stamped by the
// kernel, and the server's acknowledgements of the packets that carried
// them.
type capture struct {
	fd        int
	port      uint16
	quit      chan struct{}
	done      chan struct{}
	once      sync.Once
	seq       unwrapper
	frags     map[fragKey]*fragSends
	carried   map[int64][]*fragSends // by packet, until acknowledged
	datagrams int                    // Message datagrams
	resends   int                    // fragment sends after the first
	drops     uint32
	// Read while the capture runs.
	outFrames atomic.Int64 // every frame the interface sent
	unacked   atomic.Int64 // fragments no acknowledged packet carried
}

// startCapture opens the capture on iface in namespace ns.
func startCapture(ns, iface string, port uint16) (*capture, error) {
	c := &capture{fd: -1, port: port, quit: make(chan struct{}), done: make(chan struct{}),
		frags: map[fragKey]*fragSends{}, carried: map[int64][]*fragSends{}}
	// ETH_P_ALL: a packet socket bound to one protocol sees only the
	// frames the interface receives, not those it sends.
	proto := int(htons(unix.ETH_P_ALL))
	err := lab.Do(ns, func() error {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return fmt.Errorf("capture: %w", err)
		}
		c.fd = fd
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
			return fmt.Errorf("capture: bind %s: %w", iface, err)
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 32<<20); err != nil {
			return fmt.Errorf("capture: SO_RCVBUFFORCE: %w", err)
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			return fmt.Errorf("capture: SO_TIMESTAMPNS: %w", err)
		}
		tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
		return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	})
	if err != nil {
		if c.fd >= 0 {
			unix.Close(c.fd)
		}
		return nil, err
	}
	go c.loop()
	return c, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// loop reads frames until stop.
func (c *capture) loop() {
	defer close(c.done)
	buf := make([]byte, 1<<16)
	oob := make([]byte, 128)
	for {
		select {
		case <-c.quit:
			return
		default:
		}
		n, oobn, _, from, err := unix.Recvmsg(c.fd, buf, oob, 0)
		if err != nil {
			continue // the 100 ms timeout, or EINTR
		}
		ll, ok := from.(*unix.SockaddrLinklayer)
		if !ok {
			continue
		}
		if ll.Pkttype == unix.PACKET_OUTGOING {
			c.outFrames.Add(1)
		}
		if ll.Protocol != htons(unix.ETH_P_IP) {
			continue
		}
		switch ll.Pkttype {
		case unix.PACKET_OUTGOING:
			at := kernelStamp(oob[:oobn])
			if at == 0 {
				at = time.Now().UnixNano()
			}
			c.frame(at, buf[:n])
		case unix.PACKET_HOST:
			c.acks(buf[:n])
		}
	}
}

// kernelStamp returns the SCM_TIMESTAMPNS in oob, or 0.
func kernelStamp(oob []byte) int64 {
	cms, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, m := range cms {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:]))
			return sec*1e9 + nsec
		}
	}
	return 0
}

// udpPayload returns the UDP payload of IPv4 frame b and its ports, or
// ok false.
func udpPayload(b []byte) (payload []byte, src, dst uint16, ok bool) {
	if len(b) < 20 || b[0]>>4 != 4 || b[9] != unix.IPPROTO_UDP {
		return nil, 0, 0, false
	}
	ihl := int(b[0]&0xf) * 4
	if tot := int(binary.BigEndian.Uint16(b[2:])); tot < len(b) {
		b = b[:tot]
	}
	if len(b) < ihl+8 {
		return nil, 0, 0, false
	}
	return b[ihl+8:], binary.BigEndian.Uint16(b[ihl:]), binary.BigEndian.Uint16(b[ihl+2:]), true
}

// frame records the fragments of one IPv4 frame, if it is a Message
// datagram to the server's port.
func (c *capture) frame(at int64, b []byte) {
	d, _, dst, ok := udpPayload(b)
	if !ok || dst != c.port {
		return
	}
	var h wire.Header
	if _, err := h.Parse(d); err != nil || h.Type != wire.TypeMessage {
		return
	}
	var m wire.Message
	if _, err := m.Parse(d[wire.HeaderSize:]); err != nil {
		return
	}
	c.datagrams++
	packet := c.seq.ext(h.Seq)
	for p := m.Payload; len(p) >= reliable.ChunkHeaderSize; {
		kind, id, n := p[0], binary.LittleEndian.Uint16(p[1:]), int(binary.LittleEndian.Uint16(p[3:]))
		hdr, index := reliable.ChunkHeaderSize, uint16(0)
		if kind&reliable.KindFragment != 0 {
			hdr += reliable.FragmentExtSize
			if len(p) < hdr {
				return
			}
			index = binary.LittleEndian.Uint16(p[11:])
		}
		if len(p) < hdr+n {
			return
		}
		p = p[hdr+n:]
		s := kind & reliable.KindStreamMask
		if s == reliable.UnreliableStream {
			continue
		}
		k := fragKey{s, id, index}
		f := c.frags[k]
		switch {
		case f == nil:
			f = &fragSends{first: at, packet: packet}
			c.frags[k] = f
			c.unacked.Add(1)
		default:
			c.resends++
			if f.resend == 0 {
				f.resend = at
			}
		}
		c.carried[packet] = append(c.carried[packet], f)
	}
}

// acks applies the acknowledgements in the header of one IPv4 frame the
// headset received, if it is a unicast datagram from the server's port:
// Ack names a packet, bit i of AckBits the packet Ack−1−i.
func (c *capture) acks(b []byte) {
	if len(b) < 20 || b[16] >= 224 { // multicast: not this session's acks
		return
	}
	d, src, _, ok := udpPayload(b)
	if !ok || src != c.port || !c.seq.started {
		return
	}
	var h wire.Header
	if _, err := h.Parse(d); err != nil {
		return
	}
	for i := uint16(0); i <= 32; i++ {
		if i > 0 && h.AckBits&(1<<(i-1)) == 0 {
			continue
		}
		p := c.seq.peek(h.Ack - i)
		for _, f := range c.carried[p] {
			if !f.acked {
				f.acked = true
				c.unacked.Add(-1)
			}
		}
		delete(c.carried, p)
	}
}

// stop ends the capture (once) and reads the kernel's drop count.
func (c *capture) stop() {
	c.once.Do(func() {
		close(c.quit)
		<-c.done
		if st, err := unix.GetsockoptTpacketStats(c.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
			c.drops = st.Drops
		}
		unix.Close(c.fd)
	})
}

// resendDelays returns, sorted, the resend delay of every fragment whose
// first send is not among arrived, the number of those fragments, and how
// many of them were never resent.
func (c *capture) resendDelays(arrived map[int64]bool) (delays []time.Duration, lost, unresent int) {
	for _, f := range c.frags {
		if arrived[f.packet] {
			continue
		}
		lost++
		if f.resend == 0 {
			unresent++
			continue
		}
		delays = append(delays, time.Duration(f.resend-f.first))
	}
	slices.Sort(delays)
	return delays, lost, unresent
}
