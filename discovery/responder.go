package discovery

import (
	"bytes"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Timing of the responder (RFC 6762 §6, §8).
const (
	probeWait        = 250 * time.Millisecond // before the first probe: random 0..probeWait
	probeInterval    = 250 * time.Millisecond
	probeCount       = 3
	announceCount    = 2
	announceInterval = time.Second
	sharedDelayMin   = 20 * time.Millisecond // random delay before answering with shared records
	sharedDelayMax   = 120 * time.Millisecond
	tcDelayMin       = 400 * time.Millisecond // when the query continues in more packets (TC)
	tcDelayMax       = 500 * time.Millisecond
	multicastMinGap  = time.Second            // a record is multicast at most once a second per interface
	defenceMinGap    = 250 * time.Millisecond // ... except to defend a name against a probe
	deferWait        = time.Second            // after losing a simultaneous-probe tie-break
	conflictWindow   = 10 * time.Second       // 15 conflicts within this ...
	conflictLimit    = 15
	conflictWait     = 5 * time.Second // ... delay the next probe by this much
	textMinGap       = time.Second     // TXT changes are announced at most once a second
	pollInterval     = 250 * time.Millisecond
	prevTextKeep     = 10 * time.Second // our replaced TXT is not a conflict for this long
)

// state is where the responder is in RFC 6762 §8.
type state int

const (
	stateProbing state = iota
	stateAnnouncing
	stateRunning
	// stateStandby: the standby of a pair sends nothing (docs/PROTOCOL.md
	// §18.7) until it becomes active.
	stateStandby
	stateStopped
)

// ifState is one interface: its records (A is its own address) and when
// each record was last multicast on it.
type ifState struct {
	Interface
	recs   []record
	lastMC map[string]time.Time
}

// pending is a multicast response waiting for its random delay.
type pending struct {
	ifs     *ifState
	due     time.Time
	answers []*record
	adds    []*record
	src     netip.AddrPort
	defence bool
}

// responder is the mDNS responder's logic. It never reads the clock or
// sleeps: handle and step take the time, and step says when it next needs
// to run. It sends through out. Not safe for concurrent use, except Name
// and Host.
type responder struct {
	adv   Advert
	out   sender
	rng   *rand.Rand
	log   *slog.Logger
	stats *Stats
	local map[netip.Addr]bool // this machine's addresses: our own A records, never a conflict

	ifs []*ifState

	mu             sync.Mutex // guards instance and host
	instance, host string
	nameN, hostN   int // last rename suffix used, 0 before any
	names          names

	state     state
	probeN    int // probes sent in this round
	announceN int
	next      time.Time // next probe or announcement
	conflicts []time.Time

	text         []string
	textDirty    bool
	lastText     time.Time
	prevText     []byte // TXT rdata replaced within prevTextKeep
	prevTextTill time.Time
	nextPoll     time.Time

	// pair is set once this server is one of a standby pair (setRole);
	// epoch is the epoch it advertises while active (0 before).
	pair  bool
	epoch uint32

	pending []*pending
	buf     []byte
}

// sender sends a datagram; Transport satisfies it.
type sender interface {
	WriteTo(b []byte, ifIndex int, dst netip.AddrPort) error
}

// newResponder starts probing at now. adv must be validated.
func newResponder(adv Advert, ifs []Interface, local map[netip.Addr]bool, out sender, rng *rand.Rand, log *slog.Logger, now time.Time) *responder {
	r := &responder{
		adv: adv, out: out, rng: rng, log: log, stats: new(Stats), local: local,
		instance: adv.Instance, host: adv.Host,
		buf: make([]byte, 0, 1500),
	}
	for _, in := range ifs {
		r.ifs = append(r.ifs, &ifState{Interface: in, lastMC: map[string]time.Time{}})
		for _, a := range in.Addrs {
			r.local[a] = true
		}
	}
	r.text = adv.textAt(adv.players(), 0)
	r.rebuild()
	r.startProbing(now, r.randDur(0, probeWait))
	return r
}

func (r *responder) randDur(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.rng.Int64N(int64(hi-lo)+1))
}

