package main

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/arcadexr/arcade/wire"
)

// Tokens of the golden StateDelta vectors: the keyframe goes to a client
// by unicast, the later ticks to the group.
const (
	goldenSession = 0x8877665544332211
	goldenGroup   = 0xc0ffee0ddba11ad5
)

// deltaScript is client 1 on the group: tick 1004 (against 1003) before
// anything it is coded against, the keyframe of tick 1000 by unicast,
// then ticks 1003 (against 1000) and 1004 (against 1003) to the group, and
// 1003 again; inputs 501 and 502 of client 1, which tick 1003 reports
// (player 1's input seq goes from 500 to 502), and a PoseInput with a state
// acknowledgement.
func deltaScript(t *testing.T) []scripted {
	kf := golden(t, "state_delta_keyframe")
	changes := golden(t, "state_delta_changes")
	unchanged := golden(t, "state_delta_unchanged")
	ack := golden(t, "pose_input_state_ack")
	return []scripted{
		{1 * msec, false, addrA, dg(wire.TypeAccepted, goldenSession, 0, &wire.Accepted{ClientNonce: 7, ClientID: 1, TickRate: 120, Multicast: group, GroupToken: goldenGroup, Flags: wire.AcceptedDeltaState})},
		{12 * msec, true, addrA, dg(wire.TypePoseInput, goldenSession, 1, pose(501, t0+12*msec))},
		{15 * msec, false, group, unchanged},
		{20 * msec, false, addrA, kf},
		{22 * msec, true, addrA, dg(wire.TypePoseInput, goldenSession, 2, pose(502, t0+22*msec))},
		{30 * msec, false, group, changes},
		{40 * msec, false, group, unchanged},
		{45 * msec, false, group, changes},
		{50 * msec, true, addrA, ack},
	}
}

func TestStateDeltaFromGolden(t *testing.T) {
	path := writeFrames(t, deltaScript(t))
	lines := strings.Split(strings.TrimSpace(runCap(t, "--type", "StateDelta,PoseInput", path)), "\n")
	want := []string{
		"PoseInput c1 ",
		"StateDelta tok=c0ffee0ddba11ad5 seq=4322 ack=0 tick=1004 server_us=8374500 base=1003 part=0/1 players=2 entities=5 ids=p0-65535,e0-65535 records=0/0 bits=0 no-baseline (tick 1003 not captured whole)",
		"StateDelta c1 tok=8877665544332211 seq=9 ack=0 tick=1000 server_us=8341000 base=0 part=0/1 players=2 entities=4 keyframe ids=p0-65535,e0-65535 records=2/4 bits=1002 whole players_in_part=2 entities_in_part=4 inputs=[c1:500 c2:70]",
		"PoseInput c1 ",
		"StateDelta tok=c0ffee0ddba11ad5 seq=4321 ack=0 tick=1003 server_us=8366000 base=1000 part=0/1 players=2 entities=5 hash=0123456789abcdef ids=p0-65535,e0-65535 records=3/4 bits=596 whole players_in_part=2 entities_in_part=5 inputs=[c1:502 c4:1]",
		"StateDelta tok=c0ffee0ddba11ad5 seq=4322 ack=0 tick=1004 server_us=8374500 base=1003 part=0/1 players=2 entities=5 ids=p0-65535,e0-65535 records=0/0 bits=0 whole players_in_part=2 entities_in_part=5 inputs=[c1:502 c4:1]",
		"StateDelta tok=c0ffee0ddba11ad5 seq=4321 ack=0 tick=1003 server_us=8366000 base=1000 part=0/1 players=2 entities=5 hash=0123456789abcdef ids=p0-65535,e0-65535 records=3/4 bits=596 copy players_in_part=2 entities_in_part=5 inputs=[c1:502 c4:1]",
		"state_tick=1003 held=0000000000000039",
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d:\n got %s\nwant …%s…", i, lines[i], w)
		}
	}

	// JSON: the header fields and the decoded players.
	var got []jsonDatagram
	for _, l := range strings.Split(strings.TrimSpace(runCap(t, "--json", "--type", "15,6", path)), "\n") {
		var j jsonDatagram
		if err := json.Unmarshal([]byte(l), &j); err != nil {
			t.Fatal(err)
		}
		got = append(got, j)
	}
	if len(got) != 8 {
		t.Fatalf("--json: %d datagrams, want 8", len(got))
	}
	if d := got[1].StateDelta; d == nil || d.Decoded != "no-baseline" || d.Players != nil || d.Entities != nil || d.Baseline != 1003 {
		t.Errorf("no-baseline part: %+v", d)
	}
	d := got[4].StateDelta
	if d == nil || d.Decoded != "whole" || d.Tick != 1003 || d.Baseline != 1000 || d.Keyframe || d.Hash != "0123456789abcdef" ||
		d.PlayerIDs != [2]uint16{0, 65535} || d.PlayerRecords != 3 || d.EntityRecords != 4 || d.PayloadBits != 596 ||
		d.PlayerCount != 2 || d.EntityCount != 5 || d.Entities == nil || *d.Entities != 5 ||
		len(d.Players) != 2 || d.Players[0] != (jsonPlayer{1, 502}) || d.Players[1] != (jsonPlayer{4, 1}) {
		t.Errorf("tick 1003: %+v", d)
	}
	if d := got[2].StateDelta; d == nil || !d.Keyframe || d.Flags != wire.DeltaKeyframe || d.Decoded != "whole" {
		t.Errorf("keyframe: %+v", d)
	}
	if p := got[7].PoseInput; p == nil || p.StateTick == nil || *p.StateTick != 1003 || p.TicksHeld != "0000000000000039" {
		t.Errorf("state acknowledgement: %+v", p)
	} else if p := got[0].PoseInput; p.StateTick != nil || p.TicksHeld != "" {
		t.Errorf("PoseInput without a state acknowledgement: %+v", p)
	}

	// Stats: the inputs are reported by tick 1003, whole at 30 ms.
	a := newAnalyzer(&options{stats: true, anyT: true}, nil, io.Discard)
	if err := a.file(path); err != nil {
		t.Fatal(err)
	}
	r := a.st.report(nil)
	if len(r.Clients) != 1 || len(r.Groups) != 1 {
		t.Fatalf("report: %+v", r)
	}
	c, g := r.Clients[0], r.Groups[0]
	if m := c.InputToState; m != (Millis{Samples: 2, P50: 8, P99: 18, Max: 18}) || c.Unreported != 1 {
		t.Errorf("input→state %+v (%d unreported), want 8 and 18 ms (1 unreported: the last input)", m, c.Unreported)
	}
	if d := c.StateDelta; d == nil || *d != (DeltaReport{Parts: 1, Ticks: 1}) {
		t.Errorf("client's StateDelta: %+v", d)
	}
	if d := g.StateDelta; d == nil || *d != (DeltaReport{Parts: 4, Ticks: 2, Copies: 1, NoBaseline: 1}) {
		t.Errorf("group's StateDelta: %+v", d)
	}
	text := runCap(t, "--stats", path)
	if want := "state delta  4 parts: 2 ticks whole, 0 partial, 1 copies, 0 duplicates, 1 no-baseline, 0 bad-delta"; !strings.Contains(text, want) {
		t.Errorf("--stats output lacks %q:\n%s", want, text)
	}
}

