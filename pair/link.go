package pair

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/seal"
	"github.com/arcadexr/arcade/server"
	"golang.org/x/sys/unix"
)

// Defaults of Config (PROTOCOL §18.9).
const (
	// DefaultSilence is TakeoverSilence: a standby that has heard nothing
	// from the active for this long takes over. The active sends a copy
	// every tick (8.3 ms at 120 Hz), so it is 3.6 ticks of silence.
	DefaultSilence = 30 * time.Millisecond
	// MinSilence keeps a standby from taking over because of one late
	// tick of the active or one lost copy.
	MinSilence = 10 * time.Millisecond
	// Isolated is how long a server that took over with sessions in its
	// copy waits for one of them to speak: after that much silence from
	// every headset it is the one cut off, not the active it lost, and it
	// steps back before anyone hears its epoch (PROTOCOL §18.3).
	Isolated = time.Second
	// ColdSilence is how long a box that restarts (it has a stored
	// epoch) listens before it takes over with no copy, an empty world:
	// the active it does not hear may only be slow (a loaded box), and a
	// takeover then would end the room's game for the one it starts.
	ColdSilence = time.Second
	// GroupHold bounds how long the active's state heard on the group
	// holds a takeover off while the pair link is silent (§18.3): the
	// group token of an open room travels in clear, so anyone on the LAN
	// can forge such state, and must not keep a dead active's room without
	// a server for longer than this.
	GroupHold = time.Second
	// MinKeyLen is the shortest pair key accepted.
	MinKeyLen = 16
)

// Config configures one box's end of the pair link.
type Config struct {
	// Listen is this box's pair address (UDP); Peer the other box's.
	Listen, Peer netip.AddrPort
	// Key is the pair key both boxes are given: every pair datagram is
	// sealed under a key derived from it (PROTOCOL §18.2), and one that
	// does not open is dropped (Stats.BadMAC).
	Key []byte
	// Index is 0 for the box started as primary, 1 for the one started
	// as standby: a box writes only under epochs e with e mod 2 = Index.
	Index int
	// EpochFile stores the highest epoch this box wrote under.
	EpochFile string
	// Silence is TakeoverSilence; default DefaultSilence.
	Silence time.Duration
	// Group, if valid, is the snapshot multicast group (IPv4), which a
	// standby listens to while it follows, on the interface named
	// GroupIface ("": the system's choice): state heard there under the
	// epoch it follows holds a takeover off as the pair link's datagrams
	// do (§18.3).
	Group      netip.AddrPort
	GroupIface string
	Log        *slog.Logger
}

