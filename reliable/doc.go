// Package reliable carries messages that must arrive exactly once and in
// order (a grab request, a scene change, a "goal!" cue) over Arcade's
// unreliable datagrams, plus one unreliable-sequenced stream where the newest
// message wins.
//
// It is pure logic: an Endpoint owns no socket, clock or goroutine (a
// Budget short of memory may start a garbage collection). The caller
// passes the time in (now, ns, on any monotonic clock), builds datagrams from
// Poll, puts Ack into the header of every datagram it sends, hands received
// datagrams to OnDatagram (or their header acks to OnAcks), and collects
// messages with Receive. An Endpoint is not safe for concurrent use.
//
// # Mechanism
//
// Messages are cut into fragments of at most MTU − FragmentHeaderSize bytes;
// messages that fit in one chunk are sent whole, several per datagram
// (message packing). Each datagram the Endpoint builds gets the next packet
// sequence number of the path (the header's Seq) and remembers which
// fragments it carried. The peer acknowledges packets in the header's Ack and
// AckBits; an acknowledged packet acknowledges all its fragments. Every packet
// number is sent once — a retransmitted fragment travels in a new packet with
// a new number — so every acknowledgement is unambiguous and every RTT sample
// obeys Karn's rule.
//
// RTT: RFC 6298 (gains 1/8 and 1/4) on the time from sending the newest
// packet an acknowledgement names to receiving it; RTO = clamp(SRTT +
// 4·RTTVAR, MinRTO, MaxRTO). A packet is declared lost, and its unacknowledged
// fragments queued for resending ahead of new data, when
//   - a packet sent PacketThreshold (3) or more packets later is acknowledged
//     (fast retransmit, QUIC's packet threshold), or
//   - a later packet is acknowledged and it was sent more than
//     TimeThreshold/8 (9/8) of max(SRTT, latest RTT) ago (QUIC's time
//     threshold), or
//   - its RTO, doubled for every timeout its fragments have had
//     (exponential backoff per fragment, at most MaxRTO), expires.
//
// When a packet declared lost by a threshold is acknowledged after all, the
// path reorders: the packet threshold rises past the distance that misled
// it (up to MaxPacketThreshold) or the time threshold by 1/8 RTT (up to
// MaxTimeThreshold, 2 RTT), as RFC 8985 adapts its reordering window. They
// never fall again for the life of the Endpoint.
//
// Lost fragments of each stream's oldest unacknowledged message are resent
// first, the streams in turn, then the others, oldest loss first. A
// fragment lost again after being resent takes turns with new data: a
// receiver short of memory refuses all but the messages it needs most (see
// Memory bounds), and new fragments of those must not wait behind resends
// it will refuse.
//
// So a lost fragment is normally resent about one RTT after it was sent,
// not one RTO. At most MaxInFlight packets with reliable data are
// unacknowledged at once, so that one header's 33-packet acknowledgement
// window covers all of them even when the receiver reads a whole burst before
// answering.
//
// Receiving: fragments of stream messages are stored in a per-stream window
// of RecvWindow messages starting at the next message to deliver, reassembled,
// de-duplicated, and delivered by Receive exactly once and in order, within
// the memory bounds below. A packet is acknowledged only if every reliable
// chunk in it was stored (or already held): a chunk outside the window or
// over a bound makes the receiver leave the whole packet unacknowledged, so
// the sender resends it. The receiver acknowledges promptly: every datagram it
// sends carries Ack; when it has nothing to send, Poll emits an empty payload
// (a pure acknowledgement) at once after every AckEvery-th (2nd) packet with
// reliable data, after one that arrived out of order, and otherwise AckDelay
// (1 ms) after the first unacknowledged one.
//
// # Memory bounds
//
// Whatever a peer sends, what an Endpoint holds for it is bounded; a chunk
// that would pass a bound is dropped, counted (Stats.DroppedOverBudget) and
// its packet left unacknowledged, so an honest sender resends it once
// memory is freed. Nothing blocks or panics.
//
// A message that arrives whole takes a buffer of its length, rounded up to
// a pool size class (64, 256, 1024 or 4096 bytes). A fragmented message
// takes memory only as its fragments arrive, never by the msgLen they
// announce: its data is kept in blocks of up to 64 consecutive fragments,
// each block (one pool buffer) allocated when its first fragment arrives,
// found through a table that grows with the blocks held. All of it,
// reassembly state and table included, is counted as allocated against:
//
//   - per stream: RecvWindow (256) messages from the next to deliver, and
//     Config.SendQueueBytes of message data received beyond that next one;
//   - per Endpoint: Config.RecvBufferBytes (default 1 MiB) for all streams
//     together, besides the priority head: the message at the head of one
//     stream at a time (the first whose chunk would not fit otherwise),
//     which may take what its whole message needs (less than 1.4 ×
//     MaxMessage for fragments of up to 1163 bytes, 2.1 × for any) until it
//     is delivered, so that the message blocking delivery always
//     completes;
//   - across Endpoints: Config.Budget, if set (a server shares one among
//     its sessions): three quarters of its limit for everything but
//     priority heads, the whole limit for them.
//
// During Receive, a message of several blocks is copied into one buffer
// of its length, dropped after the call. Other state a peer can make grow
// is bounded too: the unreliable message kept for Receive is one, at most
// one payload long; acknowledgement state is a 64-packet bitmap; the free
// buffers an Endpoint keeps are at most 16 KiB per size class. Fixed per
// Endpoint: the receive window of a stream (RecvWindow slots of 40 bytes,
// allocated when the stream first receives) and the record of the last 64
// packets sent (26 KiB). The sending side holds only what the caller
// queued: Config.SendQueueBytes and MaxQueuedMessages per stream,
// MaxQueuedUnreliable unreliable messages, and at most one resend entry
// per fragment of the messages in flight.
//
// # Packet sequence numbers
//
// The Endpoint owns the path's packet sequence: Poll assigns it, and the
// caller takes the number for any other datagram it sends on the same path
// (poses, pings) from NextSeq, so that the peer's Ack and AckBits name one
// sequence space. The caller passes every received datagram that has a Seq
// from the peer's Endpoint to OnDatagram, with an empty payload when the
// datagram carried none for this layer, so that its number is acknowledged
// and the window stays current; OnAcks processes only the acknowledgements.
// Before anything is received, Ack returns (0xFFFF, 0), which names no packet
// a new peer has sent (the first packet is 0).
//
// # Payload encoding (version 1)
//
// The payload is what Poll returns and OnDatagram takes: the bytes after the
// caller's header. All integers are little-endian. A payload is zero or more
// chunks back to back, up to its end; an empty payload is a pure
// acknowledgement. A chunk is a ChunkHeaderSize (5) byte header, for a
// fragment an extension of FragmentExtSize (8) bytes, then its data:
//
//	Offset Size Type Field     Meaning
//	0      1    u8   kind      bit 7 (KindFragment, 0x80): this chunk is a fragment;
//	                           bits 0–6 (KindStreamMask, 0x7f): stream id,
//	                           0…126 reliable-ordered, 127 (UnreliableStream)
//	                           unreliable-sequenced
//	1      2    u16  msgID     message number in its stream: 0 for the first
//	                           message, +1 per message, wrapping
//	3      2    u16  length    bytes of data after the header (and extension)
//	— fragment extension, only when bit 7 of kind is set —
//	5      4    u32  msgLen    length of the whole message, ≥ 1
//	9      2    u16  fragSize  bytes in every fragment but the last, ≥ 1
//	11     2    u16  index     fragment number; its data belongs at byte
//	                           index·fragSize of the message
//	5 or 13    length   data
//
// A message whose data fits in the datagram with a 5-byte header is sent as
// one chunk without the fragment bit (the message is the data, possibly
// empty); a longer one as ceil(msgLen/fragSize) fragments, each alone in a
// datagram except possibly the last. Unreliable messages are never
// fragmented.
//
// Receive rules. If any of the following holds for any chunk, the whole
// payload is ignored (nothing in it is stored or acknowledged; OnDatagram
// returns ErrMalformed):
//   - fewer than 5 bytes remain for a header, or fewer than 13 for a fragment,
//     or fewer than length for the data;
//   - the stream id is neither below the receiver's Config.Streams nor 127;
//   - stream 127 with the fragment bit;
//   - length, or msgLen of a fragment, exceeds the receiver's MaxMessage;
//   - a fragment with msgLen = 0 or fragSize = 0, more than MaxFragments
//     fragments, index ≥ ceil(msgLen/fragSize), or length ≠
//     min(fragSize, msgLen − index·fragSize).
//
// A fragment whose msgLen or fragSize disagrees with an earlier fragment of
// the same message, or a whole-message chunk for a message being reassembled
// from fragments, is dropped and leaves its packet unacknowledged. Chunks of
// messages already delivered or already complete are duplicates and are
// ignored. Both ends must use the same Streams and MaxMessage.
//
// Receivers treat a packet number or unreliable message number more than
// ResyncDistance (1024) behind the newest one as a jump forward rather than
// a very late arrival.
//
// Example: stream 2, message 7, data "hi", then an unreliable message 300
// with data 0xAA:
//
//	02 07 00 02 00 68 69   7f 2c 01 01 00 aa
package reliable
