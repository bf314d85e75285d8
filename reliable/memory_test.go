package reliable

import (
	"bytes"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/arcadexr/arcade/netsim"
)

// checkAccounting recomputes from the receive windows what an Endpoint
// holds and fails if its counters disagree or a bound is broken.
func checkAccounting(t testing.TB, e *Endpoint) {
	t.Helper()
	held, prio := 0, 0
	for i := range e.recv {
		rs := &e.recv[i]
		ahead := 0
		for j := range rs.slots {
			s := &rs.slots[j]
			if !s.used {
				if s.buf != nil || s.r != nil {
					t.Fatalf("stream %d slot %d: free but holds memory", i, j)
				}
				continue
			}
			var mem, data int
			if r := s.r; r == nil {
				mem, data = cap(s.buf), len(s.buf)
			} else {
				mem = reasmSize + cap(r.blocks)*rblockSize
				nf := 0
				for bi, b := range r.blocks {
					if bi > 0 && r.blocks[bi-1].idx >= b.idx {
						t.Fatalf("stream %d message %d: block table out of order", i, s.id)
					}
					if b.bits == 0 || len(b.data) != blockLen(r.msgLen, r.fragSize, r.k, b.idx) {
						t.Fatalf("stream %d message %d: block %d holds no fragment or has %d bytes", i, s.id, b.idx, len(b.data))
					}
					mem += cap(b.data)
					nf += bits.OnesCount64(b.bits)
				}
				if nf != r.nrecv || mem != r.charged || cap(r.blocks) > max(blockTable0, 2*len(r.blocks)) {
					t.Fatalf("stream %d message %d: %d fragments, %d bytes held, %d charged, table %d/%d", i, s.id, nf, mem, r.charged, len(r.blocks), cap(r.blocks))
				}
				data = r.nbytes
			}
			held += mem
			switch {
			case s.id != rs.next:
				ahead += data
			case i == e.prio:
				prio = mem
			}
		}
		if ahead != rs.bytes || rs.bytes > e.cfg.SendQueueBytes {
			t.Fatalf("stream %d: %d bytes ahead of the head, counted %d (bound %d)", i, ahead, rs.bytes, e.cfg.SendQueueBytes)
		}
	}
	if held != e.held || prio != e.prioBytes {
		t.Fatalf("held %d (priority head %d), counted %d (%d)", held, prio, e.held, e.prioBytes)
	}
	if e.held-e.prioBytes > e.cfg.RecvBufferBytes {
		t.Fatalf("%d bytes held besides the priority head, bound %d", e.held-e.prioBytes, e.cfg.RecvBufferBytes)
	}
	if e.acct != nil && e.acct.held.Load() != int64(e.held) {
		t.Fatalf("budget charged %d bytes, endpoint holds %d", e.acct.held.Load(), e.held)
	}
	if e.Stats().RecvBytes != e.held {
		t.Fatalf("Stats.RecvBytes %d, held %d", e.Stats().RecvBytes, e.held)
	}
}

// fullStorage is the memory a message holds once every fragment arrived.
func fullStorage(msgLen, fragSize int) int {
	k := blockFrags(fragSize)
	nfrags := (msgLen + fragSize - 1) / fragSize
	nblocks := (nfrags + k - 1) / k
	mem := reasmSize
	// The table ends at nblocks entries (capacities 4, 8, … then nblocks).
	mem += nblocks * rblockSize
	for idx := range nblocks {
		mem += poolCap(blockLen(msgLen, fragSize, k, idx))
	}
	return mem
}

// TestFixedSizes keeps the package doc's figures for the fixed memory of an
// Endpoint true.
func TestFixedSizes(t *testing.T) {
	if n := unsafe.Sizeof(inSlot{}); n != 40 {
		t.Errorf("a receive window slot takes %d bytes, the package doc says 40", n)
	}
	if n := unsafe.Sizeof(sentPacket{}) * sentRingSize; n > 26<<10 {
		t.Errorf("the sent ring takes %d bytes, the package doc says 26 KiB", n)
	}
}

