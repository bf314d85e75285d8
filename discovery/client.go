package discovery

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Client timing.
const (
	// BrowseTimeout bounds Browse and Beacon when ctx has no deadline.
	//
	// It is longer than one second so that Browse's first re-query, at one
	// second, is sent and answered: a responder multicasts a record at most
	// once a second (RFC 6762 §6), so a headset that starts just after an
	// announcement gets no answer to its first query.
	BrowseTimeout = 1500 * time.Millisecond
	// queryRetry is when an unanswered beacon probe is sent again.
	queryRetry = 250 * time.Millisecond
	// grace is how long the clients keep listening for more servers after
	// the first one is complete.
	grace = 200 * time.Millisecond
)

// ErrNotFound is returned when no server answered in time.
var ErrNotFound = errors.New("discovery: no Arcade server answered")

// Browse is BrowseReport without the rejected answers.
func Browse(ctx context.Context, iface string) ([]Service, error) {
	svcs, _, err := BrowseReport(ctx, iface)
	return svcs, err
}

// BrowseReport looks for Arcade servers by mDNS on the named interface ("" =
// every up multicast-capable IPv4 interface and loopback). It multicasts a
// one-shot QM query for the PTR records of _arcade._udp.local, asks for
// the SRV, TXT and A records that did not come as additional records, and
// repeats the PTR query 1 s and 3 s after the first, listing the answers
// it has (known-answer suppression) so servers that already answered stay
// quiet. It returns the complete services when ctx is done; if ctx has no
// deadline, 200 ms after every instance that answered is complete (one
// service at least), or after BrowseTimeout.
// It listens on port 5353 (shared, as avahi does); if that fails it
// queries from an ephemeral port, which responders answer by legacy
// unicast (RFC 6762 §6.7).
//
// It returns the answers that carry the required TXT keys (RequiredKeys)
// well-formed, of the newest protocol version among them that this client
// speaks, sorted by instance name; and every other answer it heard, with
// the reason it was left out (said goodbye, no SRV, TXT or address by the
// end, a key missing or malformed, a version this client does not speak,
// an older version than another server's), for the caller to log. The
// error is ErrNotFound (wrapped) when no answer is left, whatever was
// rejected.
func BrowseReport(ctx context.Context, iface string) ([]Service, []Rejected, error) {
	var ifs []Interface
	var err error
	if iface != "" {
		in, err := LookupInterface(iface)
		if err != nil {
			return nil, nil, err
		}
		ifs = []Interface{in}
	} else if ifs, err = ChooseInterfaces("", netip.IPv4Unspecified()); err != nil {
		return nil, nil, err
	}
	conn, err := ListenMDNS(ifs)
	legacy := false
	if err != nil {
		var err2 error
		if conn, err2 = ListenUDP(0); err2 != nil {
			return nil, nil, errors.Join(err, err2)
		}
		legacy = true
	}
	return browseReport(ctx, conn, ifs, legacy, time.Now)
}

// browse runs a browse over conn.
func browse(ctx context.Context, conn Transport, ifs []Interface, legacy bool, now func() time.Time) ([]Service, error) {
	svcs, _, err := browseReport(ctx, conn, ifs, legacy, now)
	return svcs, err
}

