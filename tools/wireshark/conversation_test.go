package wireshark

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcadexr/arcade/wire"
)

// conversationFields are shown only across frames (a gap, a Ping's Pong):
// TestDissectorConversation checks them; TestDissector's vectors, each on
// a path of its own, never show them.
var conversationFields = map[string]bool{
	"arcade.seq.prev": true, "arcade.seq.lost": true,
	"arcade.ping.pong_in": true, "arcade.pong.ping_in": true, "arcade.pong.rtt_ms": true,
}

// apart gives every frame a path of its own: the headset's port (or, to
// the group, the server's source port) differs per frame, so the golden
// vectors, decoded in one capture, are not read as one conversation.
// Each frame keeps one of the dissector's registered ports.
func apart(frames []frame) []frame {
	out := make([]frame, len(frames))
	for i, f := range frames {
		port := uint16(20000 + i)
		switch {
		case f.src == client:
			f.src = netip.AddrPortFrom(client.Addr(), port)
		case f.dst == client:
			f.dst = netip.AddrPortFrom(client.Addr(), port)
		case f.dst.Addr().IsMulticast():
			f.src = netip.AddrPortFrom(f.src.Addr(), port)
		}
		out[i] = f
	}
	return out
}

func datagram(h wire.Header, body interface{ Append([]byte) []byte }) []byte {
	return body.Append(h.Append(nil))
}

// TestDissectorConversation: on one headset's paths, with tshark's two
// passes, a gap in seq is flagged with how many datagrams are missing, an
// old seq as reordered, a jump past 4096 as no loss; each path and the
// multicast group count apart; a Pong is linked to its Ping both ways with
// the round trip between their frames (1 ms apart in the test capture); a
// Ping without a Pong and a Pong of another token stay unlinked.
func TestDissectorConversation(t *testing.T) {
	ts := newTshark(t)
	const tok, other = 0x1122334455667788, 0x99
	group := netip.MustParseAddrPort("239.255.77.77:7778")
	up := func(seq uint16, body interface{ Append([]byte) []byte }, typ wire.PacketType) frame {
		return frame{src: client, dst: server, payload: datagram(wire.Header{Type: typ, Token: tok, Seq: seq}, body)}
	}
	down := func(seq uint16, token uint64, body interface{ Append([]byte) []byte }, typ wire.PacketType) frame {
		return frame{src: server, dst: client, payload: datagram(wire.Header{Type: typ, Token: token, Seq: seq}, body)}
	}
	pose := &wire.PoseInput{InputSeq: 1, Head: wire.Pose{Rot: wire.Quat{W: 1}}, Hands: [2]wire.Pose{{Rot: wire.Quat{W: 1}}, {Rot: wire.Quat{W: 1}}}}
	mc := func(seq uint16) frame {
		return frame{src: server, dst: group, payload: datagram(wire.Header{Type: wire.TypeEntityUpdate, Token: 0x77, Seq: seq}, &wire.EntityUpdate{Tick: 1})}
	}
	frames := []frame{
		up(10, &wire.Ping{PingID: 5, ClientTime: 1}, wire.TypePing),       // 1
		down(3, tok, &wire.Pong{PingID: 5, ClientTime: 1}, wire.TypePong), // 2: its Pong, 1 ms later
		up(11, pose, wire.TypePoseInput),                                  // 3
		up(14, pose, wire.TypePoseInput),                                  // 4: 12 and 13 missing
		up(13, pose, wire.TypePoseInput),                                  // 5: old
		mc(100),                                                           // 6
		mc(104),                                                           // 7: the group's own count: 3 missing
		up(15, &wire.Ping{PingID: 6, ClientTime: 2}, wire.TypePing),       // 8: no Pong
		down(4, other, &wire.Pong{PingID: 6}, wire.TypePong),              // 9: another token's
		up(15+5000, pose, wire.TypePoseInput),                             // 10: a jump, not loss
	}
	pcap := filepath.Join(t.TempDir(), "conversation.pcap")
	if err := os.WriteFile(pcap, capture(frames), 0o644); err != nil {
		t.Fatal(err)
	}
	names := []string{"arcade.seq.prev", "arcade.seq.lost", "arcade.ping.pong_in", "arcade.pong.ping_in", "arcade.pong.rtt_ms"}
	args := []string{"-2", "-n", "-r", pcap, "-X", "lua_script:" + ts.lua, "-T", "fields",
		"-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=" + aggregator, "-e", "_ws.expert.message"}
	for _, n := range names {
		args = append(args, "-e", n)
	}
	out, stderr, err := ts.run(t, args...)
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != len(frames) {
		t.Fatalf("tshark printed %d packets, want %d\n%s", len(lines), len(frames), out)
	}
	want := []struct{ expert, prev, lost, pongIn, pingIn, rtt string }{
		{pongIn: "2"},
		{pingIn: "1", rtt: "1"},
		{prev: "10", lost: ""}, // d = 1: nothing missing, no lost field
		{expert: "2 datagrams missing on this path before seq 14 (after 11)", prev: "11", lost: "2"},
		{expert: "seq 13 is not newer than 14", prev: "14"},
		{},
		{expert: "3 datagrams missing on this path before seq 104 (after 100)", prev: "100", lost: "3"},
		{prev: "14"}, // 13 was old: 15 follows 14
		{prev: "3"},
		{expert: "seq jumps 5000 ahead of 15", prev: "15"},
	}
	for i, line := range lines {
		v := strings.Split(line, "\t")
		for len(v) < 6 {
			v = append(v, "")
		}
		w := want[i]
		if (w.expert == "") != (v[0] == "") || !strings.Contains(v[0], w.expert) {
			t.Errorf("frame %d: expert %q, want %q", i+1, v[0], w.expert)
		}
		for j, pair := range [][2]string{{v[1], w.prev}, {v[2], w.lost}, {v[3], w.pongIn}, {v[4], w.pingIn}} {
			if pair[0] != pair[1] {
				t.Errorf("frame %d: %s = %q, want %q", i+1, names[j], pair[0], pair[1])
			}
		}
		if v[5] != w.rtt {
			t.Errorf("frame %d: rtt %q ms, want %q", i+1, v[5], w.rtt)
		}
	}
}
