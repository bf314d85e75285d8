//go:build linux

package client_test

import (
	"context"
	"net/netip"

	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/sim"
	"github.com/arcadexr/arcade/tick"
)

// exampleServer runs an Arcade server in this process on a loopback port
// (snapshots by unicast, the default scene) and returns its address and
// the function that stops it. A headset program dials a venue's server
// instead; the examples need one to talk to.
func exampleServer() (addr string, stop func()) {
	conn, err := udp.Listen(udp.Config{Listen: netip.MustParseAddrPort("127.0.0.1:0"), Timestamps: true})
	if err != nil {
		panic(err)
	}
	world, err := sim.New(scene.Default())
	if err != nil {
		panic(err)
	}
	srv, err := server.New(server.Config{NoMulticast: true, World: world}, conn, tick.Now())
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Run(ctx, conn.Fd()); close(done) }()
	return conn.LocalAddr().String(), func() { cancel(); <-done; conn.Close() }
}