func (c *Config) validate() error {
	if c.Silence == 0 {
		c.Silence = DefaultSilence
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	switch {
	case !c.Listen.IsValid():
		return errors.New("pair: no pair listen address")
	case !c.Peer.IsValid() || c.Peer.Port() == 0 || c.Peer.Addr().IsUnspecified():
		return fmt.Errorf("pair: peer %v is not an address and port", c.Peer)
	case c.Peer == c.Listen:
		return fmt.Errorf("pair: the peer %v is this box's own pair address", c.Peer)
	case len(c.Key) < MinKeyLen:
		return fmt.Errorf("pair: the pair key has %d bytes, at least %d are needed", len(c.Key), MinKeyLen)
	case c.Index != 0 && c.Index != 1:
		return fmt.Errorf("pair: index %d, want 0 (primary) or 1 (standby)", c.Index)
	case c.EpochFile == "":
		return errors.New("pair: no epoch file: a box that forgets its epoch could write under one it used before")
	case c.Silence < MinSilence || c.Silence > 10*time.Second:
		return fmt.Errorf("pair: takeover silence %v out of range [%v, 10s]", c.Silence, MinSilence)
	case c.Group.IsValid() && (!c.Group.Addr().Is4() || !c.Group.Addr().IsMulticast() || c.Group.Port() == 0):
		return fmt.Errorf("pair: the group %v is not an IPv4 multicast address and port", c.Group)
	}
	return nil
}

// Stats counts the link's datagrams.
type Stats struct {
	Sent, SendErrors, TooBig           atomic.Uint64
	Received, Malformed, BadMAC, Stale atomic.Uint64
	// Version1 counts the datagrams of pair version 1 refused (a peer of
	// an older build).
	Version1                    atomic.Uint64
	Replayed, Copies, BadCopies atomic.Uint64
	AppliedLost                 atomic.Uint64 // calls dropped past MaxPending
	LastTick                    atomic.Uint64 // of the newest copy taken (standby)
	// Gaps counts, while following, the silences between the active's
	// datagrams.
	Gaps Gaps
	// GroupHeard counts the state datagrams heard on the group by the
	// last Follow; HeldOff how often the pair link had been silent for
	// the takeover silence and the standby did not take over (the group
	// heard the active, a datagram waited unread, or the copy was behind
	// the group's state).
	GroupHeard, HeldOff atomic.Uint64
}

// Takeover is when the takeover Follow returned passed its steps, for its
// log line: the gap headsets see is the silence, then what follows it.
type Takeover struct {
	Heard  time.Time // the active's last authentic datagram (zero: none heard)
	Silent time.Time // the takeover silence was complete
	Stored time.Time // the epoch was stored: at once when it was stored ahead
	Ahead  bool      // stored ahead, while following: no sync at takeover
}

// Link is one box's end of the pair link.
type Link struct {
	cfg    Config
	conn   *net.UDPConn
	raw    syscall.RawConn
	peer   unix.Sockaddr
	sealTx *sealer // the tick thread's
	sealRx *sealer // the reader's
	epoch  atomic.Uint32
	Stats  Stats

	// Sending (the tick thread): the copy's encoding, the datagram, and
	// the send callback (made once, so a send allocates nothing).
	seq    uint64
	enc    []byte
	aenc   []byte // a KindApplied datagram's calls
	dgram  []byte
	sendFn func(fd uintptr) bool
	sendEr error

	// Receiving: the replay window of the epoch followed, the copy being
	// put together, the newest complete one.
	win   window
	asm   assembly
	next  server.Replica
	last  server.Replica
	have  bool
	names map[string]string
	// The calls made after the copy held (or one to come), each with the
	// (epoch, tick) of the copy it follows; lastEpoch is the copy's.
	pend      []server.Applied
	pendTick  []pendKey
	lastEpoch uint32
	rbuf      []byte
	oob       []byte // the kernel's receive time of the datagram read
	seen      uint32 // highest authentic epoch heard

	// Took is the last takeover of Follow's.
	Took Takeover

	// pause, if set (tests), is called at the top of every turn of
	// Follow's loop: a box not scheduled for a while.
	pause func()
}

type pendKey struct {
	epoch uint32
	tick  uint64
}

// Open binds the pair socket.
func Open(cfg Config) (*Link, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(cfg.Listen))
	if err != nil {
		return nil, fmt.Errorf("pair: %w", err)
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, err
	}
	// A copy of a large world is tens of datagrams a tick, and a standby
	// starved for a few ticks must still find them queued: the kernel's
	// cap (net.core.rmem_max) is passed over where the box allows it
	// (CAP_NET_ADMIN), as the game socket's is.
	raw.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20) != nil {
			_ = conn.SetReadBuffer(8 << 20)
		}
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4<<20) != nil {
			_ = conn.SetWriteBuffer(4 << 20)
		}
	})
	// Every datagram carries the time it arrived: a standby that was not
	// scheduled for a while judges the active's silence by when its
	// datagrams came, not by when it got round to reading them.
	if err := udp.EnableTimestamps(raw); err != nil {
		conn.Close()
		return nil, fmt.Errorf("pair: SO_TIMESTAMPNS: %w", err)
	}
	l := &Link{cfg: cfg, conn: conn, raw: raw, sealTx: newSealer(cfg.Key), sealRx: newSealer(cfg.Key),
		names: map[string]string{}, rbuf: make([]byte, HeaderSize+PartSize+TagSize+1), oob: make([]byte, udp.CtrlSize),
		dgram: make([]byte, 0, HeaderSize+PartSize+TagSize)}
	if p := cfg.Peer.Addr().Unmap(); p.Is4() && cfg.Listen.Addr().Unmap().Is4() || cfg.Listen.Addr().IsUnspecified() && p.Is4() {
		l.peer = &unix.SockaddrInet4{Port: int(cfg.Peer.Port()), Addr: p.As4()}
	} else {
		l.peer = &unix.SockaddrInet6{Port: int(cfg.Peer.Port()), Addr: cfg.Peer.Addr().As16()}
	}
	l.sendFn = func(fd uintptr) bool {
		l.sendEr = unix.Sendto(int(fd), l.dgram, unix.MSG_DONTWAIT, l.peer)
		return true // never wait: a full socket buffer drops the datagram
	}
	return l, nil
}

