package main

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/arcadexr/arcade/wire"
)

// TestTodayMatchesAppend: the today encoder's sizes are the bodies
// wire.Snapshot.Append makes of the server's split, every body fits a
// datagram, and the parts parse back to the whole state.
func TestTodayMatchesAppend(t *testing.T) {
	rec, err := recordCubes(1, 100, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	arc, err := recordArcade(1, 60, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	big := newPlayersTrace(1, playersCount, 120, 0.1)
	mixed := &mixTrace{players: newPlayersTrace(2, 100, 120, 0.2), ents: rec.at(120)}
	cases := []struct {
		tr        Trace
		wantParts int // without the hash
	}{
		{rec.at(120), 2}, // 101 entities
		{arc, 1},         // 16 players, 30 entities
		{big, 72},        // 2000 players: 28 a part
		{mixed, 4 + 1},   // 100 players (3 × 28 + 16), then 101 entities
	}
	for _, c := range cases {
		enc := &todayEncoder{hashEvery: 12, rate: c.tr.Rate()}
		var s State
		for tick := range min(c.tr.Len(), 13) {
			c.tr.State(tick, &s)
			sizes := enc.Tick(tick, &s, nil, nil)
			hasHash := tick%12 == 0
			parts := todayParts(nil, uint32(tick), 0, &s, hasHash)
			if len(sizes) != len(parts) {
				t.Fatalf("%s tick %d: %d sizes for %d parts", c.tr.Name(), tick, len(sizes), len(parts))
			}
			if !hasHash && len(parts) != c.wantParts {
				t.Errorf("%s tick %d: %d parts, want %d", c.tr.Name(), tick, len(parts), c.wantParts)
			}
			var got State
			for i := range parts {
				body := parts[i].Append(nil)
				if sizes[i] != len(body) {
					t.Errorf("%s tick %d part %d: encoder says %d bytes, Append makes %d", c.tr.Name(), tick, i, sizes[i], len(body))
				}
				if len(body) > wire.MaxBodySize {
					t.Errorf("%s tick %d part %d: %d bytes, more than MaxBodySize", c.tr.Name(), tick, i, len(body))
				}
				var m wire.Snapshot
				if _, err := m.Parse(body); err != nil {
					t.Fatalf("%s tick %d part %d: %v", c.tr.Name(), tick, i, err)
				}
				if int(m.Part) != i || int(m.Parts) != len(parts) || int(m.PlayerCount) != len(s.Players) {
					t.Errorf("%s tick %d part %d: part %d of %d, %d players", c.tr.Name(), tick, i, m.Part, m.Parts, m.PlayerCount)
				}
				got.Players = append(got.Players, m.Players...)
				got.Entities = append(got.Entities, m.Entities...)
			}
			if len(got.Players) != len(s.Players) || len(got.Entities) != len(s.Entities) {
				t.Fatalf("%s tick %d: parts carry %d players and %d entities, want %d and %d",
					c.tr.Name(), tick, len(got.Players), len(got.Entities), len(s.Players), len(s.Entities))
			}
			for i := range s.Entities {
				want := s.Entities[i]
				want.Pose = wire.QuantizePose(want.Pose)
				if got.Entities[i] != want {
					t.Fatalf("%s tick %d entity %d: %+v, want %+v", c.tr.Name(), tick, i, got.Entities[i], want)
				}
			}
			for i := range s.Players {
				if got.Players[i].ClientID != s.Players[i].ClientID || got.Players[i].LastInputSeq != s.Players[i].LastInputSeq {
					t.Fatalf("%s tick %d player %d: %+v", c.tr.Name(), tick, i, got.Players[i])
				}
			}
		}
	}
}

// mixTrace puts a players trace and a cubes trace in one state.
type mixTrace struct {
	players Trace
	ents    Trace
}

func (m *mixTrace) Name() string { return "mixed" }
func (m *mixTrace) Rate() int    { return m.players.Rate() }
func (m *mixTrace) Len() int     { return min(m.players.Len(), m.ents.Len()) }
func (m *mixTrace) State(t int, s *State) {
	var e State
	m.ents.State(t, &e)
	m.players.State(t, s)
	s.Entities = append(s.Entities[:0], e.Entities...)
}

// TestQuantizedSizes: the quantized encoder's datagrams hold what the bit
// counts say, in as few datagrams as whole records allow.
func TestQuantizedSizes(t *testing.T) {
	rec, err := recordCubes(1, 100, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	var s State
	rec.at(60).State(0, &s)
	// 901 entities with consecutive ids: 99 a datagram.
	for len(s.Entities) < 901 {
		e := s.Entities[len(s.Entities)-1]
		e.ID++
		s.Entities = append(s.Entities, e)
	}
	enc := &quantizedEncoder{}
	sizes := enc.Tick(0, &s, nil, nil)
	per := (wire.MaxBodySize*8 - quantHeaderBits) / entityBits
	if want := (901 + per - 1) / per; len(sizes) != want {
		t.Errorf("%d datagrams, want %d", len(sizes), want)
	}
	total := 0
	for i, n := range sizes {
		if n > wire.MaxBodySize {
			t.Errorf("datagram %d: %d bytes", i, n)
		}
		total += n
	}
	bits := len(sizes)*quantHeaderBits + 901*entityBits
	if total < bits/8 || total > bits/8+len(sizes) {
		t.Errorf("%d bytes, want about %d bits", total, bits)
	}
	// A gap in the ids: the datagram holding it pays 16 bits per record
	// for explicit ids, the others keep theirs implicit.
	plain := total
	s.Entities[50].ID += 1000
	sizes = enc.Tick(0, &s, nil, sizes[:0])
	total = 0
	for _, n := range sizes {
		total += n
	}
	if total <= plain || total > plain+2*per+(quantHeaderBits+entityBits)/8+2 {
		t.Errorf("with an id gap: %d bytes, want a little more than %d", total, plain)
	}
	// Players: 314 bits each.
	if playerBits != 314 || poseBits != 86 {
		t.Errorf("player %d bits, pose %d bits", playerBits, poseBits)
	}
	p := newPlayersTrace(1, playersCount, 60, 0.1)
	p.State(0, &s)
	sizes = enc.Tick(0, &s, nil, sizes[:0])
	perP := (wire.MaxBodySize*8 - quantHeaderBits) / playerBits
	if want := (playersCount + perP - 1) / perP; len(sizes) != want {
		t.Errorf("2000 players: %d datagrams, want %d", len(sizes), want)
	}
}

// TestBitWriterPose: the packed pose is today's wire encoding, bit for bit.
func TestBitWriterPose(t *testing.T) {
	p := wire.Pose{Pos: wire.Vec3{X: 1.234, Y: -5.5, Z: 31}, Rot: wire.Quat{X: 0.1, Y: 0.7, Z: -0.2, W: 0.6}}
	var w bitWriter
	w.pose(&p)
	got := w.bytes()
	want := wire.AppendPose(nil, &p)
	if w.bits() != poseBits || !bytes.Equal(got[:10], want[:10]) || got[10] != want[10]&0x3f {
		t.Errorf("packed % x (%d bits), wire % x", got, w.bits(), want)
	}
}

// TestLoss: each receiver loses about the configured share of datagrams,
// independently, and acknowledgements show up RTT later.
func TestLoss(t *testing.T) {
	for _, loss := range []float64{0, 0.05, 0.2} {
		rx := newReceivers(RunConfig{Receivers: 16, Loss: loss, Seed: 9}, 120, 2000)
		for tick := range 2000 {
			rx.see(tick)
			rx.deliver(tick, 10)
		}
		got := float64(rx.lost) / float64(rx.sent)
		sd := math.Sqrt(loss * (1 - loss) / float64(rx.sent))
		t.Logf("loss %.2f: measured %.4f over %d datagrams; complete ticks %.3f (want %.3f)", loss, got, rx.sent,
			float64(rx.complete)/float64(rx.ticks*16), math.Pow(1-loss, 10))
		if math.Abs(got-loss) > 4*sd+1e-12 {
			t.Errorf("loss %.2f: measured %.4f", loss, got)
		}
		if c := float64(rx.complete) / float64(rx.ticks*16); math.Abs(c-math.Pow(1-loss, 10)) > 0.02 {
			t.Errorf("loss %.2f: %.3f of ticks complete, want %.3f", loss, c, math.Pow(1-loss, 10))
		}
	}
	// Two receivers do not lose the same datagrams.
	rx := newReceivers(RunConfig{Receivers: 2, Loss: 0.5, Seed: 9}, 120, 100)
	for tick := range 100 {
		rx.deliver(tick, 8)
	}
	same := 0
	for tick := range 100 {
		for i := range 8 {
			if rx.rxGot[0][tick][i] == rx.rxGot[1][tick][i] {
				same++
			}
		}
	}
	if same > 480 || same < 320 {
		t.Errorf("receivers agree on %d of 800 datagrams at 50%% loss", same)
	}
}

func TestAckDelay(t *testing.T) {
	for _, c := range []struct {
		rtt   time.Duration
		rate  int
		delay int
	}{{4 * time.Millisecond, 120, 1}, {0, 60, 1}, {20 * time.Millisecond, 120, 3}, {25 * time.Millisecond, 120, 3}, {17 * time.Millisecond, 60, 2}} {
		rx := newReceivers(RunConfig{Receivers: 4, RTT: c.rtt, Seed: 1}, c.rate, 50)
		for tick := range 50 {
			rx.see(tick)
			if b := rx.Baseline(); tick >= c.delay && b != tick-c.delay {
				t.Errorf("RTT %v at %d Hz: tick %d sees baseline %d, want %d", c.rtt, c.rate, tick, b, tick-c.delay)
			}
			if tick >= c.delay && !rx.Got(0, tick-c.delay, 2) {
				t.Errorf("RTT %v at %d Hz: tick %d: datagram 2 of %d not acked", c.rtt, c.rate, tick, tick-c.delay)
			}
			rx.deliver(tick, 3)
		}
	}
}
