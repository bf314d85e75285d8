/*
 * failover.pml: the takeover and fencing rules of docs/PROTOCOL.md §18 as a
 * Promela model, checked by spin (go test ./model).
 *
 * Two servers (0 starts active under epoch 0, which stands for the pair's
 * first epoch; 1 is the standby) and NH headsets. Every message may be
 * lost. Channels are read in any order (??): each headset's holds HCAP
 * datagrams (1 by default: datagrams of the two servers interleave in any
 * order; with -DHCAP=2 one server's are reordered too). Faults: a server
 * crashes (it keeps its stored epoch, §18.3), a server's link is cut (it
 * sends and receives nothing until restored), or a standby's timer fires
 * while the active is alive (a false suspicion: the pair link was silent).
 * Restarts and restored links cost nothing. Time is abstracted: a standby
 * takes over when the active is dead, cut off, a standby, or heard under
 * an epoch below one the standby has seen, and otherwise by spending a
 * fault, and then only if it hears nothing of the active on the group
 * (§18.3: the standby is a group listener, and the active's state there
 * carries its epoch); a headset's fence lease (§18.4) runs out only when
 * the server it follows no longer writes to it under the headset's epoch
 * (dead, cut off, stepped down). The pair link and the group are two
 * channels to the other server, each losing on its own; only a standby
 * reads the group (an active steps down on the pair link alone).
 *
 * Safety (assertions):
 *   S1 one writer per epoch: every state accepted under epoch e, by any
 *      headset, came from one server;
 *   S2 fencing: a headset never accepts state of an epoch below the
 *      highest it accepted while that epoch's server still writes to it
 *      under it (only a lease that ran out lets it go lower);
 *   S3 a server that has seen a higher epoch than its own sends no state
 *      before it takes over under a still higher one;
 *   S4 a standby takes over from a live active (a false suspicion)
 *      before GroupHold only when it hears none of the active's state on
 *      the group, read or waiting: a suspicion cannot start a world older
 *      than the state the standby hears the headsets being shown. (After
 *      GroupHold of the pair link's silence it takes over whatever it
 *      hears, by spending a fault: a forger of group state cannot hold a
 *      dead active's room for ever.)
 * Liveness (-DLIVE, ltl "live"): with finitely many faults and losses and
 * weak fairness, eventually for ever exactly one server is active, not cut
 * off, and every headset follows it under its epoch: no headset stays with
 * a dead or fenced server, and no two servers stay active.
 *
 * Mutations that must fail: -DNOFENCE (headsets accept every state: S2),
 * -DNOSTEPDOWN (a server that sees a higher epoch writes on: S3),
 * -DNOEPOCH (both), -DNOPARITY (a takeover takes the highest epoch seen
 * + 1, so two standbys can take the same one: S1), -DNOGROUP (a standby
 * suspects on the pair link's silence alone: S4).
 */

#define NH 2
#ifndef MAXE
#define MAXE 6
#endif
#ifndef FAULTS
#define FAULTS 2
#endif

#define DEAD 0
#define STANDBY 1
#define ACTIVE 2

#define NONE 255

#ifdef NOEPOCH
#define NOFENCE
#define NOSTEPDOWN
#endif

byte role[2];
byte epoch[2];       /* the epoch a server writes (or last wrote) under */
byte seen[2];        /* the highest epoch a server has seen, its own included */
byte heard[2];       /* the epoch of the last state or heartbeat it heard */
bool cut[2];         /* link cut: sends and receives nothing */
byte faults = FAULTS;

#ifndef HCAP
#define HCAP 1
#endif
chan toH[NH] = [HCAP] of { byte, byte }; /* state: epoch, server */
chan toS[2] = [1] of { byte };          /* pair link: copy or heartbeat, epoch */
chan toG[2] = [1] of { byte };          /* group state heard by the other server: epoch */

byte hE[NH];         /* headset: highest epoch accepted */
byte hS[NH];         /* headset: server followed, NONE before the first state */
byte writer[MAXE+1]; /* ghost: server+1 whose state was accepted under epoch e */

#define other(me) (1 - (me))
#define gone(s) (role[s] == DEAD || cut[s])
/* the fence lease of headset h ran out: nothing reaches it under its
 * epoch, the server it follows is dead, cut off or no longer writes
 * under that epoch (it stepped down, or restarted as a standby) */
#define leaseout(h) (gone(hS[h]) || role[hS[h]] != ACTIVE || epoch[hS[h]] != hE[h])
/* a standby may take over without a fault: the active is dead, cut off
 * or a standby, or what it hears from it is under an epoch below one it
 * has seen (a stale writer that headsets fence) */
#define free(me) (gone(other(me)) || role[other(me)] == STANDBY || heard[me] < seen[me])
/* a suspicion needs silence on the group too: nothing of the active read
 * this step, nothing waiting */
#ifdef NOGROUP
#define groupquiet(me) true
#else
#define groupquiet(me) (!gh && empty(toG[me]))
#endif

/* A send may lose its message. In a safety run any message may be lost;
 * in a liveness run a loss spends a fault, so losses are finite. */
#ifdef LIVE
#define canlose (faults > 0)
#define spend faults--
#else
#define canlose true
#define spend skip
#endif

