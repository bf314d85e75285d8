package client

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/arcadexr/arcade/internal/testnet"
	"github.com/arcadexr/arcade/wire"
)

// TestCallbackCallsClient: a snapshot callback that calls back into its
// Client does not deadlock: getters answer, SendPose, Grab and Close
// return ErrInCallback, and each call is counted; another goroutine's call
// made while a callback runs waits for it and is not mistaken for one; the
// Client works on afterwards.
func TestCallbackCallsClient(t *testing.T) {
	addr, _ := runServer(t, netip.MustParseAddrPort("127.0.0.1:0"), testnet.Group(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr.String(), Config{SessionConfig: SessionConfig{Name: "reentrant", Unicast: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	type inside struct {
		state    State
		id       uint16
		poseErr  error
		grabErr  error
		closeErr error
	}
	got := make(chan inside, 1)
	entered := make(chan struct{})
	release := make(chan struct{})
	first := true
	c.OnSnapshot(func(*wire.Snapshot, int64, bool) {
		if !first {
			return
		}
		first = false
		close(entered)
		<-release // another goroutine calls the Client meanwhile
		var r inside
		r.state, r.id = c.State(), c.ClientID()
		_ = c.Stats()
		in := wire.PoseInput{Head: wire.Pose{Rot: wire.Quat{W: 1}}}
		_, r.poseErr = c.SendPose(&in)
		r.grabErr = c.Grab(wire.Left, 0)
		r.closeErr = c.Close()
		got <- r
	})
	in := wire.PoseInput{Head: wire.Pose{Rot: wire.Quat{W: 1}}}
	if _, err := c.SendPose(&in); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-ctx.Done():
		t.Fatal("no snapshot")
	}
	outside := make(chan uint16, 1)
	go func() { outside <- c.ClientID() }() // waits for the callback's lock
	close(release)
	var r inside
	select {
	case r = <-got:
	case <-ctx.Done():
		t.Fatal("the callback deadlocked calling its Client")
	}
	if r.state != Connected || r.id == 0 {
		t.Errorf("getters in the callback: state %v, id %d", r.state, r.id)
	}
	for name, err := range map[string]error{"SendPose": r.poseErr, "Grab": r.grabErr, "Close": r.closeErr} {
		if !errors.Is(err, ErrInCallback) {
			t.Errorf("%s in the callback: %v, want ErrInCallback", name, err)
		}
	}
	select {
	case id := <-outside:
		if id != r.id {
			t.Errorf("the other goroutine's ClientID %d, want %d", id, r.id)
		}
	case <-ctx.Done():
		t.Fatal("the other goroutine's call never returned")
	}
	if n := c.Stats().CallbackReentries; n != 6 {
		t.Errorf("CallbackReentries = %d, want 6 (State, ClientID, Stats, SendPose, Grab, Close)", n)
	}
	if _, err := c.SendPose(&in); err != nil || c.State() != Connected {
		t.Fatalf("after the callback: SendPose %v, state %v", err, c.State())
	}
}
