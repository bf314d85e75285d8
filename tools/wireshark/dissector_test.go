package wireshark

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/arcadexr/arcade/internal/golden"
	"github.com/arcadexr/arcade/reliable"
	"github.com/arcadexr/arcade/seal"
	"github.com/arcadexr/arcade/wire"
)

const (
	script    = "arcade.lua"
	goldenDir = "../../testdata/wire"
	// aggregator separates the values of a field that occurs several times
	// in one packet; no decoded value contains it.
	aggregator = "\x1f"
)

// Wireshark expert info groups and severities (epan/proto.h), as tshark
// prints _ws.expert.group and _ws.expert.severity.
const (
	groupMalformed = 0x07000000
	groupProtocol  = 0x09000000
	severityNote   = 0x00400000
	severityWarn   = 0x00600000
	severityError  = 0x00800000
)

var (
	server = netip.MustParseAddrPort("10.77.0.1:7777")
	client = netip.MustParseAddrPort("10.77.0.10:50123")
)

// fields holds the values of arcade.* fields in one packet, in tree order,
// formatted as format does.
type fields map[string][]string

func (f fields) add(name string, v any) { f[name] = append(f[name], format(v)) }

// format writes an expected value the way normalize writes what tshark
// printed for a field of the matching type.
func format(v any) string {
	switch v := v.(type) {
	case uint8, uint16, uint32, uint64, int, int32, int64, wire.PacketType, wire.DenyReason, wire.DisconnectReason:
		return fmt.Sprint(v)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case bool:
		if v {
			return "1"
		}
		return "0"
	case []byte:
		return hex.EncodeToString(v)
	case string:
		return v
	case netip.Addr:
		return v.String()
	}
	panic(fmt.Sprintf("format: unexpected %T", v))
}

// normalize rewrites one value printed by tshark for a field of Wireshark
// type ftype in format's notation: integers in decimal, doubles as the
// float32 they hold, booleans as 1 or 0, bytes as plain hex.
func normalize(ftype, s string) (string, error) {
	switch {
	case strings.HasPrefix(ftype, "FT_UINT") || strings.HasPrefix(ftype, "FT_INT"):
		if strings.HasPrefix(s, "-") {
			n, err := strconv.ParseInt(s, 10, 64)
			return strconv.FormatInt(n, 10), err
		}
		n, err := strconv.ParseUint(s, 0, 64)
		return strconv.FormatUint(n, 10), err
	case ftype == "FT_DOUBLE" || ftype == "FT_FLOAT":
		x, err := strconv.ParseFloat(s, 64)
		return strconv.FormatFloat(float64(float32(x)), 'g', -1, 32), err
	case ftype == "FT_BOOLEAN":
		switch strings.ToLower(s) {
		case "1", "true":
			return "1", nil
		case "0", "false":
			return "0", nil
		}
		return s, fmt.Errorf("not a boolean: %q", s)
	case ftype == "FT_BYTES":
		return strings.ToLower(strings.ReplaceAll(s, ":", "")), nil
	}
	return s, nil
}