// browseReport runs a browse over conn, with the rejected answers.
func browseReport(ctx context.Context, conn Transport, ifs []Interface, legacy bool, now func() time.Time) ([]Service, []Rejected, error) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	start := now()
	deadline, early := ctx.Deadline()
	if early = !early; early {
		deadline = start.Add(BrowseTimeout)
	}
	b := &browser{insts: map[string]*found{}, hosts: map[string][]netip.Addr{}, asked: map[string]bool{}}
	local := localAddrs()
	id := uint16(0)
	if legacy {
		id = uint16(rand.Uint32())
	}
	var sendErr error
	query := func(qs []dnsmessage.Question, known []dnsmessage.Resource) {
		msg, err := buildQuery(id, qs, known)
		if err != nil {
			sendErr = err
			return
		}
		for _, in := range ifs {
			if err := conn.WriteTo(msg, in.Index, MDNSGroup); err != nil {
				sendErr = fmt.Errorf("discovery: send query on %s: %w", in.Name, err)
			}
		}
	}
	ptrQ := []dnsmessage.Question{{Name: dnsmessage.MustNewName(ServiceType), Type: dnsmessage.TypePTR, Class: classIN}}
	query(ptrQ, nil)
	retries := []time.Time{start.Add(time.Second), start.Add(3 * time.Second)}
	var done time.Time
	buf := make([]byte, maxMessage+1)
	for ctx.Err() == nil {
		t := now()
		if !t.Before(deadline) || (!done.IsZero() && !t.Before(done)) {
			break
		}
		if len(retries) > 0 && !t.Before(retries[0]) {
			retries = retries[1:]
			query(ptrQ, b.knownPTRs())
		}
		wake := deadline
		if len(retries) > 0 && retries[0].Before(wake) {
			wake = retries[0]
		}
		if !done.IsZero() && done.Before(wake) {
			wake = done
		}
		conn.SetReadDeadline(wake)
		if ctx.Err() != nil {
			break
		}
		n, _, src, err := conn.ReadFrom(buf)
		if err != nil {
			if isTimeout(err) {
				continue
			}
			if ctx.Err() != nil {
				break
			}
			return nil, nil, fmt.Errorf("discovery: browse: %w", err)
		}
		if src.Port() != MDNSPort {
			continue
		}
		// RFC 6762 §11: a response from off the link is someone else's
		// network or a spoofed source.
		if !onAnyLink(ifs, local, src.Addr()) {
			continue
		}
		if !b.handle(buf[:n], src.Addr()) {
			continue
		}
		if qs := b.missing(); len(qs) > 0 {
			query(qs, nil)
		}
		if svcs, rej := b.result(); early && len(svcs) > 0 {
			// The grace starts once every instance that answered is
			// complete: a second server still answering is waited for
			// (up to the deadline), not cut off by the first.
			if incomplete(rej) {
				done = time.Time{}
			} else if done.IsZero() {
				done = now().Add(grace)
			}
		}
	}
	svcs, rejected := b.result()
	if len(svcs) == 0 {
		if sendErr != nil {
			return nil, rejected, sendErr
		}
		return nil, rejected, fmt.Errorf("%w by mDNS within %v%s", ErrNotFound, deadline.Sub(start).Round(time.Millisecond), rejectedNote(rejected))
	}
	return svcs, rejected, nil
}

// rejectedNote is ErrNotFound's note of the answers left out.
func rejectedNote(r []Rejected) string {
	switch len(r) {
	case 0:
		return ""
	case 1:
		return " (1 answer rejected: " + r[0].String() + ")"
	}
	return fmt.Sprintf(" (%d answers rejected, the first: %s)", len(r), r[0])
}

