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

// found is an instance a browser heard of: the answer it takes for it,
// from the server of the highest epoch heard (docs/PROTOCOL.md §18.7;
// epoch 0 for a server not in a pair), and those of servers heard under
// lower epochs, kept only to report them.
type found struct {
	fqdn, label string
	cur         answer
	stale       []answer // at most maxStale
}

// answer is what one server answered for an instance.
type answer struct {
	ptrTTL      uint32
	host        string
	port        uint16
	srv, hasTXT bool
	txt         []string
	epoch       uint32 // from the TXT; 0 before it, or from a server not in a pair
	src         netip.Addr
	gone        bool
}

// maxStale bounds the lower-epoch answers kept per instance for the
// report (a standby pair has two servers; a forger gets no more).
const maxStale = 4

// admit decides whether the records of one response for f come from the
// server f takes, given the first TXT record for f in that response (its
// strings and TTL) and the response's source: the TXT says which server
// of a standby pair answered (§18.7). A higher epoch than f's replaces
// what f had, a lower one is noted as stale and its records skipped.
func (f *found) admit(txt []string, ttl uint32, src netip.Addr) bool {
	e, _ := textEpoch(txt)
	c := &f.cur
	switch {
	case !c.hasTXT && !c.gone:
		// The epoch is not known yet. Records from another address
		// before it may be another server's: drop them (this server's
		// SRV comes with its TXT, as additional records do).
		if c.src.IsValid() && c.src != src {
			*c = answer{}
		}
		return true
	case ttl == 0:
		return e == c.epoch // a goodbye counts from the server f takes only
	case c.gone:
		*c = answer{} // the server f took said goodbye: take the one answering now
		return true
	case e < c.epoch:
		f.noteStale(answer{hasTXT: true, txt: txt, epoch: e, src: src})
		return false
	case e > c.epoch:
		f.noteStale(*c)
		*c = answer{}
	}
	return true
}

// noteStale keeps a, an answer under an epoch below the one f takes, for
// the report: one per epoch and source, at most maxStale.
func (f *found) noteStale(a answer) {
	for i := range f.stale {
		if f.stale[i].epoch == a.epoch && f.stale[i].src == a.src {
			f.stale[i] = a
			return
		}
	}
	if len(f.stale) < maxStale {
		f.stale = append(f.stale, a)
	}
}

