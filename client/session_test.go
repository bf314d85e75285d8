package client

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/arcadexr/arcade/wire"
)

const (
	testNonce = 0x0123456789abcdef
	t0        = int64(1_700_000_000_000_000_000) // a plausible Unix time in ns
	ms        = int64(time.Millisecond)
)

func newTestSession(cfg SessionConfig) *Session {
	if cfg.Nonce == 0 {
		cfg.Nonce = testNonce
	}
	return NewSession(cfg)
}

func TestHandshake(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{Name: "ada", Unicast: true})
	if s.State() != Connecting || s.Err() != nil {
		t.Fatalf("new session: %v %v", s.State(), s.Err())
	}
	if got := s.NextUpdate(); got != math.MaxInt64 {
		t.Errorf("NextUpdate before Start = %d, want MaxInt64", got)
	}
	s.Start(t0)

	var raw []byte
	s.Outgoing(func(d []byte) { raw = append([]byte(nil), d...) })
	if len(raw) != wire.MinConnectRequestSize {
		t.Fatalf("ConnectRequest is %d bytes, want %d", len(raw), wire.MinConnectRequestSize)
	}
	req := f.parse(raw)
	if req.h.Type != wire.TypeConnectRequest || req.h.Token != 0 {
		t.Fatalf("ConnectRequest header %+v", req.h)
	}
	var cr wire.ConnectRequest
	if _, err := cr.Parse(req.body); err != nil {
		t.Fatal(err)
	}
	if cr.ClientNonce != testNonce || cr.Flags != wire.ConnectWantUnicast|wire.ConnectDeltaState|wire.ConnectCodedState || cr.NameString() != "ada" {
		t.Fatalf("ConnectRequest %+v", cr)
	}

	s.Handle(t0+ms, f.challenge(testNonce), 0, false)
	out := f.drain(s)
	if len(out) != 1 || out[0].h.Type != wire.TypeChallengeResponse || out[0].h.Token != 0 {
		t.Fatalf("after Challenge: %+v", out)
	}
	var resp wire.ChallengeResponse
	if _, err := resp.Parse(out[0].body); err != nil {
		t.Fatal(err)
	}
	if resp.ClientNonce != testNonce || resp.Cookie != f.cookie || resp.NameString() != "ada" || resp.Flags != wire.ConnectWantUnicast|wire.ConnectDeltaState|wire.ConnectCodedState {
		t.Fatalf("ChallengeResponse %+v", resp)
	}

	f.unicast = true
	s.Handle(t0+2*ms, f.accepted(testNonce, 5_000_000), 0, false)
	if s.State() != Connected || s.Err() != nil {
		t.Fatalf("after Accepted: %v %v", s.State(), s.Err())
	}
	if s.ClientID() != f.clientID || s.Token() != f.token || s.Accepted().TickRate != 120 || s.Accepted().Flags != wire.AcceptedUnicast {
		t.Fatalf("accepted: id %d token %x %+v", s.ClientID(), s.Token(), s.Accepted())
	}
	// The handshake seeds the clock: Accepted sent halfway between the
	// ChallengeResponse (t0+1ms) and its arrival (t0+2ms).
	if got, want := s.ServerTime(t0+1500*1000), int64(5_000_000); got != want {
		t.Errorf("ServerTime after handshake = %d µs, want %d", got, want)
	}

	// A Ping goes out at once, carrying the token, and acking the Accepted.
	out = f.drain(s)
	if len(out) != 1 || out[0].h.Type != wire.TypePing {
		t.Fatalf("after Accepted: %v, want a Ping", types(out))
	}
	if h := out[0].h; h.Token != f.token || h.Ack != 0 || h.AckBits != 0 {
		t.Errorf("Ping header %+v, want token %x ack 0", h, f.token)
	}

	// Poses: InputSeq counts from 1, ClientTime is now in µs, Seq grows.
	in := wire.PoseInput{Head: wire.Pose{Pos: wire.Vec3{Y: 1.6}, Rot: wire.Quat{W: 1}}}
	var seqs []uint16
	for i := range 3 {
		now := t0 + int64(10+i)*ms
		if got := s.SendPose(now, &in); got != uint32(i+1) || in.InputSeq != uint32(i+1) {
			t.Fatalf("SendPose #%d = %d (in.InputSeq %d)", i, got, in.InputSeq)
		}
		if in.ClientTime != uint64(now/1000) {
			t.Fatalf("ClientTime %d, want %d", in.ClientTime, now/1000)
		}
		for _, r := range f.drain(s) {
			var p wire.PoseInput
			if _, err := p.Parse(r.body); err != nil || r.h.Type != wire.TypePoseInput || p.InputSeq != uint32(i+1) {
				t.Fatalf("pose datagram %+v %+v %v", r.h, p, err)
			}
			seqs = append(seqs, r.h.Seq)
		}
	}
	if seqs[1] != seqs[0]+1 || seqs[2] != seqs[1]+1 {
		t.Errorf("header seqs %v, want consecutive", seqs)
	}
	if st := s.Stats(); st.Inputs != 3 || st.TotalDropped() != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestHandshakeResend(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{})
	s.Start(t0)
	f.drain(s)

	step := int64(ResendInterval)
	if got := s.NextUpdate(); got != t0+step {
		t.Fatalf("NextUpdate = %d, want t0+%d", got-t0, step)
	}
	s.Update(t0 + step - 1)
	if out := f.drain(s); len(out) != 0 {
		t.Fatalf("resent early: %v", types(out))
	}
	s.Update(t0 + step)
	if out := f.drain(s); len(out) != 1 || out[0].h.Type != wire.TypeConnectRequest {
		t.Fatalf("no ConnectRequest resend: %v", types(out))
	}

	// After the challenge, the response is what gets resent.
	s.Handle(t0+step+ms, f.challenge(testNonce), 0, false)
	f.drain(s)
	s.Update(t0 + 2*step + ms)
	if out := f.drain(s); len(out) != 1 || out[0].h.Type != wire.TypeChallengeResponse {
		t.Fatalf("no ChallengeResponse resend: %v", types(out))
	}
	// A duplicate challenge (answer to the resent request) is not answered
	// at once; the timer resends.
	s.Handle(t0+2*step+2*ms, f.challenge(testNonce), 0, false)
	if out := f.drain(s); len(out) != 0 {
		t.Fatalf("answered a duplicate challenge: %v", types(out))
	}

	// Nothing more from the server: timeout after ConnectTimeout.
	var sends int
	for now := t0 + 2*step + ms; now < t0+int64(DefaultConnectTimeout); now += 10 * ms {
		s.Update(now)
		sends += len(f.drain(s))
		if s.State() != Connecting {
			t.Fatalf("gave up at %v", time.Duration(now-t0))
		}
	}
	if sends < 15 {
		t.Errorf("%d resends in the remaining time, want one per %v", sends, ResendInterval)
	}
	s.Update(t0 + int64(DefaultConnectTimeout))
	if s.State() != TimedOut || !errors.Is(s.Err(), ErrConnectTimeout) {
		t.Fatalf("state %v err %v, want timed out", s.State(), s.Err())
	}
	if got := s.NextUpdate(); got != math.MaxInt64 {
		t.Errorf("NextUpdate after timeout = %d", got)
	}
	// Late answers are ignored.
	s.Handle(t0+int64(DefaultConnectTimeout)+ms, f.accepted(testNonce, 0), 0, false)
	if s.State() != TimedOut {
		t.Fatalf("accepted after timeout")
	}
}