func TestBlockFrags(t *testing.T) {
	for _, tc := range []struct {
		fragSize, k int
	}{
		{1, 64}, {2, 32}, {3, 64}, {4, 64}, {5, 51}, {16, 64}, {17, 60},
		{100, 40}, {1000, 4}, {1137, 3}, {1163, 3}, {2048, 2}, {2049, 1},
		{4096, 1}, {5000, 1}, {65535, 1},
	} {
		k := blockFrags(tc.fragSize)
		if k != tc.k {
			t.Errorf("blockFrags(%d) = %d, want %d", tc.fragSize, k, tc.k)
		}
		// A block uses at least half of its pool buffer for fragments
		// longer than 3 bytes (none can be half-filled by fewer).
		if span := k * tc.fragSize; tc.fragSize >= 4 && tc.fragSize <= 4096 && 2*span < poolCap(span) {
			t.Errorf("fragSize %d: %d-byte blocks in %d-byte buffers", tc.fragSize, span, poolCap(span))
		}
	}
}

// frag is a fragment chunk with 0xAB data of the right length.
func frag(stream uint8, id uint16, msgLen, fragSize, index int) []byte {
	n := min(fragSize, msgLen-index*fragSize)
	return appendFragment(nil, stream, id, uint32(msgLen), uint16(fragSize), uint16(index), bytes.Repeat([]byte{0xAB}, n))
}

// TestRecvAccounting: memory is charged as fragments arrive, by the block
// they fall in, never by the msgLen they announce, and returned on
// delivery.
func TestRecvAccounting(t *testing.T) {
	const big = 256 << 10
	tiny := reasmSize + blockTable0*rblockSize // a message's state before its blocks
	for _, tc := range []struct {
		name  string
		chunk [][]byte
		held  int // after the chunks
		ahead int // message data counted beyond the heads
	}{
		{"whole", [][]byte{appendChunk(nil, 0, 0, []byte("hello"))}, 64, 0},
		{"whole ahead", [][]byte{appendChunk(nil, 1, 3, make([]byte, 700))}, 1024, 700},
		{"empty message", [][]byte{appendChunk(nil, 2, 0, nil)}, 64, 0},
		{"announcement", [][]byte{frag(0, 0, big, 4, 0)}, tiny + 256, 0},
		{"same block", [][]byte{frag(0, 0, big, 4, 0), frag(0, 0, big, 4, 63)}, tiny + 256, 0},
		{"duplicate", [][]byte{frag(0, 0, big, 4, 7), frag(0, 0, big, 4, 7)}, tiny + 256, 0},
		{"two blocks", [][]byte{frag(0, 0, big, 4, 0), frag(0, 0, big, 4, 64)}, tiny + 512, 0},
		{"last fragment", [][]byte{frag(0, 1, big, 4, big/4-1)}, tiny + 256, 4},
		{"five blocks", [][]byte{frag(0, 0, big, 4, 0), frag(0, 0, big, 4, 64), frag(0, 0, big, 4, 128), frag(0, 0, big, 4, 192), frag(0, 0, big, 4, 256)}, reasmSize + 8*rblockSize + 5*256, 0},
		{"out of order blocks", [][]byte{frag(3, 2, big, 4, 640), frag(3, 2, big, 4, 0), frag(3, 2, big, 4, 320)}, tiny + 3*256, 12},
		{"honest fragment", [][]byte{frag(0, 0, 200<<10, 1163, 5)}, tiny + 4096, 0},
		{"short last block", [][]byte{frag(0, 0, 3*1163+10, 1163, 3)}, reasmSize + 2*rblockSize + 64, 0},
		{"huge fragSize", [][]byte{frag(0, 0, 3*65535+1, 65535, 3)}, tiny + 64, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBudget(1 << 20)
			e := mustNew(t, Config{Budget: b})
			for i, c := range tc.chunk {
				must(t, e.OnDatagram(0, uint16(i), 0xFFFF, 0, c))
				checkAccounting(t, e)
			}
			if e.held != tc.held || b.Used() != int64(tc.held) {
				t.Errorf("held %d, budget used %d, want %d", e.held, b.Used(), tc.held)
			}
			ahead := 0
			for i := range e.recv {
				ahead += e.recv[i].bytes
			}
			if ahead != tc.ahead {
				t.Errorf("%d bytes ahead, want %d", ahead, tc.ahead)
			}
			if st := e.Stats(); st.Refused != 0 || st.DroppedOverBudget != 0 {
				t.Errorf("refused %d packets, %d chunks over budget", st.Refused, st.DroppedOverBudget)
			}
			e.Close()
			checkAccounting(t, e)
			if e.held != 0 || b.Used() != 0 {
				t.Errorf("after Close: held %d, budget used %d", e.held, b.Used())
			}
		})
	}
}

