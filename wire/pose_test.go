package wire

import (
	"math"
	"math/rand/v2"
	"testing"
)

// rotAngle returns the rotation angle between a and b in radians, after
// normalizing both in float64. It equals 2·acos(|a·b|) but stays accurate
// for tiny angles, where acos near 1 loses most of its digits.
func rotAngle(a, b Quat) float64 {
	x := unit(a)
	y := unit(b)
	if x[0]*y[0]+x[1]*y[1]+x[2]*y[2]+x[3]*y[3] < 0 {
		for i := range y {
			y[i] = -y[i]
		}
	}
	var d, s float64
	for i := range x {
		d += (x[i] - y[i]) * (x[i] - y[i])
		s += (x[i] + y[i]) * (x[i] + y[i])
	}
	return 4 * math.Atan2(math.Sqrt(d), math.Sqrt(s))
}

func unit(q Quat) [4]float64 {
	v := [4]float64{float64(q.X), float64(q.Y), float64(q.Z), float64(q.W)}
	n := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2] + v[3]*v[3])
	for i := range v {
		v[i] /= n
	}
	return v
}

func randQuat(r *rand.Rand) Quat {
	// Four normal deviates, normalized, are uniform over rotations.
	v := [4]float64{r.NormFloat64(), r.NormFloat64(), r.NormFloat64(), r.NormFloat64()}
	n := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2] + v[3]*v[3])
	return Quat{float32(v[0] / n), float32(v[1] / n), float32(v[2] / n), float32(v[3] / n)}
}

// nearTieQuat returns a rotation whose two or three largest components have
// nearly or exactly equal magnitudes: the cases where rounding can change
// which component is largest.
func nearTieQuat(r *rand.Rand) Quat {
	v := [4]float64{r.NormFloat64(), r.NormFloat64(), r.NormFloat64(), r.NormFloat64()}
	i, j := r.IntN(4), r.IntN(4)
	sign := func() float64 { return float64(r.IntN(2)*2 - 1) }
	v[j] = sign() * math.Abs(v[i]) * (1 + r.NormFloat64()*1e-4*float64(r.IntN(2)))
	if r.IntN(3) == 0 {
		v[r.IntN(4)] = sign() * math.Abs(v[i])
	}
	return Quat{float32(v[0]), float32(v[1]), float32(v[2]), float32(v[3])}
}

const maxRotErrDeg = 0.1

// TestRotationError checks the angle between a rotation and its quantized
// form over 1e6 uniformly random rotations and 1e6 near-ties.
// Measured with these seeds: 0.0636° (uniform), 0.0689° (near ties); a
// hill-climbing search around (½,½,½,½) found no error above 0.0681°.
func TestRotationError(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		gen  func(*rand.Rand) Quat
	}{{"uniform", randQuat}, {"near-tie", nearTieQuat}} {
		worst, worstQ := 0.0, Quat{}
		for range 1_000_000 {
			q := tc.gen(r)
			p := QuantizePose(Pose{Rot: q})
			if e := rotAngle(q, p.Rot); e > worst {
				worst, worstQ = e, q
			}
		}
		deg := worst * 180 / math.Pi
		t.Logf("%s: max angle error %.4f° at %v", tc.name, deg, worstQ)
		if deg > maxRotErrDeg {
			t.Errorf("%s: max angle error %.4f° at %v, want <= %v°", tc.name, deg, worstQ, maxRotErrDeg)
		}
	}
}

