package record

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"sync/atomic"
	"time"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/wire"
)

// Config configures a Writer. Zero fields mean the documented default.
type Config struct {
	// TickRate is the server's, for the reader. Required.
	TickRate int
	// Scene is the scene's text (scene.Format) and Fingerprint its
	// checkpoint.SceneFingerprint: a replay builds its world from it.
	Scene       []byte
	Fingerprint uint64
	// Buffer bounds the bytes of events not yet written: a ring of this
	// size, default DefaultBuffer (at 16 headsets, about 15 s of a disk
	// that does not take them), resident from New on. At least MinBuffer.
	Buffer int
	// KeyEvery is the keyframe period; default DefaultKeyEvery. A seek
	// replays at most this much from the keyframe before its target.
	KeyEvery time.Duration
}

// Defaults and limits of Config.
const (
	DefaultKeyEvery = 2 * time.Second
	DefaultBuffer   = 4 << 20
	MinBuffer       = 4 << 10
)

// flushTicks: what the tick wrote is handed to the file at least every
// this many ticks, so that a crash loses little of the recording.
const flushTicks = 12

func (c *Config) validate() error {
	if c.Buffer == 0 {
		c.Buffer = DefaultBuffer
	}
	if c.KeyEvery == 0 {
		c.KeyEvery = DefaultKeyEvery
	}
	switch {
	case c.TickRate < 1 || c.TickRate > math.MaxUint16:
		return fmt.Errorf("record: Config.TickRate %d out of range 1..65535", c.TickRate)
	case c.Buffer < MinBuffer:
		return fmt.Errorf("record: Config.Buffer %d is below %d", c.Buffer, MinBuffer)
	case c.KeyEvery < 0:
		return fmt.Errorf("record: Config.KeyEvery %v is negative", c.KeyEvery)
	case len(c.Scene) > MaxFrame-32:
		return fmt.Errorf("record: Config.Scene is %d bytes, at most %d", len(c.Scene), MaxFrame-32)
	}
	return nil
}

// Key is a keyframe being filled: the world (State) and the client ids
// of the connected sessions (the players a state hash covers).
type Key struct {
	Kind     uint8
	Now      int64
	State    checkpoint.State
	Sessions []uint16
}

// item is what the tick hands the goroutine: the ring holds frames up to
// pos (a count of bytes since the start), and, with key, the keyframe
// that follows them.
type item struct {
	pos uint64
	key *Key
}

// Writer writes a recording. Its event methods are for one goroutine (the
// tick thread) and never block; Close is for the same goroutine, after
// the last event.
//
// The tick encodes each frame into a scratch buffer and copies it into a
// ring of Config.Buffer bytes, leaving its CRC to the goroutine; every flushTicks ticks (or a quarter of the
// ring) it tells the goroutine, over a channel and without waiting, how
// far the ring is filled, and the goroutine writes up to there. A
// keyframe goes the same way with its place in the ring. When the ring
// has no room for a frame, the frame is lost and counted, and the next
// frame that fits is preceded by a Lost frame.
type Writer struct {
	cfg      Config
	path     string // Create's
	out      *bufio.Writer
	under    io.Writer
	ring     []byte
	head     atomic.Uint64 // bytes the tick put in the ring, ever
	tail     atomic.Uint64 // bytes the goroutine took out, ever
	told     uint64        // head as last handed over
	scratch  []byte
	todo     chan item
	keys     chan *Key
	done     chan struct{}
	keyTicks uint64
	lastKey  uint64 // tick of the last periodic keyframe, when keyed
	keyed    bool

	// The tick thread's: the run of events being lost, and the ticks
	// since it last handed over.
	losing             bool
	lostEv, lostB      uint64
	lostKeys           uint32
	lostFrom, lastTick uint64
	sinceFlush         int

	events, lost, ticks, keyframes, keysLost atomic.Uint64
	written                                  atomic.Int64
	err                                      atomic.Pointer[error]
}

// todoRoom is the hand-over channel's size; two places stay free for the
// two keyframes.
const todoRoom = 64

// Create starts a recording in the file at path (truncated).
func Create(path string, cfg Config) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", path, err)
	}
	w, err := New(f, cfg)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("record %s: %w", path, err)
	}
	w.path = path
	return w, nil
}

