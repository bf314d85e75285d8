package server

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/arcadexr/arcade/checkpoint"
	"github.com/arcadexr/arcade/seal"
	"github.com/arcadexr/arcade/tick"
	"github.com/arcadexr/arcade/wire"
)

// The server's side of a standby pair (PROTOCOL §18): the copy of the
// world and the sessions it hands a ReplicaSink every tick, and the
// sessions a server taking over starts with. The pair link itself (the
// datagrams between the two boxes, the takeover timer, the stored epoch)
// is package pair's.

// Replica is what a standby keeps of the active server: the world at the
// end of a tick (the checkpoint a restart would resume from) and the
// sessions playing in it. The copy of a sealed server (one with a
// Passphrase) is Sealed: it carries the group's keys and signer (Group)
// and every session's keys (SessionCopy.Seal), with their send counters
// reserved ahead (seal.Reserve, PROTOCOL §18.6), so that the server
// taking over seals and opens with the same keys and no headset runs a
// new handshake.
type Replica struct {
	State      checkpoint.State
	GroupToken uint64
	Sealed     bool
	Group      seal.GroupCopy
	Sessions   []SessionCopy
}

// Reset empties r, keeping its slices' room.
func (r *Replica) Reset() {
	r.State.Reset()
	r.GroupToken = 0
	r.Sealed, r.Group = false, seal.GroupCopy{}
	r.Sessions = r.Sessions[:0]
}

// SessionCopy is one session as a server taking over needs it to go on
// without a handshake: the headset keeps its token, client id and player
// (§18.5).
type SessionCopy struct {
	Token    uint64
	Nonce    uint64
	ID       uint16
	PlayerID [wire.PlayerIDSize]byte
	Addr     netip.AddrPort
	Name     string
	// Unicast: its state goes by unicast now; FixedUnicast: it asked for
	// unicast at connect. Delta and Coded: it takes StateDelta, coded.
	Unicast, FixedUnicast, Delta, Coded bool
	// InputApplied: an input of this session was applied, so its
	// player's avatar in the copy is this session's newest input and the
	// server taking over shows its seq as this session's (no
	// TrackNoInput): the headset can tell which of its inputs the new
	// world has.
	InputApplied bool
	// Seal is the session's keys and counters, in the copy of a sealed
	// server (Replica.Sealed); zero otherwise.
	Seal seal.SessionCopy
}

// Applied is one call into the world between two copies: an input
// applied at once (eager), or a grab or release asked for by RPC. A
// standby taking over makes the same calls on the copy's world, in order
// (Persist.Applied), so that what a headset saw applied is in the new
// world.
type Applied struct {
	Kind   uint8 // AppliedInput, AppliedGrab or AppliedRelease
	ID     uint16
	Hand   uint8
	Entity uint16
	Input  wire.PoseInput
}

// Kinds of Applied.
const (
	AppliedInput = 1 + iota
	AppliedGrab
	AppliedRelease
)

// MaxApplied bounds the calls a server gathers between two hand-overs to
// ReplicaSink.Applied (past it they go at once) and a standby keeps
// after its copy.
const MaxApplied = 256

// ReplicaSink takes the server's copy every tick (Config.Replicate).
type ReplicaSink interface {
	// Replicate is called on the tick thread, after physics and before
	// the tick's state is sent, so that a state a headset sees is in the
	// copy before it is sent. It must not block; r is reused once it
	// returns.
	Replicate(r *Replica)
	// Applied is called on the tick thread with the calls made into the
	// world since the last copy or call, before anything that shows them
	// (an eager EntityUpdate, an RPC's acknowledgement) is sent; tick is
	// the number of the last copy's tick. It must not block; a is reused.
	Applied(tick uint64, a []Applied)
}

// MaxNameLen bounds a SessionCopy's Name (wire.ConnectRequest's name).
const MaxNameLen = 255

func (s *Server) initPair() error {
	if s.cfg.Replicate == nil && len(s.cfg.Persist.Sessions) == 0 {
		return nil
	}
	if _, ok := s.world.(Checkpointer); !ok {
		return errors.New("server: a standby pair (Replicate, Persist.Sessions) needs a World that implements Checkpointer (sim.World does)")
	}
	if len(s.cfg.Persist.Sessions) > 0 && s.cfg.Persist.Resume == nil {
		return errors.New("server: Persist.Sessions without Persist.Resume")
	}
	if s.cfg.Replicate != nil && s.applied == nil { // once: TakeOver comes here again
		s.persist.cw = s.world.(Checkpointer)
		s.replica.Sessions = make([]SessionCopy, 0, s.cfg.MaxClients)
		s.applied = make([]Applied, 0, MaxApplied)
	}
	return nil
}

