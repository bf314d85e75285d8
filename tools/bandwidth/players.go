package main

import (
	"math"
	"math/rand/v2"

	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/wire"
)

// InputRate is how many pose inputs a headset sends per second.
const InputRate = 90

// allTracked is the Tracking of a headset whose head and both hands are
// tracked.
const allTracked = wire.TrackHead | wire.TrackLeft | wire.TrackRight

// wave is one sine term: amplitude, angular frequency, phase.
type wave struct{ a, w, p float64 }

func (s wave) at(t float64) float64 { return s.a * math.Sin(s.w*t+s.p) }

// slope is the time derivative of the term at t.
func (s wave) slope(t float64) float64 { return s.a * s.w * math.Cos(s.w*t+s.p) }

// randWave draws a term of amplitude a0..a1 and period p0..p1 seconds.
func randWave(r *rand.Rand, a0, a1, p0, p1 float64) wave {
	return wave{a: a0 + (a1-a0)*r.Float64(), w: 2 * math.Pi / (p0 + (p1-p0)*r.Float64()), p: 2 * math.Pi * r.Float64()}
}

// mover is one headset's motion model (see the package doc).
type mover struct {
	id      uint16
	seq0    uint32  // input seq before the first sample
	phase   float64 // first sample at phase/InputRate s
	base    geom.Vec3
	shift   geom.Vec3 // added to every pose: puts a hand on what it holds
	height  float64
	walker  bool
	yaw0    float64
	wander  [2][2]wave // x, z: two terms each
	bodyYaw wave       // standers: turning in place
	step    float64    // step angular frequency, walkers
	look    [3]wave    // head yaw (two terms) and pitch
	roll    wave
	hand    [2][3]wave // per hand: gesture terms in x, y, z
	twist   [2][3]wave // per hand: rotation about x, y, z
	noise   uint64     // seed of the tracking noise
}

// newMover draws a headset's model around base, wandering up to about
// wander metres if it walks.
func newMover(r *rand.Rand, id uint16, base geom.Vec3, walker bool, wanderAmp float64) *mover {
	m := &mover{
		id:     id,
		seq0:   r.Uint32() >> 8,
		phase:  r.Float64(),
		base:   base,
		height: 1.55 + 0.3*r.Float64(),
		walker: walker,
		yaw0:   2 * math.Pi * r.Float64(),
		noise:  r.Uint64(),
	}
	amp := 0.05 // a stander sways a few centimetres
	p0, p1 := 5.0, 12.0
	if walker {
		amp, p0, p1 = wanderAmp, 30, 90 // 0.28 m/s on average at 2.5 m
	}
	for i := range m.wander {
		m.wander[i][0] = randWave(r, amp/2, amp, p0, p1)
		m.wander[i][1] = randWave(r, amp/4, amp/2, p0/2, p1/2)
	}
	m.bodyYaw = randWave(r, 0.3, 0.8, 20, 40)
	m.step = 2 * math.Pi * (1.6 + 0.4*r.Float64())
	m.look[0] = randWave(r, 0.2, 0.6, 3, 10)    // looking around
	m.look[1] = randWave(r, 0.05, 0.15, 0.8, 2) // quick glances
	m.look[2] = randWave(r, 0.05, 0.2, 4, 10)   // pitch
	m.roll = randWave(r, 0.02, 0.06, 3, 8)
	for h := range 2 {
		for k := range 3 {
			m.hand[h][k] = randWave(r, 0.03, 0.12, 0.7, 4)
			m.twist[h][k] = randWave(r, 0.1, 0.5, 1, 5)
		}
	}
	return m
}

// sample returns the number of the newest input sent by time t, or -1.
func (m *mover) sample(t float64) int {
	return int(math.Floor(t*InputRate - m.phase))
}

