// Package client is the Arcade client SDK: the protocol state machine a
// headset runs (Session) and a UDP runtime around it (Client).
//
// # Layers
//
// Session is the whole protocol and nothing else: no sockets, no goroutines,
// no clock reads. The caller passes the time in (now, in nanoseconds on the
// client's clock), hands it every received datagram (Handle), calls Update
// when NextUpdate says so, and drains the datagrams it wants sent (Outgoing).
// That makes the handshake, keepalive, loss accounting and clock
// synchronisation testable deterministically and lets a simulated network
// drive many sessions in one process.
//
// Client runs a Session over real UDP: one unicast socket to the server, one
// multicast socket for the snapshot group when snapshots come by multicast,
// kernel receive timestamps (SO_TIMESTAMPNS) on both, one reader goroutine
// per socket and one timer goroutine. Dial blocks until the server accepted,
// denied or did not answer; Close stops everything it started.
//
// A process running many sessions on one host (a load generator) can give
// its Clients one MulticastHub (Config.SharedMulticast): one socket joined
// to the snapshot group for all of them, read in batches by one goroutine
// that hands each datagram to every Client of its group token. Each
// session still keeps its own multicast sequence, loss and delivery
// reports.
//
// # Using it from a headset program
//
// Dial, then set the callbacks (OnSnapshot, OnEntityUpdate, OnPong,
// OnRPC), send poses with SendPose at the headset's rate and RPCs (Grab,
// Release, Button) when they happen, and Close at the end; Example shows
// the whole of it against a server. A World (world.go) keeps the shared
// state the callbacks deliver, by the protocol's ordering rules, and says
// who joined and left (OnJoined, OnLeft); World.Track wires it to a
// Client.
//
// Callbacks run on the Client's goroutines with its lock held, so they
// must return quickly and copy what they keep (the messages are reused).
// One that calls back into its Client is recognised: getters answer, and
// SendPose, the RPCs and Close return ErrInCallback rather than deadlock
// (counted in Stats.CallbackReentries).
//
// What a session drops (forged, damaged, replayed, misdirected datagrams)
// is counted by reason in Stats.Dropped; Drops lists the non-zero counts
// with their names (DropReason.String), for a log or an overlay.
//
// # Protocol, client side
//
// Handshake: ConnectRequest (padded to wire.MinConnectRequestSize) →
// Challenge → ChallengeResponse (echoing the cookie) → Accepted or Denied.
// The current step is resent every ResendInterval until ConnectTimeout.
// Replies whose ClientNonce is not the current attempt's are ignored. A
// Denied with DenyBadCookie restarts the handshake with a new nonce (at most
// three times): the cookie expired on the way or the server restarted. Any
// other Denied ends the session, and so does a Denied of another protocol
// version, reported as a version mismatch.
//
// After Accepted every datagram to the server carries the session token, a
// sequence number (+1 per datagram) and Ack/AckBits for the server's unicast
// datagrams. Poses go out the moment they are sampled (SendPose); a Ping goes
// out every PingInterval regardless, and each Pong feeds a windowed NTP-style
// estimate of the round-trip time and the server clock. The session ends when
// nothing valid arrived for ServerTimeout, when the server sends Disconnect,
// or on Close (which tells the server, twice, best effort).
//
// # Receive rules
//
// A received datagram is dropped, and counted in SessionStats.Dropped under a
// DropReason, when: it is larger than wire.MaxDatagramSize; its header or
// body does not parse; it arrived by multicast without the group token; it
// arrived by unicast after the handshake without the session token; it is a
// handshake reply carrying another nonce; it is a duplicate or older than the
// 64-datagram window of its path; it is a snapshot of a tick older than
// one already delivered (parts of the newest tick all pass); it is an entity
// update whose tick is older than the newest snapshot delivered (that
// snapshot was made after it and supersedes it); it is a Pong for no Ping in
// flight; or its type is not expected in the session's state (the group
// carries only snapshots and entity updates). Drops never produce errors.
//
// Entity updates (wire.EntityUpdate) follow the snapshot rules: they come
// on the snapshot path with the same token, share its sequence, and are
// delivered through OnEntityUpdate between the snapshots of two ticks.
//
// Loss is counted per path (unicast per-connection sequence, multicast group
// sequence) from gaps in the header Seq, starting at the first datagram
// received on that path; a late datagram that fills a gap is no longer lost.
package client