// readHex reads a golden file.
func readHex(t *testing.T, path string) []byte {
	t.Helper()
	b, err := golden.ReadHex(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// frame is one UDP datagram of the capture and what the dissector must
// make of it.
type frame struct {
	name     string
	src, dst netip.AddrPort
	payload  []byte
	want     fields // every arcade.* value expected; any other must be absent
	info     string // expected Info column; "" checks only its first word
	// expert is a substring of the one expert message expected, with its
	// group and severity; "" means no expert info at all.
	expert            string
	group, severity   uint32
	wantNoArcadeLayer bool
}

func parseBody(t *testing.T, name string, m interface{ Parse([]byte) (int, error) }, body []byte) int {
	t.Helper()
	n, err := m.Parse(body)
	if err != nil {
		t.Fatalf("%s: wire cannot parse the body: %v", name, err)
	}
	return n
}

func expectHeader(f fields, b []byte, h *wire.Header) {
	f.add("arcade.magic", string(b[:3]))
	f.add("arcade.version", b[3])
	f.add("arcade.type", uint8(h.Type))
	f.add("arcade.flags", h.Flags)
	f.add("arcade.flags.sealed", h.Flags&wire.FlagSealed != 0)
	f.add("arcade.flags.epoch", h.Flags&wire.FlagEpoch != 0)
	f.add("arcade.token", h.Token)
	f.add("arcade.seq", h.Seq)
	f.add("arcade.ack", h.Ack)
	f.add("arcade.ack_bits", h.AckBits)
}

// expectPose adds the fields of the pose encoded in raw (11 bytes), which
// the codec decoded as p.
func expectPose(t *testing.T, f fields, raw []byte, p wire.Pose) {
	t.Helper()
	var q wire.Pose
	if _, err := wire.ParsePose(raw, &q); err != nil || q != p {
		t.Fatalf("test bug: pose bytes %x decode to %+v, the message holds %+v", raw, q, p)
	}
	f.add("arcade.pose.pos.x", p.Pos.X)
	f.add("arcade.pose.pos.y", p.Pos.Y)
	f.add("arcade.pose.pos.z", p.Pos.Z)
	var r uint64
	for i := 4; i >= 0; i-- {
		r = r<<8 | uint64(raw[6+i])
	}
	f.add("arcade.pose.rot", r)
	f.add("arcade.pose.rot.omitted", uint8(r&3))
	f.add("arcade.pose.rot.x", p.Rot.X)
	f.add("arcade.pose.rot.y", p.Rot.Y)
	f.add("arcade.pose.rot.z", p.Rot.Z)
	f.add("arcade.pose.rot.w", p.Rot.W)
}

func expectTracking(f fields, v uint8) {
	f.add("arcade.tracking", v)
	f.add("arcade.tracking.head", v&wire.TrackHead != 0)
	f.add("arcade.tracking.left", v&wire.TrackLeft != 0)
	f.add("arcade.tracking.right", v&wire.TrackRight != 0)
}

// expectPlayers adds the fields of the player records ps, encoded in d.
func expectPlayers(t *testing.T, f fields, d []byte, ps []wire.PlayerState) {
	for i, p := range ps {
		r := d[i*wire.SnapshotPlayerSize:][:wire.SnapshotPlayerSize]
		f.add("arcade.player.client_id", p.ClientID)
		f.add("arcade.player.last_input", p.LastInputSeq)
		expectTracking(f, p.Tracking)
		expectPose(t, f, r[7:18], p.Head)
		expectPose(t, f, r[18:29], p.Hands[wire.Left])
		expectPose(t, f, r[29:40], p.Hands[wire.Right])
	}
}

// expectEntities adds the entity records es, encoded from raw on.
func expectEntities(t *testing.T, f fields, raw []byte, es []wire.EntityState) {
	for i, e := range es {
		r := raw[i*wire.SnapshotEntitySize:]
		f.add("arcade.entity.id", e.ID)
		f.add("arcade.entity.flags", e.Flags)
		f.add("arcade.entity.flags.held", e.Flags&wire.EntityHeld != 0)
		f.add("arcade.entity.flags.sleeping", e.Flags&wire.EntitySleeping != 0)
		f.add("arcade.entity.flags.grabbable", e.Flags&wire.EntityGrabbable != 0)
		expectPose(t, f, r[3:3+wire.PoseSize], e.Pose)
	}
}

func expectName(f fields, n uint8, name string) {
	f.add("arcade.name_len", n)
	f.add("arcade.name", name)
}

// expectMessage adds the fields of a Message payload p: its chunks, laid
// out as package reliable's doc describes them, and the RPC each whole
// message holds, as the wire codecs decode it.
func expectMessage(t *testing.T, name string, f fields, p []byte) {
	t.Helper()
	le := binary.LittleEndian
	f.add("arcade.msg.payload_len", uint16(len(p)))
	for len(p) > 0 {
		if len(p) < reliable.ChunkHeaderSize {
			t.Fatalf("%s: %d bytes left for a chunk header", name, len(p))
		}
		kind := p[0]
		frag := kind&reliable.KindFragment != 0
		f.add("arcade.msg.kind", kind)
		f.add("arcade.msg.kind.fragment", frag)
		f.add("arcade.msg.kind.stream", kind&reliable.KindStreamMask)
		f.add("arcade.msg.id", le.Uint16(p[1:]))
		length := int(le.Uint16(p[3:]))
		f.add("arcade.msg.length", uint16(length))
		hdr := reliable.ChunkHeaderSize
		if frag {
			hdr = reliable.FragmentHeaderSize
			if len(p) < hdr {
				t.Fatalf("%s: %d bytes left for a fragment header", name, len(p))
			}
			f.add("arcade.msg.frag.msg_len", le.Uint32(p[5:]))
			f.add("arcade.msg.frag.size", le.Uint16(p[9:]))
			f.add("arcade.msg.frag.index", le.Uint16(p[11:]))
		}
		if len(p) < hdr+length {
			t.Fatalf("%s: chunk data of %d bytes, %d left", name, length, len(p)-hdr)
		}
		data := p[hdr : hdr+length]
		p = p[hdr+length:]
		if frag {
			if length > 0 {
				f.add("arcade.msg.data", data)
			}
			continue
		}
		expectRPC(t, name, f, data)
	}
}

// expectRPC adds the fields of the RPC message msg.
func expectRPC(t *testing.T, name string, f fields, msg []byte) {
	t.Helper()
	typ, body, err := wire.ParseRPC(msg)
	if err != nil {
		t.Fatalf("%s: wire cannot parse the RPC message %x: %v", name, msg, err)
	}
	f.add("arcade.rpc.type", uint16(typ))
	n := len(body)
	sceneName := func(m *wire.SceneName) {
		f.add("arcade.rpc.scene.name_len", m.NameLen)
		f.add("arcade.rpc.scene.name", m.NameString())
	}
	switch typ {
	case wire.RPCGrabRequest:
		var m wire.GrabRequest
		n = parseBody(t, name, &m, body)
		f.add("arcade.rpc.grab.hand", m.Hand)
		f.add("arcade.rpc.grab.entity", m.Entity)
	case wire.RPCReleaseRequest:
		var m wire.ReleaseRequest
		n = parseBody(t, name, &m, body)
		f.add("arcade.rpc.release.hand", m.Hand)
	case wire.RPCButtonEvent:
		var m wire.ButtonEvent
		n = parseBody(t, name, &m, body)
		f.add("arcade.rpc.button.button", m.Button)
		var down uint8
		if m.Down {
			down = 1
		}
		f.add("arcade.rpc.button.down", down)
		f.add("arcade.rpc.button.client_time", m.ClientTime)
	case wire.RPCSceneChangeRequest:
		var m wire.SceneChangeRequest
		n = parseBody(t, name, &m, body)
		sceneName(&m.SceneName)
	case wire.RPCEvent:
		var m wire.Event
		n = parseBody(t, name, &m, body)
		f.add("arcade.rpc.event.kind", m.Kind)
		f.add("arcade.rpc.event.cue", m.Cue)
		f.add("arcade.rpc.event.pos.x", m.Pos.X)
		f.add("arcade.rpc.event.pos.y", m.Pos.Y)
		f.add("arcade.rpc.event.pos.z", m.Pos.Z)
		f.add("arcade.rpc.event.server_time", m.ServerTime)
		f.add("arcade.rpc.event.strength", m.Strength)
	case wire.RPCSceneChange:
		var m wire.SceneChange
		n = parseBody(t, name, &m, body)
		sceneName(&m.SceneName)
	case wire.RPCText:
		var m wire.Text
		n = parseBody(t, name, &m, body)
		f.add("arcade.rpc.text.len", uint32(len(m.Text)))
		if len(m.Text) > 0 {
			f.add("arcade.rpc.text.text", string(textShown(m.Text)))
		}
	default:
		if len(body) > 0 {
			f.add("arcade.rpc.body", body)
		}
	}
	if n < len(body) {
		f.add("arcade.trailing", body[n:])
	}
}

// textShown is the start of a Text the dissector shows: its first
// textShownBytes bytes, cut back to the start of a rune.
func textShown(b []byte) []byte {
	const textShownBytes = 64
	k := min(len(b), textShownBytes)
	for k < len(b) && k > 0 && !utf8.RuneStart(b[k]) {
		k--
	}
	return b[:k]
}

// expect returns every arcade.* field the dissector must show for the
// valid datagram b, as the wire codec decodes it, and the body length.
func expect(t *testing.T, name string, b []byte) (fields, int) {
	t.Helper()
	f := fields{}
	var h wire.Header
	if _, err := h.Parse(b); err != nil {
		t.Fatalf("%s: wire cannot parse the header: %v", name, err)
	}
	expectHeader(f, b, &h)
	body := b[wire.HeaderSize:]
	if h.Flags&wire.FlagSealed != 0 {
		// Sealed: packet number, ciphertext, tag, and the server's
		// signature on the group's datagrams; the body is opaque.
		sig := 0
		if groupState(&h) {
			sig = seal.SignatureSize
		}
		if len(body) < seal.Overhead+sig {
			t.Fatalf("%s: sealed body of %d bytes", name, len(body))
		}
		f.add("arcade.sealed.number", binary.LittleEndian.Uint64(body))
		end := len(body) - sig
		if end > seal.Overhead {
			f.add("arcade.sealed.ciphertext", body[seal.NumberSize:end-seal.TagSize])
		}
		f.add("arcade.sealed.tag", body[end-seal.TagSize:end])
		if sig > 0 {
			f.add("arcade.sealed.signature", body[end:])
		}
		return f, len(body)
	}
	// The epoch trailer (§18) follows the body.
	rest, epoch, err := wire.SplitEpoch(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	body = rest[wire.HeaderSize:]
	if h.Flags&wire.FlagEpoch != 0 {
		f.add("arcade.epoch", epoch)
		f, n := expectBody(t, name, f, &h, body)
		return f, n + wire.EpochSize
	}
	return expectBody(t, name, f, &h, body)
}

// expectBody adds the fields of the body of a datagram in clear.
func expectBody(t *testing.T, name string, f fields, h *wire.Header, body []byte) (fields, int) {
	t.Helper()
	var n int
	switch h.Type {
	case wire.TypeConnectRequest:
		var m wire.ConnectRequest
		n = parseBody(t, name, &m, body)
		f.add("arcade.nonce", m.ClientNonce)
		f.add("arcade.connect.flags", m.Flags)
		f.add("arcade.connect.flags.want_unicast", m.Flags&wire.ConnectWantUnicast != 0)
		f.add("arcade.connect.flags.delta_state", m.Flags&wire.ConnectDeltaState != 0)
		expectName(f, m.NameLen, m.NameString())
		f.add("arcade.connect.padding_len", n-10-int(m.NameLen))
	case wire.TypeChallenge:
		var m wire.Challenge
		n = parseBody(t, name, &m, body)
		f.add("arcade.nonce", m.ClientNonce)
		f.add("arcade.cookie", m.Cookie[:])
	case wire.TypeChallengeResponse:
		var m wire.ChallengeResponse
		n = parseBody(t, name, &m, body)
		f.add("arcade.nonce", m.ClientNonce)
		f.add("arcade.connect.flags", m.Flags)
		f.add("arcade.connect.flags.want_unicast", m.Flags&wire.ConnectWantUnicast != 0)
		f.add("arcade.connect.flags.has_pake", m.Flags&wire.ConnectHasPAKE != 0)
		f.add("arcade.connect.flags.delta_state", m.Flags&wire.ConnectDeltaState != 0)
		expectName(f, m.NameLen, m.NameString())
		f.add("arcade.cookie", m.Cookie[:])
		f.add("arcade.player_id", m.PlayerID[:])
		if m.Flags&wire.ConnectHasPAKE != 0 {
			f.add("arcade.pake", m.PAKE[:])
		}
	case wire.TypeAccepted:
		var m wire.Accepted
		n = parseBody(t, name, &m, body)
		f.add("arcade.nonce", m.ClientNonce)
		f.add("arcade.accepted.client_id", m.ClientID)
		f.add("arcade.accepted.tick_rate", m.TickRate)
		f.add("arcade.accepted.server_time", m.ServerTime)
		addr, port := netip.IPv4Unspecified(), uint16(0)
		if m.Multicast.IsValid() {
			addr, port = m.Multicast.Addr(), m.Multicast.Port()
		}
		f.add("arcade.accepted.mcast_addr", addr)
		f.add("arcade.accepted.mcast_port", port)
		f.add("arcade.accepted.group_token", m.GroupToken)
		f.add("arcade.accepted.flags", m.Flags)
		f.add("arcade.accepted.flags.unicast", m.Flags&wire.AcceptedUnicast != 0)
		f.add("arcade.accepted.flags.resumed", m.Flags&wire.AcceptedResumed != 0)
		f.add("arcade.accepted.flags.sealed", m.Flags&wire.AcceptedSealed != 0)
		f.add("arcade.accepted.flags.delta_state", m.Flags&wire.AcceptedDeltaState != 0)
		if m.Flags&wire.AcceptedSealed != 0 {
			f.add("arcade.pake", m.PAKE[:])
			f.add("arcade.accepted.server_key", m.ServerKey[:])
			f.add("arcade.accepted.group_key", m.GroupKey[:])
			f.add("arcade.accepted.confirm", m.Confirm[:])
		}
	case wire.TypeDenied:
		var m wire.Denied
		n = parseBody(t, name, &m, body)
		f.add("arcade.nonce", m.ClientNonce)
		f.add("arcade.denied.reason", m.Reason)
	case wire.TypePoseInput:
		var m wire.PoseInput
		n = parseBody(t, name, &m, body)
		f.add("arcade.input.seq", m.InputSeq)
		f.add("arcade.input.client_time", m.ClientTime)
		expectPose(t, f, body[12:23], m.Head)
		expectPose(t, f, body[23:34], m.Hands[wire.Left])
		expectPose(t, f, body[34:45], m.Hands[wire.Right])
		f.add("arcade.input.buttons", m.Buttons)
		f.add("arcade.input.trigger.left", m.Trigger[wire.Left])
		f.add("arcade.input.trigger.right", m.Trigger[wire.Right])
		f.add("arcade.input.grip.left", m.Grip[wire.Left])
		f.add("arcade.input.grip.right", m.Grip[wire.Right])
		f.add("arcade.input.stick.left.x", m.Stick[wire.Left][0])
		f.add("arcade.input.stick.left.y", m.Stick[wire.Left][1])
		f.add("arcade.input.stick.right.x", m.Stick[wire.Right][0])
		f.add("arcade.input.stick.right.y", m.Stick[wire.Right][1])
		expectTracking(f, m.Tracking)
		if m.HasStateAck {
			f.add("arcade.input.state_tick", m.StateTick)
			f.add("arcade.input.ticks_held", m.StateHeld)
		}
	case wire.TypeSnapshot:
		var m wire.Snapshot
		n = parseBody(t, name, &m, body)
		f.add("arcade.snapshot.tick", m.Tick)
		f.add("arcade.snapshot.server_time", m.ServerTime)
		f.add("arcade.snapshot.part", m.Part)
		f.add("arcade.snapshot.parts", m.Parts)
		f.add("arcade.snapshot.player_count", m.PlayerCount)
		f.add("arcade.snapshot.flags", m.Flags)
		hasHash := m.Flags&wire.SnapshotHasHash != 0
		f.add("arcade.snapshot.flags.has_hash", hasHash)
		off := 17
		if hasHash {
			f.add("arcade.snapshot.hash", m.StateHash)
			off += wire.SnapshotHashSize
		}
		f.add("arcade.snapshot.player_records", uint8(len(m.Players)))
		off++
		expectPlayers(t, f, body[off:], m.Players)
		off += len(m.Players) * wire.SnapshotPlayerSize
		f.add("arcade.snapshot.entity_records", uint8(len(m.Entities)))
		expectEntities(t, f, body[off+1:], m.Entities)
	case wire.TypePing:
		var m wire.Ping
		n = parseBody(t, name, &m, body)
		f.add("arcade.ping.id", m.PingID)
		f.add("arcade.ping.client_time", m.ClientTime)
	case wire.TypePong:
		var m wire.Pong
		n = parseBody(t, name, &m, body)
		f.add("arcade.pong.id", m.PingID)
		f.add("arcade.pong.client_time", m.ClientTime)
		f.add("arcade.pong.server_recv_time", m.ServerRecvTime)
		f.add("arcade.pong.server_send_time", m.ServerSendTime)
		if m.ServerSendTime >= m.ServerRecvTime {
			f.add("arcade.pong.server_hold", m.ServerSendTime-m.ServerRecvTime)
		}
	case wire.TypeDisconnect:
		var m wire.Disconnect
		n = parseBody(t, name, &m, body)
		f.add("arcade.disconnect.reason", m.Reason)
	case wire.TypeEntityUpdate:
		var m wire.EntityUpdate
		n = parseBody(t, name, &m, body)
		f.add("arcade.update.tick", m.Tick)
		f.add("arcade.update.server_time", m.ServerTime)
		f.add("arcade.update.cause_records", uint8(len(m.Causes)))
		for _, c := range m.Causes {
			f.add("arcade.update.cause.client", c.Client)
			f.add("arcade.update.cause.input", c.Input)
		}
		f.add("arcade.update.entity_records", uint8(len(m.Entities)))
		off := 14 + len(m.Causes)*wire.UpdateCauseSize
		expectEntities(t, f, body[off:], m.Entities)
		off += len(m.Entities) * wire.SnapshotEntitySize
		f.add("arcade.update.player_records", uint8(len(m.Players)))
		expectPlayers(t, f, body[off+1:], m.Players)
	case wire.TypeDeliveryProbe:
		var m wire.DeliveryProbe
		n = parseBody(t, name, &m, body)
		f.add("arcade.probe.tick", m.Tick)
		f.add("arcade.probe.server_time", m.ServerTime)
		f.add("arcade.probe.group_seq", m.GroupSeq)
	case wire.TypeDeliveryReport:
		var m wire.DeliveryReport
		n = parseBody(t, name, &m, body)
		f.add("arcade.report.window", m.WindowMs)
		f.add("arcade.report.received", m.McastReceived)
		f.add("arcade.report.lost", m.McastLost)
		f.add("arcade.report.samples", m.Samples)
		f.add("arcade.report.excess_p50", m.ExcessP50)
		f.add("arcade.report.excess_p90", m.ExcessP90)
		f.add("arcade.report.flags", m.Flags)
		f.add("arcade.report.flags.not_joined", m.Flags&wire.DeliveryNotJoined != 0)
		f.add("arcade.report.flags.starved", m.Flags&wire.DeliveryStarved != 0)
		f.add("arcade.report.unicast_loss", m.UnicastLoss)
	case wire.TypeStateDelta:
		var m wire.StateDelta
		n = parseBody(t, name, &m, body)
		f.add("arcade.state_delta.tick", m.Tick)
		f.add("arcade.state_delta.server_time", m.ServerTime)
		f.add("arcade.state_delta.baseline", m.Base)
		f.add("arcade.state_delta.part", m.Part)
		f.add("arcade.state_delta.parts", m.Parts)
		f.add("arcade.state_delta.player_count", m.PlayerCount)
		f.add("arcade.state_delta.entity_count", m.EntityCount)
		f.add("arcade.state_delta.flags", m.Flags)
		f.add("arcade.state_delta.flags.has_hash", m.Flags&wire.DeltaHasHash != 0)
		f.add("arcade.state_delta.flags.keyframe", m.Flags&wire.DeltaKeyframe != 0)
		f.add("arcade.state_delta.flags.coded", m.Flags&wire.DeltaCoded != 0)
		f.add("arcade.state_delta.flags.avatar_grid", m.Flags&wire.DeltaAvatarGrid != 0)
		f.add("arcade.state_delta.flags.prior", m.Flags&wire.DeltaPrior != 0)
		f.add("arcade.state_delta.flags.prior_entities", m.Flags&wire.DeltaPriorEntities != 0)
		f.add("arcade.state_delta.flags.parity", m.Flags&wire.DeltaParity != 0)
		if m.Flags&wire.DeltaHasHash != 0 {
			f.add("arcade.state_delta.hash", m.StateHash)
		}
		if m.Flags&wire.DeltaPrior != 0 {
			f.add("arcade.state_delta.prior", m.Prior)
		}
		f.add("arcade.state_delta.player_from", m.PlayerFrom)
		f.add("arcade.state_delta.player_to", m.PlayerTo)
		f.add("arcade.state_delta.entity_from", m.EntityFrom)
		f.add("arcade.state_delta.entity_to", m.EntityTo)
		f.add("arcade.state_delta.player_records", m.PlayerRecords)
		f.add("arcade.state_delta.entity_records", m.EntityRecords)
		f.add("arcade.state_delta.payload_bits", m.Bits)
		if m.Bits > 0 {
			f.add("arcade.state_delta.payload", m.Payload[:(int(m.Bits)+7)/8])
		}
	case wire.TypeMessage:
		p, m, err := wire.ParseMessagePayload(body)
		if err != nil {
			t.Fatalf("%s: wire cannot parse the body: %v", name, err)
		}
		n = m
		expectMessage(t, name, f, p)
	default:
		t.Fatalf("%s: no expectation for type %d", name, h.Type)
	}
	return f, n
}

// goldenGroupToken is the group token of the golden vectors
// (accepted_multicast): state under it goes to the multicast group.
const goldenGroupToken uint64 = 0xc0ffee0ddba11ad5

// groupState tells whether a golden datagram is state for the multicast
// group (sent to it; signed when sealed).
func groupState(h *wire.Header) bool {
	return (h.Type == wire.TypeSnapshot || h.Type == wire.TypeEntityUpdate || h.Type == wire.TypeStateDelta) && h.Token == goldenGroupToken
}

// wantInfo is the Info column of some golden datagrams.
var wantInfo = map[string]string{
	"accepted_multicast":         "Accepted client=3 tick_rate=90 group=239.255.77.77:7778",
	"accepted_unicast":           "Accepted client=65535 tick_rate=120 group=none unicast",
	"accepted_resumed":           "Accepted client=3 tick_rate=90 group=239.255.77.77:7778 resumed",
	"connect_request_empty_name": `ConnectRequest nonce=0x0123456789abcdef name=""`,
	"challenge_response":         `ChallengeResponse nonce=0x0123456789abcdef name="Ada" player=6f1c3a9e4b274d0a8e55c21970b3fd42`,
	"challenge_response_pake":    `ChallengeResponse nonce=0x0123456789abcdef name="Ada" player=6f1c3a9e4b274d0a8e55c21970b3fd42 pake`,
	"accepted_sealed":            "Accepted client=4 tick_rate=90 group=239.255.77.77:7778 sealed",
	"sealed_ping":                "Ping sealed #1",
	"sealed_snapshot_group":      "Snapshot sealed #0 signed",
	"challenge_response_name32":  `ChallengeResponse nonce=0x0123456789abcdef name="Zoë Łukasiewicz, Team Blue #07" player=anonymous unicast`,
	"denied_unknown_reason":      "Denied nonce=0x0000000000000001 reason=200",
	"denied_server_full":         "Denied nonce=0x0123456789abcdef reason=ServerFull",
	"pose_input":                 "PoseInput input=4242 tracking=head,left,right",
	"pose_input_state_ack":       "PoseInput input=4243 tracking=head state_tick=1003",
	"state_delta_keyframe":       "StateDelta tick=1000 keyframe players=2 entities=4 records=2/4",
	"state_delta_changes":        "StateDelta tick=1003 base=1000 players=2 entities=5 records=3/4 hash",
	"state_delta_unchanged":      "StateDelta tick=1004 base=1003 players=2 entities=5 records=0/0",
	"state_delta_coded_keyframe": "StateDelta tick=1000 keyframe players=2 entities=4 records=2/4 coded",
	"state_delta_coded_changes":  "StateDelta tick=1003 base=1000 prior=996 players=2 entities=5 records=3/4 coded hash",
	"state_delta_coded_parity":   "StateDelta tick=1003 base=1000 prior=996 parity=0 parts=1 players=2 entities=5 coded hash",
	"state_delta_coded_repair1":  "StateDelta tick=1003 base=1000 prior=996 parity=1 parts=1 players=2 entities=5 coded hash",
	"snapshot_hash":              "Snapshot tick=90000 players=2 entities=3 hash",
	"snapshot_multipart_0":       "Snapshot tick=4294967294 part=0/2 players=28/30 entities=0 hash",
	"ping":                       "Ping id=17",
	"pong":                       "Pong id=17",
	"disconnect_timeout":         "Disconnect reason=Timeout",
	"entity_update":              "EntityUpdate tick=90000 causes=2 entities=3",
	"entity_update_avatars":      "EntityUpdate tick=90001 causes=1 entities=1 players=2",
	"delivery_probe":             "DeliveryProbe tick=90000 group_seq=1001",
	"delivery_report":            "DeliveryReport window=250ms received=22 lost=1 samples=6 p50=-180us p90=4250us unicast_loss=4.17%",
	"delivery_report_not_joined": "DeliveryReport window=250ms received=0 lost=0 samples=0 p50=0us p90=0us unicast_loss=unknown not_joined",
	"message_ack":                "Message ack",
	"message_fragment":           "Message 2/65535 fragment 2 of 3",
	"message_rpc":                "Message 0/0 GrabRequest, 0/1 ButtonEvent, 1/0 SceneChange, 0/2 Event",
	"delivery_report_extremes":   "DeliveryReport window=65535ms received=65535 lost=65535 samples=65535 p50=-2147483648us p90=2147483647us unicast_loss=100.00% not_joined starved",
}

// fromComments are values written in the golden files' comments and in the
// worked example of docs/PROTOCOL.md §3.5 (pose_input's head pose is that
// example), checked against tshark independently of the wire package.
// Several values of one field are in tree order; a prefix is enough.
var fromComments = []struct{ vector, field, values string }{
	{"pose_input", "arcade.pose.pos.x", "0.099609375"},
	{"pose_input", "arcade.pose.pos.y", "1.7001953125"},
	{"pose_input", "arcade.pose.rot.x", "-0.00017267565"},
	{"pose_input", "arcade.pose.rot.y", "0.38282192"},
	{"pose_input", "arcade.pose.rot.w", "0.9238221"},
	{"pose_input", "arcade.pose.rot.omitted", "3|3|0"},
	{"pose_input", "arcade.input.trigger.right", "0.5019607843137255"},
	{"pose_input", "arcade.input.stick.left.x", "-1"},
	{"pose_input", "arcade.input.stick.right.y", "0.5039370078740157"},
	{"pose_input_extremes", "arcade.pose.pos.x", "-32|31.9990234375|-32"},
	{"pose_input_extremes", "arcade.tracking", "0x01"},
	{"snapshot_hash", "arcade.snapshot.hash", "0xdeadbeefcafef00d"},
	{"snapshot_hash", "arcade.player.last_input", "1000|1003"},
	{"snapshot_hash", "arcade.pose.pos.x", "-3|-3.2001953125|-2.7998046875"},
	{"accepted_multicast", "arcade.accepted.mcast_addr", "239.255.77.77"},
	{"accepted_multicast", "arcade.accepted.mcast_port", "7778"},
	{"accepted_multicast", "arcade.accepted.group_token", "0xc0ffee0ddba11ad5"},
	{"entity_update", "arcade.update.cause.client", "5|3"},
	{"entity_update", "arcade.update.cause.input", "77|4243"},
	{"entity_update", "arcade.entity.flags", "0x05|0x01|0x86"},
	{"entity_update", "arcade.entity.flags.held", "1|1|0"},
	{"entity_update", "arcade.entity.flags.sleeping", "0|0|1"},
	{"entity_update", "arcade.entity.flags.grabbable", "1|0|1"},
	{"entity_update_max_causes", "arcade.update.cause_records", "193"},
	{"entity_update_avatars", "arcade.player.client_id", "3|5"},
	{"entity_update_max_players", "arcade.update.player_records", "29"},
	{"delivery_report", "arcade.report.excess_p50", "-180"},
	{"delivery_report", "arcade.report.excess_p90", "4250"},
	{"delivery_report_extremes", "arcade.report.excess_p50", "-2147483648"},
	{"delivery_report_extremes", "arcade.report.excess_p90", "2147483647"},
	{"delivery_report", "arcade.report.unicast_loss", "417"},
	{"delivery_report_not_joined", "arcade.report.unicast_loss", "65535"},
	{"delivery_report_extremes", "arcade.report.unicast_loss", "10000"},
	{"denied_version_mismatch", "arcade.denied.reason", "2"},
	{"disconnect_client_left", "arcade.disconnect.reason", "1"},
	{"challenge_response", "arcade.name", "Ada"},
	{"challenge_response", "arcade.player_id", "6f1c3a9e4b274d0a8e55c21970b3fd42"},
	{"challenge_response_name32", "arcade.player_id", "00000000000000000000000000000000"},
	{"accepted_resumed", "arcade.accepted.flags", "0x02"},
	{"accepted_resumed", "arcade.accepted.flags.resumed", "1"},
	{"accepted_resumed", "arcade.accepted.flags.unicast", "0"},
	{"accepted_unicast", "arcade.accepted.flags.resumed", "0"},
	{"pong", "arcade.pong.server_hold", "42"},
	{"message_ack", "arcade.msg.payload_len", "0"},
	{"message_fragment", "arcade.msg.payload_len", "687"},
	{"message_fragment", "arcade.msg.kind", "0x82"},
	{"message_fragment", "arcade.msg.kind.fragment", "1"},
	{"message_fragment", "arcade.msg.kind.stream", "2"},
	{"message_fragment", "arcade.msg.id", "65535"},
	{"message_fragment", "arcade.msg.length", "674"},
	{"message_fragment", "arcade.msg.frag.msg_len", "3000"},
	{"message_fragment", "arcade.msg.frag.size", "1163"},
	{"message_fragment", "arcade.msg.frag.index", "2"},
	{"message_rpc", "arcade.msg.payload_len", "71"},
	{"message_rpc", "arcade.msg.kind.stream", "0|0|1|0"},
	{"message_rpc", "arcade.msg.id", "0|1|0|2"},
	{"message_rpc", "arcade.msg.length", "5|12|8|26"},
	{"message_rpc", "arcade.rpc.type", "1|3|6|5"},
	{"message_rpc", "arcade.rpc.grab.hand", "1"},
	{"message_rpc", "arcade.rpc.grab.entity", "0"},
	{"message_rpc", "arcade.rpc.button.button", "3"},
	{"message_rpc", "arcade.rpc.button.down", "1"},
	{"message_rpc", "arcade.rpc.button.client_time", "5000123"},
	{"message_rpc", "arcade.rpc.scene.name", "lobby"},
	{"message_rpc", "arcade.rpc.event.kind", "1"},
	{"message_rpc", "arcade.rpc.event.cue", "12"},
	{"message_rpc", "arcade.rpc.event.pos.x", "1.5"},
	{"message_rpc", "arcade.rpc.event.pos.y", "1"},
	{"message_rpc", "arcade.rpc.event.pos.z", "-2"},
	{"message_rpc", "arcade.rpc.event.server_time", "1000250000"},
	{"message_rpc", "arcade.rpc.event.strength", "200"},
	{"pose_input_state_ack", "arcade.input.state_tick", "1003"},
	{"pose_input_state_ack", "arcade.input.ticks_held", "0x0000000000000039"},
	{"state_delta_keyframe", "arcade.state_delta.tick", "1000"},
	{"state_delta_keyframe", "arcade.state_delta.baseline", "0"},
	{"state_delta_keyframe", "arcade.state_delta.flags.keyframe", "1"},
	{"state_delta_keyframe", "arcade.state_delta.payload_bits", "1002"},
	{"state_delta_changes", "arcade.state_delta.baseline", "1000"},
	{"state_delta_changes", "arcade.state_delta.server_time", "8366000"},
	{"state_delta_changes", "arcade.state_delta.hash", "0x0123456789abcdef"},
	{"state_delta_changes", "arcade.state_delta.player_to", "65535"},
	{"state_delta_changes", "arcade.state_delta.player_records", "3"},
	{"state_delta_changes", "arcade.state_delta.entity_records", "4"},
	{"state_delta_changes", "arcade.state_delta.entity_count", "5"},
	{"state_delta_changes", "arcade.state_delta.payload_bits", "596"},
	{"state_delta_unchanged", "arcade.state_delta.payload_bits", "0"},
}

// goldenFrames returns a frame per golden vector: client messages to the
// server's port, server messages back, and multicast snapshots and updates
// (those carrying the group token) to the group of accepted_multicast.
func goldenFrames(t *testing.T) []frame {
	paths, err := filepath.Glob(filepath.Join(goldenDir, "*.hex"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden vectors in %s: %v", goldenDir, err)
	}
	var acc wire.Accepted
	if _, err := acc.Parse(readHex(t, filepath.Join(goldenDir, "accepted_multicast.hex"))[wire.HeaderSize:]); err != nil {
		t.Fatal(err)
	}
	group := acc.Multicast
	if acc.GroupToken != goldenGroupToken {
		t.Fatalf("accepted_multicast: group token %#x, want %#x", acc.GroupToken, goldenGroupToken)
	}
	var frames []frame
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".hex")
		b := readHex(t, p)
		want, n := expect(t, name, b)
		if n != len(b)-wire.HeaderSize {
			t.Fatalf("%s: golden body has %d trailing bytes", name, len(b)-wire.HeaderSize-n)
		}
		fr := frame{name: name, src: server, dst: client, payload: b, want: want, info: wantInfo[name]}
		typ := wire.PacketType(b[4])
		var h wire.Header
		h.Parse(b)
		switch {
		case groupState(&h):
			fr.src, fr.dst = netip.AddrPortFrom(server.Addr(), 50000), group
		case typ == wire.TypeConnectRequest || typ == wire.TypeChallengeResponse || typ == wire.TypePoseInput ||
			typ == wire.TypePing || typ == wire.TypeDeliveryReport ||
			typ == wire.TypeDisconnect && b[wire.HeaderSize] == byte(wire.DisconnectClientLeft):
			fr.src, fr.dst = client, server
		}
		frames = append(frames, fr)
	}
	return frames
}

// badFrames returns datagrams the dissector must flag, and two more that
// test the registrations: one on other ports (heuristic) and one on the
// server port that is not Arcade.
func badFrames(t *testing.T) []frame {
	golden := func(name string) []byte { return readHex(t, filepath.Join(goldenDir, name+".hex")) }
	var frames []frame

	// A snapshot cut inside its first player record: every field before it
	// is shown, then one malformed expert item.
	snap := golden("snapshot_hash")
	want, _ := expect(t, "snapshot_hash", snap)
	header := fields{}
	expectHeader(header, snap, &wire.Header{})
	for k := range want { // keep the header and the snapshot's own fields
		if _, ok := header[k]; !ok && (!strings.HasPrefix(k, "arcade.snapshot.") || k == "arcade.snapshot.entity_records") {
			delete(want, k)
		}
	}
	cut := snap[:wire.HeaderSize+17+8+1+20]
	var s wire.Snapshot
	if _, err := s.Parse(cut[wire.HeaderSize:]); !errors.Is(err, wire.ErrShort) {
		t.Fatalf("test bug: the cut snapshot parses with %v", err)
	}
	frames = append(frames, frame{name: "truncated_snapshot", src: server, dst: client, payload: cut, want: want,
		info:   "Snapshot tick=90000 players=2 hash [truncated]",
		expert: "Truncated Snapshot: player 0 needs 40 bytes", group: groupMalformed, severity: severityError})

	// A header cut after the flags byte.
	short := golden("ping")[:10]
	var h wire.Header
	if _, err := h.Parse(short); !errors.Is(err, wire.ErrShort) {
		t.Fatalf("test bug: the short header parses with %v", err)
	}
	want = fields{}
	want.add("arcade.magic", "ARC")
	want.add("arcade.version", short[3])
	want.add("arcade.type", short[4])
	want.add("arcade.flags", short[5])
	want.add("arcade.flags.sealed", short[5]&wire.FlagSealed != 0)
	want.add("arcade.flags.epoch", short[5]&wire.FlagEpoch != 0)
	frames = append(frames, frame{name: "truncated_header", src: client, dst: server, payload: short, want: want,
		info:   "Ping [truncated header]",
		expert: "Truncated header: token needs 8 bytes", group: groupMalformed, severity: severityError})

	// An undefined packet type: the header is shown, the body as bytes.
	unknown := bytes.Clone(golden("ping"))
	unknown[4] = byte(wire.MaxType) + 1
	if _, err := h.Parse(unknown); !errors.Is(err, wire.ErrType) {
		t.Fatalf("test bug: the unknown type parses with %v", err)
	}
	want = fields{}
	expectHeader(want, unknown, &h)
	want.add("arcade.trailing", unknown[wire.HeaderSize:])
	frames = append(frames, frame{name: "unknown_type", src: client, dst: server, payload: unknown, want: want,
		info:   fmt.Sprintf("Unknown type %d [malformed]", wire.MaxType+1),
		expert: fmt.Sprintf("Packet type %d is not defined in version 1", wire.MaxType+1), group: groupMalformed, severity: severityError})

	// Another protocol version: the stable prefix and header are shown.
	v2 := bytes.Clone(golden("denied_version_mismatch"))
	v2[3] = 2
	if _, err := h.Parse(v2); !errors.Is(err, wire.ErrVersion) {
		t.Fatalf("test bug: version 2 parses with %v", err)
	}
	want = fields{}
	expectHeader(want, v2, &h)
	frames = append(frames, frame{name: "version_2", src: server, dst: client, payload: v2, want: want,
		info:   "Denied (version 2)",
		expert: "Version 2: receivers of version 1 ignore it", group: groupProtocol, severity: severityWarn})

	// Disconnect reason 0: decoded, and flagged as rejected by receivers.
	disc := bytes.Clone(golden("disconnect_client_left"))
	disc[wire.HeaderSize] = 0
	var d wire.Disconnect
	if _, err := d.Parse(disc[wire.HeaderSize:]); !errors.Is(err, wire.ErrField) {
		t.Fatalf("test bug: reason 0 parses with %v", err)
	}
	if _, err := h.Parse(disc); err != nil {
		t.Fatal(err)
	}
	want = fields{}
	expectHeader(want, disc, &h)
	want.add("arcade.disconnect.reason", uint8(0))
	frames = append(frames, frame{name: "disconnect_reason_0", src: client, dst: server, payload: disc, want: want,
		info:   "Disconnect reason=0",
		expert: "Reason 0 is invalid", group: groupProtocol, severity: severityWarn})

	// A delivery report with unicast loss 10001: decoded, and flagged as
	// rejected by receivers.
	rep := unicastLoss10001(t, golden("delivery_report"))
	want, _ = expect(t, "delivery_report", golden("delivery_report"))
	want["arcade.report.unicast_loss"] = []string{"10001"}
	frames = append(frames, frame{name: "report_unicast_loss_10001", src: client, dst: server, payload: rep, want: want,
		info:   "DeliveryReport window=250ms received=22 lost=1 samples=6 p50=-180us p90=4250us unicast_loss=invalid(10001)",
		expert: "Unicast loss 10001 is above 10000", group: groupProtocol, severity: severityWarn})

	// StateDelta parts receivers drop: a keyframe naming a baseline, and
	// parts 0; decoded, and flagged. One cut inside its bit payload.
	kf := golden("state_delta_keyframe")
	kfBase := bytes.Clone(kf)
	kfBase[wire.HeaderSize+12] = 5 // baseline tick 5
	var sd wire.StateDelta
	if _, err := sd.Parse(kfBase[wire.HeaderSize:]); !errors.Is(err, wire.ErrField) {
		t.Fatalf("test bug: a keyframe with a baseline parses with %v", err)
	}
	want, _ = expect(t, "state_delta_keyframe", kf)
	want["arcade.state_delta.baseline"] = []string{"5"}
	frames = append(frames, frame{name: "state_delta_keyframe_baseline", src: server, dst: client, payload: kfBase, want: want,
		info:   "StateDelta tick=1000 keyframe players=2 entities=4 records=2/4",
		expert: "Keyframe with baseline tick 5 (not 0)", group: groupProtocol, severity: severityWarn})
	changes := golden("state_delta_changes")
	parts0 := bytes.Clone(changes)
	parts0[wire.HeaderSize+17] = 0
	if _, err := sd.Parse(parts0[wire.HeaderSize:]); !errors.Is(err, wire.ErrField) {
		t.Fatalf("test bug: parts 0 parses with %v", err)
	}
	want, _ = expect(t, "state_delta_changes", changes)
	want["arcade.state_delta.parts"] = []string{"0"}
	frames = append(frames, frame{name: "state_delta_parts_0", src: server, dst: client, payload: parts0, want: want,
		info:   "StateDelta tick=1003 base=1000 players=2 entities=5 records=3/4 hash",
		expert: "Part 0 of 0: receivers drop this part", group: groupProtocol, severity: severityWarn})
	// A coded part whose prior is not older than its baseline, and a
	// repair part of an index past the tick's (index + parts > 255).
	coded := golden("state_delta_coded_changes")
	priorOff := wire.HeaderSize + 23 + wire.SnapshotHashSize
	if binary.LittleEndian.Uint32(coded[priorOff:]) != 996 {
		t.Fatal("test bug: state_delta_coded_changes prior tick")
	}
	priorNew := bytes.Clone(coded)
	binary.LittleEndian.PutUint32(priorNew[priorOff:], 1000)
	if _, err := sd.Parse(priorNew[wire.HeaderSize:]); !errors.Is(err, wire.ErrField) {
		t.Fatalf("test bug: a prior equal to the baseline parses with %v", err)
	}
	want, _ = expect(t, "state_delta_coded_changes", coded)
	want["arcade.state_delta.prior"] = []string{"1000"}
	frames = append(frames, frame{name: "state_delta_coded_prior_not_older", src: server, dst: client, payload: priorNew, want: want,
		info:   "StateDelta tick=1003 base=1000 prior=1000 players=2 entities=5 records=3/4 coded hash",
		expert: "Prior tick 1000 not older than the baseline 1000", group: groupProtocol, severity: severityWarn})
	parity := golden("state_delta_coded_parity")
	parityFar := bytes.Clone(parity)
	parityFar[wire.HeaderSize+17] = 4   // a tick of 4 data parts has repair parts 0 … 251
	parityFar[wire.HeaderSize+16] = 252 // repair part 252
	if _, err := sd.Parse(parityFar[wire.HeaderSize:]); !errors.Is(err, wire.ErrField) {
		t.Fatalf("test bug: a repair part past the tick's indices parses with %v", err)
	}
	want, _ = expect(t, "state_delta_coded_parity", parity)
	want["arcade.state_delta.part"] = []string{"252"}
	want["arcade.state_delta.parts"] = []string{"4"}
	frames = append(frames, frame{name: "state_delta_parity_no_group", src: server, dst: client, payload: parityFar, want: want,
		info:   "StateDelta tick=1003 base=1000 prior=996 parity=252 parts=4 players=2 entities=5 coded hash",
		expert: "Repair part 252 of a tick of 4 data parts (at most 251): receivers drop this part", group: groupProtocol, severity: severityWarn})
	cutDelta := changes[:len(changes)-1]
	if _, err := sd.Parse(cutDelta[wire.HeaderSize:]); !errors.Is(err, wire.ErrShort) {
		t.Fatalf("test bug: the cut StateDelta parses with %v", err)
	}
	want, _ = expect(t, "state_delta_changes", changes)
	delete(want, "arcade.state_delta.payload")
	frames = append(frames, frame{name: "truncated_state_delta", src: server, dst: client, payload: cutDelta, want: want,
		info:   "StateDelta tick=1003 base=1000 players=2 entities=5 records=3/4 hash [truncated]",
		expert: "Truncated StateDelta: bit payload needs 75 bytes", group: groupMalformed, severity: severityError})

	// A name that is not UTF-8: shown with U+FFFD, flagged as rejected.
	resp := bytes.Clone(golden("challenge_response"))
	nameOff := wire.HeaderSize + 10 // "Ada"
	if string(resp[nameOff:nameOff+3]) != "Ada" {
		t.Fatal("test bug: challenge_response name")
	}
	want, _ = expect(t, "challenge_response", resp)
	resp[nameOff+1] = 0xff
	var cr wire.ChallengeResponse
	if _, err := cr.Parse(resp[wire.HeaderSize:]); !errors.Is(err, wire.ErrField) {
		t.Fatalf("test bug: a bad name parses with %v", err)
	}
	want["arcade.name"] = []string{"A\ufffda"}
	frames = append(frames, frame{name: "name_not_utf8", src: client, dst: server, payload: resp, want: want,
		info:   "ChallengeResponse nonce=0x0123456789abcdef name=\"A\ufffda\" player=6f1c3a9e4b274d0a8e55c21970b3fd42",
		expert: "Name is not valid UTF-8", group: groupProtocol, severity: severityWarn})

	// Bytes after a body are legal (a newer sender's fields): shown, noted.
	ping := golden("ping")
	long := append(bytes.Clone(ping), 1, 2, 3)
	want, n := expect(t, "ping+3", long)
	if n != wire.PingSize {
		t.Fatal("test bug: ping size")
	}
	want.add("arcade.trailing", []byte{1, 2, 3})
	frames = append(frames, frame{name: "trailing_bytes", src: client, dst: server, payload: long, want: want,
		info:   "Ping id=17",
		expert: "3 bytes after the Ping body", group: groupProtocol, severity: severityNote})

	frames = append(frames, messageFrames(t)...)

	// Ports nobody registered: the heuristic dissector claims it.
	pong := golden("pong")
	want, _ = expect(t, "pong", pong)
	frames = append(frames, frame{name: "heuristic_pong", payload: pong, want: want, info: "Pong id=17",
		src: netip.MustParseAddrPort("10.77.0.1:40001"), dst: netip.MustParseAddrPort("10.77.0.10:40002")})

	// Not Arcade, on the server port: left to other dissectors.
	frames = append(frames, frame{name: "not_arcade", src: client, dst: server,
		payload: []byte("ARX not arcade at all"), want: fields{}, wantNoArcadeLayer: true})
	return frames
}

// rpcMessage returns the reliable message carrying the RPC m: its type id,
// then its body.
func rpcMessage(m interface {
	RPCType() wire.RPCType
	Append([]byte) []byte
}) []byte {
	return m.Append(wire.AppendRPCType(nil, m.RPCType()))
}

// appendChunk appends a whole-message chunk, laid out as package
// reliable's doc describes it.
func appendChunk(b []byte, stream uint8, id uint16, msg []byte) []byte {
	b = append(b, stream)
	b = binary.LittleEndian.AppendUint16(b, id)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(msg)))
	return append(b, msg...)
}

