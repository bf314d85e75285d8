package server_test

import (
	"testing"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/sim"
)

// BenchmarkNewFromCopy: what a takeover pays to make its server, with the
// world restored from a copy (resume) and without (fresh: the same
// allocations, no restore), and to switch on one made ahead (warm:
// TakeOver with the same copy).
func BenchmarkNewFromCopy(b *testing.B) {
	w, err := sim.New(scene.Default())
	if err != nil {
		b.Fatal(err)
	}
	var st checkpoint.State
	w.SaveState(&st)
	ep := netsim.New(netsim.Config{}, start).Endpoint(serverAddr)
	b.Run("warm", func(b *testing.B) {
		// Made ahead (Standby), outside the timer: the takeover pays
		// TakeOver alone.
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			srv, err := server.New(server.Config{World: w, Replicate: &countReplica{}, Seed: 1, Standby: true}, ep, start)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := srv.TakeOver(server.Takeover{Epoch: 3, Resume: &st}, start); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, resume := range []bool{false, true} {
		name := "fresh"
		if resume {
			name = "resume"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				cfg := server.Config{World: w, Replicate: &countReplica{}, Epoch: 3, Seed: 1}
				if resume {
					cfg.Persist.Resume = &st
				}
				if _, err := server.New(cfg, ep, start); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