// TestPositionError checks the error bound PosStep/2 over random positions
// in [PosMin, PosMax+PosStep/2] and the clamping outside.
func TestPositionError(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	hi := PosMax + PosStep/2
	worst := 0.0
	for range 1_000_000 {
		v := Vec3{
			float32(PosMin + r.Float64()*(hi-PosMin)),
			float32(PosMin + r.Float64()*(hi-PosMin)),
			float32(PosMin + r.Float64()*(hi-PosMin)),
		}
		p := QuantizePose(Pose{Pos: v})
		for i, d := range [3]float64{
			float64(p.Pos.X) - float64(v.X),
			float64(p.Pos.Y) - float64(v.Y),
			float64(p.Pos.Z) - float64(v.Z),
		} {
			if math.Abs(d) > worst {
				worst = math.Abs(d)
			}
			if math.Abs(d) > PosStep/2 {
				t.Fatalf("coordinate %d of %v quantized to %v: error %g m", i, v, p.Pos, d)
			}
		}
	}
	t.Logf("max position error %.4f mm", worst*1000)
	if worst < PosStep/2*0.99 {
		t.Errorf("max error %g m: the samples do not reach the bound %g m", worst, PosStep/2)
	}

	for _, tc := range []struct{ in, want float32 }{
		{0, 0},
		{float32(math.NaN()), 0},
		{float32(math.Inf(1)), PosMax},
		{float32(math.Inf(-1)), PosMin},
		{1e30, PosMax},
		{-1e30, PosMin},
		{32, PosMax},
		{-32, PosMin},
		{-32.001, PosMin},
		{1.0 / 2048, 1.0 / 1024},  // a tie rounds away from zero: q = 32769
		{-1.0 / 2048, 0},          // q = 32767.5 rounds to 32768
		{31.5 + 1.0/4096, 31.5},   // below half a step
		{-31.5 - 1.0/4096, -31.5}, // below half a step
		{-31.5 - 3.0/4096, -31.5 - 1.0/1024},
	} {
		got := QuantizePose(Pose{Pos: Vec3{tc.in, tc.in, tc.in}}).Pos
		if got != (Vec3{tc.want, tc.want, tc.want}) {
			t.Errorf("quantize %v: got %v, want %v", tc.in, got.X, tc.want)
		}
	}
}

// TestRotationSpecial checks inputs that are not unit rotations.
func TestRotationSpecial(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	identity := QuantizePose(Pose{Rot: Quat{W: 1}}).Rot
	if a := rotAngle(identity, Quat{W: 1}); a > 1e-3 {
		t.Fatalf("identity quantizes to %v", identity)
	}
	for _, tc := range []struct {
		name string
		in   Quat
		want Quat // compared after quantizing
	}{
		{"zero", Quat{}, Quat{W: 1}},
		{"NaN", Quat{nan, 0, 0, 1}, Quat{W: 1}},
		{"all NaN", Quat{nan, nan, nan, nan}, Quat{W: 1}},
		{"Inf", Quat{0, inf, 0, 0}, Quat{W: 1}},
		{"negated", Quat{0, 0, 0, -1}, Quat{W: 1}},
		{"scaled", Quat{0, 0, 0, 1e-30}, Quat{W: 1}},
		{"huge", Quat{3e38, 0, 0, 3e38}, Quat{X: 1, W: 1}},
		{"denormal", Quat{0, 1e-45, 0, 0}, Quat{Y: 1}},
		{"unnormalized", Quat{0, 2, 0, 2}, Quat{Y: 1, W: 1}},
	} {
		got := QuantizePose(Pose{Rot: tc.in}).Rot
		want := QuantizePose(Pose{Rot: tc.want}).Rot
		if got != want {
			t.Errorf("%s: %v quantizes to %v, want %v", tc.name, tc.in, got, want)
		}
		if u := unit(got); math.Abs(u[0]*u[0]+u[1]*u[1]+u[2]*u[2]+u[3]*u[3]-1) > 1e-6 {
			t.Errorf("%s: %v is not a unit quaternion", tc.name, got)
		}
	}
}

// TestQuantizeIdempotent checks that a quantized pose encodes to the bytes
// it was decoded from: for rotations at random, near ties, and for every
// decodable rotation word at random, valid or not.
func TestQuantizeIdempotent(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	check := func(p Pose) {
		t.Helper()
		var b1, b2 [PoseSize]byte
		putPose(b1[:], &p)
		var q Pose
		ParsePose(b1[:], &q)
		if q != QuantizePose(p) {
			t.Fatalf("QuantizePose(%v) = %v, decode(encode) = %v", p, QuantizePose(p), q)
		}
		putPose(b2[:], &q)
		if b1 != b2 {
			t.Fatalf("pose %v encodes to %x, its decoding %v to %x", p, b1, q, b2)
		}
		if QuantizePose(q) != q {
			t.Fatalf("QuantizePose not idempotent at %v", q)
		}
	}
	for range 300_000 {
		check(Pose{Pos: Vec3{float32(r.NormFloat64() * 10), float32(r.NormFloat64() * 10), float32(r.NormFloat64() * 10)}, Rot: randQuat(r)})
		check(Pose{Rot: nearTieQuat(r)})
	}
	var b [PoseSize]byte
	for range 1_000_000 {
		w := r.Uint64()
		for i := range b {
			b[i] = byte(w >> (8 * (i % 8)))
		}
		var p Pose
		ParsePose(b[:], &p)
		check(p)
	}
}

