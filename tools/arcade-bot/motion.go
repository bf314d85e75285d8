package main

import (
	"math"

	"github.com/arcadexr/arcade/wire"
)

// The room the bots walk in, in metres, centred on the origin, Y up.
const (
	roomHalf   = 4.0 // X and Z in [-roomHalf, roomHalf]
	roomHeight = 2.5 // Y in [0, roomHeight]
)

// path is one bot's motion: the head walks a circle of its own centre,
// radius, speed and phase, bobbing and nodding; the hands swing in front of
// it. Every quantity is a smooth function of time, so consecutive samples
// are close, and no two bots share a path.
type path struct {
	cx, cz float64 // circle centre
	radius float64
	omega  float64 // rad/s along the circle
	phase  float64
}

// newPath returns bot i's path among n. Centres sit on a circle of radius
// 2.2 m; the walking circle has a radius up to 1 m, the hands reach 0.45 m
// from the head, so everything stays inside the room.
func newPath(i, n int) path {
	a := 2 * math.Pi * float64(i) / float64(max(n, 1))
	return path{
		cx:     2.2 * math.Cos(a),
		cz:     2.2 * math.Sin(a),
		radius: 0.4 + 0.15*float64(i%5),
		omega:  0.5 + 0.8*float64(i)/float64(max(n, 1)),
		phase:  a + 0.37*float64(i),
	}
}

type quat struct{ x, y, z, w float64 }

func (a quat) mul(b quat) quat {
	return quat{
		a.w*b.x + a.x*b.w + a.y*b.z - a.z*b.y,
		a.w*b.y - a.x*b.z + a.y*b.w + a.z*b.x,
		a.w*b.z + a.x*b.y - a.y*b.x + a.z*b.w,
		a.w*b.w - a.x*b.x - a.y*b.y - a.z*b.z,
	}
}

func (a quat) wire() wire.Quat {
	n := math.Sqrt(a.x*a.x + a.y*a.y + a.z*a.z + a.w*a.w)
	return wire.Quat{X: float32(a.x / n), Y: float32(a.y / n), Z: float32(a.z / n), W: float32(a.w / n)}
}

// axisAngle returns the rotation by angle about the unit axis (x, y, z).
func axisAngle(x, y, z, angle float64) quat {
	s, c := math.Sincos(angle / 2)
	return quat{x * s, y * s, z * s, c}
}

// sample fills the poses and controls of in for time t (seconds since the
// bots started moving).
func (p *path) sample(t float64, in *wire.PoseInput) {
	theta := p.phase + p.omega*t
	sinT, cosT := math.Sincos(theta)
	hx := p.cx + p.radius*cosT
	hz := p.cz + p.radius*sinT
	hy := 1.6 + 0.05*math.Sin(2*math.Pi*0.25*t+p.phase)

	// Facing the walking direction (-sinθ, 0, cosθ); forward is -Z, so the
	// yaw about +Y is π-θ.
	yaw := math.Pi - theta
	sinY, cosY := math.Sincos(yaw)
	qYaw := axisAngle(0, 1, 0, yaw)
	nod := axisAngle(1, 0, 0, 0.15*math.Sin(2*math.Pi*0.4*t+p.phase))
	in.Head = wire.Pose{Pos: vec(hx, hy, hz), Rot: qYaw.mul(nod).wire()}

	swing := 0.12 * math.Sin(2*math.Pi*0.8*t+p.phase)
	for h, side := range [2]float64{-1, 1} {
		// Offset in the head's yaw frame: to the side, down, forward.
		lx, ly, lz := 0.22*side, -0.4+0.05*side*swing, -0.3+side*swing
		wx := lx*cosY + lz*sinY
		wz := -lx*sinY + lz*cosY
		roll := axisAngle(0, 0, 1, side*0.3*math.Sin(2*math.Pi*0.6*t+p.phase))
		in.Hands[h] = wire.Pose{Pos: vec(hx+wx, hy+ly, hz+wz), Rot: qYaw.mul(roll).wire()}
		trigger := 0.5 + 0.5*math.Sin(2*math.Pi*0.3*t+p.phase+side)
		in.Trigger[h] = float32(trigger)
		in.Grip[h] = float32(1 - trigger)
		in.Stick[h] = [2]float32{float32(0.5 * math.Sin(t+side)), float32(0.5 * math.Cos(t+side))}
	}
	in.Tracking = wire.TrackHead | wire.TrackLeft | wire.TrackRight
}

func vec(x, y, z float64) wire.Vec3 { return wire.Vec3{X: float32(x), Y: float32(y), Z: float32(z)} }
