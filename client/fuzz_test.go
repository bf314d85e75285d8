package client

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/arcadexr/arcade/wire"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed corpus in testdata/fuzz/FuzzSessionHandle")

// fuzzSeed is one datagram of the seed corpus and the path it arrives on.
type fuzzSeed struct {
	dgram        []byte
	viaMulticast bool
}

// fuzzSeeds are datagrams a connected session meets: valid ones of every
// path (built by the fake server with the fixed test tokens) and damaged
// ones. They are written to testdata/fuzz/FuzzSessionHandle by
// TestFuzzSeeds -update-corpus and checked against it otherwise.
func fuzzSeeds(t *testing.T) map[string]fuzzSeed {
	f := newFakeServer(t)
	f.seq = 1 // the Accepted of the fuzz session's handshake was seq 0
	players := []wire.PlayerState{
		{ClientID: 7, LastInputSeq: 3, Tracking: wire.TrackHead, Head: wire.Pose{Pos: wire.Vec3{Y: 1.6}, Rot: wire.Quat{W: 1}}},
		{ClientID: 8, LastInputSeq: 90},
	}
	snap := testSnapshot(42, players...)
	uni := f.unicastSnapshot(snap)
	multi := f.multicastSnapshot(snap)
	hashed := *snap
	hashed.Flags, hashed.StateHash, hashed.Part, hashed.Parts = wire.SnapshotHasHash, 0xfeed, 1, 2
	pong := f.pong(&wire.Ping{PingID: 1, ClientTime: uint64(t0 / 1000)}, 5, 6)
	seeds := map[string]fuzzSeed{
		"unicast-snapshot":       {uni, false},
		"multicast-snapshot":     {multi, true},
		"hashed-part":            {f.unicastSnapshot(&hashed), false},
		"pong":                   {pong, false},
		"disconnect":             {f.disconnect(wire.DisconnectKicked), false},
		"accepted-again":         {f.accepted(testNonce, 7), false},
		"truncated-snapshot":     {uni[:wire.HeaderSize+30], false},
		"snapshot-on-wrong-path": {uni, true},
		"other-version-denied": {func() []byte {
			d := f.denied(testNonce, wire.DenyVersionMismatch)
			d[3]++
			return d
		}(), false},
		"header-only": {uni[:wire.HeaderSize], false},
	}
	// Built last, so the sequence numbers of the seeds above stay put.
	upd := testEntityUpdate(42, 7, 3)
	upd.Causes = append(upd.Causes, wire.UpdateCause{Client: 9, Input: 8}) // coalesced with another client's input
	upd.Entities = append(upd.Entities, wire.EntityState{ID: 9, Flags: wire.EntityGrabbable | wire.EntitySleeping, Pose: wire.Pose{Pos: wire.Vec3{Y: 0.8}, Rot: wire.Quat{W: 1}}})
	uniUpd := f.unicastEntityUpdate(upd)
	seeds["unicast-entity-update"] = fuzzSeed{uniUpd, false}
	seeds["multicast-entity-update"] = fuzzSeed{f.multicastEntityUpdate(upd), true}
	seeds["truncated-entity-update"] = fuzzSeed{uniUpd[:len(uniUpd)-3], false}
	return seeds
}

func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzSessionHandle")
	for name, seed := range fuzzSeeds(t) {
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%v)\n", seed.dgram, seed.viaMulticast)
		path := filepath.Join(dir, name)
		if *updateCorpus {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (regenerate with go test -run TestFuzzSeeds -update-corpus)", err)
		}
		if string(got) != want {
			t.Errorf("%s is stale: regenerate with go test -run TestFuzzSeeds -update-corpus", path)
		}
	}
}

