// Package physics is Arcade's rigid-body simulation: spheres and oriented
// boxes (dynamic, kinematic or static) and static planes, stepped
// deterministically on the server tick.
//
// # Step
//
// World.Step(dt) advances the world by dt in Config.SubSteps equal
// sub-steps. Each sub-step:
//
//  1. wakes sleeping islands touched by awake or moving bodies;
//  2. finds contacts at the current poses (broad phase, below, then exact
//     test), matching them with the previous sub-step's to warm-start the solver;
//  3. resolves bouncing contacts (approaching faster than
//     Config.BounceThreshold) on the velocities before gravity, Poisson
//     style: a frictionless inelastic solve gives each point's compression
//     impulse P, then e·P more is applied. Once the inelastic solve has
//     converged, that cannot add energy however many points bounce at once;
//  4. applies gravity and solves velocities with sequential impulses,
//     warm-started: a non-penetration impulse per point, Coulomb friction
//     clamped to a circular cone bounded by the whole normal impulse
//     (impact included), so spin and sliding at the contact point turn into
//     linear velocity and back, and rolling resistance for spheres. The
//     islands of dynamic bodies joined by contacts are solved together, up
//     to Config.Iterations passes each: one whose impulses all changed by
//     less than solveTol (0.01 %) of their point's normal impulse in a pass
//     has converged and costs nothing more in the sub-step;
//  5. integrates positions, then sweeps fast spheres and boxes (continuous
//     collision, below) and projects remaining penetration out by moving
//     positions only, so position correction never adds velocity;
//  6. updates sleep: islands of touching dynamic bodies that stayed slow for
//     Config.SleepTime stop moving until something wakes them.
//
// There are no maps, goroutines or clocks in Step, and the body order is
// by id, so equal inputs give bit-identical results on one architecture and
// binary. Step does not allocate once the world's buffers have grown.
//
// # Contacts
//
// Contact normals point from the body with the lower id to the other.
// Pairs: sphere–sphere, sphere–box, sphere–plane, box–plane and box–box
// (separating axis test over the 15 axes, then clipping of the incident
// face against the reference face for up to four points, or the closest
// points of two edges). Contacts are generated up to a small margin before
// touching; such speculative points only limit how fast the gap closes. A
// fast box already touching a box or plane gets points further out (see
// Continuous collision). Restitution is the larger of the two materials', friction the geometric
// mean.
//
// # Broad phase
//
// Candidate pairs of fat bounds, found by sweep and prune on one axis and
// kept from sub-step to sub-step and Step to Step. Each awake dynamic or
// moving kinematic body is given fat bounds: a cube about its centre
// that holds its shape at any turn, grown by how far it could go in the
// rest of the Step and two sub-steps more (its speed and gravity's, a
// quarter more) and by what the sweep adds to its bounds in a sub-step;
// the sleeping, static and unmoving bodies within reach of those, their
// bounds grown by margin. The candidates are the pairs of overlapping fat
// bounds with one awake or moving body. Waking, contact finding and the
// sweep each filter the candidates by their own tests, which is a few
// comparisons a pair: a resting body costs nothing, and an awake one in no
// pair (a ball in flight) only a check that its sub-step's bounds lie
// within its fat bounds. Each sub-step checks that every awake or moving
// body's bounds do, before waking and contact finding and again for the
// sweep's bounds; a body outside them, a World call that moves or
// changes a body, or a kinematic body that starts moving sweeps the
// candidates anew. A body woken is given fat bounds and its pairs by a
// pass over the bodies, the others keeping theirs. A bounce turns a velocity about and keeps its length,
// so the cube holds a body through it: in the 1 000-object capacity
// scene they are swept anew about three Steps in four.
//
// A sub-step that cannot use them (a body spinning half a radian a
// sub-step, whose sweep bounds have no end, leaves them to the sweep)
// filters the bodies' order along the axis into sorted lists and sweeps
// those: the bodies are kept sorted by the low end of their bounds along
// it and re-sorted by insertion when a sweep reads the order, which is
// one pass when few changed place. Sleeping, fixed and other bodies enter
// those lists only within the bounds of all the awake bodies they would
// be paired with. The sweep lists the awake and moving bodies once, each
// with the bounds it is swept in and those it is swept against, and sweeps
// that list against itself; it pairs a slow body (moved less than half of
// what gets it swept) only with the moving bodies fast enough for its own
// margin, so at rest it pairs none, and a body with a plane only when its
// bounds come within reach of it. Contact finding and the sweep test each
// awake body against the planes apart, with the planes' terms read once a
// sub-step, and leave out the planes a body's fat bounds lie far above.
// The axis is the one along which the body centres spread most (changed
// at a Begin only for twice the variance). Sweep and prune was chosen
// over a uniform grid because Arcade's bodies range from 2 cm balls to 3 m
// tables, which no one cell size suits, and because the sorted order
// survives from one sub-step to the next at the cost of a pass. Either
// way the candidates are a superset of what the all-pairs tests accept,
// sorted by body index and filtered by those same tests, so the results
// are bit-identical to testing all pairs.
//
// # Kinematic bodies
//
// A kinematic body follows poses given by SetKinematicPose. The pose is
// reached at the end of the next Step; meanwhile the body moves with the
// constant linear and angular velocity of that pose change, so the solver
// sees its true contact-point velocity and pushes dynamic bodies with it.
// A kinematic body given no pose for a Step stands still. SetDynamic
// releases it with a velocity; SetKinematic takes a body back.
//
// # Continuous collision
//
// After integration, every dynamic sphere that moved more than a quarter of
// its radius relative to another body is swept against it: relative to a
// plane analytically, to a sphere by the quadratic, to a box by a slab test
// on the box grown by the radius followed by conservative advancement. The
// other body's motion is taken as the velocity of its point nearest the
// sphere. At the earliest hit the sphere is placed touching the other body's
// end pose (the rest of its motion over the sub-step is lost) and keeps its
// velocity, so the next sub-step's contact bounces it.
//
// Every dynamic box whose points may have moved more than a quarter of its
// smallest half extent relative to another box or a plane (translation plus
// turn times half diagonal) is swept against it by conservative
// advancement over both bodies' paths, start to end pose at constant linear
// and angular velocity, the other's as integrated (kinematic or dynamic).
// At a time t, each of the 15 separating axes of the box pair (or the plane
// normal), held fixed in the world, keeps a separation that shrinks at most
// as fast as the relative velocity along it plus each body's angular speed
// times its half diagonal; t advances by the largest step any axis allows
// before its separation could fall to 0.1 mm, until the separation of the
// test is within 0.2 mm. At the earliest hit the box is placed at its pose
// at t relative to the other body, on the other body's end pose, and keeps
// its velocity, like a sphere. A pair already within 1 mm at the start is
// not swept to first touch (the contact is there): instead the box is
// stopped where it would sink 1 mm deeper than it started, which catches a
// thin box's far end swung down by the impulse at its near end. Such a pair,
// if fast before the solve, also gets its contact points up to that motion
// further out, so the solver sees the features that can touch during the
// sub-step; there boxes against planes use only the face most opposed to
// the plane, so the reduction to four points does not drop the near face
// for the far one.
//
// Sweeping to the time of impact was chosen over speculative contacts (a
// margin grown by the relative motion for every fast pair) because it uses
// the velocities after the solve (a dart deflected by a paddle toward the
// board in the same sub-step is still caught), needs no feature of the
// impact to be over the other face at the start, and does not bounce a body
// early or take its bounce away by slowing it before it touches; the
// solver only ever sees touching or nearly touching pairs, as without
// continuous collision.
//
// # Limits
//
// A swept body loses the rest of its motion over the sub-step at a hit. The
// separating axis test bounds the distance of two boxes from below, so
// advancement near an edge or vertex may stop a little short of touching
// (after 24 steps the box stops where it is, still apart). Boxes are swept
// against boxes and planes, spheres against everything; two fast dynamic
// bodies are swept one after the other, each against the other's
// integrated path. A touching pair that was slow before
// the solve gets no extra contact points. The other body's rotation within a
// sub-step is taken only as the velocity of the point under a swept sphere.
// Rotation is integrated with constant world angular velocity, without the
// gyroscopic term. Planes overlap everything along the sweep axis, so each
// awake body is tested against each plane (a few operations a pair, no
// exact test when apart). A body spinning half a radian or more in a
// sub-step is carried without bound in the sweep's test (its swept bounds
// are infinite), so every awake sphere (and, if it is a box, every awake
// box) is a sweep candidate of it while it spins so. Bodies lined up along the axis
// (a row of stacks along it) overlap along it in bulk, which costs
// comparisons though not exact tests.
package physics
