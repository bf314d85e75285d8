// Package statesync decides what each tick's state is coded against
// (docs/PROTOCOL.md §10.4): the server keeps the recent ticks' states
// (History), each receiver reports which of the recent ticks it holds
// whole (Held), and Group picks, for the datagrams one multicast send gives
// every headset, a baseline every receiver holds, and which receivers need
// a unicast repair to keep it so. It does no I/O and reads no clock.
//
// The multicast problem it solves: a baseline must be held by every
// receiver of the datagram, and with n receivers each losing a share p of
// datagrams, the chance that all hold a given tick is (1−p)ⁿ, which for 64
// headsets at 5 % loss is 4 %. So the baseline does not follow the newest
// tick everyone holds; it moves in steps. Every so often the group picks a
// recent tick as the next baseline, receivers that lack it are sent it by
// unicast (coded against a tick each of them holds), and once all hold it
// the group's datagrams are coded against it. A receiver that misses a
// datagram still decodes the next one (coded against the same baseline):
// one loss costs one tick.
package statesync

import (
	"math"
	"math/bits"

	"github.com/arcadexr/arcade/wire"
)

// Window is how many of the newest complete ticks a receiver keeps and
// reports (the newest and the 63 before it), and how many the server's
// History keeps.
const Window = 64

// Held is what a receiver reported holding: Newest, the newest complete
// tick, and Mask, bit i set when tick Newest−i is held (bit 0 is Newest
// itself).
type Held struct {
	Newest uint32
	Mask   uint64
	// At is when the report arrived (the caller's clock); zero: never.
	At int64
}

// Has reports whether h says tick is held.
func (h *Held) Has(tick uint32) bool {
	if h.At == 0 {
		return false
	}
	d := h.Newest - tick
	return d < Window && h.Mask>>d&1 != 0
}

// aligned returns h's mask with bit j meaning tick top−j.
func (h *Held) aligned(top uint32) uint64 {
	if h.At == 0 {
		return 0
	}
	d := int64(int32(top - h.Newest))
	switch {
	case d >= Window || d <= -Window:
		return 0
	case d >= 0:
		return h.Mask << uint(d)
	default:
		return h.Mask >> uint(-d)
	}
}

// NewestIn returns the newest tick h holds that ok accepts (e.g. one the
// server's History still has), and whether there is one.
func (h *Held) NewestIn(ok func(uint32) bool) (uint32, bool) {
	if h.At == 0 {
		return 0, false
	}
	for m := h.Mask; m != 0; m &= m - 1 {
		t := h.Newest - uint32(bits.TrailingZeros64(m))
		if ok(t) {
			return t, true
		}
	}
	return 0, false
}

// priorOK reports whether p may be the prior of a tick coded against
// base (the second tick coded parts predict from, wire.DeltaPrior): older
// than base by gap ticks or more, and by at least half the distance from
// base to tick (the decoder predicts no further than twice the prior's
// distance). A velocity measured over a few ticks carries less of the
// tracking noise than one over a single tick, and a record that did not
// change between the two (an input rate below the tick rate) gives none.
func priorOK(p, base, tick, gap uint32) bool {
	d := int32(base - p)
	return d >= int32(gap) && int64(tick-base) <= 2*int64(d)
}

// PriorFor returns the prior for a tick coded against base for a receiver
// that reported h: the newest tick h holds that is gap or more ticks
// older than base (Settings.PriorGap), no less than half as far from base
// as base is from tick, and that ok accepts (e.g. one the History still
// has).
func (h *Held) PriorFor(base, tick, gap uint32, ok func(uint32) bool) (uint32, bool) {
	return h.NewestIn(func(p uint32) bool { return priorOK(p, base, tick, max(gap, 1)) && ok(p) })
}

// ParityLoss is the share of multicast datagrams lost, by some receiver
// of the group, above which the group's coded ticks of two parts or more
// get repair parts (wire.DeltaParity): a share of the bytes that a loss
// would otherwise cost as a tick no receiver holds whole (and a baseline
// that cannot move).
const ParityLoss = 0.01

// RepairMiss is the share of a coded tick's sends that may leave the
// group's worst receiver lacking it, after the tick's repair parts: the
// few receivers that lack it are sent more repair parts by unicast
// (Member.RepairParts) while the baseline moves on (Settings.Tolerate).
// Each repair part costs as much as a data part for every receiver, so
// the group gets no more than that: at 5 % loss one for a tick of up to
// nine parts (at seven, a receiver lacks 6 % of them instead of 30 %; of
// 16 receivers, one on average).
const RepairMiss = 0.1

