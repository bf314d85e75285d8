package wire

import (
	"bytes"
	"encoding/hex"
	"math"
	"reflect"
	"strings"
	"testing"
)

// rpcVectors are the RPC messages with their expected bytes (type id, then
// body), in hex as in docs/PROTOCOL.md.
func rpcVectors() []struct {
	name string
	m    rpcMessage
	hex  string
} {
	big := Text{Text: []byte(strings.Repeat("é", 3))}
	return []struct {
		name string
		m    rpcMessage
		hex  string
	}{
		{"grab nearest, right", &GrabRequest{Hand: Right}, "0100 01 0000"},
		{"grab entity 0x1234, left", &GrabRequest{Hand: Left, Entity: 0x1234}, "0100 00 3412"},
		{"release right", &ReleaseRequest{Hand: Right}, "0200 01"},
		{"button 3 down", &ButtonEvent{Button: 3, Down: true, ClientTime: 5_000_123}, "0300 03 01 bb4b4c0000000000"},
		{"button 255 up", &ButtonEvent{Button: 255, ClientTime: math.MaxUint64}, "0300 ff 00 ffffffffffffffff"},
		{"scene change request", &SceneChangeRequest{sceneName("arena")}, "0400 05 6172656e61"},
		{"scene change request, empty", &SceneChangeRequest{}, "0400 00"},
		{"event", &testEvent, "0500 01 0c00 0000c03f 0000803f 000000c0 909a9e3b00000000 c8"},
		{"event haptic", &Event{Kind: EventHaptic, Cue: 0xffff, ServerTime: 1, Strength: 255}, "0500 02 ffff 00000000 00000000 00000000 0100000000000000 ff"},
		{"event unknown kind", &Event{Kind: 77}, "0500 4d 0000 00000000 00000000 00000000 0000000000000000 00"},
		{"scene change", &SceneChange{sceneName("lobby")}, "0600 05 6c6f626279"},
		{"text", &Text{Text: []byte("goal!")}, "0700 05000000 676f616c21"},
		{"text utf-8", &big, "0700 06000000 c3a9c3a9c3a9"},
		{"text empty", &Text{}, "0700 00000000"},
		{"desync report", &testDesyncReport, "0800 e8030000 02000000 01000000 d0070000 c4070000 efcdab8967452301 1032547698badcfe"},
		{"desync report, nothing checked", &DesyncReport{}, "0800 00000000 00000000 00000000 00000000 00000000 0000000000000000 0000000000000000"},
	}
}

// rpcFor returns a zero RPC body of type t, or nil.
func rpcFor(t RPCType) rpcMessage {
	switch t {
	case RPCGrabRequest:
		return new(GrabRequest)
	case RPCReleaseRequest:
		return new(ReleaseRequest)
	case RPCButtonEvent:
		return new(ButtonEvent)
	case RPCSceneChangeRequest:
		return new(SceneChangeRequest)
	case RPCEvent:
		return new(Event)
	case RPCSceneChange:
		return new(SceneChange)
	case RPCText:
		return new(Text)
	case RPCDesyncReport:
		return new(DesyncReport)
	}
	return nil
}

func TestRPCGolden(t *testing.T) {
	seen := map[RPCType]bool{}
	for _, v := range rpcVectors() {
		want, err := hex.DecodeString(strings.ReplaceAll(v.hex, " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		got := rpcBytes(v.m)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: encoded %x, want %x", v.name, got, want)
			continue
		}
		typ, body, err := ParseRPC(want)
		if err != nil || typ != v.m.RPCType() {
			t.Errorf("%s: ParseRPC = %v, %v", v.name, typ, err)
			continue
		}
		seen[typ] = true
		m := rpcFor(typ)
		if n, err := m.Parse(body); err != nil || n != len(body) || n != v.m.Len() || !reflect.DeepEqual(m, v.m) {
			t.Errorf("%s: Parse = %d, %v, %+v", v.name, n, err, m)
		}
		// Every proper prefix fails; trailing bytes are ignored.
		for k := range len(body) {
			if n, err := rpcFor(typ).Parse(body[:k]); err == nil {
				t.Errorf("%s: %d of %d bytes parsed: %d", v.name, k, len(body), n)
			}
		}
		m = rpcFor(typ)
		if n, err := m.Parse(append(bytes.Clone(body), 9, 9)); err != nil || n != len(body) || !reflect.DeepEqual(m, v.m) {
			t.Errorf("%s with trailing bytes: %d, %v", v.name, n, err)
		}
	}
	for typ := RPCType(1); typ <= MaxRPCType; typ++ {
		if !seen[typ] || typ.String() == "unknown" {
			t.Errorf("no vector or name for RPC type %d", typ)
		}
	}
	if RPCType(0).String() != "unknown" || (MaxRPCType+1).String() != "unknown" {
		t.Error("unknown RPC types have names")
	}
	if _, _, err := ParseRPC([]byte{1}); err != ErrShort {
		t.Errorf("ParseRPC of 1 byte: %v", err)
	}
}

