package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/arcadexr/arcade/internal/golden"
)

var update = flag.Bool("update", false, "rewrite the golden vectors in ../testdata/wire and the fuzz seeds in testdata/fuzz")

// goldenDir holds one file per vector: the datagram in hex, one field per
// line, with '#' comments naming the fields.
const goldenDir = "../testdata/wire"

// codec is the shape every message and the header share.
type codec interface {
	Append(b []byte) []byte
	Parse(b []byte) (int, error)
	Len() int
}

// vector is a hand-picked datagram: a header and one message body. Values
// are already quantized, so decoding the bytes gives back exactly the same
// values.
type vector struct {
	name string // file name without ".hex"
	what string // one line for the file's comment
	hdr  Header
	msg  codec
}

func (v *vector) datagram() []byte {
	b := v.msg.Append(v.hdr.Append(nil))
	if v.hdr.Flags&FlagEpoch != 0 {
		b = AppendEpoch(b, testEpoch)
	}
	return b
}

// newCodec returns a new zero message of the same type as m.
func newCodec(m codec) codec { return reflect.New(reflect.TypeOf(m).Elem()).Interface().(codec) }

func qpose(px, py, pz, x, y, z, w float32) Pose {
	return QuantizePose(Pose{Pos: Vec3{px, py, pz}, Rot: Quat{x, y, z, w}})
}

func name(s string) (n uint8, b [MaxNameLen]byte) {
	var m ConnectRequest
	m.SetName(s)
	if m.NameString() != s {
		panic("test name does not fit: " + s)
	}
	return m.NameLen, m.Name
}

func cookie(seed byte) (c [CookieSize]byte) {
	for i := range c {
		c[i] = seed + byte(i)*7
	}
	return c
}

func player(id uint16, i int) PlayerState {
	f := float32(i)
	return PlayerState{
		ClientID:     id,
		LastInputSeq: 1000 + uint32(i)*3,
		Tracking:     TrackHead | TrackLeft | TrackRight,
		Head:         qpose(f*0.5-3, 1.7, 2-f*0.25, 0, 0.1305262, 0, 0.9914449),
		Hands: [2]Pose{
			qpose(f*0.5-3.2, 1.2, 2-f*0.25, 0.2, 0.1, -0.3, 0.9),
			qpose(f*0.5-2.8, 1.25, 2-f*0.25, -0.5, 0.5, 0.5, 0.5),
		},
	}
}

func entity(id uint16, i int) EntityState {
	f := float32(i)
	return EntityState{ID: id, Flags: uint8(i), Pose: qpose(f*0.37-15, f*0.11, -f*0.29+12, f, 1, -f, 3)}
}

// flagged returns es with the given flags, in order.
func flagged(es []EntityState, flags ...uint8) []EntityState {
	for i, f := range flags {
		es[i].Flags = f
	}
	return es
}

func players(n int) []PlayerState {
	p := make([]PlayerState, n)
	for i := range p {
		p[i] = player(uint16(i+1), i)
	}
	return p
}

// causes returns n causes whose client ids run from 1 to 0xffff and whose
// input seqs count down from the largest.
func causes(n int) []UpdateCause {
	c := make([]UpdateCause, n)
	for i := range c {
		c[i] = UpdateCause{Client: uint16(1 + i*0xfffe/max(n-1, 1)), Input: ^uint32(i)}
	}
	return c
}

func entities(n int) []EntityState {
	e := make([]EntityState, n)
	for i := range e {
		e[i] = entity(uint16(100+i), i)
	}
	return e
}

// handshakeCookie is the cookie of seal/testdata/handshake.txt.
var handshakeCookie = [CookieSize]byte([]byte("0123456789abcdef0123456789abcdef"))

// noAck is the ack of a datagram sent before anything was received on
// its session path (PROTOCOL §8.2): every handshake datagram's.
const noAck = 0xffff

const (
	testNonce      = 0x0123456789abcdef
	testToken      = 0x8877665544332211
	testGroupToken = 0xc0ffee0ddba11ad5
)

// testPlayerID is a player id as a client makes one: 16 random bytes.
var testPlayerID = [PlayerIDSize]byte{0x6f, 0x1c, 0x3a, 0x9e, 0x4b, 0x27, 0x4d, 0x0a, 0x8e, 0x55, 0xc2, 0x19, 0x70, 0xb3, 0xfd, 0x42}

