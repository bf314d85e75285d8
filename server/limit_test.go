package server

import (
	"net/netip"
	"testing"
)

func TestSourceLimiter(t *testing.T) {
	l := newSourceLimiter(64, 10, 20) // 10/s, burst 20
	a := netip.MustParseAddr("10.0.0.1")
	b := netip.MustParseAddr("10.0.0.2")
	got := 0
	for range 100 {
		if l.allow(a, 0) {
			got++
		}
	}
	if got != 20 {
		t.Fatalf("burst allowed %d, want 20", got)
	}
	if !l.allow(b, 0) {
		t.Fatal("another source was limited by the first one's flood")
	}
	// Half a second refills 5 tokens.
	got = 0
	for range 100 {
		if l.allow(a, 5e8) {
			got++
		}
	}
	if got != 5 {
		t.Fatalf("after 0.5 s allowed %d, want 5", got)
	}
	if testing.AllocsPerRun(100, func() { l.allow(a, 1e9) }) != 0 {
		t.Fatal("allow allocates")
	}
}

// TestSpoofedFloodIsBounded: a flood from many spoofed sources saturates the
// fixed table and is limited as a whole, without growing memory.
func TestSpoofedFloodIsBounded(t *testing.T) {
	l := newSourceLimiter(256, 10, 20)
	allowed := 0
	for i := range 100000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if l.allow(a, int64(i)*1000) { // 100 000 packets in 0.1 s
			allowed++
		}
	}
	// At most every slot's burst plus what refills in 0.1 s.
	if max := 256*20 + 256*10/10 + 256; allowed > max {
		t.Fatalf("%d of 100000 spoofed packets allowed, want at most %d", allowed, max)
	}
	if len(l.slots) != 256 {
		t.Fatal("table grew")
	}
}

func TestPrefixList(t *testing.T) {
	p := prefixList{netip.MustParsePrefix("192.168.10.0/24"), netip.MustParsePrefix("127.0.0.1/32")}
	for _, tc := range []struct {
		a    string
		want bool
	}{{"192.168.10.77", true}, {"192.168.11.1", false}, {"127.0.0.1", true}, {"::ffff:192.168.10.5", true}} {
		if got := p.contains(netip.MustParseAddr(tc.a)); got != tc.want {
			t.Errorf("contains(%s) = %v", tc.a, got)
		}
	}
}

// TestDistinctSourcesGetTheirOwnBuckets: neighbouring addresses must not
// share slots (a weak hash puts every IPv4 address in the same one). With
// 500 exhausted sources in 4096 slots a few may find both their slots taken
// and share; nearly all must get their whole burst.
func TestDistinctSourcesGetTheirOwnBuckets(t *testing.T) {
	l := newSourceLimiter(4096, 10, 20)
	full := 0
	for i := range 500 {
		a := netip.AddrFrom4([4]byte{192, 168, byte(i >> 8), byte(i)})
		got := 0
		for range 20 {
			if l.allow(a, 0) {
				got++
			}
		}
		if got == 20 {
			full++
		}
	}
	if full < 490 {
		t.Fatalf("only %d of 500 distinct sources got their whole burst", full)
	}
}