// TestRecvAccountingDelivery: a fragmented message arriving out of order
// is delivered intact once, and its memory returned.
func TestRecvAccountingDelivery(t *testing.T) {
	b := NewBudget(1 << 20)
	e := mustNew(t, Config{Budget: b})
	msg := make([]byte, 5000)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	const fs = 37
	n := (len(msg) + fs - 1) / fs
	seq := uint16(0)
	for _, i := range append(perm(n, 3), 0, n-1) { // and two duplicates
		end := min(len(msg), (i+1)*fs)
		must(t, e.OnDatagram(0, seq, 0xFFFF, 0, appendFragment(nil, 1, 0, uint32(len(msg)), fs, uint16(i), msg[i*fs:end])))
		seq++
		checkAccounting(t, e)
	}
	if want := fullStorage(len(msg), fs); e.held != want {
		t.Errorf("complete message holds %d bytes, want %d", e.held, want)
	}
	var got [][]byte
	e.Receive(func(_ int, m []byte) { got = append(got, bytes.Clone(m)) })
	if len(got) != 1 || !bytes.Equal(got[0], msg) {
		t.Fatalf("delivered %d messages, want the one sent intact", len(got))
	}
	checkAccounting(t, e)
	if e.held != 0 || b.Used() != 0 {
		t.Errorf("after delivery: held %d, budget used %d", e.held, b.Used())
	}
	if st := e.Stats(); st.DuplicateFragments != 2 {
		t.Errorf("%d duplicate fragments, want 2", st.DuplicateFragments)
	}
}

