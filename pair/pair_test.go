package pair

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/seal"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/wire"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func testReplica(entities int) *server.Replica {
	r := &server.Replica{GroupToken: 0xfeedface}
	r.State.Scene, r.State.Tick, r.State.ServerTime = 7, 1234, 5_000_000
	for i := range entities {
		r.State.Entities = append(r.State.Entities, checkpoint.Entity{ID: uint16(i + 1), Pose: geom.Pose{Pos: geom.Vec3{X: float64(i)}, Rot: geom.Quat{W: 1}}})
	}
	r.State.Players = []checkpoint.Player{{ClientID: 3, PlayerID: [16]byte{0xa1}, Grip: [2]bool{false, true}}}
	r.State.Holds = []checkpoint.Hold{{Holder: 0x10003, Target: 2}}
	r.Sessions = []server.SessionCopy{
		{Token: 11, Nonce: 12, ID: 3, PlayerID: [16]byte{0xa1}, Addr: netip.MustParseAddrPort("10.0.0.2:5000"), Name: "alice", Unicast: true, Delta: true, Coded: true, InputApplied: true},
		{Token: 21, Nonce: 22, ID: 4, Addr: netip.MustParseAddrPort("[fd00::4]:5001"), Name: "", FixedUnicast: true, Unicast: true},
	}
	return r
}

// testSealedReplica is testReplica as a sealed server's copy.
func testSealedReplica(entities int) *server.Replica {
	r := testReplica(entities)
	r.Sealed = true
	r.Group = seal.GroupCopy{Key: [16]byte{1, 2, 3}, Signer: [32]byte{4, 5, 6}, Send: seal.Reserve + 77}
	for i := range r.Sessions {
		s := &r.Sessions[i].Seal
		s.Keys.ClientToServer[0], s.Keys.ServerToClient[0] = byte(i+1), byte(i+0x81)
		s.Send, s.Received = seal.Reserve+uint64(i)*1000, uint64(i)*999+1
	}
	return r
}

// TestCopyRoundTrip: a copy, open or sealed, decodes to what was
// encoded, and every cut of it is refused.
func TestCopyRoundTrip(t *testing.T) {
	for _, r := range []*server.Replica{testReplica(5), testSealedReplica(5)} {
		testCopyRoundTrip(t, r)
	}
}

func testCopyRoundTrip(t *testing.T, r *server.Replica) {
	b := AppendCopy(nil, r)
	var got server.Replica
	if err := ParseCopy(b, &got, map[string]string{}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Sessions, r.Sessions) || got.GroupToken != r.GroupToken || got.Sealed != r.Sealed || got.Group != r.Group ||
		!reflect.DeepEqual(got.State.Entities, r.State.Entities) ||
		!reflect.DeepEqual(got.State.Holds, r.State.Holds) || got.State.Tick != r.State.Tick {
		t.Fatalf("decoded %+v\nwant %+v", got, *r)
	}
	for n := range len(b) {
		if err := ParseCopy(b[:n], &got, map[string]string{}); err == nil {
			t.Fatalf("a copy cut to %d of %d bytes decoded", n, len(b))
		}
	}
}

// TestDatagramSeal: a datagram's part is encrypted; the datagram opens
// with the key it was made with and with no other; a flipped bit
// anywhere fails it; one of version 1 is refused as such.
func TestDatagramSeal(t *testing.T) {
	m := newSealer(testKey)
	h := Header{Kind: KindCopy, Part: 1, Parts: 3, Epoch: 4, Seq: 9, Tick: 77}
	d := m.appendDatagram(nil, &h, []byte("a part in clear"))
	if bytes.Contains(d, []byte("in clear")) || len(d) != HeaderSize+len("a part in clear")+TagSize {
		t.Fatalf("datagram %q: the part shows, or its size is off", d)
	}
	var got Header
	p, err := m.parse(bytes.Clone(d), &got)
	if err != nil || got != h || string(p) != "a part in clear" {
		t.Fatalf("parse: %+v %q %v, want %+v", got, p, err, h)
	}
	if _, err := newSealer([]byte("another key of sixteen")).parse(bytes.Clone(d), &got); err != ErrAuth {
		t.Fatalf("another key: %v, want ErrAuth", err)
	}
	for i := range d {
		x := bytes.Clone(d)
		x[i] ^= 0x40
		if _, err := m.parse(x, &got); err == nil {
			t.Fatalf("byte %d flipped: opened", i)
		}
	}
	v1 := bytes.Clone(d)
	v1[4] = 1
	l := &Link{sealRx: m, names: map[string]string{}}
	if l.take(v1, 0) || l.Stats.Version1.Load() != 1 || l.Stats.BadMAC.Load() != 0 {
		t.Fatalf("a version 1 datagram: taken, or counted %d as version 1 and %d as bad", l.Stats.Version1.Load(), l.Stats.BadMAC.Load())
	}
}

