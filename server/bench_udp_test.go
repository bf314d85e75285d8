package server_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/internal/testnet"
	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/statesync"
	"github.com/arcadexr/arcade/tick"
	"github.com/arcadexr/arcade/wire"
)

// udpHotPath connects n headsets to a server over real loopback sockets,
// driving the server by hand (no event loop) so a benchmark can time
// receive → tick → send including the system calls.
type udpHotPath struct {
	srv     *server.Server
	conn    *udp.Conn
	clients []*udp.Conn
	sess    []*client.Session
	out     *udp.Batch
	in      *udp.Batch
}

// step runs the server on what arrived, then its next tick at once (the
// time passed in runs ahead of the clock: the test does not wait for the
// deadline).
func (h *udpHotPath) step() {
	now := tick.Now()
	h.srv.Step(now)
	h.srv.Step(max(now, h.srv.NextTick()))
}

// newUDPHotPathSealed is the hot path over real UDP, with a venue
// passphrase (none if empty: nothing sealed; else every session datagram
// sealed).
func newUDPHotPathSealed(tb testing.TB, n int, unicast bool, passphrase string) *udpHotPath {
	tb.Helper()
	group := testnet.Group(tb) // this run's own: its snapshots reach no other run's receivers
	conn, err := udp.Listen(udp.Config{Listen: netip.MustParseAddrPort("127.0.0.1:0"), Timestamps: true, MulticastIface: "lo"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	srv, err := server.New(server.Config{Multicast: group, MaxClients: n, Passphrase: passphrase}, conn, tick.Now())
	if err != nil {
		tb.Fatal(err)
	}
	h := &udpHotPath{srv: srv, conn: conn, out: udp.NewBatch(1, wire.MaxDatagramSize), in: udp.NewBatch(16, wire.MaxDatagramSize+1)}
	for i := range n {
		c, err := udp.Listen(udp.Config{Listen: netip.MustParseAddrPort("127.0.0.1:0")})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { c.Close() })
		s := client.NewSession(client.SessionConfig{Name: fmt.Sprintf("b%d", i), Unicast: unicast, Passphrase: passphrase})
		h.clients = append(h.clients, c)
		h.sess = append(h.sess, s)
		s.Start(client.Now())
		for try := 0; try < 200 && s.State() == client.Connecting; try++ {
			h.flushClient(i)
			srv.Step(tick.Now())
			h.drainClient(i)
			s.Update(client.Now())
		}
		if s.State() != client.Connected {
			tb.Fatalf("client %d: %v", i, s.Err())
		}
	}
	return h
}

func (h *udpHotPath) flushClient(i int) {
	h.sess[i].Outgoing(func(b []byte) {
		m := &h.out.Msgs[0]
		m.N = copy(m.Buf[:cap(m.Buf)], b)
		m.Addr = h.conn.LocalAddr()
		h.clients[i].WriteBatch(h.out, 1)
	})
}

func (h *udpHotPath) drainClient(i int) {
	for {
		n, _ := h.clients[i].ReadBatch(h.in)
		if n == 0 {
			return
		}
		for _, m := range h.in.Msgs[:n] {
			h.sess[i].Handle(client.Now(), m.Buf[:m.N], m.RxTime, false)
		}
	}
}

// BenchmarkReceiveTickSendUDP is BenchmarkReceiveTickSend over real
// loopback sockets: every headset's pose is sent, the server reads them
// with recvmmsg, ticks, and sends the snapshot with sendmmsg. Only the
// server's part is timed; ns/op and allocs/op are per received datagram.
// The sealed cases compare with the open ones of the same run.
func BenchmarkReceiveTickSendUDP(b *testing.B) {
	for _, tc := range []struct {
		name    string
		clients int
		unicast bool
		pass    string
	}{{"multicast-16", 16, false, ""}, {"unicast-16", 16, true, ""},
		// A venue passphrase: sessions sealed, the group's datagrams
		// sealed and signed (the cost of the signature per tick).
		{"sealed-multicast-16", 16, false, "bench"}, {"sealed-unicast-16", 16, true, "bench"}} {
		b.Run(tc.name, func(b *testing.B) {
			h := newUDPHotPathSealed(b, tc.clients, tc.unicast, tc.pass)
			var in wire.PoseInput
			in.Head.Rot.W, in.Hands[0].Rot.W, in.Hands[1].Rot.W = 1, 1, 1
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += tc.clients {
				b.StopTimer()
				for c := range h.clients {
					h.sess[c].SendPose(client.Now(), &in)
					h.flushClient(c)
				}
				b.StartTimer()
				h.step()
				b.StopTimer()
				for c := range h.clients {
					h.drainClient(c)
				}
				b.StartTimer()
			}
			if h.srv.Stats().ServerAdded.Count() == 0 {
				b.Fatal("no input was applied")
			}
		})
	}
}

// TestHotPathAllocationFreeSealed: with a venue passphrase, a whole round
// over real loopback sockets (poses sealed and sent, the server opening
// them, ticking and sealing the snapshot, the clients opening it) does not
// allocate.
func TestHotPathAllocationFreeSealed(t *testing.T) {
	for _, unicast := range []bool{false, true} {
		h := newUDPHotPathSealed(t, 4, unicast, "lantern orchard")
		var in wire.PoseInput
		in.Head.Rot.W, in.Hands[0].Rot.W, in.Hands[1].Rot.W = 1, 1, 1
		round := func() {
			for c := range h.clients {
				h.sess[c].SendPose(client.Now(), &in)
				h.flushClient(c)
			}
			h.step()
			for c := range h.clients {
				h.drainClient(c)
			}
		}
		// Settle: every buffer at its working size, the clients' rings of
		// held ticks (64 of them, each filled once) included.
		for start := time.Now(); time.Since(start) < time.Second || h.srv.Stats().Ticks.Load() < 2*statesync.Window; {
			round()
		}
		if allocs := testing.AllocsPerRun(100, round); allocs != 0 {
			t.Errorf("unicast=%v: %.1f allocations per sealed round, want 0", unicast, allocs)
		}
		st := h.srv.Stats()
		if st.ServerAdded.Count() == 0 {
			t.Fatal("no input was applied")
		}
		for _, r := range []server.DropReason{server.DropBadSeal, server.DropUnsealed} {
			if n := st.Dropped[r].Load(); n != 0 {
				t.Fatalf("%v drops: %d", r, n)
			}
		}
	}
}
