package client

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arcadexr/arcade/internal/testnet"
	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/internal/wait"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/tick"
	"github.com/arcadexr/arcade/wire"
)

// runServer runs a real server on addr (port 0: any) until the returned
// stop is called, and returns its address.
func runServer(t *testing.T, addr netip.AddrPort, group netip.AddrPort) (netip.AddrPort, func()) {
	t.Helper()
	conn, err := udp.Listen(udp.Config{Listen: addr, Timestamps: true, MulticastIface: "lo"})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Multicast: group}, conn, tick.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Run(ctx, conn.Fd()); close(done) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
			conn.Close()
		}
	}
	t.Cleanup(stop)
	return conn.LocalAddr(), stop
}

// TestReconnectAfterRestart: a client with Reconnect whose server is
// killed and started again on the same port (a new process: no session,
// a new group token) is told its session is unknown at its next pose,
// starts a new handshake by itself with its player id, and receives state
// again; Done stays open throughout. Unicast and multicast, own socket
// and shared hub.
func TestReconnectAfterRestart(t *testing.T) {
	for _, tc := range []struct {
		name            string
		unicast, shared bool
	}{{"unicast", true, false}, {"multicast", false, false}, {"hub", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			group := testnet.Group(t)
			addr, stop := runServer(t, netip.MustParseAddrPort("127.0.0.1:0"), group)
			var hub *MulticastHub
			if tc.shared {
				hub = NewMulticastHub()
				defer hub.Close()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := Dial(ctx, addr.String(), Config{
				SessionConfig:   SessionConfig{Name: "phoenix", Unicast: tc.unicast},
				MulticastIface:  "lo",
				SharedMulticast: hub,
				Reconnect:       true,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var snaps atomic.Int64
			c.OnSnapshot(func(*wire.Snapshot, int64, bool) { snaps.Add(1) })
			token := c.Accepted().GroupToken
			pose := func() {
				in := wire.PoseInput{Tracking: 7}
				in.Head.Rot.W, in.Hands[0].Rot.W, in.Hands[1].Rot.W = 1, 1, 1
				c.SendPose(&in)
			}
			if !wait.Until(5*time.Second, func() bool { pose(); return snaps.Load() > 0 }) {
				t.Fatal("no state before the restart")
			}
			stop()
			runServer(t, addr, group) // the same port, a new server
			restarted := time.Now()
			if !wait.Until(5*time.Second, func() bool {
				pose()
				return c.State() == Connected && c.Accepted().GroupToken != token
			}) {
				t.Fatalf("not reconnected: %v (%v), restarts %d", c.State(), c.Err(), c.Stats().Restarts)
			}
			took := time.Since(restarted)
			before := snaps.Load()
			if !wait.Until(5*time.Second, func() bool { pose(); return snaps.Load() > before }) {
				t.Fatal("no state after reconnecting")
			}
			select {
			case <-c.Done():
				t.Fatal("Done closed by a reconnect")
			default:
			}
			t.Logf("reconnected %v after the new server started; %d restarts", took, c.Stats().Restarts)
		})
	}
}

// TestUnknownSessionEnds: the server's clear Disconnect(UnknownSession)
// with the session's token ends a session (sealed or not: no key covers
// it), as lost, which a client may reconnect after; one with another
// token is not taken.
func TestUnknownSessionEnds(t *testing.T) {
	f := newFakeServer(t)
	s := NewSession(SessionConfig{Name: "ada", Nonce: testNonce})
	now := int64(1e9)
	f.connect(s, now)
	notice := func(token uint64) []byte {
		h := wire.Header{Type: wire.TypeDisconnect, Token: token}
		return (&wire.Disconnect{Reason: wire.DisconnectUnknownSession}).Append(h.Append(nil))
	}
	s.Handle(now, notice(f.token+1), now, false)
	if s.State() != Connected {
		t.Fatalf("a notice for another token ended the session: %v", s.State())
	}
	s.Handle(now, notice(f.token), now, false)
	if s.State() != Closed || !s.Lost() {
		t.Fatalf("after the notice: %v (%v), lost %v", s.State(), s.Err(), s.Lost())
	}
	s.Restart(now)
	if s.State() != Connecting || s.Stats().Restarts != 1 {
		t.Fatalf("after Restart: %v, %d restarts", s.State(), s.Stats().Restarts)
	}
}
