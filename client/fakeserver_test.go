package client

import (
	"net/netip"
	"testing"

	"github.com/arcadexr/arcade/wire"
)

// fakeServer is the server side of the protocol written directly with the
// wire codecs, just enough to drive a Session: it answers the handshake,
// builds snapshots, entity updates, pongs and disconnects, and decodes what
// the client sent.
type fakeServer struct {
	t          testing.TB
	deltaState bool // the Accepted offers StateDelta
	token      uint64
	groupToken uint64
	group      netip.AddrPort
	clientID   uint16
	tickRate   uint16
	unicast    bool // Accepted.Flags AcceptedUnicast
	cookie     [wire.CookieSize]byte
	seq        uint16 // per-connection unicast sequence
	mseq       uint16 // multicast group sequence
}

func newFakeServer(t testing.TB) *fakeServer {
	f := &fakeServer{
		t:          t,
		token:      0x1122334455667788,
		groupToken: 0x99aabbccddeeff00,
		group:      netip.MustParseAddrPort("239.77.0.1:7778"),
		clientID:   7,
		tickRate:   120,
	}
	for i := range f.cookie {
		f.cookie[i] = byte(i * 3)
	}
	return f
}

// received is one client datagram, decoded.
type received struct {
	h    wire.Header
	body []byte
}

// parse decodes the header of a datagram the client sent.
func (f *fakeServer) parse(dgram []byte) received {
	f.t.Helper()
	var h wire.Header
	n, err := h.Parse(dgram)
	if err != nil {
		f.t.Fatalf("client sent an unparsable datagram: %v (% x)", err, dgram)
	}
	return received{h: h, body: append([]byte(nil), dgram[n:]...)}
}

// drain collects and decodes everything the session queued.
func (f *fakeServer) drain(s *Session) []received {
	var out []received
	s.Outgoing(func(d []byte) { out = append(out, f.parse(d)) })
	return out
}

func (f *fakeServer) unicastHeader(t wire.PacketType, token uint64) []byte {
	h := wire.Header{Type: t, Token: token, Seq: f.seq}
	f.seq++
	return h.Append(nil)
}

func (f *fakeServer) challenge(nonce uint64) []byte {
	h := wire.Header{Type: wire.TypeChallenge}
	m := wire.Challenge{ClientNonce: nonce, Cookie: f.cookie}
	return m.Append(h.Append(nil))
}

func (f *fakeServer) accepted(nonce uint64, serverTimeUS uint64) []byte {
	m := wire.Accepted{
		ClientNonce: nonce, ClientID: f.clientID, TickRate: f.tickRate,
		ServerTime: serverTimeUS, Multicast: f.group, GroupToken: f.groupToken,
	}
	if f.unicast {
		m.Flags = wire.AcceptedUnicast
		m.Multicast = netip.AddrPort{}
	}
	if f.deltaState {
		m.Flags |= wire.AcceptedDeltaState
	}
	return m.Append(f.unicastHeader(wire.TypeAccepted, f.token))
}

func (f *fakeServer) denied(nonce uint64, r wire.DenyReason) []byte {
	h := wire.Header{Type: wire.TypeDenied}
	m := wire.Denied{ClientNonce: nonce, Reason: r}
	return m.Append(h.Append(nil))
}

// stampOf is the server time (µs) a 120 Hz server stamps tick's state
// with: its deadline, one period after the tick's start on the grid.
func stampOf(tick uint32) uint64 { return (uint64(tick) + 1) * 1_000_000 / 120 }

// connectedServerTime is the server time (µs) the fake server's Accepted
// gives in connect: later than any tick the tests send (2³² ticks at
// 120 Hz is 414 days), so every test state lies in the server's past.
const connectedServerTime = 40_000_000_000_000

