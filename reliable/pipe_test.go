package reliable

import "testing"

// pipe joins two Endpoints with a lossless, instant network.
type pipe struct {
	a, b       *Endpoint
	abuf, bbuf []byte
	now        int64
}

func newPipe(t testing.TB, cfg Config) *pipe {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mtu := a.Config().MTU
	return &pipe{a: a, b: b, abuf: make([]byte, 0, mtu), bbuf: make([]byte, 0, mtu)}
}

// flush delivers everything from's Poll has to to.
func flush(now int64, from, to *Endpoint, buf []byte) int {
	n := 0
	for {
		out, seq, ok := from.Poll(now, buf[:0])
		if !ok {
			return n
		}
		ack, bits := from.Ack()
		if err := to.OnDatagram(now, seq, ack, bits, out); err != nil {
			panic(err)
		}
		n++
	}
}

// round exchanges datagrams both ways at the current time, then moves
// time on by step.
func (p *pipe) round(step int64) {
	flush(p.now, p.a, p.b, p.abuf)
	flush(p.now, p.b, p.a, p.bbuf)
	p.now += step
}
