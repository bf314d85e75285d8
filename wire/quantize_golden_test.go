package wire

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// quantizeFile holds encodings from raw floats (PROTOCOL §3): the other
// vectors are round trips of values already on the grid, so an encoder that
// skips the canonical step, never negates the omitted component or
// truncates instead of rounding still reproduces them; these it does not.
const quantizeFile = "quantize_floats.txt"

type posCase struct {
	why string
	v   float32
}

type rotCase struct {
	why        string
	x, y, z, w float32
}

// halfStep is a coordinate whose (v + 32) × 1024 is k + 0.5 exactly.
func halfStep(k int) float32 { return float32((float64(k)+0.5)/1024 - 32) }

func quantizeCases() ([]posCase, []rotCase) {
	s := float32(math.Sqrt2 / 2)
	pos := []posCase{
		{"NaN is sent as 0", float32(math.NaN())},
		{"+inf clamps to 65535", float32(math.Inf(1))},
		{"-inf clamps to 0", float32(math.Inf(-1))},
		{"above the range clamps", 40},
		{"below the range clamps", -40},
		{"exact half above 0 rounds away from zero", halfStep(32768)},
		{"exact half just below 0 m: (v + 32) × 1024 = 32767.5 rounds up", halfStep(32767)},
		{"exact half at the bottom", halfStep(0)},
		{"exact half at the top clamps", halfStep(65535)},
		{"0.9 of a step: rounds up, truncation would not", float32(0.9 / 1024)},
		{"just below half a step", float32(0.4999 / 1024)},
		{"negative 0.7 of a step", float32(-0.7 / 1024)},
		{"1.5 m", 1.5},
		{"-0.25 m", -0.25},
		{"31.9990234375 m: the top of the grid", 31.9990234375},
	}
	rot := []rotCase{
		{"identity", 0, 0, 0, 1},
		{"-identity: the omitted W is negative, so the quaternion is negated", 0, 0, 0, -1},
		{"largest component negative (Y): negated", 0.1, -0.9, 0.3, 0.2},
		{"largest component negative (X), others of mixed sign", -0.8, 0.4, -0.3, 0.33},
		{"X and W tie exactly: the lower index is omitted, then the canonical step", s, 0, 0, s},
		{"Y and Z tie, negative: lowest index, negated, canonical", 0, -s, -s, 0},
		{"near-tie: W larger by one float32 ulp", 0.5, 0.5, 0.49999997, 0.50000006},
		{"all four equal: X omitted, the canonical step moves the largest sent", 0.5, 0.5, 0.5, 0.5},
		{"not normalized (length 2)", 0, 0.76536685, 0, 1.847759},
		{"zero quaternion: the identity", 0, 0, 0, 0},
		{"a NaN component: the identity", float32(math.NaN()), 0, 0, 1},
		{"an infinite component: the identity", float32(math.Inf(1)), 0, 0, 1},
		{"§3.5's 45° about Y", 0, 0.38268343, 0, 0.9238795},
		{"a component whose q has a fraction near .5", 0.0001726, 0.2, -0.1, 0.97450},
	}
	return pos, rot
}

func writeQuantize() []byte {
	pos, rot := quantizeCases()
	var b bytes.Buffer
	b.WriteString("# Quantization from raw float32 values (docs/PROTOCOL.md §3.1, §3.3).\n")
	b.WriteString("# pos BITS -> Q: a coordinate's float32 bits (hex) and the u16 it is sent as (hex).\n")
	b.WriteString("# rot XBITS YBITS ZBITS WBITS -> R: a quaternion's float32 bits and the 5 rotation bytes as sent (hex).\n")
	b.WriteString("# Regenerate with: go test ./wire -run QuantizeGolden -update\n")
	for _, c := range pos {
		fmt.Fprintf(&b, "pos %08x -> %04x # %s\n", math.Float32bits(c.v), quantPos(c.v), c.why)
	}
	for _, c := range rot {
		r := encodeRot(Quat{X: c.x, Y: c.y, Z: c.z, W: c.w})
		fmt.Fprintf(&b, "rot %08x %08x %08x %08x -> %02x%02x%02x%02x%02x # %s\n",
			math.Float32bits(c.x), math.Float32bits(c.y), math.Float32bits(c.z), math.Float32bits(c.w),
			byte(r), byte(r>>8), byte(r>>16), byte(r>>24), byte(r>>32), c.why)
	}
	return b.Bytes()
}

// TestQuantizeGolden: testdata/wire/quantize_floats.txt is what this
// package's encoder makes of raw floats.
func TestQuantizeGolden(t *testing.T) {
	path := filepath.Join("..", "testdata", "wire", quantizeFile)
	got := writeQuantize()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the encoder's output (go test ./wire -run QuantizeGolden -update):\n%s", path, got)
	}
}