/* send delivers a message, or loses it; a full buffer drops it */
inline send_state(me) {
	h = 0;
	do
	:: h < NH ->
		if
		:: nfull(toH[h]) -> toH[h]!epoch[me],me
		:: nfull(toH[h]) && canlose -> spend
		:: full(toH[h]) -> skip
		fi;
		h++
	:: else -> break
	od;
	if
	:: nfull(toS[other(me)]) -> toS[other(me)]!epoch[me]
	:: nfull(toS[other(me)]) && canlose -> spend
	:: full(toS[other(me)]) -> skip
	fi;
	/* the group reaches the other server too; only a standby reads it */
	if
	:: role[other(me)] != STANDBY || cut[other(me)] -> skip
	:: else ->
		if
		:: nfull(toG[other(me)]) -> toG[other(me)]!epoch[me]
		:: nfull(toG[other(me)]) && canlose -> spend
		:: full(toG[other(me)]) -> skip
		fi
	fi
}

/* recv handles what the pair link brought, if anything: a higher epoch
 * makes an active server step down (§18.4). A standby reads the group
 * too: state under the highest epoch it has seen or a higher one is the
 * active's (gh); an active drains it unread. */
inline recv(me) {
	if
	:: toG[me]??e ->
		if
		:: role[me] == STANDBY && e >= seen[me] -> seen[me] = e; heard[me] = e; gh = true
		:: else -> skip
		fi
	:: empty(toG[me]) -> skip
	fi;
	if
	:: toS[me]??e ->
		heard[me] = e;
		if
		:: e > seen[me] ->
			seen[me] = e;
#ifndef NOSTEPDOWN
			role[me] = STANDBY
#endif
		:: else -> skip
		fi
	:: empty(toS[me]) -> skip
	fi
}

inline takeover(me) {
#ifdef NOPARITY
	e = seen[me] + 1;
#else
	/* the next epoch above the highest seen that is this server's:
	 * server i takes only epochs e with e mod 2 = i */
	e = seen[me] + 1;
	if
	:: e % 2 != me -> e++
	:: else -> skip
	fi;
#endif
	if
	:: e <= MAXE -> epoch[me] = e; seen[me] = e; role[me] = ACTIVE
	:: else -> skip
	fi
}

/* One server. Each step reads the socket first, then acts: an active
 * server sends its state to every headset and the other server (a
 * heartbeat, or group state the other hears as a listener); a standby
 * takes over when the active is dead or cut off or a standby too, or
 * while it is alive by spending a fault (its heartbeats came late). */
proctype Server(byte me) {
	byte e, h;
	bool gh; /* a standby heard the active's state on the group this step */
	do
	:: atomic { role[me] == ACTIVE && !cut[me] ->
		recv(me);
		gh = false;
		if
		:: role[me] == ACTIVE ->
			assert(epoch[me] >= seen[me]); /* S3 */
			send_state(me)
		:: else -> skip
		fi }
	:: atomic { role[me] == STANDBY && !cut[me] ->
		recv(me);
		if
		:: free(me) -> takeover(me)
		:: !free(me) && faults > 0 && groupquiet(me) ->
			/* S4 */
			assert(!gh && empty(toG[me]));
			faults--; takeover(me)
		:: !free(me) && faults > 0 ->
			/* the pair link silent for GroupHold: what the group
			 * says no longer holds the takeover off (§18.3) */
			faults--; takeover(me)
		:: !free(me) -> skip
		fi;
		gh = false }
	/* faults: a crash, a cut link */
	:: atomic { role[me] != DEAD && faults > 0 -> faults--; role[me] = DEAD; cut[me] = false }
	:: atomic { role[me] != DEAD && !cut[me] && faults > 0 -> faults--; cut[me] = true }
	/* a restart (it listens before it writes: it is a standby) and a
	 * restored link; what reached the server meanwhile is lost */
	:: atomic { role[me] == DEAD || cut[me] ->
		do
		:: toS[me]??e
		:: toG[me]??e
		:: empty(toS[me]) && empty(toG[me]) -> break
		od;
		if
		:: role[me] == DEAD -> role[me] = STANDBY
		:: else -> cut[me] = false
		fi }
	od
}

proctype Headset(byte h) {
	byte e, s;
	do
	:: atomic { toH[h]??e,s ->
		if
#ifdef NOFENCE
		:: true ->
#else
		:: hS[h] == NONE || e > hE[h] || e == hE[h] && s == hS[h] || leaseout(h) ->
#endif
			/* S1 */
			assert(writer[e] == 0 || writer[e] == s + 1);
			writer[e] = s + 1;
			/* S2 */
			assert(hS[h] == NONE || e >= hE[h] || leaseout(h));
			if
			:: hS[h] == NONE || e >= hE[h] || leaseout(h) -> hE[h] = e
			:: else -> skip
			fi;
			hS[h] = s
		:: else -> skip
		fi }
	od
}

#define converged (\
	(role[0] == ACTIVE) != (role[1] == ACTIVE) && \
	(role[0] != ACTIVE || !cut[0]) && (role[1] != ACTIVE || !cut[1]) && \
	hS[0] != NONE && role[hS[0]] == ACTIVE && hE[0] == epoch[hS[0]] && \
	hS[1] != NONE && role[hS[1]] == ACTIVE && hE[1] == epoch[hS[1]])

#ifdef LIVE
ltl live { <>[] converged }
#endif

init {
	byte i;
	atomic {
		role[0] = ACTIVE; role[1] = STANDBY;
		i = 0;
		do
		:: i < NH -> hS[i] = NONE; i++
		:: else -> break
		od;
		run Server(0); run Server(1);
		i = 0;
		do
		:: i < NH -> run Headset(i); i++
		:: else -> break
		od
	}
}
