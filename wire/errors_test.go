package wire

import (
	"bytes"
	"reflect"
	"testing"
)

// datagram builds a header with the given magic, version and type bytes,
// followed by n zero bytes.
func datagram(magic string, version, typ byte, n int) []byte {
	b := append([]byte(magic), version, typ, 0)
	b = append(b, make([]byte, HeaderSize-len(b))...)
	return append(b, make([]byte, n)...)
}

func TestHeaderParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		b      []byte
		want   error
		filled bool // the header is filled in despite the error
	}{
		{"empty", nil, ErrShort, false},
		{"21 bytes", datagram("ARC", 1, 6, 0)[:HeaderSize-1], ErrShort, false},
		{"21 bytes, bad magic", datagram("XYZ", 1, 6, 0)[:HeaderSize-1], ErrShort, false},
		{"1201 bytes", datagram("ARC", 1, 6, MaxDatagramSize-HeaderSize+1), ErrTooLarge, false},
		{"1201 bytes, bad magic", datagram("XRC", 1, 6, MaxDatagramSize-HeaderSize+1), ErrTooLarge, false},
		{"magic byte 0", datagram("BRC", 1, 6, 0), ErrMagic, false},
		{"magic byte 1", datagram("AQC", 1, 6, 0), ErrMagic, false},
		{"magic byte 2", datagram("ARc", 1, 6, 0), ErrMagic, false},
		{"version 0", datagram("ARC", 0, 6, 0), ErrVersion, true},
		{"version 2", datagram("ARC", 2, 5, 0), ErrVersion, true},
		{"version 2, unknown type", datagram("ARC", 2, 200, 0), ErrVersion, true},
		{"type 0", datagram("ARC", 1, 0, 0), ErrType, true},
		{"type 11 (EntityUpdate)", datagram("ARC", 1, 11, 0), nil, true},
		{"type 12 (DeliveryProbe)", datagram("ARC", 1, 12, 0), nil, true},
		{"type 13 (DeliveryReport)", datagram("ARC", 1, 13, 0), nil, true},
		{"type 14 (Message)", datagram("ARC", 1, 14, 0), nil, true},
		{"type 16", datagram("ARC", 1, 16, 0), ErrType, true},
		{"type 255", datagram("ARC", 1, 255, 0), ErrType, true},
		{"22 bytes", datagram("ARC", 1, 6, 0), nil, true},
		{"1200 bytes", datagram("ARC", 1, 10, MaxDatagramSize-HeaderSize), nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(tc.b)
			if len(b) >= HeaderSize {
				copy(b[offToken:], []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
			}
			h := Header{Token: 42}
			n, err := h.Parse(b)
			if err != tc.want {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.filled {
				want := Header{Type: PacketType(b[offType]), Token: 0x0807060504030201, Seq: 0x0a09, Ack: 0x0c0b, AckBits: 0x100f0e0d}
				if n != HeaderSize || h != want {
					t.Fatalf("n = %d, h = %+v; want %d, %+v", n, h, HeaderSize, want)
				}
			} else if n != 0 || h != (Header{Token: 42}) {
				t.Fatalf("n = %d, h = %+v; want 0 and the header unchanged", n, h)
			}
		})
	}
}

func TestPeekType(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		want PacketType
		err  error
	}{
		{datagram("ARC", 1, 7, 0), TypeSnapshot, nil},
		{datagram("ARC", 9, 5, 0), TypeDenied, nil}, // version not checked
		{datagram("ARC", 1, 99, 0), 99, nil},        // nor the type range
		{datagram("ARC", 1, 7, 0)[:HeaderSize-1], 0, ErrShort},
		{datagram("ARK", 1, 7, 0), 0, ErrMagic},
	} {
		if got, err := PeekType(tc.b); got != tc.want || err != tc.err {
			t.Errorf("PeekType(%x) = %v, %v; want %v, %v", tc.b, got, err, tc.want, tc.err)
		}
	}
}

// body returns a copy of the golden vector's body with edits applied at the
// given offsets.
func body(t *testing.T, name string, edits map[int]byte) []byte {
	t.Helper()
	for _, v := range goldenVectors() {
		if v.name == name {
			b := v.msg.Append(nil)
			for off, x := range edits {
				b[off] = x
			}
			return b
		}
	}
	t.Fatalf("no vector %s", name)
	return nil
}

