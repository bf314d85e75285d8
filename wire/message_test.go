package wire

import (
	"bytes"
	"math"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSetName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"Ada", "Ada"},
		{strings.Repeat("x", 32), strings.Repeat("x", 32)},
		{strings.Repeat("x", 33), strings.Repeat("x", 32)},
		{strings.Repeat("x", 31) + "é", strings.Repeat("x", 31)}, // é is 2 bytes: cut before it
		{strings.Repeat("x", 30) + "é", strings.Repeat("x", 30) + "é"},
		{strings.Repeat("x", 29) + "✈✈", strings.Repeat("x", 29) + "✈"}, // ✈ is 3 bytes
		{strings.Repeat("x", 30) + "✈", strings.Repeat("x", 30)},
		{"Zoë Łukasiewicz — Team Blue #07", "Zoë Łukasiewicz — Team Blue "},
		{"a\xffb", "a\uFFFDb"}, // invalid UTF-8 becomes U+FFFD
		{"\xc3", "\uFFFD"},
	} {
		var m ConnectRequest
		m.Name = [MaxNameLen]byte{0: 'q', 31: 'q'} // stale bytes are cleared
		m.SetName(tc.in)
		got := m.NameString()
		if got != tc.want || int(m.NameLen) != len(tc.want) || !utf8.ValidString(got) {
			t.Errorf("SetName(%q): %q (len %d), want %q", tc.in, got, m.NameLen, tc.want)
		}
		if tail := m.Name[m.NameLen:]; !bytes.Equal(tail, make([]byte, len(tail))) {
			t.Errorf("SetName(%q): stale bytes after the name: %q", tc.in, tail)
		}
		var r ChallengeResponse
		r.SetName(tc.in)
		if r.NameString() != got || r.NameLen != m.NameLen {
			t.Errorf("ChallengeResponse.SetName(%q) = %q", tc.in, r.NameString())
		}
		// The name survives the wire.
		var back ConnectRequest
		if _, err := back.Parse(m.Append(nil)); err != nil || back != m {
			t.Errorf("SetName(%q): round trip %v, %+v", tc.in, err, back)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		var m ConnectRequest
		m.SetName("Zoë Łukasiewicz — Team Blue #07")
	}); n != 0 {
		t.Errorf("SetName allocates %v times", n)
	}
}

// TestNameLenClamp checks that a NameLen set by hand above MaxNameLen is
// sent as MaxNameLen, keeping Len, Append and Parse consistent.
func TestNameLenClamp(t *testing.T) {
	r := ChallengeResponse{NameLen: 200}
	b := r.Append(nil)
	if len(b) != r.Len() || b[offConnNameLen] != MaxNameLen {
		t.Fatalf("len %d, Len %d, name length byte %d", len(b), r.Len(), b[offConnNameLen])
	}
	c := ConnectRequest{NameLen: 200}
	if b := c.Append(nil); len(b) != ConnectRequestBodySize || b[offConnNameLen] != MaxNameLen {
		t.Fatalf("ConnectRequest: len %d, name length byte %d", len(b), b[offConnNameLen])
	}
}

// TestChallengeResponsePlayerID checks that the player id follows the
// cookie whatever the name length, and that it survives the wire.
func TestChallengeResponsePlayerID(t *testing.T) {
	for l := range MaxNameLen + 1 {
		m := ChallengeResponse{ClientNonce: 9, Cookie: cookie(3), PlayerID: testPlayerID}
		m.SetName(strings.Repeat("n", l))
		b := m.Append(nil)
		if len(b) != m.Len() || len(b) != offConnName+l+CookieSize+PlayerIDSize {
			t.Fatalf("name length %d: %d bytes, Len %d", l, len(b), m.Len())
		}
		if c, id := b[offConnName+l:][:CookieSize], b[len(b)-PlayerIDSize:]; !bytes.Equal(c, m.Cookie[:]) || !bytes.Equal(id, testPlayerID[:]) {
			t.Fatalf("name length %d: cookie % x, player id % x", l, c, id)
		}
		var back ChallengeResponse
		if n, err := back.Parse(b); err != nil || n != len(b) || back != m {
			t.Fatalf("name length %d: Parse = %d, %v, %+v", l, n, err, back)
		}
	}
	// An anonymous response parsed into a reused message clears the old id.
	anon := ChallengeResponse{ClientNonce: 1}
	reused := ChallengeResponse{PlayerID: testPlayerID}
	if _, err := reused.Parse(anon.Append(nil)); err != nil || reused.PlayerID != ([PlayerIDSize]byte{}) {
		t.Fatalf("anonymous: %v, player id % x", err, reused.PlayerID)
	}
}