// Close closes the socket.
func (l *Link) Close() error { return l.conn.Close() }

// LocalAddr is the pair socket's address.
func (l *Link) LocalAddr() netip.AddrPort { return l.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// Epoch is the epoch this box writes under (0 before Follow returned).
func (l *Link) Epoch() uint32 { return l.epoch.Load() }

// Follow listens as a standby until this box is to take over (§18.3): the
// active has been silent for the takeover silence. A box takes over only
// after listening for a full silence; with a stored epoch and no copy yet,
// only after ColdSilence; and, started as standby (index 1) with no
// stored epoch, only once it has heard an active: it does not take over a
// room it never followed. It returns the new epoch, stored, with the
// newest copy it holds (nil: none; the server then starts from its
// checkpoint or its scene). The epoch it would take is stored ahead, while
// it follows, once it may take over and again whenever it hears a higher
// one, so that the takeover itself syncs nothing; l.Took says when it
// passed each step.
func (l *Link) Follow(ctx context.Context) (*server.Replica, uint32, error) {
	stored, err := LoadEpoch(l.cfg.EpochFile)
	if err != nil {
		return nil, 0, err
	}
	canTake := l.cfg.Index == 0 || stored != 0
	if len(l.enc) > 0 {
		// This box was active (it stepped down or back): its own last
		// copy is the world to start from, until the active's arrive;
		// not a copy it held before it took over, which is older, and
		// whose send reservations it used itself (§18.6).
		if ParseCopy(l.enc, &l.last, l.names) == nil {
			l.have = true
			ownCopyReserve(&l.last)
			l.dropApplied(l.epoch.Load(), l.last.State.Tick)
		} else {
			l.have = false
		}
	}
	ahead := newStoreAhead(l.cfg.EpochFile)
	defer ahead.stop()
	var group *groupListener
	if l.cfg.Group.IsValid() {
		if group, err = openGroup(l.cfg.Group, l.cfg.GroupIface); err != nil {
			return nil, 0, err
		}
		defer group.close()
		if l.have && l.last.Sealed {
			if err := group.setKeys(l.last.Group.Key, l.last.Group.Signer); err != nil {
				return nil, 0, err
			}
		}
	}
	start := time.Now()
	var lastHeard time.Time // when the active's last authentic datagram arrived
	held := false
	drained := 0 // datagrams read past the silence because they were queued
	for {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		if l.pause != nil {
			l.pause()
		}
		s := silence{pair: start, bound: l.cfg.Silence}
		if !lastHeard.IsZero() {
			s.pair, canTake = lastHeard, true
		}
		s.canTake = canTake
		if canTake {
			// Not before: a box that stored an epoch takes over after a
			// restart with no active heard (ColdSilence).
			ahead.want(NextEpoch(max(stored, l.seen), l.cfg.Index))
		}
		if stored != 0 && !l.have {
			s.bound = max(s.bound, ColdSilence)
		}
		l.groupState(&s, group.heard())
		now := time.Now()
		pairSilent := canTake && now.Sub(s.pair) >= s.bound
		pairQueued := pairSilent && l.queued()
		s.queued = pairSilent && group.queued()
		if !pairSilent {
			drained = 0
		}
		due, wait := s.due(now)
		if due && pairQueued && drained < maxDrain {
			// Not yet: the pair socket holds datagrams this box has not
			// read (it was not scheduled). They are read first: each
			// says when it arrived, so they tell whether the active was
			// silent, and the newest copy among them is the one to take
			// over with, since a state the headsets were shown went out
			// after the copy that holds it (§18.3). A flood of junk
			// holds the takeover off for maxDrain reads at most.
			due, wait = false, time.Millisecond
			drained++
		}
		if due {
			break
		}
		if pairSilent && !held {
			l.Stats.HeldOff.Add(1)
			if !s.group.IsZero() && now.Sub(s.group) < s.bound {
				l.cfg.Log.Warn("standby: the pair link is silent but the active's state is heard on the group: not taking over",
					"pair_silent", now.Sub(s.pair).Round(100*time.Microsecond), "copy_behind", s.lag)
			}
		}
		held = pairSilent
		l.conn.SetReadDeadline(now.Add(wait))
		n, at, err := l.read()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			return nil, 0, fmt.Errorf("pair: %w", err)
		}
		had := l.have
		if l.take(l.rbuf[:n], 0) && at.After(lastHeard) {
			if !lastHeard.IsZero() {
				l.Stats.Gaps.note(at.Sub(lastHeard))
			}
			lastHeard = at
		}
		if l.have && !had {
			l.cfg.Log.Info("standby: holding the active's copy", "epoch", l.win.epoch, "tick", l.Stats.LastTick.Load())
		}
		if l.have && l.last.Sealed {
			if err := group.setKeys(l.last.Group.Key, l.last.Group.Signer); err != nil {
				l.cfg.Log.Warn("standby: the copy's group keys do not open the group", "err", err)
			}
		}
	}
	l.Stats.GroupHeard.Store(group.heard().n)
	l.Took = Takeover{Heard: lastHeard, Silent: time.Now()}
	if g := group.heard(); g.at.After(lastHeard) {
		l.Took.Heard = g.at // the active's last word was on the group
	}
	e := NextEpoch(max(stored, l.seen), l.cfg.Index)
	if l.Took.Ahead, err = ahead.finish(e); err != nil {
		return nil, 0, fmt.Errorf("pair: storing epoch %d: %w", e, err)
	}
	l.Took.Stored = time.Now()
	if ahead.failed != nil {
		l.cfg.Log.Warn("standby: the epoch could not be stored ahead; stored at takeover", "epoch", e, "err", ahead.failed)
	}
	l.epoch.Store(e)
	l.enc = l.enc[:0]
	l.conn.SetReadDeadline(time.Time{})
	if !l.have {
		return nil, e, nil
	}
	return &l.last, e, nil
}

