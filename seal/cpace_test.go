package seal

import (
	"bufio"
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
