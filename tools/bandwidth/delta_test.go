package main

import (
	"testing"
	"time"
)

// TestDeltaStream plays the demo arcade (16 headsets, held objects) through
// today's Snapshots and the StateDelta stream, without loss and at 5 %:
// every tick a receiver decodes is exactly the sender's state, no receiver
// shows a record other than the one sent for more than 100 ms, and the
// delta stream costs the group at most half of today's bytes.
func TestDeltaStream(t *testing.T) {
	tr, err := recordArcade(1, 60, 4)
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := Run(tr, []string{"today", "delta"}, []float64{0, 0.05}, RunConfig{Receivers: 16, RTT: 4 * time.Millisecond, Seed: 3, Warmup: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(res); i += 2 {
		today, delta := res[i], res[i+1]
		t.Logf("loss %.0f%%: today %.0f kbps, delta %.0f kbps (+ repairs %.0f), longest stale %.0f ms, %d ticks decoded, %d wrong",
			100*delta.Loss, today.KbpsWire, delta.KbpsWire, delta.RepairKbpsWire, delta.WorstGapMs, delta.Decoded, delta.Mismatches)
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
