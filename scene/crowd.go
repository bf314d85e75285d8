package scene

import (
	"fmt"
	"math/rand/v2"

	"github.com/arcadexr/arcade/geom"
)

// Crowd returns a capacity scene: a 12 m square pen (a floor and four
// walls, planes) split in two by an 8 m high fence, resting objects that settle and fall asleep, and moving
// ones that never come to rest, for measuring what physics costs a tick.
//
// The resting objects stand over x < 0, 20 to a row from z = −5.6 on: stacks of five 10 cm cubes and
// rows of five 2.4 cm balls on a 25 cm grid, alternately. The moving ones
// start over x > 0, at heights from 0.5 to 3.5 m: balls of 3 to 6 cm
// radius and, one in four, boxes of 3 to 6 cm half-extents turned at
// random, all perfectly elastic (restitution 1) and frictionless, so that
// they fall, bounce off the floor and off each other, and keep doing so.
// The same counts and seed give the same scene.
func Crowd(resting, moving int, seed uint64) *Scene {
	s := &Scene{Name: fmt.Sprintf("Crowd %d resting %d moving", resting, moving), Gravity: DefaultGravity}
	add := func(o Object) {
		o.ID = uint16(len(s.Objects) + 1)
		s.Objects = append(s.Objects, o)
	}
	wall := func(name string, n geom.Vec3) {
		add(Object{Name: name, Tag: "wall", Shape: ShapePlane, Normal: n, Offset: -6, Kind: Static,
			Restitution: 1, Friction: 0.5, Pose: geom.IdentityPose})
	}
	add(Object{Name: "floor", Tag: "floor", Shape: ShapePlane, Normal: geom.Vec3{Y: 1}, Kind: Static,
		Restitution: 1, Friction: 0.6, Pose: geom.IdentityPose})
	wall("wall-w", geom.Vec3{X: 1})
	wall("wall-e", geom.Vec3{X: -1})
	wall("wall-n", geom.Vec3{Z: 1})
	wall("wall-s", geom.Vec3{Z: -1})
	// A fence along x = 0, higher than any bouncer climbs, keeps the
	// moving objects from the resting ones.
	add(Object{Name: "fence", Tag: "wall", Shape: ShapeBox, Half: geom.Vec3{X: 0.05, Y: 4, Z: 6}, Kind: Static,
		Restitution: 1, Friction: 0.5, Pose: geom.Pose{Pos: geom.Vec3{Y: 4}, Rot: geom.Identity}})
	const half = 0.05
	for k := 0; k < resting; {
		cell := k / 5
		x, z := -5.6+0.25*float64(cell%20), -5.6+0.25*float64(cell/20)
		for l := 0; l < 5 && k < resting; l++ {
			o := Object{Kind: Dynamic, Restitution: 0.3, Friction: 0.6}
			if cell%2 == 0 {
				o.Name, o.Tag, o.Shape, o.Half, o.Mass = fmt.Sprintf("block-%d", k), "block", ShapeBox, geom.Vec3{X: half, Y: half, Z: half}, 0.5
				o.Pose = geom.Pose{Pos: geom.Vec3{X: x, Y: half + float64(l)*(2*half+0.002) + 0.001, Z: z}, Rot: geom.Identity}
			} else {
				o.Name, o.Tag, o.Shape, o.Radius, o.Mass = fmt.Sprintf("ball-%d", k), "ball", ShapeSphere, 0.024, 0.05
				o.Pose = geom.Pose{Pos: geom.Vec3{X: x - 0.1 + 0.05*float64(l), Y: 0.024, Z: z}, Rot: geom.Identity}
				o.Bullet = autoBullet(&o)
			}
			add(o)
			k++
		}
	}
	r := rand.New(rand.NewPCG(seed, 3))
	for k := 0; k < moving; k++ {
		o := Object{Kind: Dynamic, Restitution: 1}
		pos := geom.Vec3{X: 0.5 + 5*r.Float64(), Y: 0.5 + 3*r.Float64(), Z: -5.5 + 11*r.Float64()}
		if k%4 == 3 {
			axis := geom.Vec3{X: r.Float64() + 0.1, Y: r.Float64(), Z: r.Float64()}
			o.Name, o.Tag, o.Shape, o.Mass = fmt.Sprintf("box-%d", k), "block", ShapeBox, 0.4
			o.Restitution, o.Friction = 0.3, 0.6
			o.Half = geom.Vec3{X: 0.03 + 0.03*r.Float64(), Y: 0.03 + 0.03*r.Float64(), Z: 0.03 + 0.03*r.Float64()}
			o.Pose = geom.Pose{Pos: pos, Rot: geom.AxisAngle(axis.Scale(1/axis.Len()), 3*r.Float64())}
		} else {
			o.Name, o.Tag, o.Shape, o.Mass = fmt.Sprintf("bouncer-ball-%d", k), "ball", ShapeSphere, 0.2
			o.Radius = 0.03 + 0.03*r.Float64()
			o.Pose = geom.Pose{Pos: pos, Rot: geom.Identity}
			o.Bullet = autoBullet(&o)
		}
		add(o)
	}
	return s
}
