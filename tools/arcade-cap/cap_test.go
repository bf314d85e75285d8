package main

import (
	"bytes"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/bpf"

	"github.com/arcadexr/arcade/capture"
	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/wire"
)

var (
	srvAddr = netip.MustParseAddrPort("10.0.0.1:7777")
	addrA   = netip.MustParseAddrPort("10.0.0.2:5000")
	addrB   = netip.MustParseAddrPort("10.0.0.3:5001")
	group   = netip.MustParseAddrPort("239.255.77.77:7778")
)

const (
	t0      = int64(1_750_000_000_000_000_000)
	tokA    = 0xaaaa_0000_0000_0001
	tokB    = 0xbbbb_0000_0000_0002
	tokG    = 0x9999_0000_0000_0009
	msec    = int64(time.Millisecond)
	tickDur = 10 * msec
)

// scripted is one datagram of a synthetic capture, at t0 + at.
type scripted struct {
	at   int64
	in   bool // received by the server (else sent)
	peer netip.AddrPort
	b    []byte
}

type appender interface{ Append([]byte) []byte }

func dg(typ wire.PacketType, tok uint64, seq uint16, body appender) []byte {
	h := wire.Header{Type: typ, Token: tok, Seq: seq}
	return body.Append(h.Append(nil))
}

func pose(seq uint32, clientNs int64) *wire.PoseInput {
	return &wire.PoseInput{InputSeq: seq, ClientTime: uint64(clientNs / 1000)}
}

func snap(tick uint32, players ...wire.PlayerState) *wire.Snapshot {
	return &wire.Snapshot{Tick: tick, Parts: 1, PlayerCount: uint16(len(players)), Players: players}
}

// script is a session of two clients: A on multicast, B on unicast, with
// one lost PoseInput (seq 4) from A and one lost group snapshot (seq 1).
func script() []scripted {
	cr := func(name string) *wire.ChallengeResponse {
		r := &wire.ChallengeResponse{ClientNonce: 7}
		r.SetName(name)
		return r
	}
	return []scripted{
		{0, true, addrA, dg(wire.TypeConnectRequest, 0, 0, &wire.ConnectRequest{ClientNonce: 7})},
		{1 * msec, false, addrA, dg(wire.TypeChallenge, 0, 0, &wire.Challenge{ClientNonce: 7})},
		{2 * msec, true, addrA, dg(wire.TypeChallengeResponse, 0, 1, cr("alice"))},
		{3 * msec, false, addrA, dg(wire.TypeAccepted, tokA, 0, &wire.Accepted{ClientNonce: 7, ClientID: 1, TickRate: 100, Multicast: group, GroupToken: tokG})},
		{4 * msec, true, addrB, dg(wire.TypeChallengeResponse, 0, 0, cr("bob"))},
		{5 * msec, false, addrB, dg(wire.TypeAccepted, tokB, 0, &wire.Accepted{ClientNonce: 7, ClientID: 2, TickRate: 100, Flags: wire.AcceptedUnicast})},
		{10 * msec, true, addrA, dg(wire.TypePoseInput, tokA, 2, pose(1, t0+10*msec))},
		{20 * msec, true, addrA, dg(wire.TypePoseInput, tokA, 3, pose(2, t0+20*msec))},
		{25 * msec, false, group, dg(wire.TypeSnapshot, tokG, 0, snap(1, wire.PlayerState{ClientID: 1, LastInputSeq: 2}, wire.PlayerState{ClientID: 2}))},
		{26 * msec, true, addrB, dg(wire.TypePoseInput, tokB, 1, pose(7, t0+26*msec))},
		{27 * msec, false, addrB, dg(wire.TypeSnapshot, tokB, 1, snap(1, wire.PlayerState{ClientID: 1, LastInputSeq: 2}, wire.PlayerState{ClientID: 2, LastInputSeq: 7}))},
		{30 * msec, true, addrA, dg(wire.TypePoseInput, tokA, 5, pose(3, t0+28*msec))}, // 2 ms more in transit
		{35 * msec, false, group, dg(wire.TypeSnapshot, tokG, 2, snap(2, wire.PlayerState{ClientID: 1, LastInputSeq: 3}, wire.PlayerState{ClientID: 2, LastInputSeq: 7}))},
		{36 * msec, true, addrA, []byte("not arcade at all")},
	}
}

// writeScript captures the script with the capture package, as the server
// would, and returns the file.
func writeScript(t *testing.T) string {
	t.Helper()
	return writeFrames(t, script())
}