// TestRotationCanonical checks the canonical form of the encoder's output:
// the omitted component decodes larger than each sent one by rotMargin, and
// rounding is to the nearest step whenever that is already canonical.
func TestRotationCanonical(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	moved := 0
	for i := range 400_000 {
		q := randQuat(r)
		if i%2 == 1 {
			q = nearTieQuat(r)
		}
		w := encodeRot(q)
		var a [3]float64
		for j := range a {
			a[j] = float64(w>>(rotIdxBits+rotBits*j)&rotMask)*rotStep - rotOffset
		}
		big := math.Sqrt(1 - (a[0]*a[0] + a[1]*a[1] + a[2]*a[2]))
		for j := range a {
			if big-math.Abs(a[j]) < rotMargin {
				t.Fatalf("%v encodes to %010x: sent component %d = %v, omitted = %v", q, w, j, a[j], big)
			}
		}
		if w>>38 != 0 {
			t.Fatalf("%v encodes to %010x: bits 38-39 set", q, w)
		}
		// Nearest rounding: each sent component within half a step, unless
		// canonicalization moved it.
		u := unit(q)
		if u[w&3] < 0 {
			for j := range u {
				u[j] = -u[j]
			}
		}
		for j, k := 0, 0; j < 4; j++ {
			if j == int(w&3) {
				continue
			}
			if d := math.Abs(a[k] - u[j]); d > rotStep/2+1e-9 {
				moved++
				if d > 1.5*rotStep+1e-9 {
					t.Fatalf("%v: component %d sent as %v, off by %v steps", q, j, a[k], d/rotStep)
				}
			}
			k++
		}
	}
	if moved == 0 {
		t.Error("no near tie needed a canonicalization step; the test does not reach them")
	}
	t.Logf("%d components moved by canonicalization", moved)
}

// TestPoseWorkedExample pins the worked example of docs/PROTOCOL.md.
func TestPoseWorkedExample(t *testing.T) {
	p := Pose{Pos: Vec3{1.5, -0.25, 2}, Rot: Quat{0, 0.38268343, 0, 0.9238795}} // 45° about Y
	got := AppendPose(nil, &p)
	want := []byte{0x00, 0x86, 0x00, 0x7f, 0x00, 0x88, 0xff, 0x1f, 0x15, 0xff, 0x1f}
	if string(got) != string(want) {
		t.Fatalf("AppendPose(%v) = % x, want % x", p, got, want)
	}
	var q Pose
	if n, err := ParsePose(want, &q); n != PoseSize || err != nil {
		t.Fatalf("ParsePose = %d, %v", n, err)
	}
	if q.Pos != p.Pos {
		t.Errorf("position %v, want %v", q.Pos, p.Pos)
	}
	if e := rotAngle(q.Rot, p.Rot) * 180 / math.Pi; e > 0.05 {
		t.Errorf("rotation %v, %v° from %v", q.Rot, e, p.Rot)
	}
	if _, err := ParsePose(want[:PoseSize-1], &q); err != ErrShort {
		t.Errorf("ParsePose of %d bytes: %v, want ErrShort", PoseSize-1, err)
	}
}

// TestRotationTieRegression keeps the inputs that re-encoded differently
// before the encoder's canonical step existed: at a tie between the two
// largest components, rounding made a sent component decode larger than the
// omitted one, so the next encoding omitted the other component (0x24c0121517
// even cycled between two encodings).
func TestRotationTieRegression(t *testing.T) {
	for _, q := range []Quat{
		{0.70710677, 0, 0, 0.70710677},
		{-0.7071068, 0, 0, 0.7071068},
		{0.5, 0.5, 0.5, 0.5},
	} {
		w1 := encodeRot(q)
		if w2 := encodeRot(decodeRot(w1)); w1 != w2 {
			t.Errorf("%v encodes to %#010x, its decoding to %#010x", q, w1, w2)
		}
	}
	for _, w := range []uint64{0x38df8dccfb, 0x24c0121517, 0x0674674ded} {
		w1 := encodeRot(decodeRot(w))
		if w2 := encodeRot(decodeRot(w1)); w1 != w2 {
			t.Errorf("%#010x re-encodes to %#010x, then to %#010x", w, w1, w2)
		}
	}
}