// TestBodyParseErrors has one case per error path of every body decoder.
func TestBodyParseErrors(t *testing.T) {
	snap := func(t *testing.T) []byte { return body(t, "snapshot_hash", nil) }
	for _, tc := range []struct {
		name string
		m    codec
		b    func(t *testing.T) []byte
		want error
	}{
		{"ConnectRequest empty", new(ConnectRequest), func(*testing.T) []byte { return nil }, ErrNotPadded},
		{"ConnectRequest unpadded", new(ConnectRequest), func(t *testing.T) []byte {
			return body(t, "connect_request_name32", nil)[:offConnName+MaxNameLen]
		}, ErrNotPadded},
		{"ConnectRequest one byte short", new(ConnectRequest), func(t *testing.T) []byte {
			return body(t, "connect_request_empty_name", nil)[:ConnectRequestBodySize-1]
		}, ErrNotPadded},
		{"ConnectRequest name length 33", new(ConnectRequest), func(t *testing.T) []byte {
			return body(t, "connect_request_name32", map[int]byte{offConnNameLen: MaxNameLen + 1})
		}, ErrField},
		{"ConnectRequest name length 255", new(ConnectRequest), func(t *testing.T) []byte {
			return body(t, "connect_request_name32", map[int]byte{offConnNameLen: 255})
		}, ErrField},
		{"ConnectRequest name not UTF-8", new(ConnectRequest), func(t *testing.T) []byte {
			return body(t, "connect_request_name32", map[int]byte{offConnName + 2: 0xff})
		}, ErrField},
		{"Challenge short", new(Challenge), func(t *testing.T) []byte {
			return body(t, "challenge", nil)[:ChallengeSize-1]
		}, ErrShort},
		{"ChallengeResponse no name length", new(ChallengeResponse), func(t *testing.T) []byte {
			return body(t, "challenge_response", nil)[:offConnNameLen]
		}, ErrShort},
		{"ChallengeResponse name past end", new(ChallengeResponse), func(t *testing.T) []byte {
			return body(t, "challenge_response", nil)[:offConnName+2]
		}, ErrShort},
		{"ChallengeResponse cookie cut", new(ChallengeResponse), func(t *testing.T) []byte {
			return body(t, "challenge_response", nil)[:offConnName+3+CookieSize-1]
		}, ErrShort},
		{"ChallengeResponse no player id", new(ChallengeResponse), func(t *testing.T) []byte {
			return body(t, "challenge_response", nil)[:offConnName+3+CookieSize]
		}, ErrShort},
		{"ChallengeResponse player id cut", new(ChallengeResponse), func(t *testing.T) []byte {
			b := body(t, "challenge_response", nil)
			return b[:len(b)-1]
		}, ErrShort},
		{"ChallengeResponse anonymous, player id cut", new(ChallengeResponse), func(t *testing.T) []byte {
			b := body(t, "challenge_response_name32", nil)
			return b[:len(b)-1]
		}, ErrShort},
		{"ChallengeResponse name length 33", new(ChallengeResponse), func(t *testing.T) []byte {
			return body(t, "challenge_response_name32", map[int]byte{offConnNameLen: MaxNameLen + 1})
		}, ErrField},
		{"ChallengeResponse name not UTF-8", new(ChallengeResponse), func(t *testing.T) []byte {
			return body(t, "challenge_response", map[int]byte{offConnName: 0x80})
		}, ErrField},
		{"Accepted short", new(Accepted), func(t *testing.T) []byte {
			return body(t, "accepted_multicast", nil)[:AcceptedSize-1]
		}, ErrShort},
		{"Denied short", new(Denied), func(t *testing.T) []byte {
			return body(t, "denied_server_full", nil)[:DeniedSize-1]
		}, ErrShort},
		{"Denied reason 0", new(Denied), func(t *testing.T) []byte {
			return body(t, "denied_server_full", map[int]byte{offDenReason: 0})
		}, ErrField},
		{"PoseInput short", new(PoseInput), func(t *testing.T) []byte {
			return body(t, "pose_input", nil)[:PoseInputSize-1]
		}, ErrShort},
		{"Snapshot short fixed part", new(Snapshot), func(t *testing.T) []byte {
			return snap(t)[:SnapshotFixedSize-1]
		}, ErrShort},
		{"Snapshot hash cut", new(Snapshot), func(t *testing.T) []byte {
			return snap(t)[:offSnapHash+SnapshotHashSize]
		}, ErrShort},
		{"Snapshot parts 0", new(Snapshot), func(t *testing.T) []byte {
			return body(t, "snapshot_hash", map[int]byte{offSnapParts: 0})
		}, ErrField},
		{"Snapshot part == parts", new(Snapshot), func(t *testing.T) []byte {
			return body(t, "snapshot_multipart_1", map[int]byte{offSnapPart: 2})
		}, ErrField},
		{"Snapshot part > parts", new(Snapshot), func(t *testing.T) []byte {
			return body(t, "snapshot_multipart_1", map[int]byte{offSnapPart: 255})
		}, ErrField},
		{"Snapshot players past end", new(Snapshot), func(t *testing.T) []byte {
			return body(t, "snapshot_hash", map[int]byte{offSnapHash + SnapshotHashSize: 4})
		}, ErrShort},
		{"Snapshot entities past end", new(Snapshot), func(t *testing.T) []byte {
			b := snap(t)
			b[len(b)-3*SnapshotEntitySize-1] = 4
			return b
		}, ErrShort},
		{"Snapshot last entity cut", new(Snapshot), func(t *testing.T) []byte {
			b := snap(t)
			return b[:len(b)-1]
		}, ErrShort},
		{"Snapshot 29 players", new(Snapshot), func(t *testing.T) []byte {
			s := Snapshot{Parts: 1, Players: players(MaxSnapshotPlayers + 1)}
			return s.Append(nil)
		}, ErrCount},
		{"Snapshot 83 entities", new(Snapshot), func(t *testing.T) []byte {
			s := Snapshot{Parts: 1, Entities: entities(MaxSnapshotEntities + 1)}
			return s.Append(nil)
		}, ErrCount},
		{"Snapshot longer than a datagram", new(Snapshot), func(t *testing.T) []byte {
			s := Snapshot{Parts: 1, Flags: SnapshotHasHash, Players: players(20), Entities: entities(30)}
			return s.Append(nil)
		}, ErrCount},
		{"EntityUpdate empty", new(EntityUpdate), func(*testing.T) []byte { return nil }, ErrShort},
		{"EntityUpdate short fixed part", new(EntityUpdate), func(t *testing.T) []byte {
			return body(t, "entity_update_empty", nil)[:EntityUpdateFixedSize-1]
		}, ErrShort},
		{"EntityUpdate causes past end", new(EntityUpdate), func(t *testing.T) []byte {
			return body(t, "entity_update", map[int]byte{offUpdCauseCount: 10})
		}, ErrShort},
		{"EntityUpdate cause count 255, no records", new(EntityUpdate), func(t *testing.T) []byte {
			return body(t, "entity_update_empty", map[int]byte{offUpdCauseCount: 255})
		}, ErrShort},
		{"EntityUpdate cut after the causes", new(EntityUpdate), func(t *testing.T) []byte {
			return body(t, "entity_update", nil)[:offUpdCauses+3*UpdateCauseSize]
		}, ErrShort},
		{"EntityUpdate entities past end", new(EntityUpdate), func(t *testing.T) []byte {
			return body(t, "entity_update", map[int]byte{offUpdCauses + 2*UpdateCauseSize: 4})
		}, ErrShort},
		{"EntityUpdate entity count 255, no records", new(EntityUpdate), func(t *testing.T) []byte {
			return body(t, "entity_update_empty", map[int]byte{offUpdCauses: 255})
		}, ErrShort},
		{"EntityUpdate last entity cut", new(EntityUpdate), func(t *testing.T) []byte {
			b := body(t, "entity_update", nil)
			return b[:len(b)-1]
		}, ErrShort},
		{"EntityUpdate 84 entities", new(EntityUpdate), func(t *testing.T) []byte {
			u := EntityUpdate{Entities: entities(MaxEntityUpdateEntities + 1)}
			return u.Append(nil)
		}, ErrCount},
		{"EntityUpdate 255 entities", new(EntityUpdate), func(t *testing.T) []byte {
			u := EntityUpdate{Entities: entities(255)}
			return u.Append(nil)
		}, ErrCount},
		{"EntityUpdate 195 causes", new(EntityUpdate), func(t *testing.T) []byte {
			u := EntityUpdate{Causes: causes(195)}
			return u.Append(nil)
		}, ErrCount},
		{"EntityUpdate 255 causes", new(EntityUpdate), func(t *testing.T) []byte {
			u := EntityUpdate{Causes: causes(255)}
			return u.Append(nil)
		}, ErrCount},
		{"EntityUpdate 16 causes and 77 entities", new(EntityUpdate), func(t *testing.T) []byte {
			u := EntityUpdate{Causes: causes(16), Entities: entities(77)}
			return u.Append(nil)
		}, ErrCount},
		{"EntityUpdate first cause client 0", new(EntityUpdate), func(t *testing.T) []byte {
			return body(t, "entity_update", map[int]byte{offUpdCauses + offCauseClient: 0})
		}, ErrField},
		{"EntityUpdate last cause client 0", new(EntityUpdate), func(t *testing.T) []byte {
			o := offUpdCauses + 1*UpdateCauseSize + offCauseClient
			return body(t, "entity_update", map[int]byte{o: 0, o + 1: 0})
		}, ErrField},
		{"EntityUpdate cause client 0 and records past end", new(EntityUpdate), func(t *testing.T) []byte {
			return body(t, "entity_update", map[int]byte{offUpdCauses + offCauseClient: 0, offUpdCauses + 2*UpdateCauseSize: 4})
		}, ErrShort},
		{"EntityUpdate cause client 0 and too long", new(EntityUpdate), func(t *testing.T) []byte {
			u := EntityUpdate{Causes: []UpdateCause{{Client: 0}}, Entities: entities(MaxEntityUpdateEntities)}
			return u.Append(nil)
		}, ErrCount},
		{"Ping short", new(Ping), func(t *testing.T) []byte {
			return body(t, "ping", nil)[:PingSize-1]
		}, ErrShort},
		{"Pong short", new(Pong), func(t *testing.T) []byte {
			return body(t, "pong", nil)[:PongSize-1]
		}, ErrShort},
		{"Disconnect empty", new(Disconnect), func(*testing.T) []byte { return nil }, ErrShort},
		{"Disconnect reason 0", new(Disconnect), func(*testing.T) []byte { return []byte{0} }, ErrField},
		{"DeliveryProbe empty", new(DeliveryProbe), func(*testing.T) []byte { return nil }, ErrShort},
		{"DeliveryProbe short", new(DeliveryProbe), func(t *testing.T) []byte {
			return body(t, "delivery_probe", nil)[:DeliveryProbeSize-1]
		}, ErrShort},
		{"DeliveryReport empty", new(DeliveryReport), func(*testing.T) []byte { return nil }, ErrShort},
		{"DeliveryReport short", new(DeliveryReport), func(t *testing.T) []byte {
			return body(t, "delivery_report", nil)[:DeliveryReportSize-1]
		}, ErrShort},
		{"DeliveryReport window 0", new(DeliveryReport), func(t *testing.T) []byte {
			return body(t, "delivery_report", map[int]byte{offRepWindow: 0, offRepWindow + 1: 0})
		}, ErrField},
		{"DeliveryReport window 0, short", new(DeliveryReport), func(t *testing.T) []byte {
			return body(t, "delivery_report", map[int]byte{offRepWindow: 0, offRepWindow + 1: 0})[:DeliveryReportSize-1]
		}, ErrShort},
		{"DeliveryReport unicast loss 10001", new(DeliveryReport), func(t *testing.T) []byte {
			return body(t, "delivery_report", map[int]byte{offRepUnicast: 0x11, offRepUnicast + 1: 0x27})
		}, ErrField},
		{"DeliveryReport unicast loss 0xfffe", new(DeliveryReport), func(t *testing.T) []byte {
			return body(t, "delivery_report", map[int]byte{offRepUnicast: 0xfe, offRepUnicast + 1: 0xff})
		}, ErrField},
		{"DeliveryReport unicast loss 10001, short", new(DeliveryReport), func(t *testing.T) []byte {
			return body(t, "delivery_report", map[int]byte{offRepUnicast: 0x11, offRepUnicast + 1: 0x27})[:DeliveryReportSize-1]
		}, ErrShort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := tc.m.Parse(tc.b(t))
			if err != tc.want || n != 0 {
				t.Fatalf("Parse = %d, %v; want 0, %v", n, err, tc.want)
			}
		})
	}
}