// messageDatagram returns a client's Message datagram carrying payload.
func messageDatagram(payload []byte) []byte {
	h := wire.Header{Type: wire.TypeMessage, Token: 0x8877665544332211, Seq: 12, Ack: 41, AckBits: 0b101}
	m := wire.Message{Payload: payload}
	return m.Append(h.Append(nil))
}

// reliableAccepts reports the error of a session's reliable endpoint (the
// reference receiver) taking the Message datagram b.
func reliableAccepts(t *testing.T, b []byte) error {
	t.Helper()
	ep, err := reliable.New(reliable.Config{Streams: wire.RPCStreams, MaxMessage: wire.MaxRPCMessage, MTU: wire.MaxMessagePayload})
	if err != nil {
		t.Fatal(err)
	}
	var h wire.Header
	n, err := h.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := wire.ParseMessagePayload(b[n:])
	if err != nil {
		t.Fatal(err)
	}
	return ep.OnDatagram(0, h.Seq, h.Ack, h.AckBits, p)
}

// messageFrames returns Message datagrams built with the codecs: the RPC
// types and chunk kinds no golden vector holds, and broken ones the
// dissector must flag.
func messageFrames(t *testing.T) []frame {
	var frames []frame
	msg := func(name string, payload []byte, wantErr error) []byte {
		b := messageDatagram(payload)
		if err := reliableAccepts(t, b); !errors.Is(err, wantErr) {
			t.Fatalf("test bug: %s: the reliable layer takes it with %v, want %v", name, err, wantErr)
		}
		return b
	}

	// The client's requests, a Text cut inside a rune where the dissector
	// stops showing it, and an RPC type unknown to version 1 on the
	// unreliable stream.
	var scene wire.SceneChangeRequest
	scene.SetName("arena")
	text := wire.Text{Text: []byte("x" + strings.Repeat("é", 50))}
	if utf8.RuneStart(text.Text[64]) || len(textShown(text.Text)) != 63 {
		t.Fatal("test bug: the text must be cut inside a rune")
	}
	var p []byte
	p = appendChunk(p, wire.StreamControl, 3, rpcMessage(&wire.ReleaseRequest{Hand: wire.Left}))
	p = appendChunk(p, wire.StreamControl, 4, rpcMessage(&scene))
	p = appendChunk(p, wire.StreamText, 0, rpcMessage(&text))
	p = appendChunk(p, reliable.UnreliableStream, 300, append(wire.AppendRPCType(nil, 999), 1, 2, 3))
	b := msg("message_requests", p, nil)
	want, _ := expect(t, "message_requests", b)
	frames = append(frames, frame{name: "message_requests", src: client, dst: server, payload: b, want: want,
		info: "Message 0/3 ReleaseRequest, 0/4 SceneChangeRequest, 2/0 Text, 127/300 RPC 999"})

	// Bytes after an RPC body are legal: shown, noted.
	grab := rpcMessage(&wire.GrabRequest{Hand: wire.Right, Entity: 7})
	b = msg("message_rpc_trailing", appendChunk(nil, wire.StreamControl, 0, append(bytes.Clone(grab), 9, 9)), nil)
	want, _ = expect(t, "message_rpc_trailing", b)
	frames = append(frames, frame{name: "message_rpc_trailing", src: client, dst: server, payload: b, want: want,
		info:   "Message 0/0 GrabRequest",
		expert: "2 bytes after the GrabRequest body", group: groupProtocol, severity: severityNote})

	// A hand the server rejects: decoded, flagged.
	bad := bytes.Clone(grab)
	bad[wire.RPCTypeSize] = 2
	var g wire.GrabRequest
	if _, err := g.Parse(bad[wire.RPCTypeSize:]); !errors.Is(err, wire.ErrField) {
		t.Fatalf("test bug: hand 2 parses with %v", err)
	}
	b = msg("message_bad_hand", appendChunk(nil, wire.StreamControl, 0, bad), nil)
	want = fields{}
	var h wire.Header
	if _, err := h.Parse(b); err != nil {
		t.Fatal(err)
	}
	expectHeader(want, b, &h)
	want.add("arcade.msg.payload_len", uint16(reliable.ChunkHeaderSize+len(bad)))
	want.add("arcade.msg.kind", uint8(0))
	want.add("arcade.msg.kind.fragment", false)
	want.add("arcade.msg.kind.stream", uint8(0))
	want.add("arcade.msg.id", uint16(0))
	want.add("arcade.msg.length", uint16(len(bad)))
	want.add("arcade.rpc.type", uint16(wire.RPCGrabRequest))
	want.add("arcade.rpc.grab.hand", uint8(2))
	want.add("arcade.rpc.grab.entity", uint16(7))
	frames = append(frames, frame{name: "message_bad_hand", src: client, dst: server, payload: b, want: want,
		info:   "Message 0/0 GrabRequest",
		expert: "Hand 2 is neither Left (0) nor Right (1)", group: groupProtocol, severity: severityWarn})

	// A chunk whose data runs past the payload: the reliable layer ignores
	// the whole payload; the dissector shows the header and flags it.
	over := appendChunk(nil, wire.StreamControl, 0, grab)[:reliable.ChunkHeaderSize+3]
	b = msg("message_chunk_overrun", over, reliable.ErrMalformed)
	want = fields{}
	expectHeader(want, b, &h)
	want.add("arcade.msg.payload_len", uint16(len(over)))
	want.add("arcade.msg.kind", uint8(0))
	want.add("arcade.msg.kind.fragment", false)
	want.add("arcade.msg.kind.stream", uint8(0))
	want.add("arcade.msg.id", uint16(0))
	want.add("arcade.msg.length", uint16(len(grab)))
	frames = append(frames, frame{name: "message_chunk_overrun", src: client, dst: server, payload: b, want: want,
		info:   "Message [malformed]",
		expert: fmt.Sprintf("Truncated Message payload: chunk 0 data needs %d bytes", len(grab)), group: groupMalformed, severity: severityError})

	// A fragment index past the message's last fragment: decoded, flagged.
	frag := readHex(t, filepath.Join(goldenDir, "message_fragment.hex"))
	want, _ = expect(t, "message_fragment", frag)
	frag = bytes.Clone(frag)
	binary.LittleEndian.PutUint16(frag[wire.HeaderSize+wire.MessageHeaderSize+11:], 3)
	if err := reliableAccepts(t, frag); !errors.Is(err, reliable.ErrMalformed) {
		t.Fatalf("test bug: fragment index 3 of 3 is taken with %v", err)
	}
	want["arcade.msg.frag.index"] = []string{"3"}
	frames = append(frames, frame{name: "message_fragment_index", src: server, dst: client, payload: frag, want: want,
		info:   "Message 2/65535 fragment 3 of 3",
		expert: "Fragment index 3 of 3 fragments: receivers ignore the whole payload", group: groupProtocol, severity: severityWarn})
	return frames
}

