package server_test

import (
	"testing"

	"github.com/arcadexr/arcade/server"
)

// TestSubStepIOApart: the socket work served between physics sub-steps is
// counted in SubStepIO, once a tick with a world, and not at all without
// one (it then has no sub-steps).
func TestSubStepIOApart(t *testing.T) {
	for _, world := range []bool{true, false} {
		srv, rp, now := hotPathClients(t, 4, false, world, false, server.Config{})
		for range 30 {
			round(srv, rp, now)
		}
		st := srv.Stats()
		io, ticks := st.SubStepIO.Count(), st.GrabPhysics.Count()
		switch {
		case world && (io == 0 || io != ticks):
			t.Errorf("with a world: %d socket samples for %d ticks", io, ticks)
		case !world && io != 0:
			t.Errorf("without a world: %d socket samples", io)
		}
	}
}
