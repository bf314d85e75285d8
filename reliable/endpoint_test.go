package reliable

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arcadexr/arcade/netsim"
)

func mustNew(t testing.TB, cfg Config) *Endpoint {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg   Config
		field string
	}{
		{Config{Streams: -1}, "Config.Streams"},
		{Config{Streams: 128}, "Config.Streams"},
		{Config{MTU: 63}, "Config.MTU"},
		{Config{MTU: 70000}, "Config.MTU"},
		{Config{MaxMessage: -5}, "Config.MaxMessage"},
		{Config{MaxMessage: MaxMessageLimit + 1}, "Config.MaxMessage"},
		{Config{MTU: 64, MaxMessage: 4 << 20}, "Config.MaxMessage"},
		{Config{MaxMessage: 1 << 20, SendQueueBytes: 1000}, "Config.SendQueueBytes"},
		{Config{SendQueueBytes: -1}, "Config.SendQueueBytes"},
		{Config{RecvBufferBytes: -1}, "Config.RecvBufferBytes"},
		{Config{MinRTO: -time.Millisecond}, "Config.MinRTO"},
		{Config{MinRTO: 10 * time.Millisecond, MaxRTO: time.Millisecond}, "Config.MaxRTO"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tc.cfg, err, tc.field)
		}
	}
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Streams: 4, MaxMessage: 256 << 10, SendQueueBytes: 1 << 20, RecvBufferBytes: 1 << 20, MinRTO: 5 * time.Millisecond, MaxRTO: 500 * time.Millisecond, MTU: 1150}
	if got := e.Config(); got != want {
		t.Errorf("defaults %+v, want %+v", got, want)
	}
}

