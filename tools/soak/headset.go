package main

import (
	"context"
	"math"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/wire"
)

// maxCaptured bounds the pose datagrams a headset keeps for replay.
const maxCaptured = 512

// headset is one well-behaved client run by the soak itself: a
// client.Session over a UDP socket the soak owns, so that the attacker
// knows its token and can send from its source. It asks for unicast
// snapshots, sends a pose at rate and answers nothing else.
type headset struct {
	name   string
	local  netip.AddrPort // zero: 127.0.0.1 with an ephemeral port
	server netip.AddrPort
	rate   int
	// passphrase is the venue passphrase, empty in open mode.
	passphrase string

	conn      *net.UDPConn
	connected chan struct{} // closed once Accepted
	token     atomic.Uint64
	id        atomic.Uint32
	sent      atomic.Uint32 // newest input seq sent
	applied   atomic.Uint32 // newest own input seq a snapshot reported
	snapshots atomic.Uint64
	// Set before connected is closed: the session's Accepted, and when
	// the session's clock started. offset is the session's estimate of
	// the server clock minus its own (ns), updated as pongs come.
	accepted wire.Accepted
	start    time.Time
	offset   atomic.Int64

	mu       sync.Mutex
	captured [][]byte // the first maxCaptured pose datagrams sent
	err      error    // why the session ended, if it ended before Close
}

func newHeadset(name string, local, server netip.AddrPort, rate int, passphrase string) (*headset, error) {
	var laddr *net.UDPAddr
	if local.IsValid() {
		laddr = net.UDPAddrFromAddrPort(local)
	}
	conn, err := net.DialUDP("udp4", laddr, net.UDPAddrFromAddrPort(server))
	if err != nil {
		return nil, err
	}
	return &headset{name: name, local: local, server: server, rate: rate, passphrase: passphrase, conn: conn, connected: make(chan struct{})}, nil
}

// ServerTime is the session's estimate of the server clock (µs since the
// server started) at t; valid once connected.
func (h *headset) ServerTime(t time.Time) uint64 {
	return uint64((int64(t.Sub(h.start)) + h.offset.Load()) / 1000)
}

// Conn is the headset's socket: datagrams written to it come from the
// session's source address.
func (h *headset) Conn() *net.UDPConn { return h.conn }

// Captured returns copies of the pose datagrams captured so far.
func (h *headset) Captured() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.captured...)
}

// Err says why the session ended early, or nil.
func (h *headset) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// run drives the session on this goroutine until ctx is done or limit has
// passed, then closes it (telling the server) and the socket.
func (h *headset) run(ctx context.Context, limit time.Duration) {
	defer h.conn.Close()
	start := time.Now()
	h.start = start
	now := func() int64 { return int64(time.Since(start)) }
	s := client.NewSession(client.SessionConfig{Name: h.name, Unicast: true, Passphrase: h.passphrase})
	s.OnSnapshot(func(snap *wire.Snapshot, _ int64, _ bool) {
		h.snapshots.Add(1)
		for i := range snap.Players {
			if p := &snap.Players[i]; p.ClientID == s.ClientID() {
				h.applied.Store(p.LastInputSeq)
			}
		}
	})
	flush := func() {
		s.Outgoing(func(d []byte) {
			h.conn.Write(d)
			if len(d) > 4 && wire.PacketType(d[4]) == wire.TypePoseInput {
				h.mu.Lock()
				if len(h.captured) < maxCaptured {
					h.captured = append(h.captured, append([]byte(nil), d...))
				}
				h.mu.Unlock()
			}
		})
	}
	s.Start(now())
	flush()

	period := int64(time.Second) / int64(h.rate)
	nextPose := int64(0)
	buf := make([]byte, 2048)
	var in wire.PoseInput
	// Each pass reads at most one datagram or times out at the next due
	// event, so the passes are bounded by the time limit.
	maxPasses := int(limit.Seconds()*10000) + 1000
	for range maxPasses {
		t := now()
		if ctx.Err() != nil || t >= int64(limit) {
			break
		}
		switch s.State() {
		case client.Connecting:
		case client.Connected:
			h.offset.Store(s.ClockOffset())
			if h.token.Load() == 0 {
				h.accepted = s.Accepted()
				h.token.Store(s.Token())
				h.id.Store(uint32(s.ClientID()))
				close(h.connected)
			}
			if t >= nextPose {
				sample(float64(t)/1e9, &in)
				h.sent.Store(s.SendPose(t, &in))
				nextPose += period
				if t-nextPose > period {
					nextPose = t + period // late by more than a frame: skip
				}
			}
		default:
			h.mu.Lock()
			h.err = s.Err()
			h.mu.Unlock()
			return
		}
		s.Update(t)
		flush()
		wake := s.NextUpdate()
		if s.State() == client.Connected {
			wake = min(wake, nextPose)
		}
		if wake == math.MaxInt64 {
			wake = t + int64(100*time.Millisecond)
		}
		h.conn.SetReadDeadline(start.Add(time.Duration(wake)))
		n, err := h.conn.Read(buf)
		if err != nil {
			// The deadline, or an ICMP error (ECONNREFUSED) reported on
			// the connected socket: the session's timers decide.
			continue
		}
		s.Handle(now(), buf[:n], 0, false)
	}
	s.Close(now())
	flush()
}

// sample fills a calm pose: standing, head turning slowly, grips open so
// that it never grabs anything.
func sample(t float64, in *wire.PoseInput) {
	yaw := 0.5 * math.Sin(2*math.Pi*0.2*t)
	sy, cy := math.Sincos(yaw / 2)
	rot := wire.Quat{Y: float32(sy), W: float32(cy)}
	in.Head = wire.Pose{Pos: wire.Vec3{X: 3, Y: 1.6, Z: 3}, Rot: rot}
	in.Hands[wire.Left] = wire.Pose{Pos: wire.Vec3{X: 2.8, Y: 1.1, Z: 2.8}, Rot: rot}
	in.Hands[wire.Right] = wire.Pose{Pos: wire.Vec3{X: 3.2, Y: 1.1, Z: 2.8}, Rot: rot}
	in.Tracking = wire.TrackHead | wire.TrackLeft | wire.TrackRight
}