// Name returns the instance name currently claimed.
func (r *responder) Name() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.instance
}

// Host returns the host label currently claimed.
func (r *responder) Host() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.host
}

// rebuild recomputes every interface's records from the names and text.
func (r *responder) rebuild() {
	r.names = makeNames(r.instance, r.host)
	for _, s := range r.ifs {
		s.recs = buildRecords(r.names, r.adv.Port, r.text, s.Addrs)
	}
}

func (r *responder) startProbing(now time.Time, wait time.Duration) {
	r.state = stateProbing
	r.probeN = 0
	r.next = now.Add(wait)
	r.pending = r.pending[:0]
}

// step does what is due at now and returns when it next needs to run.
func (r *responder) step(now time.Time) time.Time {
	switch r.state {
	case stateProbing:
		if !now.Before(r.next) {
			if r.probeN < probeCount {
				for _, s := range r.ifs {
					r.sendProbe(s)
				}
				r.probeN++
				r.next = now.Add(probeInterval)
			} else {
				// 250 ms after the third probe without a conflict: ours.
				r.state = stateAnnouncing
				r.announceN = 0
				r.next = now
				r.log.Info("mDNS: advertising", "name", r.instance, "service", r.names.instance, "host", r.names.host)
			}
		}
	case stateRunning:
		if !now.Before(r.nextPoll) {
			r.nextPoll = now.Add(pollInterval)
			if t := r.adv.textAt(r.adv.players(), r.epoch); !slices.Equal(t, r.text) {
				r.prevText = appendText(nil, r.text)
				r.text = t
				r.textDirty = true
			}
		}
		if r.textDirty && now.Sub(r.lastText) >= textMinGap {
			r.textDirty = false
			r.lastText = now
			r.prevTextTill = now.Add(prevTextKeep)
			r.rebuild()
			for _, s := range r.ifs {
				r.sendAnnouncement(now, s, dnsmessage.TypeTXT)
			}
		}
	}
	if r.state == stateAnnouncing && !now.Before(r.next) {
		for _, s := range r.ifs {
			r.sendAnnouncement(now, s, 0)
		}
		r.announceN++
		r.next = now.Add(announceInterval)
		if r.announceN == announceCount {
			r.state = stateRunning
			r.lastText = now
			r.nextPoll = now
		}
	}
	r.flushPending(now)

	var next time.Time
	earlier := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	switch r.state {
	case stateProbing, stateAnnouncing:
		earlier(r.next)
	case stateRunning:
		earlier(r.nextPoll)
		if r.textDirty {
			earlier(r.lastText.Add(textMinGap))
		}
	}
	for _, p := range r.pending {
		earlier(p.due)
	}
	return next
}

// goodbye multicasts every record with TTL 0 on every interface
// (RFC 6762 §10.1) if the names were ever announced, and stops.
func (r *responder) goodbye() {
	r.sendGoodbyes(false)
	r.state = stateStopped
	r.pending = nil
}

// sendGoodbyes multicasts our records with TTL 0 on every interface if
// they were ever announced: all of them, or (uniqueOnly) the SRV, TXT and
// A records without the two PTRs, which the pair's new active holds too
// (the same name and data) and which a goodbye would make caches drop.
func (r *responder) sendGoodbyes(uniqueOnly bool) {
	if !(r.state == stateAnnouncing && r.announceN > 0 || r.state == stateRunning) {
		return
	}
	for _, s := range r.ifs {
		var answers []*record
		for i := range s.recs {
			if !uniqueOnly || s.recs[i].unique {
				answers = append(answers, &s.recs[i])
			}
		}
		r.send(s, MDNSGroup, responseHeader(0), nil, answers, nil, sendGoodbye)
	}
}

