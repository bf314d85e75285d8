//go:build linux

package client

import (
	"encoding/binary"
	"syscall"

	"golang.org/x/sys/unix"
)

// oobSize holds one SCM_TIMESTAMPNS control message with room to spare.
const oobSize = 64

// enableTimestamps asks the kernel to attach its receive time
// (SO_TIMESTAMPNS, CLOCK_REALTIME) to every datagram read from c.
func enableTimestamps(c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return err
	}
	return serr
}

// enableReuse lets several sockets on the host bind the same multicast
// group and port; each of them receives every datagram sent to the group.
func enableReuse(c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}
	}); err != nil {
		return err
	}
	return serr
}

// cmsgAlign rounds n up to the control message alignment (the word size).
func cmsgAlign(n int) int {
	return (n + unix.SizeofPtr - 1) &^ (unix.SizeofPtr - 1)
}

// rxTimestamp returns the kernel receive time in ns since the Unix epoch
// from the control messages of one recvmsg, or 0 if there is none. The
// layout is struct cmsghdr (a word-sized length, then int32 level and type,
// padded to a word) followed by struct timespec (two words). It does not
// allocate.
func rxTimestamp(oob []byte) int64 {
	const word = unix.SizeofPtr
	hdr := cmsgAlign(unix.SizeofCmsghdr)
	ne := binary.NativeEndian
	for len(oob) >= hdr {
		var l int
		if word == 8 {
			l = int(ne.Uint64(oob))
		} else {
			l = int(ne.Uint32(oob))
		}
		level := int32(ne.Uint32(oob[word:]))
		typ := int32(ne.Uint32(oob[word+4:]))
		if l < hdr || l > len(oob) {
			return 0
		}
		if level == unix.SOL_SOCKET && typ == unix.SCM_TIMESTAMPNS && l >= hdr+2*word {
			d := oob[hdr:]
			var sec, nsec int64
			if word == 8 {
				sec, nsec = int64(ne.Uint64(d)), int64(ne.Uint64(d[8:]))
			} else {
				sec, nsec = int64(int32(ne.Uint32(d))), int64(int32(ne.Uint32(d[4:])))
			}
			return sec*1e9 + nsec
		}
		next := cmsgAlign(l)
		if next >= len(oob) {
			return 0
		}
		oob = oob[next:]
	}
	return 0
}