func goldenVectors() []vector {
	nameLen0, name0 := name("")
	nameLen3, name3 := name("Ada")
	nameLen32, name32 := name("Zoë Łukasiewicz, Team Blue #07") // 32 bytes
	session := func(t PacketType, seq, ack uint16, bits uint32) Header {
		return Header{Type: t, Token: testToken, Seq: seq, Ack: ack, AckBits: bits}
	}
	return append(append(deltaVectors(), epochVectors()...), []vector{
		{"connect_request_empty_name", "ConnectRequest, empty name, padded to 1200 bytes; ack 0xffff: nothing received yet",
			Header{Type: TypeConnectRequest, Ack: noAck},
			&ConnectRequest{ClientNonce: testNonce, NameLen: nameLen0, Name: name0}},
		{"connect_request_name32", "ConnectRequest, 32-byte UTF-8 name, unicast wanted, retry (seq 1)",
			Header{Type: TypeConnectRequest, Seq: 1, Ack: noAck},
			&ConnectRequest{ClientNonce: ^uint64(0), Flags: ConnectWantUnicast, NameLen: nameLen32, Name: name32}},
		{"challenge", "Challenge with a 32-byte cookie",
			Header{Type: TypeChallenge},
			&Challenge{ClientNonce: testNonce, Cookie: cookie(1)}},
		{"challenge_response", "ChallengeResponse, name \"Ada\", with a player id",
			Header{Type: TypeChallengeResponse, Seq: 2, Ack: noAck},
			&ChallengeResponse{ClientNonce: testNonce, NameLen: nameLen3, Name: name3, Cookie: cookie(1), PlayerID: testPlayerID}},
		{"challenge_response_pake", "ChallengeResponse to a server with a venue passphrase: ConnectHasPAKE, the client's CPace message after the player id (msgA of seal/testdata/handshake.txt: passphrase \"lantern orchard 42\", this nonce, that vector's cookie)",
			Header{Type: TypeChallengeResponse, Seq: 4, Ack: noAck},
			&ChallengeResponse{ClientNonce: testNonce, Flags: ConnectHasPAKE, NameLen: nameLen3, Name: name3, Cookie: handshakeCookie, PlayerID: testPlayerID,
				PAKE: [PAKESize]byte{0xec, 0xd6, 0x87, 0xd3, 0x95, 0x32, 0xb0, 0x48, 0x75, 0x69, 0x58, 0xd0, 0x8b, 0xff, 0x42, 0x7b, 0x8f, 0xea, 0xb3, 0x29, 0x52, 0xb4, 0xf4, 0xae, 0x86, 0x3c, 0xf0, 0xb4, 0x19, 0x05, 0x75, 0x3b}}},
		{"challenge_response_name32", "ChallengeResponse, 32-byte name, unicast wanted, anonymous (player id all zero)",
			Header{Type: TypeChallengeResponse, Seq: 3, Ack: noAck},
			&ChallengeResponse{ClientNonce: testNonce, Flags: ConnectWantUnicast, NameLen: nameLen32, Name: name32, Cookie: cookie(0xf0)}},
		{"accepted_multicast", "Accepted, snapshots by multicast to 239.255.77.77:7778; header carries the session token; seq 1: a repeated Accepted (the first was lost) takes the session's next number",
			session(TypeAccepted, 1, noAck, 0),
			&Accepted{ClientNonce: testNonce, ClientID: 3, TickRate: 90, ServerTime: 123_456_789,
				Multicast: netip.MustParseAddrPort("239.255.77.77:7778"), GroupToken: testGroupToken}},
		{"accepted_sealed", "Accepted by a server with a venue passphrase (every later datagram is sealed; multicast), answering challenge_response_pake: the server's CPace message, its Ed25519 key, the wrapped group key and its confirmation, from seal/testdata/handshake.txt",
			session(TypeAccepted, 0, noAck, 0),
			&Accepted{ClientNonce: testNonce, ClientID: 4, TickRate: 90, ServerTime: 123_456_789,
				Multicast: netip.MustParseAddrPort("239.255.77.77:7778"), GroupToken: testGroupToken, Flags: AcceptedSealed,
				PAKE:      [PAKESize]byte{0xb6, 0xda, 0x4d, 0x28, 0x97, 0xf4, 0xb0, 0xad, 0xd8, 0x94, 0xba, 0x0d, 0xec, 0x3d, 0x13, 0x47, 0x53, 0x7a, 0x5e, 0x68, 0x88, 0xf2, 0x44, 0x9d, 0xe8, 0x43, 0xeb, 0x17, 0x37, 0x7d, 0x44, 0x3a},
				ServerKey: [ServerKeySize]byte{0x00, 0xde, 0x13, 0x54, 0xe4, 0x08, 0x5f, 0x24, 0x96, 0x81, 0x14, 0x7a, 0x91, 0x51, 0x4e, 0x8d, 0x45, 0xc4, 0x78, 0x2e, 0x61, 0xec, 0x30, 0x16, 0xc8, 0xcd, 0xc5, 0x78, 0x3e, 0xa9, 0x62, 0xc4},
				GroupKey:  [WrappedKeySize]byte{0x1d, 0x83, 0xde, 0xf8, 0xdc, 0x31, 0x08, 0xe2, 0x0c, 0x4f, 0x6f, 0x3b, 0xb4, 0xb0, 0x93, 0xa4, 0x99, 0x99, 0xc4, 0x91, 0x5a, 0xa0, 0xb7, 0x26, 0x35, 0x8c, 0x5b, 0x96, 0x5a, 0x3d, 0x13, 0x30},
				Confirm:   [ConfirmSize]byte{0x78, 0xec, 0xe2, 0xed, 0xe6, 0x5a, 0xc4, 0xfb, 0x68, 0x9f, 0xfe, 0x10, 0x88, 0x91, 0xa8, 0x67, 0x3a, 0x5f, 0xad, 0x4a, 0x0d, 0x82, 0xb7, 0xd0, 0x05, 0x45, 0x65, 0xcc, 0x21, 0x74, 0xc8, 0xb9}}},
		{"accepted_unicast", "Accepted, no multicast group, snapshots by unicast",
			session(TypeAccepted, 0, noAck, 0),
			&Accepted{ClientNonce: testNonce, ClientID: 0xffff, TickRate: 120, ServerTime: 1 << 40, Flags: AcceptedUnicast}},
		{"accepted_resumed", "Accepted, resuming the previous session of the player id in challenge_response: client id 3 again; multicast",
			session(TypeAccepted, 0, noAck, 0),
			&Accepted{ClientNonce: testNonce, ClientID: 3, TickRate: 90, ServerTime: 133_456_789,
				Multicast: netip.MustParseAddrPort("239.255.77.77:7778"), GroupToken: testGroupToken, Flags: AcceptedResumed}},
		{"denied_server_full", "Denied: server full",
			Header{Type: TypeDenied},
			&Denied{ClientNonce: testNonce, Reason: DenyServerFull}},
		{"denied_bad_passphrase", "Denied: no proof, or a wrong one, of the venue passphrase",
			Header{Type: TypeDenied},
			&Denied{ClientNonce: testNonce, Reason: DenyBadPassphrase}},
		{"denied_version_mismatch", "Denied: version mismatch",
			Header{Type: TypeDenied, Seq: 7},
			&Denied{ClientNonce: ^uint64(0), Reason: DenyVersionMismatch}},
		{"denied_unknown_reason", "Denied with a reason unknown to version 1 (passed through)",
			Header{Type: TypeDenied},
			&Denied{ClientNonce: 1, Reason: 200}},
		{"pose_input", "PoseInput, all tracked; header seq 65535 (wraps next), acks with full bitfield",
			session(TypePoseInput, 0xffff, 0xfffe, 0xffffffff),
			&PoseInput{
				InputSeq: 4242, ClientTime: 987_654_321,
				Head: qpose(0.1, 1.7, -0.3, 0, 0.38268343, 0, 0.9238795),
				Hands: [2]Pose{
					qpose(-0.2, 1.2, -0.1, 0.1, 0.2, 0.3, 0.9273618),
					qpose(0.25, 1.1, -0.15, -0.7071068, 0, 0, 0.7071068),
				},
				Buttons:  0x00000005,
				Trigger:  [2]float32{dequantUnit(255), dequantUnit(128)},
				Grip:     [2]float32{0, dequantUnit(1)},
				Stick:    [2][2]float32{{-1, 1}, {0, dequantSigned(64)}},
				Tracking: TrackHead | TrackLeft | TrackRight,
			}},
		{"pose_input_extremes", "PoseInput at the ends of every range; hands untracked",
			session(TypePoseInput, 0, 0, 0),
			&PoseInput{
				InputSeq: ^uint32(0), ClientTime: ^uint64(0),
				Head: qpose(PosMin, PosMax, 0, 0.5, 0.5, 0.5, 0.5),
				Hands: [2]Pose{
					qpose(PosMax, PosMin, PosMax, 0, 0, 0, -1),
					qpose(PosMin, PosMin, PosMin, 1, 0, 0, 0),
				},
				Buttons:  ^uint32(0),
				Trigger:  [2]float32{0, 1},
				Grip:     [2]float32{1, 0},
				Stick:    [2][2]float32{{1, -1}, {-1, 1}},
				Tracking: TrackHead,
			}},
		{"snapshot_hash", "Snapshot, one part, 2 players and 3 entities, with state hash (unicast)",
			session(TypeSnapshot, 41, 40, 0xff),
			&Snapshot{Tick: 90_000, ServerTime: 1_000_000_000, Part: 0, Parts: 1, PlayerCount: 2,
				Flags: SnapshotHasHash, StateHash: 0xdeadbeefcafef00d, Players: players(2), Entities: entities(3)}},
		{"snapshot_nohash", "Snapshot, one part, 1 player, no entities, no hash (multicast: group token, server-wide seq)",
			Header{Type: TypeSnapshot, Token: testGroupToken, Seq: 500},
			&Snapshot{Tick: 7, ServerTime: 77_777, Parts: 1, PlayerCount: 1, Players: players(1)}},
		{"snapshot_new_player", "Snapshot naming a player none of whose inputs was applied yet: tracking TrackNoInput (bit 7), input seq 0, origin poses",
			Header{Type: TypeSnapshot, Token: testGroupToken, Seq: 9},
			&Snapshot{Tick: 200, ServerTime: 1_675_000, Parts: 1, PlayerCount: 1,
				Players: []PlayerState{{ClientID: 9, Tracking: TrackNoInput, Head: qpose(0, 0, 0, 0, 0, 0, 1),
					Hands: [2]Pose{qpose(0, 0, 0, 0, 0, 0, 1), qpose(0, 0, 0, 0, 0, 0, 1)}}}}},
		{"snapshot_empty", "Snapshot with no players and no entities",
			Header{Type: TypeSnapshot, Token: testGroupToken, Seq: 0},
			&Snapshot{Tick: 0, ServerTime: 0, Parts: 1}},
		{"snapshot_multipart_0", "Snapshot part 0 of 2: MaxSnapshotPlayers (28) players of the tick's 30; flags and hash as in every part of the tick",
			Header{Type: TypeSnapshot, Token: testGroupToken, Seq: 1001},
			&Snapshot{Tick: 0xfffffffe, ServerTime: 5_000_000, Part: 0, Parts: 2, PlayerCount: 30,
				Flags: SnapshotHasHash, StateHash: 1, Players: players(MaxSnapshotPlayers)}},
		{"snapshot_multipart_1", "Snapshot part 1 of 2: the other 2 players and 4 entities, with hash",
			Header{Type: TypeSnapshot, Token: testGroupToken, Seq: 1002},
			&Snapshot{Tick: 0xfffffffe, ServerTime: 5_000_000, Part: 1, Parts: 2, PlayerCount: 30,
				Flags: SnapshotHasHash, StateHash: 1, Players: players(30)[28:], Entities: entities(4)}},
		{"snapshot_max_entities", "Snapshot with MaxSnapshotEntities (82) entities and a hash: a 1197-byte datagram",
			Header{Type: TypeSnapshot, Token: testGroupToken, Seq: 65535},
			&Snapshot{Tick: 12345, ServerTime: 999, Part: 2, Parts: 3, PlayerCount: 0,
				Flags: SnapshotHasHash, StateHash: ^uint64(0), Entities: entities(MaxSnapshotEntities)}},
		{"entity_update", "EntityUpdate after tick 90000 reflecting the inputs client 3's 4242, client 5's 77, client 3's 4243, applied in that order: each client named once, with its newest input, in the order those were applied (5's 77, 3's 4243); a held grabbable entity, an entity held in a chain below it, a sleeping grabbable one with unknown flag bit 7 (unicast)",
			session(TypeEntityUpdate, 42, 40, 0xff),
			&EntityUpdate{Tick: 90_000, ServerTime: 1_000_004_321,
				Causes:   []UpdateCause{{Client: 5, Input: 77}, {Client: 3, Input: 4243}},
				Entities: flagged(entities(3), EntityHeld|EntityGrabbable, EntityHeld, EntitySleeping|EntityGrabbable|0x80)}},
		{"entity_update_empty", "EntityUpdate with no causes, entities or players (multicast: group token, server-wide seq)",
			Header{Type: TypeEntityUpdate, Token: testGroupToken, Seq: 501},
			&EntityUpdate{Tick: 7, ServerTime: 78_000}},
		{"entity_update_max_entities", "EntityUpdate with no cause, no player and MaxEntityUpdateEntities (83) entities: a 1199-byte datagram",
			Header{Type: TypeEntityUpdate, Token: testGroupToken, Seq: 0},
			&EntityUpdate{Tick: ^uint32(0), ServerTime: ^uint64(0), Entities: entities(MaxEntityUpdateEntities)}},
		{"entity_update_avatars", "EntityUpdate after tick 90001: client 3's input 4244 moved one held entity, and the avatars of clients 3 and 5 as applied (multicast)",
			Header{Type: TypeEntityUpdate, Token: testGroupToken, Seq: 502},
			&EntityUpdate{Tick: 90_001, ServerTime: 1_000_012_654,
				Causes:   []UpdateCause{{Client: 3, Input: 4244}},
				Entities: flagged(entities(1), EntityHeld|EntityGrabbable),
				Players:  []PlayerState{player(3, 0), player(5, 1)}}},
		{"entity_update_max_players", "EntityUpdate with no cause, no entity and MaxEntityUpdatePlayers (29) players: a 1197-byte datagram",
			Header{Type: TypeEntityUpdate, Token: testGroupToken, Seq: 1},
			&EntityUpdate{Tick: 3, ServerTime: 4, Players: players(MaxEntityUpdatePlayers)}},
		{"entity_update_max_causes", "EntityUpdate with 193 causes (client ids 1 to 0xffff, input seqs down from 0xffffffff), no entities and no players: a 1195-byte datagram",
			Header{Type: TypeEntityUpdate, Token: testGroupToken, Seq: 65535},
			&EntityUpdate{Tick: 1, ServerTime: 2, Causes: causes((MaxBodySize - EntityUpdateFixedSize) / UpdateCauseSize)}},
		{"ping", "Ping",
			session(TypePing, 100, 99, 0x7fffffff),
			&Ping{PingID: 17, ClientTime: 5_000_123}},
		{"pong", "Pong answering the ping above",
			session(TypePong, 55, 100, 0xfffffffe),
			&Pong{PingID: 17, ClientTime: 5_000_123, ServerRecvTime: 8_000_000, ServerSendTime: 8_000_042}},
		{"disconnect_client_left", "Disconnect from the client: leaving",
			session(TypeDisconnect, 12, 0, 0),
			&Disconnect{Reason: DisconnectClientLeft}},
		{"disconnect_timeout", "Disconnect from the server: timed out",
			session(TypeDisconnect, 9000, 8999, 1),
			&Disconnect{Reason: DisconnectTimeout}},
		{"disconnect_unknown_session", "Disconnect from the server answering a datagram whose token it holds no session of: the token echoed, seq 0, no acks; start a new handshake",
			Header{Type: TypeDisconnect, Token: testToken},
			&Disconnect{Reason: DisconnectUnknownSession}},
		{"delivery_probe", "DeliveryProbe for tick 90000, whose first multicast datagram had group seq 1001 (unicast, session token)",
			session(TypeDeliveryProbe, 43, 40, 0xff),
			&DeliveryProbe{Tick: 90_000, ServerTime: 1_000_000_000, GroupSeq: 1001}},
		{"delivery_report", "DeliveryReport over 250 ms: 22 multicast datagrams received, 1 lost; 6 samples, multicast 180 µs ahead at the median and 4250 µs behind at the 90th percentile; unicast loss 4.17 % (1 of 24 expected)",
			session(TypeDeliveryReport, 101, 56, 0b11),
			&DeliveryReport{WindowMs: 250, McastReceived: 22, McastLost: 1, Samples: 6, ExcessP50: -180, ExcessP90: 4_250, UnicastLoss: 417}},
		{"delivery_report_not_joined", "DeliveryReport with the NotJoined flag: nothing received on the group, no samples, unicast loss unknown (fewer than 20 expected)",
			session(TypeDeliveryReport, 0, 0, 0),
			&DeliveryReport{WindowMs: 250, Flags: DeliveryNotJoined, UnicastLoss: UnicastLossUnknown}},
		{"message_ack", "Message with an empty payload: a pure acknowledgement of packets 300 and 284 to 299",
			session(TypeMessage, 7, 300, 0xffff),
			&Message{}},
		{"message_rpc", "Message with four whole RPC messages: stream 0 message 0 GrabRequest (right hand, nearest entity), stream 0 message 1 ButtonEvent (button 3 down), stream 1 message 0 SceneChange \"lobby\", stream 0 message 2 Event (sound cue 12 at (1.5, 1, -2), strength 200)",
			session(TypeMessage, 8, 301, 0x1),
			&Message{Payload: testRPCPayload()}},
		{"message_fragment", "Message with the last fragment (index 2) of a 3000-byte message on stream 2, message 65535: fragments of 1163 bytes (MaxMessagePayload - 13)",
			session(TypeMessage, 65535, 9, 0),
			&Message{Payload: testFragmentPayload()}},
		{"delivery_report_extremes", "DeliveryReport at the ends of every range, unicast loss 100 %; flag bits unknown to version 1 set (passed through)",
			session(TypeDeliveryReport, 0xffff, 0xffff, 0xffffffff),
			&DeliveryReport{WindowMs: 0xffff, McastReceived: 0xffff, McastLost: 0xffff, Samples: 0xffff,
				ExcessP50: math.MinInt32, ExcessP90: math.MaxInt32, Flags: 0xff, UnicastLoss: MaxUnicastLoss}},
	}...)
}

