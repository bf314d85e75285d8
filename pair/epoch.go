package pair

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/arcadexr/arcade/checkpoint"
)

// The stored epoch (PROTOCOL §18.3): the highest epoch this box wrote
// under, written and synced before it sends anything under it, so that a
// restarted server never writes under an epoch it used before.

// LoadEpoch reads the epoch stored at path: 0 if there is no file.
func LoadEpoch(path string) (uint32, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	e, err := strconv.ParseUint(s, 10, 32)
	if err != nil || e == 0 {
		return 0, fmt.Errorf("%s: %q is not an epoch (a decimal number above 0): move the file aside only if this box never served under another epoch", path, s)
	}
	return uint32(e), nil
}

// StoreEpoch writes e to path atomically and durably
// (checkpoint.WriteFile: a temporary file, synced, renamed over path, the
// directory synced).
func StoreEpoch(path string, e uint32) error {
	return checkpoint.WriteFile(path, []byte(strconv.FormatUint(uint64(e), 10)+"\n"))
}

// NextEpoch is the epoch a server of index i (0 or 1) takes over with:
// the smallest above every epoch it has seen or stored whose remainder
// mod 2 is i, and at least 2 (the pair's first epoch is 2, server 0's).
func NextEpoch(seen uint32, i int) uint32 {
	e := seen + 1
	if int(e%2) != i {
		e++
	}
	for e < 2 {
		e += 2
	}
	return e
}