// maxDrain bounds the datagrams a standby reads past the takeover silence
// because its socket held them unread: about 2 ms of reads.
const maxDrain = 1024

// read reads one datagram of the pair socket, with when it arrived.
func (l *Link) read() (int, time.Time, error) {
	n, oobn, _, _, err := l.conn.ReadMsgUDPAddrPort(l.rbuf, l.oob)
	now := time.Now()
	if err != nil {
		return 0, now, err
	}
	return n, arrival(now, udp.RxTime(l.oob[:oobn])), nil
}

// arrival is a datagram's kernel receive time ns (ns since the Unix epoch,
// CLOCK_REALTIME; 0: none) as a time on now's monotonic clock: now less
// the datagram's age, which is taken as 0 when negative and at most
// maxAge (the wall clock stepped while it waited).
func arrival(now time.Time, ns int64) time.Time {
	if ns == 0 {
		return now
	}
	age := time.Duration(now.UnixNano() - ns)
	return now.Add(-min(max(age, 0), maxAge))
}

// maxAge bounds the age arrival believes of a datagram.
const maxAge = 10 * time.Second

// ownCopyReserve moves the send reservations of a sealed copy this box
// made itself, as active, one more seal.Reserve ahead. The server that
// took over from this box resumed from an older copy of its, reserved at
// most this one's numbers, and went on sending above them under the
// same keys; none of its copies may have reached this box since. Were
// this box to take over again from its own copy, its counters would
// start among the numbers that server used; a Reserve above, they start
// past every number it used in fewer than seal.Reserve datagrams a
// counter (§18.6).
func ownCopyReserve(r *server.Replica) {
	if !r.Sealed {
		return
	}
	r.Group.Send += seal.Reserve
	for i := range r.Sessions {
		r.Sessions[i].Seal.Send += seal.Reserve
	}
}

// groupState puts in s what the group said of the active followed: its
// state under the epoch of the pair link's active (or a higher one) and
// the copy's group token, and whether it showed a tick past the copy's.
// Before this box followed an active nothing on the group counts: it
// would be its own old state, or a stranger's. An epoch that counts is
// seen (a takeover takes one above it, §18.3 step 1).
func (l *Link) groupState(s *silence, g groupHeard) {
	if g.at.IsZero() || l.win.epoch == 0 || g.epoch < l.win.epoch || l.have && g.token != l.last.GroupToken {
		return
	}
	s.group = g.at
	l.seen = max(l.seen, g.epoch) // a takeover goes above every epoch seen, on the group too
	s.lag = l.have && g.hasTick && g.epoch == l.lastEpoch && int32(g.tick-uint32(l.last.State.Tick)) > 0
}

