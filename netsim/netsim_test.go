package netsim

import (
	"net/netip"
	"testing"
	"time"
)

var (
	a     = netip.MustParseAddrPort("10.9.0.1:1")
	b     = netip.MustParseAddrPort("10.9.0.2:1")
	c     = netip.MustParseAddrPort("10.9.0.3:1")
	group = netip.MustParseAddrPort("239.255.0.1:9")
)

// run sends n numbered datagrams a→b and returns what b received, in order.
func run(cfg Config, n int) ([]byte, Stats) {
	nw := New(cfg, 0)
	ea, eb := nw.Endpoint(a), nw.Endpoint(b)
	var got []byte
	for i := range n {
		ea.Send(b, []byte{byte(i)})
		nw.SetNow(nw.Now() + int64(100*time.Microsecond))
		eb.Recv(func(d []byte, from netip.AddrPort, rx int64, mc bool) {
			if from != a || mc {
				panic("wrong source")
			}
			got = append(got, d[0])
		})
	}
	nw.SetNow(nw.Now() + int64(time.Second))
	eb.Recv(func(d []byte, _ netip.AddrPort, _ int64, _ bool) { got = append(got, d[0]) })
	return got, nw.Stats()
}

func TestCleanNetworkDeliversInOrder(t *testing.T) {
	got, st := run(Config{Delay: time.Millisecond}, 200)
	if len(got) != 200 || st.Lost != 0 {
		t.Fatalf("got %d datagrams, lost %d", len(got), st.Lost)
	}
	for i, v := range got {
		if v != byte(i) {
			t.Fatalf("datagram %d arrived as %d", i, v)
		}
	}
}

func TestImpairmentsAreSeededAndApplied(t *testing.T) {
	cfg := Config{Loss: 0.2, Duplicate: 0.1, Jitter: 2 * time.Millisecond, Seed: 42}
	got1, st := run(cfg, 2000)
	got2, _ := run(cfg, 2000)
	if string(got1) != string(got2) {
		t.Fatal("same seed, different delivery")
	}
	if st.Lost < 300 || st.Lost > 600 {
		t.Errorf("lost %d of ~2200 copies, want about 20%%", st.Lost)
	}
	if st.Duplicated < 120 || st.Duplicated > 280 {
		t.Errorf("duplicated %d of 2000, want about 10%%", st.Duplicated)
	}
	reordered := 0
	for i := 1; i < len(got1); i++ {
		if got1[i] < got1[i-1] && got1[i-1]-got1[i] < 128 {
			reordered++
		}
	}
	if reordered == 0 {
		t.Error("jitter did not reorder anything")
	}
}

func TestMulticastFansOutToMembers(t *testing.T) {
	nw := New(Config{}, 0)
	ea, eb, ec := nw.Endpoint(a), nw.Endpoint(b), nw.Endpoint(c)
	eb.Join(group)
	ec.Join(group)
	ea.Send(group, []byte("hi"))
	n := 0
	for _, e := range []*Endpoint{eb, ec} {
		e.Recv(func(d []byte, from netip.AddrPort, _ int64, mc bool) {
			if !mc || from != a || string(d) != "hi" {
				t.Fatalf("bad multicast copy %q from %v mc=%v", d, from, mc)
			}
			n++
		})
	}
	if n != 2 {
		t.Fatalf("%d members got the datagram, want 2", n)
	}
	ec.Close()
	ea.Send(group, []byte("again"))
	ec.Recv(func([]byte, netip.AddrPort, int64, bool) { t.Fatal("closed endpoint received") })
}
