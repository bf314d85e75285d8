//go:build linux

// Package gen is an in-process load generator: up to 4096 simulated
// headsets speaking Arcade's wire protocol (package wire) to one server,
// built so that the generator's cost grows linearly with the headset count
// and stays well below the server's.
//
// The mechanism:
//
//   - One unicast socket, bound to 0.0.0.0, speaks for every headset. Each
//     headset has a loopback address of its own, 127.64.0.1 upwards
//     (Addr), as a venue's headsets have one address each: every datagram
//     it sends names that source (udp.Message.Src, IP_PKTINFO), so the server's per-address handshake
//     limit applies per headset, and the server's answers to any of those
//     addresses arrive on the one socket. They are told apart by session
//     token (by client nonce during the handshake).
//   - One multicast socket receives the group for all of them: a snapshot
//     part is read once and serves every headset it lists, where a
//     socket per headset would read every part once per headset (the
//     square of the count).
//   - Both sockets are read with recvmmsg and written with sendmmsg
//     (internal/udp batches), with kernel receive timestamps, so that the
//     generator's own read lateness is not counted as the server's
//     latency.
//   - Two goroutines in all, owned by the Gen: the sender (poses at
//     Config.Rate, handshakes, delivery reports, on a 2 ms quantum: a
//     burst wakes the server once, not per datagram) and the
//     reader of both sockets. They share the headsets under one mutex,
//     taken per batch and released during system calls.
//
// Each headset handshakes (§7.2, anonymous name, a random player id it
// keeps, so that a session that timed out resumes), streams PoseInputs,
// acknowledges the server's session datagrams in their headers (§8.2),
// pairs the DeliveryProbes it receives with the group's arrival of the same
// tick and sends a DeliveryReport every 250 ms (§10.3), with
// DeliveryStarved set when the shared group reader read more than a tenth
// of the window's datagrams over 4 ms late: the generator short of CPU
// says so rather than have its losses blamed on multicast. A session the
// server ends (Disconnect, UnknownSession) is opened again by a new
// handshake.
//
// Measured (Counters, cumulative; a caller takes differences over a
// window): inputs sent and due, input-to-state latency (from an input's
// send to the kernel receive time of the first group or unicast datagram
// whose player record for that headset carries its seq or a newer one),
// loss on the group path and on the headsets' unicast paths (gaps in
// header seq), and the group reader's lateness.
package gen

import (
	crand "crypto/rand"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/wire"
)

// MaxHeadsets is the most headsets one Gen simulates: the server's
// --max-clients limit.
const MaxHeadsets = 4096

// Timing of the protocol's client side (docs/PROTOCOL.md §7.2, §10.3).
const (
	handshakeRetry = 250 * time.Millisecond
	reportEvery    = 250 * time.Millisecond
	reconnectAfter = 100 * time.Millisecond
	deniedRetry    = time.Second
	// StarvedLag is how late after the kernel received it a datagram may
	// be read before it counts as read late (§10.3).
	StarvedLag = 4 * time.Millisecond
	quantum    = 2 * time.Millisecond // the sender's wake-up period
	sendBatch  = 64                   // datagrams per sendmmsg
	readBatch  = 64
	readPause  = 250 * time.Microsecond
	recvBuffer = 8 << 20
)

// HistBuckets is the size of Hist; bucket b holds latencies up to 1.02^b
// µs (bucket 0: up to 1 µs), arcade-bot's histogram.
const HistBuckets = 1024

// Hist is a latency histogram.
type Hist [HistBuckets]uint64

// HistBucketUpperMS is the upper bound of bucket b, ms.
func HistBucketUpperMS(b int) float64 { return math.Pow(1.02, float64(b)) / 1e3 }

func histBucket(ns int64) int {
	us := float64(ns) / 1e3
	if us <= 1 {
		return 0
	}
	return min(int(math.Ceil(math.Log(us)/math.Log(1.02))), HistBuckets-1)
}