// newGroup makes a sealed server's group: resumed from Persist.Group (a
// server taking over a sealed server's copy: the same keys and signer,
// numbers from the copy's reservation on), or new. A copy of a sealed
// server given to one without a Passphrase, or the sessions of an open
// server's copy to a sealed one, are refused: their headsets seal, or do
// not, and the server would serve none of them.
func (s *Server) newGroup() error {
	p := &s.cfg.Persist
	var err error
	switch {
	case !s.sealed && p.Group != nil:
		return errors.New("server: Persist.Group (the copy of a server with a passphrase) without a Passphrase: its headsets seal every datagram")
	case !s.sealed:
		return nil
	case p.Group == nil && len(p.Sessions) > 0:
		return errors.New("server: Persist.Sessions without Persist.Group: with a Passphrase, the sessions must be a sealed server's copy (the other box runs without a passphrase?)")
	case p.Group == nil:
		s.group, err = seal.NewServerGroup(s.groupToken, nil)
	default:
		s.group, err = seal.ResumeServerGroup(s.groupToken, p.Group)
	}
	if err != nil {
		return fmt.Errorf("server: the group: %w", err)
	}
	s.logGroupKeys()
	return nil
}

// restoreSessions makes Persist.Sessions sessions of this server, each a
// player at once: the world restored from the same copy has its hands.
func (s *Server) restoreSessions(now int64) error {
	for i := range s.cfg.Persist.Sessions {
		sc := &s.cfg.Persist.Sessions[i]
		switch {
		case sc.ID == 0 || int(sc.ID) > s.cfg.MaxClients:
			return fmt.Errorf("server: Persist.Sessions: client id %d is outside 1..MaxClients (%d)", sc.ID, s.cfg.MaxClients)
		case s.sess.usedIDs[sc.ID]:
			return fmt.Errorf("server: Persist.Sessions: client id %d twice", sc.ID)
		case sc.Token == 0 || s.sess.byToken[sc.Token] != nil:
			return fmt.Errorf("server: Persist.Sessions: session %d: token zero or used twice", sc.ID)
		case !sc.Addr.IsValid() || s.sess.byAddr[sc.Addr] != nil:
			return fmt.Errorf("server: Persist.Sessions: session %d: address %v invalid or used twice", sc.ID, sc.Addr)
		case len(sc.Name) > MaxNameLen:
			return fmt.Errorf("server: Persist.Sessions: session %d: name of %d bytes", sc.ID, len(sc.Name))
		}
		_, resumed := s.sess.departed[sc.PlayerID]
		resumed = resumed && sc.PlayerID != ([wire.PlayerIDSize]byte{})
		c := s.newSession(now, *sc)
		c.confirmed, c.resumed = true, resumed
		if s.sealed {
			if sc.Seal.Keys == (seal.SessionKeys{}) {
				return fmt.Errorf("server: Persist.Sessions: session %d has no keys, and this server has a Passphrase", sc.ID)
			}
			sl, err := seal.ResumeSession(&sc.Seal)
			if err != nil {
				return fmt.Errorf("server: Persist.Sessions: session %d: %w", sc.ID, err)
			}
			c.seal = sl
			s.logSessionKeys(c)
		} else if sc.Seal.Keys != (seal.SessionKeys{}) {
			return fmt.Errorf("server: Persist.Sessions: session %d is sealed, and this server has no Passphrase", sc.ID)
		}
		if resumed {
			d := s.sess.departed[sc.PlayerID]
			c.applied, c.hasApplied = d.avatar, d.has
		} else {
			for j := range s.cfg.Persist.Resume.Players {
				if p := &s.cfg.Persist.Resume.Players[j]; p.ClientID == sc.ID && !p.Away {
					c.applied, c.hasApplied = p.Avatar, p.HasAvatar
					c.inputApplied = sc.InputApplied && p.HasAvatar
				}
			}
		}
		s.addSession(c, sc.FixedUnicast)
		s.joined(now, c)
	}
	s.stats.Clients.Store(int64(len(s.sess.order) - s.unconfirmed))
	return nil
}

