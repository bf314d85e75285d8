//go:build linux

package relay

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"
	"unsafe"

	"github.com/arcadexr/arcade/tick"

	"golang.org/x/sys/unix"
)

// Sizes and bounds of the relay.
const (
	defaultSlots   = 4096   // frame buffers
	slotSize       = 2048   // bytes per buffer: an MTU 1500 frame and headers
	batchSize      = 32     // frames per recvmmsg
	maxBatches     = 8      // recvmmsg calls per socket per wake-up
	maxReleases    = 1024   // frames released per pass
	defaultSpinMax = 50_000 // ns: longest spin before a release
	closeTimeout   = 2 * time.Second
	sockBuf        = 4 << 20

	sizeofTimespec = 16
	ctrlSize       = 2 * (unix.SizeofCmsghdr + sizeofTimespec)
)

// Directions: frames read on A (the server's side) go to B, and back.
const (
	toHeadsets = 0
	toServer   = 1
)

// Config configures a Relay.
type Config struct {
	// A is the interface on the server's side, B the one on the headsets'
	// side. Both must exist in the network namespace of the thread that
	// calls Open.
	A, B    string
	Profile Profile
	// Seed seeds the two directions' generators (Seed and Seed+1).
	Seed uint64
	// Slots is the number of frame buffers; 0 means 4096.
	Slots int
	// SpinMax caps how long the relay spins before a release after an
	// early timer wake (see tick.Lead); 0 means 50 µs, negative disables
	// spinning. WiFi jitter is milliseconds: tens of µs of precision is
	// plenty, and a real-time thread spinning longer starves the kernel's
	// softirq thread on a small host, which delays every frame.
	SpinMax time.Duration
	// RTPriority, when 1..99, runs the relay's thread under SCHED_FIFO at
	// that priority; 0 leaves normal scheduling. Failure to raise it is
	// reported by RealtimeErr, not fatal.
	RTPriority int
}

// mmsghdr is struct mmsghdr on 64-bit Linux.
type mmsghdr struct {
	Hdr unix.Msghdr
	Len uint32
	_   [4]byte
}

// side is one interface's socket and its receive batch.
type side struct {
	fd    int
	name  string
	hdrs  [batchSize]mmsghdr
	iovs  [batchSize]unix.Iovec
	names [batchSize]unix.RawSockaddrLinklayer
	ctrl  [batchSize * ctrlSize]byte
	slots [batchSize]int32
}

// Relay forwards frames between two interfaces through a Profile. Its loop
// runs on one locked OS thread; Stats may be called from any goroutine.
type Relay struct {
	cfg    Config
	origin int64
	sides  [2]*side
	imp    [2]*Impairer
	stats  [2]dirStats

	buf     []byte  // Slots × slotSize
	length  []int32 // per slot: frame length
	arrival []int64 // per slot: arrival time
	readAt  []int64 // per slot: when the relay read it
	dir     []uint8 // per slot: direction
	free    []int32 // stack of free slots
	heap    releaseHeap
	seq     uint64
	loop    *tick.Loop
	scratch [slotSize]byte

	done        chan struct{}
	stop        context.CancelFunc
	started     bool
	realtimeErr error
	loopErr     error // why the loop stopped on its own, if it did
}

// Open creates the relay's sockets on cfg.A and cfg.B in the calling
// thread's network namespace (the caller locks its thread there) and sets
// the DTIM origin to now. Start begins forwarding.
func Open(cfg Config) (r *Relay, err error) {
	if err := cfg.Profile.Validate(); err != nil {
		return nil, err
	}
	if cfg.Slots == 0 {
		cfg.Slots = defaultSlots
	}
	if cfg.Slots < batchSize || cfg.Slots > 1<<20 {
		return nil, fmt.Errorf("relay: Slots %d outside [%d, %d]", cfg.Slots, batchSize, 1<<20)
	}
	if cfg.SpinMax == 0 {
		cfg.SpinMax = defaultSpinMax
	}
	if cfg.RTPriority < 0 || cfg.RTPriority > 99 {
		return nil, fmt.Errorf("relay: RTPriority %d outside 0..99", cfg.RTPriority)
	}
	loop, err := tick.NewLoop(tick.LoopConfig{SpinMax: cfg.SpinMax})
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	r = &Relay{
		cfg:     cfg,
		loop:    loop,
		buf:     make([]byte, cfg.Slots*slotSize),
		length:  make([]int32, cfg.Slots),
		arrival: make([]int64, cfg.Slots),
		readAt:  make([]int64, cfg.Slots),
		dir:     make([]uint8, cfg.Slots),
		free:    make([]int32, cfg.Slots),
		heap:    newReleaseHeap(cfg.Slots),
		done:    make(chan struct{}),
	}
	for i := range r.free {
		r.free[i] = int32(cfg.Slots - 1 - i)
	}
	defer func() {
		if err != nil {
			r.closeFds()
			r = nil
		}
	}()
	for i, name := range [2]string{cfg.A, cfg.B} {
		fd, err := openPacket(name)
		if err != nil {
			return r, err
		}
		r.sides[i] = &side{fd: fd, name: name}
	}
	r.origin = tick.Now()
	r.imp[toHeadsets] = NewImpairer(cfg.Profile.ToHeadsets, cfg.Seed, r.origin)
	r.imp[toServer] = NewImpairer(cfg.Profile.ToServer, cfg.Seed+1, r.origin)
	return r, nil
}