// Config describes a Gen. Zero fields mean the documented default.
type Config struct {
	// Server is the server's game address (required).
	Server netip.AddrPort
	// Iface is the interface the multicast group is joined on. Default "lo".
	Iface string
	// Rate is poses per second per headset. Default 90.
	Rate int
	// ConnectRate bounds the handshakes started a second. Default 500
	// (the server answers 2000 handshake datagrams a second in all, two a
	// headset).
	ConnectRate int
	// Name prefixes the headsets' names ("gen" by default): name-<index>.
	Name string
}

func (c *Config) defaults() error {
	if !c.Server.IsValid() || !c.Server.Addr().Is4() {
		return fmt.Errorf("gen: Server %v: want an IPv4 address and port", c.Server)
	}
	if c.Iface == "" {
		c.Iface = "lo"
	}
	if c.Rate == 0 {
		c.Rate = 90
	}
	if c.ConnectRate == 0 {
		c.ConnectRate = 500
	}
	if c.Name == "" {
		c.Name = "gen"
	}
	switch {
	case c.Rate < 1 || c.Rate > 1000:
		return fmt.Errorf("gen: Rate %d out of range 1..1000", c.Rate)
	case c.ConnectRate < 1:
		return fmt.Errorf("gen: ConnectRate %d must be at least 1", c.ConnectRate)
	}
	return nil
}

// Addr is headset i's source address: 127.64.0.1 upwards, 250 a /24
// (last octet 1..250).
func Addr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, byte(64 + i/(250*256)), byte(i / 250 % 256), byte(i%250 + 1)})
}

// Headset states.
const (
	stIdle       = iota // not started, or waiting to start again (next)
	stRequesting        // ConnectRequest sent
	stResponding        // Challenge received, ChallengeResponse sent
	stConnected
)

// sentRing is how many inputs a headset remembers while waiting for the
// state that reports them: 1.4 s at 90 Hz.
const sentRing = 128

type sentInput struct {
	seq     uint32
	t       int64 // wall ns when sent; 0: not stamped yet, or reported
	acked   int64 // kernel rx time of a report that came before the stamp
	pending bool  // numbered and queued, not yet stamped
}

type probe struct {
	tick uint32
	rx   int64
}

type headset struct {
	idx      int
	src      netip.Addr
	name     string
	playerID [wire.PlayerIDSize]byte
	state    uint8
	nonce    uint64
	cookie   [wire.CookieSize]byte
	tries    int

	token   uint64
	id      uint16
	seq     uint16 // header seq of the next datagram sent
	ack     uint16 // newest seq received on the session path
	ackBits uint32
	gotAny  bool
	uRecv   uint64 // unicast session datagrams received, every session of the headset
	uLost   uint64 // gaps in their seq (filled by late arrivals)

	nextPose, nextReport int64 // mono ns

	inputSeq    uint32 // newest numbered
	sent        [sentRing]sentInput
	reported    uint32
	reportedAny bool

	// The report window: when it started (mono ns) and the counters then.
	repStart                       int64
	repRecv, repLost, repRd, repLt uint64
	probes                         [16]probe
	nprobe                         int
	ucWin                          [16][2]uint64 // unicast (recv, lost) at the start of the last 16 windows
	ucWinN                         int
	pose                           wire.PoseInput
	phase                          float64
}

// Counters are cumulative since Start.
type Counters struct {
	Headsets   int // asked for
	Connected  int
	Handshakes uint64 // sessions opened (Accepted), reconnections included
	Ended      uint64 // sessions the server ended
	Denied     uint64
	InputsSent uint64
	InputsDue  uint64 // inputs whose time came: sent, or skipped when the sender ran late
	Reports    uint64 // DeliveryReports sent
	Starved    uint64 // of them with DeliveryStarved
	// GroupReceived and GroupLost count the group's datagrams read once
	// for every headset, and the gaps in their seq.
	GroupReceived, GroupLost uint64
	// UnicastReceived and UnicastLost sum the headsets' session paths.
	UnicastReceived, UnicastLost uint64
	// Reads counts datagrams read on either socket, ReadLate those read
	// more than StarvedLag after the kernel received them.
	Reads, ReadLate uint64
	Samples         uint64 // input-to-state samples
	Latency         Hist
	Unexpected      uint64 // datagrams dropped: unparsable, unknown token, a type not expected
	SendErrors      uint64
}

