package discovery

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// messageSeeds are FuzzMessage's seeds: each kind of datagram the
// responder handles.
func messageSeeds(t *testing.T) map[string][]byte {
	r, _ := newTestResponder(t, testAdvert())
	recs := r.ifs[0].recs
	ptr := recs[1]
	other := buildRecords(makeNames("Arena", "venue"), 1, []string{"v=1"}, []netip.Addr{netip.MustParseAddr("192.0.2.9")})
	tc := query(t, 0, []dnsmessage.Question{q(ServiceType, dnsmessage.TypePTR, false)}, nil, nil)
	tc[2] |= 0x02
	return map[string][]byte{
		"qm_ptr":    query(t, 0, []dnsmessage.Question{q(ServiceType, dnsmessage.TypePTR, false)}, nil, nil),
		"qu_srv":    query(t, 0, []dnsmessage.Question{q(instName, dnsmessage.TypeSRV, true)}, nil, nil),
		"meta":      query(t, 0, []dnsmessage.Question{q(metaQuery, dnsmessage.TypePTR, false)}, nil, nil),
		"any_host":  query(t, 0x1234, []dnsmessage.Question{q("venue.local.", typeANY, false)}, nil, nil),
		"known_ptr": query(t, 0, []dnsmessage.Question{q(ServiceType, dnsmessage.TypePTR, false)}, []dnsmessage.Resource{{Header: dnsmessage.ResourceHeader{Name: ptr.name, Type: dnsmessage.TypePTR, Class: classIN, TTL: 4500}, Body: ptr.body}}, nil),
		"probe":     query(t, 0, []dnsmessage.Question{q(instName, typeANY, true), q("venue.local.", typeANY, true)}, nil, other[2:]),
		"truncated": tc,
		"response":  response(t, recs, 120),
		"conflict":  response(t, other, 120),
		"goodbye":   response(t, recs, 0),
		"garbage":   {0xff, 0xff, 0x84, 0x00, 0xff, 0xff, 0xff, 0xff, 0xc0, 0x0c},
		"empty":     nil,
	}
}

// FuzzMessage feeds arbitrary datagrams to an established responder, as
// multicast from port 5353 and as legacy unicast, and steps it: it must
// never panic, and everything it sends must parse.
func FuzzMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		fc := &fakeConn{}
		r := newResponder(testAdvert(), []Interface{eth0}, map[netip.Addr]bool{}, fc, rand.New(rand.NewPCG(1, 2)), testLogger(t), t0)
		now := runUntil(r, t0, t0.Add(3*time.Second))
		r.handle(now, data, peer, group, eth0.Index)
		r.handle(now, data, legacyQ, group, eth0.Index)
		runUntil(r, now, now.Add(time.Second))
		// While probing, too.
		r2 := newResponder(testAdvert(), []Interface{eth0}, map[netip.Addr]bool{}, fc, rand.New(rand.NewPCG(1, 2)), testLogger(t), t0)
		n := r2.step(t0)
		r2.step(n)
		r2.handle(n, data, peer, group, eth0.Index)
		runUntil(r2, n, n.Add(3*time.Second))
		for _, p := range fc.sent {
			if _, ok := parseMessage(p.b); !ok {
				t.Fatalf("sent an unparsable message %x", p.b)
			}
		}
	})
}
