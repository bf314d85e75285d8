package server_test

import (
	"testing"
	"time"

	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/wire"
)

// TestSignedUpdatesPaced: with a passphrase, eager EntityUpdates to the
// multicast group (each signed, each checked by every headset) go out, away
// from the ticks, at most SignedBurst back to back and then one every
// SignedUpdateGap; the inputs they carry still reach the headsets within
// the gap. Open mode, with the same poses, sends one update per pose. A
// room whose poses come less often than one a gap is not held back.
func TestSignedUpdatesPaced(t *testing.T) {
	skipUnderRace(t)
	const gap = 2 * time.Millisecond
	open := pacedRun(t, "", gap, 16, time.Second/90, gap+2*time.Millisecond)
	sealed := pacedRun(t, testPassphrase, gap, 16, time.Second/90, gap+2*time.Millisecond)
	t.Logf("16 headsets, group EntityUpdates a second: open %.0f, sealed %.0f (gap %v)", open, sealed, gap)
	// 16 headsets at 90 Hz, each at its own phase: ~1 440 poses a second.
	if open < 1000 {
		t.Errorf("open: %.0f group updates a second for ~1 440 poses: not eager", open)
	}
	// At most one paced update a gap, plus those sent with a tick.
	if limit := float64(time.Second/gap) + 2*server.DefaultTickRate + server.SignedBurst; sealed > limit {
		t.Errorf("sealed: %.0f group updates a second, over %.0f", sealed, limit)
	}
	// Four headsets at 90 Hz whose poses come 300 µs apart: 360 a second,
	// in bursts of four, and none waits: each is reflected within the
	// network's round trip.
	sparse := pacedRun(t, testPassphrase, gap, 4, 1200*time.Microsecond, time.Millisecond)
	t.Logf("4 headsets, sealed: %.0f group updates a second", sparse)
}

// pacedRun runs n multicast headsets sending poses at 90 Hz for a second,
// their phases spread evenly over spread, checks the pacing of the group updates and
// that every input is reflected within within, and returns how many group
// EntityUpdates one headset received a second.
func pacedRun(t *testing.T, pass string, gap time.Duration, n int, spread, within time.Duration) float64 {
	t.Helper()
	return pacedRunCfg(t, server.Config{Passphrase: pass, SignedUpdateGap: gap, EagerUpdateGap: -1}, gap, n, spread, within)
}

// pacedRunCfg is pacedRun with the server's config, paced at gap.
func pacedRunCfg(t *testing.T, cfg server.Config, gap time.Duration, n int, spread, within time.Duration) float64 {
	t.Helper()
	pass := cfg.Passphrase
	e := &twinEnv{t: t, r: newRig(t, netsim.Config{Delay: 200 * time.Microsecond, Seed: 3}, cfg), passphrase: pass}
	refl := make([]reflection, n)
	for i := range n {
		refl[i].watch(e.join(t, "paced", false).(*twinPeer))
	}
	var updates, snaps []int64
	watcher := e.peers[0]
	prev := watcher.s
	prev.OnEntityUpdate(func(u *wire.EntityUpdate, rx int64, mc bool) {
		if mc {
			updates = append(updates, rx)
		}
		for _, c := range u.Causes {
			if c.Client == watcher.id() {
				refl[0].show(rx, c.Input)
			}
		}
		for _, pl := range u.Players {
			if pl.ClientID == watcher.id() {
				refl[0].show(rx, pl.LastInputSeq)
			}
		}
	})
	prev.OnSnapshot(func(s *wire.Snapshot, rx int64, mc bool) {
		if mc {
			snaps = append(snaps, rx)
		}
		for _, pl := range s.Players {
			if pl.ClientID == watcher.id() {
				refl[0].show(rx, pl.LastInputSeq)
			}
		}
	})

	period := int64(time.Second / 90)
	begin := e.r.net.Now()
	next := make([]int64, n)
	for i := range next {
		next[i] = begin + int64(spread)*int64(i)/int64(n)
	}
	const run = time.Second
	e.r.advance(run, func(now int64) {
		for i, p := range e.peers {
			if now >= next[i] {
				next[i] += period
				p.sendPose(now)
				refl[i].sent = append(refl[i].sent, sentInput{p.lastSent(), now})
			}
		}
		e.step(now)
	})

	if pass != "" || cfg.EagerUpdateGap > 0 {
		// Two updates closer than the gap (less one 50 µs step of the
		// rig) are the halves of one split update or sit beside a tick.
		near := func(at int64) bool {
			for _, s := range snaps {
				if d := at - s; d > -int64(100*time.Microsecond) && d < int64(100*time.Microsecond) {
					return true
				}
			}
			return false
		}
		// Away from the ticks, no window of k gaps holds more than
		// k + SignedBurst updates (one more for the rig's 50 µs steps).
		var paced []int64
		for _, at := range updates {
			if !near(at) && (len(paced) == 0 || paced[len(paced)-1] != at) {
				paced = append(paced, at)
			}
		}
		const k = 10
		over := 0
		for i := range paced {
			j := i
			for j < len(paced) && paced[j] < paced[i]+int64(k*gap) {
				j++
			}
			if j-i > k+server.SignedBurst+1 {
				over++
			}
		}
		if over > 0 {
			t.Errorf("passphrase %q: %d windows of %v with more than %d group updates away from any tick", pass, over, k*gap, k+server.SignedBurst+1)
		}
	}
	// Pacing delays an update, never drops what it carries.
	for i := range n {
		got, of := refl[i].reflected(begin+int64(100*time.Millisecond), begin+int64(run-50*time.Millisecond), within)
		if of < 70 || got != of {
			t.Errorf("passphrase %q, headset %d: %d of %d inputs reflected within %v", pass, i, got, of, within)
		}
	}
	return float64(len(updates)) / run.Seconds()
}

// TestOpenUpdatesPaced: on an open group too, eager updates are paced
// (EagerUpdateGap): 32 headsets whose poses come within a millisecond of
// each other share updates, one a gap after a burst, and every input still
// reaches the headsets within the gap; unpaced, each pose is an update.
func TestOpenUpdatesPaced(t *testing.T) {
	skipUnderRace(t)
	const gap = time.Millisecond
	unpaced := pacedRunCfg(t, server.Config{EagerUpdateGap: -1}, gap, 32, time.Millisecond, 2*time.Millisecond)
	paced := pacedRunCfg(t, server.Config{EagerUpdateGap: gap}, gap, 32, time.Millisecond, gap+2*time.Millisecond)
	t.Logf("32 headsets, group EntityUpdates a second: unpaced %.0f, paced %.0f (gap %v)", unpaced, paced, gap)
	if unpaced < 1000 || paced > unpaced/2 {
		t.Errorf("%.0f group updates a second unpaced, %.0f paced, for ~2 880 poses", unpaced, paced)
	}
	if limit := float64(time.Second/gap) + 2*server.DefaultTickRate + server.SignedBurst; paced > limit {
		t.Errorf("paced: %.0f group updates a second, over %.0f", paced, limit)
	}
}
