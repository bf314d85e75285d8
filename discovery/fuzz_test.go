package discovery

import (
	"math/rand/v2"
	"net/netip"
	"strings"
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
	adv := testAdvert()
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
		// The other server of a standby pair (§18.7): under a lower and a
		// higher epoch than the fuzzed pair responder's 3, a malformed
		// one, and its step down's goodbye.
		"pair_stale":     response(t, peerRecords(2), 120),
		"pair_newer":     response(t, peerRecords(5), 120),
		"pair_bad_epoch": response(t, peerRecords(0, append(adv.Text(1), "epoch=03")...), 120),
		"pair_goodbye":   response(t, peerRecords(2)[2:], 0),
	}
}

// textSeeds are FuzzText's seeds: TXT strings with and without an epoch,
// well-formed or not.
func textSeeds() map[string][]string {
	adv := testAdvert()
	return map[string][]string{
		"plain":      adv.Text(3),
		"epoch":      adv.textAt(3, 3),
		"epoch_max":  adv.textAt(3, 1<<32-1),
		"epoch_zero": append(adv.Text(3), "epoch=0"),
		"epoch_lead": append(adv.Text(3), "epoch=007"),
		"epoch_big":  append(adv.Text(3), "epoch=4294967296"),
		"epoch_junk": append(adv.Text(3), "Epoch=3x", "epoch=4"),
		"epoch_none": {"epoch", "epoch=", "=3"},
	}
}

// FuzzText parses TXT rdata (each string a length byte and its bytes) as
// Browse and Beacon do: it never panics, an epoch is either read (and
// then is what a server writing that epoch sends, from the first epoch=
// string) or marked malformed, and the fields parsed twice agree.
func FuzzText(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var txt []string
		for len(data) > 0 {
			n := int(data[0])
			if 1+n > len(data) {
				return
			}
			txt = append(txt, string(data[1:1+n]))
			data = data[1+n:]
		}
		var s Service
		s.setText(txt)
		e, bad := textEpoch(txt)
		if e != s.Epoch || bad != s.BadEpoch || e != 0 && bad {
			t.Fatalf("setText: epoch %d bad %v; textEpoch: %d %v", s.Epoch, s.BadEpoch, e, bad)
		}
		first := ""
		for _, kv := range txt {
			if k, _, _ := strings.Cut(kv, "="); strings.EqualFold(k, EpochKey) {
				first = kv
				break
			}
		}
		switch {
		case first == "" && (e != 0 || bad):
			t.Fatalf("no epoch string, yet epoch %d bad %v", e, bad)
		case first != "" && e == 0 && !bad:
			t.Fatalf("%q read as no epoch without being malformed", first)
		case e != 0 && !strings.EqualFold(first, epochText(e)):
			t.Fatalf("%q read as epoch %d, which a server writes %q", first, e, epochText(e))
		}
	})
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
		// The active of a standby pair at epoch 3, and its standby.
		r3 := newResponder(testAdvert(), []Interface{eth0}, map[netip.Addr]bool{}, fc, rand.New(rand.NewPCG(1, 2)), testLogger(t), t0)
		r3.setRole(t0, 3)
		now = runUntil(r3, t0, t0.Add(3*time.Second))
		r3.handle(now, data, peer, group, eth0.Index)
		r3.handle(now, data, legacyQ, group, eth0.Index)
		runUntil(r3, now, now.Add(time.Second))
		r3.setRole(now.Add(time.Second), 0)
		r3.handle(now.Add(time.Second), data, peer, group, eth0.Index)
		for _, p := range fc.sent {
			if _, ok := parseMessage(p.b); !ok {
				t.Fatalf("sent an unparsable message %x", p.b)
			}
		}
	})
}
