package server_test

import (
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/wire"
)

func deliveryOf(t *testing.T, srv *server.Server, id uint16) server.ClientInfo {
	t.Helper()
	for _, c := range srv.Report().ClientList {
		if c.ID == id {
			return c
		}
	}
	return server.ClientInfo{} // not published yet

}

// TestUnicastFallbackAndRecovery: a headset whose multicast arrives 50 ms
// late (an access point holding multicast for dozing stations) is switched
// to unicast within a second, keeps receiving snapshots, and returns to
// multicast once the group is on time again.
func TestUnicastFallbackAndRecovery(t *testing.T) {
	e := &twinEnv{t: t, r: newRig(t, netsim.Config{Delay: time.Millisecond, McastDelay: 50 * time.Millisecond, Seed: 3}, server.Config{})}
	p := e.join(t, "dozer", false).(*twinPeer)
	u := e.join(t, "wired", true).(*twinPeer)
	joined := e.r.net.Now()
	var switchedAt int64
	for e.r.net.Now()-joined < int64(2*time.Second) {
		e.run(50*time.Millisecond, []peer{p, u})
		if switchedAt == 0 && deliveryOf(t, e.r.srv, p.id()).Delivery == "unicast" {
			switchedAt = e.r.net.Now()
		}
	}
	if switchedAt == 0 {
		t.Fatalf("never switched: %+v", deliveryOf(t, e.r.srv, p.id()))
	}
	if d := time.Duration(switchedAt - joined); d > time.Second {
		t.Errorf("switched to unicast after %v, want within 1 s", d)
	}
	info := deliveryOf(t, e.r.srv, p.id())
	t.Logf("switched after %v: %s (loss %.1f%%, p90 excess %.1f ms)", time.Duration(switchedAt-joined), info.DeliveryReason, info.McastLossPct, info.McastExcessP90Ms)
	if info.McastExcessP90Ms < 40 {
		t.Errorf("reported excess %.1f ms, want about 50", info.McastExcessP90Ms)
	}
	if ui := deliveryOf(t, e.r.srv, u.id()); ui.Delivery != "unicast" || ui.DeliveryReason == info.DeliveryReason {
		t.Errorf("the unicast client: %+v", ui)
	}
	// On unicast the headset sees the other player at the newest input.
	if seq, _, ok := p.seen(u.id()); !ok || u.lastSent()-seq > 1 {
		t.Errorf("on unicast, sees the other at input %d of %d", seq, u.lastSent())
	}

	// Multicast heals: back to multicast after the recovery period.
	e.r.net.SetConfig(netsim.Config{Delay: time.Millisecond})
	healed := e.r.net.Now()
	var backAt int64
	for e.r.net.Now()-healed < int64(8*time.Second) && backAt == 0 {
		e.run(100*time.Millisecond, []peer{p, u})
		if deliveryOf(t, e.r.srv, p.id()).Delivery == "multicast" {
			backAt = e.r.net.Now()
		}
	}
	if backAt == 0 {
		t.Fatalf("never returned to multicast: %+v", deliveryOf(t, e.r.srv, p.id()))
	}
	if d := time.Duration(backAt - healed); d < 5*time.Second || d > 7*time.Second {
		t.Errorf("back on multicast after %v, want after the 5 s recovery period", d)
	}
	if got := e.r.srv.Stats().DeliverySwitches.Load(); got != 2 {
		t.Errorf("%d delivery switches, want 2", got)
	}
}

// TestNoFallbackWhenDisabled keeps a late-multicast headset on multicast.
func TestNoFallbackWhenDisabled(t *testing.T) {
	e := &twinEnv{t: t, r: newRig(t, netsim.Config{McastDelay: 50 * time.Millisecond, Seed: 3}, server.Config{NoUnicastFallback: true})}
	p := e.join(t, "dozer", false).(*twinPeer)
	e.run(2*time.Second, []peer{p})
	if d := deliveryOf(t, e.r.srv, p.id()); d.Delivery != "multicast" {
		t.Fatalf("switched although fallback is off: %+v", d)
	}
}

// TestLossyMulticastFallsBack: 10 % multicast loss switches to unicast.
func TestLossyMulticastFallsBack(t *testing.T) {
	e := &twinEnv{t: t, r: newRig(t, netsim.Config{McastLoss: 0.10, Seed: 9}, server.Config{})}
	p := e.join(t, "lossy", false).(*twinPeer)
	e.run(1500*time.Millisecond, []peer{p})
	d := deliveryOf(t, e.r.srv, p.id())
	if d.Delivery != "unicast" || d.McastLossPct < 2 {
		t.Fatalf("lossy multicast client: %+v", d)
	}
	// The move is an event for the operator's log, with its reason.
	for {
		select {
		case ev := <-e.r.srv.Events():
			if ev.Delivery == "" {
				continue // the join
			}
			if ev.Delivery != "unicast" || ev.ID != p.id() || ev.Name != "lossy" || !strings.Contains(ev.DeliveryReason, "multicast loss") {
				t.Fatalf("delivery event %+v", ev)
			}
			return
		default:
			t.Fatal("no delivery event for the move to unicast")
		}
	}
}