func TestDenied(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{})
	s.Start(t0)
	f.drain(s)
	s.Handle(t0+ms, f.denied(testNonce, wire.DenyServerFull), 0, false)
	var de *DeniedError
	if s.State() != Denied || !errors.As(s.Err(), &de) || de.Reason != wire.DenyServerFull {
		t.Fatalf("state %v err %v", s.State(), s.Err())
	}
	if !strings.Contains(s.Err().Error(), "full") {
		t.Errorf("error %q does not say the server is full", s.Err())
	}
	s.Update(t0 + int64(time.Second))
	if out := f.drain(s); len(out) != 0 {
		t.Errorf("denied session still sends: %v", types(out))
	}
}

func TestDeniedOtherVersion(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{})
	s.Start(t0)
	f.drain(s)

	d := f.denied(testNonce, wire.DenyVersionMismatch)
	d[3] = wire.Version + 1 // the server speaks a newer protocol
	// Other traffic of that version is only a version drop.
	other := f.challenge(testNonce)
	other[3] = wire.Version + 1
	s.Handle(t0+ms, other, 0, false)
	if s.State() != Connecting || s.Stats().Dropped[DropVersion] != 1 {
		t.Fatalf("foreign-version challenge: state %v stats %+v", s.State(), s.Stats().Dropped)
	}
	// Only the stable prefix is read: the body of another version's Denied
	// may be laid out differently, so its nonce and reason are not checked.
	d[wire.HeaderSize] ^= 0xff
	s.Handle(t0+ms, d, 0, false)
	var de *DeniedError
	if s.State() != Denied || !errors.As(s.Err(), &de) || de.Reason != wire.DenyVersionMismatch || de.ServerVersion != wire.Version+1 {
		t.Fatalf("state %v err %v", s.State(), s.Err())
	}
	// Once connected, another version's Denied is only a version drop.
	c := newTestSession(SessionConfig{})
	f.connect(c, t0)
	c.Handle(t0+ms, d, 0, false)
	if c.State() != Connected || c.Stats().Dropped[DropVersion] != 1 {
		t.Errorf("connected session: state %v dropped %v", c.State(), c.Stats().Dropped)
	}
	msg := s.Err().Error()
	if !strings.Contains(msg, "version mismatch") || !strings.Contains(msg, "version 2") {
		t.Errorf("error %q does not name both versions", msg)
	}
}

