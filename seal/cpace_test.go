package seal

import (
	"bufio"
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gtank/ristretto255"
)

// cpaceVectors is one file of testdata/cpace: "name = hex" lines, "#"
// comments.
type cpaceVectors struct {
	path string
	v    map[string][]byte
}

func loadCPaceVectors(t testing.TB, name string) cpaceVectors {
	t.Helper()
	path := filepath.Join("testdata", "cpace", name)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v := map[string][]byte{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, val, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s:%d: no '='", path, n)
		}
		k = strings.TrimSpace(k)
		b, err := hex.DecodeString(strings.TrimSpace(val))
		if err != nil {
			t.Fatalf("%s:%d: %s: %v", path, n, k, err)
		}
		if _, dup := v[k]; dup {
			t.Fatalf("%s:%d: %s given twice", path, n, k)
		}
		v[k] = b
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cpaceVectors{path, v}
}

// get returns field k, failing the test if the file lacks it.
func (c cpaceVectors) get(t testing.TB, k string) []byte {
	t.Helper()
	b, ok := c.v[k]
	if !ok {
		t.Fatalf("%s: no field %s", c.path, k)
	}
	return b
}

// scalar decodes field k as a canonical scalar.
func (c cpaceVectors) scalar(t testing.TB, k string) *ristretto255.Scalar {
	t.Helper()
	s := ristretto255.NewScalar()
	if err := s.Decode(c.get(t, k)); err != nil {
		t.Fatalf("%s: %s: %v", c.path, k, err)
	}
	return s
}

func checkHex(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\n got %x\nwant %x", what, got, want)
	}
}

// oCat is the draft's o_cat, for the symmetric-mode vectors only (the
// package runs the initiator-responder mode).
func oCat(a, b []byte) []byte {
	if bytes.Compare(a, b) < 0 {
		a, b = b, a
	}
	return append(append([]byte("oc"), a...), b...)
}

