// Package capture records the datagrams a server receives and sends to a
// pcapng file, off the tick thread.
//
// A Writer is a server Tap: Received and Sent copy the datagram into a
// preallocated ring of fixed slots and return at once; they never block and
// never allocate, and when the ring is full they count a drop. An owned
// writer goroutine drains the ring every poll interval and writes each
// datagram as an Enhanced Packet Block with link type raw IP (LINKTYPE_RAW):
// a synthesized IPv4 and UDP header (source and destination are the remote
// address and the server's local address; for multicast sends, the group)
// before the Arcade datagram, so Wireshark and tcpdump see ordinary UDP.
// Timestamps have nanosecond resolution: the kernel receive time for
// received datagrams, the wall clock after the send returned for sent ones.
//
// The synthesized headers are not what was on the wire: IP ID counts the
// captured datagrams, TTL is 64 (1 to a multicast group), TOS is 0, and the
// server's address is the one it is bound to (0.0.0.0 when it listens on
// every interface).
//
// With a venue passphrase the file also holds the server's key log: each
// session's keys and the group's, in pcapng Decryption Secrets Blocks
// sealed under an Argon2id key of the passphrase (keylog.go,
// docs/CAPTURE.md), so that arcade-cap --passphrase-file can read the
// sealed datagrams. A Recorder (recorder.go) is the Tap a running server
// keeps: it starts and stops captures on demand (the operator API), caps
// their size by rotating files (rotate.go), and holds the live sessions'
// keys between captures.
package capture

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/arcadexr/arcade/internal/udp"
)

// Defaults applied to zero Options fields.
const (
	DefaultSlots      = 4096
	DefaultSlotSize   = 1200 // wire.MaxDatagramSize
	DefaultPoll       = 5 * time.Millisecond
	DefaultFlushEvery = 250 * time.Millisecond

	maxSlots    = 1 << 20
	maxSlotSize = 65507 // largest UDP payload over IPv4
	fileBuffer  = 256 << 10

	// minFileBytes is the smallest MaxBytes: a file holds its headers,
	// the keys and some datagrams before it rotates.
	minFileBytes = 64 << 10
)

// Synthesized header sizes.
const (
	ipv4HeaderSize = 20
	udpHeaderSize  = 8
	frameOverhead  = ipv4HeaderSize + udpHeaderSize
)

// Options configure a Writer. Zero fields mean the documented default.
type Options struct {
	// Slots is the number of datagrams the ring holds between two drains,
	// rounded up to a power of two, at least 2. Default 4096.
	Slots int
	// SlotSize is the most bytes kept of one datagram; longer ones are
	// recorded truncated, with their original length. Default 1200.
	SlotSize int
	// Poll is how often the writer goroutine drains the ring. Default 5 ms.
	Poll time.Duration
	// FlushEvery is how often buffered packets are written to the file, so
	// that a crash loses at most this much. Default 250 ms.
	FlushEvery time.Duration
	// Comment is written in the section header; default "arcade-server".
	Comment string
	// Clock returns the wall clock in ns since the Unix epoch; it stamps
	// received datagrams that carry no kernel timestamp. Default time.Now.
	Clock func() int64

	// Keys, when set, is the server's key log: its keys are written into
	// the file, sealed with Wrap (which must then be set too), each before
	// the first datagram that needs it (keylog.go).
	Keys *KeyLog
	Wrap *KeyWrap

	// MaxBytes, when positive, caps a file: once it has this many bytes
	// the writer goes on in a new one, FILE.1.pcapng, FILE.2.pcapng …
	// (for New's path FILE.pcapng), each starting with the headers and
	// the keys of the sessions still live, so each reads alone. Only New
	// rotates. MaxFiles, when positive, keeps only the newest MaxFiles
	// files, removing older ones.
	MaxBytes int64
	MaxFiles int
}

