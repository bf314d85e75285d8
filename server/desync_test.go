package server_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/sim"
	"github.com/arcadexr/arcade/wire"
)

// desyncPeer is a headset on the twin: a client.Session, and optionally a
// hook that rewrites what it receives (a forged or damaged datagram).
type desyncPeer struct {
	name    string
	s       *client.Session
	ep      *netsim.Endpoint
	idx     int
	seq     uint32
	corrupt func(b []byte) // may change b in place
}

// desyncRig is a server with the demo scene on the twin and its headsets.
type desyncRig struct {
	t     *testing.T
	r     *rig
	peers []*desyncPeer
}

func newDesyncRig(t *testing.T, ncfg netsim.Config) *desyncRig {
	w, err := sim.New(scene.Default())
	if err != nil {
		t.Fatal(err)
	}
	return &desyncRig{t: t, r: newRig(t, ncfg, server.Config{World: w})}
}

func (d *desyncRig) step(now int64) {
	for _, p := range d.peers {
		p.ep.Recv(func(b []byte, _ netip.AddrPort, rx int64, mc bool) {
			if p.corrupt != nil {
				p.corrupt(b)
			}
			p.s.Handle(now, b, rx, mc)
		})
		p.s.Update(now)
		p.s.Outgoing(func(b []byte) { p.ep.Send(serverAddr, b) })
	}
}

func (d *desyncRig) join(name string, cfg client.SessionConfig) *desyncPeer {
	d.t.Helper()
	p := &desyncPeer{name: name, idx: len(d.peers)}
	p.ep = d.r.net.Endpoint(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 3, byte(len(d.peers) + 1)}), 4000))
	p.ep.Join(server.DefaultMulticast)
	cfg.Name, cfg.Nonce = name, uint64(len(d.peers)+200)
	p.s = client.NewSession(cfg)
	d.peers = append(d.peers, p)
	p.s.Start(d.r.net.Now())
	for i := 0; i < 200 && p.s.State() == client.Connecting; i++ {
		d.r.advance(10*time.Millisecond, d.step)
	}
	if p.s.State() != client.Connected {
		d.t.Fatalf("%s: %v (%v)", name, p.s.State(), p.s.Err())
	}
	return p
}

// run lets dt pass with every headset sending poses at 90 Hz.
func (d *desyncRig) run(dt time.Duration) {
	period := int64(time.Second / 90)
	next := d.r.net.Now()
	d.r.advance(dt, func(now int64) {
		if now >= next {
			next += period
			for _, p := range d.peers {
				in := poseFor(p.seq+1, p.idx)
				p.seq = p.s.SendPose(now, &in)
			}
		}
		d.step(now)
	})
}

func (d *desyncRig) info(id uint16) server.ClientInfo {
	d.t.Helper()
	for _, c := range d.r.srv.ClientList() {
		if c.ID == id {
			return c
		}
	}
	d.t.Fatalf("client %d not in the client list", id)
	return server.ClientInfo{}
}

// TestDesyncHonestSessionsOnALossyTwin: headsets taking StateDelta by
// multicast and by unicast, and Snapshots by unicast, on a network that
// loses, duplicates and reorders, check every hashed tick they hold
// whole and find no mismatch; the server counts their checks, per headset
// and in all.
func TestDesyncHonestSessionsOnALossyTwin(t *testing.T) {
	skipUnderRace(t)
	d := newDesyncRig(t, netsim.Config{Loss: 0.05, Duplicate: 0.02, Delay: time.Millisecond, Jitter: 2 * time.Millisecond, Seed: 11})
	peers := []*desyncPeer{
		d.join("group-delta", client.SessionConfig{}),
		d.join("unicast-delta", client.SessionConfig{Unicast: true}),
		d.join("unicast-snapshots", client.SessionConfig{Unicast: true, SnapshotsOnly: true}),
	}
	const span = 6 * time.Second
	d.run(span)
	hashed := uint64(span.Seconds()) * uint64(d.r.cfg.TickRate) / uint64(d.r.cfg.HashEvery) // hashed ticks sent in the span
	var checks uint64
	for _, p := range peers {
		st := p.s.Stats().Desync
		// Loss costs some ticks; most hashed ticks are held whole.
		if st.Checks < hashed/2 || st.Mismatches != 0 || st.Resyncs != 0 {
			t.Errorf("%s: %d checks (of about %d hashed ticks), %d mismatches, %d resyncs", p.name, st.Checks, hashed, st.Mismatches, st.Resyncs)
		}
		if st.Reports == 0 {
			t.Errorf("%s sent no desync report", p.name)
		}
		ci := d.info(p.s.ClientID())
		if ci.DesyncChecks == 0 || ci.DesyncChecks > st.Checks || ci.DesyncMismatches != 0 || ci.DesyncMismatchesRecent != 0 || ci.DesyncChecksRecent == 0 {
			t.Errorf("%s: the server has %d checks (%d recent), %d mismatches; the headset %d checks", p.name, ci.DesyncChecks, ci.DesyncChecksRecent, ci.DesyncMismatches, st.Checks)
		}
		checks += ci.DesyncChecks
		t.Logf("%s: %d of about %d hashed ticks checked, %d reports; server: %d checks, %d in the last 10 s", p.name, st.Checks, hashed, st.Reports, ci.DesyncChecks, ci.DesyncChecksRecent)
	}
	st := d.r.srv.Stats()
	if st.DesyncChecks.Load() != checks || st.DesyncMismatches.Load() != 0 {
		t.Errorf("server totals: %d checks (headsets' sum %d), %d mismatches", st.DesyncChecks.Load(), checks, st.DesyncMismatches.Load())
	}
	if ns := d.r.net.Stats(); ns.Lost == 0 {
		t.Fatalf("no loss exercised: %+v", ns)
	}
}