// New starts a recording written to out (closed, and synced first if it
// can be, by Close).
func New(out io.Writer, cfg Config) (*Writer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	w := &Writer{
		cfg:      cfg,
		out:      bufio.NewWriterSize(out, 64<<10),
		under:    out,
		ring:     make([]byte, cfg.Buffer),
		scratch:  make([]byte, 0, 4096),
		todo:     make(chan item, todoRoom),
		keys:     make(chan *Key, 2),
		done:     make(chan struct{}),
		keyTicks: uint64(max(1, (cfg.KeyEvery*time.Duration(cfg.TickRate)+time.Second/2)/time.Second)),
	}
	// The ring's pages, and the keyframes', are touched here, not by the
	// tick: writing its way through a ring fresh from the kernel, the tick
	// took a page fault per 4 KiB it recorded (about 2 µs each on a VM; 70
	// a second at 16 headsets, through the ring's first pass, 15 s at
	// 16 headsets and longer with fewer).
	clear(w.ring)
	clear(w.scratch[:cap(w.scratch)])
	for range 2 {
		w.keys <- &Key{State: *checkpoint.NewState(), Sessions: make([]uint16, 0, 64)}
	}
	b := appendHeader(nil, cfg.TickRate)
	b, at := beginFrame(b, TypeScene)
	b = binary.LittleEndian.AppendUint64(b, cfg.Fingerprint)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(cfg.Scene)))
	b = append(b, cfg.Scene...)
	b = endFrame(b, at)
	if _, err := w.out.Write(b); err != nil {
		return nil, err
	}
	if err := w.out.Flush(); err != nil {
		return nil, err
	}
	w.written.Add(int64(len(b)))
	go w.run()
	return w, nil
}

// KeyDue reports whether a keyframe is due at tick: KeyEvery's ticks
// since the last one (the first at the first tick a multiple of them).
func (w *Writer) KeyDue(tick uint64) bool {
	if w.keyed && tick-w.lastKey < w.keyTicks || !w.keyed && tick%w.keyTicks != 0 {
		return false
	}
	w.keyed, w.lastKey = true, tick
	return true
}

// KeyState returns a Key to fill and hand to Keyframe, reset, or nil
// (the keyframe is skipped, and counted) while the goroutine holds both.
func (w *Writer) KeyState() *Key {
	select {
	case k := <-w.keys:
		k.State.Reset()
		k.Sessions = k.Sessions[:0]
		return k
	default:
		w.keysLost.Add(1)
		w.lostKeys++
		return nil
	}
}

// Keyframe puts k, from KeyState, in the stream after every event so far;
// now is the server time it is of (for KeyRestored, the time the state
// was restored at).
func (w *Writer) Keyframe(kind uint8, now int64, k *Key) {
	k.Kind, k.Now = kind, now
	w.told = w.head.Load()
	w.sinceFlush = 0
	select {
	case w.todo <- item{pos: w.told, key: k}:
		w.keyframes.Add(1)
	default: // cannot happen: two places are kept for the keys
		w.keys <- k
	}
}

// handOver tells the goroutine how far the ring is filled, unless the
// channel is nearly full (the places kept for keyframes): the next hand
// over says it too.
func (w *Writer) handOver() {
	w.sinceFlush = 0
	h := w.head.Load()
	if h == w.told || len(w.todo) >= todoRoom-2 {
		return
	}
	select {
	case w.todo <- item{pos: h}:
		w.told = h
	default:
	}
}

// frame returns the scratch buffer with a frame of type typ begun; n is
// the payload's size. end puts it in the ring.
func (w *Writer) frame(typ uint8, n int) ([]byte, int) {
	if cap(w.scratch) < FrameOverhead+n {
		w.scratch = make([]byte, 0, FrameOverhead+n)
	}
	return beginFrame(w.scratch[:0], typ)
}

