//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"arcade/client"
	"arcade/internal/udp"
	"arcade/reliable"
	"arcade/server"
	"arcade/tick"
	"arcade/tools/netlab/internal/lab"
	"arcade/tools/netlab/internal/relay"
	"arcade/wire"

	"golang.org/x/sys/unix"
)

// The reliable-delivery lab test's namespace family.
const reliablePrefix = "arcrel"

// The reliable-delivery lab scenario.
const (
	relProfile  = "wifi-busy"
	relMessages = 10_000
	relSmall    = 9_900 // payloads of 1 B..1 KiB
	relMedium   = 90    // 1..64 KiB; the rest 64..200 KiB
	relStreams  = 3     // streams 0, 1 and 2
	relSeed     = 2026
	relRPC      = 0x7f00 // above the built-in RPC types: the test's own
	relPort     = 7777
	relTimeout  = 85 * time.Second // the whole test, lab included
	relDeliver  = 60 * time.Second // first send to the last delivery
	// relTagSize is the tag that starts every body: stream (u8), sequence
	// number in the stream (u32), CRC-32 (IEEE) of the rest (u32). The
	// payload after it is what the 1 B..200 KiB sizes count.
	relTagSize = 9
)

// TestReliableLab checks the reliable layer end to end through the lab's
// relay on the wifi-busy profile (5 ± 4 ms one way, 2 % bursty loss,
// reordering): one headset sends 10 000 RPC messages of mixed sizes over
// streams 0..2 to an in-process server, whose handler must see each one
// exactly once, in order per stream, intact. The headset's outgoing frames
// are captured (AF_PACKET) and the server's arrivals tapped, so that the
// resend delay of every fragment whose first send the network lost is
// measured as the twin measures it; its p99 must be at most 3 × RTT.
func TestReliableLab(t *testing.T) {
	if err := lab.Available(); err != nil {
		t.Skipf("reliable lab test skipped: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
	defer cancel()

	netlab := buildNetlab(ctx, t)
	l, err := lab.Build(ctx, lab.Config{Prefix: reliablePrefix, Headsets: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // registered first: runs last
		if err := l.Close(); err != nil {
			t.Errorf("teardown: %v", err)
		}
		if left, _ := lab.Namespaces(context.Background(), l.Prefix); len(left) > 0 {
			t.Errorf("namespaces left after teardown: %v", left)
		}
	})
	h1 := l.Headsets[0]
	prof, ok := relay.ProfileByName(relProfile)
	if !ok {
		t.Fatalf("no relay profile %s", relProfile)
	}
	startRelRelay(t, l, netlab, relProfile)

	// The capture of the headset's sends, before anything is sent.
	srvAddr := netip.AddrPortFrom(lab.SrvAddr, relPort)
	capt, err := startCapture(h1.NS, h1.Iface, relPort)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(capt.stop)

	// The server, its socket in the server's namespace.
	var conn *udp.Conn
	if err := lab.Do(l.Srv, func() (err error) {
		conn, err = udp.Listen(udp.Config{Listen: srvAddr, Timestamps: true, MulticastIface: lab.SrvIface})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	arrived := &seqTap{seen: map[int64]bool{}}
	// SessionRate: the default (1000 datagrams/s, a headset's pace) would
	// drop this bulk transfer's datagrams at the server and pass the drops
	// off as network loss; this test measures the network's.
	srv, err := server.New(server.Config{SessionRate: 100_000, Tap: arrived}, conn, tick.Now())
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	rec := newRecorder()
	srv.HandleRPC(relRPC, rec.handle)
	sctx, stopServer := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(sctx, conn.Fd()) }()
	t.Cleanup(func() {
		stopServer()
		if err := <-runErr; err != nil {
			t.Errorf("server Run: %v", err)
		}
		conn.Close()
	})

	// The client, its socket in the headset's namespace.
	var c *client.Client
	if err := lab.Do(h1.NS, func() (err error) {
		c, err = client.Dial(ctx, srvAddr.String(), client.Config{
			SessionConfig:  client.SessionConfig{Name: "reliable", Unicast: true},
			MulticastIface: h1.Iface,
		})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })

	plan := makeRelPlan()
	start := time.Now()
	deadline := start.Add(relDeliver)
	var queueFull int
	body := make([]byte, 0, relTagSize+200<<10)
	rng := rand.New(rand.NewPCG(relSeed, 2))
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
				t.Fatalf("message %d (stream %d #%d, %d B): %v", i, m.stream, m.seq, len(body), err)
			}
			queueFull++
			if time.Now().After(deadline) {
				t.Fatalf("message %d still refused (queue full) %v after the first send; %d delivered", i, relDeliver, rec.count())
			}
			time.Sleep(time.Millisecond)
		}
	}
	sent := time.Since(start)
	for rec.count() < relMessages && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	time.Sleep(100 * time.Millisecond) // let late duplicates show up, if any
	cs := c.Stats()
	rtt := c.RTT()
	capt.stop()

	rec.check(t, plan)
	t.Logf("%d messages, %.2f MB of payload (%d B tag each) over streams 0..%d: queued in %v (%d queue-full retries), all delivered in %v (%.2f MB/s)",
		relMessages, float64(plan.bytes)/1e6, relTagSize, relStreams-1, sent.Round(time.Millisecond), queueFull,
		took.Round(time.Millisecond), float64(plan.bytes)/1e6/took.Seconds())
	// client.Client does not expose its reliable.Stats (only Session
	// does): the client's side comes from its ping RTT and the capture,
	// the reliable channel's RTT from the server's view of this client.
	t.Logf("client: ping srtt %v; %d datagrams sent, %d RPC queued; fragments resent %d (capture); write errors %d",
		rtt, cs.Sent, cs.RPCOut, capt.resends, cs.WriteErrors)
	for _, ci := range srv.Stats().ClientList() {
		// The server sends no reliable data here, so its reliable RTT
		// has no samples; its header-ack RTT is the path's minimum.
		t.Logf("server's view of %s: min rtt %.2f ms, messages in %d, payload bytes in %d",
			ci.Name, ci.RTTMs, ci.MessagesIn, ci.BytesIn)
	}

	// The resend delay, as the twin measures it: for every fragment whose
	// first send never reached the server's socket, from that send to its
	// first resend, both stamped by the kernel on the headset's interface.
	nominal := prof.ToServer.Delay + prof.ToHeadsets.Delay // mean RTT: the jitter is ± around Delay
	delays, lostFirst, unresent := capt.resendDelays(arrived.snapshot())
	t.Logf("capture: %d Message datagrams sent, %d reached the server, %d fragments, %d lost on first send, %d of those never resent; capture drops %d",
		capt.datagrams, arrived.count(), len(capt.frags), lostFirst, unresent, capt.drops)
	if capt.drops > 0 {
		t.Errorf("the capture dropped %d frames: the resend delays are incomplete", capt.drops)
	}
	if unresent > 0 {
		t.Errorf("%d fragments lost on first send were never resent, yet every message arrived: the capture or the tap missed datagrams", unresent)
	}
	if len(delays) == 0 {
		t.Errorf("no fragment was lost on its first send: no resend delay to measure (profile %s)", relProfile)
		return
	}
	pct := func(p float64) time.Duration { return delays[int(p*float64(len(delays)-1))] }
	// The bound is relative to the RTT measured on this path (the client's
	// smoothed ping RTT); the profile's mean is the fallback.
	ref := rtt
	if ref <= 0 {
		ref = nominal
	}
	t.Logf("resend delay of %d lost fragments: p50 %v, p90 %v, p99 %v, max %v (bound 3×RTT = %v for measured RTT %v; profile mean %v)",
		len(delays), pct(.5).Round(time.Microsecond), pct(.9).Round(time.Microsecond), pct(.99).Round(time.Microsecond),
		delays[len(delays)-1].Round(time.Microsecond), 3*ref, ref, nominal)
	if p := pct(.99); p > 3*ref {
		t.Errorf("resend delay p99 %v > 3×RTT %v", p, 3*ref)
	}
}

