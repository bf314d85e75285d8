package server_test

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/internal/wait"
	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/tick"
	"github.com/arcadexr/arcade/wire"
)

// The RPC scenario: one client sends nButtons ButtonEvents (ClientTime = i)
// with a GrabRequest after every 25th, and one message of an unknown type.
// The server answers every button i with an Event to that client (Cue i),
// every 10th also with an Event to all (Cue 10000+i), and the last with a
// 200 KiB Text. Everything must arrive exactly once and in order.
const (
	nButtons  = 500
	grabEvery = 25 // 20 grab requests
	allEvery  = 10 // 50 events to all
	unknownID = 999
)

var bigText = []byte(strings.Repeat("0123456789abcdé", 200<<10/16)) // ≈200 KiB of UTF-8

// rpcServer records what the server's handlers saw, in order.
type rpcServer struct {
	mu  sync.Mutex
	srv *server.Server
	log []uint64 // button i as i, grab k as 1<<32|k
}

func (r *rpcServer) install(t testing.TB) {
	r.srv.HandleRPC(uint16(wire.RPCButtonEvent), func(now int64, from server.ClientRef, body []byte) {
		var m wire.ButtonEvent
		if _, err := m.Parse(body); err != nil {
			t.Errorf("button: %v", err)
			return
		}
		r.mu.Lock()
		r.log = append(r.log, m.ClientTime)
		r.mu.Unlock()
		i := m.ClientTime
		if err := r.srv.SendEvent(now, from, wire.Event{Kind: wire.EventSound, Cue: uint16(i), ServerTime: i}); err != nil {
			t.Errorf("SendEvent: %v", err)
		}
		if i%allEvery == 0 {
			if err := r.srv.SendEvent(now, server.All, wire.Event{Kind: wire.EventHaptic, Cue: uint16(10000 + i)}); err != nil {
				t.Errorf("SendEvent all: %v", err)
			}
		}
		if i == nButtons-1 {
			if err := r.srv.SendText(now, from, bigText); err != nil {
				t.Errorf("SendText: %v", err)
			}
		}
	})
	r.srv.HandleRPC(uint16(wire.RPCGrabRequest), func(now int64, from server.ClientRef, body []byte) {
		var m wire.GrabRequest
		if _, err := m.Parse(body); err != nil {
			t.Errorf("grab: %v", err)
			return
		}
		r.mu.Lock()
		r.log = append(r.log, 1<<32|uint64(m.Entity))
		r.mu.Unlock()
	})
}

// check verifies the server's log.
func (r *rpcServer) check(t testing.TB) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var want []uint64
	for i := range uint64(nButtons) {
		want = append(want, i)
		if i%grabEvery == grabEvery-1 {
			want = append(want, 1<<32|(i/grabEvery+1))
		}
	}
	if len(r.log) != len(want) {
		t.Fatalf("server handled %d messages, want %d", len(r.log), len(want))
	}
	for i := range want {
		if r.log[i] != want[i] {
			t.Fatalf("server message %d is %#x, want %#x", i, r.log[i], want[i])
		}
	}
	if n := r.srv.Stats().Dropped[server.DropUnknownRPC].Load(); n != 1 {
		t.Errorf("unknown_rpc drops: %d, want 1", n)
	}
}

// rpcClient records what a client received, in order.
type rpcClient struct {
	mu     sync.Mutex
	events []uint16
	text   []byte
	texts  int
	bad    int
}

func (c *rpcClient) onRPC(typ uint16, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch wire.RPCType(typ) {
	case wire.RPCEvent:
		var m wire.Event
		if _, err := m.Parse(body); err != nil {
			c.bad++
			return
		}
		c.events = append(c.events, m.Cue)
	case wire.RPCText:
		var m wire.Text
		if _, err := m.Parse(body); err != nil {
			c.bad++
			return
		}
		c.texts++
		c.text = bytes.Clone(m.Text)
	default:
		c.bad++
	}
}

// answered counts the events answering the sender's own buttons (the
// cues below 10000).
func (c *rpcClient) answered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, cue := range c.events {
		if cue < 10000 {
			n++
		}
	}
	return n
}

// handled counts the messages the server's handlers took.
func (r *rpcServer) handled() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.log)
}

// done reports whether the client got everything it is due.
func (c *rpcClient) done(sender bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sender {
		return len(c.events) == nButtons+nButtons/allEvery && c.texts == 1
	}
	return len(c.events) == nButtons/allEvery
}

func (c *rpcClient) check(t testing.TB, sender bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var want []uint16
	for i := range nButtons {
		if sender {
			want = append(want, uint16(i))
		}
		if i%allEvery == 0 {
			want = append(want, uint16(10000+i))
		}
	}
	if len(c.events) != len(want) || c.bad != 0 {
		t.Fatalf("sender %v: %d events (%d bad), want %d", sender, len(c.events), c.bad, len(want))
	}
	for i := range want {
		if c.events[i] != want[i] {
			t.Fatalf("sender %v: event %d is cue %d, want %d", sender, i, c.events[i], want[i])
		}
	}
	if sender && (c.texts != 1 || !bytes.Equal(c.text, bigText)) {
		t.Fatalf("text: %d received, %d bytes, want 1 of %d", c.texts, len(c.text), len(bigText))
	}
	if !sender && c.texts != 0 {
		t.Fatalf("bystander got %d texts", c.texts)
	}
}

// sendAll sends the client side of the scenario through send, a few
// messages per call of step, and reports whether it is finished.
type rpcSender struct {
	i       int
	unknown bool
}

