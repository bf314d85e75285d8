package grab

import (
	"math"

	"github.com/arcadexr/arcade/geom"
)

const (
	// HistoryLen is the number of timed world poses kept per node.
	HistoryLen = 16
	// VelocityWindow is the span, in nanoseconds, of pose history fitted
	// for a release velocity: samples with now-VelocityWindow ≤ t ≤ now.
	VelocityWindow int64 = 50_000_000
)

type sample struct {
	t int64
	p geom.Pose
}

// ring is a node's last HistoryLen timed world poses, oldest overwritten.
type ring struct {
	s    [HistoryLen]sample
	head int // index of the next write
	n    int // samples held, ≤ HistoryLen
}

// push records pose p at time t. A sample at the newest sample's time
// replaces it; one older than the newest is dropped, so times only grow.
func (r *ring) push(t int64, p geom.Pose) {
	if r.n > 0 {
		last := &r.s[(r.head+HistoryLen-1)%HistoryLen]
		if t < last.t {
			return
		}
		if t == last.t {
			last.p = p
			return
		}
	}
	r.s[r.head] = sample{t, p}
	r.head = (r.head + 1) % HistoryLen
	if r.n < HistoryLen {
		r.n++
	}
}

// at returns the i-th newest sample (0 is the newest).
func (r *ring) at(i int) *sample { return &r.s[(r.head+2*HistoryLen-1-i)%HistoryLen] }

// velocity fits the samples in [now-VelocityWindow, now] by least squares:
// linear velocity is the slope of position against time; angular velocity
// (world frame) is the slope of the rotation vectors log(q·q_mid⁻¹), taken
// relative to the window's middle sample. Fitting every sample of the window
// averages out tracking jitter where a finite difference would amplify it.
// Fewer than two samples give zero. The angular fit is exact for a constant
// spin up to π/(VelocityWindow/2) ≈ 125 rad/s, beyond which the rotation
// vectors wrap.
func (r *ring) velocity(now int64) (lin, ang geom.Vec3) {
	newest, k := -1, 0 // newest index inside the window, sample count
	for i := 0; i < r.n; i++ {
		t := r.at(i).t
		if t > now {
			continue
		}
		if t < now-VelocityWindow {
			break
		}
		if newest < 0 {
			newest = i
		}
		k++
	}
	if k < 2 {
		return geom.Vec3{}, geom.Vec3{}
	}
	ref := r.at(newest).t
	var tm float64
	for i := newest; i < newest+k; i++ {
		tm += secs(r.at(i).t - ref)
	}
	tm /= float64(k)
	qm := r.at(newest + k/2).p.Rot.Conj()
	var pm, vm geom.Vec3
	for i := newest; i < newest+k; i++ {
		s := r.at(i)
		pm = pm.Add(s.p.Pos)
		vm = vm.Add(rotvec(s.p.Rot.Mul(qm)))
	}
	pm, vm = pm.Scale(1/float64(k)), vm.Scale(1/float64(k))
	var stt float64
	var spt, svt geom.Vec3
	for i := newest; i < newest+k; i++ {
		s := r.at(i)
		dt := secs(s.t-ref) - tm
		stt += dt * dt
		spt = spt.Add(s.p.Pos.Sub(pm).Scale(dt))
		svt = svt.Add(rotvec(s.p.Rot.Mul(qm)).Sub(vm).Scale(dt))
	}
	return spt.Scale(1 / stt), svt.Scale(1 / stt)
}

func secs(ns int64) float64 { return float64(ns) * 1e-9 }

// rotvec returns the rotation vector (axis × angle, angle in [0, π]) of the
// unit quaternion q: twice its logarithm.
func rotvec(q geom.Quat) geom.Vec3 {
	if q.W < 0 {
		q = geom.Quat{X: -q.X, Y: -q.Y, Z: -q.Z, W: -q.W}
	}
	v := geom.Vec3{X: q.X, Y: q.Y, Z: q.Z}
	s := v.Len()
	if s < 1e-12 {
		return v.Scale(2)
	}
	return v.Scale(2 * math.Atan2(s, q.W) / s)
}