// setRole makes this responder one of a standby pair (docs/PROTOCOL.md
// §18.7), at now: the active writing under epoch (epoch > 0), or the
// standby (epoch 0).
//
// A standby sends nothing: one that steps down says goodbye (TTL 0) to
// its SRV, TXT and A records, and answers nothing until it is active
// again. A server that becomes active, or changes its epoch, advertises
// epoch=E after the strings of §14.2 and announces itself at once (two
// announcements 1 s apart), without probing: the instance name is the
// pair's, the SRV and A are its own. While the name is still being
// probed for (the pair's first active starting), probing goes on with the
// new TXT.
func (r *responder) setRole(now time.Time, epoch uint32) {
	if r.state == stateStopped {
		return
	}
	wasPair := r.pair
	r.pair = true
	if epoch == 0 {
		if r.state == stateStandby {
			return
		}
		r.sendGoodbyes(true)
		r.state = stateStandby
		r.pending = r.pending[:0]
		r.log.Info("mDNS: standby of the pair: not advertising", "name", r.instance)
		return
	}
	if wasPair && epoch == r.epoch && r.state != stateStandby {
		return
	}
	r.epoch = epoch
	if t := r.adv.textAt(r.adv.players(), epoch); !slices.Equal(t, r.text) {
		// Our own TXT of a moment ago, looped back or still in flight,
		// is not another server's.
		r.prevText = appendText(nil, r.text)
		r.prevTextTill = now.Add(prevTextKeep)
		r.text = t
		r.textDirty = false
		r.rebuild()
	}
	if r.state == stateProbing {
		return
	}
	r.state = stateAnnouncing
	r.announceN = 0
	r.next = now
	r.pending = r.pending[:0]
	r.log.Info("mDNS: active of the pair: announcing", "name", r.instance, "epoch", epoch, "host", r.names.host)
}

// ifaceOf returns the interface state for an arrival interface index.
func (r *responder) ifaceOf(index int) *ifState {
	for _, s := range r.ifs {
		if s.Index == index {
			return s
		}
	}
	return nil
}

// handle processes one datagram that arrived on interface ifIndex from
// src, sent to dst (224.0.0.251 or one of our addresses; invalid if the
// socket does not say). Malformed or unwanted datagrams are counted by
// reason and dropped. So is anything from a source off the interface's
// link (RFC 6762 §11): a unicast or legacy query from elsewhere would make
// this responder a reflector, and a multicast datagram from elsewhere can
// only be forged, as 224.0.0.251 is never routed.
func (r *responder) handle(now time.Time, b []byte, src netip.AddrPort, dst netip.Addr, ifIndex int) {
	r.stats.Received.Add(1)
	switch r.state {
	case stateStopped:
		return
	case stateStandby:
		r.stats.Standby.Add(1)
		return
	}
	s := r.ifaceOf(ifIndex)
	if s == nil {
		r.stats.drop(DropOtherInterface)
		return
	}
	if !r.onLink(s, src.Addr()) {
		if src.Port() != MDNSPort || (dst.IsValid() && dst != MDNSGroup.Addr()) {
			r.stats.drop(DropOffLinkUnicast)
		} else {
			r.stats.drop(DropOffLink)
		}
		return
	}
	msg, ok := parseMessage(b)
	if !ok {
		r.stats.drop(DropMalformed)
		return
	}
	switch {
	case msg.h.OpCode != 0:
		r.stats.drop(DropOpcode)
	case msg.h.Response && src.Port() != MDNSPort:
		r.stats.drop(DropSourcePort) // RFC 6762 §11
	case msg.h.Response && msg.h.RCode != 0:
		r.stats.drop(DropRcode)
	case msg.h.Response:
		r.stats.Responses.Add(1)
		r.handleResponse(now, s, msg)
	default:
		r.stats.Queries.Add(1)
		r.handleQuery(now, s, msg, src)
	}
}