// UnknownLoss is the share of datagrams taken as lost by a receiver
// whose reports show too few (LossOf) to tell: a group starts with
// repair parts, and its first ticks (a keyframe of many parts, then
// ticks coded against it) reach receivers that lose datagrams whole.
const UnknownLoss = 0.05

// LossOf returns the share of the group's datagrams a receiver that got
// recv and lost lost of them lost, or UnknownLoss for fewer than 20: too
// few to tell.
func LossOf(recv, lost int) float64 {
	if recv+lost < 20 {
		return UnknownLoss
	}
	return float64(lost) / float64(recv+lost)
}

// WantParity reports whether a receiver that got recv and lost lost of
// the group's recent datagrams calls for repair parts.
func WantParity(recv, lost int) bool { return LossOf(recv, lost) > ParityLoss }

// Repairs returns how many repair parts a coded tick of parts data parts
// gets for a group whose worst receiver loses a share loss of its
// datagrams (LossOf): none for one part or at most ParityLoss, else the
// fewest, at least one, with which such a receiver lacks the tick (loses
// more of its parts and repair parts than there are repair parts) at most
// RepairMiss of the time; at most 8.
func Repairs(parts int, loss float64) int {
	if parts < 2 || loss <= ParityLoss {
		return 0
	}
	loss = min(loss, 0.5)
	m := 1
	for ; m < 8; m++ {
		// P(more than m of the n = parts + m datagrams lost).
		n := parts + m
		pk := math.Pow(1-loss, float64(n)) // P(0 lost)
		held := pk
		for k := 1; k <= m; k++ {
			pk *= float64(n-k+1) / float64(k) * loss / (1 - loss)
			held += pk
		}
		if 1-held <= RepairMiss {
			break
		}
	}
	return m
}

// UnicastRepairs is how many repair parts a receiver that lacks a tick
// the group sent with repair parts is sent by unicast at a time: it has
// lost one part more than the group's repair parts rebuild, most often,
// and two cover that and one more.
const UnicastRepairs = 2

// History is the server's ring of the last Window ticks' states.
type History struct {
	slot [Window]struct {
		tick  uint32
		valid bool
		st    wire.State
	}
}

// Put keeps a copy of st (under st.Tick), forgetting the tick Window
// before it.
func (h *History) Put(st *wire.State) {
	s := &h.slot[st.Tick%Window]
	s.tick, s.valid = st.Tick, true
	s.st.CopyFrom(st)
}

// Get returns the state of tick, or nil when it is not kept.
func (h *History) Get(tick uint32) *wire.State {
	s := &h.slot[tick%Window]
	if !s.valid || s.tick != tick {
		return nil
	}
	return &s.st
}

// Has reports whether tick is kept.
func (h *History) Has(tick uint32) bool { return h.Get(tick) != nil }

// Member is one receiver of the group's datagrams, as Group sees it.
type Member struct {
	Held Held
	// RepairTick and RepairAt are the last repair Group asked for; tries
	// counts the repairs since the report they answered (Held.At then).
	RepairTick uint32
	RepairAt   int64
	// Lag is how long after a tick is sent a report of this receiver can
	// show it: its round trip (a lower bound, such as the least of the
	// recent samples, keeps Group on the safe side). A tick sent within
	// Lag before its report arrived is one the report cannot speak for:
	// Group takes it as held, as most are, rather than wait for a report
	// that may have been lost. 0: every tick sent before the report
	// arrived counts as reported (held only if its bit is set).
	Lag     int64
	tries   int
	triesAt int64
	// The tick last repaired by repair parts, and how many times.
	partsTick  uint32
	partsTries int
}

// RepairParts returns which repair parts, n of them from index from, to
// send this receiver by unicast for a repair of tick, a tick of parts
// data parts that its group's datagrams sent with sent repair parts,
// coded against a baseline and prior the receiver holds: it had the
// group's datagrams with its usual losses, and lacks a few of the parts,
// which as many repair parts rebuild, whichever they are. n is 0 when the
// tick's data parts are to be sent instead: the third repair of a tick,
// or past the repair indices the tick has or the receiver keeps.
func (m *Member) RepairParts(tick uint32, parts, sent int) (from, n int) {
	if m.partsTick != tick || m.partsTries == 0 {
		m.partsTick, m.partsTries = tick, 0
	}
	from = sent + m.partsTries*UnicastRepairs
	if m.partsTries >= 2 || !wire.RepairOK(from+UnicastRepairs-1, parts) || from+UnicastRepairs > wire.MaxRepairs {
		m.partsTries = 0
		return 0, 0
	}
	m.partsTries++
	return from, UnicastRepairs
}