// buildNetlab builds the netlab command (for its relay) into a temporary
// directory.
func buildNetlab(ctx context.Context, t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "netlab")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./tools/netlab")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startRelay runs netlab relay --profile name in the access point until
// the test ends, and logs its measurements then.
func startRelRelay(t *testing.T, l *lab.Lab, netlab, name string) {
	t.Helper()
	cmd := lab.Command(context.Background(), l.AP, netlab, "relay", "--profile", name, "--seed", fmt.Sprint(relSeed))
	cmd.Stderr = os.Stderr
	p, err := relay.Spawn(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s, err := p.Stop()
		if err != nil {
			t.Errorf("relay: %v", err)
		}
		for _, d := range []struct {
			name string
			s    relay.DirStats
		}{{"to headsets", s.ToHeadsets}, {"to server", s.ToServer}} {
			t.Logf("relay (%s) %s: forwarded %d, dropped %d, pool full %d, txerr %d; actual delay p50 %v p99 %v",
				name, d.name, d.s.Forwarded, d.s.Dropped, d.s.PoolFull, d.s.TxErrors,
				time.Duration(d.s.Actual.P50), time.Duration(d.s.Actual.P99))
		}
	})
}

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
}

func newRecorder() *recorder { return &recorder{} }

// handle runs on the server's tick thread.
func (r *recorder) handle(now int64, from server.ClientRef, body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
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

func (r *recorder) check(t *testing.T, p relPlan) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bad > 0 {
		t.Errorf("%d bad deliveries, first: %v", r.bad, r.problems)
	}
	if r.n != relMessages || r.next != p.per {
		t.Errorf("server handled %d messages, next expected per stream %v; want %d, %v", r.n, r.next, relMessages, p.per)
	}
	if want := p.bytes + relTagSize*relMessages; r.bytes != want {
		t.Errorf("server handled %d body bytes, want %d", r.bytes, want)
	}
}

