package grab

import (
	"errors"
	"fmt"
	"strings"
)

// The error kinds. Every error the Graph returns is an *Error whose Kind is
// one of these, so errors.Is(err, ErrCycle) and friends work.
var (
	// ErrUnknownNode: an ID that was never added, or was removed.
	ErrUnknownNode = errors.New("unknown node")
	// ErrExists: Add of an ID already in the graph.
	ErrExists = errors.New("node already exists")
	// ErrSelf: a node tried to grab itself. errors.Is(err, ErrCycle) also
	// holds, since a self-grab is the shortest cycle.
	ErrSelf = errors.New("node cannot grab itself")
	// ErrNotGrabber: the grabbing node's Rules.Grabber is false.
	ErrNotGrabber = errors.New("not a grabber")
	// ErrNotGrabbable: the target's Rules.Grabbable is false.
	ErrNotGrabbable = errors.New("not grabbable")
	// ErrCycle: the target already holds the grabber, directly or through
	// other held nodes.
	ErrCycle = errors.New("grab would close a cycle")
	// ErrHeld: the target is exclusive, held by another grabber, and its
	// HandOff is Refuse.
	ErrHeld = errors.New("held and hand-off refused")
	// ErrTooFar: the grabber is further from the target than the target's
	// Rules.MaxDistance.
	ErrTooFar = errors.New("too far to grab")
	// ErrNotHeld: Release by a grabber that does not hold the target.
	ErrNotHeld = errors.New("not held by that grabber")
)

// Error is the error every Graph method returns: the operation, its kind
// (one of the Err variables) and the nodes involved.
type Error struct {
	Op      string // "add", "remove", "grab", "release"
	Kind    error  // one of the Err variables
	Grabber NodeID // grab, release: the grabbing node
	Target  NodeID // grab, release: the grabbed node; add, remove: the node
	Node    NodeID // ErrUnknownNode, ErrExists, ErrNotGrabber, ErrNotGrabbable: the offending node
	Holder  NodeID // ErrHeld: the node holding Target
	// Path is set for ErrCycle: Target, …, Grabber, each node holding the
	// next. Grabbing would add the edge Grabber → Target and close it.
	Path []NodeID
	// Dist and Max are set for ErrTooFar: the grabber–target distance and
	// the target's MaxDistance, in metres.
	Dist, Max float64
}

// Unwrap returns the kind, so errors.Is(err, ErrCycle) works.
func (e *Error) Unwrap() error { return e.Kind }

// Is reports a self-grab as a cycle as well.
func (e *Error) Is(target error) bool { return e.Kind == ErrSelf && target == ErrCycle }

func (e *Error) Error() string {
	switch e.Kind {
	case ErrCycle:
		var b strings.Builder
		for i, id := range e.Path {
			if i > 0 {
				b.WriteString(" → ")
			}
			fmt.Fprint(&b, id)
		}
		return fmt.Sprintf("grab: %d cannot grab %d: grab would close a cycle: %d already holds %d through %s",
			e.Grabber, e.Target, e.Target, e.Grabber, b.String())
	case ErrSelf:
		return fmt.Sprintf("grab: %d cannot grab itself: grab would close a cycle", e.Grabber)
	case ErrTooFar:
		return fmt.Sprintf("grab: %d cannot grab %d: %.3f m apart, limit %.3f m", e.Grabber, e.Target, e.Dist, e.Max)
	case ErrHeld:
		return fmt.Sprintf("grab: %d cannot grab %d: held by %d and hand-off is refused", e.Grabber, e.Target, e.Holder)
	case ErrNotGrabber, ErrNotGrabbable:
		return fmt.Sprintf("grab: %d cannot grab %d: %d is %v", e.Grabber, e.Target, e.Node, e.Kind)
	case ErrNotHeld:
		return fmt.Sprintf("grab: release: %d does not hold %d", e.Grabber, e.Target)
	}
	if e.Op == "grab" || e.Op == "release" {
		return fmt.Sprintf("grab: %s %d→%d: %v %d", e.Op, e.Grabber, e.Target, e.Kind, e.Node)
	}
	return fmt.Sprintf("grab: %s: %v %d", e.Op, e.Kind, e.Node)
}