func TestConnectRequestPadding(t *testing.T) {
	var h Header
	h.Type = TypeConnectRequest
	var m ConnectRequest
	m.SetName("Ada")
	d := m.Append(h.Append(nil))
	if len(d) != MinConnectRequestSize {
		t.Fatalf("datagram is %d bytes, want %d", len(d), MinConnectRequestSize)
	}
	if tail := d[HeaderSize+offConnName+3:]; !bytes.Equal(tail, make([]byte, len(tail))) {
		t.Fatal("padding is not zero")
	}
	if m.Len() != ConnectRequestBodySize {
		t.Fatalf("Len = %d", m.Len())
	}
}

func TestAcceptedMulticast(t *testing.T) {
	group := netip.MustParseAddrPort("239.255.77.77:7778")
	for _, tc := range []struct {
		name   string
		in     netip.AddrPort
		wire   [6]byte // address and port as sent
		parsed netip.AddrPort
	}{
		{"IPv4", group, [6]byte{239, 255, 77, 77, 0x62, 0x1e}, group},
		{"none", netip.AddrPort{}, [6]byte{}, netip.AddrPort{}},
		{"0.0.0.0:0", netip.MustParseAddrPort("0.0.0.0:0"), [6]byte{}, netip.AddrPort{}},
		{"IPv4-mapped IPv6", netip.MustParseAddrPort("[::ffff:239.1.2.3]:9"), [6]byte{239, 1, 2, 3, 9, 0}, netip.MustParseAddrPort("239.1.2.3:9")},
		{"IPv6", netip.MustParseAddrPort("[ff02::1]:7778"), [6]byte{}, netip.AddrPort{}},
		{"port 0", netip.MustParseAddrPort("239.0.0.1:0"), [6]byte{239, 0, 0, 1, 0, 0}, netip.MustParseAddrPort("239.0.0.1:0")},
	} {
		m := Accepted{Multicast: tc.in}
		b := m.Append(nil)
		if got := [6]byte(b[offAccGroupAddr:]); got != tc.wire {
			t.Errorf("%s: sent % x, want % x", tc.name, got, tc.wire)
		}
		var back Accepted
		if _, err := back.Parse(b); err != nil || back.Multicast != tc.parsed {
			t.Errorf("%s: parsed %v, %v; want %v", tc.name, back.Multicast, err, tc.parsed)
		}
	}
}

// TestAcceptedFlags checks the flag bits' positions and that bits version 1
// does not define are passed through.
func TestAcceptedFlags(t *testing.T) {
	for _, tc := range []struct {
		flags uint8
		wire  byte
	}{{AcceptedUnicast, 0x01}, {AcceptedResumed, 0x02}, {AcceptedUnicast | AcceptedResumed, 0x03}, {0xff, 0xff}} {
		m := Accepted{ClientID: 1, Flags: tc.flags}
		b := m.Append(nil)
		if b[offAccFlags] != tc.wire {
			t.Errorf("flags %#x sent as %#x, want %#x", tc.flags, b[offAccFlags], tc.wire)
		}
		var back Accepted
		if _, err := back.Parse(b); err != nil || back.Flags != tc.flags {
			t.Errorf("flags %#x parsed as %#x, %v", tc.flags, back.Flags, err)
		}
	}
}