// TestGolden encodes every vector and compares with its file, then decodes
// the file and compares with the vector. With -update it rewrites the files
// and the fuzz seed corpus instead.
func TestGolden(t *testing.T) {
	if *update {
		writeGolden(t)
		writeCorpus(t)
	}
	seen := map[PacketType]bool{}
	for _, v := range goldenVectors() {
		t.Run(v.name, func(t *testing.T) {
			seen[v.hdr.Type] = true
			want, err := readHex(filepath.Join(goldenDir, v.name+".hex"))
			if err != nil {
				t.Fatal(err)
			}
			got := v.datagram()
			if !bytes.Equal(got, want) {
				t.Fatalf("encoding differs from %s.hex (run with -update if the change is intended)\n got %x\nwant %x", v.name, got, want)
			}
			if len(want) > MaxDatagramSize {
				t.Fatalf("%d bytes, more than MaxDatagramSize", len(want))
			}
			var h Header
			n, err := h.Parse(want)
			if err != nil || n != HeaderSize || h != v.hdr {
				t.Fatalf("Header.Parse = %d, %v, %+v; want %d, nil, %+v", n, err, h, HeaderSize, v.hdr)
			}
			body, epoch, err := SplitEpoch(want)
			if err != nil || v.hdr.Flags&FlagEpoch != 0 && epoch != testEpoch {
				t.Fatalf("SplitEpoch = epoch %d, %v; want %d", epoch, err, testEpoch)
			}
			body = body[HeaderSize:]
			m := newCodec(v.msg)
			n, err = m.Parse(body)
			if err != nil || n != len(body) || n != v.msg.Len() {
				t.Fatalf("Parse = %d, %v; want %d, nil (Len %d)", n, err, len(body), v.msg.Len())
			}
			if !reflect.DeepEqual(m, v.msg) {
				t.Fatalf("decoded\n%+v\nwant\n%+v", m, v.msg)
			}
			// The dissector reads the layout of docs/PROTOCOL.md independently
			// of the codec; it must account for every byte.
			if _, err := dissect(want); err != nil {
				t.Fatal(err)
			}
		})
	}
	for typ := PacketType(1); typ <= MaxType; typ++ {
		if !seen[typ] {
			t.Errorf("no golden vector for %v", typ)
		}
	}
}