// unicastLoss10001 returns a copy of the delivery report datagram b with
// its unicast loss set to 10001, which receivers reject.
func unicastLoss10001(t *testing.T, b []byte) []byte {
	t.Helper()
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint16(b[wire.HeaderSize+17:], 10001)
	var m wire.DeliveryReport
	if _, err := m.Parse(b[wire.HeaderSize:]); !errors.Is(err, wire.ErrField) {
		t.Fatalf("test bug: unicast loss 10001 parses with %v", err)
	}
	return b
}

// tshark runs tshark with arcade.lua, isolated from the user's settings.
type tshark struct {
	path, lua string
	env       []string
	ctx       context.Context
	// ftypes maps every arcade.* field to its Wireshark type; names lists
	// those that carry a value (not subtree items), sorted.
	ftypes map[string]string
	names  []string
}

// newTshark finds tshark, or skips the test, and lists the dissector's
// fields.
func newTshark(t *testing.T) *tshark {
	path, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed: run tools/install-tshark.sh (Debian: apt-get install tshark) to test the Wireshark dissector")
	}
	lua, err := filepath.Abs(script)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	// A scratch HOME keeps the user's preferences and personal plugins (an
	// installed copy of arcade.lua would register the protocol twice) out.
	home := t.TempDir()
	ts := &tshark{path: path, lua: lua, ctx: ctx, ftypes: map[string]string{},
		env: append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))}

	out, stderr, err := ts.run(t, "-G", "fields", "-X", "lua_script:"+lua)
	if err != nil {
		t.Fatalf("tshark -G fields: %v\n%s", err, stderr)
	}
	for line := range strings.SplitSeq(out, "\n") {
		c := strings.Split(line, "\t")
		if len(c) >= 4 && c[0] == "F" && strings.HasPrefix(c[2], "arcade.") {
			ts.ftypes[c[2]] = c[3]
			if c[3] != "FT_NONE" { // subtree items carry no value
				ts.names = append(ts.names, c[2])
			}
		}
	}
	if len(ts.names) < 50 {
		t.Fatalf("tshark lists only %d arcade fields: is %s loaded?\n%s", len(ts.names), lua, stderr)
	}
	slices.Sort(ts.names)
	return ts
}

