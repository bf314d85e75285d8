package seal

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// testISK is a handshake secret for the session tests.
func testISK(seed byte) (k [CPaceISKSize]byte) {
	for i := range k {
		k[i] = seed + byte(i)
	}
	return k
}

func pair(t testing.TB, isk [CPaceISKSize]byte) (client, server *Session) {
	c, err := sessionFromISK(isk, false)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sessionFromISK(isk, true)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

func TestSealOpenRoundTripAndDirections(t *testing.T) {
	c, s := pair(t, testISK(1))
	header := []byte("ARC\x01\x06header-bytes-22")
	for i := range 100 {
		body := bytes.Repeat([]byte{byte(i)}, i)
		sealed := c.Seal(nil, header, body)
		if len(sealed) != len(body)+Overhead {
			t.Fatalf("sealed %d bytes for a %d-byte body", len(sealed), len(body))
		}
		got, err := s.Open(nil, header, sealed)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("datagram %d: %v", i, err)
		}
		// The server's reply opens at the client, not at the server.
		back := s.Seal(nil, header, body)
		if _, err := s.Open(nil, header, back); err == nil {
			t.Fatal("a datagram opened by its own sender")
		}
		if got, err := c.Open(nil, header, back); err != nil || !bytes.Equal(got, body) {
			t.Fatalf("reply %d: %v", i, err)
		}
	}
}

func TestTamperingWrongKeyAndReplay(t *testing.T) {
	c, s := pair(t, testISK(1))
	header := []byte("header")
	sealed := c.Seal(nil, header, []byte("grab the paddle"))
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x40
		if _, err := s.Open(nil, header, bad); err == nil {
			t.Fatalf("flipping byte %d went unnoticed", i)
		}
	}
	if _, err := s.Open(nil, []byte("Header"), sealed); err != ErrAuth {
		t.Fatalf("a changed header opened: %v", err)
	}
	_, s2 := pair(t, testISK(2))
	if _, err := s2.Open(nil, header, sealed); err != ErrAuth {
		t.Fatalf("opened with another handshake's keys: %v", err)
	}
	if _, err := s.Open(nil, header, sealed); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(nil, header, sealed); err != ErrReplay {
		t.Fatalf("replay accepted: %v", err)
	}
	if _, err := s.Open(nil, header, sealed[:Overhead-1]); err != ErrShort {
		t.Fatalf("short datagram: %v", err)
	}
}

// TestReplayWindowAgainstReference drives the window and a naive set with
// the same random numbers (reordered, repeated, old) and compares.
func TestReplayWindowAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var w replayWindow
	seen := map[uint64]bool{}
	var top uint64 // highest accepted + 1
	next := uint64(0)
	for range 200000 {
		var n uint64
		switch r := rng.IntN(10); {
		case r < 6:
			n = next
			next += uint64(1 + rng.IntN(3))
		case r < 9 && next > 0:
			n = next - 1 - uint64(rng.IntN(int(min(next, 1200))))
		default:
			n = next + uint64(rng.IntN(2000)) // a jump ahead
			next = n + 1
		}
		want := !seen[n] && (n >= top || top-1-n < WindowSize-64)
		if got := w.fresh(n); got != want {
			t.Fatalf("fresh(%d) = %v, want %v (top %d)", n, got, want, top)
		}
		if want {
			w.accept(n)
			seen[n] = true
			if n >= top {
				top = n + 1
			}
		}
	}
}

func TestSealOpenDoNotAllocate(t *testing.T) {
	c, s := pair(t, testISK(1))
	header := make([]byte, 22)
	body := make([]byte, 80)
	out := make([]byte, 0, 256)
	plain := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(1000, func() {
		sealed := c.Seal(out[:0], header, body)
		if _, err := s.Open(plain[:0], header, sealed); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per seal+open", allocs)
	}
}

func BenchmarkSealOpen(b *testing.B) {
	c, s := pair(b, testISK(1))
	header := make([]byte, 22)
	body := make([]byte, 80)
	out := make([]byte, 0, 256)
	plain := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		sealed := c.Seal(out[:0], header, body)
		s.Open(plain[:0], header, sealed)
	}
}

// FuzzOpen: arbitrary bytes never panic, and nothing but the one genuine
// datagram of the seeds opens.
func FuzzOpen(f *testing.F) {
	isk := testISK(9)
	c, _ := sessionFromISK(isk, false)
	genuineHeader := []byte("header")
	genuine := c.Seal(nil, genuineHeader, []byte("body"))
	f.Add(genuineHeader, genuine)
	f.Add([]byte{}, []byte{})
	f.Add([]byte("h"), make([]byte, Overhead))
	f.Fuzz(func(t *testing.T, header, sealed []byte) {
		s, _ := sessionFromISK(isk, true)
		if _, err := s.Open(nil, header, sealed); err == nil &&
			!(bytes.Equal(header, genuineHeader) && bytes.Equal(sealed, genuine)) {
			t.Fatalf("forged datagram opened: header %x sealed %x", header, sealed)
		}
	})
}