// onLink reports whether a is on s's link, or is this host itself (Linux
// drops datagrams from outside that claim a local source address).
func (r *responder) onLink(s *ifState, a netip.Addr) bool {
	return s.OnLink(a) || r.local[a.Unmap()]
}

// message is a parsed DNS message.
type message struct {
	size  int // bytes on the wire
	h     dnsmessage.Header
	qs    []dnsmessage.Question
	ans   []dnsmessage.Resource
	auth  []dnsmessage.Resource
	addit []dnsmessage.Resource
}

func parseMessage(b []byte) (message, bool) {
	var p dnsmessage.Parser
	var m message
	var err error
	if len(b) > maxMessage {
		return m, false
	}
	m.size = len(b)
	if m.h, err = p.Start(b); err != nil {
		return m, false
	}
	if m.qs, err = p.AllQuestions(); err != nil {
		return m, false
	}
	if m.ans, err = p.AllAnswers(); err != nil {
		return m, false
	}
	if m.auth, err = p.AllAuthorities(); err != nil {
		return m, false
	}
	if m.addit, err = p.AllAdditionals(); err != nil {
		return m, false
	}
	return m, true
}

// handleResponse looks for conflicts with our unique records
// (RFC 6762 §9) and for answers that make our pending ones redundant
// (duplicate answer suppression, §7.4).
//
// A server of a standby pair that hears the pair's other server (a TXT
// for our instance name with an epoch, §18.7) sees no conflict in its
// SRV and TXT: the name is the pair's. If that server's epoch is below
// ours it is a stale writer: its answers do not suppress ours, and we
// multicast our SRV, TXT and A again (at most every 250 ms) so that caches
// that flushed them for its records get them back.
func (r *responder) handleResponse(now time.Time, s *ifState, m message) {
	var instConflict, hostConflict bool
	lInst, lHost := lowerASCII(r.names.instance), lowerASCII(r.names.host)
	peer, peerEpoch := r.pairPeer(now, s, m, lInst)
	stale := peer && peerEpoch < r.epoch
	for _, sec := range [][]dnsmessage.Resource{m.ans, m.auth, m.addit} {
		for i := range sec {
			rr := &sec[i]
			name := lowerASCII(rr.Header.Name.String())
			class := rr.Header.Class & classMask
			rd := rdataOf(rr.Body)
			key := recordKey(name, rr.Header.Type, rd)
			if !stale {
				r.suppressPending(s, key, rr.Header.TTL, netip.AddrPort{})
			}
			if rr.Header.TTL == 0 || (class != classIN && class != classANY) {
				continue
			}
			switch {
			case name == lInst && (rr.Header.Type == dnsmessage.TypeSRV || rr.Header.Type == dnsmessage.TypeTXT):
				if !peer && !r.owns(s, key, rr.Header.Type, rd, now) {
					instConflict = true
				}
			case name == lHost && rr.Header.Type == dnsmessage.TypeA:
				if a, ok := rr.Body.(*dnsmessage.AResource); ok && !r.local[netip.AddrFrom4(a.A)] {
					hostConflict = true
				}
			}
		}
	}
	if instConflict || hostConflict {
		r.conflict(now, instConflict, hostConflict)
		return
	}
	// One defence waits per interface however many stale responses come.
	waiting := slices.ContainsFunc(r.pending, func(p *pending) bool { return p.ifs == s && p.defence && !p.src.IsValid() })
	if stale && !waiting && (r.state == stateAnnouncing || r.state == stateRunning) {
		var ours []*record
		for i := range s.recs {
			if s.recs[i].unique {
				ours = append(ours, &s.recs[i])
			}
		}
		r.pending = append(r.pending, &pending{ifs: s, due: now.Add(defenceMinGap), answers: ours, defence: true})
	}
}

