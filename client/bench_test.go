package client

import (
	"testing"

	"github.com/arcadexr/arcade/wire"
)

// BenchmarkHandleSnapshot measures one multicast snapshot of 16 players
// through a connected session, callback included.
func BenchmarkHandleSnapshot(b *testing.B) {
	f := newFakeServer(b)
	s := newTestSession(SessionConfig{})
	f.connect(s, t0)
	s.OnSnapshot(func(*wire.Snapshot, int64, bool) {})
	players := make([]wire.PlayerState, 16)
	for i := range players {
		players[i] = wire.PlayerState{ClientID: uint16(i + 1), Head: wire.Pose{Rot: wire.Quat{W: 1}}}
	}
	dgram := f.multicastSnapshot(testSnapshot(1, players...))
	b.ReportAllocs()
	b.SetBytes(int64(len(dgram)))
	for i := 0; b.Loop(); i++ {
		// A fresh group sequence each time, so nothing is a duplicate.
		dgram[14], dgram[15] = byte(i+1), byte((i+1)>>8)
		s.Handle(t0, dgram, t0, true)
	}
}

// BenchmarkHandleEntityUpdate measures one multicast entity update moving
// two held objects through a connected session, callback included.
func BenchmarkHandleEntityUpdate(b *testing.B) {
	f := newFakeServer(b)
	s := newTestSession(SessionConfig{})
	f.connect(s, t0)
	s.OnEntityUpdate(func(*wire.EntityUpdate, int64, bool) {})
	u := testEntityUpdate(1, f.clientID, 1)
	u.Entities = append(u.Entities, u.Entities[0])
	dgram := f.multicastEntityUpdate(u)
	b.ReportAllocs()
	b.SetBytes(int64(len(dgram)))
	for i := 0; b.Loop(); i++ {
		dgram[14], dgram[15] = byte(i+1), byte((i+1)>>8)
		s.Handle(t0, dgram, t0, true)
	}
}

// BenchmarkSendPose measures encoding and draining one pose.
func BenchmarkSendPose(b *testing.B) {
	f := newFakeServer(b)
	s := newTestSession(SessionConfig{})
	f.connect(s, t0)
	in := wire.PoseInput{Head: wire.Pose{Rot: wire.Quat{W: 1}}}
	sink := func([]byte) {}
	b.ReportAllocs()
	for b.Loop() {
		s.SendPose(t0, &in)
		s.Outgoing(sink)
	}
}