// queued reports whether a datagram waits in the pair socket: a reader
// not scheduled for a while (a loaded box) has not read the active's
// copies yet, and that is no silence of the active's.
func (l *Link) queued() bool {
	n := 0
	l.raw.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
	return n > 0
}

// take handles one received datagram and reports whether it was an
// authentic one from a server writing under an epoch at least min's (the
// active followed, or a server above this box's own).
func (l *Link) take(d []byte, min uint32) bool {
	l.Stats.Received.Add(1)
	var h Header
	part, err := l.sealRx.parse(d, &h)
	switch {
	case err == ErrAuth:
		l.Stats.BadMAC.Add(1)
		return false
	case err == ErrVersion1:
		if l.Stats.Version1.Add(1) == 1 && l.cfg.Log != nil {
			l.cfg.Log.Warn("pair: a version 1 datagram from the peer, refused: both boxes must run the same build", "v1_datagrams", 1)
		}
		return false
	case err != nil:
		l.Stats.Malformed.Add(1)
		return false
	case h.Epoch < l.win.epoch || h.Epoch < min:
		l.Stats.Stale.Add(1)
		return false
	}
	if !l.win.accept(h.Epoch, h.Seq) {
		l.Stats.Replayed.Add(1)
		return false
	}
	l.seen = max(l.seen, h.Epoch)
	if h.Kind == KindApplied {
		l.takeApplied(&h, part)
		return true
	}
	if l.asm.add(&h, part) {
		if err := ParseCopy(l.asm.bytes(), &l.next, l.names); err != nil {
			l.Stats.BadCopies.Add(1)
		} else {
			l.last, l.next = l.next, l.last
			l.have = true
			l.dropApplied(h.Epoch, h.Tick)
			l.Stats.Copies.Add(1)
			l.Stats.LastTick.Store(h.Tick)
		}
	}
	return true
}

// Pending is the calls the active made into the world after the copy
// Follow returned, in order: a server taking over makes them again
// (server.Persist.Applied). Valid until the link is read again.
func (l *Link) Pending() []server.Applied {
	if !l.have {
		return nil
	}
	return l.pend
}

// takeApplied keeps the calls of a KindApplied datagram, made after the
// copy of its tick: for the copy held, or one still to come.
func (l *Link) takeApplied(h *Header, b []byte) {
	if l.have && (h.Epoch < l.lastEpoch || h.Epoch == l.lastEpoch && h.Tick < l.last.State.Tick) {
		return // before the copy held: in it already
	}
	n := len(l.pend)
	var err error
	if l.pend, err = ParseApplied(b, l.pend); err != nil {
		l.pend = l.pend[:n]
		l.Stats.BadCopies.Add(1)
		return
	}
	for i := n; i < len(l.pend); i++ {
		l.pendTick = append(l.pendTick, pendKey{h.Epoch, h.Tick})
	}
	if over := len(l.pend) - MaxPending; over > 0 {
		// Bounded: the oldest go (a copy that never comes).
		l.pend = append(l.pend[:0], l.pend[over:]...)
		l.pendTick = append(l.pendTick[:0], l.pendTick[over:]...)
		l.Stats.AppliedLost.Add(uint64(over))
	}
}

// dropApplied forgets the calls made before the copy of (epoch, tick),
// which holds them.
func (l *Link) dropApplied(epoch uint32, tick uint64) {
	l.lastEpoch = epoch
	k := 0
	for i, t := range l.pendTick {
		if t.epoch > epoch || t.epoch == epoch && t.tick >= tick {
			l.pend[k], l.pendTick[k] = l.pend[i], t
			k++
		}
	}
	l.pend, l.pendTick = l.pend[:k], l.pendTick[:k]
}

// Applied sends the peer the calls a made into the world after the copy
// of tick (server.ReplicaSink), in datagrams of at most PartSize bytes of
// calls. Like Replicate it never waits.
func (l *Link) Applied(tick uint64, a []server.Applied) {
	h := Header{Kind: KindApplied, Parts: 1, Epoch: l.epoch.Load(), Tick: tick}
	per := PartSize / AppliedSize
	for len(a) > 0 {
		n := min(len(a), per)
		l.aenc = l.aenc[:0]
		for i := range n {
			l.aenc = AppendApplied(l.aenc, &a[i])
		}
		a = a[n:]
		l.seq++
		h.Seq = l.seq
		l.dgram = l.sealTx.appendDatagram(l.dgram[:0], &h, l.aenc)
		l.sendEr = nil
		if err := l.raw.Write(l.sendFn); err != nil || l.sendEr != nil {
			l.Stats.SendErrors.Add(1)
			continue
		}
		l.Stats.Sent.Add(1)
	}
}

