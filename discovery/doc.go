// Package discovery lets headsets find an Arcade server on the venue LAN
// without typing an address: an mDNS/DNS-SD responder for
// _arcade._udp.local, a UDP beacon for devices that cannot receive
// multicast, and the client side of both (Browse, Beacon).
//
// # mDNS / DNS-SD (RFC 6762, RFC 6763)
//
// A Responder advertises, on each chosen interface:
//
//	_services._dns-sd._udp.local.  PTR  _arcade._udp.local.             shared, TTL 4500
//	_arcade._udp.local.            PTR  <instance>._arcade._udp.local.  shared, TTL 4500
//	<instance>._arcade._udp.local. SRV  0 0 <game port> <host>.local.   unique, TTL 120
//	<instance>._arcade._udp.local. TXT  v=1 id=… tick=… mcast=… players=n/cap scene=…   unique, TTL 4500
//	<host>.local.                  A    <that interface's IPv4 address> unique, TTL 120
//
// Unique records carry the cache-flush bit. The responder probes its two
// unique names (three QU probes 250 ms apart with the proposed records in
// the authority section, after a random 0–250 ms), renames on conflict
// ("Arena (2)", "Arena (3)"…, host "venue-2"), breaks simultaneous-probe
// ties lexicographically (the loser waits 1 s and probes again), announces
// twice 1 s apart, and then answers: QM questions by multicast (20–120 ms
// random delay when the answer holds a shared record, 400–500 ms when the
// query is truncated, at once for unique records), QU questions by unicast
// when the record was multicast within a quarter of its TTL (else by
// multicast, §5.4), legacy queries (source port ≠ 5353) by unicast to the
// source with the id echoed, the questions repeated, TTLs capped at 10 s,
// no cache-flush bit and only the answers asked for: an additional record
// goes in only if the reply stays no longer than the query. It applies known-answer suppression (§7.1, also
// across a truncated query's continuation), duplicate-answer suppression
// (§7.4) and the one-multicast-per-second-per-record limit (§6; 250 ms
// when defending against a probe, which is always answered by multicast).
// Additional records follow RFC 6763 §12 (in a legacy reply, as far as the
// query's size allows: a PTR query without EDNS padding gets the PTR alone,
// and the client asks for SRV, TXT and A as a unicast DNS client does). A
// changed player count is
// re-announced (TXT only) at most once a second. On shutdown every record
// is multicast with TTL 0. A conflict after the names were claimed makes
// the responder probe again (§9). Datagrams that are not well-formed DNS,
// responses not from port 5353, non-zero opcodes or rcodes and datagrams
// from other interfaces are dropped and counted (Stats.Dropped).
//
// The responder answers its own link only (§11). A datagram whose source
// address is not on a subnet of the interface it arrived on
// (Interface.Nets; this host's own addresses count as on-link) is dropped
// before it is parsed: counted off_link_unicast when its answer would go
// by unicast (sent to one of our addresses, or from a port other than
// 5353), off_link otherwise (224.0.0.251 is never routed, so such a
// datagram is forged). So a spoofed query from elsewhere on the internet
// gets no reply at all, a response from there draws no conflict, and the
// only unicast replies go to the link's own hosts, bounded as above. IP
// TTL 255 is not checked: not every path reports it.
//
// Records are packed and parsed by golang.org/x/net/dns/dnsmessage; the
// responder logic above is hand-written in this package. The Go mDNS
// libraries with probing and conflict handling (grandcat/zeroconf,
// libp2p/zeroconf, brutella/dnssd) are not available from the module proxy
// here; github.com/pion/mdns, which is, is built to resolve and answer
// .local host names for WebRTC ICE, not to publish a DNS-SD service with
// probing, renaming and goodbyes, and would have been a large dependency
// for a small part of this. The logic (responder) never reads the clock:
// handle and step take the time, so every rule is tested deterministically
// over a fake Transport; Responder.Run is the thin loop that reads the
// clock and the socket.
//
// The socket (ListenMDNS) binds 0.0.0.0:5353 with SO_REUSEADDR and
// SO_REUSEPORT so it coexists with avahi, joins 224.0.0.251 on each
// interface, sets multicast TTL 255 and loopback on, turns off
// IP_MULTICAST_ALL and reads the arrival interface (IP_PKTINFO) so that
// each interface gets answers with its own address.
//
// Not implemented: NSEC negative answers (§6.1), IPv6 (AAAA, ff02::fb),
// interfaces or addresses that appear after start, and the reply to a
// unicast query sent to 127.0.0.1:5353 when several processes share the
// port (the kernel gives it to one of them: query 224.0.0.251 instead).
//
// # The client: which answers it takes
//
// Browse and Beacon return only answers a headset can join: an mDNS
// instance with its SRV, TXT and an address by the end of the browse; a
// TXT (or beacon reply) with every key of RequiredKeys, well-formed (v
// and tick positive integers, id non-empty, players n/capacity); and of
// the newest protocol version among such answers that the client speaks
// (MinProtocolVersion..MaxProtocolVersion), so that servers of a newer
// version are preferred once the client speaks it. BrowseReport and
// BeaconReport also return every other answer as a Rejected, with a typed
// RejectReason and a detail for a log line (goodbye, no_srv, no_txt,
// no_address, missing_key, bad_value, newer_version, older_version,
// duplicate, stale_epoch), so a headset can say why a server it can see
// is not offered.
//
// # Standby pairs
//
// Two servers may serve one room as a standby pair (docs/PROTOCOL.md §18):
// the active advertises, the standby stays silent, and a takeover moves
// the advertisement to the new active (§18.7). The server switches its
// Responder and BeaconResponder with SetActive(epoch) and SetStandby(),
// from any goroutine, without waiting. The active adds "epoch=E" after
// the strings of §14.2; a new active announces at once, without probing,
// under the pair's instance name; a server stepping down says goodbye to
// its SRV, TXT and A (the PTRs are the new active's too); and a server of
// a pair takes the other one's records under its name for no conflict,
// and answers over them when the other's epoch is lower (a stale writer).
// The clients group an instance's records by response, the TXT's epoch
// saying whose they are, and keep the highest epoch per instance name
// (Service.Epoch); a malformed epoch= reads as none (Service.BadEpoch). A
// server on which neither SetActive nor SetStandby is called is not one of
// a pair and behaves exactly as without them.
//
// # Beacon
//
// A BeaconResponder listens on its own UDP port (default 7779) and answers
// a probe (magic "ARCB", version 1, type 1, a u32 nonce, padded to at
// least 64 bytes) with a reply carrying the nonce, the game port, the
// instance name and the TXT strings, never longer than the probe: strings
// are dropped from the end (and a flag set) until it fits. Only a probe
// from the arrival interface's link (or this host) is answered; others are
// counted off_link. The byte layout
// is in docs/PROTOCOL.md, "Discovery"; golden vectors are in
// testdata/discovery at the repository root.
package discovery
