package pair

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/seal"
	"github.com/arcadexr/arcade/wire"
	"golang.org/x/sys/unix"
)

// The standby as a listener of the snapshot multicast group (PROTOCOL
// §18.3): the active's state datagrams carry its epoch (§18.1), and a
// standby that still hears them under the epoch it follows does not take
// over, however silent the pair link: the active is slow, or the link
// loses its copies, and a takeover then would start from a copy older
// than what the headsets were shown. A sealed room's datagrams are
// opened with the group's key and checked against the signer's public key,
// both from the newest sealed copy, at most one every sealedEvery.

// GroupState is what a state datagram heard on the group says of its
// sender.
type GroupState struct {
	Token   uint64 // the group token (the header's)
	Epoch   uint32 // the epoch trailer's
	Tick    uint32 // the state's tick (Snapshot, StateDelta)
	HasTick bool   // false for an EntityUpdate
}

// ParseGroupState reads a datagram heard on the group: a Snapshot,
// StateDelta or EntityUpdate of a server of a pair, open (not sealed),
// with its epoch trailer. Anything else is not the active's state: ok is
// false. It never panics on malformed input.
func ParseGroupState(d []byte) (g GroupState, ok bool) {
	var h wire.Header
	if _, err := h.Parse(d); err != nil || h.Flags&wire.FlagEpoch == 0 || h.Flags&wire.FlagSealed != 0 || h.Token == 0 {
		return g, false
	}
	rest, epoch, err := wire.SplitEpoch(d)
	if err != nil || epoch == 0 {
		return g, false
	}
	body := rest[wire.HeaderSize:]
	g.Token, g.Epoch = h.Token, epoch
	switch h.Type {
	case wire.TypeSnapshot, wire.TypeStateDelta: // both begin with the tick (u32)
		if len(body) < 4 {
			return g, false
		}
		g.Tick, g.HasTick = binary.LittleEndian.Uint32(body), true
	case wire.TypeEntityUpdate:
	default:
		return g, false
	}
	return g, true
}

// sealedEvery is how often at most the listener opens and checks a sealed
// datagram of the group: the signature costs tens of µs, and one datagram
// a few ms is all the takeover rule needs to know the active lives.
const sealedEvery = 2 * time.Millisecond

// groupKeys is a sealed room's group as a copy gives it: the group key and
// the server's signer, for opening (never sealing) its datagrams.
type groupKeys struct {
	key    [seal.GroupKeySize]byte
	signer [seal.SignerSize]byte
	g      *seal.Group // opens; only the listener's goroutine uses it
}

// openSealedState reads a sealed datagram heard on the group as
// ParseGroupState reads an open one, after k opened it and its signature
// checked out; buf holds the opened body. ok is false for anything else.
func openSealedState(k *groupKeys, d, buf []byte) (g GroupState, ok bool) {
	var h wire.Header
	if _, err := h.Parse(d); err != nil || h.Flags&wire.FlagEpoch == 0 || h.Flags&wire.FlagSealed == 0 || h.Token == 0 {
		return g, false
	}
	switch h.Type {
	case wire.TypeSnapshot, wire.TypeStateDelta, wire.TypeEntityUpdate:
	default:
		return g, false
	}
	body, err := k.g.OpenSigned(buf[:0], d, wire.HeaderSize)
	if err != nil || len(body) < wire.EpochSize {
		return g, false
	}
	g.Token = h.Token
	g.Epoch = binary.LittleEndian.Uint32(body[len(body)-wire.EpochSize:])
	if g.Epoch == 0 {
		return g, false
	}
	if body = body[:len(body)-wire.EpochSize]; h.Type != wire.TypeEntityUpdate {
		if len(body) < 4 {
			return g, false
		}
		g.Tick, g.HasTick = binary.LittleEndian.Uint32(body), true
	}
	return g, true
}

// setKeys gives the listener the keys of a sealed copy (§18.6). The
// same keys again change nothing.
func (g *groupListener) setKeys(key [seal.GroupKeySize]byte, signer [seal.SignerSize]byte) error {
	if g == nil {
		return nil
	}
	if k := g.keys.Load(); k != nil && k.key == key && k.signer == signer {
		return nil
	}
	priv := ed25519.NewKeyFromSeed(signer[:])
	sg, err := seal.NewGroup(key[:], priv.Public().(ed25519.PublicKey), nil)
	if err != nil {
		return err
	}
	g.keys.Store(&groupKeys{key: key, signer: signer, g: sg})
	return nil
}

// groupHeard is the newest state heard on the group under one epoch: the
// listener's goroutine writes it, Follow reads it.
type groupHeard struct {
	at      time.Time // when it was read (zero: nothing)
	epoch   uint32
	token   uint64
	tick    uint32 // the newest tick heard under epoch
	hasTick bool
	n       uint64 // state datagrams heard
}