// pairPeer reports whether m is from the other server of our standby
// pair, and its epoch: m has a live TXT record for our instance name
// (lInst) that is not ours, with an epoch. A malformed epoch is counted
// and read as none. A server not in a pair has no peer.
func (r *responder) pairPeer(now time.Time, s *ifState, m message, lInst string) (bool, uint32) {
	if !r.pair {
		return false, 0
	}
	for _, sec := range [][]dnsmessage.Resource{m.ans, m.auth, m.addit} {
		for i := range sec {
			rr := &sec[i]
			txt, ok := rr.Body.(*dnsmessage.TXTResource)
			if !ok || rr.Header.TTL == 0 || lowerASCII(rr.Header.Name.String()) != lInst {
				continue
			}
			rd := rdataOf(rr.Body)
			if r.owns(s, recordKey(lInst, dnsmessage.TypeTXT, rd), dnsmessage.TypeTXT, rd, now) {
				continue
			}
			e, bad := textEpoch(txt.TXT)
			if bad {
				r.stats.BadEpoch.Add(1)
			}
			if e != 0 {
				return true, e
			}
		}
	}
	return false, 0
}

// owns reports whether a record with our instance name is one of ours
// (ours now, or our TXT just replaced and possibly still in flight).
func (r *responder) owns(s *ifState, key string, typ dnsmessage.Type, rd []byte, now time.Time) bool {
	for i := range s.recs {
		if s.recs[i].key == key {
			return true
		}
	}
	return typ == dnsmessage.TypeTXT && now.Before(r.prevTextTill) && bytes.Equal(rd, r.prevText)
}

// conflict handles another host's record for one of our unique names.
// While probing, the name is not ours: pick the next one and probe again.
// Once claimed, probe the same name again (RFC 6762 §9); if the other
// host keeps it, that probing renames us.
func (r *responder) conflict(now time.Time, inst, host bool) {
	r.stats.Conflicts.Add(1)
	if r.state == stateProbing {
		r.mu.Lock()
		if inst {
			r.nameN = max(r.nameN+1, 2)
			r.instance = renamed(r.adv.Instance, r.nameN)
		}
		if host {
			r.hostN = max(r.hostN+1, 2)
			r.host = renamedHost(r.adv.Host, r.hostN)
		}
		r.mu.Unlock()
		r.rebuild()
		r.log.Info("mDNS: name in use, renamed", "name", r.instance, "host", r.host)
	} else {
		r.log.Warn("mDNS: another host claims our name; probing again", "name", r.instance, "host", r.host)
	}
	r.conflicts = append(r.conflicts, now)
	for len(r.conflicts) > 0 && now.Sub(r.conflicts[0]) > conflictWindow {
		r.conflicts = r.conflicts[1:]
	}
	wait := time.Duration(0)
	if len(r.conflicts) >= conflictLimit {
		wait = conflictWait
	}
	r.startProbing(now, wait)
}

