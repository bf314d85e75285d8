package csharp

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// csBotReport is what ArcadeBot.exe prints.
type csBotReport struct {
	Requested  int     `json:"clients_requested"`
	Connected  int     `json:"clients_connected"`
	PeersMin   int     `json:"peers_advancing_min"`
	PeersMax   int     `json:"peers_advancing_max"`
	Snapshots  int64   `json:"snapshots_received"`
	GroupRecv  int64   `json:"group_received"`
	GroupLost  int64   `json:"group_lost"`
	LossPct    float64 `json:"snapshot_loss_pct"`
	AllocBytes int64   `json:"snapshot_alloc_bytes"`
	AllocSnaps int64   `json:"snapshots_alloc_measured"`
	DeltaParts int64   `json:"delta_parts"`
	CodedParts int64   `json:"coded_parts"`
	DeltaBad   int64   `json:"delta_bad"`
	Ticks      int64   `json:"ticks_complete"`
}

// goBotReport is the part of arcade-bot --json this test reads.
type goBotReport struct {
	Connected int     `json:"clients_connected"`
	LossPct   float64 `json:"snapshot_loss_pct"`
	Clients   []struct {
		ID        uint16 `json:"client_id"`
		PeersSeen int    `json:"peers_seen"`
	} `json:"clients"`
}

// TestBotsBesideArcadeBot: 16 headsets of the C# console bot and 16 of
// arcade-bot (Go) stream against one arcade-server by multicast on
// loopback: every headset sees every other, of either kind, and the C#
// receive threads allocate nothing per snapshot after a warm-up second. The
// snapshot loss of both is logged (not asserted: the box is shared). The
// C# headsets take Snapshots, so the group is sent Snapshots.
func TestBotsBesideArcadeBot(t *testing.T) { runBots(t) }

// TestBotsBesideArcadeBotCoded is TestBotsBesideArcadeBot with the C#
// headsets taking coded StateDelta as arcade-bot's do, so the group is sent
// coded StateDelta: the same figures, and no corrupt part.
func TestBotsBesideArcadeBotCoded(t *testing.T) { runBots(t, "--coded") }

func runBots(t *testing.T, csArgs ...string) {
	if testing.Short() {
		t.Skip("runs arcade-server, arcade-bot and Mono for seconds; skipped in -short mode")
	}
	const n = 16
	b := compile(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	dir := buildBinaries(t)
	srv := newServer(t, filepath.Join(dir, "arcade-server"), "")
	if err := srv.start(ctx); err != nil {
		t.Fatal(err)
	}
	defer srv.kill()
	var goOut, csOut bytes.Buffer
	// arcade-bot streams until the C# bot is done, however long the C#
	// headsets take to start on a loaded box, then is interrupted (it
	// reports on SIGINT): every headset of either kind is present for the
	// whole of the other's run.
	gobot := exec.CommandContext(ctx, filepath.Join(dir, "arcade-bot"), "--server", srv.game, "--clients", strconv.Itoa(n),
		"--duration", "60s", "--iface", "lo", "--json")
	gobot.Stdout = &goOut
	if err := gobot.Start(); err != nil {
		t.Fatal(err)
	}
	csbot := exec.CommandContext(ctx, b.Mono, append([]string{b.Bot, "--server", srv.game, "--clients", strconv.Itoa(n),
		"--duration", "4", "--iface-addr", "127.0.0.1"}, csArgs...)...)
	csbot.Stdout = &csOut
	var csErr bytes.Buffer
	csbot.Stderr = &csErr
	csRunErr := csbot.Run()
	gobot.Process.Signal(os.Interrupt)
	goRunErr := gobot.Wait()
	var cs csBotReport
	if err := json.Unmarshal(csOut.Bytes(), &cs); err != nil {
		t.Fatalf("C# bot (%v): %v\n%s\n%s\nserver:\n%s", csRunErr, err, csOut.Bytes(), csErr.Bytes(), srv.stderr.Tail(10))
	}
	var gr goBotReport
	if err := json.Unmarshal(goOut.Bytes(), &gr); err != nil {
		t.Fatalf("arcade-bot (%v): %v\n%s", goRunErr, err, goOut.Bytes())
	}
	t.Logf("C# bot %v: %d/%d connected, each saw %d…%d advancing peers; %d snapshots, %d StateDelta parts (%d coded, %d corrupt), %d ticks complete; group path %d received, %d lost (%.3f %%); %d bytes allocated over %d state datagrams after the warm-up",
		csArgs, cs.Connected, cs.Requested, cs.PeersMin, cs.PeersMax, cs.Snapshots, cs.DeltaParts, cs.CodedParts, cs.DeltaBad, cs.Ticks, cs.GroupRecv, cs.GroupLost, cs.LossPct, cs.AllocBytes, cs.AllocSnaps)
	minGo := 1 << 30
	for _, c := range gr.Clients {
		minGo = min(minGo, c.PeersSeen)
	}
	t.Logf("arcade-bot: %d/%d connected, each saw at least %d peers; snapshot loss %.3f %%", gr.Connected, n, minGo, gr.LossPct)
	if cs.Connected != n || gr.Connected != n {
		t.Fatalf("connected: C# %d, Go %d, want %d each", cs.Connected, gr.Connected, n)
	}
	if cs.PeersMin != 2*n-1 {
		t.Errorf("a C# headset saw %d other headsets move, want %d (15 C#, 16 Go)", cs.PeersMin, 2*n-1)
	}
	if minGo != 2*n-1 {
		t.Errorf("a Go headset saw %d other headsets, want %d (15 Go, 16 C#)", minGo, 2*n-1)
	}
	if len(csArgs) > 0 && (cs.CodedParts == 0 || cs.DeltaBad != 0) {
		t.Errorf("the C# headsets applied %d coded parts, %d corrupt: want coded StateDelta, none corrupt", cs.CodedParts, cs.DeltaBad)
	}
	if cs.AllocSnaps == 0 || cs.AllocBytes != 0 {
		t.Errorf("the C# receive threads allocated %d bytes over %d snapshots after the warm-up second, want 0", cs.AllocBytes, cs.AllocSnaps)
	}
}
