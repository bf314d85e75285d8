package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestSplitEpoch(t *testing.T) {
	hdr := (&Header{Type: TypePong, Flags: FlagEpoch, Token: testToken}).Append(nil)
	pong := &Pong{PingID: 1, ClientTime: 2, ServerRecvTime: 3, ServerSendTime: 4}
	d := AppendEpoch(pong.Append(bytes.Clone(hdr)), 0x01020304)
	rest, epoch, err := SplitEpoch(d)
	if err != nil || epoch != 0x01020304 || len(rest) != HeaderSize+PongSize {
		t.Fatalf("SplitEpoch = %d bytes, %#x, %v", len(rest), epoch, err)
	}
	var p Pong
	if _, err := p.Parse(rest[HeaderSize:]); err != nil || p != *pong {
		t.Fatalf("body after split: %+v, %v", p, err)
	}
	// Without the flag the trailer is body bytes an old reader ignores (§1).
	plain := bytes.Clone(d)
	plain[offFlags] = 0
	if rest, epoch, err := SplitEpoch(plain); err != nil || epoch != 0 || len(rest) != len(plain) {
		t.Fatalf("no flag: %d bytes, %d, %v", len(rest), epoch, err)
	}
	if _, err := p.Parse(plain[HeaderSize:]); err != nil || p != *pong {
		t.Fatalf("a reader that does not know FlagEpoch: %+v, %v", p, err)
	}
	for _, n := range []int{0, HeaderSize - 1, HeaderSize, HeaderSize + EpochSize - 1} {
		b := append(bytes.Clone(hdr), make([]byte, max(0, n-HeaderSize))...)[:n]
		if rest, _, err := SplitEpoch(b); err != ErrShort || len(rest) != n {
			t.Errorf("%d bytes: %d, %v; want ErrShort and b unchanged", n, len(rest), err)
		}
	}
	if n := testing.AllocsPerRun(100, func() { SplitEpoch(d) }); n != 0 {
		t.Errorf("SplitEpoch allocates %v times", n)
	}
	buf := make([]byte, 0, MaxDatagramSize)
	if n := testing.AllocsPerRun(100, func() { AppendEpoch(buf, 9) }); n != 0 {
		t.Errorf("AppendEpoch allocates %v times", n)
	}
}

func TestEpochNewer(t *testing.T) {
	if !EpochNewer(2, 1) || EpochNewer(1, 1) || EpochNewer(1, 2) || !EpochNewer(1, 0) {
		t.Fatal("EpochNewer is not a > b")
	}
}

// FuzzSplitEpoch: SplitEpoch never panics, keeps a prefix of its input, and
// splitting what AppendEpoch appended gives the epoch back.
func FuzzSplitEpoch(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		rest, epoch, err := SplitEpoch(data)
		if len(rest) > len(data) || !bytes.Equal(rest, data[:len(rest)]) {
			t.Fatal("result is not a prefix of the input")
		}
		if err != nil {
			if len(rest) != len(data) || epoch != 0 {
				t.Fatalf("error %v with %d of %d bytes, epoch %d", err, len(rest), len(data), epoch)
			}
			return
		}
		if data[offFlags]&FlagEpoch == 0 {
			if len(rest) != len(data) || epoch != 0 {
				t.Fatal("no FlagEpoch but something split")
			}
			return
		}
		if len(rest) != len(data)-EpochSize || epoch != binary.LittleEndian.Uint32(data[len(rest):]) {
			t.Fatalf("split %d of %d bytes, epoch %d", len(rest), len(data), epoch)
		}
		again, e2, err := SplitEpoch(AppendEpoch(bytes.Clone(rest), epoch))
		if err != nil || e2 != epoch || !bytes.Equal(again, rest) {
			t.Fatalf("append then split: %d, %v", e2, err)
		}
	})
}
