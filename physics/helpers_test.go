package physics

import (
	"testing"

	"github.com/arcadexr/arcade/geom"
)

const tick = 1.0 / 120

func newWorld(t testing.TB, cfg Config) *World {
	t.Helper()
	w, err := NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func mustAdd(t testing.TB, w *World, id BodyID, def BodyDef) {
	t.Helper()
	if err := w.Add(id, def); err != nil {
		t.Fatal(err)
	}
}

func at(x, y, z float64) geom.Pose {
	return geom.Pose{Pos: geom.Vec3{X: x, Y: y, Z: z}, Rot: geom.Identity}
}

func v3(x, y, z float64) geom.Vec3 { return geom.Vec3{X: x, Y: y, Z: z} }

// Table tennis dimensions.
const (
	ballR      = 0.02
	ballMass   = 0.0027
	tableTop   = 0.76
	paddleHalf = 0.005
)

var tableHalf = v3(1.37, 0.38, 0.7625)

func ball(pos, vel geom.Vec3, e float64) BodyDef {
	s := Sphere(ballR)
	s.Shell = true
	return BodyDef{Shape: s, Mass: ballMass, Pose: geom.Pose{Pos: pos, Rot: geom.Identity}, Vel: vel,
		Material: Material{Restitution: e, Friction: 0.3}}
}

func table(e float64) BodyDef {
	return BodyDef{Shape: Box(tableHalf), Kind: Static, Pose: at(0, tableTop/2, 0),
		Material: Material{Restitution: e, Friction: 0.3}}
}
