package record

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// Errors of the reader besides ErrCut.
var (
	ErrNotRecording = errors.New("record: not a recording")
	ErrVersion      = errors.New("record: unknown recording version")
	ErrCorrupt      = errors.New("record: corrupt")
)

// Frame is one frame of a recording. Payload is valid until the next
// call to Next.
type Frame struct {
	Type    uint8
	Payload []byte
	Offset  int64 // of the frame's length field in the file
}

// Reader reads a recording frame by frame.
type Reader struct {
	src      io.Reader
	r        *bufio.Reader
	c        io.Closer
	off      int64
	buf      []byte
	TickRate int
	// Fingerprint and Scene are the Scene frame's, read by Open.
	Fingerprint uint64
	Scene       []byte
	ended       bool
}

// Open opens the recording at path and reads its header and scene.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.c = f
	return r, nil
}

// NewReader reads a recording from in, starting with its header and scene.
func NewReader(in io.Reader) (*Reader, error) {
	r := &Reader{src: in, r: bufio.NewReaderSize(in, 256<<10)}
	var h [HeaderSize]byte
	n, err := io.ReadFull(r.r, h[:])
	if n < len(Magic) || string(h[:len(Magic)]) != Magic {
		return nil, ErrNotRecording
	}
	if err != nil {
		return nil, fmt.Errorf("%w: the header is cut at byte %d", ErrCut, n)
	}
	if v := binary.LittleEndian.Uint16(h[8:]); v != Version {
		return nil, fmt.Errorf("%w %d (this build reads %d)", ErrVersion, v, Version)
	}
	r.TickRate = int(binary.LittleEndian.Uint16(h[10:]))
	r.off = HeaderSize
	f, err := r.Next()
	if err != nil {
		return nil, err
	}
	if f.Type != TypeScene || len(f.Payload) < 12 || uint64(len(f.Payload)-12) != uint64(binary.LittleEndian.Uint32(f.Payload[8:])) {
		return nil, fmt.Errorf("%w: the first frame is not a scene", ErrCorrupt)
	}
	r.Fingerprint = binary.LittleEndian.Uint64(f.Payload)
	r.Scene = append([]byte(nil), f.Payload[12:]...)
	return r, nil
}

// Next returns the next frame. At the End frame it returns it, then
// io.EOF. A recording that stops inside a frame, or at a frame boundary
// without an End frame, gives an error wrapping ErrCut that says where;
// a frame whose CRC does not match, with more bytes after it, or longer
// than MaxFrame, one wrapping ErrCorrupt. Frames of types this reader
// does not know are returned as they are: the caller skips them.
func (r *Reader) Next() (Frame, error) {
	if r.ended {
		return Frame{}, io.EOF
	}
	at := r.off
	var lb [4]byte
	n, err := io.ReadFull(r.r, lb[:])
	if err == io.EOF {
		return Frame{}, fmt.Errorf("%w: no end record after byte %d (the recording was not closed: the server was killed or the disk filled)", ErrCut, at)
	}
	if err != nil {
		return Frame{}, fmt.Errorf("%w: inside a frame's length at byte %d", ErrCut, at+int64(n))
	}
	size := binary.LittleEndian.Uint32(lb[:])
	if size < 1 || size > MaxFrame {
		return Frame{}, fmt.Errorf("%w: a frame of %d bytes at byte %d (at most %d)", ErrCorrupt, size, at, MaxFrame)
	}
	if cap(r.buf) < int(size)+4 {
		r.buf = make([]byte, int(size)+4)
	}
	b := r.buf[:size+4]
	if n, err := io.ReadFull(r.r, b); err != nil {
		return Frame{}, fmt.Errorf("%w: inside the frame at byte %d (%d of its %d bytes)", ErrCut, at, n+4, size+8)
	}
	r.off += int64(size) + 8
	if crc32.Checksum(b[:size], castagnoli) != binary.LittleEndian.Uint32(b[size:]) {
		if _, err := r.r.Peek(1); err == io.EOF {
			return Frame{}, fmt.Errorf("%w: the last frame, at byte %d, is torn (its checksum does not match)", ErrCut, at)
		}
		return Frame{}, fmt.Errorf("%w: the frame at byte %d fails its checksum", ErrCorrupt, at)
	}
	f := Frame{Type: b[0], Payload: b[1:size], Offset: at}
	if f.Type == TypeEnd {
		r.ended = true
	}
	return f, nil
}

// SeekFrame moves to the frame at off (a Frame's Offset), on a seekable
// input.
func (r *Reader) SeekFrame(off int64) error {
	s, ok := r.src.(io.Seeker)
	if !ok {
		return errors.New("record: the input cannot seek")
	}
	if _, err := s.Seek(off, io.SeekStart); err != nil {
		return err
	}
	r.r.Reset(r.src)
	r.off, r.ended = off, false
	return nil
}

// Offset is where the next frame starts.
func (r *Reader) Offset() int64 { return r.off }

// Close closes the file Open opened.
func (r *Reader) Close() error {
	if r.c != nil {
		return r.c.Close()
	}
	return nil
}
