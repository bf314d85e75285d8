package wire

import "encoding/binary"

// EpochSize is the size of the epoch trailer of a datagram with FlagEpoch.
const EpochSize = 4

// AppendEpoch appends the epoch trailer (a little-endian u32) to datagram b,
// whose header must have FlagEpoch set, and returns the extended slice. A
// sealed datagram's trailer is sealed with its body: append it to the body
// in clear before sealing.
func AppendEpoch(b []byte, epoch uint32) []byte {
	return binary.LittleEndian.AppendUint32(b, epoch)
}

// StampEpoch sets FlagEpoch in the header of datagram b and appends the
// epoch trailer: b must be the header and the body in clear (sealing, if
// any, comes after, so that the trailer is sealed with the body).
func StampEpoch(b []byte, epoch uint32) []byte {
	b[offFlags] |= FlagEpoch
	return AppendEpoch(b, epoch)
}

// SplitEpoch returns datagram b without its epoch trailer and the epoch, if
// its header has FlagEpoch; without the flag it returns b and epoch 0 (a
// server that is not one of a standby pair). b must be the whole datagram
// in clear, header first (for a sealed one: the header followed by the
// opened body). A datagram with FlagEpoch too short to hold a header and
// a trailer is ErrShort; on error b is returned unchanged. It does not
// allocate: the result is a prefix of b.
func SplitEpoch(b []byte) (rest []byte, epoch uint32, err error) {
	if len(b) < HeaderSize {
		return b, 0, ErrShort
	}
	if b[offFlags]&FlagEpoch == 0 {
		return b, 0, nil
	}
	if len(b) < HeaderSize+EpochSize {
		return b, 0, ErrShort
	}
	n := len(b) - EpochSize
	return b[:n], binary.LittleEndian.Uint32(b[n:]), nil
}

// EpochNewer reports whether epoch a is newer than b. Epochs only grow (a
// takeover adds one), so they compare as plain integers: 2³² takeovers are
// not a venue's lifetime.
func EpochNewer(a, b uint32) bool { return a > b }
