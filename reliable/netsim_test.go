package reliable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/arcadexr/arcade/netsim"
)

// fillMessage writes message k's deterministic content: its number, then
// bytes derived from it.
func fillMessage(b []byte, k int) {
	var kb [4]byte
	binary.LittleEndian.PutUint32(kb[:], uint32(k))
	for i := range b {
		if i < 4 {
			b[i] = kb[i]
		} else {
			b[i] = byte(k*131 + i*7 + i>>9)
		}
	}
}

// plan is the messages one side sends: stream and size of each.
type plan struct {
	stream []int
	size   []int
}

func makePlan(seed uint64, n, streams int) plan {
	rng := rand.New(rand.NewPCG(seed, 7))
	var p plan
	for k := range n {
		var size int
		switch r := rng.IntN(100); {
		case k == 0:
			size = 1
		case k == 1:
			size = 200 << 10
		case r < 70:
			size = 1 + rng.IntN(64)
		case r < 90:
			size = 64 + rng.IntN(2048-64)
		case r < 99:
			size = 2048 + rng.IntN(14<<10)
		case rng.IntN(3) == 0:
			size = 200 << 10
		default:
			size = 16<<10 + rng.IntN(184<<10)
		}
		p.stream = append(p.stream, rng.IntN(streams))
		p.size = append(p.size, size)
	}
	return p
}

// flow sends a plan from one node and checks its delivery at the other.
type flow struct {
	t       testing.TB
	p       plan
	next    int    // next message to Send
	pending []byte // content of message next, generated once
	want    [][]int
	got     []int // per stream: messages delivered
	done    int
	scratch []byte
	unrel   int
}

func newFlow(t testing.TB, p plan, streams int) *flow {
	f := &flow{t: t, p: p, want: make([][]int, streams), got: make([]int, streams)}
	for k, s := range p.stream {
		f.want[s] = append(f.want[s], k)
	}
	return f
}

// feed queues messages until the sender's queue is full.
func (f *flow) feed(ep *Endpoint, now int64) {
	for f.next < len(f.p.size) {
		if f.pending == nil {
			f.pending = make([]byte, f.p.size[f.next])
			fillMessage(f.pending, f.next)
		}
		err := ep.Send(now, f.p.stream[f.next], f.pending)
		if errors.Is(err, ErrQueueFull) {
			return
		}
		if err != nil {
			f.t.Fatalf("Send %d: %v", f.next, err)
		}
		f.pending = nil
		f.next++
	}
}

// check is the Receive callback: in order, exactly once, intact.
func (f *flow) check(stream int, msg []byte) {
	if stream == UnreliableStream {
		f.unrel++
		return
	}
	i := f.got[stream]
	if i >= len(f.want[stream]) {
		f.t.Fatalf("stream %d: message %d delivered, only %d were sent", stream, i, len(f.want[stream]))
	}
	k := f.want[stream][i]
	if len(msg) != f.p.size[k] {
		f.t.Fatalf("stream %d: delivery %d (message %d) has %d bytes, want %d", stream, i, k, len(msg), f.p.size[k])
	}
	f.scratch = slices.Grow(f.scratch[:0], len(msg))[:len(msg)]
	fillMessage(f.scratch, k)
	if !bytes.Equal(msg, f.scratch) {
		f.t.Fatalf("stream %d: delivery %d (message %d, %d bytes) has wrong content", stream, i, k, len(msg))
	}
	f.got[stream]++
	f.done++
}

type fragKey struct {
	dir    int
	stream int
	id     uint16
	index  int
}

type firstSend struct {
	at    int64
	trace uint64
}

// TestNetsimExactlyOnceInOrder sends 10 000 messages of 1 B to 200 KiB one
// way and 2 000 back over a network with 20 % loss, 5 % duplicates and
// jitter, checks exactly-once in-order intact delivery, and bounds the
// resend delay of lost fragments by 3 RTT.
func TestNetsimExactlyOnceInOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		jitter time.Duration
		seed   uint64
	}{
		{"jitter=1ms", time.Millisecond, 42},        // heavy reordering
		{"jitter=100us", 100 * time.Microsecond, 7}, // little reordering
	} {
		t.Run(tc.name, func(t *testing.T) { testNetsim(t, tc.jitter, tc.seed) })
	}
}