// TestDesyncCorruptedHeadsetIsCounted: one headset's hashed snapshots are
// damaged on the way (a position of the last entity record changed, the
// hash left as it was); it finds every such tick mismatched and reports
// them, and the server counts them for it alone. A report that claims
// more checks than the server has hashed is dropped.
func TestDesyncCorruptedHeadsetIsCounted(t *testing.T) {
	d := newDesyncRig(t, netsim.Config{Delay: time.Millisecond, Seed: 3})
	honest := d.join("honest", client.SessionConfig{Unicast: true, SnapshotsOnly: true})
	bad := d.join("damaged", client.SessionConfig{Unicast: true, SnapshotsOnly: true})
	damaged := 0
	bad.corrupt = func(b []byte) {
		var h wire.Header
		if _, err := h.Parse(b); err != nil || h.Type != wire.TypeSnapshot {
			return
		}
		body := b[wire.HeaderSize:]
		var sn wire.Snapshot
		if _, err := sn.Parse(body); err != nil || sn.Flags&wire.SnapshotHasHash == 0 || len(sn.Entities) == 0 {
			return
		}
		end := wire.SnapshotLen(len(sn.Players), len(sn.Entities), true)
		body[end-wire.SnapshotEntitySize+3] ^= 1 // the last entity's position X, low byte
		damaged++
	}
	d.run(3 * time.Second)
	if damaged == 0 {
		t.Fatal("no hashed snapshot with entities reached the damaged headset")
	}
	hs, bs := honest.s.Stats().Desync, bad.s.Stats().Desync
	t.Logf("%d snapshots damaged; honest %+v; damaged %+v", damaged, hs, bs)
	if hs.Mismatches != 0 || hs.Checks == 0 {
		t.Errorf("honest headset: %d checks, %d mismatches", hs.Checks, hs.Mismatches)
	}
	if bs.Mismatches == 0 || bs.Mismatches != bs.Checks {
		t.Errorf("damaged headset: %d checks, %d mismatches (every checked tick was damaged)", bs.Checks, bs.Mismatches)
	}
	ci := d.info(bad.s.ClientID())
	if ci.DesyncMismatches == 0 || ci.DesyncMismatches != ci.DesyncChecks || ci.DesyncMismatchesRecent == 0 || ci.DesyncMismatchTick == 0 {
		t.Errorf("server's view of the damaged headset: %d of %d checks mismatched (%d recent), tick %d", ci.DesyncMismatches, ci.DesyncChecks, ci.DesyncMismatchesRecent, ci.DesyncMismatchTick)
	}
	if hi := d.info(honest.s.ClientID()); hi.DesyncMismatches != 0 || hi.DesyncChecks == 0 {
		t.Errorf("server's view of the honest headset: %d of %d checks mismatched", hi.DesyncMismatches, hi.DesyncChecks)
	}
	st := d.r.srv.Stats()
	if st.DesyncMismatches.Load() != ci.DesyncMismatches {
		t.Errorf("server total %d mismatches, the damaged headset %d", st.DesyncMismatches.Load(), ci.DesyncMismatches)
	}

	// Forged counts: far more checks than hashes were sent, or counts
	// that go back. Dropped as bad_field; nothing counted.
	before, field := st.DesyncChecks.Load(), st.Dropped[server.DropField].Load()
	now := d.r.net.Now()
	for _, m := range []wire.DesyncReport{{Checks: 1 << 30}, {Checks: 1, Mismatches: 0}} {
		if err := honest.s.SendRPC(now, wire.StreamControl, uint16(wire.RPCDesyncReport), m.Append(nil)); err != nil {
			t.Fatal(err)
		}
	}
	// Sent at once; the headsets' own reports wait (no Update runs).
	honest.s.Outgoing(func(b []byte) { honest.ep.Send(serverAddr, b) })
	d.r.advance(50*time.Millisecond, nil)
	if got := st.Dropped[server.DropField].Load() - field; got != 2 || st.DesyncChecks.Load() != before {
		t.Errorf("forged reports: %d dropped as bad_field (want 2), checks %d → %d", got, before, st.DesyncChecks.Load())
	}
}
