package grab_test

import (
	"fmt"

	"github.com/arcadexr/arcade/geom"
	"github.com/arcadexr/arcade/grab"
)

// A hand holds a racket that carries a ball; one SetPose and one Propagate
// move both, racket first.
func Example() {
	g := grab.New(8)
	at := func(x, y, z float64) geom.Pose {
		return geom.Pose{Pos: geom.Vec3{X: x, Y: y, Z: z}, Rot: geom.Identity}
	}
	g.Add(1, grab.Rules{Grabber: true}, at(0, 1, 0))
	g.Add(2, grab.Rules{Grabbable: true, Grabber: true, MaxDistance: 0.3}, at(0, 1, 0.2))
	g.Add(3, grab.Rules{Grabbable: true}, at(0, 1.05, 0.3))
	g.Grab(2, 3) // the racket carries the ball
	g.Grab(1, 2) // the hand takes the racket

	_, _, err := g.Grab(3, 1)
	fmt.Println(err)

	g.SetPose(1, at(1, 1, 0), 11_111_111)
	g.Propagate(1, func(id grab.NodeID, p geom.Pose) { fmt.Println(id, p.Pos) })
	fmt.Println(g.Order())
	// Output:
	// grab: 3 cannot grab 1: 3 is not a grabber
	// 2 {1 1 0.2}
	// 3 {1 1.05 0.3}
	// [1 2 3]
}