// TestRecvAccountingRandom: random chunks (fragments of a few cuts of each
// message, whole messages, conflicts, duplicates) on random streams and
// messages around the window, with deliveries between, keep every counter
// equal to what the windows hold and every bound kept.
func TestRecvAccountingRandom(t *testing.T) {
	seeds := uint64(20)
	if raceEnabled || testing.Short() {
		seeds = 4
	}
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(seed, 11))
		b := NewBudget(int64(32<<10 + rng.IntN(64<<10)))
		var eps []*Endpoint
		for range 3 {
			eps = append(eps, mustNew(t, Config{RecvBufferBytes: 8<<10 + rng.IntN(64<<10), SendQueueBytes: 256<<10 + rng.IntN(64<<10), Budget: b}))
		}
		seq := make([]uint16, len(eps))
		for range 3000 {
			i := rng.IntN(len(eps))
			e := eps[i]
			var p []byte
			for range 1 + rng.IntN(4) {
				s := uint8(rng.IntN(4))
				id := e.recv[s].next + uint16(rng.IntN(8)) - 1
				if rng.IntN(5) == 0 {
					p = appendChunk(p, s, id, make([]byte, rng.IntN(300)))
					continue
				}
				// Each message has one cut, but for a few conflicting
				// fragments.
				msgLen := []int{100, 600, 5000, 20000, 256 << 10}[int(id)%5]
				fs := []int{1, 4, 7, 33, 1000}[(int(id)*7+int(s))%5]
				if rng.IntN(20) == 0 {
					fs = 1 + rng.IntN(50)
				}
				fs = min(max(fs, (msgLen+MaxFragments-1)/MaxFragments), msgLen)
				n := (msgLen + fs - 1) / fs
				idx := rng.IntN(n)
				if rng.IntN(2) == 0 {
					idx = rng.IntN(min(n, 40))
				}
				p = append(p, frag(s, id, msgLen, fs, idx)...)
			}
			if err := e.OnDatagram(0, seq[i], 0xFFFF, 0, p); err != nil {
				t.Fatal(err)
			}
			seq[i]++
			if rng.IntN(10) == 0 {
				e.Receive(func(int, []byte) {})
			}
			checkAccounting(t, e)
			total := 0
			for _, e := range eps {
				total += e.held
			}
			if int64(total) != b.Used() || b.Used() > b.Limit() {
				t.Fatalf("seed %d: endpoints hold %d, budget counts %d of %d", seed, total, b.Used(), b.Limit())
			}
		}
		var dropped, delivered, conflicts uint64
		for _, e := range eps {
			st := e.Stats()
			dropped += st.DroppedOverBudget
			delivered += st.MessagesIn
			conflicts += st.Conflicts
			e.Close()
		}
		if b.Used() != 0 {
			t.Fatalf("seed %d: budget counts %d after Close", seed, b.Used())
		}
		if dropped == 0 || b.Dropped() == 0 || delivered == 0 || conflicts == 0 {
			t.Errorf("seed %d: %d dropped (%d by the budget), %d delivered, %d conflicts: some case not reached", seed, dropped, b.Dropped(), delivered, conflicts)
		}
	}
}

// perm returns 0…n−1 in an order that visits blocks out of order.
func perm(n, stride int) []int {
	var p []int
	for s := range stride {
		for i := n - 1 - s; i >= 0; i -= stride {
			p = append(p, i)
		}
	}
	return p
}

