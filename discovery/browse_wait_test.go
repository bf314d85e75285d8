package discovery

import (
	"context"
	"net/netip"
	"os"
	"testing"
	"time"
)

// clockConn hands out each scripted answer once a fake clock reaches its
// time; a read with nothing due moves the clock on by 10 ms, as a read
// deadline would.
type clockConn struct {
	now time.Time
	in  []timedAnswer
}

type timedAnswer struct {
	at time.Duration // after the browse began
	b  []byte
}

func (c *clockConn) ReadFrom(b []byte) (int, int, netip.AddrPort, error) {
	if len(c.in) > 0 && !c.now.Before(start.Add(c.in[0].at)) {
		d := c.in[0]
		c.in = c.in[1:]
		return copy(b, d.b), eth0.Index, peer, nil
	}
	c.now = c.now.Add(10 * time.Millisecond)
	return 0, 0, netip.AddrPort{}, os.ErrDeadlineExceeded
}
func (c *clockConn) WriteTo([]byte, int, netip.AddrPort) error { return nil }
func (c *clockConn) SetReadDeadline(time.Time) error           { return nil }
func (c *clockConn) Close() error                              { return nil }

var start = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// TestBrowseWaitsForEveryAnswer: without a deadline, a browse does not end
// 200 ms after the first complete server while a second one that answered
// is still to send its TXT: it takes the second when it completes, and
// without it ends at BrowseTimeout with the second rejected, saying why.
func TestBrowseWaitsForEveryAnswer(t *testing.T) {
	for _, late := range []bool{true, false} {
		c := &clockConn{now: start, in: []timedAnswer{
			{0, serviceResponse(t, 1, 1)},
			{0, serviceResponseTXT(t, 2, 1, nil)},
		}}
		if late {
			c.in = append(c.in, timedAnswer{400 * time.Millisecond, serviceResponse(t, 2, 1)})
		}
		svcs, rejected, err := browseReport(context.Background(), c, []Interface{eth0}, false, func() time.Time { return c.now })
		if err != nil {
			t.Fatal(err)
		}
		took := c.now.Sub(start)
		t.Logf("second complete at 400 ms %v: %d services, %d rejected, ended at %v", late, len(svcs), len(rejected), took)
		switch {
		case late && (len(svcs) != 2 || len(rejected) != 0):
			t.Errorf("a second server completing after 400 ms: %+v, rejected %+v; want both", svcs, rejected)
		case late && took > 700*time.Millisecond:
			t.Errorf("ended at %v, want 200 ms after the second completed", took)
		case !late && (len(svcs) != 1 || len(rejected) != 1 || rejected[0].Reason != RejectNoTXT):
			t.Errorf("a second server that never completes: %+v, rejected %+v; want the first, the second without TXT", svcs, rejected)
		case !late && took < BrowseTimeout:
			t.Errorf("ended at %v, before the %v bound, while the second might still answer", took, BrowseTimeout)
		}
	}
}