// TestOrdinaryWiFiDoesNotSwitch: loss and jitter that both paths share (0.5 %
// loss, 0-8 ms jitter each way) are no reason to leave multicast.
func TestOrdinaryWiFiDoesNotSwitch(t *testing.T) {
	skipUnderRace(t)
	for seed := uint64(11); seed < 21; seed++ {
		e := &twinEnv{t: t, r: newRig(t, netsim.Config{Loss: 0.005, Delay: time.Millisecond, Jitter: 8 * time.Millisecond, Seed: seed}, server.Config{})}
		p := e.join(t, "wifi", false).(*twinPeer)
		e.run(10*time.Second, []peer{p})
		if d := deliveryOf(t, e.r.srv, p.id()); d.Delivery != "multicast" || e.r.srv.Stats().DeliverySwitches.Load() != 0 {
			t.Fatalf("seed %d: switched on shared loss and jitter: %+v", seed, d)
		}
	}
}

// TestSharedBurstyLossDoesNotSwitch: 2 % loss on every path (so multicast
// loses no more than unicast) keeps the headset on multicast, while 10 %
// on multicast alone switches it.
func TestSharedBurstyLossDoesNotSwitch(t *testing.T) {
	skipUnderRace(t)
	for _, tc := range []struct {
		name string
		cfg  netsim.Config
		want string
	}{
		{"shared", netsim.Config{Loss: 0.02, Seed: 21}, "multicast"},
		// Loss on every path, the headset's own datagrams to the
		// server included: its radio link, not multicast.
		{"shared 6 %", netsim.Config{Loss: 0.06, Seed: 21}, "multicast"},
		{"multicast only", netsim.Config{McastLoss: 0.10, Seed: 21}, "unicast"},
	} {
		for seed := uint64(21); seed < 26; seed++ {
			tc.cfg.Seed = seed
			e := &twinEnv{t: t, r: newRig(t, tc.cfg, server.Config{})}
			p := e.join(t, "busy", false).(*twinPeer)
			e.run(8*time.Second, []peer{p})
			if d := deliveryOf(t, e.r.srv, p.id()); d.Delivery != tc.want {
				t.Errorf("%s loss, seed %d: delivery %s (%s), want %s", tc.name, seed, d.Delivery, d.DeliveryReason, tc.want)
			}
		}
	}
}

// TestFallbackLimited: when multicast goes bad for every headset at once,
// the fallback moves at most MaxFallback of them to unicast, at most
// FallbackRate a second, counts the rest and says why they stay.
func TestFallbackLimited(t *testing.T) {
	skipUnderRace(t)
	e := &twinEnv{t: t, r: newRig(t, netsim.Config{Delay: time.Millisecond, Seed: 5},
		server.Config{MaxFallback: 3, FallbackRate: 2})}
	var peers []peer
	for range 8 {
		peers = append(peers, e.join(t, "crowd", false))
	}
	e.run(300*time.Millisecond, peers)
	e.r.net.SetConfig(netsim.Config{Delay: time.Millisecond, McastDelay: 50 * time.Millisecond})
	onUnicast := func() (n int, full int) {
		for _, p := range e.peers {
			d := deliveryOf(t, e.r.srv, p.id())
			if d.Delivery == "unicast" {
				n++
			} else if strings.Contains(d.DeliveryReason, "limit") {
				full++
			}
		}
		return n, full
	}
	e.run(1500*time.Millisecond, peers)
	n1, _ := onUnicast()
	e.run(2*time.Second, peers)
	n2, full := onUnicast()
	t.Logf("on unicast: %d after 1.5 s, %d after 3.5 s; %d held at the limit; %d deferred", n1, n2, full, e.r.srv.Stats().FallbackDeferred.Load())
	if n2 != 3 || full != 5 {
		t.Errorf("%d on unicast and %d held at the limit, want 3 and 5", n2, full)
	}
	if e.r.srv.Stats().FallbackDeferred.Load() == 0 {
		t.Error("no move deferred")
	}
	// Everyone still sees everyone: the ones held on multicast get it late, not never.
	if !settle(e, peers, 0) {
		t.Error("headsets did not converge")
	}
}