// TestCPaceDraftVectors recomputes every intermediate value of the draft's
// CPACE-RISTR255-SHA512 vectors from their inputs.
func TestCPaceDraftVectors(t *testing.T) {
	for _, file := range []string{"draft-21.txt", "draft-13.txt"} {
		t.Run(file, func(t *testing.T) {
			tv := loadCPaceVectors(t, file)
			prs, ci, sid := tv.get(t, "PRS"), tv.get(t, "CI"), tv.get(t, "sid")
			adA, adB := tv.get(t, "ADa"), tv.get(t, "ADb")
			checkHex(t, "DSI", []byte(cpaceDSI), tv.get(t, "DSI"))
			checkHex(t, "DSI_ISK", []byte(cpaceDSIISK), tv.get(t, "DSI_ISK"))

			// calculate_generator, step by step and whole.
			gs := cpaceGeneratorString(nil, prs, ci, sid)
			checkHex(t, "generator_string", gs, tv.get(t, "generator_string"))
			h := sha512.Sum512(gs)
			checkHex(t, "generator_hash", h[:], tv.get(t, "generator_hash"))
			gFromHash := ristretto255.NewElement().FromUniformBytes(tv.get(t, "generator_hash"))
			checkHex(t, "g from generator_hash", gFromHash.Encode(nil), tv.get(t, "g"))
			checkHex(t, "g", cpaceGenerator(prs, ci, sid).Encode(nil), tv.get(t, "g"))

			// Ya, Yb: scalar_mult(y, g), directly and through the API halves.
			g := cpaceGenerator(prs, ci, sid)
			checkHex(t, "Ya = ya*g", ristretto255.NewElement().ScalarMult(tv.scalar(t, "ya"), g).Encode(nil), tv.get(t, "Ya"))
			checkHex(t, "Yb = yb*g", ristretto255.NewElement().ScalarMult(tv.scalar(t, "yb"), g).Encode(nil), tv.get(t, "Yb"))
			client, msgA := newCPaceInitiator(prs, ci, sid, adA, tv.scalar(t, "ya"))
			checkHex(t, "msgA", msgA, tv.get(t, "Ya"))

			// K on both sides.
			kA, err := cpaceScalarMultVfy(tv.scalar(t, "ya"), tv.get(t, "Yb"))
			if err != nil {
				t.Fatal(err)
			}
			checkHex(t, "K_A = scalar_mult_vfy(ya, Yb)", kA[:], tv.get(t, "K_A"))
			kB, err := cpaceScalarMultVfy(tv.scalar(t, "yb"), tv.get(t, "Ya"))
			if err != nil {
				t.Fatal(err)
			}
			checkHex(t, "K_B = scalar_mult_vfy(yb, Ya)", kB[:], tv.get(t, "K_B"))

			// Transcripts and the ISK input strings.
			tr := CPaceTranscript(tv.get(t, "Ya"), adA, tv.get(t, "Yb"), adB)
			checkHex(t, "transcript_ir", tr, tv.get(t, "transcript_ir"))
			prefix := cpaceAppendLV(nil, []byte(cpaceDSIISK))
			prefix = cpaceAppendLV(prefix, sid)
			prefix = cpaceAppendLV(prefix, kA[:])
			inIR := append(bytes.Clone(prefix), tr...)
			checkHex(t, "ISK_input_ir", inIR, tv.get(t, "ISK_input_ir"))
			iskIR := sha512.Sum512(inIR)
			checkHex(t, "SHA-512(ISK_input_ir)", iskIR[:], tv.get(t, "ISK_IR"))
			isk := cpaceISK(sid, kA[:], tv.get(t, "Ya"), adA, tv.get(t, "Yb"), adB)
			checkHex(t, "ISK_IR", isk[:], tv.get(t, "ISK_IR"))

			trOC := oCat(cpaceAppendLV(cpaceAppendLV(nil, tv.get(t, "Ya")), adA),
				cpaceAppendLV(cpaceAppendLV(nil, tv.get(t, "Yb")), adB))
			checkHex(t, "transcript_oc", trOC, tv.get(t, "transcript_oc"))
			inOC := append(bytes.Clone(prefix), trOC...)
			checkHex(t, "ISK_input_oc", inOC, tv.get(t, "ISK_input_oc"))
			iskSY := sha512.Sum512(inOC)
			checkHex(t, "ISK_SY", iskSY[:], tv.get(t, "ISK_SY"))

			label := tv.get(t, "sid_output_label")
			sidIR := sha512.Sum512(append(bytes.Clone(label), tr...))
			checkHex(t, "sid_output_ir", sidIR[:], tv.get(t, "sid_output_ir"))
			sidOC := sha512.Sum512(append(bytes.Clone(label), trOC...))
			checkHex(t, "sid_output_oc", sidOC[:], tv.get(t, "sid_output_oc"))

			// The whole exchange with the draft's scalars.
			msgB, iskB, err := cpaceRespond(prs, ci, sid, msgA, adA, adB, tv.scalar(t, "yb"))
			if err != nil {
				t.Fatal(err)
			}
			checkHex(t, "msgB", msgB, tv.get(t, "Yb"))
			checkHex(t, "responder ISK", iskB[:], tv.get(t, "ISK_IR"))
			iskA, err := client.Finish(msgB, adB)
			if err != nil {
				t.Fatal(err)
			}
			checkHex(t, "initiator ISK", iskA[:], tv.get(t, "ISK_IR"))

			// The public responder, its scalar read from the random source:
			// the draft's yb has its top four bits clear already, so the
			// sampling leaves it as it is.
			msgB, iskB, err = CPaceRespond(prs, ci, sid, msgA, adA, adB, bytes.NewReader(tv.get(t, "yb")))
			if err != nil {
				t.Fatal(err)
			}
			checkHex(t, "CPaceRespond msgB", msgB, tv.get(t, "Yb"))
			checkHex(t, "CPaceRespond ISK", iskB[:], tv.get(t, "ISK_IR"))
			_, msgA, err = NewCPaceInitiator(prs, ci, sid, adA, bytes.NewReader(tv.get(t, "ya")))
			if err != nil {
				t.Fatal(err)
			}
			checkHex(t, "NewCPaceInitiator msgA", msgA, tv.get(t, "Ya"))
		})
	}
}

