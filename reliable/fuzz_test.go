package reliable

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var updateSeeds = flag.Bool("update", false, "rewrite the fuzz seed corpus in testdata/fuzz/FuzzOnDatagram")

// A fuzz input is a sequence of datagrams, each
//
//	seq u16, ack u16, ackBits u32, length u16, payload[length]
//
// (little-endian); a last record shorter than its length takes what is
// left.
const fuzzRecordHeader = 10

func appendFuzzRecord(b []byte, seq, ack uint16, bits uint32, payload []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, seq)
	b = binary.LittleEndian.AppendUint16(b, ack)
	b = binary.LittleEndian.AppendUint32(b, bits)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(payload)))
	return append(b, payload...)
}

// fuzzModel remembers every chunk of every well-formed payload fed in, as
// read by refParse: what a delivered message may be built from.
type fuzzModel struct {
	whole map[[2]int][][]byte
	frags map[[5]int][][]byte // stream, id, msgLen, fragSize, index
	unrel [][]byte
}

func (m *fuzzModel) add(cs []refChunk) {
	for _, c := range cs {
		switch {
		case c.stream == UnreliableStream:
			m.unrel = append(m.unrel, c.data)
		case c.frag:
			k := [5]int{c.stream, int(c.id), c.msgLen, c.fragSize, c.index}
			m.frags[k] = append(m.frags[k], c.data)
		default:
			k := [2]int{c.stream, int(c.id)}
			m.whole[k] = append(m.whole[k], c.data)
		}
	}
}

func anyEqual(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}

// sent reports whether msg, delivered as message id of stream s, can be
// built from chunks that arrived: whole, or every fragment of one cut.
func (m *fuzzModel) sent(s int, id uint16, msg []byte) bool {
	if anyEqual(m.whole[[2]int{s, int(id)}], msg) {
		return true
	}
	for k := range m.frags {
		if k[0] != s || k[1] != int(id) || k[2] != len(msg) || k[4] != 0 {
			continue
		}
		fs, ok := k[3], true
		for i := 0; ok && i*fs < len(msg); i++ {
			ok = anyEqual(m.frags[[5]int{s, int(id), len(msg), fs, i}], msg[i*fs:min(len(msg), (i+1)*fs)])
		}
		if ok {
			return true
		}
	}
	return false
}

// fuzzSender is the endpoint whose genuine traffic the seeds hold; the
// fuzzed endpoint has sent the same traffic, so acknowledgements meet
// packets in flight.
func fuzzTraffic(e *Endpoint) [][]byte {
	msgs := [][]byte{[]byte("grab 17"), bytes.Repeat([]byte("scene!"), 500), {}, []byte("goal!")}
	for i, m := range msgs {
		if err := e.Send(0, i%4, m); err != nil {
			panic(err)
		}
	}
	if err := e.SendUnreliable(0, []byte("pose 1")); err != nil {
		panic(err)
	}
	var out [][]byte
	for {
		p, _, ok := e.Poll(0, nil)
		if !ok {
			return out
		}
		out = append(out, p)
	}
}

func fuzzSeeds() [][]byte {
	e := mustNewPanic()
	pkts := fuzzTraffic(e)
	var inOrder, reordered, dup []byte
	for i, p := range pkts {
		inOrder = appendFuzzRecord(inOrder, uint16(i), 0xFFFF, 0, p)
	}
	for i := len(pkts) - 1; i >= 0; i-- {
		reordered = appendFuzzRecord(reordered, uint16(i), uint16(i), 0xFFFFFFFF, pkts[i])
		dup = appendFuzzRecord(dup, uint16(i), 1, 1, pkts[i])
		dup = appendFuzzRecord(dup, uint16(i), 1, 1, pkts[i])
	}
	return [][]byte{inOrder, reordered, dup, appendFuzzRecord(nil, 0, 0, 0, nil)}
}

func mustNewPanic() *Endpoint {
	e, err := New(Config{})
	if err != nil {
		panic(err)
	}
	return e
}

// TestFuzzSeeds keeps the seed corpus equal to what fuzzSeeds generates;
// go test -run FuzzSeeds -update rewrites it.
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzOnDatagram")
	for i, s := range fuzzSeeds() {
		name := filepath.Join(dir, fmt.Sprintf("seed-%d", i))
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if *updateSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(name)
		if err != nil || string(got) != want {
			t.Errorf("%s is missing or stale (err %v); run go test -run FuzzSeeds -update", name, err)
		}
	}
}