// openPacket opens a non-blocking AF_PACKET raw socket bound to ifname that
// receives every frame arriving there (promiscuously, with kernel receive
// timestamps) and not the ones sent out of it.
func openPacket(ifname string) (int, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return -1, fmt.Errorf("relay: interface %s: %w", ifname, err)
	}
	// Protocol 0 receives nothing until bind names ETH_P_ALL, so no frame
	// of another interface slips in before the bind.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("relay: AF_PACKET socket: %w", err)
	}
	fail := func(what string, err error) (int, error) {
		unix.Close(fd)
		return -1, fmt.Errorf("relay: %s on %s: %w", what, ifname, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		return fail("PACKET_IGNORE_OUTGOING", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fail("SO_TIMESTAMPNS", err)
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, sockBuf) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, sockBuf)
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, sockBuf) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, sockBuf)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		return fail("bind", err)
	}
	mreq := unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_PROMISC}
	if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
		return fail("PACKET_MR_PROMISC", err)
	}
	return fd, nil
}

// htons returns v in network byte order, as sockaddr_ll wants it.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

// Origin is the DTIM origin: held group frames leave at Origin + k·GroupHold
// (nanoseconds on tick.Now's clock).
func (r *Relay) Origin() int64 { return r.origin }

// Start runs the forwarding loop on its own goroutine until Close.
func (r *Relay) Start() {
	if r.started {
		return
	}
	r.started = true
	ctx, stop := context.WithCancel(context.Background())
	r.stop = stop
	go r.run(ctx)
}

// RealtimeErr reports why the loop could not take its SCHED_FIFO priority.
// Valid after Close.
func (r *Relay) RealtimeErr() error { return r.realtimeErr }

// Close stops the loop, waiting up to two seconds for it, and closes the
// sockets. Frames still held are discarded. It returns the error that
// stopped the loop early, if one did.
func (r *Relay) Close() error {
	if r.started {
		r.stop()
		select {
		case <-r.done:
		case <-time.After(closeTimeout):
			// The loop is stuck in a system call; leave its descriptors
			// open rather than pull them from under it.
			return errors.New("relay: loop did not stop within 2 s")
		}
	}
	r.closeFds()
	return r.loopErr
}

func (r *Relay) closeFds() {
	for _, s := range r.sides {
		if s != nil && s.fd >= 0 {
			unix.Close(s.fd)
			s.fd = -1
		}
	}
}

// Stats returns the relay's measurements so far.
func (r *Relay) Stats() Stats {
	s := Stats{
		Profile:    r.cfg.Profile.Name,
		ToHeadsets: r.stats[toHeadsets].snapshot(),
		ToServer:   r.stats[toServer].snapshot(),
	}
	s.AddedP99 = max(s.ToHeadsets.Actual.P99, s.ToServer.Actual.P99)
	s.LateP99 = max(s.ToHeadsets.Late.P99, s.ToServer.Late.P99)
	s.Wake = quantilesOf(&r.loop.WakeLate)
	return s
}

// run is the relay: the shared real-time loop (tick.Loop) waiting on both
// sockets and the next release; each wake reads what arrived, schedules
// it, and releases what is due.
func (r *Relay) run(ctx context.Context) {
	defer close(r.done)
	fds := []int{r.sides[toHeadsets].fd, r.sides[toServer].fd}
	r.loopErr = tick.RunRealtime(ctx, r.loop, tick.ThreadConfig{Priority: r.cfg.RTPriority, CPU: -1}, fds,
		func(err error) { r.realtimeErr = err }, r.step)
}

// step reads the sockets that are ready, releases every frame due, and
// returns the next release (spun to: WiFi jitter is milliseconds, but the
// profile's schedule should be the only delay).
func (r *Relay) step(now int64, ready uint64) (int64, bool) {
	if ready&(1<<toHeadsets) != 0 {
		r.read(toHeadsets)
	}
	if ready&(1<<toServer) != 0 {
		r.read(toServer)
	}
	r.release(tick.Now())
	if r.heap.Len() == 0 {
		return tick.Never, false
	}
	return r.heap.min().at, true
}

