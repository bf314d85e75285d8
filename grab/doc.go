// Package grab is the grab graph: which node holds which, and the world
// poses that follow, propagated in dependency order so that a whole chain
// (hand → racket → ball → …) moves in the same call as its root's pose.
//
// # Nodes and holds
//
// A node is a grabber (may hold others), grabbable (may be held), or both:
// hands are grabbers; tongs or a racket carrying a ball are both. A hold
// stores the target's pose in its driver's frame, captured at grab time
// (driver⁻¹·target); afterwards the target's world pose is driver·offset.
//
// Each node has at most one driving holder. An exclusive object (Rules.Shared
// false) has exactly one holder; a grab by another grabber either takes it
// over (HandOff TakeOver; Grab reports the previous holder) or fails with
// ErrHeld (HandOff Refuse). A Shared object may have several holders: the
// first drives its pose, the others are passive and queued in grab order;
// when the driver lets go, the next holder drives, with its offset taken from
// the poses at that moment so the object does not jump.
//
// # Cycles
//
// Every hold counts for cycles, driving or passive: a grab of T by G is
// refused with ErrCycle when T already holds G through any chain of holds,
// and a node never grabs itself (ErrSelf, which is also an ErrCycle). So
// all holds form a DAG, and promoting a passive holder can never make the
// driving edges cyclic. The check walks up from G through its holders,
// touching only G's ancestors.
//
// # Order
//
// The driving edges form a forest, kept in preorder: every node is followed
// by its whole driven subtree. That is a topological order maintained
// incrementally: a grab or release moves one subtree's block with an in-place
// rotation and adjusts the sizes of its ancestors; nothing is re-sorted.
// Propagate of a root walks only its subtree's contiguous block, drivers
// before what they drive; PropagateAll walks the whole order once.
//
// # Time and velocity
//
// The caller passes time in, in nanoseconds. SetPose stamps a root's pose
// with its time; propagation stamps each held node with its root's time.
// Every node keeps its last HistoryLen timed world poses in a fixed ring
// (a held object records the poses it was propagated to). On release a free
// object gets linear and angular velocities from a least-squares fit over
// the last VelocityWindow of that history, which averages tracking jitter.
//
// # Costs
//
// SetPose, Propagate and PropagateAll do not allocate. Grab and Release do
// not allocate once the graph's internal slices have grown, except for the
// error values they return. A Graph is not safe for concurrent use.
package grab
