package main

import (
	"testing"
	"time"
)

// TestDeltaStream plays the demo arcade (16 headsets, held objects) through
// today's Snapshots and the StateDelta streams, bit-packed and coded,
// without loss and at 5 %: every tick a receiver decodes is exactly the
// sender's state, no receiver shows a record other than the one sent for
// more than 100 ms, each stream costs the group at most half of today's
// bytes, and the coded one less than the bit-packed one.
func TestDeltaStream(t *testing.T) {
	tr, err := recordArcade(1, 60, 4)
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := Run(tr, []string{"today", "delta", "coded"}, []float64{0, 0.05}, RunConfig{Receivers: 16, RTT: 4 * time.Millisecond, Seed: 3, Warmup: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+2 < len(res); i += 3 {
		if c, d := res[i+2], res[i+1]; c.KbpsBody >= d.KbpsBody {
			t.Errorf("loss %v: coded %.0f kbps, bit-packed %.0f", c.Loss, c.KbpsBody, d.KbpsBody)
		}
	}
	for i := 0; i < len(res); i++ {
		if res[i].Encoder == "today" {
			continue
		}
		today, delta := res[i-i%3], res[i]
		t.Logf("loss %.0f%%: today %.0f kbps, %s %.0f kbps (+ repairs %.0f), longest stale %.0f ms, %d ticks decoded, %d wrong",
			100*delta.Loss, today.KbpsWire, delta.Encoder, delta.KbpsWire, delta.RepairKbpsWire, delta.WorstGapMs, delta.Decoded, delta.Mismatches)
		if delta.Decoded == 0 || delta.Mismatches != 0 {
			t.Errorf("loss %v: %d ticks decoded, %d not the sender's state", delta.Loss, delta.Decoded, delta.Mismatches)
		}
		if delta.WorstGapMs > 100 {
			t.Errorf("loss %v: a receiver showed a record other than the one sent for %.0f ms", delta.Loss, delta.WorstGapMs)
		}
		// The group's bytes (what every headset pays in airtime); the
		// repairs go by unicast to the headsets that lost a baseline.
		if delta.KbpsWire > today.KbpsWire/2 {
			t.Errorf("loss %v: delta %.0f kbps, more than half of today's %.0f", delta.Loss, delta.KbpsWire, today.KbpsWire)
		}
		if delta.Loss == 0 && delta.RepairKbpsWire > delta.KbpsWire/10 {
			t.Errorf("no loss, yet repairs cost %.0f kbps", delta.RepairKbpsWire)
		}
	}
}

// TestCodedPlayers plays 600 headsets at 120 Hz through the coded stream
// at 5 % loss, its ticks in several parts: every tick decoded is exact,
// repair parts rebuild lost parts, and no receiver shows a stale avatar
// for more than 100 ms.
func TestCodedPlayers(t *testing.T) {
	tr := newPlayersTrace(5, 600, 120, 1.5)
	// The first half second (a keyframe to receivers holding nothing,
	// and repairs) is left out, as in TestDeltaStream.
	res, _, err := Run(tr, []string{"coded"}, []float64{0.05}, RunConfig{Receivers: 16, RTT: 4 * time.Millisecond, Seed: 3, Warmup: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	t.Logf("%.0f kbps body (parity %.0f), %.1f parts a tick, repairs %.0f kbps, longest stale %.0f ms, %d parts rebuilt, %d ticks decoded",
		r.KbpsBody, r.ParityKbps, r.DatagramsPerTick, r.RepairKbpsWire, r.WorstGapMs, r.Recovered, r.Decoded)
	if r.Decoded == 0 || r.Mismatches != 0 {
		t.Errorf("%d ticks decoded, %d not the sender's state", r.Decoded, r.Mismatches)
	}
	if r.DatagramsPerTick <= 1 || r.Recovered == 0 || r.ParityKbps == 0 {
		t.Errorf("%.1f datagrams a tick, %d parts rebuilt, parity %.0f kbps", r.DatagramsPerTick, r.Recovered, r.ParityKbps)
	}
	if r.WorstGapMs > 100 {
		t.Errorf("a receiver showed a stale record for %.0f ms", r.WorstGapMs)
	}
}