// takes reports whether a response from src without a TXT record for f
// is about the server f takes: not when f has the TXT of a server of a
// pair at another address (its records would be mixed with another's).
func (f *found) takes(src netip.Addr) bool {
	c := &f.cur
	return !c.hasTXT || c.epoch == 0 || !c.src.IsValid() || c.src == src
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
// whether it was one. The records of one response come from one server;
// for an instance that two servers of a standby pair answer, the TXT's
// epoch says whose they are (found.admit).
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
	secs := [][]dnsmessage.Resource{m.ans, m.addit}
	take := map[*found]bool{}
	for _, sec := range secs {
		for i := range sec {
			if body, ok := sec[i].Body.(*dnsmessage.TXTResource); ok {
				if f := inst(sec[i].Header.Name.String()); f != nil {
					if _, seen := take[f]; !seen {
						take[f] = f.admit(body.TXT, sec[i].Header.TTL, src)
					}
				}
			}
		}
	}
	// answerOf returns the answer a record for f goes into, or nil to
	// skip it.
	answerOf := func(f *found) *answer {
		if f == nil {
			return nil
		}
		if t, ok := take[f]; ok && !t || !ok && !f.takes(src) {
			return nil
		}
		return &f.cur
	}
	for _, sec := range secs {
		for i := range sec {
			rr := &sec[i]
			name := rr.Header.Name.String()
			live := rr.Header.TTL > 0
			switch body := rr.Body.(type) {
			case *dnsmessage.PTRResource:
				if lowerASCII(name) != lowerASCII(ServiceType) {
					continue
				}
				if a := answerOf(inst(body.PTR.String())); a != nil {
					a.gone = !live
					a.ptrTTL = rr.Header.TTL
					a.src = src
				}
			case *dnsmessage.SRVResource:
				// A step down's goodbye (§18.7) has no PTR: an SRV or
				// TXT with TTL 0 says goodbye too.
				if a := answerOf(inst(name)); a != nil && !live {
					a.gone = true
				} else if a != nil {
					a.srv, a.host, a.port, a.src, a.gone = true, body.Target.String(), body.Port, src, false
				}
			case *dnsmessage.TXTResource:
				if a := answerOf(inst(name)); a != nil && !live {
					a.gone = true
				} else if a != nil {
					a.hasTXT, a.txt, a.src, a.gone = true, body.TXT, src, false
					a.epoch, _ = textEpoch(body.TXT)
				}
			case *dnsmessage.AResource:
				l := lowerASCII(name)
				a := netip.AddrFrom4(body.A)
				have, known := b.hosts[l]
				if !live || slices.Contains(have, a) || len(have) >= maxHostAddrs ||
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
		c := &f.cur
		if c.gone {
			continue
		}
		if !c.srv {
			ask(f.fqdn, dnsmessage.TypeSRV)
		}
		if !c.hasTXT {
			ask(f.fqdn, dnsmessage.TypeTXT)
		}
		if c.srv && len(b.hosts[lowerASCII(c.host)]) == 0 {
			ask(c.host, dnsmessage.TypeA)
		}
	}
	return qs
}

// knownPTRs lists the PTR answers received, for known-answer suppression.
func (b *browser) knownPTRs() []dnsmessage.Resource {
	var rs []dnsmessage.Resource
	for _, f := range b.insts {
		if f.cur.gone || f.cur.ptrTTL == 0 {
			continue
		}
		rs = append(rs, dnsmessage.Resource{
			Header: dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(ServiceType), Type: dnsmessage.TypePTR, Class: classIN, TTL: f.cur.ptrTTL},
			Body:   &dnsmessage.PTRResource{PTR: dnsmessage.MustNewName(f.fqdn)},
		})
	}
	return rs
}

// result returns the instances with an SRV record, an address and a TXT
// record with the required keys, of the newest version among them that
// this client speaks, sorted by name; and the others with why (choose).
// An instance without its TXT yet is not complete. Of an instance that
// servers of a standby pair answered, only the highest epoch's answer is
// a candidate; the others are rejected as stale.
func (b *browser) result() ([]Service, []Rejected) {
	var cands []Service
	var from []netip.Addr
	var rejected []Rejected
	for _, f := range b.insts {
		c := &f.cur
		for i := range f.stale {
			a := &f.stale[i]
			s := Service{Instance: f.label, Host: a.host}
			if addrs := b.hosts[lowerASCII(a.host)]; a.srv && len(addrs) > 0 {
				s.Addr = netip.AddrPortFrom(addrOn(addrs, a.src), a.port)
			}
			s.setText(a.txt)
			rejected = append(rejected, staleEpoch(&s, a.src, c.epoch))
		}
		r := Rejected{Instance: f.label, From: c.src, Text: c.txt, Epoch: c.epoch}
		addrs := b.hosts[lowerASCII(c.host)]
		switch {
		case c.gone:
			r.Reason, r.Detail = RejectGoodbye, "the server said goodbye (TTL 0): it stopped"
		case !c.srv:
			r.Reason, r.Detail = RejectNoSRV, "no SRV record (game port and host) was answered"
		case !c.hasTXT:
			r.Reason, r.Detail = RejectNoTXT, "no TXT record (version, id, tick rate, players) was answered"
		case len(addrs) == 0:
			r.Reason, r.Detail = RejectNoAddress, fmt.Sprintf("no A record for its host %q", c.host)
		}
		if r.Reason != 0 {
			rejected = append(rejected, r)
			continue
		}
		s := Service{Instance: f.label, Host: c.host, Addr: netip.AddrPortFrom(addrOn(addrs, c.src), c.port)}
		s.setText(c.txt)
		cands = append(cands, s)
		from = append(from, c.src)
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