// Settings of a Group, in ticks and in the caller's time unit.
type Settings struct {
	// AdvanceAge is how old the baseline may grow before the group picks
	// a newer one.
	AdvanceAge uint32
	// MaxAge is the oldest a baseline may be: past it the group moves on
	// even if some receiver has not confirmed the new one. Below Window.
	MaxAge uint32
	// CandidateLag is how many ticks back from the newest the next
	// baseline is picked: enough for most receivers' reports to show it.
	CandidateLag uint32
	// Stale is how long without a report a receiver is left out of the
	// decision (it can no longer hold the group back).
	Stale int64
	// Retry is the least time between two repairs to one receiver.
	Retry int64
	// PriorGap is the least distance in ticks from the prior tick to the
	// baseline (see PriorFor).
	PriorGap uint32
	// Tolerate is how many of the members that decide may be known to
	// lack the tick that becomes the baseline, if they are fewer than a
	// quarter of them and the tick went out with repair parts
	// (SentRepairs): each is sent it by unicast, ahead of the tick coded
	// against it, as repair parts (Member.RepairParts) when it has the
	// group's parts of it. 0: every one must hold it. With 16 receivers
	// losing 5 % of 2 000 players at 120 Hz, the one in 16 that lacks a
	// tick despite its repair part no longer holds the baseline back: it
	// stays one tick old instead of two, 7.8 Mbps instead of 10.1.
	Tolerate int
}

// DefaultSettings for a tick rate of rate Hz and a clock in ns.
func DefaultSettings(rate int) Settings {
	ms := int64(1_000_000)
	ticks := func(d int64) uint32 { return uint32(max(1, d*int64(rate)/1000/ms)) }
	return Settings{
		AdvanceAge:   ticks(60 * ms), // about 60 ms
		MaxAge:       min(ticks(300*ms), Window-8),
		CandidateLag: ticks(12 * ms),
		Stale:        250 * ms,
		Retry:        20 * ms,
		PriorGap:     ticks(34 * ms), // measured best for tracked heads and hands: 4 ticks at 120 Hz
		Tolerate:     3,
	}
}

// Group is the baseline state of one multicast group.
type Group struct {
	Settings
	base, cand       uint32
	hasBase, hasCand bool
	candAt           int64
	keyframe         bool // the next Plan returns no baseline
	prior            uint32
	hasPrior         bool
	// sent is when each of the last Window ticks was planned (sent).
	sent [Window]struct {
		tick    uint32
		at      int64
		repairs bool // sent with repair parts (SentRepairs)
	}
}

// SentRepairs records that tick, the one Plan ran for last, went out
// with repair parts. Only such a tick becomes the baseline while members
// known to lack it are tolerated (Settings.Tolerate): a receiver that
// lacks one has most of its parts, and two repair parts by unicast
// rebuild it, where a tick of one part (without repair parts) is cheap to
// code against an older baseline, which every receiver that lost it
// still decodes against.
func (g *Group) SentRepairs(tick uint32) {
	if s := &g.sent[tick%Window]; s.tick == tick {
		s.repairs = true
	}
}

// Prior returns the prior tick the last Plan found for its baseline: the
// newest tick priorOK allows that every fresh member holding the baseline
// holds too, if there is one.
func (g *Group) Prior() (uint32, bool) { return g.prior, g.hasPrior }

// Reset forgets the baseline: the next Plan asks for a keyframe, and the
// one after takes it as the baseline. For a group that starts to take
// the coded stream (its receivers hold none of the ticks before).
func (g *Group) Reset() {
	g.hasBase, g.hasCand, g.keyframe = false, false, true
}

// unreported returns the ticks top−j (bit j) that m's report cannot show
// yet: sent later than m.Lag before it arrived.
func (g *Group) unreported(m *Member, top uint32) uint64 {
	if m.Lag <= 0 || m.Held.At == 0 {
		return 0
	}
	var mask uint64
	for j := range uint32(Window) {
		s := &g.sent[(top-j)%Window]
		if s.tick != top-j || s.at+m.Lag <= m.Held.At {
			break // this one and older ones were reported on
		}
		mask |= 1 << j
	}
	return mask
}

// holds reports whether m holds tick (at most top), or its report
// cannot show it yet.
func (g *Group) holds(m *Member, tick, top uint32) bool {
	d := top - tick
	return m.Held.Has(tick) || d < Window && g.unreported(m, top)>>d&1 != 0
}

// Base returns the group's baseline, if it has one.
func (g *Group) Base() (uint32, bool) { return g.base, g.hasBase }

