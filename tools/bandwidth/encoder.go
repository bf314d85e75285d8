package main

import (
	"fmt"
	"slices"
	"sort"

	"github.com/arcadexr/arcade/wire"
)

// An Encoder turns each tick's state into the datagram bodies sent to the
// multicast group. One Encoder serves one stream: it is given the ticks in
// order, each once.
type Encoder interface {
	Name() string
	// Tick encodes tick t's state s. held reports, per receiver, which
	// earlier ticks it holds completely, as far as the sender knows from
	// the acknowledgements that reached it by now (for delta coders:
	// held.Baseline() is the newest tick every receiver has). Tick appends
	// the body sizes in bytes, header excluded, of the datagrams it would
	// send this tick to sizes and returns it. A body is at most
	// wire.MaxBodySize bytes.
	Tick(t int, s *State, held Held, sizes []int) []int
}

// Held is what the sender knows of the receivers: every tick each one
// acknowledged holding completely (all of its datagrams arrived).
type Held interface {
	Receivers() int
	// Holds reports whether receiver r acknowledged holding tick u.
	Holds(r, u int) bool
	// Newest is the newest tick receiver r acknowledged, or -1.
	Newest(r int) int
	// Got reports whether receiver r acknowledged datagram i (in the order
	// Tick returned them) of tick u: for coders that keep a baseline per
	// datagram rather than per tick.
	Got(r, u, i int) bool
	// Baseline is the newest tick every receiver acknowledged, or -1 if
	// there is none within the last BaselineWindow ticks.
	Baseline() int
}

// BaselineWindow bounds how far back Held.Baseline looks.
const BaselineWindow = 256

// EncoderConfig is what an encoder may know of the stream.
type EncoderConfig struct {
	Rate int // ticks per second
	// HashEvery: the server puts the state hash in every HashEvery-th
	// tick's snapshot (server.DefaultHashEvery); 0 never.
	HashEvery int
	// The receivers, for a coder that simulates its own (delta: it needs
	// what each receiver decoded, and sends repairs).
	Run RunConfig
	// BudgetKbps is the payload budget of a coder that shapes to one.
	BudgetKbps int
}

// extras is what an encoder may add to its Result.
type extras interface {
	fill(r *Result)
}

// NewEncoder makes an encoder for a stream.
type NewEncoder func(cfg EncoderConfig) Encoder

var encoders = map[string]NewEncoder{}

// RegisterEncoder makes an encoder available by name (--encoders). A delta
// coder plugs in here: a file of this package that calls
//
//	func init() { RegisterEncoder("delta", newDeltaEncoder) }
//
// with an Encoder whose Tick codes s against held.Baseline() (or sends a
// whole tick when it is -1). It panics on a name registered twice.
func RegisterEncoder(name string, f NewEncoder) {
	if _, dup := encoders[name]; dup {
		panic("bandwidth: encoder " + name + " registered twice")
	}
	encoders[name] = f
}

