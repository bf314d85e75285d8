package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// RotatedPath is the path of New's n-th file after path (n ≥ 1):
// "run.pcapng" → "run.1.pcapng".
func RotatedPath(path string, n int) string {
	if n == 0 {
		return path
	}
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "." + strconv.Itoa(n) + ext
}

// rotate closes the file and goes on in the next one, removing the one
// MaxFiles before it.
func (w *Writer) rotate() error {
	if err := w.buf.Flush(); err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	if err := w.file.Close(); err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	w.fileN++
	f, err := os.OpenFile(RotatedPath(w.path, w.fileN), os.O_RDWR|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		w.file = nopCloser{}
		return fmt.Errorf("capture: %w", err)
	}
	w.file = f
	w.out = &countWriter{w: f}
	w.buf.Reset(w.out)
	w.files.Add(1)
	if w.opts.MaxFiles > 0 && w.fileN >= w.opts.MaxFiles {
		os.Remove(RotatedPath(w.path, w.fileN-w.opts.MaxFiles))
	}
	return w.begin()
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// Decryption Secrets Block (pcapng, draft-ietf-opsawg-pcapng §4.7).
const (
	blockTypeDSB   = 0x0000000A
	dsbFixedHeader = 16 // type, total length, secrets type, secrets length
)

// writeKeys writes a Decryption Secrets Block with the keys the log
// gained since the last one in this file, if it gained any.
func (w *Writer) writeKeys() error {
	recs, top, gen := w.opts.Keys.appendSince(w.keyBuf[:0], w.keysSeq)
	w.keyBuf = recs
	w.keysGen = gen
	if top == w.keysSeq {
		return nil
	}
	w.keysSeq = top
	secrets, err := w.opts.Wrap.seal(w.keyBlock[:0], recs)
	if err != nil {
		return fmt.Errorf("capture: key log: %w", err)
	}
	w.keyBlock = secrets
	if err := w.ng.Flush(); err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	pad := (4 - len(secrets)%4) % 4
	total := dsbFixedHeader + len(secrets) + pad + 4
	var hdr [dsbFixedHeader]byte
	binary.LittleEndian.PutUint32(hdr[0:], blockTypeDSB)
	binary.LittleEndian.PutUint32(hdr[4:], uint32(total))
	binary.LittleEndian.PutUint32(hdr[8:], SecretsType)
	binary.LittleEndian.PutUint32(hdr[12:], uint32(len(secrets)))
	w.buf.Write(hdr[:])
	w.buf.Write(secrets)
	w.buf.Write(make([]byte, pad))
	_, err = w.buf.Write(hdr[4:8])
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	return nil
}