// buildQuery builds an mDNS query with known answers.
func buildQuery(id uint16, qs []dnsmessage.Question, known []dnsmessage.Resource) ([]byte, error) {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	for _, q := range qs {
		if err := b.Question(q); err != nil {
			return nil, err
		}
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	for _, k := range known {
		if p, ok := k.Body.(*dnsmessage.PTRResource); ok {
			if err := b.PTRResource(k.Header, *p); err != nil {
				return nil, err
			}
		}
	}
	return b.Finish()
}

// found is an instance a browser heard of.
type found struct {
	fqdn, label string
	ptrTTL      uint32
	host        string
	port        uint16
	srv, hasTXT bool
	txt         []string
	src         netip.Addr
	gone        bool
}

// onAnyLink reports whether a is on the link of one of ifs, or is one of
// this host's addresses (local).
func onAnyLink(ifs []Interface, local map[netip.Addr]bool, a netip.Addr) bool {
	if local[a.Unmap()] {
		return true
	}
	for i := range ifs {
		if ifs[i].OnLink(a) {
			return true
		}
	}
	return false
}

// Browse bounds: a LAN full of forged responses fills these and no more
// (each instance also costs at most three questions, asked once).
const (
	maxBrowseInstances = 64 // instances of the service (and beacon replies)
	maxBrowseHosts     = 64 // host names with addresses
	maxHostAddrs       = 8  // addresses per host name
)

// browser collects answers, up to the browse bounds.
type browser struct {
	insts map[string]*found
	hosts map[string][]netip.Addr
	asked map[string]bool
}

// handle records the Arcade records of an mDNS response and reports
// whether it was one.
func (b *browser) handle(p []byte, src netip.Addr) bool {
	m, ok := parseMessage(p)
	if !ok || !m.h.Response {
		return false
	}
	suffix := "." + lowerASCII(ServiceType)
	inst := func(name string) *found {
		l := lowerASCII(name)
		if !strings.HasSuffix(l, suffix) || len(l) == len(suffix) {
			return nil
		}
		f := b.insts[l]
		if f == nil {
			if len(b.insts) >= maxBrowseInstances {
				return nil
			}
			f = &found{fqdn: name, label: name[:len(name)-len(suffix)]}
			b.insts[l] = f
		}
		return f
	}
	for _, sec := range [][]dnsmessage.Resource{m.ans, m.addit} {
		for i := range sec {
			rr := &sec[i]
			name := rr.Header.Name.String()
			switch body := rr.Body.(type) {
			case *dnsmessage.PTRResource:
				if lowerASCII(name) != lowerASCII(ServiceType) {
					continue
				}
				if f := inst(body.PTR.String()); f != nil {
					f.gone = rr.Header.TTL == 0
					f.ptrTTL = rr.Header.TTL
					f.src = src
				}
			case *dnsmessage.SRVResource:
				if f := inst(name); f != nil && rr.Header.TTL > 0 {
					f.srv, f.host, f.port, f.src = true, body.Target.String(), body.Port, src
				}
			case *dnsmessage.TXTResource:
				if f := inst(name); f != nil && rr.Header.TTL > 0 {
					f.hasTXT, f.txt = true, body.TXT
				}
			case *dnsmessage.AResource:
				l := lowerASCII(name)
				a := netip.AddrFrom4(body.A)
				have, known := b.hosts[l]
				if rr.Header.TTL == 0 || slices.Contains(have, a) || len(have) >= maxHostAddrs ||
					!known && len(b.hosts) >= maxBrowseHosts {
					continue
				}
				b.hosts[l] = append(have, a)
			}
		}
	}
	return true
}

// missing returns questions for what the known instances still lack,
// each asked once.
func (b *browser) missing() []dnsmessage.Question {
	var qs []dnsmessage.Question
	ask := func(name string, t dnsmessage.Type) {
		k := lowerASCII(name) + "/" + t.String()
		if !b.asked[k] {
			b.asked[k] = true
			qs = append(qs, dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: t, Class: classIN})
		}
	}
	for _, f := range b.insts {
		if f.gone {
			continue
		}
		if !f.srv {
			ask(f.fqdn, dnsmessage.TypeSRV)
		}
		if !f.hasTXT {
			ask(f.fqdn, dnsmessage.TypeTXT)
		}
		if f.srv && len(b.hosts[lowerASCII(f.host)]) == 0 {
			ask(f.host, dnsmessage.TypeA)
		}
	}
	return qs
}

// knownPTRs lists the PTR answers received, for known-answer suppression.
func (b *browser) knownPTRs() []dnsmessage.Resource {
	var rs []dnsmessage.Resource
	for _, f := range b.insts {
		if f.gone || f.ptrTTL == 0 {
			continue
		}
		rs = append(rs, dnsmessage.Resource{
			Header: dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(ServiceType), Type: dnsmessage.TypePTR, Class: classIN, TTL: f.ptrTTL},
			Body:   &dnsmessage.PTRResource{PTR: dnsmessage.MustNewName(f.fqdn)},
		})
	}
	return rs
}

// result returns the instances with an SRV record, an address and a TXT
// record with the required keys, of the newest version among them that
// this client speaks, sorted by name; and the others with why (choose).
// An instance without its TXT yet is not complete.
func (b *browser) result() ([]Service, []Rejected) {
	var cands []Service
	var from []netip.Addr
	var rejected []Rejected
	for _, f := range b.insts {
		r := Rejected{Instance: f.label, From: f.src, Text: f.txt}
		addrs := b.hosts[lowerASCII(f.host)]
		switch {
		case f.gone:
			r.Reason, r.Detail = RejectGoodbye, "the server said goodbye (TTL 0): it stopped"
		case !f.srv:
			r.Reason, r.Detail = RejectNoSRV, "no SRV record (game port and host) was answered"
		case !f.hasTXT:
			r.Reason, r.Detail = RejectNoTXT, "no TXT record (version, id, tick rate, players) was answered"
		case len(addrs) == 0:
			r.Reason, r.Detail = RejectNoAddress, fmt.Sprintf("no A record for its host %q", f.host)
		}
		if r.Reason != 0 {
			rejected = append(rejected, r)
			continue
		}
		s := Service{Instance: f.label, Host: f.host, Addr: netip.AddrPortFrom(addrOn(addrs, f.src), f.port)}
		s.setText(f.txt)
		cands = append(cands, s)
		from = append(from, f.src)
	}
	return choose(cands, from, rejected)
}

