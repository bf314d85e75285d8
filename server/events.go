package server

import "github.com/arcadexr/arcade/wire"

// Event is a headset joining, leaving or changing delivery, for the
// operator's log. The tick thread hands events over without waiting
// (Events); when nobody reads fast enough they are dropped and counted
// (Stats.EventsDropped).
type Event struct {
	Join bool // joined; else left, unless Delivery is set
	// Delivery, when not empty, says the headset's state now goes by
	// "unicast" or "multicast", and DeliveryReason why (the fallback's
	// measurement, or its recovery).
	Delivery       string
	DeliveryReason string
	ID             uint16
	Name           string
	Addr           string
	Resumed        bool                  // joined: took back a departed player's slot
	Reason         wire.DisconnectReason // left: why (ClientLeft, Timeout, …)
	At             int64                 // mono ns
}

// eventBuffer is how many events wait for a reader at most.
const eventBuffer = 256

// Events returns the channel of join and leave events. Read it from one
// goroutine; it is never closed.
func (s *Server) Events() <-chan Event { return s.events }

// emit hands ev over if there is room, never blocking the tick.
func (s *Server) emit(ev Event) {
	select {
	case s.events <- ev:
	default:
		s.stats.EventsDropped.Inc()
	}
}