func TestWrongNonceIgnored(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{})
	s.Start(t0)
	f.drain(s)
	other := uint64(testNonce ^ 1)
	s.Handle(t0+ms, f.challenge(other), 0, false)
	if out := f.drain(s); len(out) != 0 {
		t.Fatalf("answered a challenge for another nonce: %v", types(out))
	}
	s.Handle(t0+ms, f.accepted(other, 0), 0, false)
	s.Handle(t0+ms, f.denied(other, wire.DenyServerFull), 0, false)
	if s.State() != Connecting {
		t.Fatalf("state %v after foreign replies", s.State())
	}
	if got := s.Stats().Dropped[DropNonce]; got != 3 {
		t.Errorf("DropNonce = %d, want 3", got)
	}
	// Ours still works.
	s.Handle(t0+2*ms, f.challenge(testNonce), 0, false)
	s.Handle(t0+3*ms, f.accepted(testNonce, 0), 0, false)
	if s.State() != Connected {
		t.Fatalf("state %v", s.State())
	}
}

// snapshotRecorder collects the callbacks of a session.
type snapshotRecorder struct {
	ticks []uint32
	multi []bool
	rx    []int64
}

func (r *snapshotRecorder) attach(s *Session) {
	s.OnSnapshot(func(snap *wire.Snapshot, rxTime int64, viaMulticast bool) {
		r.ticks = append(r.ticks, snap.Tick)
		r.multi = append(r.multi, viaMulticast)
		r.rx = append(r.rx, rxTime)
	})
}

func TestMulticastTokenFilter(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{})
	f.connect(s, t0)
	var rec snapshotRecorder
	rec.attach(s)

	snap := testSnapshot(1, wire.PlayerState{ClientID: 7, LastInputSeq: 0})
	good := f.multicastSnapshot(snap)
	s.Handle(t0+ms, good, t0+ms-500, true)

	// Same datagram with the session token, or another group's token.
	bad := append([]byte(nil), good...)
	h := wire.Header{Type: wire.TypeSnapshot, Token: f.token, Seq: 9}
	copy(bad, h.Append(nil))
	s.Handle(t0+ms, bad, 0, true)
	h.Token = f.groupToken + 1
	copy(bad, h.Append(nil))
	s.Handle(t0+ms, bad, 0, true)
	// The group token on the unicast path is not the session's.
	s.Handle(t0+ms, good, 0, false)
	// Only snapshots are accepted from the group.
	pongOnGroup := wire.Header{Type: wire.TypePong, Token: f.groupToken}
	s.Handle(t0+ms, (&wire.Pong{}).Append(pongOnGroup.Append(nil)), 0, true)

	if len(rec.ticks) != 1 || !rec.multi[0] || rec.rx[0] != t0+ms-500 {
		t.Fatalf("delivered %v %v %v, want tick 1 via multicast with its rx time", rec.ticks, rec.multi, rec.rx)
	}
	st := s.Stats()
	if st.Dropped[DropToken] != 3 || st.Dropped[DropUnexpected] != 1 {
		t.Errorf("dropped %v, want 3 token + 1 unexpected", st.Dropped)
	}
	if st.Snapshots != 1 || st.Multicast.Received != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestSeqGapLoss(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{})
	f.connect(s, t0) // the Accepted was unicast seq 0
	var rec snapshotRecorder
	rec.attach(s)

	// Multicast: 100, 101, 102, (103 and 104 lost), 105, 106, 104 late,
	// 106 again.
	f.mseq = 100
	var dgrams [][]byte
	for tick := uint32(0); tick < 7; tick++ {
		dgrams = append(dgrams, f.multicastSnapshot(testSnapshot(tick)))
	}
	for _, i := range []int{0, 1, 2, 5, 6, 4, 6} {
		s.Handle(t0+ms, dgrams[i], 0, true)
	}
	st := s.Stats()
	want := PathStats{Received: 6, Lost: 1, Late: 1, Duplicates: 1}
	if st.Multicast != want {
		t.Errorf("multicast %+v, want %+v", st.Multicast, want)
	}
	if got := st.Multicast.LossPercent(); math.Abs(got-100.0/7) > 1e-9 {
		t.Errorf("loss %.3f%%, want %.3f%%", got, 100.0/7)
	}
	// The late datagram fills its gap but carries an old tick: not delivered.
	if len(rec.ticks) != 5 || st.Snapshots != 5 || st.Dropped[DropDuplicate] != 1 || st.Dropped[DropOldTick] != 1 {
		t.Errorf("delivered %v, snapshots %d, dropped %v", rec.ticks, st.Snapshots, st.Dropped)
	}

	// Unicast: seq 1 lost, 2 and 3 arrive (Accepted was 0).
	f.seq = 2
	s.Handle(t0+ms, f.unicastSnapshot(testSnapshot(10)), 0, false)
	s.Handle(t0+ms, f.unicastSnapshot(testSnapshot(11)), 0, false)
	st = s.Stats()
	if want := (PathStats{Received: 3, Lost: 1}); st.Unicast != want {
		t.Errorf("unicast %+v, want %+v", st.Unicast, want)
	}
	// The next datagram to the server acks 3, with 2 and 0 (not 1).
	in := wire.PoseInput{}
	s.SendPose(t0+2*ms, &in)
	out := f.drain(s)
	if h := out[0].h; h.Ack != 3 || h.AckBits != 0b101 {
		t.Errorf("ack %d bits %b, want 3 and 101", h.Ack, h.AckBits)
	}
}

