//go:build !linux

package client

import "syscall"

// oobSize is zero: kernel receive timestamps are read only on Linux.
const oobSize = 0

// enableTimestamps does nothing off Linux; receive times are read from the
// clock after each read instead.
func enableTimestamps(syscall.RawConn) error { return nil }

// enableReuse does nothing off Linux; only one client per host can then
// bind the multicast group.
func enableReuse(syscall.RawConn) error { return nil }

// rxTimestamp returns 0: no kernel timestamp.
func rxTimestamp([]byte) int64 { return 0 }