// state returns the player record of input sample k.
func (m *mover) state(k int) wire.PlayerState {
	t := (float64(k) + m.phase) / InputRate
	var off geom.Vec3
	var vx, vz float64
	for _, s := range m.wander[0] {
		off.X += s.at(t)
		vx += s.slope(t)
	}
	for _, s := range m.wander[1] {
		off.Z += s.at(t)
		vz += s.slope(t)
	}
	yaw := m.yaw0 + m.bodyYaw.at(t)
	bob, swing := 0.0, 0.0
	if m.walker {
		speed := math.Hypot(vx, vz)
		if speed > 0.05 {
			yaw = math.Atan2(vx, vz)
		}
		g := math.Min(speed/0.4, 1) // gait grows with speed
		bob = 0.025 * g * math.Sin(m.step*t)
		swing = 0.15 * g * math.Sin(m.step*t/2)
	}
	body := geom.AxisAngle(geom.Vec3{Y: 1}, yaw)
	root := m.base.Add(off).Add(m.shift)
	n := noise{m.noise ^ uint64(k)*0x9e3779b97f4a7c15}

	head := geom.Pose{Pos: root.Add(geom.Vec3{Y: m.height + bob})}
	hy := yaw + m.look[0].at(t) + m.look[1].at(t)
	head.Rot = geom.AxisAngle(geom.Vec3{Y: 1}, hy).
		Mul(geom.AxisAngle(geom.Vec3{X: 1}, m.look[2].at(t)-0.1)).
		Mul(geom.AxisAngle(geom.Vec3{Z: 1}, m.roll.at(t)))
	head = n.jitter(head)

	st := wire.PlayerState{ClientID: m.id, LastInputSeq: m.seq0 + uint32(k) + 1, Tracking: allTracked, Head: poseToWire(head)}
	for h := range 2 {
		side := float64(2*h - 1) // left -1, right +1
		sw := swing * -side      // the hands swing in opposition
		local := geom.Vec3{
			X: side*0.22 + m.hand[h][0].at(t),
			Y: m.height - 0.6 + m.hand[h][1].at(t),
			Z: 0.2 + sw + m.hand[h][2].at(t),
		}
		p := geom.Pose{Pos: root.Add(body.Rotate(local))}
		p.Rot = body.Mul(geom.AxisAngle(geom.Vec3{X: 1}, m.twist[h][0].at(t)-0.5)).
			Mul(geom.AxisAngle(geom.Vec3{Y: 1}, m.twist[h][1].at(t))).
			Mul(geom.AxisAngle(geom.Vec3{Z: 1}, m.twist[h][2].at(t)))
		st.Hands[h] = poseToWire(n.jitter(p))
	}
	return st
}

// noise is the tracking jitter of one sample: a deterministic function of
// the headset's noise seed and the sample number, whatever the tick rate.
type noise struct{ s uint64 }

// next returns a deviate of mean 0 and standard deviation 1: the sum of
// four uniform deviates (splitmix64), centred and scaled, near enough a
// normal for tracking jitter and cheaper than one.
func (n *noise) next() float64 {
	sum := 0.0
	for range 4 {
		n.s += 0x9e3779b97f4a7c15
		z := n.s
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		sum += float64(z>>11) / (1 << 53)
	}
	return (sum - 2) * math.Sqrt(3)
}

// jitter adds 0.3 mm of position noise and 1 mrad of rotation noise.
func (n *noise) jitter(p geom.Pose) geom.Pose {
	const sp, sr = 0.0003, 0.001
	p.Pos = p.Pos.Add(geom.Vec3{X: sp * n.next(), Y: sp * n.next(), Z: sp * n.next()})
	w := geom.Vec3{X: n.next(), Y: n.next(), Z: n.next()}
	p.Rot = p.Rot.Integrate(w, sr)
	return p
}

func poseToWire(p geom.Pose) wire.Pose { return toWire(p) }

// playersTrace is the players scene: count headsets walking or standing in
// a 48 × 48 m venue floor.
type playersTrace struct {
	rate, n int
	movers  []*mover
	last    []int // per mover: sample of cache
	cache   []wire.PlayerState
}

// Players scene.
const (
	playersCount = 2000
	venueHalf    = 24.0 // m: the venue floor is ±24 m
	walkerShare  = 0.6
)

func newPlayersTrace(seed uint64, count, rate int, seconds float64) *playersTrace {
	r := rand.New(rand.NewPCG(seed, 0x91a7e5))
	p := &playersTrace{rate: rate, n: int(math.Round(seconds * float64(rate)))}
	for i := range count {
		base := geom.Vec3{X: venueHalf * (2*r.Float64() - 1), Z: venueHalf * (2*r.Float64() - 1)}
		base.X = math.Max(-venueHalf+4, math.Min(venueHalf-4, base.X)) // room to wander
		base.Z = math.Max(-venueHalf+4, math.Min(venueHalf-4, base.Z))
		p.movers = append(p.movers, newMover(r, uint16(i+1), base, r.Float64() < walkerShare, 2.5))
	}
	p.last = make([]int, count)
	for i := range p.last {
		p.last[i] = math.MinInt
	}
	p.cache = make([]wire.PlayerState, count)
	return p
}

func (p *playersTrace) Name() string { return "players" }
func (p *playersTrace) Rate() int    { return p.rate }
func (p *playersTrace) Len() int     { return p.n }

// State: tick t at t/rate s carries each headset's newest input by then.
// A headset yet to send has its first sample's pose and seq.
func (p *playersTrace) State(t int, s *State) {
	s.Entities = s.Entities[:0]
	s.Players = s.Players[:0]
	now := float64(t) / float64(p.rate)
	for i, m := range p.movers {
		k := max(m.sample(now), 0)
		if k != p.last[i] {
			p.cache[i], p.last[i] = m.state(k), k
		}
		s.Players = append(s.Players, p.cache[i])
	}
}