func TestWindow(t *testing.T) {
	var w window
	for _, c := range []struct {
		epoch uint32
		seq   uint64
		ok    bool
	}{
		{2, 0, false}, {2, 1, true}, {2, 1, false}, {2, 3, true}, {2, 2, true}, {2, 2, false},
		{2, 100, true}, {2, 36, false}, {2, 37, true}, {2, 37, false}, {3, 1, true}, {3, 1, false},
	} {
		if got := w.accept(c.epoch, c.seq); got != c.ok {
			t.Fatalf("epoch %d seq %d: %v, want %v", c.epoch, c.seq, got, c.ok)
		}
	}
}

func TestNextEpoch(t *testing.T) {
	for _, c := range []struct {
		seen uint32
		i    int
		want uint32
	}{{0, 0, 2}, {0, 1, 3}, {2, 1, 3}, {2, 0, 4}, {3, 0, 4}, {3, 1, 5}, {4, 1, 5}} {
		if got := NextEpoch(c.seen, c.i); got != c.want {
			t.Errorf("NextEpoch(%d, %d) = %d, want %d", c.seen, c.i, got, c.want)
		}
	}
}

func TestEpochFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "epoch")
	if e, err := LoadEpoch(p); e != 0 || err != nil {
		t.Fatalf("no file: %d, %v", e, err)
	}
	if err := StoreEpoch(p, 5); err != nil {
		t.Fatal(err)
	}
	if e, err := LoadEpoch(p); e != 5 || err != nil {
		t.Fatalf("stored 5: %d, %v", e, err)
	}
	os.WriteFile(p, []byte("five\n"), 0o600)
	if _, err := LoadEpoch(p); err == nil {
		t.Fatal("a corrupt epoch file loaded")
	}
}

func pairOf(t *testing.T, silence time.Duration) (a, b *Link) {
	t.Helper()
	dir := t.TempDir()
	la, err := Open(Config{Listen: netip.MustParseAddrPort("127.0.0.1:0"), Peer: netip.MustParseAddrPort("127.0.0.1:9"), Key: testKey, Index: 0, EpochFile: filepath.Join(dir, "a"), Silence: silence})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := Open(Config{Listen: netip.MustParseAddrPort("127.0.0.1:0"), Peer: la.LocalAddr(), Key: testKey, Index: 1, EpochFile: filepath.Join(dir, "b"), Silence: silence})
	if err != nil {
		t.Fatal(err)
	}
	la.Close()
	// a again, now that b's port is known.
	la, err = Open(Config{Listen: lb.cfg.Peer, Peer: lb.LocalAddr(), Key: testKey, Index: 0, EpochFile: filepath.Join(dir, "a"), Silence: silence})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { la.Close(); lb.Close() })
	return la, lb
}