// Plan runs before tick is coded for the group (the History holds the
// ticks before it). It updates the baseline from the members' reports and
// returns it (ok false: none, code a keyframe), and calls repair for each
// member that should be sent tick target by unicast now.
func (g *Group) Plan(now int64, tick uint32, hist *History, members []*Member, repair func(m *Member, target uint32)) (base uint32, ok bool) {
	top := tick - 1
	g.sent[tick%Window].tick, g.sent[tick%Window].at, g.sent[tick%Window].repairs = tick, now, false
	if g.hasBase && (tick-g.base > g.MaxAge || !hist.Has(g.base)) {
		// Too old: move on to the candidate, or to the newest tick.
		g.base = top
		if g.hasCand && hist.Has(g.cand) {
			g.base = g.cand
		}
		g.hasCand = false
	}
	if g.keyframe {
		g.keyframe = false
		return 0, false
	}
	if !g.hasBase {
		if !hist.Has(top) {
			return 0, false // nothing sent yet
		}
		g.base, g.hasBase, g.hasCand = top, true, false
	}
	// The fresh members that hold the baseline decide; the newest tick
	// all of them hold, or that was sent too late for their reports to
	// show, becomes the baseline. A report lost is not taken for a tick
	// lost: the next one speaks for the tick, and a member that lacks it
	// after all is sent it as any member that lacks the baseline. Up to
	// Tolerate of them (fewer than a quarter) may be known to lack a tick
	// sent with repair parts: they are sent it by unicast at once, ahead
	// of the tick coded against it.
	old := g.base
	var lack [Window]uint16 // by bit j: deciding members that lack top−j
	n := 0
	for _, m := range members {
		if now-m.Held.At <= g.Stale && g.holds(m, old, top) {
			for miss := ^(m.Held.aligned(top) | g.unreported(m, top)); miss != 0; miss &= miss - 1 {
				lack[bits.TrailingZeros64(miss)]++
			}
			n++
		}
	}
	if n > 0 {
		k := min(g.Tolerate, (n-1)/4)
		for j := range uint32(Window) {
			t := top - j
			if int32(t-old) <= 0 {
				break
			}
			if s := &g.sent[t%Window]; (int(lack[j]) <= k && s.tick == t && s.repairs || lack[j] == 0) && hist.Has(t) {
				g.base = t
				break
			}
		}
	}
	// The prior: held by every fresh member that holds the baseline or
	// decided it (and is sent it now), by its report alone (a prior is
	// never guessed).
	g.hasPrior = false
	if n > 0 {
		all := ^uint64(0)
		for _, m := range members {
			if now-m.Held.At <= g.Stale && (g.holds(m, g.base, top) || g.holds(m, old, top)) {
				all &= m.Held.aligned(top)
			}
		}
		for ; all != 0; all &= all - 1 {
			if t := top - uint32(bits.TrailingZeros64(all)); priorOK(t, g.base, tick, max(g.PriorGap, 1)) && hist.Has(t) {
				g.prior, g.hasPrior = t, true
				break
			}
		}
	}
	if g.hasCand && int32(g.cand-g.base) <= 0 {
		g.hasCand = false // reached
	}
	if !g.hasCand && tick-g.base >= g.AdvanceAge && tick > g.CandidateLag && hist.Has(tick-g.CandidateLag) {
		g.cand, g.hasCand, g.candAt = tick-g.CandidateLag, true, now
	}
	for _, m := range members {
		target := g.base
		switch {
		case m.Held.At == 0:
			// Never reported: a new receiver; send it the baseline, or
			// again the tick it was sent, while the history has it: it
			// holds nothing to code against, and the parts of one
			// encoding that arrive add up over the tries (a new tick
			// each time would have to arrive whole at once).
			if m.RepairAt != 0 && hist.Has(m.RepairTick) && tick-m.RepairTick <= g.MaxAge {
				target = m.RepairTick
			}
		case now-m.Held.At > g.Stale:
			continue // silent: no repairs until it reports again
		case !m.Held.Has(g.base) && !g.holds(m, g.base, top):
			// Reported without the baseline (not merely not yet
			// reported).
		case !m.Held.Has(g.base):
			continue // its next report tells
		case g.hasCand && !m.Held.Has(g.cand) && (int32(m.Held.Newest-g.cand) > 0 || now-g.candAt >= g.Retry):
			// Lost, not merely unreported yet: the report shows a newer
			// tick, or the candidate is older than a retry.
			target = g.cand
		default:
			continue
		}
		if m.triesAt != m.Held.At {
			m.tries, m.triesAt = 0, m.Held.At // a new report
		}
		// Without a newer report each retry waits twice as long (up to
		// 64 × Retry): a receiver that never reports is not sent the
		// world fifty times a second.
		if m.RepairTick != target && m.Held.At != 0 || now-m.RepairAt >= g.Retry<<min(m.tries, 6) {
			m.RepairTick, m.RepairAt = target, now
			m.tries++
			repair(m, target)
		}
	}
	return g.base, true
}
