package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/arcadexr/arcade/pair"
	"github.com/arcadexr/arcade/server"
)

// defaultPairPort is --pair-listen's port.
const defaultPairPort = 7781

// parsePair checks the standby pair's flags: one of --pair and
// --standby, and with it a key and an epoch file; the others without one
// of them are an error.
func parsePair(o *options, given map[string]bool, peer, standby, listen, keyFile string) error {
	if peer != "" && standby != "" {
		return errors.New("--pair and --standby: give only one (--pair on the primary, naming the standby; --standby on the standby, naming the primary)")
	}
	flagName := "--pair"
	if standby != "" {
		peer, flagName, o.pairIndex = standby, "--standby", 1
	}
	if peer == "" {
		for _, f := range []string{"pair-listen", "pair-key-file", "epoch-file", "takeover-silence"} {
			if given[f] {
				return fmt.Errorf("--%s: needs --pair or --standby", f)
			}
		}
		return nil
	}
	var err error
	if o.pairPeer, err = netip.ParseAddrPort(peer); err != nil || o.pairPeer.Port() == 0 || o.pairPeer.Addr().IsUnspecified() {
		return fmt.Errorf("%s: %q is not the other box's pair address (host:port)", flagName, peer)
	}
	if listen == "" {
		o.pairListen = netip.AddrPortFrom(o.listen.Addr(), defaultPairPort)
	} else if o.pairListen, err = parseListen(listen); err != nil {
		return fmt.Errorf("--pair-listen: %w", err)
	}
	switch p := o.pairListen.Port(); {
	case p == o.listen.Port():
		return fmt.Errorf("--pair-listen: port %d is the game port", p)
	case !o.noMcast && p == o.multicast.Port():
		return fmt.Errorf("--pair-listen: port %d is the snapshot multicast port", p)
	case int(p) == o.beaconPort:
		return fmt.Errorf("--pair-listen: port %d is the beacon port", p)
	}
	if !given["pair-key-file"] {
		return fmt.Errorf("%s: needs --pair-key-file (the key both boxes share: without it anyone on the LAN could feed the standby a world or make the active step down)", flagName)
	}
	if o.pairKey, err = readSecretFile("--pair-key-file", keyFile); err != nil {
		return err
	}
	if len(o.pairKey) < pair.MinKeyLen {
		return fmt.Errorf("--pair-key-file %s: the key is %d bytes, want at least %d", keyFile, len(o.pairKey), pair.MinKeyLen)
	}
	if o.epochFile == "" {
		return fmt.Errorf("%s: needs --epoch-file (a box that forgets its epoch could write under one it used before)", flagName)
	}
	if o.takeover < pair.MinSilence || o.takeover > 10*time.Second {
		return fmt.Errorf("--takeover-silence: %v is out of range %v..10s", o.takeover, pair.MinSilence)
	}
	if o.replay != "" {
		return fmt.Errorf("%s: a replay (--replay) is not served by a pair", flagName)
	}
	return nil
}

// followPair opens this box's end of the pair link and follows as a
// standby until this box is to take over (PROTOCOL §18.3). It returns the
// link (the caller sends its copies on it and watches it), the epoch to
// write under and the newest copy of the world (nil: none was heard).
//
// It listens to the snapshot group too, on iface, when there is one: the
// active's state heard there holds a takeover off (§18.3); a sealed
// room's is opened with the keys of the newest copy.
func followPair(ctx context.Context, o *options, iface string, log *slog.Logger) (*pair.Link, uint32, *server.Replica, error) {
	l := keptLink
	keptLink = nil
	if l == nil {
		cfg := pair.Config{Listen: o.pairListen, Peer: o.pairPeer, Key: []byte(o.pairKey), Index: o.pairIndex,
			EpochFile: o.epochFile, Silence: o.takeover, Log: log}
		if !o.noMcast {
			cfg.Group, cfg.GroupIface = o.multicast, iface
		}
		var err error
		if l, err = pair.Open(cfg); err != nil {
			return nil, 0, nil, err
		}
	}
	stored, _ := pair.LoadEpoch(o.epochFile)
	log.Info("standby: following", "pair", l.LocalAddr().String(), "peer", o.pairPeer.String(), "index", o.pairIndex,
		"stored_epoch", stored, "takeover_silence", o.takeover)
	t0 := time.Now()
	rep, epoch, err := l.Follow(ctx)
	if err != nil {
		l.Close()
		return nil, 0, nil, err
	}
	tick := uint64(0)
	if rep != nil {
		tick = rep.State.Tick
	}
	g := &l.Stats.Gaps
	log.Info("taking over", "epoch", epoch, "copy", rep != nil, "copy_tick", tick, "sessions", sessionsOf(rep),
		"followed_for", time.Since(t0).Round(time.Millisecond), "copies", l.Stats.Copies.Load(),
		"gaps", g.Count(), "gaps_over_8ms", g.Over(8*time.Millisecond), "gaps_over_16ms", g.Over(16*time.Millisecond),
		"gaps_over_32ms", g.Over(32*time.Millisecond), "gap_p99", g.Quantile(0.99), "gap_p999", g.Quantile(0.999),
		"longest_gap", g.Max().Round(10*time.Microsecond), "group_heard", l.Stats.GroupHeard.Load(), "held_off", l.Stats.HeldOff.Load())
	return l, epoch, rep, nil
}