func TestRPCParseErrors(t *testing.T) {
	long := make([]byte, TextHeaderSize)
	long[0], long[1], long[2], long[3] = 0xfb, 0xff, 0x03, 0x00 // MaxTextLen+1
	for _, tc := range []struct {
		name string
		m    codec
		b    []byte
		want error
	}{
		{"grab hand 2", new(GrabRequest), []byte{2, 0, 0}, ErrField},
		{"release hand 255", new(ReleaseRequest), []byte{255}, ErrField},
		{"button down 2", new(ButtonEvent), []byte{1, 2, 0, 0, 0, 0, 0, 0, 0, 0}, ErrField},
		{"scene name 65", new(SceneChangeRequest), append([]byte{65}, make([]byte, 65)...), ErrField},
		{"scene name bad utf-8", new(SceneChange), []byte{2, 0xc3, 0x28}, ErrField},
		{"event kind 0", new(Event), make([]byte, EventSize), ErrField},
		{"text too long", new(Text), long, ErrField},
		{"text bad utf-8", new(Text), []byte{1, 0, 0, 0, 0xff}, ErrField},
		{"text short", new(Text), []byte{5, 0, 0, 0, 'a'}, ErrShort},
		{"message too long", new(Message), []byte{0xff, 0xff}, ErrField},
		{"message short", new(Message), []byte{3, 0, 1, 2}, ErrShort},
	} {
		if n, err := tc.m.Parse(tc.b); err != tc.want || n != 0 {
			t.Errorf("%s: Parse = %d, %v; want 0, %v", tc.name, n, err, tc.want)
		}
		if !reflect.ValueOf(tc.m).Elem().IsZero() {
			t.Errorf("%s: failed Parse changed the message", tc.name)
		}
	}
}

func TestRPCLimits(t *testing.T) {
	var n SceneName
	n.SetName(strings.Repeat("ü", 40)) // 80 bytes: cut at 64
	if n.NameLen != MaxSceneNameLen || n.NameString() != strings.Repeat("ü", 32) {
		t.Errorf("SetName: %d %q", n.NameLen, n.NameString())
	}
	text := Text{Text: bytes.Repeat([]byte("x"), MaxTextLen)}
	if b := rpcBytes(&text); len(b) != MaxRPCMessage {
		t.Errorf("largest Text is a %d-byte message, want %d", len(b), MaxRPCMessage)
	}
	var back Text
	if n, err := back.Parse(text.Append(nil)); err != nil || n != text.Len() || len(back.Text) != MaxTextLen {
		t.Errorf("largest Text: %d, %v", n, err)
	}
	if l := (&Message{Payload: make([]byte, MaxMessagePayload)}).Len(); HeaderSize+l != MaxDatagramSize {
		t.Errorf("largest Message datagram %d bytes", HeaderSize+l)
	}
}

func TestRPCZeroAlloc(t *testing.T) {
	buf := make([]byte, 0, 256)
	for _, v := range rpcVectors() {
		enc := v.m.Append(nil)
		dst := rpcFor(v.m.RPCType())
		if n := testing.AllocsPerRun(100, func() { buf = v.m.Append(AppendRPCType(buf[:0], v.m.RPCType())) }); n != 0 {
			t.Errorf("%s: Append allocates %v times", v.name, n)
		}
		if n := testing.AllocsPerRun(100, func() { ParseRPC(buf); dst.Parse(enc) }); n != 0 {
			t.Errorf("%s: Parse allocates %v times", v.name, n)
		}
	}
	var n SceneName
	if a := testing.AllocsPerRun(100, func() { n.SetName("the arena") }); a != 0 {
		t.Errorf("SetName allocates %v times", a)
	}
}

// fuzzRPCBody is fuzzBody with the bodies of the RPC vectors of T's type
// as seeds.
func fuzzRPCBody[T any, P interface {
	*T
	rpcMessage
}](f *testing.F) {
	for _, v := range rpcVectors() {
		if v.m.RPCType() == P(new(T)).RPCType() {
			b := v.m.Append(nil)
			f.Add(b)
			f.Add(b[:len(b)-1])
		}
	}
	f.Add([]byte{})
	fuzzBody[T, P](f)
}

func FuzzGrabRequest(f *testing.F)        { fuzzRPCBody[GrabRequest](f) }
func FuzzReleaseRequest(f *testing.F)     { fuzzRPCBody[ReleaseRequest](f) }
func FuzzButtonEvent(f *testing.F)        { fuzzRPCBody[ButtonEvent](f) }
func FuzzSceneChangeRequest(f *testing.F) { fuzzRPCBody[SceneChangeRequest](f) }
func FuzzEvent(f *testing.F)              { fuzzRPCBody[Event](f) }
func FuzzSceneChange(f *testing.F)        { fuzzRPCBody[SceneChange](f) }
func FuzzText(f *testing.F)               { fuzzRPCBody[Text](f) }
func FuzzDesyncReport(f *testing.F)       { fuzzRPCBody[DesyncReport](f) }

// FuzzRPC parses RPC messages as a receiver does: the type id, then the
// body of that type. A message that parses re-encodes stably.
func FuzzRPC(f *testing.F) {
	for _, v := range rpcVectors() {
		f.Add(rpcBytes(v.m))
	}
	f.Add([]byte{0x63, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		typ, body, err := ParseRPC(data)
		if err != nil {
			return
		}
		m := rpcFor(typ)
		if m == nil {
			return
		}
		checkRoundTrip(t, m, rpcFor(typ), body)
	})
}