func testSnapshot(tick uint32, players ...wire.PlayerState) *wire.Snapshot {
	return &wire.Snapshot{
		Tick: tick, ServerTime: stampOf(tick), Parts: 1,
		PlayerCount: uint16(len(players)), Players: players,
		Entities: []wire.EntityState{{ID: 1, Pose: wire.Pose{Rot: wire.Quat{W: 1}}}},
	}
}

// unicastSnapshot is a snapshot on the per-connection path.
func (f *fakeServer) unicastSnapshot(snap *wire.Snapshot) []byte {
	return snap.Append(f.unicastHeader(wire.TypeSnapshot, f.token))
}

// multicastSnapshot is a snapshot on the group path.
func (f *fakeServer) multicastSnapshot(snap *wire.Snapshot) []byte {
	h := wire.Header{Type: wire.TypeSnapshot, Token: f.groupToken, Seq: f.mseq}
	f.mseq++
	return snap.Append(h.Append(nil))
}

// testEntityUpdate is an update after tick caused by input seq of client
// cause, moving one held object.
func testEntityUpdate(tick uint32, cause uint16, seq uint32) *wire.EntityUpdate {
	return &wire.EntityUpdate{
		Tick: tick, ServerTime: stampOf(tick) + 100, Causes: []wire.UpdateCause{{Client: cause, Input: seq}},
		Entities: []wire.EntityState{{ID: 3, Flags: wire.EntityHeld | wire.EntityGrabbable, Pose: wire.Pose{Pos: wire.Vec3{X: 0.5, Y: 1.1, Z: -0.25}, Rot: wire.Quat{W: 1}}}},
	}
}

// unicastEntityUpdate is an entity update on the per-connection path.
func (f *fakeServer) unicastEntityUpdate(u *wire.EntityUpdate) []byte {
	return u.Append(f.unicastHeader(wire.TypeEntityUpdate, f.token))
}

// multicastEntityUpdate is an entity update on the group path.
func (f *fakeServer) multicastEntityUpdate(u *wire.EntityUpdate) []byte {
	h := wire.Header{Type: wire.TypeEntityUpdate, Token: f.groupToken, Seq: f.mseq}
	f.mseq++
	return u.Append(h.Append(nil))
}

func (f *fakeServer) pong(ping *wire.Ping, recvUS, sendUS uint64) []byte {
	m := wire.Pong{PingID: ping.PingID, ClientTime: ping.ClientTime, ServerRecvTime: recvUS, ServerSendTime: sendUS}
	return m.Append(f.unicastHeader(wire.TypePong, f.token))
}

func (f *fakeServer) disconnect(r wire.DisconnectReason) []byte {
	m := wire.Disconnect{Reason: r}
	return m.Append(f.unicastHeader(wire.TypeDisconnect, f.token))
}

// connect runs the handshake of s at time now and returns with s connected
// and its queue drained.
func (f *fakeServer) connect(s *Session, now int64) {
	f.t.Helper()
	s.Start(now)
	out := f.drain(s)
	if len(out) != 1 || out[0].h.Type != wire.TypeConnectRequest {
		f.t.Fatalf("after Start: %v, want one ConnectRequest", types(out))
	}
	var req wire.ConnectRequest
	if _, err := req.Parse(out[0].body); err != nil {
		f.t.Fatal(err)
	}
	s.Handle(now, f.challenge(req.ClientNonce), 0, false)
	out = f.drain(s)
	if len(out) != 1 || out[0].h.Type != wire.TypeChallengeResponse {
		f.t.Fatalf("after Challenge: %v, want one ChallengeResponse", types(out))
	}
	s.Handle(now, f.accepted(req.ClientNonce, connectedServerTime), 0, false)
	if s.State() != Connected {
		f.t.Fatalf("after Accepted: state %v, err %v", s.State(), s.Err())
	}
	f.drain(s) // first ping
}

func types(rs []received) []wire.PacketType {
	var ts []wire.PacketType
	for _, r := range rs {
		ts = append(ts, r.h.Type)
	}
	return ts
}
