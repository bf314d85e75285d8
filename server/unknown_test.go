package server_test

import (
	"testing"
	"time"

	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/wire"
)

// TestUnknownSessionNotice: a pose with a token no session has is answered
// with Disconnect(UnknownSession), the token echoed, in clear, never larger
// than the pose; a flood of them from one source gets at most a few
// answers; a Disconnect with an unknown token gets none.
func TestUnknownSessionNotice(t *testing.T) {
	r := newRig(t, netsim.Config{}, server.Config{Passphrase: testPassphrase})
	c := r.client("10.0.7.1:4000")
	c.token = 0x5eed5eed5eed5eed
	c.pose(1, 0)
	var got []received
	r.advance(2*time.Millisecond, func(int64) { got = append(got, c.recv()...) })
	if len(got) != 1 || got[0].h.Type != wire.TypeDisconnect || got[0].h.Token != c.token || got[0].h.Flags != 0 {
		t.Fatalf("answer to an unknown token: %+v", got)
	}
	var d wire.Disconnect
	if _, err := d.Parse(got[0].body); err != nil || d.Reason != wire.DisconnectUnknownSession {
		t.Fatalf("Disconnect %+v, %v", d, err)
	}
	if got[0].size > wire.HeaderSize+wire.PoseInputSize {
		t.Errorf("a %d-byte answer to a %d-byte pose", got[0].size, wire.HeaderSize+wire.PoseInputSize)
	}
	// A flood from one source: bounded answers.
	got = got[:0]
	for i := range 100 {
		c.pose(uint32(i+2), 0)
	}
	r.advance(time.Second, func(int64) { got = append(got, c.recv()...) })
	if len(got) > 6 {
		t.Errorf("%d answers to 100 unknown-token poses in a second from one source", len(got))
	}
	// No answer to a Disconnect.
	got = got[:0]
	r.advance(3*time.Second, nil)
	c.recv()
	c.send(wire.TypeDisconnect, (&wire.Disconnect{Reason: wire.DisconnectClientLeft}).Append)
	r.advance(10*time.Millisecond, func(int64) { got = append(got, c.recv()...) })
	if len(got) != 0 {
		t.Errorf("a Disconnect with an unknown token was answered: %+v", got)
	}
	t.Logf("%d notices sent", r.srv.Stats().UnknownSessionNotices.Load())
}

// TestJoinLeaveEvents: a headset joining and leaving shows as two events,
// taken off the tick without waiting; with nobody reading, events are
// dropped and counted, never waited for.
func TestJoinLeaveEvents(t *testing.T) {
	e := &twinEnv{t: t, r: newRig(t, netsim.Config{Delay: 100 * time.Microsecond, Seed: 3}, server.Config{})}
	p := e.join(t, "ada", false).(*twinPeer)
	p.leave(true)
	e.r.advance(20*time.Millisecond, e.step)
	var got []server.Event
	for len(got) < 2 {
		select {
		case ev := <-e.r.srv.Events():
			got = append(got, ev)
		default:
			t.Fatalf("events: %+v, want a join and a leave", got)
		}
	}
	if !got[0].Join || got[0].Name != "ada" || got[1].Join || got[1].ID != got[0].ID || got[1].Reason != wire.DisconnectClientLeft {
		t.Fatalf("events %+v", got)
	}
	for range 300 { // nobody reads: the buffer fills, the rest is counted
		q := e.join(t, "crowd", false).(*twinPeer)
		q.leave(true)
		e.r.advance(2*time.Millisecond, e.step)
	}
	if e.r.srv.Stats().EventsDropped.Load() == 0 {
		t.Error("no event dropped with nobody reading 600")
	}
}
