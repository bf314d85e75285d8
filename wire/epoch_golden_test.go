package wire

import "net/netip"

// testEpoch is the epoch of every golden vector with FlagEpoch.
const testEpoch = 7

// epochVectors are datagrams of a standby pair's active server (§18): the
// header's FlagEpoch and the epoch trailer after the body.
func epochVectors() []vector {
	base, curDelta := deltaWorlds()
	return []vector{
		{"snapshot_epoch", "Snapshot of snapshot_nohash from a server of a standby pair (FlagEpoch): epoch 7 after the body (multicast)",
			Header{Type: TypeSnapshot, Flags: FlagEpoch, Token: testGroupToken, Seq: 502},
			&Snapshot{Tick: 7, ServerTime: 77_777, Parts: 1, PlayerCount: 1, Players: players(1)}},
		{"state_delta_epoch", "StateDelta of tick 1003 against tick 1000 (state_delta_changes) with FlagEpoch: epoch 7 after the body (multicast)",
			Header{Type: TypeStateDelta, Flags: FlagEpoch, Token: testGroupToken, Seq: 4325},
			deltaVector(base, curDelta, StateDelta{Tick: 1003, ServerTime: 8_366_000, Base: 1000, Flags: DeltaHasHash, StateHash: 0x0123456789abcdef})},
		{"entity_update_epoch", "EntityUpdate of entity_update_empty with FlagEpoch: epoch 7 after the body (multicast)",
			Header{Type: TypeEntityUpdate, Flags: FlagEpoch, Token: testGroupToken, Seq: 503},
			&EntityUpdate{Tick: 7, ServerTime: 78_000}},
		{"pong_epoch", "Pong of pong with FlagEpoch: epoch 7 after the body",
			Header{Type: TypePong, Flags: FlagEpoch, Token: testToken, Seq: 56, Ack: 100, AckBits: 0xfffffffe},
			&Pong{PingID: 17, ClientTime: 5_000_123, ServerRecvTime: 8_000_000, ServerSendTime: 8_000_042}},
		{"accepted_epoch", "Accepted of accepted_multicast from a server of a standby pair: epoch 7 after the body, the epoch the client starts at",
			Header{Type: TypeAccepted, Flags: FlagEpoch, Token: testToken, Seq: 1, Ack: noAck},
			&Accepted{ClientNonce: testNonce, ClientID: 3, TickRate: 90, ServerTime: 123_456_789,
				Multicast: netip.MustParseAddrPort("239.255.77.77:7778"), GroupToken: testGroupToken}},
	}
}
