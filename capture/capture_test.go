package capture

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/internal/wait"
)

var (
	serverAddr = netip.MustParseAddrPort("10.0.0.1:7777")
	clientAddr = netip.MustParseAddrPort("10.0.0.23:40001")
	groupAddr  = netip.MustParseAddrPort("239.255.77.77:7778")
)

// msg returns a udp.Message holding payload, as the server's batches do.
func msg(payload []byte, addr netip.AddrPort, rx int64) *udp.Message {
	buf := make([]byte, 1201)
	n := copy(buf, payload)
	return &udp.Message{Buf: buf, N: n, Addr: addr, RxTime: rx}
}

// packet is one record read back from a capture.
type packet struct {
	at       int64
	src, dst netip.AddrPort
	ttl      uint8
	payload  []byte
	length   int // original length of the frame
}

func readBack(t *testing.T, r io.Reader) ([]packet, pcapgo.NgInterface) {
	t.Helper()
	ng, err := pcapgo.NewNgReader(r, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	var out []packet
	for {
		data, ci, err := ng.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(data, ng.LinkType(), gopacket.Default)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		u, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if ip == nil || u == nil {
			t.Fatalf("packet %d does not decode as IPv4/UDP: %v", len(out), p)
		}
		if err := p.ErrorLayer(); err != nil {
			t.Fatalf("packet %d: %v", len(out), err.Error())
		}
		// Verify both checksums the way a receiver would.
		if s := ^onesSum(0, data[:ipv4HeaderSize]); s != 0 {
			t.Errorf("packet %d: IPv4 header checksum does not verify", len(out))
		}
		if u.Checksum != 0 {
			sum := onesSum(0, ip.SrcIP.To4())
			sum = onesSum(sum, ip.DstIP.To4())
			sum = add16(sum, 17)
			sum = add16(sum, u.Length)
			if ^onesSum(sum, data[ipv4HeaderSize:]) != 0 {
				t.Errorf("packet %d: UDP checksum does not verify", len(out))
			}
		}
		src, _ := netip.AddrFromSlice(ip.SrcIP.To4())
		dst, _ := netip.AddrFromSlice(ip.DstIP.To4())
		out = append(out, packet{
			at:      ci.Timestamp.UnixNano(),
			src:     netip.AddrPortFrom(src, uint16(u.SrcPort)),
			dst:     netip.AddrPortFrom(dst, uint16(u.DstPort)),
			ttl:     ip.TTL,
			payload: append([]byte(nil), u.Payload...),
			length:  ci.Length,
		})
	}
	intf, err := ng.Interface(0)
	if err != nil {
		t.Fatal(err)
	}
	return out, intf
}

func TestWriteReadBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.pcapng")
	w, err := New(path, serverAddr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const t0 = int64(1_750_000_000_123_456_789) // ns, odd digits to catch µs rounding
	in := []byte("ARC\x01\x06\x00 pose input from the client")
	out := []byte("ARC\x01\x07\x00 a snapshot to the group")
	uni := []byte("ARC\x01\x09\x00 a pong")
	odd := []byte("ARC\x01\x0a\x00x") // odd length: checksum padding
	big := bytes.Repeat([]byte{0xab}, 1201)

	w.Received(msg(in, clientAddr, t0))
	w.Sent(msg(out, groupAddr, 0), t0+1_001)
	w.Sent(msg(uni, clientAddr, 0), t0+2_002)
	w.Received(msg(odd, clientAddr, t0+3_003))
	w.Received(msg(big, clientAddr, t0+4_004)) // truncated to the slot
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Captured() != 5 || w.Dropped() != 0 {
		t.Fatalf("captured %d dropped %d, want 5 and 0", w.Captured(), w.Dropped())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, intf := readBack(t, f)
	want := []packet{
		{at: t0, src: clientAddr, dst: serverAddr, ttl: 64, payload: in},
		{at: t0 + 1_001, src: serverAddr, dst: groupAddr, ttl: 1, payload: out},
		{at: t0 + 2_002, src: serverAddr, dst: clientAddr, ttl: 64, payload: uni},
		{at: t0 + 3_003, src: clientAddr, dst: serverAddr, ttl: 64, payload: odd},
		{at: t0 + 4_004, src: clientAddr, dst: serverAddr, ttl: 64, payload: big[:DefaultSlotSize]},
	}
	if len(got) != len(want) {
		t.Fatalf("read %d packets, want %d", len(got), len(want))
	}
	for i, g := range got {
		wt := want[i]
		if g.at != wt.at || g.src != wt.src || g.dst != wt.dst || g.ttl != wt.ttl || !bytes.Equal(g.payload, wt.payload) {
			t.Errorf("packet %d: got at=%d %v→%v ttl %d %q\nwant at=%d %v→%v ttl %d %q",
				i, g.at, g.src, g.dst, g.ttl, g.payload, wt.at, wt.src, wt.dst, wt.ttl, wt.payload)
		}
	}
	if got[4].length != frameOverhead+len(big) {
		t.Errorf("truncated packet: original length %d, want %d", got[4].length, frameOverhead+len(big))
	}
	if intf.LinkType != layers.LinkTypeRaw || intf.TimestampResolution != 9 || !strings.Contains(intf.Comment, "arcade-server") {
		t.Errorf("interface: link %v resolution %v comment %q", intf.LinkType, intf.TimestampResolution, intf.Comment)
	}
}

func TestTapDoesNotAllocate(t *testing.T) {
	w, err := NewWriter(io.Discard, serverAddr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	m := msg(make([]byte, 700), clientAddr, 1)
	if n := testing.AllocsPerRun(1000, func() { w.Received(m) }); n != 0 {
		t.Errorf("Received: %v allocations", n)
	}
	if n := testing.AllocsPerRun(1000, func() { w.Sent(m, 2) }); n != 0 {
		t.Errorf("Sent: %v allocations", n)
	}
	// Counting a drop on a full ring (nobody drains it) must not allocate
	// either.
	full, err := NewWriter(io.Discard, serverAddr, Options{Slots: 2, Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	if n := testing.AllocsPerRun(1000, func() { full.Received(m) }); n != 0 {
		t.Errorf("Received on a full ring: %v allocations", n)
	}
	if full.Dropped() == 0 {
		t.Error("no drops counted on a full ring")
	}
}

// stallWriter accepts nothing: its first Write signals entered and then
// blocks until release is closed.
type stallWriter struct {
	once    sync.Once
	entered chan struct{}
	release chan struct{}
	buf     bytes.Buffer
}

func (s *stallWriter) Write(p []byte) (int, error) {
	s.once.Do(func() { close(s.entered) })
	<-s.release
	return s.buf.Write(p)
}

func TestFullRingDropsWithoutBlocking(t *testing.T) {
	sw := &stallWriter{entered: make(chan struct{}), release: make(chan struct{})}
	const slots = 8
	w, err := NewWriter(sw, serverAddr, Options{Slots: slots, Poll: time.Millisecond, FlushEvery: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	// The first flush (of the file header) stalls the writer goroutine.
	select {
	case <-sw.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("writer goroutine never flushed")
	}
	m := msg([]byte("ARC\x01\x06\x00stalled"), clientAddr, 1)
	const extra = 5
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range slots + extra {
			w.Received(m)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Received blocked on a stalled writer")
	}
	if got := w.Dropped(); got != extra {
		t.Errorf("dropped %d, want %d", got, extra)
	}
	close(sw.release)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := readBack(t, &sw.buf)
	if len(got) != slots {
		t.Errorf("file holds %d packets, want the %d the ring held", len(got), slots)
	}
	w.Received(m)
	if w.Dropped() != extra+1 {
		t.Errorf("a datagram tapped after Close was not counted as dropped")
	}
}

func TestConcurrentProducers(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, serverAddr, Options{Slots: 64, Poll: 100 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	const producers, each = 4, 500
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			m := msg([]byte{'A', 'R', 'C', 1, 6, 0, byte(p)}, clientAddr, 1)
			for range each {
				w.Received(m)
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := readBack(t, &buf)
	if uint64(len(got)) != w.Captured() || w.Captured()+w.Dropped() != producers*each {
		t.Fatalf("read %d, captured %d, dropped %d; want captured+dropped = %d",
			len(got), w.Captured(), w.Dropped(), producers*each)
	}
	for i, g := range got {
		if len(g.payload) != 7 || int(g.payload[6]) >= producers {
			t.Fatalf("packet %d corrupt: %q", i, g.payload)
		}
	}
}

func TestCloseStopsGoroutine(t *testing.T) {
	for range 3 {
		w, err := NewWriter(io.Discard, serverAddr, Options{})
		if err != nil {
			t.Fatal(err)
		}
		w.Received(msg([]byte("ARC"), clientAddr, 1))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	}
	// Close waited for the goroutine to signal its end; it may still be
	// returning.
	var stacks string
	gone := wait.Until(10*time.Second, func() bool {
		buf := make([]byte, 1<<20)
		stacks = string(buf[:runtime.Stack(buf, true)])
		return !strings.Contains(stacks, "capture.(*Writer).run")
	})
	if !gone {
		t.Fatalf("writer goroutine still running after Close:\n%s", stacks)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{{Slots: -1}, {SlotSize: 70000}, {Poll: -1}, {FlushEvery: -1}} {
		if _, err := NewWriter(io.Discard, serverAddr, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	o := Options{Slots: 5}
	if err := o.setDefaults(); err != nil || o.Slots != 8 {
		t.Errorf("Slots 5 → %d (%v), want 8", o.Slots, err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrorReported(t *testing.T) {
	w, err := NewWriter(failWriter{}, serverAddr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Received(msg([]byte("ARC"), clientAddr, 1))
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Close: %v, want the write error", err)
	}
}

func BenchmarkReceived(b *testing.B) {
	w, err := NewWriter(io.Discard, serverAddr, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	m := msg(make([]byte, 700), clientAddr, 1)
	b.ReportAllocs()
	for b.Loop() {
		w.Received(m)
	}
	b.ReportMetric(float64(w.Dropped())/float64(b.N), "drops/op")
}