// run runs tshark with args and fails the test if it reports a Lua error.
func (ts *tshark) run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.CommandContext(ts.ctx, ts.path, args...)
	cmd.Env = ts.env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	checkNoLuaError(t, e.String(), ts.lua)
	return o.String(), e.String(), err
}

// decode writes frames to a capture file, has tshark decode it, and
// returns per frame the printed value of each of the given fields and of
// "info" (the Info column), "expert.message", "expert.group",
// "expert.severity" and "arcade" (the protocol item, empty if absent).
// A field occurring several times has its values joined by aggregator.
func (ts *tshark) decode(t *testing.T, frames []frame, names []string) []map[string]string {
	t.Helper()
	pcap := filepath.Join(t.TempDir(), "arcade.pcap")
	if err := os.WriteFile(pcap, capture(frames), 0o644); err != nil {
		t.Fatal(err)
	}
	infoField := "_ws.col.Info"
	decode := func() (string, string, error) {
		args := []string{"-n", "-r", pcap, "-X", "lua_script:" + ts.lua, "-T", "fields",
			"-E", "header=y", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=" + aggregator,
			"-e", "frame.number", "-e", infoField, "-e", "_ws.expert.message", "-e", "_ws.expert.group",
			"-e", "_ws.expert.severity", "-e", "arcade"}
		for _, n := range names {
			args = append(args, "-e", n)
		}
		return ts.run(t, args...)
	}
	out, stderr, err := decode()
	if err != nil && strings.Contains(stderr, infoField) {
		infoField = "_ws.col.info" // the Info column field's name in newer versions
		out, stderr, err = decode()
	}
	if err != nil {
		t.Fatalf("tshark -T fields: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != len(frames)+1 {
		t.Fatalf("tshark printed %d packets, the capture has %d\n%s", len(lines)-1, len(frames), stderr)
	}
	rename := map[string]string{infoField: "info", "_ws.expert.message": "expert.message",
		"_ws.expert.group": "expert.group", "_ws.expert.severity": "expert.severity"}
	header := strings.Split(lines[0], "\t")
	for i, h := range header {
		if r, ok := rename[h]; ok {
			header[i] = r
		}
	}
	got := make([]map[string]string, len(frames))
	for i, line := range lines[1:] {
		vals := strings.Split(line, "\t")
		if len(vals) != len(header) {
			t.Fatalf("packet %d: %d columns, header has %d", i+1, len(vals), len(header))
		}
		got[i] = map[string]string{}
		for j, h := range header {
			got[i][h] = vals[j]
		}
		if got[i]["frame.number"] != strconv.Itoa(i+1) {
			t.Fatalf("packet %d is frame %q", i+1, got[i]["frame.number"])
		}
		if m := got[i]["expert.message"]; strings.Contains(m, "Lua Error") || strings.Contains(m, "Dissector error") {
			t.Errorf("%s: Lua error while decoding: %s", frames[i].name, show(m))
		}
	}
	return got
}

// TestDissector decodes every golden vector, and some broken datagrams,
// with tshark and arcade.lua, and compares every field with the wire codec.
func TestDissector(t *testing.T) {
	ts := newTshark(t)
	frames := apart(append(goldenFrames(t), badFrames(t)...))
	got := ts.decode(t, frames, ts.names)
	names, ftypes := ts.names, ts.ftypes

	checked := map[string]bool{}
	byName := map[string]map[string]string{}
	for i, fr := range frames {
		g := got[i]
		byName[fr.name] = g
		if fr.wantNoArcadeLayer != (g["arcade"] == "") {
			t.Errorf("%s: Arcade layer present = %v, want %v", fr.name, g["arcade"] != "", !fr.wantNoArcadeLayer)
		}
		for _, n := range names {
			gotN, err := normalizeAll(ftypes[n], g[n])
			if err != nil {
				t.Errorf("%s: %s: %v", fr.name, n, err)
			}
			wantN := strings.Join(fr.want[n], aggregator)
			if gotN != wantN {
				t.Errorf("%s: %s = %s, want %s", fr.name, n, show(gotN), show(wantN))
			}
			if wantN != "" {
				checked[n] = true
			}
		}
		for n := range fr.want {
			if _, ok := ftypes[n]; !ok {
				t.Errorf("%s: the dissector has no field %s", fr.name, n)
			}
		}
		info := g["info"]
		switch {
		case fr.info != "" && info != fr.info:
			t.Errorf("%s: Info %q, want %q", fr.name, info, fr.info)
		case fr.info == "" && !fr.wantNoArcadeLayer && !strings.HasPrefix(info, wire.PacketType(fr.payload[4]).String()+" "):
			t.Errorf("%s: Info %q does not start with the message name", fr.name, info)
		}
		msgs := g["expert.message"]
		if fr.expert == "" {
			if msgs != "" {
				t.Errorf("%s: unexpected expert info %s", fr.name, show(msgs))
			}
			continue
		}
		if !strings.Contains(msgs, fr.expert) || strings.Contains(msgs, aggregator) {
			t.Errorf("%s: expert info %s, want one message containing %q", fr.name, show(msgs), fr.expert)
		}
		if gr, _ := normalize("FT_UINT32", g["expert.group"]); gr != format(fr.group) {
			t.Errorf("%s: expert group %s, want %#x", fr.name, g["expert.group"], fr.group)
		}
		if sv, _ := normalize("FT_UINT32", g["expert.severity"]); sv != format(fr.severity) {
			t.Errorf("%s: expert severity %s, want %#x", fr.name, g["expert.severity"], fr.severity)
		}
	}
	for _, n := range names {
		if !checked[n] && !conversationFields[n] {
			t.Errorf("field %s is never checked: no frame of the test shows it", n)
		}
	}

	for _, c := range fromComments {
		g, ok := byName[c.vector]
		if !ok {
			t.Errorf("no vector %s", c.vector)
			continue
		}
		want, err := normalizeAll(ftypes[c.field], strings.ReplaceAll(c.values, "|", aggregator))
		if err != nil {
			t.Fatalf("test bug: %s: %v", c.field, err)
		}
		gotN, _ := normalizeAll(ftypes[c.field], g[c.field])
		if !strings.HasPrefix(gotN, want) {
			t.Errorf("%s: %s = %s, the golden file says %s", c.vector, c.field, show(gotN), c.values)
		}
	}
}

// normalizeAll normalizes each of the aggregated values of one field.
func normalizeAll(ftype, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	vals := strings.Split(s, aggregator)
	for i, v := range vals {
		n, err := normalize(ftype, v)
		if err != nil {
			return s, err
		}
		vals[i] = n
	}
	return strings.Join(vals, aggregator), nil
}

func show(s string) string { return "[" + strings.ReplaceAll(s, aggregator, " | ") + "]" }

// checkNoLuaError fails the test if tshark reported an error in a Lua
// script (a syntax error, or an error while registering): such messages
// say "Lua: Error", "Lua Error" or "Lua: syntax error", or name a line of
// the script.
func checkNoLuaError(t *testing.T, stderr, script string) {
	t.Helper()
	for _, s := range []string{"Lua: Error", "Lua Error", "Lua: syntax error", script + ":"} {
		if strings.Contains(stderr, s) {
			t.Fatalf("tshark reported a Lua error:\n%s", stderr)
		}
	}
}

// capture returns a classic pcap file (microsecond timestamps, Ethernet
// link type) holding one Ethernet/IPv4/UDP frame per element of frames.
func capture(frames []frame) []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, 0xa1b2c3d4) // magic: microsecond timestamps
	b = le.AppendUint16(b, 2)             // version 2.4
	b = le.AppendUint16(b, 4)
	b = le.AppendUint32(b, 0)     // time zone offset
	b = le.AppendUint32(b, 0)     // timestamp accuracy
	b = le.AppendUint32(b, 65535) // snapshot length
	b = le.AppendUint32(b, 1)     // LINKTYPE_ETHERNET
	const t0 = 1_767_225_600      // 2026-01-01T00:00:00Z
	for i, f := range frames {
		pkt := udpFrame(uint16(i), f.src, f.dst, f.payload)
		b = le.AppendUint32(b, t0+uint32(i/1000))
		b = le.AppendUint32(b, uint32(i%1000)*1000) // 1 ms apart
		b = le.AppendUint32(b, uint32(len(pkt)))
		b = le.AppendUint32(b, uint32(len(pkt)))
		b = append(b, pkt...)
	}
	return b
}