// TestTruncated checks that every proper prefix of every golden body fails
// to parse, and that bytes after a body are ignored.
func TestTruncated(t *testing.T) {
	for _, v := range goldenVectors() {
		b := v.msg.Append(nil)
		for k := range len(b) {
			if p, ok := v.msg.(*PoseInput); ok && p.HasStateAck && k >= PoseInputSize {
				// The acknowledgement is an extension: without all of
				// it, the body is a PoseInput without one.
				var m PoseInput
				if n, err := m.Parse(b[:k]); err != nil || n != PoseInputSize || m.HasStateAck {
					t.Errorf("%s: %d of %d bytes: %d, %v, ack %v", v.name, k, len(b), n, err, m.HasStateAck)
				}
				continue
			}
			if n, err := newCodec(v.msg).Parse(b[:k]); err == nil {
				t.Errorf("%s: %d of %d bytes parsed: n = %d", v.name, k, len(b), n)
			}
		}
		long := append(bytes.Clone(b), 1, 2, 3, 0xff)
		m := newCodec(v.msg)
		if n, err := m.Parse(long); err != nil || n != len(b) || !reflect.DeepEqual(m, v.msg) {
			t.Errorf("%s with trailing bytes: %d, %v, %+v", v.name, n, err, m)
		}
	}
}

