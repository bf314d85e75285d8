package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/arcadexr/arcade/wire"
)

func hex64(v uint64) string { return fmt.Sprintf("%016x", v) }

// timeText formats a capture time as UTC time of day with microseconds.
func timeText(ns int64) string { return time.Unix(0, ns).UTC().Format("15:04:05.000000") }

// line formats d as one readable line: time, src → dst, type, client, then
// the header and the message's key fields.
func line(d *datagram, client uint16) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s → %s ", timeText(d.at), d.src, d.dst)
	if d.err != nil && d.hdr.Type == 0 {
		fmt.Fprintf(&b, "malformed len=%d: %v", len(d.payload), d.err)
		return b.String()
	}
	b.WriteString(d.hdr.Type.String())
	if client != 0 {
		fmt.Fprintf(&b, " c%d", client)
	}
	fmt.Fprintf(&b, " tok=%s seq=%d ack=%d", hex64(d.hdr.Token), d.hdr.Seq, d.hdr.Ack)
	if d.err == errSealed {
		fmt.Fprintf(&b, " sealed: %d bytes, not decoded (venue passphrase)", len(d.payload)-wire.HeaderSize)
		return b.String()
	}
	if d.opened {
		b.WriteString(" (decrypted)")
	}
	if d.err != nil {
		fmt.Fprintf(&b, " len=%d version=%d error: %v", len(d.payload), d.version, d.err)
		return b.String()
	}
	switch d.hdr.Type {
	case wire.TypeConnectRequest:
		fmt.Fprintf(&b, " nonce=%s flags=%d name=%q", hex64(d.connect.ClientNonce), d.connect.Flags, d.connect.NameString())
	case wire.TypeChallenge:
		fmt.Fprintf(&b, " nonce=%s", hex64(d.challenge.ClientNonce))
	case wire.TypeChallengeResponse:
		fmt.Fprintf(&b, " nonce=%s flags=%d name=%q", hex64(d.response.ClientNonce), d.response.Flags, d.response.NameString())
	case wire.TypeAccepted:
		a := &d.accepted
		fmt.Fprintf(&b, " id=%d tick_rate=%d group=%s group_tok=%s unicast=%t", a.ClientID, a.TickRate, a.Multicast, hex64(a.GroupToken), a.Flags&wire.AcceptedUnicast != 0)
	case wire.TypeDenied:
		fmt.Fprintf(&b, " nonce=%s reason=%d", hex64(d.denied.ClientNonce), d.denied.Reason)
	case wire.TypePoseInput:
		p := &d.pose
		fmt.Fprintf(&b, " input=%d client_us=%d head=(%.3f,%.3f,%.3f) grip=%.2f/%.2f tracking=%03b",
			p.InputSeq, p.ClientTime, p.Head.Pos.X, p.Head.Pos.Y, p.Head.Pos.Z, p.Grip[0], p.Grip[1], p.Tracking)
		if p.HasStateAck {
			fmt.Fprintf(&b, " state_tick=%d held=%016x", p.StateTick, p.StateHeld)
		}
	case wire.TypeSnapshot:
		s := &d.snap
		fmt.Fprintf(&b, " tick=%d server_us=%d part=%d/%d players=%d/%d entities=%d", s.Tick, s.ServerTime, s.Part, s.Parts, len(s.Players), s.PlayerCount, len(s.Entities))
		if s.Flags&wire.SnapshotHasHash != 0 {
			fmt.Fprintf(&b, " hash=%s", hex64(s.StateHash))
		}
		writeInputs(&b, s.Players)
	case wire.TypeStateDelta:
		m := &d.delta
		fmt.Fprintf(&b, " tick=%d server_us=%d base=%d part=%d/%d players=%d entities=%d", m.Tick, m.ServerTime, m.Base, m.Part, m.Parts, m.PlayerCount, m.EntityCount)
		if m.Flags&wire.DeltaKeyframe != 0 {
			b.WriteString(" keyframe")
		}
		if m.Flags&wire.DeltaHasHash != 0 {
			fmt.Fprintf(&b, " hash=%s", hex64(m.StateHash))
		}
		if m.Flags&wire.DeltaCoded != 0 {
			b.WriteString(" coded")
		}
		if m.Flags&wire.DeltaPrior != 0 {
			fmt.Fprintf(&b, " prior=%d", m.Prior)
		}
		if m.Flags&wire.DeltaParity != 0 {
			fmt.Fprintf(&b, " parity-group=%d", m.Part)
		}
		fmt.Fprintf(&b, " ids=p%s,e%s records=%d/%d bits=%d", idRange(m.PlayerFrom, m.PlayerTo), idRange(m.EntityFrom, m.EntityTo), m.PlayerRecords, m.EntityRecords, m.Bits)
		switch v := &d.dv; {
		case v.status.decoded():
			fmt.Fprintf(&b, " %s players_in_part=%d entities_in_part=%d", v.status, len(v.players), v.entities)
			writeInputs(&b, v.players)
		case v.status == deltaNoBaseline:
			fmt.Fprintf(&b, " no-baseline (tick %d not captured whole)", m.Base)
		case v.status != deltaNone:
			b.WriteString(" " + v.status.String())
		}
	case wire.TypePing:
		fmt.Fprintf(&b, " ping=%d client_us=%d", d.ping.PingID, d.ping.ClientTime)
	case wire.TypePong:
		p := &d.pong
		fmt.Fprintf(&b, " ping=%d client_us=%d server_rx_us=%d server_tx_us=%d", p.PingID, p.ClientTime, p.ServerRecvTime, p.ServerSendTime)
	case wire.TypeDisconnect:
		fmt.Fprintf(&b, " reason=%d", d.disc.Reason)
	case wire.TypeEntityUpdate:
		u := &d.upd
		fmt.Fprintf(&b, " tick=%d server_us=%d causes=%d entities=%d", u.Tick, u.ServerTime, len(u.Causes), len(u.Entities))
		if len(u.Causes) > 0 {
			b.WriteString(" [")
			for i, c := range u.Causes {
				if i == 8 {
					b.WriteString(" …")
					break
				}
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString("c" + strconv.Itoa(int(c.Client)) + ":" + strconv.FormatUint(uint64(c.Input), 10))
			}
			b.WriteByte(']')
		}
	case wire.TypeDeliveryProbe:
		p := &d.probe
		fmt.Fprintf(&b, " tick=%d server_us=%d group_seq=%d", p.Tick, p.ServerTime, p.GroupSeq)
	case wire.TypeDeliveryReport:
		r := &d.report
		fmt.Fprintf(&b, " window_ms=%d mc_rx=%d mc_lost=%d samples=%d p50_us=%d p90_us=%d flags=%d", r.WindowMs, r.McastReceived, r.McastLost, r.Samples, r.ExcessP50, r.ExcessP90, r.Flags)
	case wire.TypeMessage:
		fmt.Fprintf(&b, " ack_bits=%08x payload=%d", d.hdr.AckBits, len(d.msg))
		writeChunks(&b, d.msg)
	}
	return b.String()
}