// incomplete reports whether an instance is still to answer a record (it may
// yet be complete).
func incomplete(rej []Rejected) bool {
	for _, r := range rej {
		switch r.Reason {
		case RejectNoSRV, RejectNoTXT, RejectNoAddress:
			return true
		}
	}
	return false
}

// Beacon is BeaconReport without the rejected replies.
func Beacon(ctx context.Context, target netip.AddrPort) ([]Service, error) {
	svcs, _, err := BeaconReport(ctx, target)
	return svcs, err
}

// BeaconReport broadcasts a beacon probe (padded to 512 bytes) to target (zero
// value: 255.255.255.255:7779), again after 250 ms while unanswered, and
// returns the servers that replied with its nonce when ctx is done; if ctx
// has no deadline, 200 ms after the first reply, or after 1 s. A server's
// address is the reply's source address with the game port from the
// reply. As BrowseReport, it keeps the replies with the required keys of
// the newest version, and returns the others with why.
func BeaconReport(ctx context.Context, target netip.AddrPort) ([]Service, []Rejected, error) {
	if !target.IsValid() {
		target = beaconTarget
	}
	conn, err := ListenUDP(0)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	start := time.Now()
	deadline, early := ctx.Deadline()
	if early = !early; early {
		deadline = start.Add(BrowseTimeout)
	}
	nonce := rand.Uint32()
	probe := AppendProbe(nil, BeaconProbe{Nonce: nonce}, BeaconProbeSize)
	if err := conn.WriteTo(probe, 0, target); err != nil {
		return nil, nil, fmt.Errorf("discovery: beacon probe to %s: %w", target, err)
	}
	retry := start.Add(queryRetry)
	var done time.Time
	var out []Service
	var from []netip.Addr
	var dups []Rejected
	buf := make([]byte, BeaconMaxSize+1)
	for ctx.Err() == nil {
		t := time.Now()
		if !t.Before(deadline) || (!done.IsZero() && !t.Before(done)) {
			break
		}
		if !retry.IsZero() && !t.Before(retry) {
			retry = time.Time{}
			if len(out) == 0 {
				conn.WriteTo(probe, 0, target)
			}
		}
		wake := deadline
		for _, w := range []time.Time{retry, done} {
			if !w.IsZero() && w.Before(wake) {
				wake = w
			}
		}
		conn.SetReadDeadline(wake)
		if ctx.Err() != nil {
			break
		}
		n, _, src, err := conn.ReadFrom(buf)
		if err != nil {
			if isTimeout(err) {
				continue
			}
			if ctx.Err() != nil {
				break
			}
			return nil, nil, fmt.Errorf("discovery: beacon: %w", err)
		}
		r, _, err := ParseReply(buf[:n])
		if err != nil || r.Nonce != nonce {
			continue
		}
		s := Service{Instance: r.Instance, Addr: netip.AddrPortFrom(src.Addr(), r.Port), Truncated: r.Truncated}
		s.setText(r.Text)
		if len(out)+len(dups) >= maxBrowseInstances {
			continue
		}
		if slices.ContainsFunc(out, func(o Service) bool { return o.Addr == s.Addr }) {
			dups = append(dups, Rejected{Instance: s.Instance, From: src.Addr(), Addr: s.Addr, Version: s.Version, Reason: RejectDuplicate,
				Detail: "a second reply for the same game address", Text: s.Text})
			continue
		}
		out = append(out, s)
		from = append(from, src.Addr())
		if svcs, _ := choose(slices.Clone(out), from, nil); early && done.IsZero() && len(svcs) > 0 {
			done = time.Now().Add(grace)
		}
	}
	svcs, rejected := choose(out, from, dups)
	if len(svcs) == 0 {
		return nil, rejected, fmt.Errorf("%w to the beacon probe sent to %s within %v%s", ErrNotFound, target, deadline.Sub(start).Round(time.Millisecond), rejectedNote(rejected))
	}
	return svcs, rejected, nil
}
