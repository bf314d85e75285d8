package server_test

import (
	"testing"
	"time"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/netsim"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/sim"
	"github.com/arcadexr/arcade/wire"
)

// TestEpochStamped: a server with Config.Epoch stamps every datagram it
// sends, handshake replies, unicast and group state, pongs: FlagEpoch and
// the trailer, the body ending exactly before it (PROTOCOL §18.1).
func TestEpochStamped(t *testing.T) {
	r := newRig(t, netsim.Config{}, server.Config{Epoch: 5})
	m := r.client("10.0.0.2:5000")
	m.ep.Join(server.DefaultMulticast)
	u := r.client("10.0.0.3:5000")
	r.connect(m, 0)
	r.connect(u, wire.ConnectWantUnicast)
	m.pose(1, 0.5)
	u.pose(1, -0.5)
	u.send(wire.TypePing, (&wire.Ping{PingID: 1, ClientTime: 1}).Append)
	var got []received
	r.advance(50*time.Millisecond, func(int64) {
		got = append(got, m.recv()...)
		got = append(got, u.recv()...)
	})
	types := map[wire.PacketType]int{}
	for _, x := range got {
		d := x.h.Append(nil)
		d = append(d, x.body...)
		if x.h.Flags&wire.FlagEpoch == 0 {
			t.Fatalf("%v without FlagEpoch", x.h.Type)
		}
		rest, e, err := wire.SplitEpoch(d)
		if err != nil || e != 5 {
			t.Fatalf("%v: epoch %d, %v; want 5", x.h.Type, e, err)
		}
		var n int
		switch x.h.Type {
		case wire.TypeSnapshot:
			var s wire.Snapshot
			n, err = s.Parse(rest[wire.HeaderSize:])
		case wire.TypePong:
			var p wire.Pong
			n, err = p.Parse(rest[wire.HeaderSize:])
		default:
			types[x.h.Type]++
			continue
		}
		if err != nil || n != len(rest)-wire.HeaderSize {
			t.Fatalf("%v: body parses to %d of %d bytes, %v", x.h.Type, n, len(rest)-wire.HeaderSize, err)
		}
		types[x.h.Type]++
	}
	if types[wire.TypeSnapshot] < 10 || types[wire.TypePong] != 1 {
		t.Fatalf("received %v: want snapshots on both paths and one pong", types)
	}
}

// TestEpochSessions: headsets of every kind (StateDelta by the group and by
// unicast, Snapshots by unicast), in clear and sealed, on a network that
// loses, duplicates and reorders, take a stamped server's state: each
// session starts at the Accepted's epoch, drops nothing for its epoch,
// and its state decodes (bodies are sized with the trailer's room).
func TestEpochSessions(t *testing.T) {
	for _, pass := range []string{"", testPassphrase} {
		name := "clear"
		if pass != "" {
			name = "sealed"
		}
		t.Run(name, func(t *testing.T) {
			w, err := sim.New(scene.Default())
			if err != nil {
				t.Fatal(err)
			}
			ncfg := netsim.Config{Loss: 0.05, Duplicate: 0.02, Delay: time.Millisecond, Jitter: 2 * time.Millisecond, Seed: 12}
			d := &desyncRig{t: t, r: newRig(t, ncfg, server.Config{World: w, Epoch: 4, Passphrase: pass})}
			peers := []*desyncPeer{
				d.join("group-delta", client.SessionConfig{Passphrase: pass}),
				d.join("unicast-delta", client.SessionConfig{Unicast: true, Passphrase: pass}),
				d.join("unicast-snapshots", client.SessionConfig{Unicast: true, SnapshotsOnly: true, Passphrase: pass}),
			}
			d.run(400 * time.Millisecond)
			for _, p := range peers {
				st := p.s.Stats()
				e, ok := p.s.Epoch()
				if !ok || e != 4 || st.EpochChanges != 0 {
					t.Errorf("%s: epoch %d (%v), %d changes; want 4 from the Accepted", p.name, e, ok, st.EpochChanges)
				}
				if st.Dropped[client.DropStaleEpoch] != 0 || st.Dropped[client.DropBadDelta] != 0 || st.Dropped[client.DropMalformed] != 0 {
					t.Errorf("%s: drops %v", p.name, st.Drops())
				}
				if st.Snapshots < 10 {
					t.Errorf("%s: %d snapshots", p.name, st.Snapshots)
				}
			}
		})
	}
}
