// Package pair is the link between the two servers of a standby pair
// (docs/PROTOCOL.md §18): the active sends the standby a copy of its
// world and sessions every tick (server.Config.Replicate); the standby
// keeps the newest and takes over, under a higher epoch stored before it
// writes, when the active has been silent for the takeover silence; an
// active that hears a higher epoch steps down. Every datagram is sealed
// (AES-256-GCM, a key derived from the pair key) under its epoch and a
// sequence number, so that no one else on the LAN can read a copy (a
// sealed server's carries its sessions' keys), feed a standby a world,
// hold off its takeover for longer than they replay, or make an active
// step down.
package pair