// handleQuery answers a query (RFC 6762 §5, §6, §7) and, while probing,
// breaks ties with a simultaneous probe (§8.2).
func (r *responder) handleQuery(now time.Time, s *ifState, m message, src netip.AddrPort) {
	if r.state == stateProbing && len(m.auth) > 0 && r.probeN > 0 {
		if r.lostTieBreak(s, m.auth) {
			r.stats.ProbeDefers.Add(1)
			r.startProbing(now, deferWait)
		}
		return
	}
	if r.state != stateAnnouncing && r.state != stateRunning {
		return
	}
	legacy := src.Port() != MDNSPort
	probe := len(m.auth) > 0
	known := map[string]uint32{}
	for i := range m.ans {
		rr := &m.ans[i]
		known[recordKey(rr.Header.Name.String(), rr.Header.Type, rdataOf(rr.Body))] = rr.Header.TTL
	}
	if len(m.qs) == 0 {
		// A continuation of a truncated query: its known answers apply to
		// what we are about to answer that querier (§7.2).
		for k, ttl := range known {
			r.suppressPending(s, k, ttl, src)
		}
		return
	}
	var mc, uc, leg []*record
	for _, q := range m.qs {
		class := q.Class & classMask
		if class != classIN && class != classANY {
			continue
		}
		qu := q.Class&classTop != 0
		qname := lowerASCII(q.Name.String())
		for i := range s.recs {
			rec := &s.recs[i]
			if lowerASCII(rec.name.String()) != qname || (q.Type != typeANY && q.Type != rec.typ) {
				continue
			}
			if ttl, ok := known[rec.key]; ok && ttl >= rec.ttl/2 {
				r.stats.KnownAnswers.Add(1) // known-answer suppression, §7.1
				continue
			}
			switch {
			case legacy:
				leg = appendOnce(leg, rec)
			case probe:
				mc = appendOnce(mc, rec) // defend by multicast, §8.1
			case qu && now.Sub(s.lastMC[rec.key]) < time.Duration(rec.ttl)*time.Second/4:
				uc = appendOnce(uc, rec) // §5.4: unicast if multicast recently
			default:
				mc = appendOnce(mc, rec)
			}
		}
	}
	if len(leg) > 0 {
		r.sendLegacyReply(s, src, m, leg, r.additional(s, leg, known))
	}
	if len(uc) > 0 {
		r.send(s, src, responseHeader(0), nil, uc, r.additional(s, uc, known), 0)
	}
	if len(mc) == 0 {
		return
	}
	due := now
	if m.h.Truncated {
		due = now.Add(r.randDur(tcDelayMin, tcDelayMax))
	} else if !probe && slices.ContainsFunc(mc, func(rec *record) bool { return !rec.unique }) {
		due = now.Add(r.randDur(sharedDelayMin, sharedDelayMax))
	}
	r.pending = append(r.pending, &pending{ifs: s, due: due, answers: mc, adds: r.additional(s, mc, known), src: src, defence: probe})
	if !due.After(now) {
		r.flushPending(now)
	}
}

// lostTieBreak compares our proposed records with a probe's authority
// records for the same names (RFC 6762 §8.2) and reports whether ours
// lose. Identical sets (our own probe, looped back) do not.
func (r *responder) lostTieBreak(s *ifState, auth []dnsmessage.Resource) bool {
	for _, name := range []string{r.names.instance, r.names.host} {
		lname := lowerASCII(name)
		var theirs, ours []rrSort
		for i := range auth {
			rr := &auth[i]
			if lowerASCII(rr.Header.Name.String()) == lname {
				theirs = append(theirs, rrSort{uint16(rr.Header.Class & classMask), uint16(rr.Header.Type), rdataOf(rr.Body)})
			}
		}
		if len(theirs) == 0 {
			continue
		}
		for i := range s.recs {
			if rec := &s.recs[i]; rec.unique && lowerASCII(rec.name.String()) == lname {
				ours = append(ours, rrSort{uint16(classIN), uint16(rec.typ), rec.rdata})
			}
		}
		if compareSets(ours, theirs) < 0 {
			return true
		}
	}
	return false
}

// additional returns the records RFC 6763 §12 recommends with answers: for
// the service PTR the instance's SRV, TXT and A records; for SRV the A
// records. Records already answered or known to the querier are left out.
func (r *responder) additional(s *ifState, answers []*record, known map[string]uint32) []*record {
	var add []*record
	lInst, lHost := lowerASCII(r.names.instance), lowerASCII(r.names.host)
	want := func(name string, types ...dnsmessage.Type) {
		for i := range s.recs {
			rec := &s.recs[i]
			if lowerASCII(rec.name.String()) != name || !slices.Contains(types, rec.typ) || slices.Contains(answers, rec) {
				continue
			}
			if ttl, ok := known[rec.key]; ok && ttl >= rec.ttl/2 {
				continue
			}
			add = appendOnce(add, rec)
		}
	}
	for _, a := range answers {
		switch {
		case a.typ == dnsmessage.TypePTR && lowerASCII(a.name.String()) == lowerASCII(ServiceType):
			want(lInst, dnsmessage.TypeSRV, dnsmessage.TypeTXT)
			want(lHost, dnsmessage.TypeA)
		case a.typ == dnsmessage.TypeSRV:
			want(lHost, dnsmessage.TypeA)
		}
	}
	return add
}

