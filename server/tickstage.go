package server

// Stage names, in the order they run every tick.
const (
	StageInput     = "input"
	StageGrab      = "grab"
	StagePhysics   = "physics"
	StageBroadcast = "broadcast"
)

// Stage indexes into Stats.Stage.
const (
	stageInput = iota
	stageGrab
	stagePhysics
	stageBroadcast
	numStages
)

// StageNames lists the stages in run order; Stats.Stage[i] times
// StageNames[i].
var StageNames = [numStages]string{StageInput, StageGrab, StagePhysics, StageBroadcast}

// publishHz is how often (at most) the client list for readers is
// refreshed.
const publishHz = 10

// expireEvery is how many ticks apart the sessions are checked for their
// timeouts (seconds long): a pass over every session, not needed each
// tick.
const expireEvery = 4

// runTick runs tick tickNo at now: input (time out silent sessions; apply
// the newest input of each client when eager is off) → grab (every chain
// in dependency order) → physics (with the socket served between its
// sub-steps) → broadcast, each timed; then the reliable channels and a
// flush.
func (s *Server) runTick(now int64, tickNo uint64) {
	s.tickNo = tickNo
	s.stats.Ticks.Inc()
	// What inputs moved since the last update goes out first, and so is
	// in this tick's snapshot too.
	s.sendEager(now)
	clock := s.cfg.MonoClock
	t0 := clock()

	if tickNo%expireEvery == 0 {
		s.expire(now)
	}
	if !s.eagerOn {
		s.applyPending(now)
	}
	t1 := clock()
	s.stats.Stage[stageInput].Record(t1 - t0)

	if s.world != nil {
		s.world.Propagate(now)
	}
	t2 := clock()
	s.stats.Stage[stageGrab].Record(t2 - t1)

	var io int64 // the socket's share of the physics stage
	if s.world != nil {
		n := s.world.BeginStep(now, 1/float64(s.cfg.TickRate))
		for i := range n {
			s.world.SubStep(i)
			if i < n-1 {
				// A pose arriving during the step is not held up by it:
				// read, applied and sent between sub-steps.
				r0 := clock()
				s.receive(now, tickRecvBudget)
				if now >= s.eagerDue() {
					s.sendPaced(now)
				}
				io += clock() - r0
			}
		}
		s.world.EndStep(now)
	}
	t3 := clock()
	// The physics stage is the world's own time; what the socket took
	// between sub-steps is counted apart.
	s.stats.Stage[stagePhysics].Record(t3 - t2 - io)
	if s.world != nil {
		s.stats.SubStepIO.Record(io)
	}
	s.stats.GrabPhysics.Record(t3 - t1 - io)

	// Whatever arrived during physics is applied and sent now, and is in
	// this snapshot too.
	s.receive(now, tickRecvBudget)
	s.sendEager(now)
	s.replicate(now)
	s.broadcast(now)
	t4 := clock()
	s.stats.Stage[stageBroadcast].Record(t4 - t3)
	s.stats.TickTotal.Record(t4 - t0)

	if tickNo-s.lastPub >= uint64(max(1, s.cfg.TickRate/publishHz)) && !s.pub.active {
		s.lastPub = tickNo
		s.startPublish()
		s.forgetDeparted(now)
	}
	s.publish(now)
}

// applyPending applies the newest input of each client received since the
// last tick (eager propagation off).
func (s *Server) applyPending(now int64) {
	for _, c := range s.sess.order {
		if !c.hasPending {
			continue
		}
		c.applied, c.hasApplied, c.hasPending, c.inputApplied = c.pending, true, false, true
		if s.world != nil {
			s.scratch = s.world.ApplyInput(c.id, &c.applied, now, s.scratch[:0])
		}
	}
	s.snapLat.applied(s.world)
}

// stateTime returns the server time for a state message (snapshot or entity
// update): strictly increasing, so a receiver can always tell which of two
// states of an entity is newer.
func (s *Server) stateTime(now int64) uint64 {
	t := max(s.micros(now), s.lastStamp+1)
	s.lastStamp = t
	return t
}

func (s *Server) micros(now int64) uint64 { return uint64((now - s.origin) / 1e3) }