func TestSeqWindow(t *testing.T) {
	tests := []struct {
		name string
		seqs []uint16
		want PathStats
		ack  uint16
		bits uint32
	}{
		{"in order", []uint16{5, 6, 7}, PathStats{Received: 3}, 7, 0b11},
		{"wraparound", []uint16{65534, 65535, 0, 2}, PathStats{Received: 4, Lost: 1}, 2, 0b1110},
		{"reorder across wrap", []uint16{65535, 1, 0}, PathStats{Received: 3, Late: 1}, 1, 0b11},
		{"duplicate newest", []uint16{3, 3}, PathStats{Received: 1, Duplicates: 1}, 3, 0},
		{"big gap", []uint16{0, 100}, PathStats{Received: 2, Lost: 99}, 100, 0},
		{"gap of 64", []uint16{0, 64, 0}, PathStats{Received: 2, Lost: 63, Duplicates: 1}, 64, 0},
		{"stale", []uint16{0, 100, 20}, PathStats{Received: 2, Lost: 99, Stale: 1}, 100, 0},
	}
	for _, tt := range tests {
		var w seqWindow
		var st PathStats
		for _, q := range tt.seqs {
			w.observe(q, &st)
		}
		ack, bits := w.ack()
		if st != tt.want || ack != tt.ack || bits != tt.bits {
			t.Errorf("%s: %+v ack %d bits %b, want %+v ack %d bits %b", tt.name, st, ack, bits, tt.want, tt.ack, tt.bits)
		}
	}
}

