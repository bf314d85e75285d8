package server_test

import (
	"testing"
	"time"

	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/wire"
)

// TestNoInputMark: a player's record carries TrackNoInput until an input
// of its session is applied (PROTOCOL §6.7), so a client never compares
// the record's input seq 0 with its own numbers; the first input clears it.
func TestNoInputMark(t *testing.T) {
	r := newRig(t, netsim.Config{}, server.Config{})
	c := r.client("10.0.0.2:5000")
	r.connect(c, wire.ConnectWantUnicast)
	record := func() (wire.PlayerState, bool) {
		var last wire.PlayerState
		found := false
		r.advance(30*time.Millisecond, func(int64) {
			for _, m := range c.recv() {
				if m.h.Type != wire.TypeSnapshot {
					continue
				}
				var s wire.Snapshot
				if _, err := s.Parse(m.body); err != nil {
					t.Fatal(err)
				}
				for _, p := range s.Players {
					if p.ClientID == c.id {
						last, found = p, true
					}
				}
			}
		})
		return last, found
	}
	p, ok := record()
	if !ok {
		t.Fatal("no snapshot named the new player")
	}
	if p.Tracking&wire.TrackNoInput == 0 || p.LastInputSeq != 0 {
		t.Fatalf("before any input: tracking %#x seq %d, want TrackNoInput and 0", p.Tracking, p.LastInputSeq)
	}
	c.pose(0x80000005, 1) // a seq that 0 would look newer than, with wraparound
	p, ok = record()
	if !ok || p.Tracking&wire.TrackNoInput != 0 || p.LastInputSeq != 0x80000005 || p.Tracking != wire.TrackHead {
		t.Fatalf("after the first input: %+v (found %v), want its seq and tracking, no TrackNoInput", p, ok)
	}
}
