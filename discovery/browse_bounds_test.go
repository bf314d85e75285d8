package discovery

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// scriptConn is a Transport that hands out a fixed list of datagrams, then
// times out; it counts what is sent.
type scriptConn struct {
	in   []scripted
	sent int
}

type scripted struct {
	b   []byte
	src netip.AddrPort
}

func (c *scriptConn) ReadFrom(b []byte) (int, int, netip.AddrPort, error) {
	if len(c.in) == 0 {
		time.Sleep(time.Millisecond) // the deadline's wait, shortened
		return 0, 0, netip.AddrPort{}, os.ErrDeadlineExceeded
	}
	d := c.in[0]
	c.in = c.in[1:]
	return copy(b, d.b), eth0.Index, d.src, nil
}
func (c *scriptConn) WriteTo([]byte, int, netip.AddrPort) error { c.sent++; return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error           { return nil }
func (c *scriptConn) Close() error                              { return nil }

// serviceResponse is an mDNS response announcing instance i completely:
// PTR, SRV, TXT and the host's A record with addrs addresses.
func serviceResponse(t *testing.T, i, addrs int) []byte {
	return serviceResponseTXT(t, i, addrs, goodTXT)
}

// goodTXT has every required key, well-formed, for version 1.
var goodTXT = []string{"v=1", "id=00112233aabbccdd", "tick=120", "mcast=off", "players=0/8"}

// serviceResponseTXT is serviceResponse with the given TXT strings (none:
// no TXT record).
func serviceResponseTXT(t *testing.T, i, addrs int, txt []string) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{Response: true, Authoritative: true})
	b.StartAnswers()
	inst := dnsmessage.MustNewName(fmt.Sprintf("Forged %d.%s", i, ServiceType))
	host := dnsmessage.MustNewName(fmt.Sprintf("h%d.local.", i))
	hdr := func(n dnsmessage.Name, ty dnsmessage.Type) dnsmessage.ResourceHeader {
		return dnsmessage.ResourceHeader{Name: n, Type: ty, Class: classIN, TTL: 120}
	}
	b.PTRResource(hdr(dnsmessage.MustNewName(ServiceType), dnsmessage.TypePTR), dnsmessage.PTRResource{PTR: inst})
	b.SRVResource(hdr(inst, dnsmessage.TypeSRV), dnsmessage.SRVResource{Target: host, Port: 7777})
	if txt != nil {
		b.TXTResource(hdr(inst, dnsmessage.TypeTXT), dnsmessage.TXTResource{TXT: txt})
	}
	for a := range addrs {
		b.AResource(hdr(host, dnsmessage.TypeA), dnsmessage.AResource{A: [4]byte{192, 0, 2, byte(10 + a)}})
	}
	m, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestBrowseBounds: a flood of forged but well-formed responses from the
// link fills the browse's tables to their bounds and no further, and asks
// a bounded number of questions.
func TestBrowseBounds(t *testing.T) {
	c := &scriptConn{}
	for i := range 1000 {
		c.in = append(c.in, scripted{serviceResponse(t, i, 20), peer})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	svcs, err := browse(ctx, c, []Interface{eth0}, false, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if len(svcs) != maxBrowseInstances {
		t.Fatalf("%d services from 1000 forged instances, want the bound %d", len(svcs), maxBrowseInstances)
	}
	if c.sent > 1+2+3*maxBrowseInstances {
		t.Fatalf("%d queries sent: more than the bound allows", c.sent)
	}
	b := &browser{insts: map[string]*found{}, hosts: map[string][]netip.Addr{}, asked: map[string]bool{}}
	for i := range 1000 {
		b.handle(serviceResponse(t, i, 20), peer.Addr())
	}
	if len(b.insts) != maxBrowseInstances || len(b.hosts) != maxBrowseHosts {
		t.Fatalf("%d instances, %d hosts: want %d, %d", len(b.insts), len(b.hosts), maxBrowseInstances, maxBrowseHosts)
	}
	for h, a := range b.hosts {
		if len(a) > maxHostAddrs {
			t.Fatalf("host %s: %d addresses", h, len(a))
		}
	}
}

// TestBrowseIgnoresOffLink: a complete answer from a source off every
// browsed interface's link is not taken (RFC 6762 §11).
func TestBrowseIgnoresOffLink(t *testing.T) {
	off := netip.MustParseAddrPort("203.0.113.9:5353")
	c := &scriptConn{in: []scripted{{serviceResponse(t, 1, 1), off}}}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if svcs, err := browse(ctx, c, []Interface{eth0}, false, time.Now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("off-link answer: %v, %v; want ErrNotFound", svcs, err)
	}
	// The same answer from the link is found.
	c = &scriptConn{in: []scripted{{serviceResponse(t, 1, 1), peer}}}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if svcs, err := browse(ctx2, c, []Interface{eth0}, false, time.Now); err != nil || len(svcs) != 1 {
		t.Fatalf("on-link answer: %v, %v", svcs, err)
	}
}

// TestBrowseWantsOurVersion: an instance whose TXT names another protocol
// version, or that has no TXT, is not returned; ours is.
func TestBrowseWantsOurVersion(t *testing.T) {
	c := &scriptConn{in: []scripted{
		{serviceResponseTXT(t, 1, 1, []string{"v=2", "scene=x"}), peer},
		{serviceResponseTXT(t, 2, 1, nil), peer},
		{serviceResponseTXT(t, 3, 1, []string{""}), peer},
		{serviceResponseTXT(t, 4, 1, goodTXT), peer},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	svcs, err := browse(ctx, c, []Interface{eth0}, false, time.Now)
	if err != nil || len(svcs) != 1 || svcs[0].Instance != "Forged 4" {
		t.Fatalf("browse: %+v, %v; want only Forged 4", svcs, err)
	}
}