// TestPingPongClock drives pings through a synthetic network: the server
// clock runs skew ahead of the client's (µs since its start, as the server
// reports it), the link has one-way delays up and down, and the server
// takes proc to answer.
func TestPingPongClock(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{PingInterval: 100 * time.Millisecond})
	const serverStart = t0 - 3_600_000_000_000 // the server started an hour before t0
	serverUS := func(clientNs int64) uint64 { return uint64((clientNs - serverStart) / 1000) }
	f.connect(s, t0)
	wantOffset := -serverStart // server ns minus client ns
	var samples [][2]int64
	s.OnPong(func(rtt, offset int64) { samples = append(samples, [2]int64{rtt, offset}) })

	now := t0
	exchange := func(up, down, proc int64) {
		now += 100 * ms
		s.Update(now)
		out := withoutReports(f.drain(s))
		if len(out) != 1 || out[0].h.Type != wire.TypePing {
			t.Fatalf("at %v: %v, want one Ping", time.Duration(now-t0), types(out))
		}
		var p wire.Ping
		if _, err := p.Parse(out[0].body); err != nil {
			t.Fatal(err)
		}
		if p.ClientTime != uint64(now/1000) {
			t.Fatalf("ping ClientTime %d, want %d", p.ClientTime, now/1000)
		}
		recv := now + up
		send := recv + proc
		arrive := send + down
		s.Handle(arrive, f.pong(&p, serverUS(recv), serverUS(send)), arrive, false)
	}

	exchange(400_000, 400_000, 50_000) // symmetric 0.4 ms each way
	if len(samples) != 1 {
		t.Fatalf("%d pong callbacks", len(samples))
	}
	if rtt, off := samples[0][0], samples[0][1]; rtt != 800_000 || abs(off-wantOffset) > 1000 {
		t.Fatalf("sample rtt %d offset %d, want 800000 and %d (±1µs)", rtt, off, wantOffset)
	}
	if got, want := s.ServerTime(now), int64(serverUS(now)); abs(got-want) > 1 {
		t.Errorf("ServerTime %d, want %d", got, want)
	}
	if s.RTT() != 800_000 {
		t.Errorf("RTT %d, want 800000", s.RTT())
	}

	// A slow, asymmetric exchange: its offset is off by (up-down)/2 = 4 ms,
	// but its round trip is larger, so the estimate keeps the fast one.
	exchange(9_000_000, 1_000_000, 50_000)
	if off := samples[1][1]; abs(off-(wantOffset+4_000_000)) > 1000 {
		t.Fatalf("asymmetric sample offset %d, want %d", off, wantOffset+4_000_000)
	}
	if got, want := s.ServerTime(now), int64(serverUS(now)); abs(got-want) > 1 {
		t.Errorf("ServerTime %d after slow sample, want %d (min-RTT sample kept)", got, want)
	}
	if want := int64(800_000 + (10_000_000-800_000)/8); s.RTT() != want {
		t.Errorf("smoothed RTT %d, want %d", s.RTT(), want)
	}
	// After clockWindow newer slow samples the fast one has left the window.
	for range clockWindow {
		exchange(9_000_000, 1_000_000, 50_000)
	}
	if got, want := s.ServerTime(now), int64(serverUS(now))+4000; abs(got-want) > 1 {
		t.Errorf("ServerTime %d, want %d once only slow samples remain", got, want)
	}

	// A pong for a ping never sent, or a replayed one, is dropped.
	bogus := wire.Ping{PingID: 999, ClientTime: 1}
	s.Handle(now, f.pong(&bogus, 1, 2), 0, false)
	if got := s.Stats().Dropped[DropUnknownPing]; got != 1 {
		t.Errorf("DropUnknownPing = %d, want 1", got)
	}
	if got := s.Stats().Pongs; got != uint64(len(samples)) || got != 2+clockWindow {
		t.Errorf("Pongs = %d, callbacks %d", got, len(samples))
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestServerTimeout(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{})
	f.connect(s, t0)
	timeout := int64(DefaultServerTimeout)

	// Pings keep going out every PingInterval while the server is silent.
	var pings int
	for now := t0 + 10*ms; now < t0+timeout; now += 10 * ms {
		s.Update(now)
		for _, r := range f.drain(s) {
			if r.h.Type == wire.TypePing {
				pings++
			}
		}
	}
	if want := int(timeout/int64(DefaultPingInterval)) - 1; pings != want {
		t.Errorf("%d pings in %v of silence, want %d", pings, DefaultServerTimeout, want)
	}
	if s.State() != Connected {
		t.Fatalf("state %v before the timeout", s.State())
	}
	// A valid datagram postpones the timeout.
	s.Handle(t0+timeout-ms, f.unicastSnapshot(testSnapshot(1)), 0, false)
	s.Update(t0 + timeout)
	if s.State() != Connected {
		t.Fatalf("timed out although the server spoke %v ago", time.Millisecond)
	}
	if got := s.NextUpdate(); got > t0+2*timeout-ms {
		t.Errorf("NextUpdate %d past the timeout", got-t0)
	}
	// Garbage does not.
	s.Handle(t0+2*timeout-2*ms, []byte("ARC garbage that is long enough"), 0, false)
	s.Update(t0 + 2*timeout - ms)
	if s.State() != TimedOut || !errors.Is(s.Err(), ErrServerTimeout) {
		t.Fatalf("state %v err %v, want timed out", s.State(), s.Err())
	}
	out := f.drain(s)
	if len(out) == 0 || out[len(out)-1].h.Type != wire.TypeDisconnect {
		t.Fatalf("no Disconnect on timeout: %v", types(out))
	}
	var d wire.Disconnect
	if _, err := d.Parse(out[len(out)-1].body); err != nil || d.Reason != wire.DisconnectTimeout {
		t.Errorf("Disconnect %+v %v", d, err)
	}
}