// replicate hands Config.Replicate the world as this tick's state will
// show it and the sessions playing in it.
func (s *Server) replicate(now int64) {
	if s.cfg.Replicate == nil {
		return
	}
	r := &s.replica
	r.Reset()
	s.saveState(now, &r.State)
	if s.tickAt != 0 {
		// The time of the copy's tick, not of now: a server taking over
		// stamps its first tick one period after it, so its ticks keep
		// to the times of their numbers (tick k at (k+1)/rate, which
		// headsets check) however far into a tick the copy was made,
		// takeover after takeover.
		r.State.ServerTime = s.micros(s.tickAt)
	}
	r.GroupToken = s.groupToken
	if s.group != nil {
		// Reserved ahead of what this tick sends: the copy goes to the
		// standby before the tick's state (§18.6).
		r.Sealed, r.Group = true, s.group.Copy()
	}
	for _, c := range s.sess.order {
		if !c.confirmed {
			continue
		}
		sc := SessionCopy{
			Token: c.token, Nonce: c.nonce, ID: c.id, PlayerID: c.playerID, Addr: c.addr, Name: c.name,
			Unicast: c.unicast, FixedUnicast: c.fixedUnicast, Delta: c.delta, Coded: c.coded,
			InputApplied: c.inputApplied,
		}
		if c.seal != nil {
			sc.Seal = c.seal.Copy()
		}
		r.Sessions = append(r.Sessions, sc)
	}
	s.cfg.Replicate.Replicate(r)
	s.applied = s.applied[:0] // in the copy now
	s.copyTick = r.State.Tick
}

// noteApplied keeps a call into the world for the standby (Applied).
func (s *Server) noteApplied(a Applied) {
	if s.cfg.Replicate == nil {
		return
	}
	if len(s.applied) == MaxApplied {
		s.flushApplied()
	}
	s.applied = append(s.applied, a)
}

// flushApplied hands the standby the calls gathered since the last copy.
func (s *Server) flushApplied() {
	if len(s.applied) == 0 {
		return
	}
	// Under the last copy's tick, not the tick running: calls made in a
	// tick before its copy is taken are in that copy, and follow the one
	// before it.
	s.cfg.Replicate.Applied(s.copyTick, s.applied)
	s.applied = s.applied[:0]
}

// reapply makes Persist.Applied's calls on the restored world, in order,
// with each session's avatar the newest input among them.
func (s *Server) reapply(now int64) {
	for i := range s.cfg.Persist.Applied {
		a := &s.cfg.Persist.Applied[i]
		c := s.sess.byID(a.ID)
		if c == nil || s.world == nil {
			continue
		}
		switch a.Kind {
		case AppliedInput:
			c.applied, c.hasApplied, c.inputApplied = a.Input, true, true
			s.scratch = s.world.ApplyInput(a.ID, &a.Input, now, s.scratch[:0])
		case AppliedGrab:
			s.world.Grab(a.ID, int(a.Hand), a.Entity, now)
		case AppliedRelease:
			s.world.Release(a.ID, int(a.Hand), now)
		}
	}
}

// StepDown makes Run return without telling the headsets anything: this
// server has seen a higher epoch than its own (§18.4) and the server of
// that epoch has them now. The caller cancels Run's context too. Safe
// from any goroutine.
func (s *Server) StepDown() { s.steppedDown.Store(true) }

// SteppedDown reports whether StepDown was called.
func (s *Server) SteppedDown() bool { return s.steppedDown.Load() }

// Takeover is what a server made ahead (Config.Standby) is handed when it
// takes over: the epoch it writes under, the group token its headsets
// know (0: a new one), and what New would have taken from Persist: the
// world to resume from (nil: the scene's, or the checkpoint's), the
// copied sessions and the calls made after the copy.
type Takeover struct {
	Epoch      uint32
	GroupToken uint64
	Resume     *checkpoint.State
	Sessions   []SessionCopy
	Applied    []Applied
	Group      *seal.GroupCopy // a sealed server's copy's group (Persist.Group)
}

// TakeOver switches a server made ahead (Config.Standby) on: what New
// leaves to it is done at now, the time on New's clock the server starts
// at, and its first tick is due at once. It is called once, before Run,
// and does not allocate the server's tables again: New made them while
// the standby followed.
func (s *Server) TakeOver(t Takeover, now int64) error {
	if !s.warm {
		return errors.New("server: TakeOver needs a server made with Standby, not yet taken over")
	}
	if t.Epoch == 0 {
		return errors.New("server: TakeOver: epoch 0")
	}
	s.cfg.Epoch, s.cfg.GroupToken = t.Epoch, t.GroupToken
	s.cfg.Persist.Resume, s.cfg.Persist.Sessions, s.cfg.Persist.Applied = t.Resume, t.Sessions, t.Applied
	s.cfg.Persist.Group = t.Group
	if s.epoch == 0 {
		s.sealRoom += wire.EpochSize
	}
	s.epoch = t.Epoch
	if t.GroupToken != 0 {
		s.groupToken = t.GroupToken
	}
	if s.sealed || t.Group != nil {
		// The copy's group (or a new one under its token): New's was
		// made for a token the headsets do not know.
		if err := s.newGroup(); err != nil {
			return err
		}
	}
	// The clock starts now, not when New ran.
	s.origin = now
	s.sched = tick.NewSchedule(s.cfg.Period(), now)
	if err := s.start(now); err != nil {
		return err
	}
	s.warm = false
	return nil
}