func appendOnce(list []*record, rec *record) []*record {
	if slices.Contains(list, rec) {
		return list
	}
	return append(list, rec)
}

// suppressPending removes a record from pending multicast responses on s
// when someone else has just sent it with at least half our TTL (or, with
// a valid src, when that querier listed it as a known answer).
func (r *responder) suppressPending(s *ifState, key string, ttl uint32, src netip.AddrPort) {
	for _, p := range r.pending {
		if p.ifs != s || (src.IsValid() && p.src != src) {
			continue
		}
		p.answers = slices.DeleteFunc(p.answers, func(rec *record) bool {
			if rec.key == key && ttl >= rec.ttl/2 {
				r.stats.DuplicateAnswers.Add(1)
				return true
			}
			return false
		})
	}
}

// flushPending multicasts the responses due at now, one message per
// interface, leaving out records multicast there less than a second ago.
func (r *responder) flushPending(now time.Time) {
	if len(r.pending) == 0 {
		return
	}
	for _, s := range r.ifs {
		var answers, adds []*record
		defence := false
		for _, p := range r.pending {
			if p.ifs == s && !p.due.After(now) {
				for _, a := range p.answers {
					answers = appendOnce(answers, a)
				}
				for _, a := range p.adds {
					adds = appendOnce(adds, a)
				}
				defence = defence || p.defence
			}
		}
		gap := multicastMinGap
		if defence {
			gap = defenceMinGap
		}
		recent := func(rec *record) bool {
			t, ok := s.lastMC[rec.key]
			return ok && now.Sub(t) < gap
		}
		answers = slices.DeleteFunc(answers, recent)
		adds = slices.DeleteFunc(adds, func(rec *record) bool { return recent(rec) || slices.Contains(answers, rec) })
		if len(answers) > 0 {
			r.send(s, MDNSGroup, responseHeader(0), nil, answers, adds, 0)
			r.markMulticast(now, s, answers, adds)
		}
	}
	r.pending = slices.DeleteFunc(r.pending, func(p *pending) bool { return !p.due.After(now) })
}

func (r *responder) markMulticast(now time.Time, s *ifState, lists ...[]*record) {
	for _, l := range lists {
		for _, rec := range l {
			s.lastMC[rec.key] = now
		}
	}
}

// sendAnnouncement multicasts our records on s: all of them, or those of
// one type.
func (r *responder) sendAnnouncement(now time.Time, s *ifState, only dnsmessage.Type) {
	var answers []*record
	for i := range s.recs {
		if only == 0 || s.recs[i].typ == only {
			answers = append(answers, &s.recs[i])
		}
	}
	r.send(s, MDNSGroup, responseHeader(0), nil, answers, nil, 0)
	r.markMulticast(now, s, answers)
}

// sendProbe multicasts a probe on s: QU questions of type ANY for the
// instance and host names, our proposed unique records in the authority
// section (RFC 6762 §8.1).
func (r *responder) sendProbe(s *ifState) {
	qs := []dnsmessage.Question{
		{Name: dnsmessage.MustNewName(r.names.instance), Type: typeANY, Class: classIN | classTop},
		{Name: dnsmessage.MustNewName(r.names.host), Type: typeANY, Class: classIN | classTop},
	}
	var auth []*record
	for i := range s.recs {
		if s.recs[i].unique {
			auth = append(auth, &s.recs[i])
		}
	}
	r.send(s, MDNSGroup, dnsmessage.Header{}, qs, nil, auth, sendProbe)
}