// TestCPaceScalarMultVectors: the draft's valid and invalid inputs to
// scalar_mult_vfy, and the abort they must cause in a protocol run.
func TestCPaceScalarMultVectors(t *testing.T) {
	tv := loadCPaceVectors(t, "scalar-mult-21.txt")
	X := ristretto255.NewElement()
	if err := X.Decode(tv.get(t, "X")); err != nil {
		t.Fatal(err)
	}
	checkHex(t, "scalar_mult(s, decode(X))",
		ristretto255.NewElement().ScalarMult(tv.scalar(t, "s"), X).Encode(nil), tv.get(t, "scalar_mult"))
	k, err := cpaceScalarMultVfy(tv.scalar(t, "s"), tv.get(t, "X"))
	if err != nil {
		t.Fatal(err)
	}
	checkHex(t, "scalar_mult_vfy(s, X)", k[:], tv.get(t, "scalar_mult_vfy"))

	for _, c := range []struct {
		name string
		want error
	}{{"Y_i1", ErrCPaceEncoding}, {"Y_i2", ErrCPaceIdentity}} {
		y := tv.get(t, c.name)
		if _, err := cpaceScalarMultVfy(tv.scalar(t, "s"), y); !errors.Is(err, c.want) {
			t.Errorf("scalar_mult_vfy(s, %s): %v, want %v", c.name, err, c.want)
		}
		if _, _, err := CPaceRespond([]byte("pw"), nil, nil, y, nil, nil, nil); !errors.Is(err, c.want) {
			t.Errorf("CPaceRespond(msgA = %s): %v, want %v", c.name, err, c.want)
		}
		client, _, err := NewCPaceInitiator([]byte("pw"), nil, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.Finish(y, nil); !errors.Is(err, c.want) {
			t.Errorf("Finish(msgB = %s): %v, want %v", c.name, err, c.want)
		}
	}
}

// TestCPaceStringVectors: prepend_len, lv_cat and transcript_ir against the
// draft's appendix.
func TestCPaceStringVectors(t *testing.T) {
	tv := loadCPaceVectors(t, "strings-21.txt")
	for i := 0; i < 4; i++ {
		in, out := tv.get(t, fmt.Sprintf("prepend_len_in_%d", i)), tv.get(t, fmt.Sprintf("prepend_len_out_%d", i))
		checkHex(t, fmt.Sprintf("prepend_len #%d", i), cpaceAppendLV(nil, in), out)
		if got := cpaceLenSize(len(in)) + len(in); got != len(out) {
			t.Errorf("prepend_len #%d: size %d, want %d", i, got, len(out))
		}
	}
	var lv []byte
	for i := 0; i < 4; i++ {
		lv = cpaceAppendLV(lv, tv.get(t, fmt.Sprintf("lv_cat_in_%d", i)))
	}
	checkHex(t, "lv_cat", lv, tv.get(t, "lv_cat_out"))
	for i := 0; i < 2; i++ {
		p := fmt.Sprintf("transcript_ir_%d", i)
		checkHex(t, p, CPaceTranscript(tv.get(t, p+"_Ya"), tv.get(t, p+"_ADa"), tv.get(t, p+"_Yb"), tv.get(t, p+"_ADb")), tv.get(t, p))
	}
	// LEB128 beyond the vectors: the lengths where the size changes.
	for _, c := range []struct {
		n    int
		want string
	}{{0, "00"}, {127, "7f"}, {128, "8001"}, {300, "ac02"}, {16383, "ff7f"}, {16384, "808001"}} {
		if got := hex.EncodeToString(cpaceAppendLen(nil, c.n)); got != c.want {
			t.Errorf("LEB128(%d) = %s, want %s", c.n, got, c.want)
		}
		if got := cpaceLenSize(c.n); got != len(c.want)/2 {
			t.Errorf("cpaceLenSize(%d) = %d, want %d", c.n, got, len(c.want)/2)
		}
	}
}

// TestCPaceGeneratorStringPadding: the zero padding fills the first
// SHA-512 block for short passphrases and vanishes for long ones.
func TestCPaceGeneratorStringPadding(t *testing.T) {
	for _, n := range []int{0, 1, 8, 100, 108, 109, 110, 127, 128, 200, 1000} {
		prs := bytes.Repeat([]byte{'p'}, n)
		gs := cpaceGeneratorString(nil, prs, []byte("ci"), []byte("sid"))
		head := cpaceLenSize(len(cpaceDSI)) + len(cpaceDSI) + cpaceLenSize(n) + n
		zpad := max(0, cpaceSInBytes-head-1)
		if got := len(gs); got != head+1+zpad+3+4 {
			t.Errorf("len(prs) %d: generator string %d bytes, want %d", n, got, head+1+zpad+3+4)
		}
		if zpad > 0 && head+1+zpad != cpaceSInBytes {
			t.Errorf("len(prs) %d: DSI, PRS and padding take %d bytes, not one block", n, head+1+zpad)
		}
		if gs[head] != byte(zpad) || !bytes.Equal(gs[head+1:head+1+zpad], make([]byte, zpad)) {
			t.Errorf("len(prs) %d: padding field wrong: %x", n, gs[head:head+1+zpad])
		}
	}
}

// cpaceExchange runs one exchange with crypto/rand and returns both ISKs
// and both messages.
func cpaceExchange(t testing.TB, prsA, prsB, ci, sid, adA, adB []byte) (iskA, iskB [CPaceISKSize]byte, msgA, msgB []byte) {
	t.Helper()
	client, msgA, err := NewCPaceInitiator(prsA, ci, sid, adA, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgB, iskB, err = CPaceRespond(prsB, ci, sid, msgA, adA, adB, nil)
	if err != nil {
		t.Fatal(err)
	}
	iskA, err = client.Finish(msgB, adB)
	if err != nil {
		t.Fatal(err)
	}
	return iskA, iskB, msgA, msgB
}

func TestCPaceExchangeAndConfirm(t *testing.T) {
	prs, ci, sid := []byte("lantern orchard 42"), []byte("arcade venue 7"), []byte("cookie-0123456789")
	adA, adB := []byte("client hello"), []byte("server hello")
	iskA, iskB, msgA, msgB := cpaceExchange(t, prs, prs, ci, sid, adA, adB)
	if iskA != iskB {
		t.Fatalf("ISKs differ:\n%x\n%x", iskA, iskB)
	}
	if len(msgA) != CPaceMessageSize || len(msgB) != CPaceMessageSize {
		t.Fatalf("message sizes %d, %d", len(msgA), len(msgB))
	}
	tr := CPaceTranscript(msgA, adA, msgB, adB)
	tagB := CPaceConfirm(iskB, CPaceServerToClient, tr)
	tagA := CPaceConfirm(iskA, CPaceClientToServer, tr)
	if tagA == tagB {
		t.Fatal("the two directions' tags are equal")
	}
	if !CPaceCheckConfirm(iskA, CPaceServerToClient, tr, tagB[:]) {
		t.Error("client rejects the server's tag")
	}
	if !CPaceCheckConfirm(iskB, CPaceClientToServer, tr, tagA[:]) {
		t.Error("server rejects the client's tag")
	}
	// Reflection, a truncated tag, another transcript.
	if CPaceCheckConfirm(iskB, CPaceClientToServer, tr, tagB[:]) {
		t.Error("server accepts its own tag reflected")
	}
	if CPaceCheckConfirm(iskA, CPaceServerToClient, tr, tagB[:16]) {
		t.Error("a truncated tag verifies")
	}
	if CPaceCheckConfirm(iskA, CPaceServerToClient, append(bytes.Clone(tr), 0), tagB[:]) {
		t.Error("a tag verifies for another transcript")
	}
	// Two runs with the same inputs share nothing.
	iskA2, _, msgA2, msgB2 := cpaceExchange(t, prs, prs, ci, sid, adA, adB)
	if iskA2 == iskA || bytes.Equal(msgA2, msgA) || bytes.Equal(msgB2, msgB) {
		t.Error("two exchanges with the same inputs repeat a message or the ISK")
	}
}

// TestCPaceMismatch: when the two sides differ in any input (the
// passphrase, CI, sid, or their view of ADa or ADb), the ISKs differ and
// neither side's confirmation tag verifies on the other.
func TestCPaceMismatch(t *testing.T) {
	names := [5]string{"passphrase", "CI", "sid", "ADa", "ADb"}
	base := [5][]byte{[]byte("lantern orchard 42"), []byte("ci"), []byte("sid"), []byte("adA"), []byte("adB")}
	for i, name := range names {
		for _, side := range []string{"initiator", "responder"} {
			a, b := base, base // a: the initiator's view, b: the responder's
			changed := append(bytes.Clone(base[i]), '!')
			if side == "initiator" {
				a[i] = changed
			} else {
				b[i] = changed
			}
			client, msgA, err := NewCPaceInitiator(a[0], a[1], a[2], a[3], nil)
			if err != nil {
				t.Fatal(err)
			}
			msgB, iskB, err := CPaceRespond(b[0], b[1], b[2], msgA, b[3], b[4], nil)
			if err != nil {
				t.Fatal(err)
			}
			iskA, err := client.Finish(msgB, a[4])
			if err != nil {
				t.Fatal(err)
			}
			if iskA == iskB {
				t.Errorf("%s differs on the %s's side, yet the ISKs agree", name, side)
			}
			trA := CPaceTranscript(msgA, a[3], msgB, a[4])
			trB := CPaceTranscript(msgA, b[3], msgB, b[4])
			tagB := CPaceConfirm(iskB, CPaceServerToClient, trB)
			tagA := CPaceConfirm(iskA, CPaceClientToServer, trA)
			if CPaceCheckConfirm(iskA, CPaceServerToClient, trA, tagB[:]) || CPaceCheckConfirm(iskB, CPaceClientToServer, trB, tagA[:]) {
				t.Errorf("%s differs on the %s's side, yet a confirmation tag verifies", name, side)
			}
		}
	}
}

// cpaceBadMessages are 32-byte (or not) messages that must be rejected,
// with the error each must give.
func cpaceBadMessages(valid []byte) []struct {
	name string
	msg  []byte
	want error
} {
	p := append([]byte{0xed}, bytes.Repeat([]byte{0xff}, 30)...)
	p = append(p, 0x7f) // the field prime 2^255 - 19, a non-canonical 0
	high := bytes.Clone(valid)
	high[31] |= 0x80 // bit 255 set: never canonical
	one := make([]byte, 32)
	one[0] = 1 // s = 1 is odd, "negative": rejected
	return []struct {
		name string
		msg  []byte
		want error
	}{
		{"nil", nil, ErrCPaceLength},
		{"empty", []byte{}, ErrCPaceLength},
		{"31 bytes", valid[:31], ErrCPaceLength},
		{"33 bytes", append(bytes.Clone(valid), 0), ErrCPaceLength},
		{"64 bytes", append(bytes.Clone(valid), valid...), ErrCPaceLength},
		{"all zero (identity)", make([]byte, 32), ErrCPaceIdentity},
		{"all 0xff", bytes.Repeat([]byte{0xff}, 32), ErrCPaceEncoding},
		{"field prime", p, ErrCPaceEncoding},
		{"bit 255 set", high, ErrCPaceEncoding},
		{"negative s", one, ErrCPaceEncoding},
	}
}

// TestCPaceTamperedMsgA: the responder rejects malformed messages with the
// right error, and a flipped bit either fails to decode or leads to an ISK
// the initiator does not share.
func TestCPaceTamperedMsgA(t *testing.T) {
	prs, ci, sid, adA, adB := []byte("pw"), []byte("ci"), []byte("sid"), []byte("a"), []byte("b")
	for _, c := range cpaceBadMessages(mustMsgA(t, prs, ci, sid, adA)) {
		msgB, _, err := CPaceRespond(prs, ci, sid, c.msg, adA, adB, nil)
		if !errors.Is(err, c.want) || msgB != nil {
			t.Errorf("%s: msgB %x, err %v, want %v", c.name, msgB, err, c.want)
		}
	}
	decoded := 0
	for bit := 0; bit < 8*CPaceMessageSize; bit++ {
		client, msgA, err := NewCPaceInitiator(prs, ci, sid, adA, nil)
		if err != nil {
			t.Fatal(err)
		}
		bad := bytes.Clone(msgA)
		bad[bit/8] ^= 1 << (bit % 8)
		msgB, iskB, err := CPaceRespond(prs, ci, sid, bad, adA, adB, nil)
		if err != nil {
			if !errors.Is(err, ErrCPaceEncoding) {
				t.Errorf("bit %d: %v", bit, err)
			}
			continue
		}
		decoded++
		if iskA, err := client.Finish(msgB, adB); err == nil && iskA == iskB {
			t.Errorf("bit %d flipped in msgA, yet the ISKs agree", bit)
		}
	}
	t.Logf("%d of 256 one-bit flips of msgA still decode (and give another ISK)", decoded)
}

// TestCPaceTamperedMsgB: likewise for the initiator receiving msgB.
func TestCPaceTamperedMsgB(t *testing.T) {
	prs, ci, sid, adA, adB := []byte("pw"), []byte("ci"), []byte("sid"), []byte("a"), []byte("b")
	for _, c := range cpaceBadMessages(mustMsgA(t, prs, ci, sid, adA)) {
		client, _, err := NewCPaceInitiator(prs, ci, sid, adA, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.Finish(c.msg, adB); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		// The draft's abort: the initiator is spent, whatever arrives next.
		if _, err := client.Finish(c.msg, adB); !errors.Is(err, ErrCPaceFinished) {
			t.Errorf("%s: second Finish: %v, want ErrCPaceFinished", c.name, err)
		}
	}
	for bit := 0; bit < 8*CPaceMessageSize; bit++ {
		client, msgA, err := NewCPaceInitiator(prs, ci, sid, adA, nil)
		if err != nil {
			t.Fatal(err)
		}
		msgB, iskB, err := CPaceRespond(prs, ci, sid, msgA, adA, adB, nil)
		if err != nil {
			t.Fatal(err)
		}
		msgB[bit/8] ^= 1 << (bit % 8)
		iskA, err := client.Finish(msgB, adB)
		if err != nil {
			if !errors.Is(err, ErrCPaceEncoding) {
				t.Errorf("bit %d: %v", bit, err)
			}
			continue
		}
		if iskA == iskB {
			t.Errorf("bit %d flipped in msgB, yet the ISKs agree", bit)
		}
	}
}

func mustMsgA(t testing.TB, prs, ci, sid, adA []byte) []byte {
	t.Helper()
	_, msgA, err := NewCPaceInitiator(prs, ci, sid, adA, nil)
	if err != nil {
		t.Fatal(err)
	}
	return msgA
}

// TestCPaceRandomSource: a failing or degenerate source is an error, and
// the sampling clears the top four bits (an all-ones source gives the
// largest scalar, 2^252 - 1, still canonical).
func TestCPaceRandomSource(t *testing.T) {
	if _, _, err := NewCPaceInitiator([]byte("pw"), nil, nil, nil, bytes.NewReader(make([]byte, 31))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short source: %v", err)
	}
	if _, _, err := NewCPaceInitiator([]byte("pw"), nil, nil, nil, bytes.NewReader(make([]byte, 32))); !errors.Is(err, ErrCPaceRandom) {
		t.Errorf("zero source: %v", err)
	}
	msgA := mustMsgA(t, []byte("pw"), nil, nil, nil)
	if _, _, err := CPaceRespond([]byte("pw"), nil, nil, msgA, nil, nil, bytes.NewReader(make([]byte, 32))); !errors.Is(err, ErrCPaceRandom) {
		t.Errorf("zero source, responder: %v", err)
	}
	if _, _, err := CPaceRespond([]byte("pw"), nil, nil, msgA, nil, nil, bytes.NewReader(nil)); !errors.Is(err, io.EOF) {
		t.Errorf("empty source, responder: %v", err)
	}
	ones := bytes.Repeat([]byte{0xff}, 32)
	y, err := cpaceSampleScalar(bytes.NewReader(ones))
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(ones)
	want[31] = 0x0f
	checkHex(t, "scalar from all ones", y.Encode(nil), want)
}

// TestCPaceNoSharedState: many exchanges interleaved, and concurrently,
// each pair agreeing only with itself; inputs and outputs are not aliased.
func TestCPaceNoSharedState(t *testing.T) {
	const n = 16
	type pending struct {
		client *CPaceInitiator
		msgA   []byte
		prs    []byte
		msgB   []byte
		isk    [CPaceISKSize]byte
	}
	ps := make([]pending, n)
	sid := []byte("same sid for all")
	for i := range ps {
		prs := []byte(fmt.Sprintf("passphrase %d", i%4)) // some share a passphrase
		adA := []byte("adA")
		client, msgA, err := NewCPaceInitiator(prs, nil, sid, adA, nil)
		if err != nil {
			t.Fatal(err)
		}
		adA[0] = 'X' // the initiator kept its own copy
		ps[i] = pending{client: client, msgA: bytes.Clone(msgA), prs: prs}
		msgA[0] ^= 0xff // and of msgA
	}
	for i := n - 1; i >= 0; i-- {
		msgB, isk, err := CPaceRespond(ps[i].prs, nil, sid, ps[i].msgA, []byte("adA"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		ps[i].msgB, ps[i].isk = msgB, isk
	}
	seen := map[[CPaceISKSize]byte]int{}
	for _, i := range []int{3, 0, 15, 7, 1, 2, 14, 8, 4, 5, 6, 9, 10, 13, 11, 12} {
		isk, err := ps[i].client.Finish(ps[i].msgB, nil)
		if err != nil {
			t.Fatal(err)
		}
		if isk != ps[i].isk {
			t.Errorf("exchange %d: ISKs differ", i)
		}
		if j, dup := seen[isk]; dup {
			t.Errorf("exchanges %d and %d share an ISK", i, j)
		}
		seen[isk] = i
		if _, err := ps[i].client.Finish(ps[i].msgB, nil); !errors.Is(err, ErrCPaceFinished) {
			t.Errorf("exchange %d: second Finish: %v", i, err)
		}
	}

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 8; k++ {
				prs := []byte(fmt.Sprintf("pw %d", g))
				client, msgA, err := NewCPaceInitiator(prs, []byte("ci"), []byte("sid"), nil, nil)
				if err != nil {
					errs <- err
					return
				}
				msgB, iskB, err := CPaceRespond(prs, []byte("ci"), []byte("sid"), msgA, nil, nil, nil)
				if err != nil {
					errs <- err
					return
				}
				iskA, err := client.Finish(msgB, nil)
				if err != nil {
					errs <- err
					return
				}
				if iskA != iskB {
					errs <- fmt.Errorf("goroutine %d run %d: ISKs differ", g, k)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// FuzzCPaceRespond feeds arbitrary msgA and adA to the responder, with the
// draft-21 inputs and scalar yb (seeds in testdata/fuzz/FuzzCPaceRespond):
// it never panics, an error comes without msgB, a success always answers
// the draft's Yb (yb and g are fixed), and only the draft's own (Ya, ADa)
// gives the draft's ISK.
func FuzzCPaceRespond(f *testing.F) {
	tv := loadCPaceVectors(f, "draft-21.txt")
	prs, ci, sid, adB := tv.get(f, "PRS"), tv.get(f, "CI"), tv.get(f, "sid"), tv.get(f, "ADb")
	ya, adA, yb, Yb, isk := tv.get(f, "Ya"), tv.get(f, "ADa"), tv.get(f, "yb"), tv.get(f, "Yb"), tv.get(f, "ISK_IR")
	f.Fuzz(func(t *testing.T, msgA, ad []byte) {
		msgB, got, err := CPaceRespond(prs, ci, sid, msgA, ad, adB, bytes.NewReader(yb))
		if err != nil {
			if msgB != nil || got != ([CPaceISKSize]byte{}) {
				t.Fatalf("error %v, yet msgB %x and an ISK", err, msgB)
			}
			if !errors.Is(err, ErrCPaceLength) && !errors.Is(err, ErrCPaceEncoding) && !errors.Is(err, ErrCPaceIdentity) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !bytes.Equal(msgB, Yb) {
			t.Fatalf("msgB %x, want the draft's Yb", msgB)
		}
		if genuine := bytes.Equal(msgA, ya) && bytes.Equal(ad, adA); genuine != bytes.Equal(got[:], isk) {
			t.Fatalf("msgA %x, ADa %x: ISK %x (genuine %v)", msgA, ad, got, genuine)
		}
	})
}

// BenchmarkCPaceRespond is the server's cost per handshake: check msgA,
// derive the generator, two scalar multiplications, the ISK.
func BenchmarkCPaceRespond(b *testing.B) {
	prs, ci, sid := []byte("lantern orchard 42"), []byte("arcade venue 7"), []byte("cookie-0123456789")
	msgA := mustMsgA(b, prs, ci, sid, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := CPaceRespond(prs, ci, sid, msgA, nil, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCPaceExchange is a whole exchange, both sides, with the two
// confirmation tags computed and checked.
func BenchmarkCPaceExchange(b *testing.B) {
	prs, ci, sid := []byte("lantern orchard 42"), []byte("arcade venue 7"), []byte("cookie-0123456789")
	b.ReportAllocs()
	for b.Loop() {
		client, msgA, err := NewCPaceInitiator(prs, ci, sid, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		msgB, iskB, err := CPaceRespond(prs, ci, sid, msgA, nil, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		iskA, err := client.Finish(msgB, nil)
		if err != nil {
			b.Fatal(err)
		}
		tr := CPaceTranscript(msgA, nil, msgB, nil)
		tagB := CPaceConfirm(iskB, CPaceServerToClient, tr)
		tagA := CPaceConfirm(iskA, CPaceClientToServer, tr)
		if !CPaceCheckConfirm(iskA, CPaceServerToClient, tr, tagB[:]) || !CPaceCheckConfirm(iskB, CPaceClientToServer, tr, tagA[:]) {
			b.Fatal("confirmation failed")
		}
	}
}

// BenchmarkCPaceRespondInvalid is the server's cost of rejecting a msgA
// that does not decode.
func BenchmarkCPaceRespondInvalid(b *testing.B) {
	bad := bytes.Repeat([]byte{0xff}, 32)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := CPaceRespond([]byte("pw"), nil, nil, bad, nil, nil, nil); err == nil {
			b.Fatal("accepted")
		}
	}
}