// appendLost appends the Lost frame of the run of events lost so far and
// ends the run.
func (w *Writer) appendLost(b []byte) []byte {
	b, at := beginFrame(b, TypeLost)
	b = binary.LittleEndian.AppendUint64(b, w.lostEv)
	b = binary.LittleEndian.AppendUint64(b, w.lostB)
	b = binary.LittleEndian.AppendUint32(b, w.lostKeys)
	b = binary.LittleEndian.AppendUint64(b, w.lostFrom)
	w.losing, w.lostEv, w.lostB, w.lostKeys = false, 0, 0, 0
	return endFrame(b, at)
}

// lostFrameSize is the size of a Lost frame.
const lostFrameSize = FrameOverhead + 28

// end finishes the frame in the scratch buffer and puts it in the ring,
// after a Lost frame if events were lost before it; without room, it is
// lost too.
func (w *Writer) end(b []byte, at int) {
	b = endFrameUnsealed(b, at) // the goroutine computes its CRC (sealTo)
	w.scratch = b[:0]
	room := uint64(len(w.ring)) - (w.head.Load() - w.tail.Load())
	need := uint64(len(b))
	if w.losing {
		need += lostFrameSize
	}
	if need > room {
		if !w.losing {
			w.losing, w.lostFrom = true, w.lastTick
		}
		w.lostEv++
		w.lostB += uint64(len(b))
		w.lost.Add(1)
		return
	}
	if w.losing {
		var lb [lostFrameSize]byte
		w.put(w.appendLost(lb[:0]))
	}
	w.put(b)
	w.events.Add(1)
	if w.head.Load()-w.told >= uint64(len(w.ring)/4) {
		w.handOver()
	}
}

// put copies b into the ring at its head; the caller checked the room.
func (w *Writer) put(b []byte) {
	h := w.head.Load()
	at := int(h % uint64(len(w.ring)))
	n := copy(w.ring[at:], b)
	copy(w.ring, b[n:])
	w.head.Store(h + uint64(len(b)))
}

func (w *Writer) nowID(typ uint8, now int64, id uint16) {
	b, at := w.frame(typ, 10)
	b = binary.LittleEndian.AppendUint64(b, uint64(now))
	w.end(binary.LittleEndian.AppendUint16(b, id), at)
}

// AddPlayer records World.AddPlayer.
func (w *Writer) AddPlayer(now int64, id uint16) { w.nowID(TypeAddPlayer, now, id) }

// RemovePlayer records World.RemovePlayer.
func (w *Writer) RemovePlayer(now int64, id uint16) { w.nowID(TypeRemovePlayer, now, id) }

// Leave records a session leaving: its player is no longer in the state.
func (w *Writer) Leave(now int64, id uint16) { w.nowID(TypeLeave, now, id) }

// ApplyInput records World.ApplyInput.
func (w *Writer) ApplyInput(now int64, id uint16, in *wire.PoseInput) {
	b, at := w.frame(TypeApplyInput, 10+InputSize)
	b = binary.LittleEndian.AppendUint64(b, uint64(now))
	b = binary.LittleEndian.AppendUint16(b, id)
	w.end(checkpoint.AppendInput(b, in), at)
}

// Join records a session joining as a player, with its avatar (a resumed
// player's, kept; otherwise none).
func (w *Writer) Join(now int64, id uint16, hasAvatar bool, avatar *wire.PoseInput) {
	b, at := w.frame(TypeJoin, 11+InputSize)
	b = binary.LittleEndian.AppendUint64(b, uint64(now))
	b = binary.LittleEndian.AppendUint16(b, id)
	var fl uint8
	if hasAvatar {
		fl = 1
	}
	w.end(checkpoint.AppendInput(append(b, fl), avatar), at)
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// Grab records World.Grab and whether it succeeded.
func (w *Writer) Grab(now int64, client uint16, hand int, entity uint16, ok bool) {
	b, at := w.frame(TypeGrab, 14)
	b = binary.LittleEndian.AppendUint64(b, uint64(now))
	b = binary.LittleEndian.AppendUint16(b, client)
	b = append(b, uint8(hand))
	b = binary.LittleEndian.AppendUint16(b, entity)
	w.end(append(b, b2u(ok)), at)
}

// Release records World.Release and whether it succeeded.
func (w *Writer) Release(now int64, client uint16, hand int, ok bool) {
	b, at := w.frame(TypeRelease, 12)
	b = binary.LittleEndian.AppendUint64(b, uint64(now))
	b = binary.LittleEndian.AppendUint16(b, client)
	w.end(append(b, uint8(hand), b2u(ok)), at)
}

func (w *Writer) now(typ uint8, now int64) {
	b, at := w.frame(typ, 8)
	w.end(binary.LittleEndian.AppendUint64(b, uint64(now)), at)
}

// Propagate records World.Propagate.
func (w *Writer) Propagate(now int64) { w.now(TypePropagate, now) }

// EndStep records World.EndStep.
func (w *Writer) EndStep(now int64) { w.now(TypeEndStep, now) }

// BeginStep records World.BeginStep and the sub-steps it returned.
func (w *Writer) BeginStep(now int64, dt float64, n int) {
	b, at := w.frame(TypeBeginStep, 18)
	b = binary.LittleEndian.AppendUint64(b, uint64(now))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(dt))
	w.end(binary.LittleEndian.AppendUint16(b, uint16(n)), at)
}