// Gen is a set of simulated headsets against one server.
type Gen struct {
	cfg    Config
	uc     *udp.Conn
	period int64 // ns between poses
	t0     time.Time

	mu      sync.Mutex
	target  int
	hs      []*headset
	next    []int64 // per headset: when it next has something to send (mono ns)
	byNonce map[uint64]*headset
	byToken map[uint64]*headset
	byID    [1 << 16]*headset
	group   netip.AddrPort
	gc      *udp.Conn
	gcRead  atomic.Pointer[udp.Conn] // gc, for the reader
	gToken  uint64
	gHi     uint16
	gAny    bool
	tickRx  [256]probe // group arrival of part 0 of recent ticks
	c       Counters
	conns   float64 // handshake tokens
	lastTok int64

	wb   *udp.Batch
	wn   int
	wrec [sendBatch]struct {
		h   *headset
		seq uint32
		msg int // index in the batch
	}
	wrecN int

	quit atomic.Bool
	wg   sync.WaitGroup
	errs chan error
}

// Start opens the unicast socket and starts the sender and the unicast
// reader; headsets are added by SetHeadsets.
func Start(cfg Config) (*Gen, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	uc, err := udp.Listen(udp.Config{Listen: netip.AddrPortFrom(netip.IPv4Unspecified(), 0),
		Timestamps: true, RecvBuffer: recvBuffer, DSCP: -1})
	if err != nil {
		return nil, fmt.Errorf("gen: %w", err)
	}
	g := &Gen{
		cfg: cfg, uc: uc, period: int64(time.Second) / int64(cfg.Rate), t0: time.Now(),
		byNonce: map[uint64]*headset{}, byToken: map[uint64]*headset{},
		wb: udp.NewBatch(sendBatch, wire.MaxDatagramSize), errs: make(chan error, 4),
	}
	g.wg.Add(2)
	go g.sendLoop()
	go g.readLoop()
	return g, nil
}

func (g *Gen) mono() int64 { return int64(time.Since(g.t0)) }