// readHex reads a golden file: hex digits, whitespace and '#' comments.
func readHex(path string) ([]byte, error) { return golden.ReadHex(path) }

func writeGolden(t *testing.T) {
	if err := os.MkdirAll(goldenDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range goldenVectors() {
		b := v.datagram()
		fields, err := dissect(b)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		var w strings.Builder
		fmt.Fprintf(&w, "# %s: %s.\n", v.name, v.what)
		if v.hdr.Flags&FlagEpoch != 0 {
			fmt.Fprintf(&w, "# %d bytes: %d header + %d body + %d epoch trailer. Layout: docs/PROTOCOL.md.\n", len(b), HeaderSize, len(b)-HeaderSize-EpochSize, EpochSize)
		} else {
			fmt.Fprintf(&w, "# %d bytes: %d header + %d body. Layout: docs/PROTOCOL.md.\n", len(b), HeaderSize, len(b)-HeaderSize)
		}
		w.WriteString("# One field per line: its bytes in hex as sent, then '#' and its meaning.\n")
		w.WriteString("# Regenerate with: go test ./wire -run Golden -update\n")
		off := 0
		for _, f := range fields {
			for i := 0; i < f.size; i += 32 { // long fields wrap at 32 bytes
				chunk := b[off+i : off+min(i+32, f.size)]
				comment := f.name
				if i > 0 {
					comment = "..."
				}
				fmt.Fprintf(&w, "%-24s # %s\n", hex.EncodeToString(chunk), comment)
			}
			off += f.size
		}
		if err := os.WriteFile(filepath.Join(goldenDir, v.name+".hex"), []byte(w.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// field is one field of a dissected datagram.
type field struct {
	size int
	name string
}

// dissect splits a valid datagram into its fields, following the byte tables
// of docs/PROTOCOL.md without using the codec, and names each field with its
// value. It is a second, plain reading of the layout.
func dissect(b []byte) ([]field, error) {
	var fs []field
	off := 0
	le := binary.LittleEndian
	bad := func(what string) ([]field, error) {
		return nil, fmt.Errorf("dissect: %s at offset %d of %d", what, off, len(b))
	}
	take := func(size int, format string, args ...any) bool {
		if off+size > len(b) {
			return false
		}
		fs = append(fs, field{size, fmt.Sprintf(format, args...)})
		off += size
		return true
	}
	u8 := func(name string) (uint8, bool) {
		if off+1 > len(b) {
			return 0, false
		}
		v := b[off]
		return v, take(1, "%s = %d", name, v)
	}
	u16 := func(name string) (uint16, bool) {
		if off+2 > len(b) {
			return 0, false
		}
		v := le.Uint16(b[off:])
		return v, take(2, "%s = %d", name, v)
	}
	u32 := func(name string) bool {
		return off+4 <= len(b) && take(4, "%s = %d", name, le.Uint32(b[off:]))
	}
	u64 := func(name string) bool {
		return off+8 <= len(b) && take(8, "%s = %d", name, le.Uint64(b[off:]))
	}
	i32 := func(name string) bool {
		return off+4 <= len(b) && take(4, "%s = %d", name, int32(le.Uint32(b[off:])))
	}
	hex64 := func(name string) bool {
		return off+8 <= len(b) && take(8, "%s = 0x%016x", name, le.Uint64(b[off:]))
	}
	pose := func(name string) bool {
		if off+11 > len(b) {
			return false
		}
		for _, axis := range []string{"x", "y", "z"} {
			q := le.Uint16(b[off:])
			take(2, "%s position %s: q = %d, %g m", name, axis, q, float64(q)/1024-32)
		}
		r := uint64(b[off]) | uint64(b[off+1])<<8 | uint64(b[off+2])<<16 | uint64(b[off+3])<<24 | uint64(b[off+4])<<32
		omitted := "XYZW"[r&3]
		sent := strings.Replace("XYZW", string(omitted), "", 1)
		return take(5, "%s rotation: largest %c omitted; %c q = %d, %c q = %d, %c q = %d",
			name, omitted, sent[0], r>>2&0xfff, sent[1], r>>14&0xfff, sent[2], r>>26&0xfff)
	}
	raw := func(size int, name string) bool { return take(size, "%s", name) }
	// entityRecords reads an entity record count and that many 14-byte
	// records, as in Snapshot and EntityUpdate.
	entityRecords := func() bool {
		ne, ok := u8("entity records")
		for i := 0; ok && i < int(ne); i++ {
			_, ok = u16(fmt.Sprintf("entity %d: id", i))
			ok = ok && off < len(b) && take(1, "entity %d: flags = 0x%02x", i, b[off]) && pose(fmt.Sprintf("entity %d", i))
		}
		return ok
	}
	// playerRecords reads a player record count and the records; in an
	// entity update a record naming client 0 is invalid.
	playerRecords := func(update bool) bool {
		np, ok := u8("player records")
		for i := 0; ok && i < int(np); i++ {
			var client uint16
			client, ok = u16(fmt.Sprintf("player %d: client id", i))
			if ok && update && client == 0 {
				return false
			}
			ok = ok && u32(fmt.Sprintf("player %d: last input seq", i))
			if ok {
				_, ok = u8(fmt.Sprintf("player %d: tracking", i))
			}
			ok = ok && pose(fmt.Sprintf("player %d: head", i)) && pose(fmt.Sprintf("player %d: left hand", i)) && pose(fmt.Sprintf("player %d: right hand", i))
		}
		return ok
	}
	nameField := func() bool {
		n, ok := u8("name length")
		return ok && (n == 0 || take(int(n), "name %q", b[off:off+int(n)]))
	}

	// Header.
	if len(b) < 22 || string(b[:3]) != "ARC" {
		return bad("no header")
	}
	// The epoch trailer (§18) is the last 4 bytes; the body ends before it.
	var trailer []byte
	if b[5]&0x02 != 0 {
		if len(b) < 26 {
			return bad("no room for the epoch trailer")
		}
		b, trailer = b[:len(b)-4], b[len(b)-4:]
	}
	raw(3, `magic "ARC"`)
	u8("version")
	typ := PacketType(b[off])
	take(1, "type = %d (%v)", typ, typ)
	take(1, "flags = 0x%02x%s%s", b[off], map[bool]string{true: " (FlagSealed)"}[b[off]&FlagSealed != 0],
		map[bool]string{true: " (FlagEpoch)"}[b[off]&FlagEpoch != 0])
	hex64("token")
	u16("seq")
	u16("ack")
	take(4, "ack bits = 0x%08x", le.Uint32(b[off:]))

	ok := true
	switch typ {
	case TypeConnectRequest:
		ok = hex64("client nonce") && raw(1, fmt.Sprintf("flags = 0x%02x", b[off])) && nameField()
		if ok && len(b) == 1200 {
			ok = raw(len(b)-off, "zero padding to 1200 bytes")
		}
	case TypeChallenge:
		ok = hex64("client nonce") && raw(32, "cookie")
	case TypeChallengeResponse:
		ok = hex64("client nonce") && raw(1, fmt.Sprintf("flags = 0x%02x", b[off])) && nameField() && raw(32, "cookie")
		if ok = ok && off+16 <= len(b); ok {
			id := "player id"
			if bytes.Equal(b[off:off+16], make([]byte, 16)) {
				id = "player id: all zero, anonymous"
			}
			raw(16, id)
		}
		if ok && b[HeaderSize+offConnFlags]&ConnectHasPAKE != 0 {
			ok = off+PAKESize <= len(b) && raw(PAKESize, "CPace message (msgA)")
		}
	case TypeAccepted:
		ok = hex64("client nonce")
		_, ok1 := u16("client id")
		_, ok2 := u16("tick rate")
		ok = ok && ok1 && ok2 && u64("server time (µs)") &&
			off+6 <= len(b) && take(4, "multicast address %d.%d.%d.%d", b[off], b[off+1], b[off+2], b[off+3])
		if ok {
			_, ok = u16("multicast port")
		}
		if ok = ok && hex64("group token") && off < len(b); ok {
			var bits []string
			for i, n := range []string{"AcceptedUnicast", "AcceptedResumed", "AcceptedSealed"} {
				if b[off]&(1<<i) != 0 {
					bits = append(bits, n)
				}
			}
			comment := fmt.Sprintf("flags = 0x%02x", b[off])
			if len(bits) > 0 {
				comment += " (" + strings.Join(bits, ", ") + ")"
			}
			sealed := b[off]&AcceptedSealed != 0
			raw(1, comment)
			if sealed {
				ok = off+AcceptedSealedSize-AcceptedSize <= len(b) && raw(PAKESize, "CPace message (msgB)") &&
					raw(ServerKeySize, "server key (Ed25519)") && raw(WrappedKeySize, "group key, wrapped") && raw(ConfirmSize, "server confirmation tag")
			}
		}
	case TypeDenied:
		ok = hex64("client nonce")
		if ok {
			_, ok = u8("reason")
		}
	case TypePoseInput:
		ok = u32("input seq") && u64("client time (µs)") && pose("head") && pose("left hand") && pose("right hand") &&
			off+13 <= len(b) && take(4, "buttons = 0x%08x", le.Uint32(b[off:]))
		for _, n := range []string{"trigger left", "trigger right", "grip left", "grip right"} {
			ok = ok && take(1, "%s: q = %d, %g", n, b[off], float64(b[off])/255)
		}
		for _, n := range []string{"stick left x", "stick left y", "stick right x", "stick right y"} {
			ok = ok && take(1, "%s: q = %d, %g", n, int8(b[off]), max(float64(int8(b[off])), -127)/127)
		}
		ok = ok && raw(1, fmt.Sprintf("tracking = 0x%02x", b[off]))
		if ok && len(b)-off >= 12 {
			ok = u32("state ack: newest complete tick held") && off+8 <= len(b) &&
				take(8, "state ack: ticks held, bit i = tick newest-i: 0x%016x", le.Uint64(b[off:]))
		}
	case TypeStateDelta:
		ok = u32("tick") && u64("server time (µs)") && u32("baseline tick")
		var flags uint8
		if ok {
			_, ok = u8("part")
			ok = ok && off < len(b) && take(1, "parts = %d", b[off])
		}
		if ok {
			_, ok = u16("player count (whole tick)")
		}
		if ok {
			_, ok = u16("entity count (whole tick)")
		}
		ok = ok && off < len(b) && take(1, "flags = 0x%02x (bit 0 hash, 1 keyframe, 2 coded, 3 avatar grid, 4 prior, 5 prior entities, 6 parity)", b[off])
		if ok {
			flags = b[off-1]
			if flags&1 != 0 {
				ok = hex64("state hash")
			}
			if ok && flags&DeltaPrior != 0 {
				ok = u32("prior tick")
			}
		}
		for _, n := range []string{"player ids from", "player ids to", "entity ids from", "entity ids to", "player records", "entity records"} {
			if ok {
				_, ok = u16(n)
			}
		}
		if ok {
			var nbits uint16
			nbits, ok = u16("payload bits")
			if n := (int(nbits) + 7) / 8; ok && n > 0 && flags&DeltaParity != 0 {
				ok = raw(n, fmt.Sprintf("repair payload, %d bytes: the sum over GF(2^8) of c(part, i) times data part i's body from its id ranges on (§10.4)", n))
			} else if ok && n > 0 && flags&DeltaCoded != 0 {
				ok = raw(n, fmt.Sprintf("coded payload, %d bytes (§10.4)", n))
			} else if ok && n > 0 {
				ok = raw(n, fmt.Sprintf("bit payload, %d bits: see the .bits file", nbits))
			}
		}
	case TypeSnapshot:
		ok = u32("tick") && u64("server time (µs)")
		var part, parts, flags uint8
		if ok {
			part, _ = u8("part")
			parts, _ = u8("parts")
			_, ok = u16("player count (whole tick)")
		}
		ok = ok && off < len(b) && take(1, "flags = 0x%02x", b[off])
		if ok {
			flags = b[off-1]
			if flags&1 != 0 {
				ok = hex64("state hash")
			}
		}
		ok = ok && playerRecords(false)
		ok = ok && entityRecords()
		if ok && (parts == 0 || part >= parts) {
			return bad("part out of range")
		}
	case TypeEntityUpdate:
		ok = u32("tick") && u64("server time (µs)")
		var nc uint8
		if ok {
			nc, ok = u8("cause records")
		}
		for i := 0; ok && i < int(nc); i++ {
			var client uint16
			client, ok = u16(fmt.Sprintf("cause %d: client id", i))
			if ok && client == 0 {
				return bad("cause client id 0")
			}
			ok = ok && u32(fmt.Sprintf("cause %d: input seq", i))
		}
		ok = ok && entityRecords() && playerRecords(true)
		if ok && off > 22+1178 {
			return bad("body longer than 1178 bytes")
		}
	case TypePing:
		ok = u32("ping id") && u64("client time (µs)")
	case TypePong:
		ok = u32("ping id") && u64("client time (µs), echoed") && u64("server receive time (µs)") && u64("server send time (µs)")
	case TypeDisconnect:
		_, ok = u8("reason")
	case TypeDeliveryProbe:
		ok = u32("tick") && u64("server time (µs)")
		if ok {
			_, ok = u16("group seq of the tick's first multicast datagram")
		}
	case TypeDeliveryReport:
		var window uint16
		window, ok = u16("window (ms)")
		if ok && window == 0 {
			return bad("window 0")
		}
		_, ok1 := u16("multicast received")
		_, ok2 := u16("multicast lost")
		_, ok3 := u16("samples")
		ok = ok && ok1 && ok2 && ok3 && i32("excess p50 (µs)") && i32("excess p90 (µs)") &&
			off < len(b) && take(1, "flags = 0x%02x", b[off])
		ok = ok && off+2 <= len(b)
		if ok {
			switch ul := le.Uint16(b[off:]); {
			case ul == 0xffff:
				take(2, "unicast loss = 0xffff (unknown: fewer than 20 expected)")
			case ul <= 10000:
				take(2, "unicast loss = %d (%d.%02d %%)", ul, ul/100, ul%100)
			default:
				return bad("unicast loss above 10000")
			}
		}
	case TypeMessage:
		var plen uint16
		plen, ok = u16("payload length")
		end := off + int(plen)
		if ok && end > len(b) {
			return bad("payload longer than the datagram")
		}
		for i := 0; ok && off < end; i++ {
			if off+5 > end {
				return bad("chunk header")
			}
			kind := b[off]
			stream := kind & 0x7f
			frag := kind&0x80 != 0
			desc := fmt.Sprintf("chunk %d: kind = 0x%02x (stream %d", i, kind, stream)
			if stream == 127 {
				desc += ", unreliable"
			}
			if frag {
				desc += ", fragment"
			}
			take(1, "%s)", desc)
			u16(fmt.Sprintf("chunk %d: message id", i))
			length, _ := u16(fmt.Sprintf("chunk %d: data length", i))
			if frag {
				if off+8 > end {
					return bad("fragment extension")
				}
				u32(fmt.Sprintf("chunk %d: message length", i))
				u16(fmt.Sprintf("chunk %d: fragment size", i))
				u16(fmt.Sprintf("chunk %d: fragment index", i))
			}
			dend := off + int(length)
			if dend > end {
				return bad("chunk data")
			}
			if frag || stream == 127 || length < 2 {
				if length > 0 {
					raw(int(length), fmt.Sprintf("chunk %d: data", i))
				}
				continue
			}
			rt := RPCType(le.Uint16(b[off:]))
			take(2, "chunk %d: RPC type = %d (%v)", i, rt, rt)
			p := fmt.Sprintf("chunk %d: ", i)
			switch rt {
			case RPCGrabRequest:
				_, ok = u8(p + "hand")
				_, ok2 := u16(p + "entity (0: nearest)")
				ok = ok && ok2
			case RPCReleaseRequest:
				_, ok = u8(p + "hand")
			case RPCButtonEvent:
				_, ok = u8(p + "button")
				_, ok2 := u8(p + "down")
				ok = ok && ok2 && u64(p+"client time (µs)")
			case RPCSceneChangeRequest, RPCSceneChange:
				n, ok1 := u8(p + "scene name length")
				ok = ok1 && (n == 0 || take(int(n), "%sscene name %q", p, b[off:off+int(n)]))
			case RPCEvent:
				_, ok = u8(p + "event kind")
				_, ok2 := u16(p + "cue")
				ok = ok && ok2
				for _, axis := range []string{"x", "y", "z"} {
					ok = ok && off+4 <= len(b) && take(4, "%sposition %s = %g m", p, axis, math.Float32frombits(le.Uint32(b[off:])))
				}
				ok = ok && u64(p+"server time (µs)")
				if ok {
					_, ok = u8(p + "strength")
				}
			case RPCText:
				ok = off+4 <= len(b)
				if ok {
					n := int(le.Uint32(b[off:]))
					ok = take(4, "%stext length = %d", p, n) && (n == 0 || take(n, "%stext %q", p, b[off:off+n]))
				}
			default:
				if dend > off {
					raw(dend-off, p+"RPC body of an unknown type")
				}
			}
			if ok && off != dend {
				return bad("RPC body does not fill its chunk")
			}
		}
		if ok && off != end {
			return bad("chunks overrun the payload")
		}
	default:
		return bad("unknown type")
	}
	if !ok {
		return bad("truncated body")
	}
	if off != len(b) {
		return bad("trailing bytes")
	}
	if trailer != nil {
		fs = append(fs, field{4, fmt.Sprintf("epoch = %d (trailer, FlagEpoch)", le.Uint32(trailer))})
	}
	return fs, nil
}
