package discovery

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/arcadexr/arcade/internal/golden"
)

var update = flag.Bool("update", false, "rewrite the golden vectors in ../testdata/discovery and the fuzz seeds in testdata/fuzz")

// goldenDir holds the beacon's golden vectors, one file per datagram, in
// the format of testdata/wire (docs/PROTOCOL.md, "Golden vectors").
const goldenDir = "../testdata/discovery"

// field is one field of a golden datagram: its size and meaning.
type field struct {
	size    int
	comment string
}

type goldenVector struct {
	name, what string
	probe      *BeaconProbe
	probeSize  int
	reply      *BeaconReply
}

var goldenText = []string{"v=1", "id=00112233aabbccdd", "tick=120", "mcast=239.255.77.77:7778", "players=3/64", "scene=demo"}

func goldenVectors() []goldenVector {
	full := &BeaconReply{Nonce: 0xdeadbeef, Port: 7777, Instance: "Arena", Text: goldenText}
	trunc := &BeaconReply{Nonce: 0x11223344, Port: 7777, Instance: "Arena", Text: goldenText}
	epoch := &BeaconReply{Nonce: 0xdeadbeef, Port: 7777, Instance: "Arena", Text: append(slices.Clone(goldenText), "epoch=3")}
	if !trunc.fit(BeaconMinProbeSize) {
		panic("truncated reply does not fit")
	}
	return []goldenVector{
		{name: "probe", what: "beacon probe as clients send it, padded to 512 bytes", probe: &BeaconProbe{Nonce: 0xdeadbeef}, probeSize: BeaconProbeSize},
		{name: "probe_min", what: "smallest beacon probe a server answers: 64 bytes", probe: &BeaconProbe{Nonce: 0x11223344}, probeSize: BeaconMinProbeSize},
		{name: "reply", what: "beacon reply to probe.hex: instance \"Arena\", game port 7777, every TXT string", reply: full},
		{name: "reply_truncated", what: "beacon reply to probe_min.hex: the strings that fit in 64 bytes, truncated flag set", reply: trunc},
		{name: "reply_epoch", what: "beacon reply to probe.hex from the active server of a standby pair (§18.7): every TXT string, then epoch=3", reply: epoch},
	}
}

func (v goldenVector) datagram() []byte {
	if v.probe != nil {
		return AppendProbe(nil, *v.probe, v.probeSize)
	}
	b, err := AppendReply(nil, v.reply)
	if err != nil {
		panic(err)
	}
	return b
}

// dissect splits a beacon datagram into fields following the layout of
// docs/PROTOCOL.md, independently of the codec.
func dissect(b []byte) ([]field, error) {
	if len(b) < 8 || string(b[:4]) != "ARCB" {
		return nil, fmt.Errorf("not a beacon datagram")
	}
	fs := []field{{4, `magic "ARCB"`}, {1, fmt.Sprintf("version = %d", b[4])}}
	switch b[5] {
	case 1:
		fs = append(fs, field{1, "type = 1 (probe)"}, field{2, "reserved = 0"},
			field{4, fmt.Sprintf("nonce = 0x%08x", binary.LittleEndian.Uint32(b[8:]))},
			field{len(b) - 12, fmt.Sprintf("padding: %d zero bytes", len(b)-12)})
	case 2:
		nameLen := int(b[7])
		textLen := int(binary.LittleEndian.Uint16(b[14:]))
		fs = append(fs, field{1, "type = 2 (reply)"}, field{1, fmt.Sprintf("flags = 0x%02x", b[6])},
			field{1, fmt.Sprintf("name length = %d", nameLen)},
			field{4, fmt.Sprintf("nonce = 0x%08x", binary.LittleEndian.Uint32(b[8:]))},
			field{2, fmt.Sprintf("game port = %d", binary.LittleEndian.Uint16(b[12:]))},
			field{2, fmt.Sprintf("text length = %d", textLen)},
			field{nameLen, fmt.Sprintf("name %q", b[16:16+nameLen])})
		text := b[16+nameLen : 16+nameLen+textLen]
		for len(text) > 0 {
			n := int(text[0])
			fs = append(fs, field{1 + n, fmt.Sprintf("string: length %d, %q", n, text[1:1+n])})
			text = text[1+n:]
		}
	default:
		return nil, fmt.Errorf("type %d", b[5])
	}
	total := 0
	for _, f := range fs {
		total += f.size
	}
	if total != len(b) {
		return nil, fmt.Errorf("fields cover %d of %d bytes", total, len(b))
	}
	return fs, nil
}

func readHex(path string) ([]byte, error) { return golden.ReadHex(path) }

