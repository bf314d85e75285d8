package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/replay"
	"github.com/arcadexr/arcade/tools/internal/toolrun"
	"github.com/arcadexr/arcade/wire"
)

// TestServedReplay: a session recorded by the real server (eight bots,
// four grabbing) is served by arcade-server --replay, paused at 1.5 s; a
// headset (the Go client) joins it on loopback and holds exactly the
// recorded players and entities of that tick: the state hash of what it
// holds equals the hash of the tick arcade-replay replays, and it finds
// no desync in the served state. A seek by the operator API to 2.5 s
// shows that tick (replayed from the same keyframe), and played on at 4×
// the shown tick moves on; the dashboard and /api/stats answer
// throughout.
func TestServedReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server and the bots; skipped in -short mode")
	}
	path := recordedSession(t)
	bin := filepath.Join(buildBinaries(t), "arcade-server")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	port := func(network string) int {
		p, err := toolrun.FreePort(network)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	gamePort, groupPort, httpPort := port("udp"), port("udp"), port("tcp")
	game := fmt.Sprintf("127.0.0.1:%d", gamePort)
	api := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("replay-test-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	srv := exec.Command(bin, "--listen", game, "--http", fmt.Sprintf("127.0.0.1:%d", httpPort), "--http-token-file", tokenFile,
		"--iface", "lo", "--multicast", fmt.Sprintf("239.255.%d.%d:%d", 1+gamePort%250, 1+groupPort%250, groupPort),
		"--discovery=false", "--rt-priority", "0", "--replay", path, "--replay-seek", "1.5s", "--replay-paused")
	srv.Stderr = &stderr
	srv.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		srv.Wait()
		if t.Failed() {
			t.Logf("server: %s", stderr.String())
		}
	}()

	status := func() replay.ShowStatus {
		var st replay.ShowStatus
		if err := getJSON(api+"/api/replay", &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	control := func(body string) replay.ShowStatus {
		req, _ := http.NewRequest("POST", api+"/api/replay", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer replay-test-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /api/replay %s: %s: %s", body, resp.Status, b)
		}
		var st replay.ShowStatus
		json.Unmarshal(b, &st)
		return st
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var st replay.ShowStatus
		if getJSON(api+"/api/replay", &st) == nil && st.Shown > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the served replay shows no tick after 10 s")
		}
	}

	c, err := client.Dial(ctx, game, client.Config{MulticastIface: "lo", SessionConfig: client.SessionConfig{Name: "spectator"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := client.NewWorld()
	w.Track(c)
	// A spectator does not take a recorded player's id.
	if ids := recordedIDs(t, path); slices.Contains(ids, c.ClientID()) {
		t.Fatalf("the spectator got client id %d, a recorded player's (%v)", c.ClientID(), ids)
	}

	// expect waits until the headset holds the recorded tick the replay
	// reaches at `at` (from the start, or from the keyframe before it),
	// compared by the state hash of what each holds.
	expect := func(at time.Duration, seek time.Duration) {
		t.Helper()
		res, err := replay.Run(path, replay.Options{Seek: seek, StopAt: at, KeepEnd: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.FinalEntities) == 0 || len(res.FinalPlayers) != 8 {
			t.Fatalf("the replay to %v ends with %d entities, %d players: want the eight bots and the scene", at, len(res.FinalEntities), len(res.FinalPlayers))
		}
		held := 0
		for _, e := range res.FinalEntities {
			if e.Flags&wire.EntityHeld != 0 {
				held++
			}
		}
		var h wire.StateHasher
		want := h.Records(0, nil, res.FinalEntities)
		var got uint64
		var why string
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			ps, es := holds(w)
			got = h.Records(0, nil, es)
			if why = samePlayers(ps, res.FinalPlayers); got == want && why == "" {
				if st := status(); st.Tick != res.LastTick {
					t.Fatalf("the server shows recorded tick %d, the replay stopped at %d", st.Tick, res.LastTick)
				}
				t.Logf("at %v: the headset holds recorded tick %d: %d players, %d entities (%d held), entities' state hash %016x", at, res.LastTick, len(ps), len(es), held, got)
				return
			}
		}
		ps, es := holds(w)
		for i := range min(len(es), len(res.FinalEntities)) {
			if a, b := wire.QuantEntity(&es[i]), wire.QuantEntity(&res.FinalEntities[i]); a != b {
				t.Logf("entity %d: held %+v, recorded %+v", es[i].ID, a, b)
			}
		}
		t.Fatalf("at %v: the headset holds %d players, %d entities, hash %016x; the recording's tick %d has %d, %d, hash %016x; players: %s",
			at, len(ps), len(es), got, res.LastTick, len(res.FinalPlayers), len(res.FinalEntities), want, why)
	}
	expect(1500*time.Millisecond, -1) // before the first periodic keyframe: replayed from the start, exactly

	st := control(`{"seek_s": 2.5}`)
	if !st.Paused {
		t.Fatalf("after a seek the replay plays: %+v", st)
	}
	expect(2500*time.Millisecond, 2500*time.Millisecond)

	before := status()
	control(`{"paused": false, "speed": 4}`)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		st := status()
		if st.Tick > before.Tick+60 && st.PositionS > before.PositionS {
			t.Logf("played on at 4×: from tick %d (%.2f s) to %d (%.2f s)", before.Tick, before.PositionS, st.Tick, st.PositionS)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replay does not play on: %+v then %+v", before, st)
		}
	}
	if d := c.Stats().Desync; d.Checks == 0 || d.Mismatches != 0 {
		t.Fatalf("the headset's state hash checks of the served state: %+v (want some, none differing)", d)
	}
	var rep map[string]any
	if err := getJSON(api+"/api/stats", &rep); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(api + "/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("dashboard: %v %v", resp, err)
	}
	resp.Body.Close()
}

// samePlayers says how the players a headset holds differ from the
// recorded ones, or "": ids, input sequence, tracking and positions on the
// wire's grid exactly; rotations within 1° (the coded state stream puts
// avatars' rotations on a coarser grid than a snapshot's, PROTOCOL §6.15).
func samePlayers(held, rec []wire.PlayerState) string {
	if len(held) != len(rec) {
		return fmt.Sprintf("%d held, %d recorded", len(held), len(rec))
	}
	for i := range held {
		a, b := wire.QuantPlayer(&held[i]), wire.QuantPlayer(&rec[i])
		if a.ClientID != b.ClientID || a.Seq != b.Seq || a.Tracking != b.Tracking {
			return fmt.Sprintf("held %+v, recorded %+v", a, b)
		}
		pa, pb := [3]wire.Pose{held[i].Head, held[i].Hands[0], held[i].Hands[1]}, [3]wire.Pose{rec[i].Head, rec[i].Hands[0], rec[i].Hands[1]}
		for j := range pa {
			if a.Poses[j].X != b.Poses[j].X || a.Poses[j].Y != b.Poses[j].Y || a.Poses[j].Z != b.Poses[j].Z {
				return fmt.Sprintf("player %d pose %d: held at %+v, recorded at %+v", a.ClientID, j, pa[j].Pos, pb[j].Pos)
			}
			ra, rb := pa[j].Rot, pb[j].Rot
			if d := math.Abs(float64(ra.X*rb.X + ra.Y*rb.Y + ra.Z*rb.Z + ra.W*rb.W)); d < math.Cos(math.Pi/360) {
				return fmt.Sprintf("player %d pose %d: held rotation %+v, recorded %+v", a.ClientID, j, ra, rb)
			}
		}
	}
	return ""
}

// holds returns the players and entities w holds, by id.
func holds(w *client.World) ([]wire.PlayerState, []wire.EntityState) {
	var ps []wire.PlayerState
	ids := w.Present()
	slices.Sort(ids)
	for _, id := range ids {
		if p, present, ok := w.Player(id); ok && present {
			ps = append(ps, p)
		}
	}
	es := w.Entities()
	slices.SortFunc(es, func(a, b wire.EntityState) int { return int(a.ID) - int(b.ID) })
	return ps, es
}

// recordedIDs lists the client ids of the recording's players.
func recordedIDs(t *testing.T, path string) []uint16 {
	sh, err := replay.OpenShow(path, replay.ShowOptions{Paused: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	return sh.CastIDs()
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