func testNetsim(t *testing.T, jitter time.Duration, seed uint64) {
	const (
		oneWay   = time.Millisecond
		loss     = 0.2
		nForward = 10000
		nBack    = 2000
		streams  = 4
	)
	net := netsim.New(netsim.Config{Loss: loss, Duplicate: 0.05, Delay: oneWay, Jitter: jitter, Seed: seed}, 0)
	cfg := Config{Streams: streams}
	a := newNode(t, cfg, net, "10.0.0.1:1", "10.0.0.2:1")
	b := newNode(t, cfg, net, "10.0.0.2:1", "10.0.0.1:1")
	fwd := newFlow(t, makePlan(seed, nForward, streams), streams)
	back := newFlow(t, makePlan(seed+1, nBack, streams), streams)

	// Trace every reliable fragment's first send and first resend, and
	// every datagram the network delivered.
	first := map[fragKey]firstSend{}
	resent := map[fragKey]int64{}
	delivered := [2]map[uint64]bool{{}, {}}
	trace := func(dir int) func(uint64, int64, []byte) {
		return func(tr uint64, now int64, payload []byte) {
			cs, ok := refParse(payload)
			if !ok {
				t.Fatalf("Poll built a payload the reference parser rejects: %x", payload)
			}
			for _, c := range cs {
				if c.stream == UnreliableStream {
					continue
				}
				k := fragKey{dir, c.stream, c.id, c.index}
				if _, ok := first[k]; !ok {
					first[k] = firstSend{now, tr}
				} else if _, ok := resent[k]; !ok {
					resent[k] = now
				}
			}
		}
	}
	a.onSend, b.onSend = trace(0), trace(1)
	b.onRecv = func(tr uint64) { delivered[0][tr] = true }
	a.onRecv = func(tr uint64) { delivered[1][tr] = true }

	const limit = int64(60 * time.Second)
	for fwd.done < nForward || back.done < nBack {
		now := net.Now()
		if now > limit {
			t.Fatalf("not done after %v virtual: forward %d/%d, back %d/%d", time.Duration(limit), fwd.done, nForward, back.done, nBack)
		}
		b.ep.Receive(fwd.check)
		a.ep.Receive(back.check)
		fwd.feed(a.ep, now)
		back.feed(b.ep, now)
		if !step(t, net, a, b) {
			t.Fatal("nothing scheduled but messages missing")
		}
	}
	finish := net.Now()
	// Run to quiescence: every message acknowledged, nothing scheduled.
	for step(t, net, a, b) {
		if net.Now() > finish+int64(10*time.Second) {
			t.Fatal("no quiescence 10 s after the last delivery")
		}
	}
	for i, n := range []*node{a, b} {
		if st := n.ep.Stats(); st.QueueBytes != 0 || st.InFlight != 0 || st.MessagesAcked != [2]uint64{nForward, nBack}[i] {
			t.Errorf("endpoint %d at rest: queue %d bytes, %d in flight, %d acknowledged", i, st.QueueBytes, st.InFlight, st.MessagesAcked)
		}
	}

	// Resend delay of fragments whose first send the network lost.
	var delays []time.Duration
	for k, fs := range first {
		if delivered[k.dir][fs.trace] {
			continue
		}
		r, ok := resent[k]
		if !ok {
			t.Fatalf("fragment %+v lost on first send and never resent", k)
		}
		delays = append(delays, time.Duration(r-fs.at))
	}
	slices.Sort(delays)
	pct := func(p float64) time.Duration { return delays[int(p*float64(len(delays)-1))] }
	rtt := 2*oneWay + jitter // mean RTT: two delays plus two mean jitters of J/2
	sa, sb := a.ep.Stats(), b.ep.Stats()
	var bytesFwd int
	for _, s := range fwd.p.size {
		bytesFwd += s
	}
	t.Logf("network: %.0f%% loss, 5%% duplicates, one-way %v + [0,%v) jitter, mean RTT %v", loss*100, oneWay, jitter, rtt)
	t.Logf("done at %v virtual (%d + %d messages, %.1f MB forward), quiescent at %v", time.Duration(finish), nForward, nBack, float64(bytesFwd)/1e6, time.Duration(net.Now()))
	t.Logf("resend delay of %d lost fragments: p50 %v, p90 %v, p99 %v, max %v (bound 3×RTT = %v)", len(delays), pct(.5), pct(.9), pct(.99), delays[len(delays)-1], 3*rtt)
	t.Logf("A: srtt %v rttvar %v jitter %v rto %v loss %.3f; packets out %d lost %d (spurious %d), fragments resent %d", sa.RTT, sa.RTTVar, sa.Jitter, sa.RTO, sa.Loss, sa.PacketsOut, sa.PacketsLost, sa.SpuriousLosses, sa.Retransmits)
	t.Logf("B: packets in %d, duplicate packets %d, duplicate fragments %d, refused %d", sb.PacketsIn, sb.DuplicatePackets, sb.DuplicateFragments, sb.Refused)
	if p := pct(.99); p > 3*rtt {
		t.Errorf("resend delay p99 %v > 3×RTT %v", p, 3*rtt)
	}
}