// TestFallbackBudget: the clients the fallback moves may cost together at
// most FallbackBudget datagrams a second, a tick's parts each every tick:
// with 8 headsets (one part a tick) and room for 2·120, two are moved,
// whatever MaxFallback and FallbackRate would allow.
func TestFallbackBudget(t *testing.T) {
	skipUnderRace(t)
	e := &twinEnv{t: t, r: newRig(t, netsim.Config{Delay: time.Millisecond, Seed: 5},
		server.Config{MaxFallback: 8, FallbackRate: 100, FallbackBudget: 2 * server.DefaultTickRate})}
	var peers []peer
	for range 8 {
		peers = append(peers, e.join(t, "crowd", false))
	}
	e.run(300*time.Millisecond, peers)
	e.r.net.SetConfig(netsim.Config{Delay: time.Millisecond, McastDelay: 50 * time.Millisecond})
	e.run(3*time.Second, peers)
	n := 0
	for _, p := range e.peers {
		if deliveryOf(t, e.r.srv, p.id()).Delivery == "unicast" {
			n++
		}
	}
	t.Logf("on unicast: %d; %d deferred", n, e.r.srv.Stats().FallbackDeferred.Load())
	if n != 2 || e.r.srv.Stats().FallbackDeferred.Load() == 0 {
		t.Errorf("%d on unicast, %d moves deferred; want 2 and some", n, e.r.srv.Stats().FallbackDeferred.Load())
	}
}

// TestProbesSpread: DeliveryProbes go to a few headsets each tick, not to
// all at once, and within ProbeBudget a second.
func TestProbesSpread(t *testing.T) {
	skipUnderRace(t)
	tap := &probeTap{}
	e := &twinEnv{t: t, r: newRig(t, netsim.Config{Delay: 200 * time.Microsecond, Seed: 6},
		server.Config{Tap: tap, ProbeBudget: 960})}
	var peers []peer
	for range 32 {
		peers = append(peers, e.join(t, "probed", false))
	}
	tap.reset()
	e.run(time.Second, peers)
	perTick, total := tap.stats()
	// 32 headsets × 120 ticks/s ÷ 960 a second: every 4th tick each, so
	// 8 a tick, 960 a second.
	t.Logf("probes: at most %d in one tick, %d in a second", perTick, total)
	if perTick > 10 || total > 960+40 || total < 800 {
		t.Errorf("probes: %d in one tick, %d a second; want about 8 and 960", perTick, total)
	}
}

// probeTap counts the DeliveryProbes the server sends, by send batch.
type probeTap struct {
	mu       sync.Mutex
	byAt     map[int64]int
	total    int
	counting bool
}

func (p *probeTap) Received(*udp.Message) {}
func (p *probeTap) Sent(m *udp.Message, at int64) {
	if m.N < wire.HeaderSize || wire.PacketType(m.Buf[4]) != wire.TypeDeliveryProbe {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.counting {
		return
	}
	p.byAt[at]++
	p.total++
}
func (p *probeTap) reset() {
	p.mu.Lock()
	p.byAt, p.total, p.counting = map[int64]int{}, 0, true
	p.mu.Unlock()
}
func (p *probeTap) stats() (perTick, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range p.byAt {
		perTick = max(perTick, n)
	}
	return perTick, p.total
}

// TestStarvedHeadsetNotMoved: two headsets lose a fifth of the multicast
// datagrams; one reads its socket only every 10 ms (its own CPU starved)
// and says so in its reports. The one that keeps up is moved to unicast;
// the starved one stays on multicast, and the server says why.
func TestStarvedHeadsetNotMoved(t *testing.T) {
	e := &twinEnv{t: t, r: newRig(t, netsim.Config{Delay: time.Millisecond, McastLoss: 0.2, Seed: 8}, server.Config{})}
	fine := e.join(t, "fine", false).(*twinPeer)
	slow := e.join(t, "slow", false).(*twinPeer)
	period := int64(time.Second / 90)
	next := e.r.net.Now()
	e.r.advance(3*time.Second, func(now int64) {
		if now >= next {
			next += period
			fine.sendPose(now)
			slow.sendPose(now)
		}
		for _, p := range []*twinPeer{fine, slow} {
			if p == slow && now%int64(10*time.Millisecond) >= int64(50*time.Microsecond) {
				p.s.Update(now)
				p.flush()
				continue // reads every 10 ms only
			}
			p.ep.Recv(func(b []byte, _ netip.AddrPort, rx int64, mc bool) { p.s.Handle(now, b, rx, mc) })
			p.s.Update(now)
			p.flush()
		}
	})
	f, s := deliveryOf(t, e.r.srv, fine.id()), deliveryOf(t, e.r.srv, slow.id())
	t.Logf("fine: %s (%s); slow: %s (%s); %d starved reports", f.Delivery, f.DeliveryReason, s.Delivery, s.DeliveryReason, e.r.srv.Stats().ReportsStarved.Load())
	if f.Delivery != "unicast" {
		t.Errorf("the headset that keeps up: %s (%s), want unicast", f.Delivery, f.DeliveryReason)
	}
	if s.Delivery != "multicast" || !strings.Contains(s.DeliveryReason, "reads late") {
		t.Errorf("the starved headset: %s (%s), want multicast, its own lateness named", s.Delivery, s.DeliveryReason)
	}
	if e.r.srv.Stats().ReportsStarved.Load() == 0 {
		t.Error("no report said starved")
	}
}