// TestRecvBounds: where each bound stops a peer, and that the chunk it
// stops is dropped, counted and left unacknowledged.
func TestRecvBounds(t *testing.T) {
	t.Run("per stream", func(t *testing.T) {
		e := mustNew(t, Config{MaxMessage: 1000, SendQueueBytes: 1000})
		must(t, e.OnDatagram(0, 0, 0xFFFF, 0, appendChunk(nil, 0, 1, make([]byte, 600))))
		must(t, e.OnDatagram(0, 1, 0xFFFF, 0, appendChunk(nil, 0, 2, make([]byte, 600))))
		must(t, e.OnDatagram(0, 2, 0xFFFF, 0, appendChunk(nil, 1, 1, make([]byte, 600))))
		if st := e.Stats(); st.DroppedOverBudget != 1 || st.Refused != 1 {
			t.Errorf("dropped %d, refused %d, want 1, 1", st.DroppedOverBudget, st.Refused)
		}
		checkAccounting(t, e)
	})
	t.Run("per endpoint", func(t *testing.T) {
		e := mustNew(t, Config{RecvBufferBytes: 3000})
		for i := range 3 {
			must(t, e.OnDatagram(0, uint16(i), 0xFFFF, 0, appendChunk(nil, uint8(i), 1, make([]byte, 1000))))
		}
		// Three 1024-byte buffers do not fit in 3000 bytes.
		if st := e.Stats(); st.DroppedOverBudget != 1 || e.held != 2048 {
			t.Errorf("dropped %d, held %d, want 1, 2048", st.DroppedOverBudget, e.held)
		}
		// A head takes the priority beyond the bound; a second head must
		// wait until the first is delivered.
		must(t, e.OnDatagram(0, 10, 0xFFFF, 0, frag(3, 0, 10000, 1000, 0)))
		must(t, e.OnDatagram(0, 11, 0xFFFF, 0, frag(2, 0, 10000, 1000, 0)))
		if e.prio != 3 || e.Stats().DroppedOverBudget != 2 {
			t.Errorf("priority %d, dropped %d, want stream 3, 2", e.prio, e.Stats().DroppedOverBudget)
		}
		checkAccounting(t, e)
		for i := 1; i < 10; i++ {
			must(t, e.OnDatagram(0, uint16(11+i), 0xFFFF, 0, frag(3, 0, 10000, 1000, i)))
		}
		n := 0
		e.Receive(func(s int, m []byte) { n++ })
		if n != 1 || e.prio != -1 || e.held != 2048 {
			t.Errorf("delivered %d, priority %d, held %d, want 1, none, 2048", n, e.prio, e.held)
		}
		must(t, e.OnDatagram(0, 30, 0xFFFF, 0, frag(2, 0, 10000, 1000, 0)))
		if e.prio != 2 {
			t.Errorf("priority %d, want stream 2", e.prio)
		}
		checkAccounting(t, e)
	})
	t.Run("global", func(t *testing.T) {
		b := NewBudget(16 << 10)
		e1 := mustNew(t, Config{Budget: b})
		e2 := mustNew(t, Config{Budget: b})
		// Data beyond the heads takes up to three quarters: 12 KiB.
		for i := range 4 {
			must(t, e1.OnDatagram(0, uint16(i), 0xFFFF, 0, appendChunk(nil, 0, uint16(1+i), make([]byte, 1100))))
		}
		if b.Used() != 12<<10 || b.Dropped() != 1 || e1.Stats().DroppedOverBudget != 1 {
			t.Errorf("used %d, dropped %d, want 12 KiB, 1", b.Used(), b.Dropped())
		}
		// A head of another endpoint takes the last quarter (10-byte
		// fragments: 25 to a 256-byte block).
		must(t, e2.OnDatagram(0, 0, 0xFFFF, 0, frag(1, 0, 20000, 10, 0)))
		if b.Used() != 12<<10+int64(reasmSize+blockTable0*rblockSize+256) || e2.prio != 1 {
			t.Errorf("used %d, priority %d", b.Used(), e2.prio)
		}
		for i := 1; b.Dropped() == 1; i++ {
			must(t, e2.OnDatagram(0, uint16(i), 0xFFFF, 0, frag(1, 0, 20000, 10, 25*i)))
		}
		if b.Used() > b.Limit() || b.Used() < b.Limit()-512 || e2.Stats().Refused != 1 {
			t.Errorf("used %d of %d, refused %d", b.Used(), b.Limit(), e2.Stats().Refused)
		}
		checkAccounting(t, e1)
		checkAccounting(t, e2)
		e1.Close()
		if b.Used() != int64(e2.Stats().RecvBytes) {
			t.Errorf("after Close: used %d, want %d", b.Used(), e2.Stats().RecvBytes)
		}
	})
}

// announcements returns payloads packed with fragments that announce
// maxMsg-byte messages in 4-byte fragments: for every stream and every
// message of the receive window, one fragment in each block of blocks.
func announcements(streams, mtu, maxMsg int, blocks []int) [][]byte {
	k := blockFrags(4)
	var out [][]byte
	p := make([]byte, 0, mtu)
	for _, blk := range blocks {
		for id := range RecvWindow {
			for s := range streams {
				if len(p)+FragmentHeaderSize+4 > mtu {
					out, p = append(out, p), make([]byte, 0, mtu)
				}
				p = appendFragment(p, uint8(s), uint16(id), uint32(maxMsg), 4, uint16(blk*k), []byte{1, 2, 3, 4})
			}
		}
	}
	return append(out, p)
}

// attacker feeds payloads to an Endpoint as one peer's packets.
type attacker struct {
	e   *Endpoint
	seq uint16
}