// TestForwardCompatible checks values that version 1 does not define but
// passes through: unknown reasons, flag bits and reserved bits.
func TestForwardCompatible(t *testing.T) {
	var d Denied
	if _, err := d.Parse([]byte{1, 0, 0, 0, 0, 0, 0, 0, 77}); err != nil || d.Reason != 77 {
		t.Errorf("Denied reason 77: %v, %+v", err, d)
	}
	var dc Disconnect
	if _, err := dc.Parse([]byte{250}); err != nil || dc.Reason != 250 {
		t.Errorf("Disconnect reason 250: %v, %+v", err, dc)
	}
	// Reserved header flags are read and re-sent as they are.
	b := datagram("ARC", 1, 8, 0)
	b[offFlags] = 0x80
	var h Header
	if _, err := h.Parse(b); err != nil || h.Flags != 0x80 {
		t.Errorf("header flags: %v, %+v", err, h)
	}
	// Snapshot flag bits other than the hash do not change the layout.
	s := body(t, "snapshot_nohash", map[int]byte{offSnapFlags: 0xfe})
	var m Snapshot
	if n, err := m.Parse(s); err != nil || n != len(s) || m.Flags != 0xfe || m.StateHash != 0 {
		t.Errorf("snapshot flags 0xfe: %d, %v, %+v", n, err, m)
	}
	// Entity flag bits version 1 does not define are passed through, in
	// snapshots and entity updates alike.
	u := body(t, "entity_update", map[int]byte{offUpdCauses + 2*UpdateCauseSize + 1 + offEnFlags: 0xf8})
	var eu EntityUpdate
	if n, err := eu.Parse(u); err != nil || n != len(u) || eu.Entities[0].Flags != 0xf8 {
		t.Errorf("entity flags 0xf8: %d, %v, %+v", n, err, eu)
	}
	// Bits 38-39 of a rotation are ignored.
	p := body(t, "pose_input", nil)
	var a, c PoseInput
	a.Parse(p)
	p[offInHead+offRot+4] |= 0xc0
	if _, err := c.Parse(p); err != nil || c != a {
		t.Errorf("rotation bits 38-39: %v, %+v != %+v", err, c, a)
	}
	// A delivery report's flag bits version 1 does not define are passed
	// through.
	dr := body(t, "delivery_report_not_joined", map[int]byte{offRepFlags: 0xfe})
	var rep DeliveryReport
	if n, err := rep.Parse(dr); err != nil || n != DeliveryReportSize ||
		rep != (DeliveryReport{WindowMs: 250, Flags: 0xfe, UnicastLoss: UnicastLossUnknown}) {
		t.Errorf("DeliveryReport flags 0xfe: %d, %v, %+v", n, err, rep)
	}
	if b := rep.Append(nil); !bytes.Equal(b, dr) {
		t.Errorf("DeliveryReport flags 0xfe re-sent as % x, want % x", b, dr)
	}
	// The padding of a ConnectRequest is not checked.
	cr := body(t, "connect_request_empty_name", nil)
	cr[len(cr)-1] = 0xff
	var r ConnectRequest
	if _, err := r.Parse(cr); err != nil {
		t.Errorf("ConnectRequest with nonzero padding: %v", err)
	}
}