// Replicate sends r to the peer under this box's epoch
// (server.ReplicaSink). It runs on the tick thread and never waits: a
// datagram the socket cannot take now is dropped and counted.
func (l *Link) Replicate(r *server.Replica) {
	l.enc = AppendCopy(l.enc[:0], r)
	if len(l.enc) > MaxParts*PartSize {
		l.Stats.TooBig.Add(1)
		return
	}
	parts := (len(l.enc) + PartSize - 1) / PartSize
	h := Header{Parts: uint16(parts), Epoch: l.epoch.Load(), Tick: r.State.Tick}
	for i := range parts {
		l.seq++
		h.Part, h.Seq = uint16(i), l.seq
		l.dgram = l.sealTx.appendDatagram(l.dgram[:0], &h, l.enc[i*PartSize:min(len(l.enc), (i+1)*PartSize)])
		l.sendEr = nil
		if err := l.raw.Write(l.sendFn); err != nil || l.sendEr != nil {
			l.Stats.SendErrors.Add(1)
			continue
		}
		l.Stats.Sent.Add(1)
	}
}

// Watch reads the link while this box is active, until ctx is done, and
// calls higher once with the first authentic datagram under an epoch
// above this box's own: another server took over, and this one steps
// down (§18.4).
func (l *Link) Watch(ctx context.Context, higher func(epoch uint32)) {
	stop := context.AfterFunc(ctx, func() { l.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	own := l.epoch.Load()
	for {
		n, err := l.conn.Read(l.rbuf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if l.take(l.rbuf[:n], own+1) {
			higher(l.seen)
			return
		}
	}
}

// window is a replay window over one epoch's sequence numbers: each
// accepted once, at most 64 behind the newest.
type window struct {
	epoch uint32
	top   uint64
	bits  uint64 // bit i: top-i seen
}

func (w *window) accept(epoch uint32, seq uint64) bool {
	if epoch > w.epoch {
		*w = window{epoch: epoch}
	}
	switch {
	case seq == 0:
		return false
	case seq > w.top:
		if d := seq - w.top; d < 64 {
			w.bits = w.bits<<d | 1
		} else {
			w.bits = 1
		}
		w.top = seq
		return true
	case w.top-seq >= 64 || w.bits&(1<<(w.top-seq)) != 0:
		return false
	default:
		w.bits |= 1 << (w.top - seq)
		return true
	}
}

// assembly puts one copy together from its parts: the newest seen, by
// epoch and then by the sequence number of its first part (so that a
// later copy of one tick, were there one, wins); parts of an older one
// are dropped.
type assembly struct {
	epoch       uint32
	base        uint64 // Seq − Part: the first part's sequence number
	parts, got  int
	have        []bool
	buf         []byte
	size        int
	initialized bool
}

// add stores a part and reports whether the copy is complete.
func (a *assembly) add(h *Header, p []byte) bool {
	if h.Seq < uint64(h.Part) {
		return false // no sender numbers a copy's parts so
	}
	base := h.Seq - uint64(h.Part)
	newer := !a.initialized || h.Epoch > a.epoch || h.Epoch == a.epoch && base > a.base
	if !newer && (h.Epoch != a.epoch || base != a.base) {
		return false // a part of an older copy
	}
	if newer {
		a.epoch, a.base, a.parts, a.got, a.size, a.initialized = h.Epoch, base, int(h.Parts), 0, 0, true
		if cap(a.have) < MaxParts {
			a.have = make([]bool, MaxParts)
		}
		a.have = a.have[:a.parts]
		clear(a.have)
		if need := a.parts * PartSize; cap(a.buf) < need {
			a.buf = make([]byte, need)
		}
		a.buf = a.buf[:a.parts*PartSize]
	}
	i := int(h.Part)
	if int(h.Parts) != a.parts || a.have[i] || (i < a.parts-1 && len(p) != PartSize) || a.got == a.parts {
		return false
	}
	copy(a.buf[i*PartSize:], p)
	if i == a.parts-1 {
		a.size = i*PartSize + len(p)
	}
	a.have[i] = true
	a.got++
	return a.got == a.parts
}

func (a *assembly) bytes() []byte { return a.buf[:a.size] }