func writeGolden(t *testing.T) {
	if err := os.MkdirAll(goldenDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range goldenVectors() {
		b := v.datagram()
		fields, err := dissect(b)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		var w strings.Builder
		fmt.Fprintf(&w, "# %s: %s.\n", v.name, v.what)
		fmt.Fprintf(&w, "# %d bytes. Layout: docs/PROTOCOL.md, \"Discovery\".\n", len(b))
		w.WriteString("# One field per line: its bytes in hex as sent, then '#' and its meaning.\n")
		w.WriteString("# Regenerate with: go test ./discovery -run Golden -update\n")
		off := 0
		for _, f := range fields {
			for i := 0; i < f.size; i += 32 {
				chunk := b[off+i : off+min(i+32, f.size)]
				comment := f.comment
				if i > 0 {
					comment = "(continued)"
				}
				fmt.Fprintf(&w, "%-24s # %s\n", hex.EncodeToString(chunk), comment)
			}
			if f.size == 0 {
				fmt.Fprintf(&w, "%-24s # %s\n", "", f.comment)
			}
			off += f.size
		}
		if err := os.WriteFile(filepath.Join(goldenDir, v.name+".hex"), []byte(w.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGolden encodes each vector and compares with its file, and decodes
// the file and compares with the values.
func TestGolden(t *testing.T) {
	if *update {
		writeGolden(t)
		writeFuzzSeeds(t)
	}
	for _, v := range goldenVectors() {
		t.Run(v.name, func(t *testing.T) {
			want, err := readHex(filepath.Join(goldenDir, v.name+".hex"))
			if err != nil {
				t.Fatal(err)
			}
			got := v.datagram()
			if !bytes.Equal(got, want) {
				t.Fatalf("encoding differs from %s.hex (run with -update if intended)\n got %x\nwant %x", v.name, got, want)
			}
			if _, err := dissect(want); err != nil {
				t.Fatal(err)
			}
			if v.probe != nil {
				p, n, err := ParseProbe(want)
				if err != nil || n != len(want) || p != *v.probe {
					t.Fatalf("ParseProbe = %+v, %d, %v", p, n, err)
				}
				return
			}
			r, n, err := ParseReply(want)
			if err != nil || n != len(want) || !reflect.DeepEqual(r, *v.reply) {
				t.Fatalf("ParseReply = %+v, %d, %v; want %+v", r, n, err, *v.reply)
			}
		})
	}
}

func TestBeaconDecodeRules(t *testing.T) {
	probe := AppendProbe(nil, BeaconProbe{Nonce: 7}, BeaconMinProbeSize)
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(probe)) }
	for name, c := range map[string]struct {
		b   []byte
		err error
	}{
		"short":       {probe[:63], errBeaconShort},
		"long":        {make([]byte, 1201), errBeaconLong},
		"magic":       {mod(func(b []byte) []byte { b[0] = 'X'; return b }), errBeaconMagic},
		"version":     {mod(func(b []byte) []byte { b[4] = 2; return b }), errBeaconVersion},
		"type":        {mod(func(b []byte) []byte { b[5] = 2; return b }), errBeaconType},
		"padding set": {mod(func(b []byte) []byte { b[6], b[20] = 0xff, 0xff; return b }), nil},
	} {
		_, _, err := ParseProbe(c.b)
		if err != c.err {
			t.Errorf("%s: %v, want %v", name, err, c.err)
		}
	}
	reply, _ := AppendReply(nil, &BeaconReply{Nonce: 1, Port: 2, Instance: "x", Text: []string{"v=1"}})
	if _, _, err := ParseReply(reply[:len(reply)-1]); err == nil {
		t.Error("reply cut short parsed")
	}
	r, n, err := ParseReply(append(bytes.Clone(reply), 1, 2, 3))
	if err != nil || n != len(reply) || r.Instance != "x" {
		t.Errorf("trailing bytes: %+v %d %v", r, n, err)
	}
	bad := bytes.Clone(reply)
	bad[len(bad)-4] = 9 // string length past the text
	if _, _, err := ParseReply(bad); err != errBeaconText {
		t.Errorf("bad string length: %v", err)
	}
}

// TestBeaconResponderSizes: the reply is never longer than the probe;
// a probe too small for the strings gets a truncated reply, one too small
// for the name none.
func TestBeaconResponderSizes(t *testing.T) {
	adv := testAdvert()
	br, err := NewBeaconResponder(Config{Advert: adv, Interfaces: []Interface{eth0}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{64, 80, 100, 128, 512, 1200} {
		p := AppendProbe(nil, BeaconProbe{Nonce: uint32(size)}, size)
		out := br.handle(p, peer, eth0.Index)
		if out == nil {
			t.Fatalf("size %d: no reply", size)
		}
		if len(out) > size {
			t.Errorf("size %d: reply of %d bytes", size, len(out))
		}
		r, _, err := ParseReply(out)
		if err != nil || r.Nonce != uint32(size) || r.Port != 7777 || r.Instance != "Arena" {
			t.Fatalf("size %d: %+v %v", size, r, err)
		}
		if full := len(r.Text) == 6; full == r.Truncated {
			t.Errorf("size %d: %d strings, truncated %v", size, len(r.Text), r.Truncated)
		}
	}
	long := adv
	long.Instance = strings.Repeat("n", 60)
	br2, _ := NewBeaconResponder(Config{Advert: long, Interfaces: []Interface{eth0}}, nil, nil)
	if out := br2.handle(AppendProbe(nil, BeaconProbe{}, 64), peer, eth0.Index); out != nil {
		t.Errorf("reply of %d bytes to a 64-byte probe with a 60-byte name", len(out))
	}
	if br2.stats.Dropped[DropBeaconTooSmall].Load() != 1 {
		t.Error("too-small probe not counted")
	}
	if out := br.handle(AppendProbe(nil, BeaconProbe{}, 64), peer, 99); out != nil || br.stats.Dropped[DropOtherInterface].Load() != 1 {
		t.Error("probe from another interface answered")
	}
}

// writeFuzzSeeds writes the seed corpora of FuzzBeacon and FuzzMessage.
func writeFuzzSeeds(t *testing.T) {
	seeds := map[string]map[string][]byte{"FuzzBeacon": {}, "FuzzMessage": {}, "FuzzText": {}}
	for name, txt := range textSeeds() {
		seeds["FuzzText"][name] = appendText(nil, txt)
	}
	for _, v := range goldenVectors() {
		seeds["FuzzBeacon"][v.name] = v.datagram()
	}
	seeds["FuzzBeacon"]["empty"] = nil
	for name, b := range messageSeeds(t) {
		seeds["FuzzMessage"][name] = b
	}
	for target, files := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range files {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// FuzzBeacon: the decoders never panic; a parsed probe or reply re-encodes
// to the bytes it consumed (a probe to its header and padding length).
func FuzzBeacon(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, n, err := ParseProbe(data); err == nil {
			if n != len(data) {
				t.Fatalf("probe consumed %d of %d", n, len(data))
			}
			b := AppendProbe(nil, p, n)
			if len(b) != n || !bytes.Equal(b[:6], data[:6]) || !bytes.Equal(b[8:12], data[8:12]) {
				t.Fatalf("probe re-encoding %x from %x", b, data)
			}
		}
		r, n, err := ParseReply(data)
		if err != nil {
			if n != 0 {
				t.Fatalf("failed parse consumed %d", n)
			}
			return
		}
		if n != r.Len() || n > len(data) {
			t.Fatalf("consumed %d, Len %d, have %d", n, r.Len(), len(data))
		}
		b, err := AppendReply(nil, &r)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		r2, n2, err := ParseReply(b)
		if err != nil || n2 != len(b) || !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip: %+v vs %+v (%v)", r, r2, err)
		}
		if want := append(bytes.Clone(data[:6]), data[7:n]...); !bytes.Equal(append(bytes.Clone(b[:6]), b[7:]...), want) {
			t.Fatalf("re-encoding differs beyond the flags byte:\n%x\n%x", b, data[:n])
		}
	})
}

// TestBeaconMaxReplyFitsClientProbe: the largest reply this version can
// send fits the 512-byte probe clients send (docs/PROTOCOL.md §14.3).
func TestBeaconMaxReplyFitsClientProbe(t *testing.T) {
	a := Advert{Instance: strings.Repeat("n", MaxInstanceLen), Host: "h", Port: 65535, TickRate: 500, Capacity: 4096,
		Multicast: netipMustAP("255.255.255.255:65535"), Scene: strings.Repeat("s", 1000), ID: strings.Repeat("f", 64),
		Players: func() int { return 4096 }}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	r := BeaconReply{Instance: a.Instance, Text: a.Text(4096)}
	if r.Len() != 462 || r.Len() > BeaconProbeSize {
		t.Fatalf("largest reply %d bytes, documented 462, must fit %d", r.Len(), BeaconProbeSize)
	}
	// With the largest epoch= of a standby pair's active (§18.7).
	r.Text = a.textAt(4096, 1<<32-1)
	if r.Len() != 479 || r.Len() > BeaconProbeSize {
		t.Fatalf("largest reply of a pair's active %d bytes, documented 479, must fit %d", r.Len(), BeaconProbeSize)
	}
}

func netipMustAP(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
