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

// storeAhead stores, off the follower's loop, the epoch this box would
// take over with (§18.3: NextEpoch of every epoch seen and stored), so
// that a takeover finds it stored and syncs nothing on its way to the
// first state. At most one store runs at a time; a wish for a higher epoch
// waits for it and is stored next. The stored epoch only grows: one
// stored ahead and never written under is skipped by the next takeover of
// a restarted box (it starts above its stored epoch), which wastes an
// epoch and nothing else.
type storeAhead struct {
	path     string
	wanted   uint32     // the highest epoch asked for
	stored   uint32     // the highest known in the file, synced
	inFlight uint32     // the epoch being stored; 0: none
	done     chan error // inFlight's result
	failed   error      // a store ahead failed: none is tried again
}

func newStoreAhead(path string) *storeAhead {
	return &storeAhead{path: path, done: make(chan error, 1)}
}

// want asks for e stored, and starts its store when none runs.
func (s *storeAhead) want(e uint32) {
	s.wanted = max(s.wanted, e)
	s.poll(false)
}

// poll takes the result of the store in flight (waiting for it if wait)
// and starts the next one wanted, unless a store failed.
func (s *storeAhead) poll(wait bool) {
	if s.inFlight != 0 {
		var err error
		if wait {
			err = <-s.done
		} else {
			select {
			case err = <-s.done:
			default:
				return
			}
		}
		if err == nil {
			s.stored = s.inFlight
		} else {
			s.failed = err
		}
		s.inFlight = 0
	}
	if s.wanted > s.stored && s.failed == nil && !wait {
		e := s.wanted
		s.inFlight = e
		go func() { s.done <- StoreEpoch(s.path, e) }()
	}
}

// finish makes sure e is stored, at takeover: it waits for the store in
// flight, and stores e itself unless that or an earlier one stored it. It
// reports whether e was stored ahead.
func (s *storeAhead) finish(e uint32) (ahead bool, err error) {
	s.poll(true)
	if s.stored == e {
		return true, nil
	}
	if err := StoreEpoch(s.path, e); err != nil {
		return false, err
	}
	s.stored = e
	return false, nil
}

// stop waits for the store in flight: Follow leaves no writer behind.
func (s *storeAhead) stop() { s.poll(true) }