func (o *Options) setDefaults() error {
	switch {
	case o.Slots < 0 || o.Slots > maxSlots:
		return fmt.Errorf("capture: Slots %d out of range 0..%d", o.Slots, maxSlots)
	case o.SlotSize < 0 || o.SlotSize > maxSlotSize:
		return fmt.Errorf("capture: SlotSize %d out of range 0..%d", o.SlotSize, maxSlotSize)
	case o.Poll < 0:
		return fmt.Errorf("capture: Poll %v is negative", o.Poll)
	case o.FlushEvery < 0:
		return fmt.Errorf("capture: FlushEvery %v is negative", o.FlushEvery)
	case o.Keys != nil && o.Wrap == nil:
		return errors.New("capture: Keys without Wrap: the key log would be written in clear")
	case o.MaxBytes < 0:
		return fmt.Errorf("capture: MaxBytes %d is negative", o.MaxBytes)
	case o.MaxBytes > 0 && o.MaxBytes < minFileBytes:
		return fmt.Errorf("capture: MaxBytes %d is below %d", o.MaxBytes, minFileBytes)
	case o.MaxFiles < 0:
		return fmt.Errorf("capture: MaxFiles %d is negative", o.MaxFiles)
	}
	if o.Slots == 0 {
		o.Slots = DefaultSlots
	}
	o.Slots = max(2, 1<<bits.Len(uint(o.Slots-1))) // the ring needs two
	if o.SlotSize == 0 {
		o.SlotSize = DefaultSlotSize
	}
	if o.Poll == 0 {
		o.Poll = DefaultPoll
	}
	if o.FlushEvery == 0 {
		o.FlushEvery = DefaultFlushEvery
	}
	if o.Comment == "" {
		o.Comment = "arcade-server"
	}
	if o.Clock == nil {
		o.Clock = func() int64 { return time.Now().UnixNano() }
	}
	return nil
}

// Writer captures datagrams to pcapng. Received and Sent may be called from
// any goroutine; Close stops the writer goroutine.
type Writer struct {
	opts  Options
	local netip.AddrPort
	ring  *ring

	dropped  atomic.Uint64
	captured atomic.Uint64
	closed   atomic.Bool

	// Owned by the writer goroutine until it exits.
	file  io.Closer // nil when the caller owns the io.Writer
	out   *countWriter
	buf   *bufio.Writer
	ng    *pcapgo.NgWriter
	frame []byte
	ipID  uint16
	err   error

	path     string // New's; "" for NewWriter (no rotation)
	fileN    int    // files rotated to
	files    atomic.Int64
	keysSeq  uint64 // newest key written into this file
	keysGen  uint64 // the key log's generation then
	keyBuf   []byte
	keyBlock []byte

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// New creates (or truncates) the pcapng file at path and starts capturing.
// local is the server's bound address, written as the destination of
// received datagrams and the source of sent ones.
func New(path string, local netip.AddrPort, opts Options) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	w, err := newWriter(f, local, opts, path)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	w.file = f
	return w, nil
}

// fileMode is a capture file's: the traffic, and with a passphrase the
// sealed key log, are for the operator alone.
const fileMode = 0o600

// NewWriter starts capturing to out, which the caller keeps owning: Close
// flushes it but does not close it.
func NewWriter(out io.Writer, local netip.AddrPort, opts Options) (*Writer, error) {
	return newWriter(out, local, opts, "")
}