func responseHeader(id uint16) dnsmessage.Header {
	return dnsmessage.Header{ID: id, Response: true, Authoritative: true}
}

// send modes.
const (
	sendLegacy  = 1 << iota // TTL capped at 10 s, no cache-flush bit, questions repeated
	sendGoodbye             // TTL 0
	sendProbe               // second record list goes to the authority section
)

// sendLegacyReply answers a legacy unicast query q (RFC 6762 §6.7) with
// no more bytes than needed: the id echoed, the questions repeated, the
// answers asked for, and of the additional records RFC 6763 §12 suggests,
// in order, only those that keep the reply no longer than the query. So
// the reply outgrows the query only by what was asked for (a PTR query
// gets the PTR, the SRV, TXT and A follow when the querier asks, as a
// unicast DNS client does), and never carries records nobody asked for to
// an address that may be a spoofed victim's.
func (r *responder) sendLegacyReply(s *ifState, dst netip.AddrPort, q message, answers, adds []*record) {
	h := responseHeader(q.h.ID)
	var kept []*record
	for _, a := range adds {
		try := append(slices.Clip(kept), a)
		if msg, err := r.build(h, q.qs, answers, try, sendLegacy); err == nil && len(msg) <= q.size {
			kept = try
		}
	}
	r.send(s, dst, h, q.qs, answers, kept, sendLegacy)
}

// send builds a message and writes it to dst on s.
func (r *responder) send(s *ifState, dst netip.AddrPort, h dnsmessage.Header, qs []dnsmessage.Question, answers, more []*record, mode int) {
	msg, err := r.build(h, qs, answers, more, mode)
	if err != nil {
		r.stats.SendErrors.Add(1)
		r.log.Warn("mDNS: cannot build message", "err", err)
		return
	}
	if err := r.out.WriteTo(msg, s.Index, dst); err != nil {
		r.stats.SendErrors.Add(1)
		r.log.Debug("mDNS: send", "iface", s.Name, "dst", dst, "err", err)
		return
	}
	r.stats.Sent.Add(1)
}

// build builds a message in r.buf: the questions, answers, and more in the
// additional (or, for a probe, authority) section. The result is valid
// until the next build.
func (r *responder) build(h dnsmessage.Header, qs []dnsmessage.Question, answers, more []*record, mode int) ([]byte, error) {
	b := dnsmessage.NewBuilder(r.buf[:0], h)
	b.EnableCompression()
	err := b.StartQuestions()
	for _, q := range qs {
		if err == nil {
			err = b.Question(q)
		}
	}
	add := func(rec *record) {
		if err != nil {
			return
		}
		ttl := rec.ttl
		class := classIN
		if rec.unique && mode&(sendLegacy|sendProbe) == 0 {
			class |= classTop // cache-flush, §10.2
		}
		if mode&sendLegacy != 0 {
			ttl = min(ttl, legacyTTL)
		}
		if mode&sendGoodbye != 0 {
			ttl = 0
		}
		rh := dnsmessage.ResourceHeader{Name: rec.name, Class: class, TTL: ttl}
		switch body := rec.body.(type) {
		case *dnsmessage.AResource:
			err = b.AResource(rh, *body)
		case *dnsmessage.PTRResource:
			err = b.PTRResource(rh, *body)
		case *dnsmessage.SRVResource:
			err = b.SRVResource(rh, *body)
		case *dnsmessage.TXTResource:
			err = b.TXTResource(rh, *body)
		}
	}
	if err == nil {
		err = b.StartAnswers()
	}
	for _, rec := range answers {
		add(rec)
	}
	if err == nil {
		if mode&sendProbe != 0 {
			err = b.StartAuthorities()
		} else {
			err = b.StartAdditionals()
		}
	}
	for _, rec := range more {
		add(rec)
	}
	var msg []byte
	if err == nil {
		msg, err = b.Finish()
	}
	if err != nil {
		return nil, err
	}
	r.buf = msg[:0]
	return msg, nil
}