func TestSendErrors(t *testing.T) {
	e := mustNew(t, Config{MaxMessage: 1000, SendQueueBytes: 2000, MTU: 200})
	if err := e.Send(0, 0, make([]byte, 1001)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Send 1001 bytes, MaxMessage 1000: %v, want ErrTooLarge", err)
	}
	for _, s := range []int{-1, 4, UnreliableStream} {
		if err := e.Send(0, s, nil); !errors.Is(err, ErrStream) {
			t.Errorf("Send on stream %d: %v, want ErrStream", s, err)
		}
	}
	if err := e.SendUnreliable(0, make([]byte, 200-ChunkHeaderSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("SendUnreliable larger than a datagram: %v, want ErrTooLarge", err)
	}
	if err := e.SendUnreliable(0, make([]byte, 200-ChunkHeaderSize)); err != nil {
		t.Errorf("SendUnreliable filling a datagram: %v", err)
	}
	// The byte bound: 1000 + 1000 fit, one more byte does not, and the
	// failed Send queues nothing.
	for i := range 2 {
		if err := e.Send(0, 1, make([]byte, 1000)); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	if err := e.Send(0, 1, []byte{1}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Send beyond SendQueueBytes: %v, want ErrQueueFull", err)
	}
	if q := e.Stats().QueueBytes; q != 2000+200-ChunkHeaderSize {
		t.Errorf("QueueBytes %d after a refused Send, want %d", q, 2000+200-ChunkHeaderSize)
	}
	if err := e.Send(0, 2, []byte{1}); err != nil {
		t.Errorf("another stream is not full: %v", err)
	}
	// The count bound.
	for i := range MaxQueuedMessages {
		if err := e.Send(0, 3, nil); err != nil {
			t.Fatalf("empty message %d: %v", i, err)
		}
	}
	if err := e.Send(0, 3, nil); !errors.Is(err, ErrQueueFull) {
		t.Errorf("message %d: %v, want ErrQueueFull", MaxQueuedMessages+1, err)
	}
	for i := range MaxQueuedUnreliable - 1 {
		if err := e.SendUnreliable(0, nil); err != nil {
			t.Fatalf("unreliable %d: %v", i, err)
		}
	}
	if err := e.SendUnreliable(0, nil); !errors.Is(err, ErrQueueFull) {
		t.Errorf("unreliable %d: %v, want ErrQueueFull", MaxQueuedUnreliable+1, err)
	}
}

// TestQueueFreesOnAck: a full queue accepts again once the peer has
// acknowledged.
func TestQueueFreesOnAck(t *testing.T) {
	p := newPipe(t, Config{MaxMessage: 1000, SendQueueBytes: 1000})
	if err := p.a.Send(0, 0, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := p.a.Send(0, 0, []byte{1}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("%v, want ErrQueueFull", err)
	}
	for range 30 {
		p.round(int64(100 * time.Microsecond))
	}
	if q := p.a.Stats().QueueBytes; q != 0 {
		t.Fatalf("QueueBytes %d after acknowledgement", q)
	}
	if err := p.a.Send(p.now, 0, []byte{1}); err != nil {
		t.Fatal(err)
	}
}

func TestGoldenPayload(t *testing.T) {
	// The package doc's example.
	b := appendChunk(nil, 2, 7, []byte("hi"))
	b = appendChunk(b, UnreliableStream, 300, []byte{0xaa})
	if got, want := hex.EncodeToString(b), "02070002006869"+"7f2c010100aa"; got != want {
		t.Errorf("doc example: %s, want %s", got, want)
	}
	// What Poll builds: unreliable first, then stream messages.
	e := mustNew(t, Config{MTU: 64})
	must(t, e.Send(0, 2, []byte("hi")))
	must(t, e.SendUnreliable(0, []byte{0xaa}))
	out, seq, ok := e.Poll(0, nil)
	if got, want := hex.EncodeToString(out), "7f00000100aa"+"02000002006869"; !ok || seq != 0 || got != want {
		t.Errorf("Poll = %s, %d, %v; want %s, 0, true", got, seq, ok, want)
	}
	// A 60-byte message with MTU 64 is two fragments of 51 and 9 bytes.
	msg := make([]byte, 60)
	for i := range msg {
		msg[i] = byte(i)
	}
	must(t, e.Send(0, 1, msg))
	out, seq, _ = e.Poll(0, nil)
	want := "810000" + "3300" + "3c000000" + "3300" + "0000" + hex.EncodeToString(msg[:51])
	if got := hex.EncodeToString(out); seq != 1 || got != want {
		t.Errorf("fragment 0 = %s (seq %d), want %s", got, seq, want)
	}
	out, _, _ = e.Poll(0, nil)
	want = "810000" + "0900" + "3c000000" + "3300" + "0100" + hex.EncodeToString(msg[51:])
	if got := hex.EncodeToString(out); got != want {
		t.Errorf("fragment 1 = %s, want %s", got, want)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestMalformedPayloads(t *testing.T) {
	e := mustNew(t, Config{MaxMessage: 1000})
	for _, tc := range []struct{ name, hex string }{
		{"short header", "0000"},
		{"data shorter than length", "0000000300aabb"},
		{"stream 4 of 4", "04000000 00"},
		{"stream 126", "7e0000 0000"},
		{"unreliable fragment", "ff0000 0100 01000000 0100 0000 aa"},
		{"msgLen 0", "800000 0100 00000000 0100 0000 aa"},
		{"fragSize 0", "800000 0100 02000000 0000 0000 aa"},
		{"index past the end", "800000 0100 02000000 0100 0200 aa"},
		{"wrong fragment length", "800000 0200 03000000 0200 0100 aabb"},
		{"msgLen over MaxMessage", "800000 0100 e9030000 0100 0000 aa"},
		{"good then truncated", "0000000100aa 01"},
	} {
		p, err := hex.DecodeString(strings.ReplaceAll(tc.hex, " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.OnDatagram(0, 5, 0, 0, p); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", tc.name, err)
		}
		if _, ok := refParse(p); ok && !strings.Contains(tc.name, "stream") && !strings.Contains(tc.name, "Max") {
			t.Errorf("%s: the reference parser accepts it", tc.name)
		}
	}
	if ack, bits := e.Ack(); ack != 0xFFFF || bits != 0 {
		t.Errorf("malformed payloads were acknowledged: %d %b", ack, bits)
	}
	e.Receive(func(s int, m []byte) { t.Errorf("delivered %d %x from malformed payloads", s, m) })
	if st := e.Stats(); st.Malformed != 11 {
		t.Errorf("Malformed = %d, want 11", st.Malformed)
	}
}

// TestAckTiming: a pure acknowledgement after AckDelay for one packet, at
// once for the second, at once for one out of order.
func TestAckTiming(t *testing.T) {
	e := mustNew(t, Config{})
	one := appendChunk(nil, 0, 0, []byte("x"))
	must(t, e.OnDatagram(0, 0, 0xFFFF, 0, one))
	if _, _, ok := e.Poll(0, nil); ok {
		t.Fatal("acknowledged at once after one packet")
	}
	if nt := e.NextTimeout(); nt != int64(AckDelay) {
		t.Fatalf("NextTimeout %d, want AckDelay %d", nt, AckDelay)
	}
	if out, seq, ok := e.Poll(int64(AckDelay), nil); !ok || len(out) != 0 || seq != 0 {
		t.Fatalf("Poll at AckDelay = %x, %d, %v; want a pure acknowledgement", out, seq, ok)
	}
	if ack, bits := e.Ack(); ack != 0 || bits != 0 {
		t.Errorf("Ack = %d %b, want 0 0", ack, bits)
	}
	now := int64(2 * AckDelay)
	must(t, e.OnDatagram(now, 1, 0xFFFF, 0, appendChunk(nil, 0, 1, nil)))
	must(t, e.OnDatagram(now, 2, 0xFFFF, 0, appendChunk(nil, 0, 2, nil)))
	if _, seq, ok := e.Poll(now, nil); !ok || seq != 1 {
		t.Fatalf("no immediate acknowledgement after two packets")
	}
	must(t, e.OnDatagram(now, 5, 0xFFFF, 0, appendChunk(nil, 0, 3, nil)))
	if _, _, ok := e.Poll(now, nil); !ok {
		t.Fatalf("no immediate acknowledgement after a gap")
	}
	if ack, bits := e.Ack(); ack != 5 || bits != 0b11100 {
		t.Errorf("Ack = %d %b, want 5 11100", ack, bits)
	}
	// A packet without reliable data is recorded but not acknowledged
	// on its own.
	must(t, e.OnDatagram(now, 6, 0xFFFF, 0, nil))
	if _, _, ok := e.Poll(now+int64(time.Second), nil); ok {
		t.Error("a packet without reliable data made Poll send")
	}
	if ack, _ := e.Ack(); ack != 6 {
		t.Errorf("Ack %d, want 6", ack)
	}
}

// TestRefusedNotAcked: a packet with a chunk beyond the receive budget is
// not acknowledged; the chunk is accepted once the window moves.
func TestRefusedNotAcked(t *testing.T) {
	e := mustNew(t, Config{MaxMessage: 1000, SendQueueBytes: 1000})
	big := func(id uint16) []byte { return appendChunk(nil, 0, id, bytes.Repeat([]byte{byte(id)}, 600)) }
	must(t, e.OnDatagram(0, 0, 0xFFFF, 0, big(1)))
	must(t, e.OnDatagram(0, 1, 0xFFFF, 0, big(2))) // 600 + 600 > 1000 buffered ahead
	if ack, bits := e.Ack(); ack != 0 || bits != 0 {
		t.Fatalf("Ack %d %b: packet 1 was acknowledged though refused", ack, bits)
	}
	if st := e.Stats(); st.Refused != 1 {
		t.Errorf("Refused %d, want 1", st.Refused)
	}
	must(t, e.OnDatagram(0, 2, 0xFFFF, 0, appendChunk(nil, 0, 0, []byte("first"))))
	var got []string
	e.Receive(func(_ int, m []byte) { got = append(got, string(m[:min(5, len(m))])) })
	must(t, e.OnDatagram(0, 3, 0xFFFF, 0, big(2)))
	e.Receive(func(_ int, m []byte) { got = append(got, string(m[:min(5, len(m))])) })
	want := []string{"first", "\x01\x01\x01\x01\x01", "\x02\x02\x02\x02\x02"}
	if !slices.Equal(got, want) {
		t.Errorf("delivered %q, want %q", got, want)
	}
	if ack, bits := e.Ack(); ack != 3 || bits != 0b101 {
		t.Errorf("Ack %d %b, want 3 101", ack, bits)
	}
}

// TestFastRetransmit: when three later packets are acknowledged, the lost
// one's fragment is resent at once, not after an RTO.
func TestFastRetransmit(t *testing.T) {
	a, b := mustNew(t, Config{}), mustNew(t, Config{})
	var pkts [][]byte
	var seqs []uint16
	for i := range 5 {
		must(t, a.Send(0, 0, bytes.Repeat([]byte{byte(i)}, 1100)))
	}
	for {
		out, seq, ok := a.Poll(0, nil)
		if !ok {
			break
		}
		pkts, seqs = append(pkts, out), append(seqs, seq)
	}
	if len(pkts) != 5 {
		t.Fatalf("%d packets, want 5", len(pkts))
	}
	now := int64(2 * time.Millisecond)
	for i := 1; i < 5; i++ { // packet 0 is lost
		must(t, b.OnDatagram(now, seqs[i], 0xFFFF, 0, pkts[i]))
	}
	_, seq, ok := b.Poll(now, nil)
	if !ok {
		t.Fatal("no acknowledgement")
	}
	ack, bits := b.Ack()
	now += int64(2 * time.Millisecond)
	must(t, a.OnDatagram(now, seq, ack, bits, nil))
	out, _, ok := a.Poll(now, nil)
	if !ok || len(out) < 6 || out[ChunkHeaderSize] != 0 {
		t.Fatalf("no resend of message 0 at once: %v %x", ok, out[:min(len(out), 8)])
	}
	if st := a.Stats(); st.Retransmits != 1 || st.PacketsLost != 1 || st.RTT != 4*time.Millisecond {
		t.Errorf("stats %+v", st)
	}
}

// TestRTOBackoff: with no acknowledgements, a fragment is resent after
// RTO, 2·RTO, 4·RTO, … capped at MaxRTO.
func TestRTOBackoff(t *testing.T) {
	e := mustNew(t, Config{MinRTO: 5 * time.Millisecond, MaxRTO: 200 * time.Millisecond})
	must(t, e.Send(0, 0, []byte("grab")))
	var sends []int64
	now := int64(0)
	for len(sends) < 7 {
		if _, _, ok := e.Poll(now, nil); ok {
			sends = append(sends, now)
		}
		now = e.NextTimeout()
	}
	rto := int64(InitialRTT + 4*InitialRTT/2) // before any RTT sample
	var gaps []time.Duration
	for i := 1; i < len(sends); i++ {
		gaps = append(gaps, time.Duration(sends[i]-sends[i-1]))
	}
	want := []time.Duration{time.Duration(rto), time.Duration(2 * rto), time.Duration(4 * rto), 200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond}
	if !slices.Equal(gaps, want) {
		t.Errorf("resend gaps %v, want %v", gaps, want)
	}
}

// TestUnreliableNewestWins: crafted arrivals out of order.
func TestUnreliableNewestWins(t *testing.T) {
	e := mustNew(t, Config{})
	var got []string
	recv := func() {
		e.Receive(func(s int, m []byte) {
			if s != UnreliableStream {
				t.Errorf("stream %d", s)
			}
			got = append(got, string(m))
		})
	}
	seq := uint16(0)
	arrive := func(id uint16, m string) {
		must(t, e.OnDatagram(0, seq, 0xFFFF, 0, appendChunk(nil, UnreliableStream, id, []byte(m))))
		seq++
	}
	arrive(5, "five")
	recv()
	arrive(3, "three") // older than delivered: dropped
	recv()
	arrive(7, "seven")
	arrive(8, "eight") // newer before Receive: only it is delivered
	arrive(6, "six")
	recv()
	recv()
	if want := []string{"five", "eight"}; !slices.Equal(got, want) {
		t.Errorf("delivered %q, want %q", got, want)
	}
	// A jump of more than ResyncDistance back is a wrap, not a late one.
	newest := uint16(8)
	arrive(newest-ResyncDistance, "resync")
	recv()
	if got[len(got)-1] != "resync" {
		t.Errorf("after a jump: %q", got)
	}
}

// TestUnreliableOverNetsim: over a lossy, reordering network an older
// unreliable message is never delivered after a newer one, while reliable
// traffic shares the datagrams.
func TestUnreliableOverNetsim(t *testing.T) {
	net := netsim.New(netsim.Config{Loss: 0.2, Duplicate: 0.1, Delay: time.Millisecond, Jitter: 4 * time.Millisecond, Seed: 3}, 0)
	a := newNode(t, Config{}, net, "10.0.0.1:1", "10.0.0.2:1")
	b := newNode(t, Config{}, net, "10.0.0.2:1", "10.0.0.1:1")
	const n = 3000
	last, delivered, reliable := -1, 0, 0
	check := func(s int, m []byte) {
		if s != UnreliableStream {
			reliable++
			return
		}
		k := int(binary.LittleEndian.Uint32(m))
		if k <= last {
			t.Fatalf("unreliable %d delivered after %d", k, last)
		}
		last = k
		delivered++
	}
	var buf [8]byte
	for k := 0; k < n; k++ {
		now := net.Now()
		binary.LittleEndian.PutUint32(buf[:], uint32(k))
		must(t, a.ep.SendUnreliable(now, buf[:4+k%5]))
		if k%10 == 0 {
			must(t, a.ep.Send(now, k%4, buf[:]))
		}
		a.flush(now)
		// Datagrams leave every 250 µs; the receiver reads every 500 µs.
		net.SetNow(now + int64(250*time.Microsecond))
		b.recv(t)
		b.flush(net.Now())
		a.recv(t)
		if k%2 == 0 {
			b.ep.Receive(check)
		}
	}
	for step(t, net, a, b) {
		b.ep.Receive(check)
	}
	st := b.ep.Stats()
	t.Logf("%d of %d unreliable delivered, %d stale dropped, %d reliable", delivered, n, st.StaleUnreliable, reliable)
	if st.StaleUnreliable == 0 {
		t.Error("no unreliable message arrived out of order: the test does not exercise the rule")
	}
	if delivered < n/5 || reliable != n/10 {
		t.Errorf("delivered %d unreliable (want ≥ %d), %d reliable (want %d)", delivered, n/5, reliable, n/10)
	}
}

// TestRepeatedAcks: acknowledgements repeated by every later datagram (the
// peer received nothing new) change nothing: the packets stay acknowledged,
// no further RTT sample is taken, and a new acknowledgement still applies.
func TestRepeatedAcks(t *testing.T) {
	a := mustNew(t, Config{})
	var seqs []uint16
	for i := range 3 {
		must(t, a.Send(0, 0, []byte{byte(i)}))
		_, seq, ok := a.Poll(0, nil)
		if !ok {
			t.Fatal("nothing to send")
		}
		seqs = append(seqs, seq)
	}
	now := int64(time.Millisecond)
	a.OnAcks(now, seqs[1], 1) // 0 and 1
	first := a.Stats()
	for range 50 {
		now += int64(time.Microsecond) // well within loss detection's wait
		a.OnAcks(now, seqs[1], 1)
	}
	if st := a.Stats(); st.RTTSamples != first.RTTSamples || st.RTT != first.RTT || st.InFlight != 1 || st.PacketsLost != 0 {
		t.Errorf("after repeated acks %+v, first %+v", st, first)
	}
	a.OnAcks(now, seqs[2], 3)
	if st := a.Stats(); st.InFlight != 0 || st.RTTSamples != first.RTTSamples+1 || st.QueueBytes != 0 {
		t.Errorf("after the new ack %+v", st)
	}
}