func (a *attacker) feed(t testing.TB, now int64, ps [][]byte) {
	for _, p := range ps {
		if err := a.e.OnDatagram(now, a.seq, 0xFFFF, 0, p); err != nil {
			t.Fatal(err)
		}
		a.seq++
	}
}

// heapInuse returns HeapInuse after a collection.
func heapInuse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// rss returns the resident set size from /proc/self/statm, or -1.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return -1
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return -1
	}
	return pages * int64(os.Getpagesize())
}

// slotTables is the fixed memory of the receive windows of n Endpoints.
func slotTables(n, streams int) int64 {
	return int64(n * streams * RecvWindow * int(unsafe.Sizeof(inSlot{})))
}

const mib = 1 << 20

// TestAnnouncementAttackOneEndpoint: a peer announcing the largest
// messages in 4-byte fragments, on every message of every stream, in as
// many blocks as it likes, cannot make an Endpoint hold more than
// RecvBufferBytes plus one whole message.
func TestAnnouncementAttackOneEndpoint(t *testing.T) {
	cfg := Config{}
	e := mustNew(t, cfg)
	cfg = e.Config()
	bound := cfg.RecvBufferBytes + fullStorage(cfg.MaxMessage, 4)
	before := heapInuse()
	a := &attacker{e: e}
	var blocks []int
	for b := range 24 {
		blocks = append(blocks, b*37%(cfg.MaxMessage/256)) // scattered over the message
	}
	ps := announcements(cfg.Streams, cfg.MTU, cfg.MaxMessage, blocks)
	a.feed(t, 0, ps)
	checkAccounting(t, e)
	// The heads were offered every block: let one take the priority and
	// fill its whole message.
	head := uint8(max(e.prio, 0))
	for i := range cfg.MaxMessage / 4 {
		a.feed(t, 0, [][]byte{frag(head, 0, cfg.MaxMessage, 4, i)})
	}
	checkAccounting(t, e)
	grown := heapInuse() - before
	st := e.Stats()
	t.Logf("%d payloads (%d bytes each) of announcements, then one whole head: %d bytes held (bound %d), %d chunks dropped, heap grew %.2f MiB",
		len(ps), cfg.MTU, st.RecvBytes, bound, st.DroppedOverBudget, float64(grown)/mib)
	if st.RecvBytes > bound || st.RecvBytes < cfg.RecvBufferBytes*9/10 {
		t.Errorf("held %d bytes, want near but not over %d", st.RecvBytes, bound)
	}
	if st.DroppedOverBudget == 0 {
		t.Error("nothing dropped: the attack did not reach the bound")
	}
	if limit := int64(bound)*5/4 + slotTables(1, cfg.Streams) + mib; grown > limit {
		t.Errorf("heap grew %d bytes, more than %d", grown, limit)
	}
	// The whole head completed and is delivered (its content is the
	// attacker's); everything else stays as incomplete as it came.
	n := 0
	e.Receive(func(s int, m []byte) { n++ })
	if n != 1 {
		t.Errorf("delivered %d messages, want 1", n)
	}
	checkAccounting(t, e)
	runtime.KeepAlive(e)
}