// udpFrame returns an Ethernet frame carrying an IPv4 UDP datagram. The UDP
// checksum is 0 (none), which IPv4 allows.
func udpFrame(id uint16, src, dst netip.AddrPort, payload []byte) []byte {
	be := binary.BigEndian
	mac := func(a netip.Addr) []byte {
		ip := a.As4()
		if a.IsMulticast() { // 01:00:5e and the low 23 bits of the group
			return []byte{0x01, 0x00, 0x5e, ip[1] & 0x7f, ip[2], ip[3]}
		}
		return []byte{0x02, 0x00, ip[0], ip[1], ip[2], ip[3]} // locally administered
	}
	b := append(mac(dst.Addr()), mac(src.Addr())...)
	b = be.AppendUint16(b, 0x0800) // IPv4
	ttl := byte(64)
	if dst.Addr().IsMulticast() {
		ttl = 1
	}
	ip := len(b)
	b = append(b, 0x45, 0) // version 4, 20-byte header; DSCP
	b = be.AppendUint16(b, uint16(20+8+len(payload)))
	b = be.AppendUint16(b, id)
	b = be.AppendUint16(b, 0x4000) // don't fragment
	b = append(b, ttl, 17, 0, 0)   // UDP; checksum below
	s, d := src.Addr().As4(), dst.Addr().As4()
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	var sum uint32
	for i := ip; i < ip+20; i += 2 {
		sum += uint32(be.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	be.PutUint16(b[ip+10:], ^uint16(sum))
	b = be.AppendUint16(b, src.Port())
	b = be.AppendUint16(b, dst.Port())
	b = be.AppendUint16(b, uint16(8+len(payload)))
	b = be.AppendUint16(b, 0)
	return append(b, payload...)
}

// TestDissectorRobust feeds the dissector every golden datagram cut short
// at every length (up to 160 bytes, then every 37th), and datagrams of every
// type with random bodies: each must decode without a Lua error, and every
// cut one must be flagged malformed.
func TestDissectorRobust(t *testing.T) {
	ts := newTshark(t)
	var frames []frame
	truncated := map[int]bool{}
	for _, g := range goldenFrames(t) {
		for n := 3; n < len(g.payload); n++ {
			if n > 160 && n%37 != 0 {
				continue
			}
			// A sealed body has no length to check: only a cut into the
			// header, the packet number or the tag's (and signature's)
			// minimum is malformed.
			tail := seal.Overhead
			if g.dst.Addr().IsMulticast() {
				tail = seal.GroupOverhead
			}
			if g.payload[5]&wire.FlagSealed != 0 && n >= wire.HeaderSize+tail {
				continue
			}
			// A PoseInput cut inside its state acknowledgement is a
			// PoseInput without one, and trailing bytes (§6.6).
			if wire.PacketType(g.payload[4]) == wire.TypePoseInput && n >= wire.HeaderSize+wire.PoseInputSize {
				continue
			}
			truncated[len(frames)] = true
			frames = append(frames, frame{name: fmt.Sprintf("%s[:%d]", g.name, n), src: g.src, dst: g.dst, payload: g.payload[:n]})
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		b := make([]byte, wire.HeaderSize+rng.IntN(wire.MaxBodySize+20))
		for j := range b {
			b[j] = byte(rng.Uint32())
			if rng.IntN(4) == 0 { // small counts and lengths are more interesting
				b[j] &= 7
			}
		}
		copy(b, "ARC\x01")
		b[4] = byte(1 + i%int(wire.MaxType))
		frames = append(frames, frame{name: fmt.Sprintf("random%d", i), src: client, dst: server, payload: b})
	}
	got := ts.decode(t, frames, []string{"arcade.type"})
	for i, fr := range frames {
		g := got[i]
		if g["arcade"] == "" || g["arcade.type"] == "" && len(fr.payload) > 4 {
			t.Errorf("%s: not decoded as Arcade", fr.name)
		}
		if truncated[i] && !strings.Contains(g["expert.group"], strconv.Itoa(groupMalformed)) {
			t.Errorf("%s: not flagged malformed (expert info %s)", fr.name, show(g["expert.message"]))
		}
	}
}

// TestDissectorUnicastLossText checks how the tree shows a delivery
// report's unicast loss, from the value the wire codec decodes: as a
// percentage, or named when unknown or invalid.
func TestDissectorUnicastLossText(t *testing.T) {
	ts := newTshark(t)
	var frames []frame
	var wantText []string
	for _, name := range []string{"delivery_report", "delivery_report_not_joined", "delivery_report_extremes", "report_unicast_loss_10001"} {
		var b []byte
		var ul uint16
		if name == "report_unicast_loss_10001" {
			b = unicastLoss10001(t, readHex(t, filepath.Join(goldenDir, "delivery_report.hex")))
			ul = 10001
		} else {
			b = readHex(t, filepath.Join(goldenDir, name+".hex"))
			var m wire.DeliveryReport
			parseBody(t, name, &m, b[wire.HeaderSize:])
			ul = m.UnicastLoss
		}
		var want string
		switch {
		case ul == wire.UnicastLossUnknown:
			want = "Unicast loss: unknown (UnicastLossUnknown, 0xffff: fewer than 20 unicast datagrams expected)"
		case ul <= wire.MaxUnicastLoss:
			want = fmt.Sprintf("Unicast loss: %s %% (%d/10000)", strconv.FormatFloat(float64(ul)/100, 'f', 2, 64), ul)
		default:
			want = fmt.Sprintf("Unicast loss: invalid (%d/10000)", ul)
		}
		frames = append(frames, frame{name: name, src: client, dst: server, payload: b})
		wantText = append(wantText, want)
	}
	pcap := filepath.Join(t.TempDir(), "reports.pcap")
	if err := os.WriteFile(pcap, capture(frames), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := ts.run(t, "-n", "-r", pcap, "-X", "lua_script:"+ts.lua, "-V", "-O", "arcade")
	if err != nil {
		t.Fatalf("tshark -V: %v\n%s", err, stderr)
	}
	var lines []string
	for line := range strings.SplitSeq(out, "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "Unicast loss") {
			lines = append(lines, line)
		}
	}
	if !slices.Equal(lines, wantText) {
		t.Errorf("tree shows\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(wantText, "\n"))
	}
}
