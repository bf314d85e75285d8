-- arcade.lua: Wireshark dissector for Arcade's UDP protocol, version 1.
--
-- docs/PROTOCOL.md is the normative description: every datagram is a
-- 22-byte little-endian header (magic "ARC", version, type, flags, token,
-- seq, ack, ack bits) followed by one message body of type 1..15. This file
-- follows that document field by field; poses are decoded with the exact
-- arithmetic of §3 (positions to metres, "smallest three" rotations to
-- float32 quaternion components), so the values shown are the values a
-- receiver uses. A Message (type 14) is decoded down to the reliable
-- layer's chunks (package reliable's payload encoding) and, for whole
-- messages, the RPC inside (a u16 RPC type id and its body); fragments are
-- shown as bytes, not reassembled. A StateDelta (type 15) shows every
-- header field; its bit payload (§10.4), coded against a baseline tick
-- only a receiver holding it can apply, is shown as bytes.
--
-- Registered for UDP ports 7777 (server) and 7778 (default multicast group
-- port), and as a heuristic dissector on UDP for any payload that starts
-- with "ARC" and version 1, so captures on other ports decode too.
-- Install: see tools/wireshark/README.md. Tested by
-- tools/wireshark/dissector_test.go against testdata/wire/*.hex.
--
-- Truncated bodies and unknown packet types are flagged as malformed expert
-- info; values a receiver rejects (reason 0, parts 0, a cause with client
-- id 0, a zero report window, a unicast loss above 10000, a bad name, a
-- chunk or RPC field outside its range) as protocol warnings. The
-- dissector decodes whatever fits and never raises a Lua error on bad input.
--
-- Across frames: sequence gaps per path are flagged (arcade.seq.gap) and a
-- Pong is linked to its Ping with the round trip (arcade.pong.rtt_ms); see
-- "Conversation analysis" below. Sealed datagrams are shown as sealed.

local arcade = Proto("arcade", "Arcade")

-- Constants (docs/PROTOCOL.md §13).
local HEADER_SIZE = 22
local MAX_DATAGRAM = 1200
local MAX_BODY = MAX_DATAGRAM - HEADER_SIZE
local VERSION = 1
local POSE_SIZE = 11
local MAX_NAME = 32
local COOKIE_SIZE = 32
local PLAYER_ID_SIZE = 16
local PAKE_SIZE = 32 -- CPace message in a ChallengeResponse or sealed Accepted
local SERVER_KEY_SIZE = 32 -- the server's Ed25519 public key
local WRAPPED_KEY_SIZE = 32 -- the group key, wrapped
local CONFIRM_SIZE = 32 -- the server's key confirmation tag
local SEAL_TAG_SIZE = 16 -- AES-GCM tag at the end of a sealed datagram
local SIGNATURE_SIZE = 64 -- Ed25519 signature after a sealed multicast datagram
local EPOCH_SIZE = 4 -- epoch trailer after the body with FlagEpoch (§18)
local STATE_ACK_SIZE = 12  -- state tick (u32) and ticks held (u64), §6.6
local DELTA_HAS_HASH = 0x01
local DELTA_KEYFRAME = 0x02
local DELTA_CODED = 0x04
local DELTA_AVATAR_GRID = 0x08
local DELTA_PRIOR = 0x10
local DELTA_PRIOR_ENTITIES = 0x20
local DELTA_PARITY = 0x40
local MAX_REPAIR_SUM = 255 -- a repair part's index plus its tick's data parts, at most (§10.4, Parity)
local PLAYER_SIZE = 40
local ENTITY_SIZE = 14
local CAUSE_SIZE = 6
local MAX_UNICAST_LOSS = 10000 -- DeliveryReport unicast loss unit: 1/10000
local UNICAST_LOSS_UNKNOWN = 0xFFFF
local SERVER_PORT = 7777
-- Message and the reliable layer (docs/PROTOCOL.md, Message; package
-- reliable's doc) and the RPCs (wire/rpc.go).
local MAX_MSG_PAYLOAD = MAX_BODY - 2
local CHUNK_HEADER = 5
local FRAG_EXT = 8
local KIND_FRAGMENT = 0x80
local UNRELIABLE_STREAM = 127
local RPC_STREAMS = 4
local MAX_RPC_MESSAGE = 256 * 1024
local MAX_FRAGMENTS = 65536
local MAX_SCENE_NAME = 64
local MAX_TEXT = MAX_RPC_MESSAGE - 2 - 4
local TEXT_SHOWN = 64 -- bytes of a Text shown, cut back to a UTF-8 boundary
local GROUP_PORT = 7778

local type_names = {
    [1] = "ConnectRequest",
    [2] = "Challenge",
    [3] = "ChallengeResponse",
    [4] = "Accepted",
    [5] = "Denied",
    [6] = "PoseInput",
    [7] = "Snapshot",
    [8] = "Ping",
    [9] = "Pong",
    [10] = "Disconnect",
    [11] = "EntityUpdate",
    [12] = "DeliveryProbe",
    [13] = "DeliveryReport",
    [14] = "Message",
    [15] = "StateDelta",
}

local deny_names = {
    [1] = "ServerFull",
    [2] = "VersionMismatch",
    [3] = "BadCookie",
    [4] = "ShuttingDown",
    [5] = "BadPassphrase",
}

local disconnect_names = {
    [1] = "ClientLeft",
    [2] = "Timeout",
    [3] = "ServerShutdown",
    [4] = "Kicked",
    [5] = "UnknownSession",
}

local axis_names = { [0] = "X", [1] = "Y", [2] = "Z", [3] = "W" }

local stream_names = {
    [0] = "control",
    [1] = "scene",
    [2] = "text",
    [127] = "unreliable",
}

local rpc_names = {
    [1] = "GrabRequest",
    [2] = "ReleaseRequest",
    [3] = "ButtonEvent",
    [4] = "SceneChangeRequest",
    [5] = "Event",
    [6] = "SceneChange",
    [7] = "Text",
}

local hand_names = { [0] = "Left", [1] = "Right" }
local down_names = { [0] = "up", [1] = "down" }
local event_kind_names = { [1] = "Sound", [2] = "Haptic" }

-- Fields. Integers keep their wire width; decoded poses and analog values
-- are doubles holding the float32 a receiver computes.
local F = {
    magic = ProtoField.string("arcade.magic", "Magic"),
    version = ProtoField.uint8("arcade.version", "Version"),
    type = ProtoField.uint8("arcade.type", "Type", base.DEC, type_names),
    flags = ProtoField.uint8("arcade.flags", "Flags", base.HEX),
    flag_sealed = ProtoField.bool("arcade.flags.sealed", "FlagSealed", 8, nil, 0x01),
    flag_epoch = ProtoField.bool("arcade.flags.epoch", "FlagEpoch", 8, nil, 0x02),
    epoch = ProtoField.uint32("arcade.epoch", "Epoch (trailer)"),
    sealed_number = ProtoField.uint64("arcade.sealed.number", "Packet number"),
    sealed_ciphertext = ProtoField.bytes("arcade.sealed.ciphertext", "Ciphertext"),
    sealed_tag = ProtoField.bytes("arcade.sealed.tag", "Tag"),
    sealed_signature = ProtoField.bytes("arcade.sealed.signature", "Server signature (Ed25519)"),
    token = ProtoField.uint64("arcade.token", "Token", base.HEX),
    seq = ProtoField.uint16("arcade.seq", "Seq"),
    ack = ProtoField.uint16("arcade.ack", "Ack"),
    ack_bits = ProtoField.uint32("arcade.ack_bits", "Ack bits", base.HEX),
    trailing = ProtoField.bytes("arcade.trailing", "Trailing bytes"),
    header = ProtoField.none("arcade.header", "Header"),
    body = ProtoField.none("arcade.body", "Body"),

    -- Handshake (ConnectRequest, Challenge, ChallengeResponse, Accepted,
    -- Denied share the client nonce; the name and cookie are shared too).
    nonce = ProtoField.uint64("arcade.nonce", "Client nonce", base.HEX),
    connect_flags = ProtoField.uint8("arcade.connect.flags", "Connect flags", base.HEX),
    connect_unicast = ProtoField.bool("arcade.connect.flags.want_unicast", "ConnectWantUnicast", 8, nil, 0x01),
    connect_pake = ProtoField.bool("arcade.connect.flags.has_pake", "ConnectHasPAKE", 8, nil, 0x04),
    connect_delta = ProtoField.bool("arcade.connect.flags.delta_state", "ConnectDeltaState", 8, nil, 0x08),
    pake = ProtoField.bytes("arcade.pake", "CPace message"),
    server_key = ProtoField.bytes("arcade.accepted.server_key", "Server key (Ed25519)"),
    wrapped_key = ProtoField.bytes("arcade.accepted.group_key", "Group key, wrapped"),
    confirm = ProtoField.bytes("arcade.accepted.confirm", "Server key confirmation"),
    name_len = ProtoField.uint8("arcade.name_len", "Name length"),
    name = ProtoField.string("arcade.name", "Name", base.UNICODE),
    padding_len = ProtoField.uint16("arcade.connect.padding_len", "Padding length"),
    cookie = ProtoField.bytes("arcade.cookie", "Cookie"),
    player_id = ProtoField.bytes("arcade.player_id", "Player id"),

    acc_client_id = ProtoField.uint16("arcade.accepted.client_id", "Client id"),
    acc_tick_rate = ProtoField.uint16("arcade.accepted.tick_rate", "Tick rate"),
    acc_server_time = ProtoField.uint64("arcade.accepted.server_time", "Server time (µs)"),
    acc_mcast_addr = ProtoField.ipv4("arcade.accepted.mcast_addr", "Multicast address"),
    acc_mcast_port = ProtoField.uint16("arcade.accepted.mcast_port", "Multicast port"),
    acc_group_token = ProtoField.uint64("arcade.accepted.group_token", "Group token", base.HEX),
    acc_flags = ProtoField.uint8("arcade.accepted.flags", "Accepted flags", base.HEX),
    acc_unicast = ProtoField.bool("arcade.accepted.flags.unicast", "AcceptedUnicast", 8, nil, 0x01),
    acc_resumed = ProtoField.bool("arcade.accepted.flags.resumed", "AcceptedResumed", 8, nil, 0x02),
    acc_sealed = ProtoField.bool("arcade.accepted.flags.sealed", "AcceptedSealed", 8, nil, 0x04),
    acc_delta = ProtoField.bool("arcade.accepted.flags.delta_state", "AcceptedDeltaState", 8, nil, 0x08),

    deny_reason = ProtoField.uint8("arcade.denied.reason", "Reason", base.DEC, deny_names),

    -- Poses (§3.4), wherever they occur.
    pose = ProtoField.none("arcade.pose", "Pose"),
    pos_x = ProtoField.double("arcade.pose.pos.x", "Position X (m)"),
    pos_y = ProtoField.double("arcade.pose.pos.y", "Position Y (m)"),
    pos_z = ProtoField.double("arcade.pose.pos.z", "Position Z (m)"),
    rot = ProtoField.uint64("arcade.pose.rot", "Rotation (40-bit)", base.HEX),
    rot_omitted = ProtoField.uint8("arcade.pose.rot.omitted", "Omitted component", base.DEC, axis_names),
    rot_x = ProtoField.double("arcade.pose.rot.x", "Rotation X"),
    rot_y = ProtoField.double("arcade.pose.rot.y", "Rotation Y"),
    rot_z = ProtoField.double("arcade.pose.rot.z", "Rotation Z"),
    rot_w = ProtoField.double("arcade.pose.rot.w", "Rotation W"),

    tracking = ProtoField.uint8("arcade.tracking", "Tracking", base.HEX),
    tracking_head = ProtoField.bool("arcade.tracking.head", "Head tracked", 8, nil, 0x01),
    tracking_left = ProtoField.bool("arcade.tracking.left", "Left hand tracked", 8, nil, 0x02),
    tracking_right = ProtoField.bool("arcade.tracking.right", "Right hand tracked", 8, nil, 0x04),

    -- PoseInput (§6.6).
    in_seq = ProtoField.uint32("arcade.input.seq", "Input seq"),
    in_client_time = ProtoField.uint64("arcade.input.client_time", "Client time (µs)"),
    in_buttons = ProtoField.uint32("arcade.input.buttons", "Buttons", base.HEX),
    in_trigger_left = ProtoField.double("arcade.input.trigger.left", "Trigger left"),
    in_trigger_right = ProtoField.double("arcade.input.trigger.right", "Trigger right"),
    in_grip_left = ProtoField.double("arcade.input.grip.left", "Grip left"),
    in_grip_right = ProtoField.double("arcade.input.grip.right", "Grip right"),
    in_stick_left_x = ProtoField.double("arcade.input.stick.left.x", "Stick left X"),
    in_stick_left_y = ProtoField.double("arcade.input.stick.left.y", "Stick left Y"),
    in_stick_right_x = ProtoField.double("arcade.input.stick.right.x", "Stick right X"),
    in_stick_right_y = ProtoField.double("arcade.input.stick.right.y", "Stick right Y"),
    -- The optional state acknowledgement (§6.6, §10.4).
    in_state_tick = ProtoField.uint32("arcade.input.state_tick", "State tick (newest held whole)"),
    in_ticks_held = ProtoField.uint64("arcade.input.ticks_held", "Ticks held (bit i: state tick - i)", base.HEX),

    -- Snapshot (§6.7).
    snap_tick = ProtoField.uint32("arcade.snapshot.tick", "Tick"),
    snap_server_time = ProtoField.uint64("arcade.snapshot.server_time", "Server time (µs)"),
    snap_part = ProtoField.uint8("arcade.snapshot.part", "Part"),
    snap_parts = ProtoField.uint8("arcade.snapshot.parts", "Parts"),
    snap_player_count = ProtoField.uint16("arcade.snapshot.player_count", "Player count (whole tick)"),
    snap_flags = ProtoField.uint8("arcade.snapshot.flags", "Snapshot flags", base.HEX),
    snap_has_hash = ProtoField.bool("arcade.snapshot.flags.has_hash", "SnapshotHasHash", 8, nil, 0x01),
    snap_hash = ProtoField.uint64("arcade.snapshot.hash", "State hash", base.HEX),
    snap_players = ProtoField.uint8("arcade.snapshot.player_records", "Player records"),
    snap_entities = ProtoField.uint8("arcade.snapshot.entity_records", "Entity records"),

    player = ProtoField.none("arcade.player", "Player"),
    pl_client_id = ProtoField.uint16("arcade.player.client_id", "Client id"),
    pl_last_input = ProtoField.uint32("arcade.player.last_input", "Last input seq"),

    entity = ProtoField.none("arcade.entity", "Entity"),
    en_id = ProtoField.uint16("arcade.entity.id", "Entity id"),
    en_flags = ProtoField.uint8("arcade.entity.flags", "Entity flags", base.HEX),
    en_held = ProtoField.bool("arcade.entity.flags.held", "Held", 8, nil, 0x01),
    en_sleeping = ProtoField.bool("arcade.entity.flags.sleeping", "Sleeping", 8, nil, 0x02),
    en_grabbable = ProtoField.bool("arcade.entity.flags.grabbable", "Grabbable", 8, nil, 0x04),

    -- Ping, Pong, Disconnect (§6.8-6.10).
    ping_id = ProtoField.uint32("arcade.ping.id", "Ping id"),
    ping_client_time = ProtoField.uint64("arcade.ping.client_time", "Client time t1 (µs)"),
    pong_id = ProtoField.uint32("arcade.pong.id", "Ping id"),
    pong_client_time = ProtoField.uint64("arcade.pong.client_time", "Client time t1 (µs)"),
    pong_recv_time = ProtoField.uint64("arcade.pong.server_recv_time", "Server receive time t2 (µs)"),
    pong_send_time = ProtoField.uint64("arcade.pong.server_send_time", "Server send time t3 (µs)"),
    pong_hold = ProtoField.uint64("arcade.pong.server_hold", "Time in server t3 - t2 (µs)"),
    -- Conversation analysis (generated): Ping ↔ Pong, sequence gaps.
    ping_pong = ProtoField.framenum("arcade.ping.pong_in", "Pong in frame", base.NONE, frametype and frametype.RESPONSE),
    pong_ping = ProtoField.framenum("arcade.pong.ping_in", "Ping in frame", base.NONE, frametype and frametype.REQUEST),
    pong_rtt = ProtoField.double("arcade.pong.rtt_ms", "Round trip since the Ping, as captured (ms)"),
    seq_prev = ProtoField.uint16("arcade.seq.prev", "Previous seq on this path"),
    seq_lost = ProtoField.uint16("arcade.seq.lost", "Datagrams missing before this one"),
    disc_reason = ProtoField.uint8("arcade.disconnect.reason", "Reason", base.DEC, disconnect_names),

    -- EntityUpdate (§6.11).
    upd_tick = ProtoField.uint32("arcade.update.tick", "Tick"),
    upd_server_time = ProtoField.uint64("arcade.update.server_time", "Server time (µs)"),
    upd_causes = ProtoField.uint8("arcade.update.cause_records", "Cause records"),
    cause = ProtoField.none("arcade.update.cause", "Cause"),
    cause_client = ProtoField.uint16("arcade.update.cause.client", "Client id"),
    cause_input = ProtoField.uint32("arcade.update.cause.input", "Input seq"),
    upd_entities = ProtoField.uint8("arcade.update.entity_records", "Entity records"),
    upd_players = ProtoField.uint8("arcade.update.player_records", "Player records"),

    -- StateDelta (§6.15).
    sd_tick = ProtoField.uint32("arcade.state_delta.tick", "Tick"),
    sd_server_time = ProtoField.uint64("arcade.state_delta.server_time", "Server time (µs)"),
    sd_baseline = ProtoField.uint32("arcade.state_delta.baseline", "Baseline tick"),
    sd_part = ProtoField.uint8("arcade.state_delta.part", "Part"),
    sd_parts = ProtoField.uint8("arcade.state_delta.parts", "Parts"),
    sd_player_count = ProtoField.uint16("arcade.state_delta.player_count", "Player count (whole tick)"),
    sd_entity_count = ProtoField.uint16("arcade.state_delta.entity_count", "Entity count (whole tick)"),
    sd_flags = ProtoField.uint8("arcade.state_delta.flags", "StateDelta flags", base.HEX),
    sd_has_hash = ProtoField.bool("arcade.state_delta.flags.has_hash", "DeltaHasHash", 8, nil, DELTA_HAS_HASH),
    sd_keyframe = ProtoField.bool("arcade.state_delta.flags.keyframe", "DeltaKeyframe", 8, nil, DELTA_KEYFRAME),
    sd_coded = ProtoField.bool("arcade.state_delta.flags.coded", "DeltaCoded", 8, nil, DELTA_CODED),
    sd_avatar_grid = ProtoField.bool("arcade.state_delta.flags.avatar_grid", "DeltaAvatarGrid", 8, nil, DELTA_AVATAR_GRID),
    sd_has_prior = ProtoField.bool("arcade.state_delta.flags.prior", "DeltaPrior", 8, nil, DELTA_PRIOR),
    sd_prior_entities = ProtoField.bool("arcade.state_delta.flags.prior_entities", "DeltaPriorEntities", 8, nil, DELTA_PRIOR_ENTITIES),
    sd_parity = ProtoField.bool("arcade.state_delta.flags.parity", "DeltaParity", 8, nil, DELTA_PARITY),
    sd_hash = ProtoField.uint64("arcade.state_delta.hash", "State hash", base.HEX),
    sd_prior = ProtoField.uint32("arcade.state_delta.prior", "Prior tick"),
    sd_player_from = ProtoField.uint16("arcade.state_delta.player_from", "Player ids from"),
    sd_player_to = ProtoField.uint16("arcade.state_delta.player_to", "Player ids to (inclusive)"),
    sd_entity_from = ProtoField.uint16("arcade.state_delta.entity_from", "Entity ids from"),
    sd_entity_to = ProtoField.uint16("arcade.state_delta.entity_to", "Entity ids to (inclusive)"),
    sd_player_records = ProtoField.uint16("arcade.state_delta.player_records", "Player records"),
    sd_entity_records = ProtoField.uint16("arcade.state_delta.entity_records", "Entity records"),
    sd_bits = ProtoField.uint16("arcade.state_delta.payload_bits", "Payload bits"),
    sd_payload = ProtoField.bytes("arcade.state_delta.payload", "Bit payload"),

    -- DeliveryProbe, DeliveryReport (§6.12-6.13).
    probe_tick = ProtoField.uint32("arcade.probe.tick", "Tick"),
    probe_server_time = ProtoField.uint64("arcade.probe.server_time", "Server time (µs)"),
    probe_group_seq = ProtoField.uint16("arcade.probe.group_seq", "Group seq"),
    rep_window = ProtoField.uint16("arcade.report.window", "Window (ms)"),
    rep_received = ProtoField.uint16("arcade.report.received", "Multicast received"),
    rep_lost = ProtoField.uint16("arcade.report.lost", "Multicast lost"),
    rep_samples = ProtoField.uint16("arcade.report.samples", "Samples"),
    rep_p50 = ProtoField.int32("arcade.report.excess_p50", "Excess p50 (µs)"),
    rep_p90 = ProtoField.int32("arcade.report.excess_p90", "Excess p90 (µs)"),
    rep_flags = ProtoField.uint8("arcade.report.flags", "Report flags", base.HEX),
    rep_not_joined = ProtoField.bool("arcade.report.flags.not_joined", "DeliveryNotJoined", 8, nil, 0x01),
    rep_starved = ProtoField.bool("arcade.report.flags.starved", "DeliveryStarved", 8, nil, 0x02),
    -- The wire value in 1/10000; the tree shows it as a percentage.
    rep_unicast_loss = ProtoField.uint16("arcade.report.unicast_loss", "Unicast loss"),

    -- Message (§6.14): the reliable layer's payload, chunk by chunk (§15).
    msg_payload_len = ProtoField.uint16("arcade.msg.payload_len", "Payload length"),
    msg_chunk = ProtoField.none("arcade.msg.chunk", "Chunk"),
    msg_kind = ProtoField.uint8("arcade.msg.kind", "Kind", base.HEX),
    msg_fragment = ProtoField.bool("arcade.msg.kind.fragment", "Fragment", 8, nil, KIND_FRAGMENT),
    msg_stream = ProtoField.uint8("arcade.msg.kind.stream", "Stream", base.DEC, stream_names, 0x7f),
    msg_id = ProtoField.uint16("arcade.msg.id", "Message id"),
    msg_length = ProtoField.uint16("arcade.msg.length", "Data length"),
    msg_msg_len = ProtoField.uint32("arcade.msg.frag.msg_len", "Message length"),
    msg_frag_size = ProtoField.uint16("arcade.msg.frag.size", "Fragment size"),
    msg_frag_index = ProtoField.uint16("arcade.msg.frag.index", "Fragment index"),
    msg_data = ProtoField.bytes("arcade.msg.data", "Data"),

    -- RPCs (§16), in whole messages.
    rpc_type = ProtoField.uint16("arcade.rpc.type", "RPC type", base.DEC, rpc_names),
    rpc_body = ProtoField.bytes("arcade.rpc.body", "Body (RPC type unknown to version 1)"),
    rpc_grab_hand = ProtoField.uint8("arcade.rpc.grab.hand", "Hand", base.DEC, hand_names),
    rpc_grab_entity = ProtoField.uint16("arcade.rpc.grab.entity", "Entity"),
    rpc_release_hand = ProtoField.uint8("arcade.rpc.release.hand", "Hand", base.DEC, hand_names),
    rpc_button = ProtoField.uint8("arcade.rpc.button.button", "Button"),
    rpc_button_down = ProtoField.uint8("arcade.rpc.button.down", "Down", base.DEC, down_names),
    rpc_button_time = ProtoField.uint64("arcade.rpc.button.client_time", "Client time (µs)"),
    rpc_scene_name_len = ProtoField.uint8("arcade.rpc.scene.name_len", "Scene name length"),
    rpc_scene_name = ProtoField.string("arcade.rpc.scene.name", "Scene name", base.UNICODE),
    rpc_event_kind = ProtoField.uint8("arcade.rpc.event.kind", "Event kind", base.DEC, event_kind_names),
    rpc_event_cue = ProtoField.uint16("arcade.rpc.event.cue", "Cue"),
    rpc_event_x = ProtoField.float("arcade.rpc.event.pos.x", "Position X (m)"),
    rpc_event_y = ProtoField.float("arcade.rpc.event.pos.y", "Position Y (m)"),
    rpc_event_z = ProtoField.float("arcade.rpc.event.pos.z", "Position Z (m)"),
    rpc_event_time = ProtoField.uint64("arcade.rpc.event.server_time", "Server time (µs)"),
    rpc_event_strength = ProtoField.uint8("arcade.rpc.event.strength", "Strength"),
    rpc_text_len = ProtoField.uint32("arcade.rpc.text.len", "Text length"),
    rpc_text = ProtoField.string("arcade.rpc.text.text", "Text (first bytes)", base.UNICODE),
}

local field_list = {}
for _, f in pairs(F) do field_list[#field_list + 1] = f end
arcade.fields = field_list

local E = {
    truncated = ProtoExpert.new("arcade.truncated", "Truncated body",
        expert.group.MALFORMED, expert.severity.ERROR),
    unknown_type = ProtoExpert.new("arcade.unknown_type", "Unknown packet type",
        expert.group.MALFORMED, expert.severity.ERROR),
    version = ProtoExpert.new("arcade.bad_version", "Unsupported protocol version",
        expert.group.PROTOCOL, expert.severity.WARN),
    too_large = ProtoExpert.new("arcade.too_large", "Datagram larger than 1200 bytes",
        expert.group.PROTOCOL, expert.severity.WARN),
    invalid = ProtoExpert.new("arcade.invalid", "Field value a receiver rejects",
        expert.group.PROTOCOL, expert.severity.WARN),
    trailing = ProtoExpert.new("arcade.trailing_bytes", "Trailing bytes (ignored by version 1 readers)",
        expert.group.PROTOCOL, expert.severity.NOTE),
    bug = ProtoExpert.new("arcade.dissector_error", "Error in the Arcade dissector",
        expert.group.MALFORMED, expert.severity.ERROR),
    seq_gap = ProtoExpert.new("arcade.seq.gap", "Sequence gap: datagrams missing on this path",
        expert.group.SEQUENCE, expert.severity.WARN),
    seq_old = ProtoExpert.new("arcade.seq.old", "Not newer than the previous seq: reordered or duplicated",
        expert.group.SEQUENCE, expert.severity.NOTE),
    seq_jump = ProtoExpert.new("arcade.seq.jump", "Sequence jump of more than 4096: not counted as loss",
        expert.group.SEQUENCE, expert.severity.NOTE),
}
arcade.experts = { E.truncated, E.unknown_type, E.version, E.too_large, E.invalid, E.trailing, E.bug,
    E.seq_gap, E.seq_old, E.seq_jump }

-- Value decoding (docs/PROTOCOL.md §3), in IEEE-754 doubles like the Go
-- codec. Lua never fuses multiply-add, so the results are bit-identical.

local ROT_S = math.sqrt(2.0) / 2.0   -- 1/√2
local ROT_D = math.sqrt(2.0) / 4095.0 -- √2/4095, decode step

-- f32 rounds a double to the nearest float32, as the Go decoder does last
-- (string.pack from Lua 5.3 on, Wireshark's Struct before).
local f32
if string.pack then
    f32 = function(x) return (string.unpack("<f", string.pack("<f", x))) end
else
    f32 = function(x) return (Struct.unpack("<f", Struct.pack("<f", x))) end
end

local function dequant_pos(q)
    return q / 1024.0 - 32.0 -- exact in float32
end

-- decode_rot unpacks the 40-bit rotation word r (a double; exact below
-- 2^53) into the omitted index, the three 12-bit values and the unit
-- quaternion {x, y, z, w} as float32 values.
local function decode_rot(r)
    local big = r % 4
    local c, qs = { [0] = 0, 0, 0, 0 }, {}
    local j = 0
    for i = 0, 3 do
        if i ~= big then
            local q = math.floor(r / (4 * 4096 ^ j)) % 4096 -- bits 38-39 are dropped
            qs[#qs + 1] = { axis = axis_names[i], q = q }
            local p = q * ROT_D
            c[i] = p - ROT_S
            j = j + 1
        end
    end
    local s = c[0] * c[0] + c[1] * c[1] + c[2] * c[2] + c[3] * c[3] -- c[big] is 0 here
    c[big] = math.sqrt(math.max(0, 1 - s))
    local n = math.sqrt(c[0] * c[0] + c[1] * c[1] + c[2] * c[2] + c[3] * c[3])
    return big, qs, { f32(c[0] / n), f32(c[1] / n), f32(c[2] / n), f32(c[3] / n) }
end

local function dequant_unit(q) return f32(q / 255.0) end

local function dequant_signed(q)
    if q >= 128 then q = q - 256 end
    if q < -127 then q = -127 end
    return f32(q / 127.0)
end

-- fmt shows a float32 value with enough digits to identify it.
local function fmt(v) return string.format("%.9g", v) end

-- fmt_pos shows a position exactly: a multiple of 1/1024 has at most ten
-- decimals.
local function fmt_pos(v)
    local s = string.format("%.10f", v):gsub("0+$", ""):gsub("%.$", "")
    if s == "-0" then s = "0" end
    return s
end

-- utf8_seq returns the length of the valid UTF-8 sequence starting at
-- byte i of s, or 0 if there is none, by the rules of Go's utf8.Valid: no
-- overlong forms, no surrogates, nothing above U+10FFFF.
local function utf8_seq(s, i)
    local c = s:byte(i)
    local size, lo, hi = 0, 0x80, 0xBF
    if c < 0x80 then
        return 1
    elseif c >= 0xC2 and c <= 0xDF then
        size = 2
    elseif c >= 0xE0 and c <= 0xEF then
        size = 3
        if c == 0xE0 then lo = 0xA0 elseif c == 0xED then hi = 0x9F end
    elseif c >= 0xF0 and c <= 0xF4 then
        size = 4
        if c == 0xF0 then lo = 0x90 elseif c == 0xF4 then hi = 0x8F end
    else
        return 0
    end
    if i + size - 1 > #s then return 0 end
    for k = 1, size - 1 do
        local b = s:byte(i + k)
        if k == 1 then
            if b < lo or b > hi then return 0 end
        elseif b < 0x80 or b > 0xBF then
            return 0
        end
    end
    return size
end

-- utf8_show returns s with every byte that is not part of a valid UTF-8
-- sequence replaced by U+FFFD, and whether s was valid.
local function utf8_show(s)
    local out, i, valid = {}, 1, true
    while i <= #s do
        local n = utf8_seq(s, i)
        if n == 0 then
            out[#out + 1] = "\239\191\189" -- U+FFFD
            valid = false
            i = i + 1
        else
            out[#out + 1] = s:sub(i, i + n - 1)
            i = i + n
        end
    end
    return table.concat(out), valid
end

-- A cursor walks a body, adding fields while they fit. The first field that
-- does not fit adds one "truncated" expert item and makes every later call
-- return nil, so a short body shows all its complete fields and one error.
local Cursor = {}
Cursor.__index = Cursor

local function new_cursor(tvb, off, item, what)
    return setmetatable({ tvb = tvb, off = off, item = item, what = what, short = false }, Cursor)
end

-- left returns the bytes after the cursor, up to limit when set (the end
-- of a Message payload or of one chunk's data), else the datagram's end.
function Cursor:left() return (self.limit or self.tvb:len()) - self.off end

-- take returns the next n bytes as a TvbRange, or nil if they are not all
-- there. A zero-length take returns nil too (there is nothing to mark).
function Cursor:take(n, what)
    if self.short then return nil end
    local left = self:left()
    if left < n then
        self.short = true
        self.item:add_proto_expert_info(E.truncated, string.format(
            "Truncated %s: %s needs %d bytes at datagram offset %d, %d left",
            self.what, what, n, self.off, left))
        return nil
    end
    if n == 0 then return nil end
    local r = self.tvb(self.off, n)
    self.off = self.off + n
    return r
end

-- le adds a little-endian integer field of n bytes to tree and returns its
-- value (a number, or a UInt64 for 8 bytes) and the tree item.
function Cursor:le(tree, field, n, what)
    local r = self:take(n, what)
    if not r then return nil end
    local item = tree:add_le(field, r)
    if n == 8 then return r:le_uint64(), item, r end
    return r:le_uint(), item, r
end

function Cursor:u8(tree, field, what) return self:le(tree, field, 1, what) end

-- flags adds a flags byte with its bit fields and returns its value.
function Cursor:flags(tree, field, bits, what)
    local v, item, r = self:le(tree, field, 1, what)
    if not v then return nil end
    for _, b in ipairs(bits) do item:add(b, r) end
    return v, item
end

-- node adds an FT_NONE item (a subtree) labelled text, over range if any.
local function node(tree, field, range, text)
    local item
    if range then item = tree:add(field, range) else item = tree:add(field) end
    item:set_text(text)
    return item
end

local function invalid(item, text) item:add_proto_expert_info(E.invalid, text) end

-- pose adds one 11-byte pose under tree, labelled with role, and returns
-- false if it did not fit.
function Cursor:pose(tree, role, untracked)
    local r = self:take(POSE_SIZE, role .. " pose")
    if not r then return false end
    local qx, qy, qz = r(0, 2):le_uint(), r(2, 2):le_uint(), r(4, 2):le_uint()
    local x, y, z = dequant_pos(qx), dequant_pos(qy), dequant_pos(qz)
    local rr = r(6, 5)
    local word = rr(0, 1):uint() + rr(1, 1):uint() * 256 + rr(2, 1):uint() * 65536 +
        rr(3, 1):uint() * 16777216 + rr(4, 1):uint() * 4294967296
    local big, qs, q = decode_rot(word)
    local label = string.format("%s: position (%s, %s, %s) m, rotation (%s, %s, %s, %s)%s",
        role, fmt_pos(x), fmt_pos(y), fmt_pos(z), fmt(q[1]), fmt(q[2]), fmt(q[3]), fmt(q[4]),
        untracked and " [untracked]" or "")
    local pt = node(tree, F.pose, r, label)
    pt:add(F.pos_x, r(0, 2), x, string.format("Position X: %s m (q = %d)", fmt_pos(x), qx))
    pt:add(F.pos_y, r(2, 2), y, string.format("Position Y: %s m (q = %d)", fmt_pos(y), qy))
    pt:add(F.pos_z, r(4, 2), z, string.format("Position Z: %s m (q = %d)", fmt_pos(z), qz))
    local rt = pt:add(F.rot, rr, UInt64.new(word % 4294967296, math.floor(word / 4294967296)),
        string.format("Rotation: largest %s omitted; %s q = %d, %s q = %d, %s q = %d",
            axis_names[big], qs[1].axis, qs[1].q, qs[2].axis, qs[2].q, qs[3].axis, qs[3].q))
    rt:add(F.rot_omitted, rr(0, 1), big)
    rt:add(F.rot_x, rr, q[1], "X: " .. fmt(q[1]))
    rt:add(F.rot_y, rr, q[2], "Y: " .. fmt(q[2]))
    rt:add(F.rot_z, rr, q[3], "Z: " .. fmt(q[3]))
    rt:add(F.rot_w, rr, q[4], "W: " .. fmt(q[4]))
    return true
end

local tracking_bits = { F.tracking_head, F.tracking_left, F.tracking_right }

local function tracking_text(v)
    local t = {}
    if v % 2 >= 1 then t[#t + 1] = "head" end
    if v % 4 >= 2 then t[#t + 1] = "left" end
    if v % 8 >= 4 then t[#t + 1] = "right" end
    if #t == 0 then return "none" end
    return table.concat(t, ",")
end

local function entity_flags_text(v)
    local t = {}
    if v % 2 >= 1 then t[#t + 1] = "Held" end
    if v % 4 >= 2 then t[#t + 1] = "Sleeping" end
    if v % 8 >= 4 then t[#t + 1] = "Grabbable" end
    if v >= 8 then t[#t + 1] = string.format("unknown 0x%02x", v - v % 8) end
    if #t == 0 then return "none" end
    return table.concat(t, ", ")
end

-- entity adds one 14-byte entity record (Snapshot and EntityUpdate).
function Cursor:entity(tree, i)
    if self:left() < ENTITY_SIZE then
        self:take(ENTITY_SIZE, "entity " .. i)
        return false
    end
    local et = node(tree, F.entity, self.tvb(self.off, ENTITY_SIZE), "Entity " .. i)
    local id = self:le(et, F.en_id, 2, "entity id")
    local fl, fitem = self:flags(et, F.en_flags, { F.en_held, F.en_sleeping, F.en_grabbable }, "entity flags")
    fitem:append_text(" (" .. entity_flags_text(fl) .. ")")
    self:pose(et, "Pose", false)
    et:append_text(string.format(": id %d, %s", id, entity_flags_text(fl)))
    return true
end

-- player adds one 40-byte player record (Snapshot and EntityUpdate) and
-- returns its client id, or nil when the record is cut short.
function Cursor:player(tree, i)
    if self:left() < PLAYER_SIZE then
        self:take(PLAYER_SIZE, "player " .. i)
        return nil
    end
    local pt = node(tree, F.player, self.tvb(self.off, PLAYER_SIZE), "Player " .. i)
    local id, iditem = self:le(pt, F.pl_client_id, 2, "client id")
    local last = self:le(pt, F.pl_last_input, 4, "last input seq")
    local tv, titem = self:flags(pt, F.tracking, tracking_bits, "tracking")
    titem:append_text(" (" .. tracking_text(tv) .. ")")
    self:pose(pt, "Head", tv % 2 < 1)
    self:pose(pt, "Left hand", tv % 4 < 2)
    self:pose(pt, "Right hand", tv % 8 < 4)
    pt:append_text(string.format(": client %d, last input %d", id, last))
    return id, iditem
end

-- name adds the length byte and the UTF-8 name; it returns the name (for
-- the Info column) or nil.
function Cursor:name(tree)
    local n, item = self:u8(tree, F.name_len, "name length")
    if not n then return nil end
    if n > MAX_NAME then
        invalid(item, string.format("Name length %d is above %d: receivers ignore this datagram", n, MAX_NAME))
    end
    if n == 0 then
        tree:add(F.name, "", "Name: (empty)")
        return ""
    end
    local r = self:take(n, "name")
    if not r then return nil end
    local s, valid = utf8_show(r:raw())
    local ni = tree:add(F.name, r, s)
    if not valid then
        invalid(ni, "Name is not valid UTF-8: receivers ignore this datagram")
    end
    return s
end

local function hex64(v) return "0x" .. v:tohex() end

-- Body dissectors. Each gets a cursor at the body and the body's tree item,
-- and returns the Info column text after the message name.

local body = {}

body[1] = function(c, t) -- ConnectRequest (§6.1)
    local nonce = c:le(t, F.nonce, 8, "client nonce")
    local fl = c:flags(t, F.connect_flags, { F.connect_unicast, F.connect_delta }, "flags")
    local name = c:name(t)
    if not c.short then
        -- Padding up to datagram offset 1200; the content is not checked.
        local want = MAX_DATAGRAM - c.off
        local have = math.min(want, c:left())
        local item
        if have > 0 then
            item = t:add(F.padding_len, c.tvb(c.off, have), have)
            c.off = c.off + have
        else
            item = t:add(F.padding_len, 0)
        end
        if have < want then
            c.short = true
            item:add_proto_expert_info(E.truncated, string.format(
                "ConnectRequest not padded to %d bytes (%d bytes short): receivers ignore it",
                MAX_DATAGRAM, want - have))
        end
    end
    local s = ""
    if nonce then s = s .. " nonce=" .. hex64(nonce) end
    if name then s = s .. ' name="' .. name .. '"' end
    if fl and fl % 2 == 1 then s = s .. " unicast" end
    return s
end

body[2] = function(c, t) -- Challenge (§6.2)
    local nonce = c:le(t, F.nonce, 8, "client nonce")
    local r = c:take(COOKIE_SIZE, "cookie")
    if r then t:add(F.cookie, r) end
    return nonce and (" nonce=" .. hex64(nonce)) or ""
end

body[3] = function(c, t) -- ChallengeResponse (§6.3)
    local nonce = c:le(t, F.nonce, 8, "client nonce")
    local fl = c:flags(t, F.connect_flags, { F.connect_unicast, F.connect_pake, F.connect_delta }, "flags")
    local name = c:name(t)
    local r = c:take(COOKIE_SIZE, "cookie")
    if r then t:add(F.cookie, r) end
    -- All zero is anonymous: never resumed (§7.6).
    local pr = c:take(PLAYER_ID_SIZE, "player id")
    local anonymous = false
    if pr then
        local item = t:add(F.player_id, pr)
        anonymous = pr:bytes():tohex() == string.rep("00", PLAYER_ID_SIZE)
        if anonymous then item:append_text(" (anonymous)") end
    end
    local pake = false
    if pr and fl and fl % 8 >= 4 then
        local p = c:take(PAKE_SIZE, "CPace message")
        if p then
            t:add(F.pake, p)
            pake = true
        end
    end
    local s = ""
    if nonce then s = s .. " nonce=" .. hex64(nonce) end
    if name then s = s .. ' name="' .. name .. '"' end
    if pr then
        s = s .. " player=" .. (anonymous and "anonymous" or pr:bytes():tohex():lower())
    end
    if fl and fl % 2 == 1 then s = s .. " unicast" end
    if pake then s = s .. " pake" end
    return s
end

body[4] = function(c, t) -- Accepted (§6.4)
    local nonce = c:le(t, F.nonce, 8, "client nonce")
    local id = c:le(t, F.acc_client_id, 2, "client id")
    local rate = c:le(t, F.acc_tick_rate, 2, "tick rate")
    c:le(t, F.acc_server_time, 8, "server time")
    local ar = c:take(4, "multicast address")
    if ar then t:add(F.acc_mcast_addr, ar) end
    local port = c:le(t, F.acc_mcast_port, 2, "multicast port")
    c:le(t, F.acc_group_token, 8, "group token")
    local fl = c:flags(t, F.acc_flags, { F.acc_unicast, F.acc_resumed, F.acc_sealed, F.acc_delta }, "flags")
    if fl and fl % 8 >= 4 then
        -- AcceptedSealed: the server's half of the handshake (§17.2).
        local p = c:take(PAKE_SIZE, "CPace message")
        if p then t:add(F.pake, p) end
        p = c:take(SERVER_KEY_SIZE, "server key")
        if p then t:add(F.server_key, p) end
        p = c:take(WRAPPED_KEY_SIZE, "wrapped group key")
        if p then t:add(F.wrapped_key, p) end
        p = c:take(CONFIRM_SIZE, "key confirmation")
        if p then t:add(F.confirm, p) end
    end
    local s = ""
    if id then s = s .. " client=" .. id end
    if rate then s = s .. " tick_rate=" .. rate end
    if ar and port then
        local a = string.format("%d.%d.%d.%d", ar(0, 1):uint(), ar(1, 1):uint(), ar(2, 1):uint(), ar(3, 1):uint())
        if a == "0.0.0.0" and port == 0 then
            s = s .. " group=none"
        else
            s = s .. string.format(" group=%s:%d", a, port)
        end
    end
    if fl and fl % 2 == 1 then s = s .. " unicast" end
    if fl and fl % 4 >= 2 then s = s .. " resumed" end
    if fl and fl % 8 >= 4 then s = s .. " sealed" end
    return s
end

body[5] = function(c, t) -- Denied (§6.5)
    local nonce = c:le(t, F.nonce, 8, "client nonce")
    local reason, item = c:u8(t, F.deny_reason, "reason")
    if reason == 0 then invalid(item, "Reason 0 is invalid: receivers ignore this Denied") end
    local s = ""
    if nonce then s = s .. " nonce=" .. hex64(nonce) end
    if reason then s = s .. " reason=" .. (deny_names[reason] or tostring(reason)) end
    return s
end

body[6] = function(c, t) -- PoseInput (§6.6)
    local seq = c:le(t, F.in_seq, 4, "input seq")
    c:le(t, F.in_client_time, 8, "client time")
    -- The tracking byte is last; read it first to label untracked poses.
    local trk = nil
    if c:left() >= 58 - 12 then trk = c.tvb(c.off + 45, 1):uint() end
    local function untracked(bit) return trk ~= nil and (trk % (2 * bit)) < bit end
    local _ = c:pose(t, "Head", untracked(1)) and c:pose(t, "Left hand", untracked(2)) and
        c:pose(t, "Right hand", untracked(4))
    c:le(t, F.in_buttons, 4, "buttons")
    local function unit(field, label)
        local r = c:take(1, label)
        if not r then return end
        local q = r:uint()
        local v = dequant_unit(q)
        t:add(field, r, v, string.format("%s: %s (q = %d)", label, fmt(v), q))
    end
    local function signed(field, label)
        local r = c:take(1, label)
        if not r then return end
        local q = r:int()
        local v = dequant_signed(r:uint())
        t:add(field, r, v, string.format("%s: %s (q = %d)", label, fmt(v), q))
    end
    unit(F.in_trigger_left, "Trigger left")
    unit(F.in_trigger_right, "Trigger right")
    unit(F.in_grip_left, "Grip left")
    unit(F.in_grip_right, "Grip right")
    signed(F.in_stick_left_x, "Stick left X")
    signed(F.in_stick_left_y, "Stick left Y")
    signed(F.in_stick_right_x, "Stick right X")
    signed(F.in_stick_right_y, "Stick right Y")
    local tv, titem = c:flags(t, F.tracking, tracking_bits, "tracking")
    if titem then titem:append_text(" (" .. tracking_text(tv) .. ")") end
    -- The state acknowledgement, when the body has room for it (70
    -- bytes); fewer extra bytes are trailing.
    local st
    if tv and c:left() >= STATE_ACK_SIZE then
        st = c:le(t, F.in_state_tick, 4, "state tick")
        local held, hitem = c:le(t, F.in_ticks_held, 8, "ticks held")
        local n = 0
        for i = 0, 63 do
            if held:rshift(i):band(UInt64.new(1)) == UInt64.new(1) then n = n + 1 end
        end
        hitem:append_text(string.format(" (%d ticks)", n))
    end
    local s = ""
    if seq then s = s .. " input=" .. seq end
    if tv then s = s .. " tracking=" .. tracking_text(tv) end
    if st then s = s .. " state_tick=" .. st end
    return s
end

body[7] = function(c, t) -- Snapshot (§6.7)
    local tick = c:le(t, F.snap_tick, 4, "tick")
    c:le(t, F.snap_server_time, 8, "server time")
    local part = c:u8(t, F.snap_part, "part")
    local parts, pitem = c:u8(t, F.snap_parts, "parts")
    local count = c:le(t, F.snap_player_count, 2, "player count")
    local fl = c:flags(t, F.snap_flags, { F.snap_has_hash }, "flags")
    local badpart = parts and (parts == 0 or part >= parts)
    if badpart then
        invalid(pitem, string.format("Part %d of %d: receivers ignore this snapshot", part, parts))
    end
    if fl and fl % 2 == 1 then c:le(t, F.snap_hash, 8, "state hash") end
    local np = c:u8(t, F.snap_players, "player record count")
    if np then
        for i = 0, np - 1 do
            if not c:player(t, i) then break end
        end
    end
    local ne = c:u8(t, F.snap_entities, "entity record count")
    if ne then
        for i = 0, ne - 1 do
            if not c:entity(t, i) then break end
        end
    end
    local s = ""
    if tick then s = s .. " tick=" .. tick end
    if parts and parts > 1 then s = s .. string.format(" part=%d/%d", part, parts) end
    if np then
        s = s .. " players=" .. np
        if count and count ~= np then s = s .. "/" .. count end
    end
    if ne then s = s .. " entities=" .. ne end
    if fl and fl % 2 == 1 then s = s .. " hash" end
    return s
end

-- bit reports whether mask (one bit) is set in v.
local function bit(v, mask) return v ~= nil and math.floor(v / mask) % 2 == 1 end

body[15] = function(c, t) -- StateDelta (§6.15)
    local tick = c:le(t, F.sd_tick, 4, "tick")
    c:le(t, F.sd_server_time, 8, "server time")
    local base, bitem = c:le(t, F.sd_baseline, 4, "baseline tick")
    local part = c:u8(t, F.sd_part, "part")
    local parts, pitem = c:u8(t, F.sd_parts, "parts")
    local np = c:le(t, F.sd_player_count, 2, "player count")
    local ne = c:le(t, F.sd_entity_count, 2, "entity count")
    local fl, flitem = c:flags(t, F.sd_flags, { F.sd_has_hash, F.sd_keyframe, F.sd_coded, F.sd_avatar_grid,
        F.sd_has_prior, F.sd_prior_entities, F.sd_parity }, "flags")
    local kf, coded, parity, prior = bit(fl, DELTA_KEYFRAME), bit(fl, DELTA_CODED), bit(fl, DELTA_PARITY), bit(fl, DELTA_PRIOR)
    if parts and (parts == 0 or part >= parts and not parity) then
        invalid(pitem, string.format("Part %d of %d: receivers drop this part", part, parts))
    end
    if kf and base ~= 0 then
        invalid(bitem, string.format("Keyframe with baseline tick %d (not 0): receivers drop this part", base))
    end
    if fl and not coded and (bit(fl, DELTA_AVATAR_GRID) or prior or parity) then
        invalid(flitem, "DeltaAvatarGrid, DeltaPrior or DeltaParity without DeltaCoded: receivers drop this part")
    end
    if bit(fl, DELTA_PRIOR_ENTITIES) and not prior then
        invalid(flitem, "DeltaPriorEntities without DeltaPrior: receivers drop this part")
    end
    if prior and kf then invalid(flitem, "DeltaPrior in a keyframe: receivers drop this part") end
    if bit(fl, DELTA_HAS_HASH) then c:le(t, F.sd_hash, 8, "state hash") end
    local pt
    if prior then
        local pitem2
        pt, pitem2 = c:le(t, F.sd_prior, 4, "prior tick")
        -- The prior must be older than the baseline, with wraparound.
        if pt and base and ((base - pt) % 4294967296 == 0 or (base - pt) % 4294967296 >= 2147483648) then
            invalid(pitem2, string.format("Prior tick %d not older than the baseline %d: receivers drop this part", pt, base))
        end
    end
    local function range(ffrom, fto, what)
        local from, fitem = c:le(t, ffrom, 2, what .. " ids from")
        local to = c:le(t, fto, 2, what .. " ids to")
        if from and to and from > to then fitem:append_text(" (from > to: none)") end
    end
    range(F.sd_player_from, F.sd_player_to, "player")
    range(F.sd_entity_from, F.sd_entity_to, "entity")
    local rp, rpitem = c:le(t, F.sd_player_records, 2, "player records")
    local re = c:le(t, F.sd_entity_records, 2, "entity records")
    if parity and parts then
        if parts > 0 and part + parts > MAX_REPAIR_SUM then
            invalid(pitem, string.format("Repair part %d of a tick of %d data parts (at most %d): receivers drop this part",
                part, parts, MAX_REPAIR_SUM - parts))
        end
        if rp and re and (rp ~= 0 or re ~= 0) then
            invalid(rpitem, "Parity part with records: receivers drop this part")
        end
    end
    local bits, bitsitem = c:le(t, F.sd_bits, 2, "payload bits")
    if bits then
        local n = math.floor((bits + 7) / 8)
        bitsitem:append_text(string.format(" (%d bytes)", n))
        if coded and bits % 8 ~= 0 then
            invalid(bitsitem, "Coded payload of a bit count not a multiple of 8: receivers drop this part")
        end
        local r = c:take(n, "bit payload")
        if r then
            local pi = t:add(F.sd_payload, r)
            if parity then
                pi:append_text(string.format(" (repair part %d of data parts 0..%d: the sum of c(%d, i) times part i's body, GF(2^8)%s)",
                    part, parts - 1, part, part == 0 and "; repair part 0 is their XOR" or ""))
            elseif coded then
                pi:append_text(kf and " (range-coded keyframe)" or
                    string.format(" (range-coded against tick %d%s)", base, pt and (", predicted from " .. pt) or ""))
            else
                pi:append_text(kf and " (keyframe: every record new)" or
                    string.format(" (coded against tick %d)", base))
            end
        end
    end
    local s = ""
    if tick then s = s .. " tick=" .. tick end
    if kf then
        s = s .. " keyframe"
    elseif base then
        s = s .. " base=" .. base
    end
    if pt then s = s .. " prior=" .. pt end
    if parity then
        s = s .. string.format(" parity=%d parts=%d", part, parts)
    elseif parts and parts > 1 then
        s = s .. string.format(" part=%d/%d", part, parts)
    end
    if np then s = s .. " players=" .. np end
    if ne then s = s .. " entities=" .. ne end
    if rp and re and not parity then s = s .. string.format(" records=%d/%d", rp, re) end
    if coded then s = s .. " coded" end
    if bit(fl, DELTA_HAS_HASH) then s = s .. " hash" end
    return s
end

body[8] = function(c, t) -- Ping (§6.8)
    local id = c:le(t, F.ping_id, 4, "ping id")
    c:le(t, F.ping_client_time, 8, "client time")
    return id and (" id=" .. id) or ""
end

body[9] = function(c, t) -- Pong (§6.9)
    local id = c:le(t, F.pong_id, 4, "ping id")
    c:le(t, F.pong_client_time, 8, "client time")
    local t2 = c:le(t, F.pong_recv_time, 8, "server receive time")
    local t3 = c:le(t, F.pong_send_time, 8, "server send time")
    if t2 and t3 and t3 >= t2 then
        t:add(F.pong_hold, t3 - t2):set_generated()
    end
    return id and (" id=" .. id) or ""
end

body[10] = function(c, t) -- Disconnect (§6.10)
    local reason, item = c:u8(t, F.disc_reason, "reason")
    if reason == 0 then invalid(item, "Reason 0 is invalid: receivers ignore this Disconnect") end
    return reason and (" reason=" .. (disconnect_names[reason] or tostring(reason))) or ""
end

body[11] = function(c, t) -- EntityUpdate (§6.11)
    local tick = c:le(t, F.upd_tick, 4, "tick")
    c:le(t, F.upd_server_time, 8, "server time")
    local nc = c:u8(t, F.upd_causes, "cause record count")
    if nc then
        for i = 0, nc - 1 do
            if c:left() < CAUSE_SIZE then
                c:take(CAUSE_SIZE, "cause " .. i)
                break
            end
            local ct = node(t, F.cause, c.tvb(c.off, CAUSE_SIZE), "Cause " .. i)
            local client, item = c:le(ct, F.cause_client, 2, "client id")
            local input = c:le(ct, F.cause_input, 4, "input seq")
            ct:append_text(string.format(": client %d, input %d", client, input))
            if client == 0 then invalid(item, "Cause with client id 0: receivers ignore this update") end
        end
    end
    local ne = c:u8(t, F.upd_entities, "entity record count")
    if ne then
        for i = 0, ne - 1 do
            if not c:entity(t, i) then break end
        end
    end
    local np = c:u8(t, F.upd_players, "player record count")
    if np then
        for i = 0, np - 1 do
            local id, item = c:player(t, i)
            if not id then break end
            if id == 0 then invalid(item, "Player with client id 0: receivers ignore this update") end
        end
    end
    local s = ""
    if tick then s = s .. " tick=" .. tick end
    if nc then s = s .. " causes=" .. nc end
    if ne then s = s .. " entities=" .. ne end
    if np and np > 0 then s = s .. " players=" .. np end
    return s
end

body[12] = function(c, t) -- DeliveryProbe (§6.12)
    local tick = c:le(t, F.probe_tick, 4, "tick")
    c:le(t, F.probe_server_time, 8, "server time")
    local gseq = c:le(t, F.probe_group_seq, 2, "group seq")
    local s = ""
    if tick then s = s .. " tick=" .. tick end
    if gseq then s = s .. " group_seq=" .. gseq end
    return s
end

body[13] = function(c, t) -- DeliveryReport (§6.13)
    local w, witem = c:le(t, F.rep_window, 2, "window")
    local rcv = c:le(t, F.rep_received, 2, "multicast received")
    local lost = c:le(t, F.rep_lost, 2, "multicast lost")
    local n = c:le(t, F.rep_samples, 2, "samples")
    local r50 = c:take(4, "excess p50")
    if r50 then t:add_le(F.rep_p50, r50) end
    local r90 = c:take(4, "excess p90")
    if r90 then t:add_le(F.rep_p90, r90) end
    local fl = c:flags(t, F.rep_flags, { F.rep_not_joined, F.rep_starved }, "flags")
    local ul, ulitem = c:le(t, F.rep_unicast_loss, 2, "unicast loss")
    local ultext
    if ul == UNICAST_LOSS_UNKNOWN then
        ultext = "unknown"
        ulitem:set_text("Unicast loss: unknown (UnicastLossUnknown, 0xffff: fewer than 20 unicast datagrams expected)")
    elseif ul and ul <= MAX_UNICAST_LOSS then
        ultext = string.format("%d.%02d%%", math.floor(ul / 100), ul % 100)
        ulitem:set_text(string.format("Unicast loss: %d.%02d %% (%d/10000)", math.floor(ul / 100), ul % 100, ul))
    elseif ul then
        ultext = "invalid(" .. ul .. ")"
        ulitem:set_text(string.format("Unicast loss: invalid (%d/10000)", ul))
        invalid(ulitem, string.format("Unicast loss %d is above 10000: receivers ignore this report", ul))
    end
    if w == 0 then invalid(witem, "Window 0: receivers ignore this report") end
    local s = ""
    if w then s = s .. string.format(" window=%dms", w) end
    if rcv then s = s .. " received=" .. rcv end
    if lost then s = s .. " lost=" .. lost end
    if n then s = s .. " samples=" .. n end
    if r50 and r90 then s = s .. string.format(" p50=%dus p90=%dus", r50:le_int(), r90:le_int()) end
    if ultext then s = s .. " unicast_loss=" .. ultext end
    if fl and fl % 2 == 1 then s = s .. " not_joined" end
    if fl and math.floor(fl / 2) % 2 == 1 then s = s .. " starved" end
    return s
end

-- RPC body dissectors (§16). Each gets a cursor limited to the message's
-- data after the type id and the chunk's tree item, and returns the text
-- appended to the chunk's label.

local rpc_body = {}

rpc_body[1] = function(c, t) -- GrabRequest
    local hand, item = c:u8(t, F.rpc_grab_hand, "hand")
    if hand and hand > 1 then
        invalid(item, string.format("Hand %d is neither Left (0) nor Right (1): the server drops this GrabRequest", hand))
    end
    local e, eitem = c:le(t, F.rpc_grab_entity, 2, "entity")
    if e == 0 then eitem:append_text(" (the nearest grabbable entity in reach)") end
    local s = ""
    if hand then s = s .. " hand=" .. (hand_names[hand] or tostring(hand)) end
    if e then s = s .. " entity=" .. e end
    return s
end

rpc_body[2] = function(c, t) -- ReleaseRequest
    local hand, item = c:u8(t, F.rpc_release_hand, "hand")
    if hand and hand > 1 then
        invalid(item, string.format("Hand %d is neither Left (0) nor Right (1): the server drops this ReleaseRequest", hand))
    end
    return hand and (" hand=" .. (hand_names[hand] or tostring(hand))) or ""
end

rpc_body[3] = function(c, t) -- ButtonEvent
    local b = c:u8(t, F.rpc_button, "button")
    local d, item = c:u8(t, F.rpc_button_down, "down")
    if d and d > 1 then
        invalid(item, string.format("Down byte %d is neither 0 nor 1: the server drops this ButtonEvent", d))
    end
    c:le(t, F.rpc_button_time, 8, "client time")
    local s = ""
    if b then s = s .. " button=" .. b end
    if d then s = s .. " " .. (down_names[d] or ("down=" .. d)) end
    return s
end

-- scene_name adds a scene name (SceneChangeRequest, SceneChange) and
-- returns the text for the label.
local function scene_name(c, t, what)
    local n, item = c:u8(t, F.rpc_scene_name_len, "scene name length")
    if not n then return "" end
    if n > MAX_SCENE_NAME then
        invalid(item, string.format("Scene name length %d is above %d: receivers drop this %s", n, MAX_SCENE_NAME, what))
    end
    if n == 0 then
        t:add(F.rpc_scene_name, "", "Scene name: (empty)")
        return ' name=""'
    end
    local r = c:take(n, "scene name")
    if not r then return "" end
    local name, valid = utf8_show(r:raw())
    local ni = t:add(F.rpc_scene_name, r, name)
    if not valid then invalid(ni, "Scene name is not valid UTF-8: receivers drop this " .. what) end
    return ' name="' .. name .. '"'
end

rpc_body[4] = function(c, t) return scene_name(c, t, "SceneChangeRequest") end -- SceneChangeRequest

rpc_body[5] = function(c, t) -- Event
    local kind, item = c:u8(t, F.rpc_event_kind, "event kind")
    if kind == 0 then invalid(item, "Event kind 0 is invalid: receivers drop this Event") end
    local cue = c:le(t, F.rpc_event_cue, 2, "cue")
    local xyz = {}
    for i, f in ipairs({ F.rpc_event_x, F.rpc_event_y, F.rpc_event_z }) do
        local r = c:take(4, "position")
        if not r then break end
        t:add_le(f, r)
        xyz[i] = r:le_float()
    end
    c:le(t, F.rpc_event_time, 8, "server time")
    local strength = c:u8(t, F.rpc_event_strength, "strength")
    local s = ""
    if kind then s = s .. " kind=" .. (event_kind_names[kind] or tostring(kind)) end
    if cue then s = s .. " cue=" .. cue end
    if #xyz == 3 then s = s .. string.format(" pos=(%s, %s, %s)", fmt(xyz[1]), fmt(xyz[2]), fmt(xyz[3])) end
    if strength then s = s .. " strength=" .. strength end
    return s
end

rpc_body[6] = function(c, t) return scene_name(c, t, "SceneChange") end -- SceneChange

rpc_body[7] = function(c, t) -- Text
    local n, item = c:le(t, F.rpc_text_len, 4, "text length")
    if not n then return "" end
    if n > MAX_TEXT then
        invalid(item, string.format("Text length %d is above %d: receivers drop this Text", n, MAX_TEXT))
    end
    local s = " len=" .. n
    if n == 0 then return s end
    local r = c:take(n, "text")
    if not r then return s end
    local raw = r:raw()
    -- The first TEXT_SHOWN bytes, cut back to the start of a rune.
    local k = math.min(n, TEXT_SHOWN)
    if k < n then
        for _ = 1, 3 do
            local b = raw:byte(k + 1)
            if b < 0x80 or b >= 0xC0 then break end
            k = k - 1
        end
    end
    local shown = utf8_show(raw:sub(1, k))
    local ti = t:add(F.rpc_text, r(0, k), shown)
    if k < n then ti:append_text(string.format(" … (%d of %d bytes)", k, n)) end
    local _, valid = utf8_show(raw)
    if not valid then invalid(ti, "Text is not valid UTF-8: receivers drop this Text") end
    return s .. ' "' .. shown .. (k < n and '…"' or '"')
end

-- rpc decodes the whole message in r (a chunk's data) under tree ct, and
-- returns the RPC's name and the text for the chunk's label.
local function rpc(tvb, r, ct)
    if r:len() < 2 then
        local item = ct:add(F.msg_data, r)
        invalid(item, string.format("Message of %d bytes is shorter than an RPC type id: receivers drop it (unknown_rpc)", r:len()))
        return "short", ""
    end
    local c = new_cursor(tvb, r:offset(), ct, "RPC")
    c.limit = r:offset() + r:len()
    local typ = c:le(ct, F.rpc_type, 2, "RPC type")
    local name = rpc_names[typ]
    if not name then
        if c:left() > 0 then ct:add(F.rpc_body, c:take(c:left(), "body")) end
        return "RPC " .. typ, ""
    end
    c.what = name
    local ok, s = pcall(rpc_body[typ], c, ct)
    if not ok then
        ct:add_proto_expert_info(E.bug, "Dissector error: " .. tostring(s))
        s = ""
    end
    if not c.short and c:left() > 0 then
        local n = c:left()
        local tr = ct:add(F.trailing, c:take(n, "trailing"))
        tr:add_proto_expert_info(E.trailing, string.format(
            "%d bytes after the %s body: ignored by version 1 readers", n, name))
    end
    return name, s
end

-- chunk adds one chunk of a Message payload (§15) at the cursor, which is
-- limited to the payload, and returns its summary for the Info column, or
-- nil if it did not fit (the cursor is then short).
local function chunk(c, t, i)
    local start = c.off
    if c:left() < CHUNK_HEADER then
        c:take(CHUNK_HEADER, "chunk " .. i .. " header")
        return nil
    end
    local kind = c.tvb(start, 1):uint()
    local frag = kind >= KIND_FRAGMENT
    local stream = kind % KIND_FRAGMENT
    local hdr = frag and (CHUNK_HEADER + FRAG_EXT) or CHUNK_HEADER
    local length = c.tvb(start + 3, 2):le_uint()
    local ct = node(t, F.msg_chunk, c.tvb(start, math.min(hdr + length, c:left())), "Chunk " .. i)
    local _, kitem, kr = c:le(ct, F.msg_kind, 1, "kind")
    kitem:add(F.msg_fragment, kr)
    local sitem = kitem:add(F.msg_stream, kr)
    local id = c:le(ct, F.msg_id, 2, "message id")
    local _, litem = c:le(ct, F.msg_length, 2, "data length")
    local sname = stream_names[stream] or tostring(stream)
    local label = string.format("Chunk %d: stream %d (%s), message %d", i, stream, sname, id)
    if stream >= RPC_STREAMS and stream ~= UNRELIABLE_STREAM then
        invalid(sitem, string.format("Stream %d: sessions have streams 0-%d and %d; receivers ignore the whole payload",
            stream, RPC_STREAMS - 1, UNRELIABLE_STREAM))
    end
    local summary
    if frag then
        local msg_len, mitem = c:le(ct, F.msg_msg_len, 4, "message length")
        local size = c:le(ct, F.msg_frag_size, 2, "fragment size")
        local index, iitem = c:le(ct, F.msg_frag_index, 2, "fragment index")
        if not index then return nil end
        local count = size > 0 and math.ceil(msg_len / size) or 0
        label = label .. string.format(", fragment index %d of %d fragments (%d bytes of %d)", index, count, length, msg_len)
        summary = string.format("%d/%d fragment %d of %d", stream, id, index, count)
        local bad
        if stream == UNRELIABLE_STREAM then
            bad = { sitem, "The unreliable stream is never fragmented" }
        elseif msg_len == 0 or size == 0 then
            bad = { mitem, "Message length or fragment size 0" }
        elseif msg_len > MAX_RPC_MESSAGE then
            bad = { mitem, string.format("Message length %d is above %d", msg_len, MAX_RPC_MESSAGE) }
        elseif count > MAX_FRAGMENTS or index >= count then
            bad = { iitem, string.format("Fragment index %d of %d fragments", index, count) }
        elseif length ~= math.min(size, msg_len - index * size) then
            bad = { litem, string.format("Data length %d, the fragment holds %d", length, math.min(size, msg_len - index * size)) }
        end
        if bad then invalid(bad[1], bad[2] .. ": receivers ignore the whole payload") end
        if length > 0 then
            local r = c:take(length, "chunk " .. i .. " data")
            if not r then return nil end
            ct:add(F.msg_data, r)
        end
    else
        local r
        if length > 0 then
            r = c:take(length, "chunk " .. i .. " data")
            if not r then return nil end
        end
        local name, s
        if r then
            name, s = rpc(c.tvb, r, ct)
        else
            invalid(litem, "Empty message, shorter than an RPC type id: receivers drop it (unknown_rpc)")
            name, s = "empty", ""
        end
        label = label .. ", " .. name .. s
        summary = string.format("%d/%d %s", stream, id, name)
    end
    ct:set_text(label)
    return summary
end

body[14] = function(c, t) -- Message (§6.14)
    local n, nitem = c:le(t, F.msg_payload_len, 2, "payload length")
    if not n then return "" end
    if n > MAX_MSG_PAYLOAD then
        invalid(nitem, string.format("Payload length %d is above %d: receivers ignore this Message", n, MAX_MSG_PAYLOAD))
    end
    if n == 0 then
        nitem:append_text(" (pure acknowledgement)")
        return " ack"
    end
    local start = c.off
    local avail = math.min(n, c:left())
    local pc = new_cursor(c.tvb, start, t, "Message payload")
    pc.limit = start + avail
    local parts = {}
    while pc:left() > 0 do
        local s = chunk(pc, t, #parts)
        if not s then break end
        parts[#parts + 1] = s
    end
    if avail < n then
        -- The datagram ends inside the payload: one truncated item.
        if pc.short then
            c.short = true
        else
            c:take(n, "payload")
        end
    else
        c.off = start + n
    end
    local s = ""
    if #parts > 0 then s = " " .. table.concat(parts, ", ") end
    if pc.short and not c.short then s = s .. " [malformed]" end
    return s
end

-- is_multicast tells whether a destination address is IPv4 multicast
-- (224.0.0.0/4): the group, whose sealed datagrams the server signs.
local function is_multicast(addr)
    local a = tonumber(tostring(addr):match("^(%d+)%.%d+%.%d+%.%d+$"))
    return a ~= nil and a >= 224 and a <= 239
end

-- Conversation analysis, computed on the first pass over the capture (in
-- frame order) and kept per frame for every later pass:
--
-- Sequence (PROTOCOL.md §8.2): each path (source address:port →
-- destination address:port; the multicast group is a destination) carries
-- one u16 counter. A datagram whose seq is d ahead of the previous one on
-- its path, 1 < d ≤ 4096, has d − 1 missing before it (arcade.seq.lost,
-- and a sequence warning); one not newer is reordered or duplicated; a
-- jump past 4096 is not loss (as receivers count it). A ConnectRequest or
-- Accepted with seq 0 starts its path's counter again (a new handshake);
-- Challenge and Denied carry no session seq.
--
-- Ping ↔ Pong (§6.8, §6.9): a Pong names its Ping's id; the Ping with that
-- id from the Pong's destination, under the same token, is linked both
-- ways, and the Pong shows the round trip between the two frames as this
-- capture saw them: on a headset, the network both ways and the server;
-- on the server (its --capture), only the server's own hold; to the
-- microsecond (a frame's time is a double of seconds). Sealed Pings
-- and Pongs hide their ids and are not linked.
local SEQ_JUMP = 4096
local seq_last = {} -- path → last seq seen (first pass)
local seq_seen = {} -- frame → { prev, lost, old, jump }
local pings = {}    -- client addr:port / token / id → { frame, ts }
local pong_of = {}  -- ping frame → pong frame
local ping_of = {}  -- pong frame → { frame, rtt_ms }

function arcade.init()
    seq_last, seq_seen, pings, pong_of, ping_of = {}, {}, {}, {}, {}
end

local function endpoint(addr, port) return tostring(addr) .. ":" .. tostring(port) end

-- track_seq notes the datagram's seq on its path (first pass only) and
-- shows what it found (every pass).
local function track_seq(pinfo, ht, ptype, seq)
    if not pinfo.visited and ptype ~= 2 and ptype ~= 5 then
        local path = endpoint(pinfo.src, pinfo.src_port) .. ">" .. endpoint(pinfo.dst, pinfo.dst_port)
        local prev = seq_last[path]
        if (ptype == 1 or ptype == 4) and seq == 0 then prev = nil end
        if prev then
            local d = (seq - prev) % 65536
            local r = { prev = prev }
            if d == 0 or d >= 32768 then
                r.old = true
            elseif d > SEQ_JUMP then
                r.jump = d
                seq_last[path] = seq
            else
                r.lost = d - 1
                seq_last[path] = seq
            end
            seq_seen[pinfo.number] = r
        else
            seq_last[path] = seq
        end
    end
    local r = seq_seen[pinfo.number]
    if not r then return "" end
    ht:add(F.seq_prev, r.prev):set_generated()
    if r.old then
        ht:add_proto_expert_info(E.seq_old, string.format(
            "seq %d is not newer than %d, the previous on this path: reordered or duplicated", seq, r.prev))
        return " [old seq]"
    elseif r.jump then
        ht:add_proto_expert_info(E.seq_jump, string.format(
            "seq jumps %d ahead of %d: more than %d, not counted as loss", r.jump, r.prev, SEQ_JUMP))
    elseif r.lost > 0 then
        local it = ht:add(F.seq_lost, r.lost)
        it:set_generated()
        it:add_proto_expert_info(E.seq_gap, string.format(
            "%d datagram%s missing on this path before seq %d (after %d)", r.lost, r.lost == 1 and "" or "s", seq, r.prev))
        return string.format(" [%d lost]", r.lost)
    end
    return ""
end

-- link_ping notes a Ping or links a Pong to its Ping (first pass), and
-- shows the link (every pass).
local function link_ping(tvb, pinfo, bt, ptype, token)
    if tvb:len() < HEADER_SIZE + 4 then return "" end
    local id = tvb(HEADER_SIZE, 4):le_uint()
    if not pinfo.visited then
        if ptype == 8 then
            pings[endpoint(pinfo.src, pinfo.src_port) .. "/" .. token .. "/" .. id] = { frame = pinfo.number, ts = pinfo.abs_ts }
        else
            local key = endpoint(pinfo.dst, pinfo.dst_port) .. "/" .. token .. "/" .. id
            local p = pings[key]
            if p then
                -- abs_ts is seconds in a double: to the microsecond.
                local us = math.floor((pinfo.abs_ts - p.ts) * 1e6 + 0.5)
                ping_of[pinfo.number] = { frame = p.frame, rtt_ms = us / 1000 }
                pong_of[p.frame] = pinfo.number
                pings[key] = nil
            end
        end
    end
    if ptype == 8 then
        local f = pong_of[pinfo.number]
        if f then bt:add(F.ping_pong, f):set_generated() end
        return ""
    end
    local p = ping_of[pinfo.number]
    if not p then return "" end
    bt:add(F.pong_ping, p.frame):set_generated()
    bt:add(F.pong_rtt, p.rtt_ms):set_generated()
    return string.format(" rtt=%.3fms", p.rtt_ms)
end

-- dissect decodes one datagram. It returns 0 when the payload is not
-- Arcade (no "ARC" magic), so other dissectors can try.
local function dissect(tvb, pinfo, root)
    local len = tvb:len()
    if len < 3 or tvb(0, 3):string() ~= "ARC" then return 0 end
    pinfo.cols.protocol = "Arcade"
    local tree = root:add(arcade, tvb())
    local ht = node(tree, F.header, tvb(0, math.min(len, HEADER_SIZE)), "Header")
    ht:add(F.magic, tvb(0, 3))
    local c = new_cursor(tvb, 3, ht, "header")
    local version, vitem = c:u8(ht, F.version, "version")
    local ptype, titem = c:u8(ht, F.type, "type")
    local hflags = c:flags(ht, F.flags, { F.flag_sealed, F.flag_epoch }, "flags")
    local token = c:le(ht, F.token, 8, "token")
    local seq = c:le(ht, F.seq, 2, "seq")
    c:le(ht, F.ack, 2, "ack")
    c:le(ht, F.ack_bits, 4, "ack bits")

    local name = ptype and type_names[ptype]
    local info = name or (ptype and string.format("Unknown type %d", ptype)) or "Arcade"
    if len > MAX_DATAGRAM then
        tree:add_proto_expert_info(E.too_large, string.format(
            "Datagram of %d bytes is larger than %d: receivers ignore it", len, MAX_DATAGRAM))
    end
    if c.short then
        pinfo.cols.info = info .. " [truncated header]"
        return len
    end
    if version ~= VERSION then
        vitem:add_proto_expert_info(E.version, string.format(
            "Version %d: receivers of version %d ignore it (see PROTOCOL.md §7.5); body not decoded",
            version, VERSION))
        pinfo.cols.info = string.format("%s (version %d)", info, version)
        return len
    end
    if not name then
        titem:add_proto_expert_info(E.unknown_type, string.format(
            "Packet type %d is not defined in version 1: receivers ignore it", ptype))
        if len > HEADER_SIZE then tree:add(F.trailing, tvb(HEADER_SIZE)) end
        pinfo.cols.info = info .. " [malformed]"
        return len
    end
    tree:append_text(", " .. name)
    local seqinfo = track_seq(pinfo, ht, ptype, seq)

    if hflags and hflags % 2 == 1 then
        -- Sealed (PROTOCOL.md "Venue passphrase"): the packet number, then
        -- the body encrypted, then the tag; to a multicast group, the
        -- server's signature last. Without the keys, opaque.
        tree:append_text(" (sealed)")
        local st = node(tree, F.body, len > HEADER_SIZE and tvb(HEADER_SIZE) or nil, name .. " (sealed)")
        local sc = new_cursor(tvb, HEADER_SIZE, st, "sealed " .. name)
        local num = sc:le(st, F.sealed_number, 8, "packet number")
        local s = info .. " sealed"
        if num then s = s .. " #" .. tostring(num) end
        local sig = 0
        if is_multicast(pinfo.dst) then
            sig = SIGNATURE_SIZE
            s = s .. " signed"
        end
        local tail = SEAL_TAG_SIZE + sig
        if len - sc.off >= tail then
            if len - sc.off > tail then
                st:add(F.sealed_ciphertext, tvb(sc.off, len - sc.off - tail))
            end
            st:add(F.sealed_tag, tvb(len - tail, SEAL_TAG_SIZE))
            if sig > 0 then st:add(F.sealed_signature, tvb(len - sig, sig)) end
        else
            sc:take(tail, sig > 0 and "tag and signature" or "tag")
        end
        if sc.short then s = s .. " [truncated]" end
        pinfo.cols.info = s .. seqinfo
        return len
    end

    -- FlagEpoch (§18): the last 4 bytes are the epoch, the body ends
    -- before them; the body dissectors see a datagram without them.
    local epoch
    if hflags and hflags % 4 >= 2 then
        if len < HEADER_SIZE + EPOCH_SIZE then
            ht:add_proto_expert_info(E.truncated, string.format("Truncated %s: FlagEpoch with %d bytes after the header, no room for the 4-byte epoch", name, len - HEADER_SIZE))
            pinfo.cols.info = info .. " [truncated]" .. seqinfo
            return len
        end
        epoch = tvb(len - EPOCH_SIZE, EPOCH_SIZE)
        len = len - EPOCH_SIZE
        tvb = tvb(0, len):tvb()
    end
    local bt = node(tree, F.body, len > HEADER_SIZE and tvb(HEADER_SIZE) or nil, name)
    local bc = new_cursor(tvb, HEADER_SIZE, bt, name)
    local ok, result = pcall(body[ptype], bc, bt)
    if not ok then
        -- A bug here must never become a Lua error in the user's capture.
        bt:add_proto_expert_info(E.bug, "Dissector error: " .. tostring(result))
        result = " [dissector error]"
    end
    info = info .. result
    if ptype == 8 or ptype == 9 then info = info .. link_ping(tvb, pinfo, bt, ptype, tostring(token)) end
    info = info .. seqinfo
    if bc.short then
        info = info .. " [truncated]"
    elseif bc.off < len then
        local tr = tree:add(F.trailing, tvb(bc.off))
        tr:add_proto_expert_info(E.trailing, string.format(
            "%d bytes after the %s body: ignored by version 1 readers", len - bc.off, name))
    end
    if epoch then
        tree:add_le(F.epoch, epoch)
        info = info .. " epoch=" .. epoch:le_uint()
        len = len + EPOCH_SIZE
    end
    pinfo.cols.info = info
    return len
end

arcade.dissector = dissect

local udp_port = DissectorTable.get("udp.port")
udp_port:add(SERVER_PORT, arcade)
udp_port:add(GROUP_PORT, arcade)

-- The heuristic claims any UDP payload starting with "ARC" and version 1.
arcade:register_heuristic("udp", function(tvb, pinfo, root)
    if tvb:len() < 4 or tvb(0, 3):string() ~= "ARC" or tvb(3, 1):uint() ~= VERSION then
        return false
    end
    dissect(tvb, pinfo, root)
    return true
end)