func newWriter(out io.Writer, local netip.AddrPort, opts Options, path string) (*Writer, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	w := &Writer{
		opts:  opts,
		local: local,
		ring:  newRing(opts.Slots, opts.SlotSize),
		out:   &countWriter{w: out},
		frame: make([]byte, frameOverhead+opts.SlotSize),
		path:  path,
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	w.buf = bufio.NewWriterSize(w.out, fileBuffer)
	if err := w.begin(); err != nil {
		return nil, err
	}
	w.files.Store(1)
	go w.run()
	return w, nil
}

// begin writes a file's headers and every key the log holds.
func (w *Writer) begin() error {
	intf := pcapgo.NgInterface{
		Name:                "arcade",
		Description:         "Arcade server socket " + w.local.String(),
		Comment:             w.opts.Comment,
		LinkType:            layers.LinkTypeRaw,
		TimestampResolution: 9,
	}
	ng, err := pcapgo.NewNgWriterInterface(w.buf, intf, pcapgo.NgWriterOptions{
		SectionInfo: pcapgo.NgSectionInfo{Application: "arcade-server", Comment: w.opts.Comment},
	})
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	w.ng = ng
	w.keysSeq, w.keysGen = 0, 0
	if w.opts.Keys != nil {
		return w.writeKeys()
	}
	return nil
}

// Received records a datagram the server read: from m.Addr to the local
// address, at m.RxTime. It never blocks or allocates.
func (w *Writer) Received(m *udp.Message) {
	at := m.RxTime
	if at == 0 {
		at = w.opts.Clock()
	}
	w.push(dirIn, m.Addr, at, m.Buf[:m.N])
}

// Sent records a datagram the server sent to m.Addr, at the wall clock at
// (ns since the Unix epoch). It never blocks or allocates.
func (w *Writer) Sent(m *udp.Message, at int64) {
	w.push(dirOut, m.Addr, at, m.Buf[:m.N])
}

func (w *Writer) push(dir uint8, addr netip.AddrPort, at int64, b []byte) {
	if w.closed.Load() || !w.ring.push(dir, addr, at, b) {
		w.dropped.Add(1)
	}
}

// Dropped returns how many datagrams were not captured because the ring was
// full (or the Writer closed).
func (w *Writer) Dropped() uint64 { return w.dropped.Load() }

// Captured returns how many datagrams have been handed to the file.
func (w *Writer) Captured() uint64 { return w.captured.Load() }

// Files returns how many files the writer has written to (1 until it
// first rotates).
func (w *Writer) Files() int { return int(w.files.Load()) }

// Close stops the writer goroutine once it has written what the ring holds,
// flushes the file (and closes it, for New) and returns the first write
// error. Datagrams tapped after Close are dropped.
func (w *Writer) Close() error {
	w.closeOnce.Do(func() {
		w.closed.Store(true)
		close(w.stop)
		<-w.done
		if err := w.buf.Flush(); err != nil && w.err == nil {
			w.err = err
		}
		if w.file != nil {
			if err := w.file.Close(); err != nil && w.err == nil {
				w.err = err
			}
		}
	})
	return w.err
}

// run is the writer goroutine: it drains the ring every Poll and flushes
// every FlushEvery, until Close.
func (w *Writer) run() {
	defer close(w.done)
	poll := time.NewTicker(w.opts.Poll)
	defer poll.Stop()
	lastFlush := time.Now()
	for {
		select {
		case <-w.stop:
			w.drain()
			return
		case now := <-poll.C:
			w.drain()
			if now.Sub(lastFlush) >= w.opts.FlushEvery {
				lastFlush = now
				if err := w.buf.Flush(); err != nil && w.err == nil {
					w.err = err
				}
			}
		}
	}
}

// drain writes every filled slot. After a write error the slots are still
// released (so the tap keeps counting only real overflow) but not written.
func (w *Writer) drain() {
	for {
		s := w.ring.peek()
		if s == nil {
			return
		}
		if w.err == nil && w.opts.Keys != nil && w.opts.Keys.gen.Load() != w.keysGen {
			// The key was logged before its first datagram was queued.
			w.err = w.writeKeys()
		}
		if w.err == nil {
			w.err = w.write(s)
		}
		w.ring.release(s)
		if w.err == nil && w.opts.MaxBytes > 0 && w.path != "" && w.out.n+int64(w.buf.Buffered()) >= w.opts.MaxBytes {
			w.err = w.rotate()
		}
	}
}

// write frames one datagram as IPv4/UDP and appends it to the file.
func (w *Writer) write(s *slot) error {
	src, dst := s.addr, w.local
	if s.dir == dirOut {
		src, dst = w.local, s.addr
	}
	w.ipID++
	frame := appendFrame(w.frame[:0], src, dst, w.ipID, s.data[:s.n], s.orig)
	ci := gopacket.CaptureInfo{
		Timestamp:     time.Unix(0, s.at),
		CaptureLength: len(frame),
		Length:        frameOverhead + s.orig,
	}
	if err := w.ng.WritePacket(ci, frame); err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	w.captured.Add(1)
	return nil
}
