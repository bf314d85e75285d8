package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// pcapng block framing, for ReadSecrets.
const (
	blockTypeSHB   = 0x0A0D0D0A
	byteOrderMagic = 0x1A2B3C4D
	maxBlock       = 64 << 20 // a longer block is a damaged file
)

// ReadSecrets walks the blocks of a pcapng stream and returns the secrets
// of every Decryption Secrets Block of SecretsType, in file order, however
// many sections it has and whatever their byte order. A file cut short
// (the server was killed) ends the walk without an error; a block whose
// length makes no sense is an error.
func ReadSecrets(r io.Reader) ([][]byte, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var order binary.ByteOrder = binary.LittleEndian
	var out [][]byte
	var head [12]byte
	for first := true; ; first = false {
		if _, err := io.ReadFull(br, head[:8]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return out, nil
			}
			return out, err
		}
		typ := binary.LittleEndian.Uint32(head[0:])
		if typ == blockTypeSHB {
			if _, err := io.ReadFull(br, head[8:12]); err != nil {
				return out, nil
			}
			switch {
			case binary.LittleEndian.Uint32(head[8:]) == byteOrderMagic:
				order = binary.LittleEndian
			case binary.BigEndian.Uint32(head[8:]) == byteOrderMagic:
				order = binary.BigEndian
			default:
				return out, errors.New("pcapng: section header with a bad byte-order magic")
			}
		} else if first {
			return out, errors.New("not pcapng: no section header block first")
		}
		total := order.Uint32(head[4:])
		typ = order.Uint32(head[0:])
		read := uint32(8)
		if typ == blockTypeSHB {
			read = 12
		}
		if total < read+4 || total%4 != 0 || total > maxBlock {
			return out, fmt.Errorf("pcapng: block of type %#x with length %d", typ, total)
		}
		if typ != blockTypeDSB || total-read < 12 {
			if _, err := br.Discard(int(total - read)); err != nil {
				return out, nil
			}
			continue
		}
		body := make([]byte, total-read)
		if _, err := io.ReadFull(br, body); err != nil {
			return out, nil
		}
		st, n := order.Uint32(body[0:]), order.Uint32(body[4:])
		if st != SecretsType {
			continue
		}
		if uint64(n) > uint64(len(body)-12) {
			return out, fmt.Errorf("pcapng: decryption secrets of %d bytes in a block of %d", n, total)
		}
		out = append(out, body[8:8+n])
	}
}