// TestAnnouncementAttackSharedBudget: many attacking Endpoints sharing a
// Budget hold no more than its limit together.
func TestAnnouncementAttackSharedBudget(t *testing.T) {
	const n = 40
	b := NewBudget(16 * mib)
	before := heapInuse()
	eps := make([]*attacker, n)
	for i := range eps {
		eps[i] = &attacker{e: mustNew(t, Config{Budget: b})}
	}
	cfg := eps[0].e.Config()
	ps := announcements(cfg.Streams, cfg.MTU, cfg.MaxMessage, []int{0, 300, 600, 900})
	for _, a := range eps {
		a.feed(t, 0, ps)
	}
	total := 0
	for _, a := range eps {
		checkAccounting(t, a.e)
		total += a.e.Stats().RecvBytes
	}
	grown := heapInuse() - before
	t.Logf("%d endpoints: %d bytes held (budget %d), %d chunks dropped by the budget, heap grew %.2f MiB",
		n, total, b.Limit(), b.Dropped(), float64(grown)/mib)
	if int64(total) != b.Used() || b.Used() > b.Limit() || b.Used() < b.aheadLimit()*9/10 {
		t.Errorf("endpoints hold %d bytes, budget counts %d of %d", total, b.Used(), b.Limit())
	}
	if b.Dropped() == 0 {
		t.Error("nothing dropped: the attack did not reach the budget")
	}
	if limit := b.Limit()*5/4 + slotTables(n, cfg.Streams) + mib; grown > limit {
		t.Errorf("heap grew %d bytes, more than %d", grown, limit)
	}
	for _, a := range eps {
		a.e.Close()
	}
	if b.Used() != 0 {
		t.Errorf("after Close: budget counts %d bytes", b.Used())
	}
}

// TestAnnouncementAttackRSS is the acceptance measurement: 64 sessions
// sharing a server's default Budget each get 6 rounds of announcements
// (every stream, every message of the window, a new block each round);
// the process grows by at most 64 MiB.
func TestAnnouncementAttackRSS(t *testing.T) {
	const (
		sessions = 64
		rounds   = 6
	)
	debug.FreeOSMemory()
	rss0, heap0 := rss(), heapInuse()
	b := NewBudget(0)
	eps := make([]*attacker, sessions)
	for i := range eps {
		eps[i] = &attacker{e: mustNew(t, Config{Budget: b})}
	}
	cfg := eps[0].e.Config()
	start := time.Now()
	sent := 0
	for r := range rounds {
		ps := announcements(cfg.Streams, cfg.MTU, cfg.MaxMessage, []int{r * 150})
		for _, a := range eps {
			a.feed(t, int64(r)*int64(time.Millisecond), ps)
			sent += len(ps)
		}
	}
	elapsed := time.Since(start)
	held := 0
	for _, a := range eps {
		held += a.e.Stats().RecvBytes
	}
	heap, res := heapInuse()-heap0, rss()-rss0
	t.Logf("%d sessions × %d rounds: %d payloads in %v; %.1f MiB held (budget %d MiB), %d chunks dropped; heap +%.1f MiB, RSS +%.1f MiB",
		sessions, rounds, sent, elapsed.Round(time.Millisecond), float64(held)/mib, b.Limit()/mib, b.Dropped(), float64(heap)/mib, float64(res)/mib)
	if int64(held) != b.Used() || b.Used() > b.Limit() {
		t.Errorf("sessions hold %d bytes, budget counts %d of %d", held, b.Used(), b.Limit())
	}
	if heap > 64*mib {
		t.Errorf("heap grew %.1f MiB, more than 64 MiB", float64(heap)/mib)
	}
	if res > 64*mib && !raceEnabled {
		t.Errorf("RSS grew %.1f MiB, more than 64 MiB", float64(res)/mib)
	}
	runtime.KeepAlive(eps)
}

// TestHonestLargeUnderAttack: while attacking Endpoints keep a shared
// Budget full, an honest peer's 200 KiB messages (and small ones) still
// arrive exactly once and in order over a lossy network, through the
// priority head; once the attackers are gone they flow freely.
func TestHonestLargeUnderAttack(t *testing.T) {
	for _, drop := range []string{"Close", "GC"} {
		t.Run(drop, func(t *testing.T) { testHonestUnderAttack(t, drop) })
	}
}