// SetHeadsets grows the headsets to n (never shrinks); the new ones
// handshake at up to Config.ConnectRate a second.
func (g *Gen) SetHeadsets(n int) error {
	if n < 0 || n > MaxHeadsets {
		return fmt.Errorf("gen: %d headsets: want 0..%d", n, MaxHeadsets)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for len(g.hs) < n {
		i := len(g.hs)
		h := &headset{idx: i, src: Addr(i), name: fmt.Sprintf("%s-%d", g.cfg.Name, i), phase: rand.Float64() * 2 * math.Pi}
		crand.Read(h.playerID[:])
		g.hs = append(g.hs, h)
		g.next = append(g.next, 0)
	}
	g.target = max(g.target, n)
	g.c.Headsets = g.target
	return nil
}

// Counters returns the counters now.
func (g *Gen) Counters() Counters {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.c
	for _, h := range g.hs {
		c.UnicastReceived += h.uRecv
		c.UnicastLost += h.uLost
	}
	return c
}

// Err returns the first fatal error of a goroutine (a socket failing), or nil.
func (g *Gen) Err() error {
	select {
	case err := <-g.errs:
		g.errs <- err
		return err
	default:
		return nil
	}
}

// Close sends Disconnect(ClientLeft) twice from every connected headset,
// stops the goroutines and closes the sockets.
func (g *Gen) Close() error {
	if g.quit.Swap(true) {
		return nil
	}
	g.wg.Wait()
	g.mu.Lock()
	for round := 0; round < 2; round++ {
		for _, h := range g.hs {
			if h.state == stConnected {
				d := wire.Disconnect{Reason: wire.DisconnectClientLeft}
				g.queue(h, wire.TypeDisconnect, d.Append(g.body()))
			}
		}
		g.flush()
	}
	g.mu.Unlock()
	err := g.uc.Close()
	if g.gc != nil {
		err = errors.Join(err, g.gc.Close())
	}
	return err
}

// body returns the room for the next queued datagram's body: the batch
// buffer after its header.
func (g *Gen) body() []byte {
	if g.wn == len(g.wb.Msgs) {
		g.flush()
	}
	return g.wb.Msgs[g.wn].Buf[wire.HeaderSize:wire.HeaderSize]
}

// queue finishes the datagram whose body body() returned (body is that
// slice, appended to) with h's header and queues it. Must hold mu.
func (g *Gen) queue(h *headset, t wire.PacketType, body []byte) {
	m := &g.wb.Msgs[g.wn]
	hd := wire.Header{Type: t, Token: h.token, Seq: h.seq, Ack: 0xFFFF}
	if h.state == stConnected {
		if h.gotAny {
			hd.Ack, hd.AckBits = h.ack, h.ackBits
		}
	} else {
		hd.Token = 0
	}
	h.seq++
	hd.Append(m.Buf[:0])
	m.N = wire.HeaderSize + len(body)
	m.Addr, m.Src = g.cfg.Server, h.src
	g.wn++
}

// flush sends the queued datagrams and stamps the inputs among them. It
// is called with mu held and returns with it held, but releases it during
// the system call, which on loopback also delivers every datagram to the
// server's socket: the readers go on meanwhile. An input is stamped with
// the time its datagram left, interpolated between the clock read before
// and after the call (a datagram's share of the call's time); a report of
// an input that a reader saw before the stamp waits in its slot (acked).
func (g *Gen) flush() {
	if g.wn == 0 {
		return
	}
	n := g.wn
	g.mu.Unlock()
	before := time.Now().UnixNano()
	errs := 0
	for from := 0; from < n; {
		k, err := g.uc.WriteBatchRange(g.wb, from, n)
		from += k
		if err != nil {
			// A full send buffer or a refused datagram: count and skip it.
			errs++
			from++
		}
	}
	after := time.Now().UnixNano()
	g.mu.Lock()
	g.c.SendErrors += uint64(errs)
	for _, r := range g.wrec[:g.wrecN] {
		t := before + (after-before)*int64(r.msg+1)/int64(n)
		e := &r.h.sent[r.seq%sentRing]
		if e.seq != r.seq {
			continue // overwritten: 1.4 s of inputs later
		}
		e.pending = false
		if e.acked != 0 {
			g.c.Latency[histBucket(e.acked-t)]++
			g.c.Samples++
			e.t, e.acked = 0, 0
			continue
		}
		e.t = t
	}
	g.wrecN, g.wn = 0, 0
}

func (g *Gen) sendLoop() {
	defer g.wg.Done()
	for !g.quit.Load() {
		g.mu.Lock()
		g.sendDue(g.mono())
		g.flush()
		g.mu.Unlock()
		time.Sleep(quantum)
	}
}

// sendDue sends what every headset has due at now. Must hold mu.
func (g *Gen) sendDue(now int64) {
	if g.lastTok == 0 {
		g.lastTok = now
	}
	g.conns = min(g.conns+float64(now-g.lastTok)/1e9*float64(g.cfg.ConnectRate), float64(g.cfg.ConnectRate)/10+1)
	g.lastTok = now
	for i, h := range g.hs[:g.target] {
		if g.next[i] > now {
			continue
		}
		switch h.state {
		case stIdle:
			if g.conns < 1 {
				continue
			}
			g.conns--
			if h.nonce != 0 {
				delete(g.byNonce, h.nonce)
			}
			h.nonce = rand.Uint64() | 1
			g.byNonce[h.nonce] = h
			h.state, h.tries = stRequesting, 0
			fallthrough
		case stRequesting:
			r := wire.ConnectRequest{ClientNonce: h.nonce}
			r.SetName(h.name)
			g.queue(h, wire.TypeConnectRequest, r.Append(g.body()))
			h.tries++
			g.next[i] = now + int64(handshakeRetry)
		case stResponding:
			r := wire.ChallengeResponse{ClientNonce: h.nonce, Cookie: h.cookie, PlayerID: h.playerID}
			r.SetName(h.name)
			g.queue(h, wire.TypeChallengeResponse, r.Append(g.body()))
			h.tries++
			g.next[i] = now + int64(handshakeRetry)
		case stConnected:
			if h.nextPose <= now {
				g.c.InputsDue++
				if now-h.nextPose > g.period {
					// The sender ran late: poses are current state, so
					// the ones missed are skipped, not sent in a burst.
					skip := (now - h.nextPose) / g.period
					g.c.InputsDue += uint64(skip)
					h.nextPose += skip * g.period
				}
				h.nextPose += g.period
				g.sendPose(h, now)
			}
			if h.nextReport <= now {
				g.sendReport(h, now)
				h.nextReport += int64(reportEvery)
				if h.nextReport <= now {
					h.nextReport = now + int64(reportEvery)
				}
			}
			g.next[i] = min(h.nextPose, h.nextReport)
		}
		if g.quit.Load() {
			return
		}
	}
}

// sendPose sends h's next PoseInput: a head swaying where the headset
// stands, hands beside it.
func (g *Gen) sendPose(h *headset, now int64) {
	h.inputSeq++
	p := &h.pose
	t := float64(now)/1e9 + h.phase
	x, z := float32(h.idx%64)*0.5-16, float32(h.idx/64)*0.5-16
	p.InputSeq = h.inputSeq
	p.ClientTime = uint64(now / 1e3)
	p.Head = wire.Pose{Pos: wire.Vec3{X: x + 0.1*float32(math.Sin(t)), Y: 1.7, Z: z}, Rot: wire.Quat{W: 1}}
	p.Hands[wire.Left] = wire.Pose{Pos: wire.Vec3{X: x - 0.3, Y: 1.2 + 0.1*float32(math.Cos(t)), Z: z + 0.2}, Rot: wire.Quat{W: 1}}
	p.Hands[wire.Right] = wire.Pose{Pos: wire.Vec3{X: x + 0.3, Y: 1.2, Z: z + 0.2}, Rot: wire.Quat{W: 1}}
	p.Tracking = wire.TrackHead | wire.TrackLeft | wire.TrackRight
	b := p.Append(g.body())
	g.wrec[g.wrecN].h, g.wrec[g.wrecN].seq, g.wrec[g.wrecN].msg = h, h.inputSeq, g.wn
	g.wrecN++
	h.sent[h.inputSeq%sentRing] = sentInput{seq: h.inputSeq, pending: true}
	g.queue(h, wire.TypePoseInput, b)
	g.c.InputsSent++
	if g.wn == len(g.wb.Msgs) {
		g.flush()
	}
}

// sendReport sends h's DeliveryReport for the window ending now (§10.3).
func (g *Gen) sendReport(h *headset, now int64) {
	r := wire.DeliveryReport{WindowMs: uint16(min(max((now-h.repStart)/1e6, 1), 65535))}
	recv, lost := g.c.GroupReceived-h.repRecv, int64(g.c.GroupLost)-int64(h.repLost)
	r.McastReceived = uint16(min(recv, 65535))
	r.McastLost = uint16(min(max(lost, 0), 65535))
	var s [16]int32
	n := 0
	for _, p := range h.probes[:h.nprobe] {
		if e := g.tickRx[p.tick%uint32(len(g.tickRx))]; e.tick == p.tick && e.rx != 0 {
			s[n] = int32(max(min((e.rx-p.rx)/1e3, math.MaxInt32), math.MinInt32))
			n++
		}
	}
	h.nprobe = 0
	if n > 0 {
		slices.Sort(s[:n])
		r.Samples, r.ExcessP50, r.ExcessP90 = uint16(n), s[(n-1)/2], s[(n-1)*9/10]
	}
	if rd, lt := g.c.Reads-h.repRd, g.c.ReadLate-h.repLt; rd > 0 && lt*10 > rd {
		r.Flags |= wire.DeliveryStarved
		g.c.Starved++
	}
	// Unicast loss over the last 16 windows, this one included.
	old := h.ucWin[(h.ucWinN+1)%len(h.ucWin)]
	if h.ucWinN < len(h.ucWin)-1 {
		old = h.ucWin[0]
	}
	ur, ul := h.uRecv-old[0], max(int64(h.uLost)-int64(old[1]), 0)
	r.UnicastLoss = wire.UnicastLossUnknown
	if exp := int64(ur) + ul; exp >= 20 {
		r.UnicastLoss = uint16((ul*10000 + exp/2) / exp)
	}
	h.ucWinN++
	h.ucWin[h.ucWinN%len(h.ucWin)] = [2]uint64{h.uRecv, h.uLost}
	g.queue(h, wire.TypeDeliveryReport, r.Append(g.body()))
	g.c.Reports++
	h.repStart, h.repRecv, h.repLost, h.repRd, h.repLt = now, g.c.GroupReceived, g.c.GroupLost, g.c.Reads, g.c.ReadLate
}

// readLoop reads both sockets until Close: each in batches until it is
// empty, then, when neither had anything, a pause of readPause. Polling
// so costs a wake-up a pause however many datagrams arrive (where a
// blocking wait costs one per burst, thousands a second), and a datagram
// waits at most about a pause: its kernel receive time, not the read, is
// what the latency is measured from.
func (g *Gen) readLoop() {
	defer g.wg.Done()
	b := udp.NewBatch(readBatch, wire.MaxDatagramSize+1)
	for !g.quit.Load() {
		got := g.drain(g.uc, b, false)
		if gc := g.gcRead.Load(); gc != nil {
			got += g.drain(gc, b, true)
		}
		if got < 0 {
			return
		}
		if got == 0 {
			time.Sleep(readPause)
		}
	}
}

// drain reads c until it is empty (or a batch's worth of batches) and
// returns the datagrams read, -1 on a fatal error.
func (g *Gen) drain(c *udp.Conn, b *udp.Batch, group bool) int {
	total := 0
	for range 16 {
		n, err := c.ReadBatch(b)
		if err != nil {
			select {
			case g.errs <- fmt.Errorf("gen: read: %w", err):
			default:
			}
			return -1
		}
		if n == 0 {
			break
		}
		total += n
		g.mu.Lock()
		wall := time.Now().UnixNano()
		for i := range n {
			m := &b.Msgs[i]
			g.c.Reads++
			if m.RxTime != 0 && wall-m.RxTime > int64(StarvedLag) {
				g.c.ReadLate++
			}
			if m.Truncated {
				g.c.Unexpected++
				continue
			}
			if group {
				g.onGroup(m.Payload(), m.RxTime)
			} else {
				g.onUnicast(m.Payload(), m.RxTime)
			}
		}
		g.mu.Unlock()
		if n < len(b.Msgs) {
			break
		}
	}
	return total
}

// Scratch for parsing, used under mu only.
var (
	scratchSnap wire.Snapshot
	scratchUpd  wire.EntityUpdate
)

// onGroup takes one group datagram. Must hold mu.
func (g *Gen) onGroup(d []byte, rx int64) {
	var h wire.Header
	n, err := h.Parse(d)
	if err != nil || h.Token != g.gToken {
		g.c.Unexpected++
		return
	}
	g.c.GroupReceived++
	switch dd := int16(h.Seq - g.gHi); {
	case !g.gAny:
		g.gHi, g.gAny = h.Seq, true
	case dd > 0:
		if dd < 4096 {
			g.c.GroupLost += uint64(dd - 1)
		}
		g.gHi = h.Seq
	case dd < 0 && g.c.GroupLost > 0:
		g.c.GroupLost-- // a late arrival fills its gap
	}
	g.onState(nil, h.Type, d[n:], rx, true)
}

// onState reports the players of a Snapshot or EntityUpdate: to every
// headset listed (from the group), or to only (by unicast).
func (g *Gen) onState(only *headset, t wire.PacketType, body []byte, rx int64, group bool) {
	var players []wire.PlayerState
	switch t {
	case wire.TypeSnapshot:
		if _, err := scratchSnap.Parse(body); err != nil {
			g.c.Unexpected++
			return
		}
		if group && scratchSnap.Part == 0 {
			g.tickRx[scratchSnap.Tick%uint32(len(g.tickRx))] = probe{scratchSnap.Tick, rx}
		}
		players = scratchSnap.Players
	case wire.TypeEntityUpdate:
		if _, err := scratchUpd.Parse(body); err != nil {
			g.c.Unexpected++
			return
		}
		players = scratchUpd.Players
	default:
		return // a StateDelta (never asked for), or another type
	}
	for i := range players {
		p := &players[i]
		hs := g.byID[p.ClientID]
		if hs == nil || hs.state != stConnected || (only != nil && hs != only) || p.Tracking&wire.TrackNoInput != 0 {
			continue
		}
		g.report(hs, p.LastInputSeq, rx)
	}
}

// report records the latency of every input of h up to last not reported
// before.
func (g *Gen) report(h *headset, last uint32, rx int64) {
	if h.reportedAny && !wire.InputSeqNewer(last, h.reported) || wire.InputSeqNewer(last, h.inputSeq) {
		return
	}
	from := last
	if h.reportedAny && last-h.reported <= sentRing {
		from = h.reported + 1
	}
	for s := from; ; s++ {
		switch e := &h.sent[s%sentRing]; {
		case e.seq != s || rx == 0:
		case e.t != 0:
			g.c.Latency[histBucket(rx-e.t)]++
			g.c.Samples++
			e.t, e.pending = 0, false
		case e.pending && e.acked == 0:
			e.acked = rx // its send is stamped after the reader saw it
		}
		if s == last {
			break
		}
	}
	h.reported, h.reportedAny = last, true
}

// onUnicast takes one datagram on the unicast socket. Must hold mu.
func (g *Gen) onUnicast(d []byte, rx int64) {
	var hd wire.Header
	n, err := hd.Parse(d)
	if err != nil {
		g.c.Unexpected++
		return
	}
	body := d[n:]
	switch hd.Type {
	case wire.TypeChallenge:
		var c wire.Challenge
		if _, err := c.Parse(body); err != nil {
			g.c.Unexpected++
			return
		}
		if h := g.byNonce[c.ClientNonce]; h != nil && h.state == stRequesting {
			h.cookie, h.state, h.tries = c.Cookie, stResponding, 0
			g.next[h.idx] = 0
		}
		return
	case wire.TypeDenied:
		var m wire.Denied
		if _, err := m.Parse(body); err != nil {
			g.c.Unexpected++
			return
		}
		if h := g.byNonce[m.ClientNonce]; h != nil && h.state != stConnected {
			g.c.Denied++
			h.state = stIdle
			g.next[h.idx] = g.mono() + int64(deniedRetry)
			if m.Reason == wire.DenyBadCookie {
				g.next[h.idx] = 0
			}
		}
		return
	case wire.TypeAccepted:
		var a wire.Accepted
		if _, err := a.Parse(body); err != nil {
			g.c.Unexpected++
			return
		}
		h := g.byNonce[a.ClientNonce]
		if h == nil || h.state == stConnected {
			if h != nil && h.token == hd.Token {
				h.record(hd.Seq) // a repeated Accepted (§8.2)
			}
			return
		}
		g.accept(h, &hd, &a)
		return
	}
	h := g.byToken[hd.Token]
	if h == nil {
		g.c.Unexpected++
		return
	}
	h.record(hd.Seq)
	switch hd.Type {
	case wire.TypeDeliveryProbe:
		var p wire.DeliveryProbe
		if _, err := p.Parse(body); err == nil && h.nprobe < len(h.probes) {
			h.probes[h.nprobe] = probe{p.Tick, rx}
			h.nprobe++
		}
	case wire.TypeSnapshot, wire.TypeEntityUpdate:
		g.onState(h, hd.Type, body, rx, false)
	case wire.TypeDisconnect:
		g.c.Ended++
		g.drop(h)
	}
}

// accept opens h's session. Must hold mu.
func (g *Gen) accept(h *headset, hd *wire.Header, a *wire.Accepted) {
	if a.Flags&wire.AcceptedSealed != 0 {
		g.c.Unexpected++ // a venue passphrase: not spoken here
		return
	}
	if a.Multicast.IsValid() && g.gc == nil {
		if err := g.joinGroup(a.Multicast, a.GroupToken); err != nil {
			select {
			case g.errs <- err:
			default:
			}
		}
	}
	now := g.mono()
	h.state, h.token, h.id = stConnected, hd.Token, a.ClientID
	h.gotAny = false // a new path: its first seq starts it (§8.2)
	h.record(hd.Seq)
	g.byToken[h.token] = h
	g.byID[h.id] = h
	h.nextPose = now + rand.Int64N(g.period)
	h.nextReport = now + int64(reportEvery)
	h.repStart, h.repRecv, h.repLost, h.repRd, h.repLt = now, g.c.GroupReceived, g.c.GroupLost, g.c.Reads, g.c.ReadLate
	h.nprobe, h.ucWinN = 0, 0
	h.ucWin[0] = [2]uint64{h.uRecv, h.uLost}
	g.next[h.idx] = min(h.nextPose, h.nextReport)
	g.c.Handshakes++
	g.c.Connected++
}

// drop ends h's session; it handshakes again after reconnectAfter.
func (g *Gen) drop(h *headset) {
	if h.state != stConnected {
		return
	}
	delete(g.byToken, h.token)
	if g.byID[h.id] == h {
		g.byID[h.id] = nil
	}
	h.state, h.token = stIdle, 0
	g.c.Connected--
	g.next[h.idx] = g.mono() + int64(reconnectAfter)
}

// record notes a session datagram's seq for acks and loss (§8.2).
func (h *headset) record(s uint16) {
	h.uRecv++
	if !h.gotAny {
		h.ack, h.ackBits, h.gotAny = s, 0, true
		return
	}
	switch d := int16(s - h.ack); {
	case d > 0:
		h.ackBits = h.ackBits<<uint(d) | 1<<uint(d-1)
		if d < 4096 {
			h.uLost += uint64(d - 1)
		}
		h.ack = s
	case d < 0 && d >= -32:
		if bit := uint32(1) << uint(-d-1); h.ackBits&bit == 0 {
			h.ackBits |= bit
			if h.uLost > 0 {
				h.uLost--
			}
		}
	}
}

// joinGroup opens the shared group socket and starts its reader. Must
// hold mu.
func (g *Gen) joinGroup(group netip.AddrPort, token uint64) error {
	c, err := udp.Listen(udp.Config{Listen: group, ReuseAddr: true, Timestamps: true, RecvBuffer: recvBuffer, DSCP: -1})
	if err != nil {
		return fmt.Errorf("gen: group %v: %w", group, err)
	}
	// Bound to the group, and with IP_MULTICAST_ALL off, the socket takes
	// only this group's datagrams, and only while joined here.
	if err := unix.SetsockoptInt(c.Fd(), unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0); err != nil {
		c.Close()
		return fmt.Errorf("gen: group %v: IP_MULTICAST_ALL: %w", group, err)
	}
	if err := c.JoinGroup(group.Addr(), g.cfg.Iface); err != nil {
		c.Close()
		return fmt.Errorf("gen: join %v on %s: %w", group, g.cfg.Iface, err)
	}
	g.gc, g.group, g.gToken = c, group, token
	g.gcRead.Store(c)
	return nil
}