// FuzzSessionHandle feeds arbitrary datagrams to a connected session: it must
// never panic, must keep its counters consistent and must keep sending.
func FuzzSessionHandle(f *testing.F) {
	f.Add([]byte{}, false)
	f.Add([]byte("ARC\x01\x07"), true)
	f.Fuzz(func(t *testing.T, dgram []byte, viaMulticast bool) {
		fs := newFakeServer(t)
		s := newTestSession(SessionConfig{})
		fs.connect(s, t0)
		s.OnSnapshot(func(snap *wire.Snapshot, _ int64, _ bool) {
			if int(snap.Part) >= int(snap.Parts) {
				t.Fatalf("delivered part %d of %d", snap.Part, snap.Parts)
			}
		})
		s.OnEntityUpdate(func(u *wire.EntityUpdate, _ int64, _ bool) {
			if len(u.Entities) > wire.MaxEntityUpdateEntities {
				t.Fatalf("delivered an update of %d entities", len(u.Entities))
			}
		})
		s.OnPong(func(rtt, _ int64) {
			if rtt < 0 {
				t.Fatalf("negative rtt %d", rtt)
			}
		})
		before := s.Stats()
		s.Handle(t0+ms, dgram, 0, viaMulticast)
		s.Handle(t0+ms, dgram, 0, viaMulticast) // a duplicate never delivers twice
		st := s.Stats()
		if st.Received-before.Received != 2 {
			t.Fatalf("received %d", st.Received-before.Received)
		}
		if n := st.Snapshots - before.Snapshots + st.EntityUpdates - before.EntityUpdates; n > 1 {
			t.Fatalf("one datagram delivered %d snapshots and entity updates", n)
		}
		s.Update(t0 + 2*ms)
		in := wire.PoseInput{}
		seq := s.SendPose(t0+3*ms, &in)
		if (seq != 0) != (s.State() == Connected) {
			t.Fatalf("SendPose = %d in state %v", seq, s.State())
		}
		s.Outgoing(func(d []byte) {
			if len(d) > wire.MaxDatagramSize {
				t.Fatalf("sent %d bytes", len(d))
			}
		})
	})
}

// FuzzSessionDelta feeds a session that takes StateDelta, and holds a
// keyframe of a small world as its baseline, any datagram on either path:
// it never panics, delivers only well-formed snapshot parts, and keeps its
// held ticks bounded and consistent with what it acknowledges.
func FuzzSessionDelta(f *testing.F) {
	world := deltaWorld(100)
	next := deltaWorld(101)
	var enc wire.StateEncoder
	body := func(base, cur *wire.State) []byte {
		h := wire.StateDelta{Tick: cur.Tick, ServerTime: stampOf(cur.Tick)}
		if base != nil {
			h.Base = base.Tick
		}
		return append([]byte(nil), enc.Encode(&h, base, cur, wire.MaxBodySize)[0]...)
	}
	seed := func(base, cur *wire.State, token uint64) []byte {
		hd := wire.Header{Type: wire.TypeStateDelta, Token: token, Seq: 500}
		return append(hd.Append(nil), body(base, cur)...)
	}
	fs0 := newFakeServer(f)
	f.Add(seed(world, next, fs0.token), false)
	f.Add(seed(world, next, fs0.groupToken), true)
	f.Add(seed(nil, next, fs0.token), false)
	f.Fuzz(func(t *testing.T, dgram []byte, viaMulticast bool) {
		fs := newFakeServer(t)
		fs.deltaState = true
		s := newTestSession(SessionConfig{})
		fs.connect(s, t0)
		s.OnSnapshot(func(snap *wire.Snapshot, _ int64, _ bool) {
			if int(snap.Part) >= int(snap.Parts) || len(snap.Players) > wire.MaxStatePlayers || len(snap.Entities) > wire.MaxStateEntities {
				t.Fatalf("delivered part %d of %d, %d players, %d entities", snap.Part, snap.Parts, len(snap.Players), len(snap.Entities))
			}
		})
		s.Handle(t0+ms, append(fs.unicastHeader(wire.TypeStateDelta, fs.token), body(nil, world)...), 0, false)
		if tick, held := s.delta.held(); tick != 100 || held != 1 {
			t.Fatalf("after the keyframe: held %d %b", tick, held)
		}
		s.Handle(t0+ms, dgram, 0, viaMulticast)
		s.Handle(t0+ms, dgram, 0, viaMulticast)
		tick, held := s.delta.held()
		if held&1 == 0 || s.delta.rx.Holds(tick) == nil {
			t.Fatalf("acknowledges tick %d (mask %b) it does not hold", tick, held)
		}
	})
}