// takeoverPath is the pair link as the new active's ReplicaSink: it notes
// when the server hands it its first copy (its first tick's, whose state
// goes to the headsets right after) and then logs, off the tick thread,
// the steps from the active's last datagram to that first tick
// ("took over"): the gap the headsets see, but for the network's part.
type takeoverPath struct {
	*pair.Link
	switching time.Time     // TakeOver was called (run sets it)
	made      time.Time     // the server was switched on (TakeOver returned; run sets it before Run)
	first     time.Time     // the first copy handed on
	started   bool          // the tick thread's
	done      chan struct{} // closed at the first copy
}

// newTakeoverPath is the sink of a server made ahead; its Link is set
// once the box takes over, before the server runs.
func newTakeoverPath() *takeoverPath {
	return &takeoverPath{done: make(chan struct{})}
}

// Replicate notes the first copy and sends every copy on the link.
func (p *takeoverPath) Replicate(r *server.Replica) {
	if !p.started {
		p.started = true
		p.first = time.Now()
		close(p.done)
	}
	p.Link.Replicate(r)
}

// logPath waits for the first copy and logs the takeover's steps: the
// silence (the active's last datagram to the silence complete), the store
// (to the epoch stored; 0 when stored ahead), the start (to the server
// switched on: it was made, its socket open, before the box followed;
// TakeOver puts the copy's world and sessions in it; of it, the switch
// is TakeOver's own part), the first tick (to
// its copy handed on), and all of them.
func (p *takeoverPath) logPath(ctx context.Context, epoch uint32, log *slog.Logger) {
	select {
	case <-ctx.Done():
		return
	case <-p.done:
	}
	t := p.Took
	from := t.Heard
	if from.IsZero() {
		from = t.Silent // no active heard: the path starts at the silence
	}
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	log.Info("took over", "epoch", epoch, "heard", !t.Heard.IsZero(), "silence", r(t.Silent.Sub(from)),
		"stored_ahead", t.Ahead, "store", r(t.Stored.Sub(t.Silent)), "start", r(p.made.Sub(t.Stored)), "switch", r(p.made.Sub(p.switching)),
		"first_tick", r(p.first.Sub(p.made)), "path", r(p.first.Sub(from)))
}

func sessionsOf(r *server.Replica) int {
	if r == nil {
		return 0
	}
	return len(r.Sessions)
}

// keptLink is the pair link of a run that stepped down, for the next: the
// socket stays bound, and it holds the world that run last copied.
var keptLink *pair.Link

// errSteppedDown: run ended because another server of the pair took over
// under a higher epoch; main runs again, as a standby.
const exitSteppedDown = 3

// pairStatus is the dashboard's line on the pair: this box's role and
// epoch, the peer, what the link sent and dropped.
func pairStatus(l *pair.Link, o *options) string {
	if l == nil {
		return ""
	}
	st := &l.Stats
	return fmt.Sprintf("active under epoch %d; copies to %s every tick (%d datagrams sent, %d send errors, %d too big); from the link: %d that do not open, %d of version 1, %d stale, %d replayed",
		l.Epoch(), o.pairPeer, st.Sent.Load(), st.SendErrors.Load(), st.TooBig.Load(), st.BadMAC.Load(), st.Version1.Load(), st.Stale.Load(), st.Replayed.Load())
}

// watchIsolation steps a server that just took over back down when no
// headset of its copy speaks to it within pair.Isolated: a box cut off
// from the LAN also hears its active fall silent, and had it stayed
// active, the active's return would end the active's world for this
// box's older copy (§18.3). What it sent reached no one; it follows again.
func watchIsolation(ctx context.Context, srv *server.Server, log *slog.Logger, stop func()) {
	// Datagrams of the copy's sessions that passed their checks, not any
	// datagram at the port: junk from the LAN proves nothing.
	st := srv.Stats()
	heard := st.SessionRx.Load
	t := time.NewTimer(pair.Isolated)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}
	if heard() == 0 {
		log.Warn("stepping back: no headset of the copy spoke since the takeover; this box is the one cut off", "waited", pair.Isolated)
		srv.StepDown()
		stop()
	}
}