// SubStep records World.SubStep.
func (w *Writer) SubStep(i int) {
	b, at := w.frame(TypeSubStep, 2)
	w.end(binary.LittleEndian.AppendUint16(b, uint16(i)), at)
}

// Tick records the end of a tick: its number, time, state hash, how many
// players and entities the state has, and the entities whose state
// changed since the last Tick (all of them the first time).
func (w *Writer) Tick(tick uint64, now int64, hash uint64, players, entities int, changed []wire.EntityState) {
	w.lastTick = tick
	w.ticks.Add(1)
	b, at := w.frame(TypeTick, 30+len(changed)*EntitySize)
	b = binary.LittleEndian.AppendUint64(b, tick)
	b = binary.LittleEndian.AppendUint64(b, uint64(now))
	b = binary.LittleEndian.AppendUint64(b, hash)
	b = binary.LittleEndian.AppendUint16(b, uint16(players))
	b = binary.LittleEndian.AppendUint16(b, uint16(entities))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(changed)))
	for i := range changed {
		b = AppendEntity(b, &changed[i])
	}
	w.end(b, at)
	if w.sinceFlush++; w.sinceFlush >= flushTicks {
		w.handOver()
	}
}

// AppendEntity appends an entity state raw (EntitySize bytes).
func AppendEntity(b []byte, e *wire.EntityState) []byte {
	b = binary.LittleEndian.AppendUint16(b, e.ID)
	return appendPose(append(b, e.Flags), &e.Pose)
}

// ParseEntity decodes AppendEntity's bytes; b must hold EntitySize.
func ParseEntity(b []byte) wire.EntityState {
	f := func(i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[3+4*i:])) }
	return wire.EntityState{
		ID: binary.LittleEndian.Uint16(b), Flags: b[2],
		Pose: wire.Pose{Pos: wire.Vec3{X: f(0), Y: f(1), Z: f(2)}, Rot: wire.Quat{X: f(3), Y: f(4), Z: f(5), W: f(6)}},
	}
}

// Close hands over what is left, writes the End frame, syncs and closes
// the output, and returns the first write error.
func (w *Writer) Close() error {
	w.todo <- item{pos: w.head.Load()} // blocks only behind the goroutine's writes: the tick has stopped
	close(w.todo)
	<-w.done
	var b []byte
	if w.losing { // the loss at the very end, said before the end
		b = w.appendLost(b)
	}
	b, at := beginFrame(b, TypeEnd)
	b = binary.LittleEndian.AppendUint64(b, w.events.Load())
	b = binary.LittleEndian.AppendUint64(b, w.lost.Load())
	b = binary.LittleEndian.AppendUint64(b, w.ticks.Load())
	w.write(endFrame(b, at))
	if err := w.out.Flush(); err != nil {
		w.fail(err)
	}
	if s, ok := w.under.(interface{ Sync() error }); ok {
		if err := s.Sync(); err != nil {
			w.fail(err)
		}
	}
	if c, ok := w.under.(io.Closer); ok {
		if err := c.Close(); err != nil {
			w.fail(err)
		}
	}
	if e := w.err.Load(); e != nil {
		return *e
	}
	return nil
}