// seqTap is the server's Tap: it records the (unwrapped) packet numbers of
// the Message datagrams that reached the server's socket.
type seqTap struct {
	mu   sync.Mutex
	seq  unwrapper
	seen map[int64]bool
}

func (s *seqTap) Received(m *udp.Message) {
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
	v := u.last + int64(int16(s-uint16(u.last)))
	u.last = max(u.last, v)
	return v
}

// fragKey names a reliable fragment (a whole message is fragment 0).
type fragKey struct {
	stream uint8
	msgID  uint16
	index  uint16
}

// fragSends is when a fragment was first sent, in which packet, and when
// it was first sent again (0: never).
type fragSends struct {
	first, resend int64
	packet        int64
}

// capture reads the headset's outgoing frames to the server's port with an
// AF_PACKET socket and records every reliable fragment's first send and
// first resend, stamped by the kernel.
type capture struct {
	fd        int
	port      uint16
	quit      chan struct{}
	done      chan struct{}
	once      sync.Once
	seq       unwrapper
	frags     map[fragKey]*fragSends
	datagrams int // Message datagrams
	resends   int // fragment sends after the first
	drops     uint32
}

// startCapture opens the capture on iface in namespace ns.
func startCapture(ns, iface string, port uint16) (*capture, error) {
	c := &capture{fd: -1, port: port, quit: make(chan struct{}), done: make(chan struct{}), frags: map[fragKey]*fragSends{}}
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
		if ll, ok := from.(*unix.SockaddrLinklayer); !ok || ll.Pkttype != unix.PACKET_OUTGOING || ll.Protocol != htons(unix.ETH_P_IP) {
			continue
		}
		at := kernelStamp(oob[:oobn])
		if at == 0 {
			at = time.Now().UnixNano()
		}
		c.frame(at, buf[:n])
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

// frame records the fragments of one IPv4 frame, if it is a Message
// datagram to the server's port.
func (c *capture) frame(at int64, b []byte) {
	if len(b) < 20 || b[0]>>4 != 4 || b[9] != unix.IPPROTO_UDP {
		return
	}
	ihl := int(b[0]&0xf) * 4
	if tot := int(binary.BigEndian.Uint16(b[2:])); tot < len(b) {
		b = b[:tot]
	}
	if len(b) < ihl+8 || binary.BigEndian.Uint16(b[ihl+2:]) != c.port {
		return
	}
	d := b[ihl+8:]
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
		switch f := c.frags[k]; {
		case f == nil:
			c.frags[k] = &fragSends{first: at, packet: packet}
		default:
			c.resends++
			if f.resend == 0 {
				f.resend = at
			}
		}
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