// encoderNames lists the registered encoders: today, quantized, delta,
// delta+budget, coded, coded+budget (those registered), then the rest by
// name.
func encoderNames() []string {
	first := []string{"today", "quantized", "delta", "delta+budget", "coded", "coded+budget"}
	var out, rest []string
	for _, n := range first {
		if _, ok := encoders[n]; ok {
			out = append(out, n)
		}
	}
	for n := range encoders {
		if !slices.Contains(first, n) {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func newEncoders(names []string, cfg EncoderConfig) ([]Encoder, error) {
	var out []Encoder
	for _, n := range names {
		f, ok := encoders[n]
		if !ok {
			return nil, fmt.Errorf("unknown encoder %q (have %v)", n, encoderNames())
		}
		out = append(out, f(cfg))
	}
	return out, nil
}

func init() {
	RegisterEncoder("today", func(cfg EncoderConfig) Encoder { return &todayEncoder{hashEvery: cfg.HashEvery, rate: cfg.Rate} })
	RegisterEncoder("quantized", func(cfg EncoderConfig) Encoder { return &quantizedEncoder{} })
}

// todayEncoder sends wire.Snapshot parts exactly as server.broadcast splits
// a tick today (no venue passphrase, so no seal room): players first, then
// entities, as many whole records as fit a datagram, the state hash every
// hashEvery ticks.
type todayEncoder struct {
	hashEvery, rate int
	parts           []wire.Snapshot
	body            []byte
}

func (e *todayEncoder) Name() string { return "today" }

func (e *todayEncoder) Tick(t int, s *State, _ Held, sizes []int) []int {
	e.parts = todayParts(e.parts[:0], uint32(t), uint64(t+1)*1e6/uint64(e.rate), s, e.hashEvery > 0 && t%e.hashEvery == 0)
	for i := range e.parts {
		e.body = e.parts[i].Append(e.body[:0])
		sizes = append(sizes, len(e.body))
	}
	return sizes
}

// todayParts splits a tick's state into snapshot parts as the server does
// (server/broadcast.go, nextPart, with no seal room), appending them to
// dst. The parts' record slices alias s.
func todayParts(dst []wire.Snapshot, tick uint32, serverTime uint64, s *State, hasHash bool) []wire.Snapshot {
	next := func(p, e int) (int, int) {
		room := wire.MaxBodySize - wire.SnapshotLen(0, 0, hasHash)
		np := min(len(s.Players)-p, room/wire.SnapshotPlayerSize, wire.MaxSnapshotPlayers)
		room -= np * wire.SnapshotPlayerSize
		ne := 0
		if p+np == len(s.Players) {
			ne = min(len(s.Entities)-e, room/wire.SnapshotEntitySize, wire.MaxSnapshotEntities)
		}
		return p + np, e + ne
	}
	parts := 0
	for p, e := 0, 0; ; {
		p, e = next(p, e)
		parts++
		if p == len(s.Players) && e == len(s.Entities) {
			break
		}
	}
	snap := wire.Snapshot{Tick: tick, ServerTime: serverTime, Parts: uint8(min(parts, 255)), PlayerCount: uint16(len(s.Players))}
	if hasHash {
		snap.Flags = wire.SnapshotHasHash
	}
	p, e := 0, 0
	for part := 0; part < parts && part < 255; part++ {
		np, ne := next(p, e)
		snap.Part = uint8(part)
		snap.Players = s.Players[p:np]
		snap.Entities = s.Entities[e:ne]
		p, e = np, ne
		dst = append(dst, snap)
	}
	return dst
}

// Bit sizes of the quantized encoding.
const (
	poseBits   = 3*16 + 2 + 3*12 // 86: today's position grid and smallest-three rotation
	entityBits = 8 + poseBits    // flags and pose; + 16 when the id is explicit
	playerBits = 16 + 32 + 8 + 3*poseBits
	// A quantized datagram starts with tick (32), part and parts (8 + 8),
	// player and entity record counts (8 + 8), a flag byte (bit 0:
	// entity ids are implicit, consecutive from the first) and the first
	// entity id (16).
	quantHeaderBits = 32 + 8 + 8 + 8 + 8 + 8 + 16
)

// quantizedEncoder sends every player and entity every tick, bit-packed at
// today's quantization, no delta: players first, then entities, whole
// records per datagram. Entity ids are implicit where a datagram's entities
// have consecutive ids, 16 bits each otherwise.
type quantizedEncoder struct {
	w bitWriter
}

func (e *quantizedEncoder) Name() string { return "quantized" }

func (e *quantizedEncoder) Tick(t int, s *State, _ Held, sizes []int) []int {
	const room = wire.MaxBodySize * 8
	p, en := 0, 0
	for first := true; first || p < len(s.Players) || en < len(s.Entities); first = false {
		bits := quantHeaderBits
		np := min((room-bits)/playerBits, len(s.Players)-p, 255)
		bits += np * playerBits
		ne := 0
		if p+np == len(s.Players) {
			// Take entities while they fit, with implicit ids while the
			// datagram's ids are consecutive.
			implicit := true
			for en+ne < len(s.Entities) && ne < 255 {
				imp := implicit && (ne == 0 || s.Entities[en+ne].ID == s.Entities[en+ne-1].ID+1)
				per := entityBits
				if !imp {
					per += 16
				}
				if bits+(ne+1)*per > room {
					break
				}
				implicit = imp
				ne++
			}
			per := entityBits
			if !implicit {
				per += 16
			}
			bits += ne * per
		}
		e.w.reset()
		e.pack(t, s, p, np, en, ne)
		if got := e.w.bits(); got != bits {
			panic(fmt.Sprintf("bandwidth: quantized datagram of %d bits, counted %d", got, bits))
		}
		sizes = append(sizes, (bits+7)/8)
		p, en = p+np, en+ne
	}
	return sizes
}

// pack writes one datagram of players [p, p+np) and entities [en, en+ne).
func (e *quantizedEncoder) pack(t int, s *State, p, np, en, ne int) {
	w := &e.w
	ents := s.Entities[en : en+ne]
	implicit := true
	for i := 1; i < len(ents); i++ {
		implicit = implicit && ents[i].ID == ents[i-1].ID+1
	}
	w.put(uint64(uint32(t)), 32)
	w.put(0, 16) // part and parts: zero here, only the size is measured
	w.put(uint64(np), 8)
	w.put(uint64(ne), 8)
	var flags, firstID uint64
	if implicit {
		flags = 1
	}
	if ne > 0 {
		firstID = uint64(ents[0].ID)
	}
	w.put(flags, 8)
	w.put(firstID, 16)
	for i := range s.Players[p : p+np] {
		pl := &s.Players[p+i]
		w.put(uint64(pl.ClientID), 16)
		w.put(uint64(pl.LastInputSeq), 32)
		w.put(uint64(pl.Tracking), 8)
		w.pose(&pl.Head)
		w.pose(&pl.Hands[0])
		w.pose(&pl.Hands[1])
	}
	for i := range ents {
		if !implicit {
			w.put(uint64(ents[i].ID), 16)
		}
		w.put(uint64(ents[i].Flags), 8)
		w.pose(&ents[i].Pose)
	}
}

// bitWriter packs values least significant bit first.
type bitWriter struct {
	buf  []byte
	acc  uint64
	nacc int
	n    int // bits written
}

func (w *bitWriter) reset() { w.buf, w.acc, w.nacc, w.n = w.buf[:0], 0, 0, 0 }

func (w *bitWriter) bits() int { return w.n }

// put writes the low n ≤ 56 bits of v.
func (w *bitWriter) put(v uint64, n int) {
	w.acc |= (v & (1<<n - 1)) << w.nacc
	w.nacc += n
	w.n += n
	for w.nacc >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.nacc -= 8
	}
}

// bytes flushes and returns the packed bytes.
func (w *bitWriter) bytes() []byte {
	b := slices.Clone(w.buf)
	if w.nacc > 0 {
		b = append(b, byte(w.acc))
	}
	return b
}

// pose writes p at today's quantization: the three 16-bit coordinates and
// the 38 used bits of the rotation word, exactly as wire.AppendPose
// encodes them.
func (w *bitWriter) pose(p *wire.Pose) {
	var b [wire.PoseSize]byte
	wire.AppendPose(b[:0], p)
	for i := 0; i < 6; i += 2 {
		w.put(uint64(b[i])|uint64(b[i+1])<<8, 16)
	}
	rot := uint64(b[6]) | uint64(b[7])<<8 | uint64(b[8])<<16 | uint64(b[9])<<24 | uint64(b[10])<<32
	w.put(rot, 38)
}