// FuzzOnDatagram feeds arbitrary datagrams (header fields and payloads) to
// an Endpoint that has traffic in flight. It must not panic; it must accept
// exactly the payloads the reference reading of the package doc accepts;
// and every message it delivers must be built from chunks that arrived:
// reliable ones in message-number order, whole or from every fragment of
// one cut, unreliable ones as sent.
func FuzzOnDatagram(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) { fuzzOnDatagram(t, in) })
}

// TestFuzzSeedDelivers: the genuine traffic of seed 0 delivers every
// message, so the fuzz checks are not vacuous.
func TestFuzzSeedDelivers(t *testing.T) {
	if n := fuzzOnDatagram(t, fuzzSeeds()[0]); n != 5 {
		t.Errorf("seed 0 delivered %d messages, want 5", n)
	}
}

// fuzzOnDatagram runs one fuzz input and returns the messages delivered.
func fuzzOnDatagram(t *testing.T, in []byte) int {
	{
		// Small memory bounds, so that inputs reach them.
		budget := NewBudget(64 << 10)
		e, err := New(Config{RecvBufferBytes: 16 << 10, Budget: budget})
		if err != nil {
			t.Fatal(err)
		}
		fuzzTraffic(e)
		cfg := e.Config()
		m := &fuzzModel{whole: map[[2]int][][]byte{}, frags: map[[5]int][][]byte{}}
		delivered := make([]int, cfg.Streams)
		total := 0
		check := func(s int, msg []byte) {
			total++
			if s == UnreliableStream {
				if !anyEqual(m.unrel, msg) {
					t.Fatalf("unreliable %x delivered, never received", msg)
				}
				return
			}
			if s < 0 || s >= cfg.Streams {
				t.Fatalf("delivery on stream %d", s)
			}
			id := uint16(delivered[s])
			if !m.sent(s, id, msg) {
				t.Fatalf("stream %d message %d: %x delivered, not built from received chunks", s, id, msg)
			}
			delivered[s]++
		}
		now := int64(0)
		buf := make([]byte, 0, cfg.MTU)
		for len(in) >= fuzzRecordHeader {
			seq := binary.LittleEndian.Uint16(in)
			ack := binary.LittleEndian.Uint16(in[2:])
			bits := binary.LittleEndian.Uint32(in[4:])
			n := min(int(binary.LittleEndian.Uint16(in[8:])), len(in)-fuzzRecordHeader)
			p := in[fuzzRecordHeader : fuzzRecordHeader+n]
			in = in[fuzzRecordHeader+n:]

			cs, ok := refParse(p)
			for _, c := range cs {
				if c.stream != UnreliableStream && c.stream >= cfg.Streams || len(c.data) > cfg.MaxMessage || c.msgLen > cfg.MaxMessage {
					ok = false
				}
			}
			if ok {
				m.add(cs)
			}
			err := e.OnDatagram(now, seq, ack, bits, p)
			if (err == nil) != ok {
				t.Fatalf("OnDatagram(%x) = %v, reference accepts: %v", p, err, ok)
			}
			e.OnAcks(now, ack^seq, bits>>3)
			e.Receive(check)
			for {
				if _, _, ok := e.Poll(now, buf[:0]); !ok {
					break
				}
			}
			checkAccounting(t, e)
			if budget.Used() != int64(e.Stats().RecvBytes) || budget.Used() > budget.Limit() {
				t.Fatalf("budget counts %d of %d, endpoint holds %d", budget.Used(), budget.Limit(), e.Stats().RecvBytes)
			}
			if nt := e.NextTimeout(); nt <= now {
				t.Fatalf("NextTimeout %d not after now %d after Poll drained", nt, now)
			}
			now += 300_000
		}
		st := e.Stats()
		e.Close()
		if budget.Used() != 0 {
			t.Fatalf("budget counts %d after Close", budget.Used())
		}
		if st.InFlight < 0 || st.InFlight > MaxInFlight || st.QueueBytes < 0 {
			t.Fatalf("stats out of range: %+v", st)
		}
		return total
	}
}