func TestCloseAndServerDisconnect(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{})
	f.connect(s, t0)
	s.Close(t0 + ms)
	out := f.drain(s)
	if len(out) != 2 || out[0].h.Type != wire.TypeDisconnect || out[1].h.Type != wire.TypeDisconnect {
		t.Fatalf("Close sent %v, want two Disconnects", types(out))
	}
	var d wire.Disconnect
	if _, err := d.Parse(out[0].body); err != nil || d.Reason != wire.DisconnectClientLeft || out[0].h.Token != f.token {
		t.Errorf("Disconnect %+v %+v %v", out[0].h, d, err)
	}
	if s.State() != Closed || !errors.Is(s.Err(), ErrClosed) {
		t.Errorf("state %v err %v", s.State(), s.Err())
	}
	if s.SendPose(t0+2*ms, &wire.PoseInput{}) != 0 {
		t.Error("SendPose after Close queued a pose")
	}

	s = newTestSession(SessionConfig{})
	f.connect(s, t0)
	s.Handle(t0+ms, f.disconnect(wire.DisconnectServerShutdown), 0, false)
	var de *DisconnectedError
	if s.State() != Closed || !errors.As(s.Err(), &de) || de.Reason != wire.DisconnectServerShutdown {
		t.Fatalf("state %v err %v", s.State(), s.Err())
	}
	s.Close(t0 + 2*ms)
	if out := f.drain(s); len(out) != 0 {
		t.Errorf("Close after the server left sent %v", types(out))
	}
	if !errors.As(s.Err(), &de) {
		t.Errorf("Close replaced the server's reason: %v", s.Err())
	}
}

func TestGarbageCounted(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{})
	f.connect(s, t0)
	before := s.Stats()

	snap := f.unicastSnapshot(testSnapshot(3, wire.PlayerState{ClientID: 1}))
	truncated := snap[:len(snap)-5]
	badMagic := append([]byte(nil), snap...)
	badMagic[0] = 'X'
	badType := append([]byte(nil), snap...)
	badType[4] = 200
	tooLarge := make([]byte, wire.MaxDatagramSize+1)
	copy(tooLarge, snap)
	badParts := append([]byte(nil), snap...)
	badParts[wire.HeaderSize+13] = 0 // Parts = 0
	wrongToken := append([]byte(nil), snap...)
	wrongToken[6] ^= 0xff
	cases := []struct {
		dgram []byte
		why   DropReason
	}{
		{nil, DropShort},
		{[]byte("ARC"), DropShort},
		{truncated, DropShort},
		{badMagic, DropMagic},
		{badType, DropType},
		{tooLarge, DropTooLarge},
		{badParts, DropMalformed},
		{wrongToken, DropToken},
		{f.challenge(testNonce), DropToken}, // handshake traffic after connect
	}
	for _, c := range cases {
		s.Handle(t0+ms, c.dgram, 0, false)
	}
	st := s.Stats()
	var want [NumDropReasons]uint64
	for _, c := range cases {
		want[c.why]++
	}
	for r := range NumDropReasons {
		if got := st.Dropped[r] - before.Dropped[r]; got != want[r] {
			t.Errorf("Dropped[%v] = %d, want %d", r, got, want[r])
		}
	}
	if st.Received-before.Received != uint64(len(cases)) || st.Snapshots != 0 || s.State() != Connected {
		t.Errorf("received %d snapshots %d state %v", st.Received-before.Received, st.Snapshots, s.State())
	}
}

func TestOutgoingOverflow(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{})
	f.connect(s, t0)
	in := wire.PoseInput{}
	for range outSlots + 3 {
		s.SendPose(t0, &in)
	}
	out := f.drain(s)
	if len(out) != outSlots || s.Stats().Overflow != 3 {
		t.Fatalf("%d datagrams, overflow %d", len(out), s.Stats().Overflow)
	}
	var first wire.PoseInput
	first.Parse(out[0].body)
	if first.InputSeq != 4 {
		t.Errorf("oldest kept pose %d, want 4 (the oldest are discarded)", first.InputSeq)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		cfg   SessionConfig
		field string
	}{
		{SessionConfig{Name: strings.Repeat("x", wire.MaxNameLen+1)}, "Name"},
		{SessionConfig{Name: "\xff"}, "Name"},
		{SessionConfig{ConnectTimeout: -1}, "ConnectTimeout"},
		{SessionConfig{PingInterval: -1}, "PingInterval"},
		{SessionConfig{ServerTimeout: -1}, "ServerTimeout"},
	} {
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("Validate(%+v) = %v, want an error naming %s", c.cfg, err, c.field)
		}
	}
	if err := (&SessionConfig{Name: "ok"}).Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	if NewSession(SessionConfig{}).Nonce() == 0 {
		t.Error("zero nonce not replaced by a random one")
	}
}