// groupListener reads the group while a standby follows.
type groupListener struct {
	conn *net.UDPConn
	raw  syscall.RawConn
	mu   sync.Mutex
	last groupHeard
	done chan struct{}
	// keys opens a sealed room's datagrams (nil: an open room, or no
	// sealed copy yet).
	keys atomic.Pointer[groupKeys]
}

// openGroup joins group on the interface named iface ("" for the
// system's choice) and reads it until closed.
func openGroup(group netip.AddrPort, iface string) (*groupListener, error) {
	var ifi *net.Interface
	if iface != "" {
		var err error
		if ifi, err = net.InterfaceByName(iface); err != nil {
			return nil, fmt.Errorf("pair: the group's interface: %w", err)
		}
	}
	conn, err := net.ListenMulticastUDP("udp4", ifi, net.UDPAddrFromAddrPort(group))
	if err != nil {
		return nil, fmt.Errorf("pair: listening to the group %v: %w", group, err)
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, err
	}
	if err := udp.EnableTimestamps(raw); err != nil {
		conn.Close()
		return nil, fmt.Errorf("pair: the group's SO_TIMESTAMPNS: %w", err)
	}
	g := &groupListener{conn: conn, raw: raw, done: make(chan struct{})}
	go g.read()
	return g, nil
}

func (g *groupListener) read() {
	defer close(g.done)
	buf := make([]byte, wire.MaxDatagramSize+1)
	opened := make([]byte, 0, wire.MaxDatagramSize)
	oob := make([]byte, udp.CtrlSize)
	var sealedAt time.Time // the last sealed datagram that counted
	for {
		n, oobn, _, _, err := g.conn.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		// When it arrived: a listener not scheduled for a while reads
		// the active's state late, and that is no silence of the active's.
		at := arrival(time.Now(), udp.RxTime(oob[:oobn]))
		if st, ok := ParseGroupState(buf[:n]); ok {
			g.note(st, at)
		} else if k := g.keys.Load(); k != nil && at.Sub(sealedAt) >= sealedEvery {
			if st, ok := openSealedState(k, buf[:n], opened); ok {
				sealedAt = at
				g.note(st, at)
			}
		}
	}
}

// note keeps st, heard at t: a higher epoch (or another group) starts
// afresh, a lower epoch is not kept (it is no longer the newest
// writer's).
func (g *groupListener) note(st GroupState, t time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	l := &g.last
	switch {
	case st.Epoch < l.epoch:
		return
	case st.Epoch > l.epoch || st.Token != l.token:
		*l = groupHeard{epoch: st.Epoch, token: st.Token, n: l.n}
	}
	l.at = t
	l.n++
	if st.HasTick && (!l.hasTick || int32(st.Tick-l.tick) > 0) {
		l.tick, l.hasTick = st.Tick, true
	}
}

// heard returns the newest state heard; a nil listener heard nothing.
func (g *groupListener) heard() groupHeard {
	if g == nil {
		return groupHeard{}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last
}

// queued reports whether a datagram waits unread in the group socket.
func (g *groupListener) queued() bool {
	if g == nil {
		return false
	}
	n := 0
	g.raw.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
	return n > 0
}

func (g *groupListener) close() {
	if g == nil {
		return
	}
	g.conn.Close()
	<-g.done
}

// silence is what Follow knows when it decides whether to take over
// (§18.3), on its clock: due is a pure function of it, so that the rule is
// tested on virtual time.
type silence struct {
	canTake bool
	// pair: the active's last authentic pair datagram, or when Follow
	// started listening if none.
	pair time.Time
	// group: its last state heard on the group under the epoch followed
	// (zero: none); lag: the newest tick heard there is past the copy's.
	group time.Time
	lag   bool
	// bound: TakeoverSilence (ColdSilence when there is no copy yet).
	bound  time.Duration
	queued bool // a datagram waits unread on the group (Follow reads the pair link's first)
}

// due reports whether the standby takes over at now, and else how long it
// may wait before it looks again. The active is silent when neither the
// pair link nor the group brought anything of it for bound; when the
// group showed a tick past the copy held, for ColdSilence: the copy is
// behind what the headsets were shown, and only an active that is really
// gone, not one slow for a moment, is taken over with it. A datagram
// waiting unread holds the takeover off, for one more bound at most:
// junk flooded at a port must not hold it off for ever. Nor can the group:
// once the pair link has been silent for GroupHold, what the group says is
// no longer heard (in an open room anyone can forge it).
func (s *silence) due(now time.Time) (bool, time.Duration) {
	if !s.canTake {
		return false, 2 * time.Millisecond
	}
	quiet := s.pair
	if s.group.After(quiet) && now.Sub(s.pair) < GroupHold {
		quiet = s.group
	}
	bound := s.bound
	if s.lag {
		bound = max(bound, ColdSilence)
	}
	q := now.Sub(quiet)
	if q >= bound && (q >= 2*bound || !s.queued) {
		return true, 0
	}
	return false, min(2*time.Millisecond, max(bound-q, 200*time.Microsecond))
}