// read receives what is queued on the socket of direction d (frames read
// on side d travel in direction d), at most maxBatches batches.
func (r *Relay) read(d int) {
	s := r.sides[d]
	st := &r.stats[d]
	for range maxBatches {
		n := min(batchSize, len(r.free))
		if n == 0 {
			// Every slot holds a frame: take one off the socket and
			// count it lost, so the socket does not stay readable forever.
			k, err := unix.Read(s.fd, r.scratch[:])
			if err != nil || k < 0 {
				return
			}
			st.received.Inc()
			st.poolFull.Inc()
			continue
		}
		for i := range n {
			slot := r.free[len(r.free)-1]
			r.free = r.free[:len(r.free)-1]
			s.slots[i] = slot
			h := &s.hdrs[i]
			s.iovs[i].Base = &r.buf[int(slot)*slotSize]
			s.iovs[i].SetLen(slotSize)
			h.Hdr.Name = (*byte)(unsafe.Pointer(&s.names[i]))
			h.Hdr.Namelen = unix.SizeofSockaddrLinklayer
			h.Hdr.Iov = &s.iovs[i]
			h.Hdr.Iovlen = 1
			h.Hdr.Control = &s.ctrl[i*ctrlSize]
			h.Hdr.SetControllen(ctrlSize)
			h.Hdr.Flags = 0
			h.Len = 0
		}
		got := recvmmsg(s.fd, s.hdrs[:n])
		readAt := tick.Now()
		// CLOCK_REALTIME − CLOCK_MONOTONIC now, to put the kernel's
		// (real-time) receive stamps on the relay's clock.
		offset := time.Now().UnixNano() - tick.Now()
		for i := range n {
			slot := s.slots[i]
			if i >= got {
				r.free = append(r.free, slot)
				continue
			}
			h := &s.hdrs[i]
			if s.names[i].Pkttype == unix.PACKET_OUTGOING {
				r.free = append(r.free, slot)
				continue
			}
			st.received.Inc()
			if h.Hdr.Flags&unix.MSG_TRUNC != 0 || int(h.Len) > slotSize {
				st.oversize.Inc()
				r.free = append(r.free, slot)
				continue
			}
			arr := readAt
			if rt := rxTime(s.ctrl[i*ctrlSize : (i+1)*ctrlSize][:min(int(h.Hdr.Controllen), ctrlSize)]); rt > 0 {
				arr = min(rt-offset, readAt)
			}
			st.readLag.record(readAt - arr)
			frame := r.buf[int(slot)*slotSize:][:h.Len]
			dec := r.imp[d].Decide(arr, frame)
			if dec.Drop {
				st.dropped.Inc()
				r.free = append(r.free, slot)
				continue
			}
			if dec.Held {
				st.held.Inc()
			}
			if !dec.UDP {
				st.nonUDP.Inc()
			}
			r.length[slot] = int32(h.Len)
			r.arrival[slot] = arr
			r.readAt[slot] = readAt
			if dec.Release > arr && dec.Release < readAt {
				st.overdue.Inc()
			}
			r.dir[slot] = uint8(d)
			r.seq++
			r.heap.push(pending{at: dec.Release, seq: r.seq, slot: slot})
		}
		if got < n {
			return
		}
	}
}

// recvmmsg receives up to len(hdrs) frames without blocking and returns how
// many; 0 when nothing is queued or on error.
func recvmmsg(fd int, hdrs []mmsghdr) int {
	for {
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd),
			uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)), unix.MSG_DONTWAIT, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return 0
		}
		return int(n)
	}
}

// release sends every frame due at now (re-reading the clock as it goes, at
// most maxReleases frames) and returns the last clock reading.
func (r *Relay) release(now int64) int64 {
	for range maxReleases {
		if r.heap.Len() == 0 || r.heap.min().at > now {
			return now
		}
		p := r.heap.pop()
		slot := p.slot
		d := int(r.dir[slot])
		out := r.sides[1-d]
		st := &r.stats[d]
		_, err := unix.Write(out.fd, r.buf[int(slot)*slotSize:][:r.length[slot]])
		now = tick.Now()
		if err != nil {
			st.txErrors.Inc()
		} else {
			st.forwarded.Inc()
			st.intended.record(p.at - r.arrival[slot])
			st.actual.record(now - r.arrival[slot])
			st.late.record(now - max(p.at, r.readAt[slot]))
		}
		r.free = append(r.free, slot)
	}
	return now
}

// rxTime returns the SCM_TIMESTAMPNS time in ctrl (ns since the Unix
// epoch), or 0. The control messages are walked by hand because
// unix.ParseSocketControlMessage allocates.
func rxTime(ctrl []byte) int64 {
	for len(ctrl) >= unix.SizeofCmsghdr {
		clen := binary.NativeEndian.Uint64(ctrl[0:8])
		level := int32(binary.NativeEndian.Uint32(ctrl[8:12]))
		typ := int32(binary.NativeEndian.Uint32(ctrl[12:16]))
		if clen < unix.SizeofCmsghdr || clen > uint64(len(ctrl)) {
			return 0
		}
		if level == unix.SOL_SOCKET && typ == unix.SCM_TIMESTAMPNS && clen >= unix.SizeofCmsghdr+sizeofTimespec {
			sec := int64(binary.NativeEndian.Uint64(ctrl[unix.SizeofCmsghdr:]))
			nsec := int64(binary.NativeEndian.Uint64(ctrl[unix.SizeofCmsghdr+8:]))
			return sec*1e9 + nsec
		}
		next := (clen + 7) &^ 7
		if next >= uint64(len(ctrl)) {
			return 0
		}
		ctrl = ctrl[next:]
	}
	return 0
}