// TestFollowAndTakeOver: on loopback, a fresh primary listens for a
// silence and takes epoch 2; the standby does not take over before it
// heard an active, then follows its copies (a copy of many parts put
// together), and when they stop takes over under epoch 3 with the
// newest; the old active, told by the new one's first copy, is asked to
// step down; a datagram under another key changes nothing.
func TestFollowAndTakeOver(t *testing.T) {
	a, b := pairOf(t, 30*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	type result struct {
		r *server.Replica
		e uint32
		t time.Time
	}
	bDone := make(chan result, 1)
	go func() {
		r, e, err := b.Follow(ctx)
		if err != nil {
			t.Error(err)
		}
		bDone <- result{r, e, time.Now()}
	}()
	_, ea, err := a.Follow(ctx)
	if err != nil || ea != 2 {
		t.Fatalf("the primary took epoch %d, %v; want 2", ea, err)
	}
	// Forged: another key. The standby must not count it as the active.
	forger, err := Open(Config{Listen: netip.MustParseAddrPort("127.0.0.1:0"), Peer: b.LocalAddr(), Key: []byte("not the pair key at all"), EpochFile: filepath.Join(t.TempDir(), "f")})
	if err != nil {
		t.Fatal(err)
	}
	defer forger.Close()
	forger.epoch.Store(100)
	big := testReplica(3000) // more than one part
	if n := len(AppendCopy(nil, big)); n <= 2*PartSize {
		t.Fatalf("the big copy is %d bytes: want several parts", n)
	}
	forger.Replicate(testReplica(1))
	select {
	case r := <-bDone:
		t.Fatalf("the standby took over (epoch %d) before it heard an active", r.e)
	case <-time.After(100 * time.Millisecond):
	}
	var last uint64
	var stopped time.Time
	for i := range 20 {
		big.State.Tick = uint64(2000 + i)
		last = big.State.Tick
		a.Replicate(big)
		stopped = time.Now()
		time.Sleep(5 * time.Millisecond)
	}
	// Calls made after the last copy, and some before it (dropped: the
	// copy holds them).
	a.Applied(last-1, []server.Applied{{Kind: server.AppliedRelease, ID: 9}})
	a.Applied(last, []server.Applied{{Kind: server.AppliedInput, ID: 3, Input: wire.PoseInput{InputSeq: 41}}, {Kind: server.AppliedGrab, ID: 3, Hand: 1, Entity: 2}})
	stopped = time.Now()
	var r result
	select {
	case r = <-bDone:
	case <-time.After(5 * time.Second):
		t.Fatal("the standby never took over")
	}
	if r.e != 3 || r.r == nil || r.r.State.Tick != last || len(r.r.State.Entities) != 3000 || !reflect.DeepEqual(r.r.Sessions, big.Sessions) {
		t.Fatalf("took over under epoch %d with copy %v, want epoch 3 and the copy of tick %d", r.e, r.r != nil, last)
	}
	if quiet := r.t.Sub(stopped); quiet < 30*time.Millisecond {
		t.Fatalf("took over %v after the last copy, before the silence", quiet)
	}
	if p := b.Pending(); len(p) != 2 || p[0].Input.InputSeq != 41 || p[1].Kind != server.AppliedGrab || p[1].Entity != 2 {
		t.Fatalf("the calls after the copy: %+v, want the input 41 then the grab", p)
	}
	if b.Stats.BadMAC.Load() == 0 {
		t.Fatal("the forged datagram was not counted as a bad MAC")
	}
	if e, _ := LoadEpoch(b.cfg.EpochFile); e != 3 {
		t.Fatalf("the standby stored epoch %d, want 3", e)
	}
	if !b.Took.Ahead || b.Took.Stored.Before(b.Took.Silent) || b.Took.Silent.Sub(b.Took.Heard) < 30*time.Millisecond {
		t.Fatalf("takeover steps %+v: want the epoch stored ahead, while following, and the silence complete", b.Took)
	}

	// The new active's first copy tells the old one.
	higher := make(chan uint32, 1)
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	go a.Watch(wctx, func(e uint32) { higher <- e })
	a.Replicate(big) // its own, stale for b: ignored there
	b.Replicate(testReplica(2))
	select {
	case e := <-higher:
		if e != 3 {
			t.Fatalf("step down for epoch %d, want 3", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the old active never heard the new epoch")
	}
}

// TestWatchCancel: Watch returns when its context ends.
func TestWatchCancel(t *testing.T) {
	a, _ := pairOf(t, 30*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Watch(ctx, func(uint32) {}); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return")
	}
}

func TestConfigRefused(t *testing.T) {
	ok := Config{Listen: netip.MustParseAddrPort("127.0.0.1:0"), Peer: netip.MustParseAddrPort("127.0.0.1:9"), Key: testKey, EpochFile: "x"}
	for name, mod := range map[string]func(*Config){
		"short key":  func(c *Config) { c.Key = c.Key[:8] },
		"no file":    func(c *Config) { c.EpochFile = "" },
		"index":      func(c *Config) { c.Index = 2 },
		"no peer":    func(c *Config) { c.Peer = netip.AddrPort{} },
		"silence":    func(c *Config) { c.Silence = time.Millisecond },
		"peer is me": func(c *Config) { c.Peer = c.Listen },
	} {
		c := ok
		mod(&c)
		if l, err := Open(c); err == nil {
			l.Close()
			t.Errorf("%s: opened", name)
		}
	}
}

// TestReplicateAllocs: the tick thread's send allocates nothing once its
// buffers have grown.
func TestReplicateAllocs(t *testing.T) {
	a, _ := pairOf(t, 30*time.Millisecond)
	for _, r := range []*server.Replica{testReplica(100), testSealedReplica(100)} {
		a.Replicate(r)
		if n := testing.AllocsPerRun(100, func() { a.Replicate(r) }); n != 0 {
			t.Fatalf("Replicate (sealed %v): %v allocations a copy, want 0", r.Sealed, n)
		}
	}
	calls := make([]server.Applied, 100)
	for i := range calls {
		calls[i] = server.Applied{Kind: server.AppliedInput, ID: uint16(i + 1)}
	}
	a.Applied(1, calls)
	if n := testing.AllocsPerRun(100, func() { a.Applied(1, calls) }); n != 0 {
		t.Fatalf("Applied: %v allocations a hand-over, want 0", n)
	}
}

func BenchmarkReplicate(b *testing.B) {
	for _, n := range []int{24, 1000} {
		b.Run(itoa(n), func(b *testing.B) {
			dir := b.TempDir()
			l, err := Open(Config{Listen: netip.MustParseAddrPort("127.0.0.1:0"), Peer: netip.MustParseAddrPort("127.0.0.1:9"), Key: testKey, EpochFile: filepath.Join(dir, "e")})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			r := testReplica(n)
			b.ReportAllocs()
			for b.Loop() {
				l.Replicate(r)
			}
			b.ReportMetric(float64(len(AppendCopy(nil, r))), "copy-bytes")
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// FuzzTake: whatever arrives on the pair socket is dropped and counted or
// taken; nothing it holds grows past its bounds. Datagrams under the
// test key reach the copy decoder.
func FuzzTake(f *testing.F) {
	m := newSealer(testKey)
	copyBytes := AppendCopy(nil, testReplica(3))
	f.Add(m.appendDatagram(nil, &Header{Parts: 1, Epoch: 2, Seq: 1, Tick: 9}, copyBytes), false)
	f.Add(m.appendDatagram(nil, &Header{Part: 0, Parts: 2, Epoch: 2, Seq: 2, Tick: 10}, copyBytes[:10]), false)
	f.Add(copyBytes, true)
	calls := AppendApplied(nil, &server.Applied{Kind: server.AppliedInput, ID: 3})
	calls = AppendApplied(calls, &server.Applied{Kind: server.AppliedGrab, ID: 3, Hand: 1, Entity: 7})
	f.Add(m.appendDatagram(nil, &Header{Kind: KindApplied, Parts: 1, Epoch: 2, Seq: 3, Tick: 9}, calls), false)
	f.Add([]byte("ARCP"), false)
	sealed := AppendCopy(nil, testSealedReplica(3))
	f.Add(m.appendDatagram(nil, &Header{Parts: 1, Epoch: 2, Seq: 4, Tick: 9}, sealed), false)
	f.Add(sealed, true)
	f.Add(sealed[:len(sealed)/2], true)
	v1 := m.appendDatagram(nil, &Header{Parts: 1, Epoch: 2, Seq: 5, Tick: 9}, copyBytes)
	v1[4] = 1
	f.Add(v1, false)
	f.Fuzz(func(t *testing.T, d []byte, raw bool) {
		l := &Link{sealRx: m, names: map[string]string{}}
		if raw {
			// d is a copy: sealed as one part.
			if len(d) > PartSize {
				d = d[:PartSize]
			}
			d = m.appendDatagram(nil, &Header{Parts: 1, Epoch: 2, Seq: 1, Tick: 1}, d)
		} else {
			d = bytes.Clone(d) // opened in place
		}
		l.take(d, 0)
		if len(l.pend) > MaxPending || len(l.pend) != len(l.pendTick) {
			t.Fatalf("%d calls pending (%d keys), bound %d", len(l.pend), len(l.pendTick), MaxPending)
		}
		if len(l.last.Sessions) > MaxSessions || len(l.names) > 4*MaxSessions || cap(l.asm.buf) > MaxParts*PartSize {
			t.Fatalf("past a bound: %d sessions, %d names, %d bytes", len(l.last.Sessions), len(l.names), cap(l.asm.buf))
		}
		var r server.Replica
		ParseCopy(d, &r, map[string]string{})
	})
}

// TestSameTickCopies: a copy sent after another of the same tick
// replaces it; a part of an older copy that arrives late is dropped.
func TestSameTickCopies(t *testing.T) {
	var a assembly
	part := []byte("copy")
	if !a.add(&Header{Parts: 1, Epoch: 2, Seq: 5, Tick: 10}, part) {
		t.Fatal("the first copy was not taken")
	}
	if !a.add(&Header{Parts: 1, Epoch: 2, Seq: 6, Tick: 10}, part) {
		t.Fatal("a later copy of the same tick was not taken")
	}
	if a.add(&Header{Parts: 1, Epoch: 2, Seq: 4, Tick: 10}, part) {
		t.Fatal("an older copy of the same tick was taken")
	}
	if a.add(&Header{Part: 1, Parts: 2, Epoch: 2, Seq: 0, Tick: 11}, part) {
		t.Fatal("a part numbered below its index was taken")
	}
}

// TestQueuedIsNoSilence: a copy waiting in the standby's socket, unread,
// is no silence of the active's: queued says so until it is read.
func TestQueuedIsNoSilence(t *testing.T) {
	a, b := pairOf(t, 30*time.Millisecond)
	if b.queued() {
		t.Fatal("a datagram queued before any was sent")
	}
	a.Replicate(testReplica(1))
	deadline := time.Now().Add(5 * time.Second)
	for !b.queued() {
		if time.Now().After(deadline) {
			t.Fatal("the copy sent never showed as queued")
		}
		time.Sleep(time.Millisecond)
	}
	b.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := b.conn.Read(b.rbuf); err != nil {
		t.Fatal(err)
	}
	if b.queued() {
		t.Fatal("still queued after the one datagram was read")
	}
}

// TestStalledStandbyReadsWhatQueued: a standby that is not scheduled for
// longer than the takeover silence, while the active's copies arrive,
// does not take that for the active's silence (§18.3): it reads what its
// socket holds before it decides. An active still sending is not taken
// over; one that stopped during the stall is taken over with the newest
// copy it sent, not the one held before the stall, and its silence runs
// from when that copy arrived.
func TestStalledStandbyReadsWhatQueued(t *testing.T) {
	const silence = 80 * time.Millisecond
	for _, alive := range []bool{false, true} {
		t.Run(map[bool]string{false: "active stops", true: "active lives"}[alive], func(t *testing.T) {
			a, b := pairOf(t, silence)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			stall, paused := make(chan chan struct{}, 1), make(chan struct{})
			b.pause = func() {
				select {
				case rel := <-stall:
					paused <- struct{}{}
					<-rel
				default:
				}
			}
			type result struct {
				r   *server.Replica
				err error
			}
			done := make(chan result, 1)
			go func() {
				r, _, err := b.Follow(ctx)
				done <- result{r, err}
			}()
			if _, _, err := a.Follow(ctx); err != nil {
				t.Fatal(err)
			}
			r := testReplica(1)
			tick := uint64(0)
			send := func() {
				tick++
				r.State.Tick = tick
				a.Replicate(r)
			}
			for b.Stats.LastTick.Load() < 5 {
				if ctx.Err() != nil {
					t.Fatal("the standby never held the copy of tick 5")
				}
				send()
				time.Sleep(5 * time.Millisecond)
			}
			rel := make(chan struct{})
			stall <- rel
			<-paused
			held := b.Stats.LastTick.Load()
			stallEnd := time.Now().Add(3 * silence)
			var lastSent time.Time
			for i := 0; alive && time.Now().Before(stallEnd) || i < 2; i++ {
				send()
				lastSent = time.Now()
				time.Sleep(5 * time.Millisecond)
			}
			for time.Now().Before(stallEnd) {
				time.Sleep(time.Millisecond)
			}
			close(rel)
			if alive {
				keep := time.Now().Add(5 * silence)
				for time.Now().Before(keep) {
					select {
					case res := <-done:
						t.Fatalf("took over (%v) an active that sent all along; the stall was the standby's", res.err)
					default:
					}
					send()
					time.Sleep(5 * time.Millisecond)
				}
				if b.Stats.HeldOff.Load() == 0 {
					t.Error("the standby read what was queued but did not count the takeover it held off")
				}
				lastSent = time.Now()
			}
			var res result
			select {
			case res = <-done:
			case <-ctx.Done():
				t.Fatal("the standby never took over")
			}
			if res.err != nil || res.r == nil || res.r.State.Tick != tick {
				t.Fatalf("took over with %v (%v), want the copy of tick %d, the last sent (held before the stall: %d)", res.r != nil, res.err, tick, held)
			}
			if !alive && !b.Took.Heard.Before(lastSent.Add(silence)) {
				t.Fatalf("the active last heard at %v, %v after its last copy was sent: it arrived during the stall", b.Took.Heard.Format(time.StampMicro), b.Took.Heard.Sub(lastSent))
			}
		})
	}
}

// TestColdRestartListensLonger: a box that restarts (a stored epoch) and
// holds no copy does not take over after one silence: an active that is
// only slow gets ColdSilence to be heard, and once it is, the box follows
// it and takes over with its copy when it falls silent.
func TestColdRestartListensLonger(t *testing.T) {
	a, b := pairOf(t, 30*time.Millisecond)
	if err := StoreEpoch(b.cfg.EpochFile, 3); err != nil {
		t.Fatal(err)
	}
	a.epoch.Store(4)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type result struct {
		r *server.Replica
		e uint32
	}
	done := make(chan result, 1)
	go func() {
		r, e, err := b.Follow(ctx)
		if err != nil {
			t.Error(err)
		}
		done <- result{r, e}
	}()
	select {
	case r := <-done:
		t.Fatalf("the restarted box took over (epoch %d) with no copy before ColdSilence", r.e)
	case <-time.After(ColdSilence / 4): // many silences, none of them enough
	}
	rep := testReplica(2)
	a.Replicate(rep) // the slow active is heard at last
	r := <-done
	if r.r == nil || r.e != 5 || r.r.State.Tick != rep.State.Tick {
		t.Fatalf("took over under epoch %d with copy %v; want epoch 5 with the active's copy", r.e, r.r != nil)
	}
}

// TestFloodDoesNotHoldOffTakeover: junk sent to the standby's pair port
// as fast as a socket can (never verifying, always waiting unread) does
// not keep it from taking over once the active falls silent.
func TestFloodDoesNotHoldOffTakeover(t *testing.T) {
	a, b := pairOf(t, 30*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan uint32, 1)
	go func() {
		_, e, err := b.Follow(ctx)
		if err != nil {
			t.Error(err)
		}
		done <- e
	}()
	a.epoch.Store(2)
	for range 5 { // an active it followed, then silent
		a.Replicate(testReplica(1))
		time.Sleep(5 * time.Millisecond)
	}
	// Several senders without pause, so that the socket is seldom empty
	// when the follower looks.
	const senders = 4
	stop := make(chan struct{})
	flooded := make(chan int, senders)
	for range senders {
		junk, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(b.LocalAddr()))
		if err != nil {
			t.Fatal(err)
		}
		defer junk.Close()
		go func() {
			n := 0
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); n++ {
				select {
				case <-stop:
					flooded <- n
					return
				default:
				}
				junk.Write([]byte("ARCP\x02\x01 junk of version 2 that never opens, sent without pause"))
			}
			flooded <- n
		}()
	}
	collect := func() (n int) {
		for range senders {
			n += <-flooded
		}
		return n
	}
	select {
	case e := <-done:
		close(stop)
		n := collect()
		if e != 3 {
			t.Fatalf("took over under epoch %d, want 3", e)
		}
		if b.Stats.BadMAC.Load() == 0 {
			t.Fatalf("no junk reached the standby (%d sent)", n)
		}
	case <-ctx.Done():
		close(stop)
		collect()
		t.Fatal("the flood held the takeover off")
	}
}

// TestSealedCopyOverLink: a sealed server's copy crosses the link whole
// (the group's and the sessions' keys and counters) and encrypted: no key
// of it shows in a datagram. A box that was active and takes over again
// from its own last copy (no copy of the other's reached it) starts every
// counter one more seal.Reserve ahead: the server that took over from it
// used the numbers above its older copy.
func TestSealedCopyOverLink(t *testing.T) {
	a, b := pairOf(t, 30*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type result struct {
		r   *server.Replica
		e   uint32
		err error
	}
	done := make(chan result, 1)
	follow := func(l *Link) {
		go func() {
			r, e, err := l.Follow(ctx)
			done <- result{r, e, err}
		}()
	}
	follow(b)
	a.epoch.Store(2)
	rep := testSealedReplica(3)
	for range 5 {
		a.Replicate(rep)
		if bytes.Contains(a.dgram, rep.Group.Key[:3]) && bytes.Contains(a.dgram, rep.Group.Signer[:3]) {
			t.Fatal("the group's keys show in the datagram")
		}
		time.Sleep(5 * time.Millisecond)
	}
	r := <-done
	if r.err != nil || r.r == nil || r.e != 3 {
		t.Fatalf("took over: epoch %d, copy %v, %v", r.e, r.r != nil, r.err)
	}
	if !r.r.Sealed || r.r.Group != rep.Group || !reflect.DeepEqual(r.r.Sessions, rep.Sessions) {
		t.Fatalf("the sealed copy taken over: sealed %v, group %+v\nsessions %+v\nwant %+v", r.r.Sealed, r.r.Group, r.r.Sessions, rep.Sessions)
	}

	// b is active now, copies, and steps back (isolated): it follows
	// again, hears no one, and takes over from its own copy.
	own := testSealedReplica(2)
	b.Replicate(own)
	follow(b)
	r = <-done
	if r.err != nil || r.r == nil || !r.r.Sealed {
		t.Fatalf("took over again: epoch %d, copy %v, %v", r.e, r.r != nil, r.err)
	}
	if r.r.Group.Send != own.Group.Send+seal.Reserve {
		t.Fatalf("own copy's group reservation %d, want %d", r.r.Group.Send, own.Group.Send+seal.Reserve)
	}
	for i, s := range r.r.Sessions {
		if s.Seal.Send != own.Sessions[i].Seal.Send+seal.Reserve || s.Seal.Received != own.Sessions[i].Seal.Received || s.Seal.Keys != own.Sessions[i].Seal.Keys {
			t.Fatalf("own copy's session %d: %+v, want %+v with the send a Reserve ahead", i, s.Seal, own.Sessions[i].Seal)
		}
	}
}