// writeInputs writes the client:last-input pairs of the first players.
func writeInputs(b *strings.Builder, ps []wire.PlayerState) {
	b.WriteString(" inputs=[")
	for i, p := range ps {
		if i == 8 {
			b.WriteString(" …")
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("c" + strconv.Itoa(int(p.ClientID)) + ":" + strconv.FormatUint(uint64(p.LastInputSeq), 10))
	}
	b.WriteByte(']')
}

// idRange formats an inclusive id range; from > to is empty.
func idRange(from, to uint16) string {
	if from > to {
		return "none"
	}
	return strconv.Itoa(int(from)) + "-" + strconv.Itoa(int(to))
}

// jsonDatagram is --json's object for one datagram. Exactly one of the
// message fields is set (none when Error is).
type jsonDatagram struct {
	Time    string `json:"time"`
	TimeNs  int64  `json:"time_ns"`
	Src     string `json:"src"`
	Dst     string `json:"dst"`
	Len     int    `json:"len"`
	Type    string `json:"type"`
	Client  uint16 `json:"client,omitempty"`
	Token   string `json:"token"`
	Seq     uint16 `json:"seq"`
	Ack     uint16 `json:"ack"`
	AckBits uint32 `json:"ack_bits"`
	Version uint8  `json:"version"`
	// Decrypted: the datagram was sealed and the key log opened it.
	Decrypted bool   `json:"decrypted,omitempty"`
	Error     string `json:"error,omitempty"`

	ConnectRequest    *jsonHello      `json:"connect_request,omitempty"`
	Challenge         *jsonNonce      `json:"challenge,omitempty"`
	ChallengeResponse *jsonHello      `json:"challenge_response,omitempty"`
	Accepted          *jsonAccepted   `json:"accepted,omitempty"`
	Denied            *jsonDenied     `json:"denied,omitempty"`
	PoseInput         *jsonPose       `json:"pose_input,omitempty"`
	Snapshot          *jsonSnapshot   `json:"snapshot,omitempty"`
	Ping              *jsonPing       `json:"ping,omitempty"`
	Pong              *jsonPong       `json:"pong,omitempty"`
	Disconnect        *jsonDisconnect `json:"disconnect,omitempty"`
	EntityUpdate      *jsonUpdate     `json:"entity_update,omitempty"`
	DeliveryProbe     *jsonProbe      `json:"delivery_probe,omitempty"`
	DeliveryReport    *jsonReport     `json:"delivery_report,omitempty"`
	Message           *jsonMessage    `json:"message,omitempty"`
	StateDelta        *jsonDelta      `json:"state_delta,omitempty"`
}

// jsonDelta is a StateDelta part: its header fields, and what the
// capture's StateDelta stream made of it. Decoded is "whole" (the part
// completed its tick), "partial" (applied, more parts to come), "copy" (of
// a tick held whole already), "duplicate" (a part applied already),
// "no-baseline" (coded against a tick not captured whole: its records
// are unknown) or "bad-delta" (did not decode, or the parts do not add
// up). Players and Entities are the tick's records within the part's id
// ranges, when known.
type jsonDelta struct {
	Tick          uint32       `json:"tick"`
	ServerTime    uint64       `json:"server_time_us"`
	Baseline      uint32       `json:"baseline"`
	Part          uint8        `json:"part"`
	Parts         uint8        `json:"parts"`
	PlayerCount   uint16       `json:"player_count"`
	EntityCount   uint16       `json:"entity_count"`
	Flags         uint8        `json:"flags"`
	Keyframe      bool         `json:"keyframe"`
	Hash          string       `json:"hash,omitempty"`
	PlayerIDs     [2]uint16    `json:"player_ids"` // from, to (inclusive; from > to: none)
	EntityIDs     [2]uint16    `json:"entity_ids"`
	PlayerRecords uint16       `json:"player_records"`
	EntityRecords uint16       `json:"entity_records"`
	PayloadBits   uint16       `json:"payload_bits"`
	Decoded       string       `json:"decoded,omitempty"`
	Players       []jsonPlayer `json:"players"` // null when not decoded
	Entities      *int         `json:"entities,omitempty"`
}

type jsonMessage struct {
	PayloadLen int        `json:"payload_len"`
	Chunks     []msgChunk `json:"chunks"`
	Malformed  bool       `json:"malformed,omitempty"` // a chunk does not fit the payload
}

type jsonPing struct {
	PingID     uint32 `json:"ping_id"`
	ClientTime uint64 `json:"client_time_us"`
}

type jsonPong struct {
	PingID         uint32 `json:"ping_id"`
	ClientTime     uint64 `json:"client_time_us"`
	ServerRecvTime uint64 `json:"server_recv_time_us"`
	ServerSendTime uint64 `json:"server_send_time_us"`
}

type jsonDisconnect struct {
	Reason uint8 `json:"reason"`
}

type jsonProbe struct {
	Tick       uint32 `json:"tick"`
	ServerTime uint64 `json:"server_time_us"`
	GroupSeq   uint16 `json:"group_seq"`
}

type jsonReport struct {
	WindowMs      uint16 `json:"window_ms"`
	McastReceived uint16 `json:"multicast_received"`
	McastLost     uint16 `json:"multicast_lost"`
	Samples       uint16 `json:"samples"`
	ExcessP50     int32  `json:"excess_p50_us"`
	ExcessP90     int32  `json:"excess_p90_us"`
	Flags         uint8  `json:"flags"`
}

type jsonCause struct {
	Client uint16 `json:"client_id"`
	Input  uint32 `json:"input_seq"`
}

type jsonNonce struct {
	Nonce string `json:"nonce"`
}

type jsonHello struct {
	Nonce string `json:"nonce"`
	Flags uint8  `json:"flags"`
	Name  string `json:"name"`
}

type jsonAccepted struct {
	ClientID   uint16 `json:"client_id"`
	TickRate   uint16 `json:"tick_rate"`
	ServerTime uint64 `json:"server_time_us"`
	Group      string `json:"group"`
	GroupToken string `json:"group_token"`
	Unicast    bool   `json:"unicast"`
}

type jsonDenied struct {
	Nonce  string `json:"nonce"`
	Reason uint8  `json:"reason"`
}

type jsonPose struct {
	InputSeq   uint32     `json:"input_seq"`
	ClientTime uint64     `json:"client_time_us"`
	Head       [3]float32 `json:"head"`
	Left       [3]float32 `json:"left"`
	Right      [3]float32 `json:"right"`
	Buttons    uint32     `json:"buttons"`
	Grip       [2]float32 `json:"grip"`
	Trigger    [2]float32 `json:"trigger"`
	Tracking   uint8      `json:"tracking"`
	// The state acknowledgement (§6.6), when sent: the newest tick held
	// whole, and the mask of held ticks (bit i: StateTick − i) in hex.
	StateTick *uint32 `json:"state_tick,omitempty"`
	TicksHeld string  `json:"ticks_held,omitempty"`
}

type jsonPlayer struct {
	ClientID     uint16 `json:"client_id"`
	LastInputSeq uint32 `json:"last_input_seq"`
}

type jsonSnapshot struct {
	Tick        uint32       `json:"tick"`
	ServerTime  uint64       `json:"server_time_us"`
	Part        uint8        `json:"part"`
	Parts       uint8        `json:"parts"`
	PlayerCount uint16       `json:"player_count"`
	Hash        string       `json:"hash,omitempty"`
	Players     []jsonPlayer `json:"players"`
	Entities    int          `json:"entities"`
}

type jsonUpdate struct {
	Tick       uint32      `json:"tick"`
	ServerTime uint64      `json:"server_time_us"`
	Causes     []jsonCause `json:"causes"`
	Entities   int         `json:"entities"`
}

func pos(p wire.Pose) [3]float32 { return [3]float32{p.Pos.X, p.Pos.Y, p.Pos.Z} }

func toJSON(d *datagram, client uint16) *jsonDatagram {
	j := &jsonDatagram{
		Time: time.Unix(0, d.at).UTC().Format(time.RFC3339Nano), TimeNs: d.at,
		Src: d.src.String(), Dst: d.dst.String(), Len: len(d.payload),
		Type: d.hdr.Type.String(), Client: client, Token: hex64(d.hdr.Token),
		Seq: d.hdr.Seq, Ack: d.hdr.Ack, AckBits: d.hdr.AckBits, Version: d.version,
		Decrypted: d.opened,
	}
	if d.err != nil {
		j.Error = d.err.Error()
		return j
	}
	switch d.hdr.Type {
	case wire.TypeConnectRequest:
		j.ConnectRequest = &jsonHello{hex64(d.connect.ClientNonce), d.connect.Flags, d.connect.NameString()}
	case wire.TypeChallenge:
		j.Challenge = &jsonNonce{hex64(d.challenge.ClientNonce)}
	case wire.TypeChallengeResponse:
		j.ChallengeResponse = &jsonHello{hex64(d.response.ClientNonce), d.response.Flags, d.response.NameString()}
	case wire.TypeAccepted:
		a := &d.accepted
		j.Accepted = &jsonAccepted{a.ClientID, a.TickRate, a.ServerTime, a.Multicast.String(), hex64(a.GroupToken), a.Flags&wire.AcceptedUnicast != 0}
	case wire.TypeDenied:
		j.Denied = &jsonDenied{hex64(d.denied.ClientNonce), uint8(d.denied.Reason)}
	case wire.TypePoseInput:
		p := &d.pose
		jp := &jsonPose{InputSeq: p.InputSeq, ClientTime: p.ClientTime, Head: pos(p.Head), Left: pos(p.Hands[wire.Left]), Right: pos(p.Hands[wire.Right]),
			Buttons: p.Buttons, Grip: p.Grip, Trigger: p.Trigger, Tracking: p.Tracking}
		if p.HasStateAck {
			tick := p.StateTick
			jp.StateTick, jp.TicksHeld = &tick, hex64(p.StateHeld)
		}
		j.PoseInput = jp
	case wire.TypeSnapshot:
		s := &d.snap
		js := &jsonSnapshot{Tick: s.Tick, ServerTime: s.ServerTime, Part: s.Part, Parts: s.Parts, PlayerCount: s.PlayerCount, Entities: len(s.Entities), Players: []jsonPlayer{}}
		if s.Flags&wire.SnapshotHasHash != 0 {
			js.Hash = hex64(s.StateHash)
		}
		for _, p := range s.Players {
			js.Players = append(js.Players, jsonPlayer{p.ClientID, p.LastInputSeq})
		}
		j.Snapshot = js
	case wire.TypePing:
		j.Ping = &jsonPing{d.ping.PingID, d.ping.ClientTime}
	case wire.TypePong:
		p := &d.pong
		j.Pong = &jsonPong{p.PingID, p.ClientTime, p.ServerRecvTime, p.ServerSendTime}
	case wire.TypeDisconnect:
		j.Disconnect = &jsonDisconnect{uint8(d.disc.Reason)}
	case wire.TypeEntityUpdate:
		u := &d.upd
		ju := &jsonUpdate{Tick: u.Tick, ServerTime: u.ServerTime, Causes: []jsonCause{}, Entities: len(u.Entities)}
		for _, c := range u.Causes {
			ju.Causes = append(ju.Causes, jsonCause{c.Client, c.Input})
		}
		j.EntityUpdate = ju
	case wire.TypeDeliveryProbe:
		p := &d.probe
		j.DeliveryProbe = &jsonProbe{p.Tick, p.ServerTime, p.GroupSeq}
	case wire.TypeDeliveryReport:
		r := &d.report
		j.DeliveryReport = &jsonReport{r.WindowMs, r.McastReceived, r.McastLost, r.Samples, r.ExcessP50, r.ExcessP90, r.Flags}
	case wire.TypeMessage:
		cs, ok := parseChunks(d.msg)
		if cs == nil {
			cs = []msgChunk{}
		}
		j.Message = &jsonMessage{PayloadLen: len(d.msg), Chunks: cs, Malformed: !ok}
	case wire.TypeStateDelta:
		m := &d.delta
		jd := &jsonDelta{Tick: m.Tick, ServerTime: m.ServerTime, Baseline: m.Base, Part: m.Part, Parts: m.Parts,
			PlayerCount: m.PlayerCount, EntityCount: m.EntityCount, Flags: m.Flags, Keyframe: m.Flags&wire.DeltaKeyframe != 0,
			PlayerIDs: [2]uint16{m.PlayerFrom, m.PlayerTo}, EntityIDs: [2]uint16{m.EntityFrom, m.EntityTo},
			PlayerRecords: m.PlayerRecords, EntityRecords: m.EntityRecords, PayloadBits: m.Bits, Decoded: d.dv.status.String()}
		if m.Flags&wire.DeltaHasHash != 0 {
			jd.Hash = hex64(m.StateHash)
		}
		if d.dv.status.decoded() {
			jd.Players = []jsonPlayer{}
			for _, p := range d.dv.players {
				jd.Players = append(jd.Players, jsonPlayer{p.ClientID, p.LastInputSeq})
			}
			n := d.dv.entities
			jd.Entities = &n
		}
		j.StateDelta = jd
	}
	return j
}