func (w *Writer) fail(err error) {
	w.err.CompareAndSwap(nil, &err)
}

func (w *Writer) write(b []byte) {
	if w.err.Load() != nil {
		return // the file is broken: what follows is discarded
	}
	if _, err := w.out.Write(b); err != nil {
		w.fail(err)
		return
	}
	w.written.Add(int64(len(b)))
}

func (w *Writer) run() {
	defer close(w.done)
	var kb []byte
	for it := range w.todo {
		w.drainTo(it.pos)
		if k := it.key; k != nil {
			b, at := beginFrame(kb[:0], TypeKeyframe)
			b = append(b, k.Kind)
			b = binary.LittleEndian.AppendUint64(b, uint64(k.Now))
			b = binary.LittleEndian.AppendUint16(b, uint16(len(k.Sessions)))
			for _, id := range k.Sessions {
				b = binary.LittleEndian.AppendUint16(b, id)
			}
			b = checkpoint.Append(b, &k.State)
			kb = endFrame(b, at)
			w.write(kb)
			w.keys <- k
		}
		if len(w.todo) == 0 && w.err.Load() == nil {
			if err := w.out.Flush(); err != nil { // to the kernel: a crash of the process keeps it
				w.fail(err)
			}
		}
	}
}

// drainTo writes the ring's bytes up to pos and frees their room.
func (w *Writer) drainTo(pos uint64) {
	t := w.tail.Load()
	w.sealTo(t, pos)
	for t < pos {
		at := int(t % uint64(len(w.ring)))
		n := min(uint64(len(w.ring)-at), pos-t)
		w.write(w.ring[at : at+int(n)])
		t += n
		w.tail.Store(t)
	}
}

// sealTo fills in the CRC of every frame in the ring from t to pos: the
// tick leaves it to this goroutine (a third of what recording cost the
// tick was the checksum). t and pos are frame boundaries, and the bytes
// between them are this goroutine's until it moves the tail past them.
func (w *Writer) sealTo(t, pos uint64) {
	var lb [4]byte
	for t < pos {
		w.ringRead(lb[:], t)
		size := uint64(binary.LittleEndian.Uint32(lb[:]))
		binary.LittleEndian.PutUint32(lb[:], w.ringCRC(t+4, size))
		w.ringWrite(t+4+size, lb[:])
		t += FrameOverhead - 1 + size
	}
}

// ringRead copies the ring's bytes from pos (a count since the start)
// into dst; ringWrite copies src into the ring at pos; ringCRC is the
// CRC of n bytes from pos. Each goes round the ring's end.
func (w *Writer) ringRead(dst []byte, pos uint64) {
	at := int(pos % uint64(len(w.ring)))
	k := copy(dst, w.ring[at:])
	copy(dst[k:], w.ring)
}

func (w *Writer) ringWrite(pos uint64, src []byte) {
	at := int(pos % uint64(len(w.ring)))
	k := copy(w.ring[at:], src)
	copy(w.ring, src[k:])
}

func (w *Writer) ringCRC(pos, n uint64) uint32 {
	at := pos % uint64(len(w.ring))
	first := min(n, uint64(len(w.ring))-at)
	c := crc32.Update(0, castagnoli, w.ring[at:at+first])
	return crc32.Update(c, castagnoli, w.ring[:n-first])
}

// Stats are a Writer's counters.
type Stats struct {
	Events, LostEvents, Ticks, Keyframes, LostKeyframes uint64
	Bytes                                               int64
	Err                                                 error
}

// Path is the file Create started; empty for New.
func (w *Writer) Path() string { return w.path }

// Stats returns the counters; safe from any goroutine.
func (w *Writer) Stats() Stats {
	s := Stats{Events: w.events.Load(), LostEvents: w.lost.Load(), Ticks: w.ticks.Load(),
		Keyframes: w.keyframes.Load(), LostKeyframes: w.keysLost.Load(), Bytes: w.written.Load()}
	if e := w.err.Load(); e != nil {
		s.Err = *e
	}
	return s
}

// ErrCut: the recording ends inside a frame or without its End frame (the
// server stopped without closing it).
var ErrCut = errors.New("record: cut short")