func TestZeroAllocs(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{})
	f.connect(s, t0)
	var delivered, updates int
	s.OnSnapshot(func(*wire.Snapshot, int64, bool) { delivered++ })
	s.OnEntityUpdate(func(*wire.EntityUpdate, int64, bool) { updates++ })
	s.OnPong(func(int64, int64) {})
	players := make([]wire.PlayerState, 16)
	for i := range players {
		players[i] = wire.PlayerState{ClientID: uint16(i + 1), LastInputSeq: 5, Head: wire.Pose{Rot: wire.Quat{W: 1}}}
	}
	snap := testSnapshot(1, players...)
	const n = 100
	upd := testEntityUpdate(1, f.clientID, 5)
	upd.Entities = append(upd.Entities, upd.Entities[0], upd.Entities[0])
	uni := make([][]byte, n+1)
	multi := make([][]byte, n+1)
	uniUpd := make([][]byte, n+1)
	multiUpd := make([][]byte, n+1)
	for i := range uni {
		// Each round is a new tick (and a new update) on both paths; the
		// copy from the second path is dropped as a duplicate.
		snap.Tick = uint32(2 + i)
		snap.ServerTime = stampOf(snap.Tick)
		upd.Tick = snap.Tick
		upd.ServerTime = stampOf(snap.Tick) + 100
		uni[i] = f.unicastSnapshot(snap)
		multi[i] = f.multicastSnapshot(snap)
		uniUpd[i] = f.unicastEntityUpdate(upd)
		multiUpd[i] = f.multicastEntityUpdate(upd)
	}
	sink := func([]byte) {}
	in := wire.PoseInput{Head: wire.Pose{Rot: wire.Quat{W: 1}}, Hands: [2]wire.Pose{{Rot: wire.Quat{W: 1}}, {Rot: wire.Quat{W: 1}}}}
	i := 0
	now := t0
	allocs := testing.AllocsPerRun(n, func() {
		now += ms
		s.Handle(now, uni[i], now, false)
		s.Handle(now, multi[i], now, true)
		s.Handle(now, uniUpd[i], now, false)
		s.Handle(now, multiUpd[i], now, true)
		s.SendPose(now, &in)
		s.Update(now)
		s.Outgoing(sink)
		i++
	})
	if allocs != 0 {
		t.Errorf("Handle+SendPose+Update+Outgoing: %v allocs per run, want 0", allocs)
	}
	if delivered != n+1 || updates != n+1 {
		t.Errorf("delivered %d snapshots and %d entity updates, want %d of each (one per round, copies dropped)", delivered, updates, n+1)
	}
	if d := s.Stats().Dropped[DropDuplicate]; d != 2*(n+1) {
		t.Errorf("%d copies dropped as duplicates, want %d", d, 2*(n+1))
	}

	// The pong path too.
	s.OnPong(func(int64, int64) {})
	allocs = testing.AllocsPerRun(n, func() {
		now += 300 * ms
		s.Update(now)
		var ping []byte
		s.Outgoing(func(d []byte) {
			if wire.PacketType(d[4]) == wire.TypePing {
				ping = d
			}
		})
		if ping == nil {
			return
		}
		var p wire.Ping
		p.Parse(ping[wire.HeaderSize:])
		pong := wire.Pong{PingID: p.PingID, ClientTime: p.ClientTime, ServerRecvTime: 1, ServerSendTime: 2}
		h := wire.Header{Type: wire.TypePong, Token: f.token, Seq: f.seq}
		f.seq++
		var buf [64]byte
		s.Handle(now, pong.Append(h.Append(buf[:0])), now, false)
	})
	if allocs != 0 {
		t.Errorf("ping/pong: %v allocs per run, want 0", allocs)
	}
	if got := s.Stats().Pongs; got < n {
		t.Errorf("only %d pongs matched", got)
	}
}