// writeFrames captures ds as the server would and returns the file.
func writeFrames(t *testing.T, ds []scripted) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "script.pcapng")
	w, err := capture.New(path, srvAddr, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ds {
		m := &udp.Message{Buf: s.b, N: len(s.b), Addr: s.peer, RxTime: t0 + s.at}
		if s.in {
			w.Received(m)
		} else {
			w.Sent(m, t0+s.at)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCap(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("arcade-cap %v: exit %d: %s", args, code, errb.String())
	}
	return out.String()
}

func TestStatsFromScript(t *testing.T) {
	path := writeScript(t)
	a := newAnalyzer(&options{stats: true, anyT: true}, nil, io.Discard)
	if err := a.file(path); err != nil {
		t.Fatal(err)
	}
	r := a.st.report(nil)
	if len(r.Clients) != 2 || r.Datagrams != 13 || r.Malformed != 0 || r.Unattributed != 0 {
		t.Fatalf("report: %+v", r)
	}
	ca, cb := r.Clients[0], r.Clients[1]
	if ca.ClientID != 1 || ca.Name != "alice" || ca.Path != group.String() || cb.ClientID != 2 || cb.Name != "bob" || cb.Path != "unicast" {
		t.Errorf("clients: %+v / %+v", ca, cb)
	}
	if ca.FromClient != 5 || ca.ToClient != 2 || cb.FromClient != 2 || cb.ToClient != 2 {
		t.Errorf("counts: A %d/%d B %d/%d, want 5/2 and 2/2", ca.FromClient, ca.ToClient, cb.FromClient, cb.ToClient)
	}
	if ca.UpLoss.Lost != 1 || ca.UpLoss.Received != 3 {
		t.Errorf("A up loss %+v, want 1 lost of 4 (session datagrams seq 2, 3, 5)", ca.UpLoss)
	}
	if g := r.Groups[0]; g.Loss.Lost != 1 || g.Datagrams != 2 {
		t.Errorf("group %+v, want 2 datagrams, 1 lost", g)
	}
	// A: inputs at 10, 20 → snapshot at 25; input at 30 → 35.
	if m := ca.InputToState; m != (Millis{Samples: 3, P50: 5, P99: 15, Max: 15}) {
		t.Errorf("A input→state %+v, want 3 samples 5/15/15 ms", m)
	}
	if m := cb.InputToState; m != (Millis{Samples: 1, P50: 1, P99: 1, Max: 1}) {
		t.Errorf("B input→state %+v, want 1 ms", m)
	}
	// Transit 0, 0, 2 ms: J = 0 + (2 − 0)/16 = 0.125 ms. Gaps 10, 10 ms.
	if ca.JitterMs != 0.125 || ca.InterarrivalMs != 10 || ca.InterarrivalSDMs != 0 {
		t.Errorf("A jitter %.3f, inter-arrival %.3f ± %.3f", ca.JitterMs, ca.InterarrivalMs, ca.InterarrivalSDMs)
	}
	if r.InputToState.Samples != 4 {
		t.Errorf("all clients: %+v", r.InputToState)
	}
	text := runCap(t, "--stats", path)
	for _, want := range []string{`client 1 "alice"`, "input→state  3 samples, p50 5.000 ms, p99 15.000 ms", "up 1/4 (25.00%"} {
		if !strings.Contains(text, want) {
			t.Errorf("--stats output lacks %q:\n%s", want, text)
		}
	}
}

func TestFilters(t *testing.T) {
	path := writeScript(t)
	lines := func(args ...string) []string {
		out := strings.TrimSpace(runCap(t, append(args, path)...))
		if out == "" {
			return nil
		}
		return strings.Split(out, "\n")
	}
	if got := lines(); len(got) != 13 {
		t.Errorf("no filter: %d lines, want 13 (non-Arcade UDP skipped)", len(got))
	}
	// Client 1 from the handshake on, by address before its Accepted.
	if got := lines("--client", "1"); len(got) != 7 || !strings.Contains(got[0], "ConnectRequest c1") {
		t.Errorf("--client 1: %q", got)
	}
	if got := lines("--client", addrB.String()); len(got) != 4 {
		t.Errorf("--client %v: %q", addrB, got)
	}
	if got := lines("--type", "snapshot,6"); len(got) != 7 {
		t.Errorf("--type snapshot,6: %d lines, want 3 snapshots and 4 inputs", len(got))
	}
	if got := lines("--from", "26ms", "--to", "30ms"); len(got) != 3 {
		t.Errorf("--from 26ms --to 30ms: %q", got)
	}
	abs := time.Unix(0, t0+27*msec).UTC().Format(time.RFC3339Nano)
	if got := lines("--from", abs, "--type", "Snapshot"); len(got) != 2 {
		t.Errorf("--from %s: %q", abs, got)
	}
	want := "10.0.0.1:7777 → 239.255.77.77:7778 Snapshot tok=9999000000000009 seq=0 ack=0 tick=1 server_us=0 part=0/1 players=2/2 entities=0 inputs=[c1:2 c2:0]"
	if got := lines("--type", "Snapshot"); len(got) == 0 || !strings.HasSuffix(got[0], want) {
		t.Errorf("snapshot line:\n got %q\nwant …%q", got, want)
	}
	js := lines("--json", "--type", "PoseInput", "--client", "2")
	if len(js) != 1 || !strings.Contains(js[0], `"client":2`) || !strings.Contains(js[0], `"input_seq":7`) {
		t.Errorf("--json: %q", js)
	}
	var errb bytes.Buffer
	for _, bad := range [][]string{{"--type", "Nope", path}, {"--from", "yesterday", path}, {"--client", "x", path}, {}, {"--ports", "0", path}} {
		if code := run(bad, &bytes.Buffer{}, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2", bad, code)
		}
	}
}

// TestReadsPcapEthernet checks that a tcpdump-style classic pcap file with
// Ethernet framing decodes the same as our pcapng.
func TestReadsPcapEthernet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eth.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriterNanos(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for _, s := range script() {
		src, dst := s.peer, srvAddr
		if !s.in {
			src, dst = srvAddr, s.peer
		}
		eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 1}, DstMAC: []byte{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		u := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
		u.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, u, gopacket.Payload(s.b)); err != nil {
			t.Fatal(err)
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, t0+s.at), CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}
		if err := w.WritePacket(ci, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	if got, want := runCap(t, path), runCap(t, writeScript(t)); got != want {
		t.Errorf("pcap/Ethernet decodes differently from pcapng/raw:\n%s\nvs\n%s", got, want)
	}
}

func TestUDPFilter(t *testing.T) {
	pkt := func(proto byte, frag uint16, sport, dport uint16) []byte {
		b := make([]byte, 28)
		b[0], b[9] = 0x45, proto
		b[6], b[7] = byte(frag>>8), byte(frag)
		b[20], b[21], b[22], b[23] = byte(sport>>8), byte(sport), byte(dport>>8), byte(dport)
		return b
	}
	cases := []struct {
		ports []uint16
		pkt   []byte
		want  bool
	}{
		{nil, pkt(17, 0, 1, 2), true},
		{nil, pkt(6, 0, 1, 2), false},
		{nil, pkt(17, 0x0010, 1, 2), false}, // a later fragment
		{nil, pkt(17, 0x4000, 1, 2), true},  // DF only
		{[]uint16{7777, 7778}, pkt(17, 0, 40000, 7777), true},
		{[]uint16{7777, 7778}, pkt(17, 0, 7777, 40000), true},
		{[]uint16{7777, 7778}, pkt(17, 0, 7777, 7778), true},
		{[]uint16{7777, 7778}, pkt(17, 0, 40000, 53), false},
		{[]uint16{7777, 7778}, pkt(6, 0, 40000, 7777), false},
	}
	for i, c := range cases {
		vm, err := bpf.NewVM(udpFilter(c.ports))
		if err != nil {
			t.Fatal(err)
		}
		n, err := vm.Run(c.pkt)
		if err != nil {
			t.Fatal(err)
		}
		if (n > 0) != c.want {
			t.Errorf("case %d: accepted %d bytes, want accept=%v", i, n, c.want)
		}
	}
}

// TestSealedNotDecoded: a sealed datagram (a venue passphrase) is shown as
// sealed, not decoded as if its ciphertext were a body, and counted apart
// from the malformed ones in the report, which warns about it.
func TestSealedNotDecoded(t *testing.T) {
	b := golden(t, "sealed_ping")
	var d datagram
	f := frame{at: 1, src: netip.MustParseAddrPort("10.0.0.2:4000"), dst: netip.MustParseAddrPort("10.0.0.1:7777"), payload: b}
	if !d.decode(f) || d.err != errSealed {
		t.Fatalf("decode: %v", d.err)
	}
	if l := line(&d, 0); !strings.Contains(l, "sealed") || strings.Contains(l, "ping_id") {
		t.Errorf("text %q", l)
	}
	ss := newSessions()
	st := newStats(ss)
	st.observe(&d)
	r := st.report(nil)
	if r.Sealed != 1 || r.Malformed != 0 {
		t.Errorf("report: %d sealed, %d malformed", r.Sealed, r.Malformed)
	}
	var w strings.Builder
	writeReport(&w, r)
	if !strings.Contains(w.String(), "warning: 1 datagrams are sealed") {
		t.Errorf("report text %q", w.String())
	}
}