func (s *rpcSender) step(t testing.TB, button func(i uint64) error, grab func(k uint16) error, raw func(typ uint16, body []byte) error) bool {
	for n := 0; n < 5 && s.i < nButtons; n++ {
		if err := button(uint64(s.i)); err != nil {
			t.Fatalf("button %d: %v", s.i, err)
		}
		if s.i%grabEvery == grabEvery-1 {
			if err := grab(uint16(s.i/grabEvery + 1)); err != nil {
				t.Fatalf("grab: %v", err)
			}
		}
		s.i++
	}
	if !s.unknown {
		s.unknown = true
		if err := raw(unknownID, []byte{1, 2, 3}); err != nil {
			t.Fatal(err)
		}
	}
	return s.i == nButtons
}

func buttonBody(i uint64) []byte {
	m := wire.ButtonEvent{Button: uint8(i), Down: i%2 == 0, ClientTime: i}
	return m.Append(nil)
}

func TestRPCTwin(t *testing.T) { rpcTwin(t, "") }

// rpcTwin runs the RPC scenario on the lossy twin, with the venue
// passphrase pass on both sides (empty: none).
func rpcTwin(t *testing.T, pass string) {
	e := &twinEnv{t: t, r: newRig(t, netsim.Config{Loss: 0.20, Delay: time.Millisecond, Jitter: time.Millisecond, Seed: 11}, server.Config{Passphrase: pass}), passphrase: pass}
	rs := &rpcServer{srv: e.r.srv}
	rs.install(t)
	a := e.join(t, "a", true).(*twinPeer)
	b := e.join(t, "b", false).(*twinPeer)
	var ca, cb rpcClient
	a.s.OnRPC(ca.onRPC)
	b.s.OnRPC(cb.onRPC)
	var snd rpcSender
	for i := 0; i < 60_000 && !(ca.done(true) && cb.done(false)); i++ {
		e.r.advance(time.Millisecond, e.step)
		now := e.r.net.Now()
		snd.step(t,
			func(i uint64) error {
				return a.s.SendRPC(now, wire.StreamControl, uint16(wire.RPCButtonEvent), buttonBody(i))
			},
			func(k uint16) error { return a.s.Grab(now, wire.Right, k) },
			func(typ uint16, body []byte) error { return a.s.SendRPC(now, wire.StreamControl, typ, body) })
		a.flush()
	}
	e.r.advance(100*time.Millisecond, e.step) // let duplicates show up, if any
	rs.check(t)
	ca.check(t, true)
	cb.check(t, false)
	if ns := e.r.net.Stats(); ns.Lost == 0 {
		t.Fatalf("no loss exercised: %+v", ns)
	}
	st := a.s.ReliableStats()
	if st.Retransmits == 0 {
		t.Error("no retransmits at 20 % loss")
	}
	var info server.ClientInfo
	e.r.advance(150*time.Millisecond, e.step) // a publish of the client list
	for _, ci := range e.r.srv.Stats().ClientList() {
		if ci.ID == a.id() {
			info = ci
		}
	}
	if info.MessagesIn == 0 || info.MessagesOut == 0 || info.Retransmits == 0 || info.BytesOut < uint64(len(bigText)) || info.ReliableRTTMs <= 0 {
		t.Errorf("client stats: %+v", info)
	}
	t.Logf("virtual time %v; client a: %+v", time.Duration(e.r.net.Now()-start), st)
}

func TestRPCLoopbackUDP(t *testing.T) {
	if testing.Short() {
		t.Skip("real-socket scenario skipped in -short mode")
	}
	conn, err := udp.Listen(udp.Config{Listen: netip.MustParseAddrPort("127.0.0.1:0"), Timestamps: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	srv, err := server.New(server.Config{NoMulticast: true, IdleTimeout: stallTimeout}, conn, tick.Now())
	if err != nil {
		t.Fatal(err)
	}
	rs := &rpcServer{srv: srv}
	rs.install(t)
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(ctx, conn.Fd()) }()
	defer func() {
		cancel()
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	dial := func(name string) *client.Client {
		c, err := client.Dial(ctx, conn.LocalAddr().String(), client.Config{SessionConfig: client.SessionConfig{Name: name, Unicast: true, ServerTimeout: stallTimeout}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b := dial("a"), dial("b")
	var ca, cb rpcClient
	// Every message a client takes wakes the sender.
	progress := make(chan struct{}, 1)
	onRPC := func(c *rpcClient) func(uint16, []byte) {
		return func(typ uint16, body []byte) {
			c.onRPC(typ, body)
			select {
			case progress <- struct{}{}:
			default:
			}
		}
	}
	a.OnRPC(onRPC(&ca))
	b.OnRPC(onRPC(&cb))
	// The sender keeps at most rpcWindow buttons unanswered: it sends the
	// next few once the server has answered enough of the earlier ones.
	const rpcWindow = 40
	var snd rpcSender
	timeout := time.After(30 * time.Second)
loop:
	for !(ca.done(true) && cb.done(false)) {
		if snd.i < nButtons && snd.i-ca.answered() < rpcWindow {
			snd.step(t,
				func(i uint64) error { return a.SendRPC(wire.StreamControl, uint16(wire.RPCButtonEvent), buttonBody(i)) },
				func(k uint16) error { return a.Grab(wire.Right, k) },
				func(typ uint16, body []byte) error { return a.SendRPC(wire.StreamControl, typ, body) })
			continue
		}
		select {
		case <-progress:
		case <-timeout:
			break loop // the checks below say what is missing
		}
	}
	// The last grab request follows the last button: the client has every
	// answer before the server may have handled it.
	want := nButtons + nButtons/grabEvery
	if !wait.Until(10*time.Second, func() bool { return rs.handled() >= want }) {
		t.Errorf("the server handled %d messages, want %d", rs.handled(), want)
	}
	// The handlers ran on Run's thread; rs.mu orders the reads.
	rs.check(t)
	ca.check(t, true)
	cb.check(t, false)
}