func testHonestUnderAttack(t *testing.T, drop string) {
	const streams = 4
	b := NewBudget(4 * mib)
	attackers := make([]*attacker, 4)
	for i := range attackers {
		attackers[i] = &attacker{e: mustNew(t, Config{Budget: b})}
		cfg := attackers[i].e.Config()
		attackers[i].feed(t, 0, announcements(streams, cfg.MTU, cfg.MaxMessage, []int{0, 100, 200, 300, 400}))
	}
	if b.Used() < b.aheadLimit()*9/10 {
		t.Fatalf("attackers hold only %d of %d", b.Used(), b.Limit())
	}

	net := netsim.New(netsim.Config{Loss: 0.1, Duplicate: 0.05, Delay: time.Millisecond, Jitter: 500 * time.Microsecond, Seed: 3}, 0)
	a := newNode(t, Config{Streams: streams}, net, "10.0.0.1:1", "10.0.0.2:1")
	rcv := newNode(t, Config{Streams: streams, Budget: b}, net, "10.0.0.2:1", "10.0.0.1:1")
	var p plan
	for k := range 24 {
		size := 200 << 10
		if k%3 == 1 {
			size = 1 + k
		}
		p.stream = append(p.stream, k%streams)
		p.size = append(p.size, size)
	}
	fwd := newFlow(t, p, streams)
	run := func(until int, limit time.Duration) time.Duration {
		t0 := net.Now()
		for fwd.done < until {
			if net.Now()-t0 > int64(limit) {
				t.Fatalf("%d of %d messages after %v virtual; sender %+v; receiver %+v, priority %d, budget %d of %d", fwd.done, until, limit, a.ep.Stats(), rcv.ep.Stats(), rcv.ep.prio, b.Used(), b.Limit())
			}
			rcv.ep.Receive(fwd.check)
			fwd.feed(a.ep, net.Now())
			if !step(t, net, a, rcv) {
				t.Fatal("nothing scheduled but messages missing")
			}
			checkAccounting(t, rcv.ep)
			if b.Used() > b.Limit() {
				t.Fatalf("budget counts %d of %d", b.Used(), b.Limit())
			}
		}
		return time.Duration(net.Now() - t0)
	}
	under := run(12, 120*time.Second)
	dropped := rcv.ep.Stats().DroppedOverBudget

	switch drop {
	case "Close":
		for _, x := range attackers {
			x.e.Close()
		}
	case "GC":
		attackers = nil
		deadline := time.Now().Add(10 * time.Second)
		for b.Used() > int64(rcv.ep.Stats().RecvBytes) {
			if time.Now().After(deadline) {
				t.Fatalf("dropped attackers still counted: %d of %d", b.Used(), b.Limit())
			}
			runtime.GC()
			time.Sleep(time.Millisecond)
		}
	}
	after := run(len(p.size), 60*time.Second)
	for step(t, net, a, rcv) {
		rcv.ep.Receive(fwd.check)
	}
	rcv.ep.Receive(fwd.check)
	checkAccounting(t, rcv.ep)
	st := rcv.ep.Stats()
	t.Logf("12 messages under attack in %v virtual (%d chunks dropped over budget), 12 more after %s in %v (%d dropped)", under, dropped, drop, after, st.DroppedOverBudget-dropped)
	if dropped == 0 {
		t.Error("the honest receiver never hit the budget: the test shows nothing")
	}
	if st.RecvBytes != 0 || b.Used() != 0 {
		t.Errorf("at rest: receiver holds %d bytes, budget counts %d", st.RecvBytes, b.Used())
	}
	runtime.KeepAlive(attackers)
}

func ExampleBudget() {
	// One Budget for all the sessions of a server.
	budget := NewBudget(32 << 20)
	server, _ := New(Config{Budget: budget})
	client, _ := New(Config{})
	_ = client.Send(0, 0, []byte("grab 17"))
	p, seq, _ := client.Poll(0, nil)
	ack, bits := client.Ack()
	_ = server.OnDatagram(0, seq, ack, bits, p)
	fmt.Println(budget.Used()) // held until delivered
	server.Receive(func(stream int, msg []byte) { fmt.Printf("stream %d: %s\n", stream, msg) })
	fmt.Println(budget.Used())
	server.Close()
	// Output:
	// 64
	// stream 0: grab 17
	// 0
}