// TestStateDeltaBad checks that a part that does not decode against its
// baseline is counted bad and its assembly dropped, and that a tick whose
// parts do not add up to its counts is not kept.
func TestStateDeltaBad(t *testing.T) {
	kf := golden(t, "state_delta_keyframe")
	changes := golden(t, "state_delta_changes")
	// Tick 1003's changes as tick 1004 against 1003: player 2, removed,
	// is not in 1003, and player 4, new, is (it does not decode).
	again := append([]byte(nil), changes...)
	again[wire.HeaderSize] = 0xec    // tick 1004
	again[wire.HeaderSize+12] = 0xeb // against 1003
	badCount := append([]byte(nil), kf...)
	badCount[wire.HeaderSize] = 0xe9                // tick 1001
	badCount[wire.HeaderSize+18] = 3                // player count 3: the payload has 2
	unchanged := golden(t, "state_delta_unchanged") // 1004 against 1003
	path := writeFrames(t, []scripted{
		{1 * msec, false, addrA, dg(wire.TypeAccepted, goldenSession, 0, &wire.Accepted{ClientNonce: 7, ClientID: 1, TickRate: 120, Multicast: group, GroupToken: goldenGroup})},
		{10 * msec, false, addrA, kf},
		{11 * msec, false, addrA, badCount},
		{20 * msec, false, group, changes},
		{30 * msec, false, group, again},
		{40 * msec, false, group, unchanged},
	})
	a := newAnalyzer(&options{stats: true, anyT: true}, nil, io.Discard)
	if err := a.file(path); err != nil {
		t.Fatal(err)
	}
	r := a.st.report(nil)
	if d := r.Groups[0].StateDelta; d == nil || *d != (DeltaReport{Parts: 3, Ticks: 2, Bad: 1}) {
		t.Errorf("group's StateDelta: %+v", d)
	}
	if d := r.Clients[0].StateDelta; d == nil || *d != (DeltaReport{Parts: 2, Ticks: 1, Bad: 1}) {
		t.Errorf("client's StateDelta: %+v", d)
	}
	out := runCap(t, "--type", "StateDelta", path)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i, w := range []string{" whole ", " bad-delta", " whole ", " bad-delta", " whole "} {
		if i >= len(lines) || !strings.Contains(lines[i], w) {
			t.Errorf("line %d lacks %q:\n%s", i, w, out)
		}
	}
}