func TestBadCookieRestartsHandshake(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{})
	s.Start(t0)
	f.drain(s)
	for i := range maxCookieRetries {
		nonce := s.Nonce()
		if want := uint64(testNonce + i); nonce != want {
			t.Fatalf("round %d: nonce %x, want %x", i, nonce, want)
		}
		s.Handle(t0+ms, f.challenge(nonce), 0, false)
		if out := f.drain(s); len(out) != 1 || out[0].h.Type != wire.TypeChallengeResponse {
			t.Fatalf("round %d: %v, want a ChallengeResponse", i, types(out))
		}
		s.Handle(t0+2*ms, f.denied(nonce, wire.DenyBadCookie), 0, false)
		out := f.drain(s)
		if s.State() != Connecting || len(out) != 1 || out[0].h.Type != wire.TypeConnectRequest {
			t.Fatalf("round %d: state %v, sent %v, want a fresh ConnectRequest", i, s.State(), types(out))
		}
		var req wire.ConnectRequest
		if _, err := req.Parse(out[0].body); err != nil || req.ClientNonce != s.Nonce() || s.Nonce() == nonce {
			t.Fatalf("round %d: restart with nonce %x (was %x), %v", i, req.ClientNonce, nonce, err)
		}
		// The denial of a resent response of the old attempt is stale.
		s.Handle(t0+3*ms, f.denied(nonce, wire.DenyBadCookie), 0, false)
		if s.State() != Connecting {
			t.Fatalf("round %d: a stale denial ended the session", i)
		}
	}
	if st := s.Stats(); st.CookieRetries != maxCookieRetries || st.Dropped[DropNonce] != maxCookieRetries {
		t.Errorf("CookieRetries %d, DropNonce %d", st.CookieRetries, st.Dropped[DropNonce])
	}
	// Past the retry budget the denial ends the session.
	s.Handle(t0+4*ms, f.challenge(s.Nonce()), 0, false)
	f.drain(s)
	s.Handle(t0+5*ms, f.denied(s.Nonce(), wire.DenyBadCookie), 0, false)
	var de *DeniedError
	if s.State() != Denied || !errors.As(s.Err(), &de) || de.Reason != wire.DenyBadCookie {
		t.Fatalf("state %v err %v after the retries", s.State(), s.Err())
	}
	// Random nonces stay random.
	r := NewSession(SessionConfig{})
	r.Start(t0)
	first := r.Nonce()
	r.Handle(t0, f.denied(first, wire.DenyBadCookie), 0, false)
	if r.Nonce() == first || r.Nonce() == first+1 || r.State() != Connecting {
		t.Errorf("random nonce %x after %x, state %v", r.Nonce(), first, r.State())
	}
}

func TestOldTickDropped(t *testing.T) {
	f := newFakeServer(t)
	s := newTestSession(SessionConfig{})
	f.connect(s, t0)
	var rec snapshotRecorder
	rec.attach(s)
	two := func(tick uint32, part uint8) *wire.Snapshot {
		sn := testSnapshot(tick)
		sn.Part, sn.Parts = part, 2
		return sn
	}
	// Tick 10 part 0, tick 11 part 0, tick 10 part 1 (late: dropped),
	// tick 11 part 1 (kept: same tick), tick 2^32-1 then 0 (wraparound).
	for _, sn := range []*wire.Snapshot{two(10, 0), two(11, 0), two(10, 1), two(11, 1)} {
		s.Handle(t0+ms, f.multicastSnapshot(sn), 0, true)
	}
	if want := []uint32{10, 11, 11}; len(rec.ticks) != 3 || rec.ticks[2] != want[2] {
		t.Errorf("delivered ticks %v, want %v", rec.ticks, want)
	}
	if got := s.Stats().Dropped[DropOldTick]; got != 1 {
		t.Errorf("DropOldTick = %d", got)
	}
	// The late datagram still counts as received on its path.
	if st := s.Stats().Multicast; st.Received != 4 || st.Lost != 0 {
		t.Errorf("multicast path %+v", st)
	}
	w := newTestSession(SessionConfig{})
	f.connect(w, t0)
	var wrec snapshotRecorder
	wrec.attach(w)
	w.Handle(t0, f.unicastSnapshot(testSnapshot(math.MaxUint32)), 0, false)
	w.Handle(t0, f.unicastSnapshot(testSnapshot(0)), 0, false)
	if len(wrec.ticks) != 2 {
		t.Errorf("tick wraparound: delivered %v", wrec.ticks)
	}
}