func TestAnalogQuantization(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	for _, tc := range []struct {
		in   float32
		want byte
	}{{0, 0}, {1, 255}, {0.5, 128}, {0.499, 127}, {-3, 0}, {7, 255}, {nan, 0}, {inf, 255}, {-inf, 0}, {1.0 / 510, 1}} {
		if got := quantUnit(tc.in); got != tc.want {
			t.Errorf("quantUnit(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		in   float32
		want int8
	}{{0, 0}, {1, 127}, {-1, -127}, {0.5, 64}, {-0.5, -64}, {-2, -127}, {2, 127}, {nan, 0}, {-inf, -127}, {inf, 127}} {
		if got := int8(quantSigned(tc.in)); got != tc.want {
			t.Errorf("quantSigned(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
	if got := dequantSigned(0x80); got != -1 {
		t.Errorf("dequantSigned(-128) = %v, want -1", got)
	}
	for q := range 256 {
		if got := quantUnit(dequantUnit(byte(q))); got != byte(q) {
			t.Errorf("unit %d decodes and encodes to %d", q, got)
		}
		if q != 0x80 {
			if got := quantSigned(dequantSigned(byte(q))); got != byte(q) {
				t.Errorf("signed %d decodes and encodes to %d", int8(q), int8(got))
			}
		}
	}
}

// TestSnapshotReuse checks that Parse reuses the record slices and leaves
// no stale state from a previous, larger snapshot.
func TestSnapshotReuse(t *testing.T) {
	big := Snapshot{Parts: 1, Flags: SnapshotHasHash, StateHash: 7, Players: players(10), Entities: entities(40)}
	small := Snapshot{Tick: 3, Parts: 1, Players: players(2)}
	var m Snapshot
	if _, err := m.Parse(big.Append(nil)); err != nil {
		t.Fatal(err)
	}
	p0, e0 := &m.Players[:1][0], &m.Entities[:1][0]
	if _, err := m.Parse(small.Append(nil)); err != nil {
		t.Fatal(err)
	}
	if !snapshotEqual(&m, &small) {
		t.Fatalf("got %+v, want %+v", m, small)
	}
	if &m.Players[0] != p0 || &m.Entities[:1][0] != e0 {
		t.Error("Parse did not reuse the record slices")
	}
}

// TestSnapshotAppendClamp checks that more records than a count byte holds
// are cut at 255, keeping Len and Append consistent.
func TestSnapshotAppendClamp(t *testing.T) {
	s := Snapshot{Parts: 1, Players: make([]PlayerState, 300), Entities: make([]EntityState, 256)}
	b := s.Append(nil)
	if len(b) != s.Len() || s.Len() != SnapshotLen(255, 255, false) {
		t.Fatalf("len %d, Len %d", len(b), s.Len())
	}
	if b[offSnapHash] != 255 || b[offSnapHash+1+255*SnapshotPlayerSize] != 255 {
		t.Fatal("counts not clamped to 255")
	}
}

func TestSnapshotSizes(t *testing.T) {
	if SnapshotLen(0, 0, false) != SnapshotFixedSize || SnapshotLen(1, 2, true) != SnapshotFixedSize+8+40+28 {
		t.Error("SnapshotLen")
	}
	if SnapshotLen(MaxSnapshotPlayers, 0, true) > MaxBodySize || SnapshotLen(MaxSnapshotPlayers+1, 0, false) <= MaxBodySize {
		t.Errorf("MaxSnapshotPlayers = %d does not match the datagram size", MaxSnapshotPlayers)
	}
	if SnapshotLen(0, MaxSnapshotEntities, true) > MaxBodySize || SnapshotLen(0, MaxSnapshotEntities+1, false) <= MaxBodySize {
		t.Errorf("MaxSnapshotEntities = %d does not match the datagram size", MaxSnapshotEntities)
	}
	// What fits is what parses.
	for np := range MaxSnapshotPlayers + 2 {
		for _, ne := range []int{0, 1, 10, 50, MaxSnapshotEntities, MaxSnapshotEntities + 1} {
			s := Snapshot{Parts: 1, Flags: SnapshotHasHash, Players: players(np), Entities: entities(ne)}
			_, err := s.Parse(s.Append(nil))
			if fits := SnapshotLen(np, ne, true) <= MaxBodySize; fits != (err == nil) {
				t.Errorf("%d players, %d entities: fits %v, Parse %v", np, ne, fits, err)
			}
		}
	}
}

// TestEntityUpdateReuse checks that Parse reuses the record slices and
// leaves no stale state from a previous, larger update.
func TestEntityUpdateReuse(t *testing.T) {
	big := EntityUpdate{Tick: 1, ServerTime: 2, Causes: causes(16), Entities: entities(40)}
	small := EntityUpdate{Tick: 5, ServerTime: 6, Causes: causes(1), Entities: entities(2)}
	var m EntityUpdate
	if _, err := m.Parse(big.Append(nil)); err != nil {
		t.Fatal(err)
	}
	c0, e0 := &m.Causes[0], &m.Entities[0]
	if _, err := m.Parse(small.Append(nil)); err != nil {
		t.Fatal(err)
	}
	if !entityUpdateEqual(&m, &small) {
		t.Fatalf("got %+v, want %+v", m, small)
	}
	if &m.Causes[0] != c0 || &m.Entities[0] != e0 {
		t.Error("Parse did not reuse the record slices")
	}
	if _, err := m.Parse((&EntityUpdate{}).Append(nil)); err != nil || len(m.Causes) != 0 || len(m.Entities) != 0 {
		t.Fatalf("empty update: %v, %d causes, %d entities", err, len(m.Causes), len(m.Entities))
	}
	// A failed Parse leaves the update as it was.
	if _, err := m.Parse(small.Append(nil)); err != nil {
		t.Fatal(err)
	}
	bad := body(t, "entity_update", map[int]byte{offUpdCauses: 0})
	if n, err := m.Parse(bad); n != 0 || err != ErrField || !entityUpdateEqual(&m, &small) {
		t.Fatalf("cause client 0: %d, %v, %+v", n, err, m)
	}
}

// TestEntityUpdateAppendClamp checks that more records than a count byte
// holds are cut at 255, keeping Len and Append consistent.
func TestEntityUpdateAppendClamp(t *testing.T) {
	u := EntityUpdate{Causes: make([]UpdateCause, 300), Entities: make([]EntityState, 256), Players: make([]PlayerState, 257)}
	b := u.Append(nil)
	offPlayers := offUpdCauses + 255*UpdateCauseSize + 1 + 255*SnapshotEntitySize
	if len(b) != u.Len() || u.Len() != EntityUpdateLen(255, 255)+255*SnapshotPlayerSize || b[offUpdCauseCount] != 255 || b[offUpdCauses+255*UpdateCauseSize] != 255 || b[offPlayers] != 255 {
		t.Fatalf("len %d, Len %d, counts %d %d %d", len(b), u.Len(), b[offUpdCauseCount], b[offUpdCauses+255*UpdateCauseSize], b[offPlayers])
	}
}

func TestEntityUpdateSizes(t *testing.T) {
	if EntityUpdateLen(0, 0) != EntityUpdateFixedSize || EntityUpdateFixedSize != 4+8+1+1+1 ||
		EntityUpdateLen(2, 3) != 15+2*6+3*14 || MaxEntityUpdateEntities != 83 || MaxEntityUpdatePlayers != 29 {
		t.Error("EntityUpdateLen")
	}
	// What fits is what parses.
	for _, nc := range []int{0, 1, 3, 16, 100, 192, 193, 194} {
		for ne := range MaxEntityUpdateEntities + 3 {
			for _, np := range []int{0, 1, 2, MaxEntityUpdatePlayers, MaxEntityUpdatePlayers + 1} {
				u := EntityUpdate{Causes: causes(nc), Entities: entities(ne), Players: players(np)}
				_, err := new(EntityUpdate).Parse(u.Append(nil))
				n := EntityUpdateLen(nc, ne) + np*SnapshotPlayerSize
				if fits := n <= MaxBodySize; fits != (err == nil) || (nc == 0 && np == 0 && fits != (ne <= MaxEntityUpdateEntities)) ||
					(nc == 0 && ne == 0 && fits != (np <= MaxEntityUpdatePlayers)) {
					t.Errorf("%d causes, %d entities, %d players: fits %v, Parse %v", nc, ne, np, fits, err)
				}
			}
		}
	}
}

// TestEntityUpdatePlayerZero: a player record naming client 0 is ErrField,
// like a cause naming it.
func TestEntityUpdatePlayerZero(t *testing.T) {
	ps := players(3)
	ps[2].ClientID = 0
	var u EntityUpdate
	if n, err := u.Parse((&EntityUpdate{Players: ps}).Append(nil)); err != ErrField || n != 0 {
		t.Fatalf("Parse = %d, %v; want 0, ErrField", n, err)
	}
}

// TestEntityUpdateNewestInput checks the lookup a client measuring its own
// latency uses: the newest of its inputs named, with wraparound.
func TestEntityUpdateNewestInput(t *testing.T) {
	u := EntityUpdate{Causes: []UpdateCause{{4, 0xfffffffe}, {9, 3}, {4, 1}, {4, 0xffffffff}, {9, 2}}}
	for _, tc := range []struct {
		client uint16
		input  uint32
		ok     bool
	}{{4, 1, true}, {9, 3, true}, {5, 0, false}, {0, 0, false}} {
		if in, ok := u.NewestInput(tc.client); in != tc.input || ok != tc.ok {
			t.Errorf("NewestInput(%d) = %d, %v; want %d, %v", tc.client, in, ok, tc.input, tc.ok)
		}
	}
	if _, ok := (&EntityUpdate{}).NewestInput(4); ok {
		t.Error("NewestInput of an update without causes")
	}
}

// TestEntityRecordsShared checks that an entity update's entity and player
// records are the same bytes as a snapshot's records for the same entities
// and players.
func TestEntityRecordsShared(t *testing.T) {
	es := flagged(entities(5), EntityHeld, EntitySleeping, EntityGrabbable, 0xff, 0)
	s := (&Snapshot{Parts: 1, Entities: es}).Append(nil)
	u := (&EntityUpdate{Entities: es}).Append(nil)
	if rs, ru := s[SnapshotFixedSize-1:], u[EntityUpdateFixedSize-2:len(u)-1]; !bytes.Equal(rs, ru) {
		t.Fatalf("entity records differ:\nsnapshot %x\nupdate   %x", rs, ru)
	}
	ps := players(4)
	s = (&Snapshot{Parts: 1, Players: ps}).Append(nil)
	u = (&EntityUpdate{Players: ps}).Append(nil)
	if rs, ru := s[SnapshotFixedSize-2:len(s)-1], u[EntityUpdateFixedSize-1:]; !bytes.Equal(rs, ru) {
		t.Fatalf("player records differ:\nsnapshot %x\nupdate   %x", rs, ru)
	}
}
