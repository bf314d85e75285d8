package main

import (
	"context"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/wire"
)

// category is one kind of hostile datagram.
type category uint8

// Attack categories. The attacker's sockets send all but catReplay; the
// soak's own headset socket (the real session's source) sends catReplay and
// part of catTruncated and catBadField, with the real token.
const (
	catGarbage      category = iota // random bytes, 0..1200 long
	catTruncated                    // valid datagrams of every type, cut short
	catBadHeader                    // valid datagrams with a wrong magic, version or type
	catOversized                    // 1201..65000 bytes
	catUnpadded                     // connect requests below 1200 bytes
	catConnectFlood                 // valid padded connect requests, new nonce each
	catForgedCookie                 // challenge responses with random cookies
	catBadField                     // name length > 32, invalid UTF-8, zero window or reason
	catRandomToken                  // session messages with tokens no session has
	catWrongSource                  // session messages with the real token, from elsewhere
	catReplay                       // the real session's own earlier poses, from its source
	catServerTypes                  // messages only the server sends, sent to it
	numCategories
)

var categoryNames = [numCategories]string{
	catGarbage:      "garbage",
	catTruncated:    "truncated",
	catBadHeader:    "bad_header",
	catOversized:    "oversized",
	catUnpadded:     "unpadded",
	catConnectFlood: "connect_flood",
	catForgedCookie: "forged_cookie",
	catBadField:     "bad_field",
	catRandomToken:  "random_token",
	catWrongSource:  "wrong_source",
	catReplay:       "replay",
	catServerTypes:  "server_types",
}

func (c category) String() string { return categoryNames[c] }

// targets maps each category to the drop reasons it aims at: each of them
// must grow during the attack. Reasons are shared where the protocol's
// receive rules share them (garbage and bad_header both fail the magic).
// Handshake categories (unpadded, connect_flood, forged_cookie, part of
// truncated and bad_field) are limited per source address before they are
// parsed, so most of them count as rate_limited; connect_flood aims
// only at that, since a valid request that passes is answered, not dropped.
var targets = [numCategories][]string{
	catGarbage:      {"bad_magic", "short"},
	catTruncated:    {"short"},
	catBadHeader:    {"bad_magic", "bad_version", "unknown_type"},
	catOversized:    {"too_large"},
	catUnpadded:     {"not_padded"},
	catConnectFlood: {"rate_limited"},
	catForgedCookie: {"bad_cookie"},
	catBadField:     {"bad_field"},
	catRandomToken:  {"unknown_token"},
	catWrongSource:  {"wrong_source"},
	catReplay:       {"stale_input"},
	catServerTypes:  {"unexpected_type"},
}

// weights is each category's share of the attacker sockets' datagrams, in
// 256ths (catReplay is sent from the headset's socket instead).
var weights = [numCategories]int{
	catGarbage:      28,
	catTruncated:    24,
	catBadHeader:    28,
	catOversized:    8,
	catUnpadded:     20,
	catConnectFlood: 24,
	catForgedCookie: 20,
	catBadField:     16,
	catRandomToken:  30,
	catWrongSource:  30,
	catServerTypes:  28,
}

const (
	poolSize      = 1024 // prepared datagrams per category
	oversizedPool = 64   // the large ones are few: up to 65000 bytes each
	batchLen      = 64   // datagrams per sendmmsg
	maxOversized  = 65000
	// Own-socket traffic: the session limiter allows 1000 datagrams/s per
	// session (burst 200) and the headset itself sends about 95, so the
	// replays and real-token malformations stay well below the limit and
	// are judged on their content, not rate-limited.
	ownRate     = 600 // datagrams/s from the headset's socket
	ownInterval = 5 * time.Millisecond
)

// AttackReport is what the attacker sent and what came back to it.
type AttackReport struct {
	Sent        map[string]uint64 `json:"sent"`
	SentTotal   uint64            `json:"sent_total"`
	SentBytes   uint64            `json:"sent_bytes"`
	RatePerS    float64           `json:"rate_per_s"`
	Sockets     int               `json:"sockets"`
	SourceAddrs int               `json:"source_addrs"`
	WouldBlock  uint64            `json:"send_would_block"`
	SendErrors  uint64            `json:"send_errors"`
	// Replies are the datagrams the server sent back to the attacker's
	// sockets (challenges, denials), as read: a lower bound, since the
	// attacker reads them only between sends.
	Replies    uint64  `json:"replies_read"`
	ReplyBytes uint64  `json:"reply_bytes_read"`
	Amplify    float64 `json:"reply_bytes_per_sent_byte"`
	DurationS  float64 `json:"duration_s"`
}

// attacker floods one server address from many sockets.
type attacker struct {
	server netip.AddrPort
	rate   int
	rng    *rand.Rand
	socks  []*udp.Conn
	addrs  int
	pools  [numCategories][][]byte
	table  [256]category

	// The real session: its token, its socket (the right source) and the
	// pose datagrams it sent earlier.
	token   uint64
	own     *net.UDPConn
	replays [][]byte

	sent                 [numCategories]uint64
	bytes                uint64
	wouldBlock, sendErrs uint64
	replies, replyBytes  uint64
}

// newAttacker opens the attacker's sockets: sockets on 127.0.0.1 (distinct
// source ports) and one on each of 127.0.0.2..127.0.0.(1+spoofAddrs), all
// loopback. token, own and replays describe the real session.
func newAttacker(server netip.AddrPort, rate int, seed uint64, ports, spoofAddrs int, token uint64, own *net.UDPConn, replays [][]byte) (*attacker, error) {
	a := &attacker{
		server: server, rate: rate,
		rng:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		token: token, own: own, replays: replays,
	}
	open := func(addr netip.Addr) error {
		c, err := udp.Listen(udp.Config{
			Listen:     netip.AddrPortFrom(addr, 0),
			RecvBuffer: 256 << 10,
			SendBuffer: 1 << 20,
			DSCP:       -1,
		})
		if err != nil {
			return err
		}
		a.socks = append(a.socks, c)
		return nil
	}
	lo := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	for range ports {
		if err := open(lo); err != nil {
			a.close()
			return nil, err
		}
	}
	for i := range spoofAddrs {
		if err := open(netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i)})); err != nil {
			a.close()
			return nil, err
		}
	}
	a.addrs = 1 + spoofAddrs
	i := 0
	for c := range numCategories {
		for range weights[c] {
			a.table[i] = c
			i++
		}
	}
	if i != len(a.table) {
		panic("soak: attack weights do not sum to 256")
	}
	for c := range numCategories {
		n := poolSize
		if c == catOversized {
			n = oversizedPool
		}
		if c == catReplay {
			continue
		}
		a.pools[c] = make([][]byte, n)
		for j := range n {
			a.pools[c][j] = a.datagram(c)
		}
	}
	return a, nil
}

func (a *attacker) close() {
	for _, c := range a.socks {
		c.Close()
	}
}

// run floods until ctx is done or d has passed, at most a.rate datagrams a
// second from the attacker's sockets, plus ownRate from the headset's.
func (a *attacker) run(ctx context.Context, d time.Duration) AttackReport {
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	var own [numCategories]uint64
	var ownBytes uint64
	if a.own != nil && len(a.replays) > 0 {
		seed := a.rng.Uint64()
		wg.Go(func() { own, ownBytes = a.runOwn(ctx, deadline, seed) })
	}

	out := udp.NewBatch(batchLen, 1)
	in := udp.NewBatch(16, 2048)
	var cats [batchLen]category
	// Bounded by count as well as by time: at most rate·d datagrams.
	maxBatches := int(d.Seconds()*float64(a.rate))/batchLen + 1
	var total uint64
	for it := 0; it < maxBatches && ctx.Err() == nil; it++ {
		now := time.Now()
		if !now.Before(deadline) {
			break
		}
		// Pace: never ahead of rate; when behind, send at once.
		if ahead := time.Duration(float64(total)/float64(a.rate)*float64(time.Second)) - now.Sub(start); ahead > time.Millisecond {
			time.Sleep(ahead)
		}
		s := a.socks[it%len(a.socks)]
		for i := range batchLen {
			c := a.table[a.rng.Uint32()&0xff]
			p := a.pools[c][a.rng.IntN(len(a.pools[c]))]
			m := &out.Msgs[i]
			m.Buf, m.N, m.Addr = p, len(p), a.server
			cats[i] = c
		}
		n, err := s.WriteBatch(out, batchLen)
		for i := range n {
			a.sent[cats[i]]++
			a.bytes += uint64(out.Msgs[i].N)
		}
		total += uint64(n)
		switch {
		case err == udp.ErrWouldBlock:
			a.wouldBlock++
		case err != nil:
			a.sendErrs++
			total++ // skip the refused one in the pacing too
		}
		// Read what the server answered (challenges, denials), a little
		// per batch so the receive buffers do not stay full.
		for range 4 {
			k, _ := s.ReadBatch(in)
			if k == 0 {
				break
			}
			a.replies += uint64(k)
			for i := range k {
				a.replyBytes += uint64(in.Msgs[i].N)
			}
		}
	}
	elapsed := time.Since(start)
	wg.Wait()
	for c := range numCategories {
		a.sent[c] += own[c]
	}
	a.bytes += ownBytes
	r := AttackReport{
		Sent:        make(map[string]uint64, numCategories),
		SentBytes:   a.bytes,
		Sockets:     len(a.socks) + 1,
		SourceAddrs: a.addrs,
		WouldBlock:  a.wouldBlock,
		SendErrors:  a.sendErrs,
		Replies:     a.replies,
		ReplyBytes:  a.replyBytes,
		DurationS:   elapsed.Seconds(),
	}
	for c := range numCategories {
		r.Sent[c.String()] = a.sent[c]
		r.SentTotal += a.sent[c]
	}
	if elapsed > 0 {
		r.RatePerS = float64(r.SentTotal) / elapsed.Seconds()
	}
	if a.bytes > 0 {
		r.Amplify = float64(a.replyBytes) / float64(a.bytes)
	}
	return r
}

// runOwn sends, from the real session's own socket (so past the token and
// source checks), replays of its earlier poses and malformed session
// messages carrying its token. Its random source is its own.
func (a *attacker) runOwn(ctx context.Context, deadline time.Time, seed uint64) (sent [numCategories]uint64, bytes uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	tick := time.NewTicker(ownInterval)
	defer tick.Stop()
	per := max(1, ownRate*int(ownInterval)/int(time.Second))
	limit := int(time.Until(deadline)/ownInterval) + 1
	for range limit {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !time.Now().Before(deadline) {
			return
		}
		for range per {
			var b []byte
			var c category
			switch r := rng.IntN(10); {
			case r < 6:
				c, b = catReplay, a.replays[rng.IntN(len(a.replays))]
			case r < 8:
				c, b = catTruncated, ownTruncated(rng, a.token)
			default:
				c, b = catBadField, ownBadField(rng, a.token)
			}
			if _, err := a.own.Write(b); err == nil {
				sent[c]++
				bytes += uint64(len(b))
			}
		}
	}
	return
}

// datagram makes one datagram of category c.
func (a *attacker) datagram(c category) []byte {
	rng := a.rng
	switch c {
	case catGarbage:
		n := 22 + rng.IntN(wire.MaxDatagramSize-22+1)
		if rng.IntN(5) == 0 {
			n = rng.IntN(wire.HeaderSize)
		}
		b := randBytes(rng, n)
		if n >= 3 && b[0] == wire.Magic0 {
			b[0] ^= 0xff // never "ARC" by chance
		}
		return b
	case catTruncated:
		full := validDatagram(rng, wire.PacketType(1+rng.IntN(int(wire.MaxType))), 0)
		if rng.IntN(2) == 0 {
			return full[:rng.IntN(wire.HeaderSize)]
		}
		return full[:wire.HeaderSize+rng.IntN(len(full)-wire.HeaderSize)]
	case catBadHeader:
		b := validDatagram(rng, wire.PacketType(1+rng.IntN(int(wire.MaxType))), rng.Uint64())
		switch rng.IntN(3) {
		case 0:
			b[rng.IntN(3)] ^= byte(1 + rng.IntN(255))
		case 1:
			b[3] = byte(wire.Version + 1 + rng.IntN(255)) // never Version
		default:
			if rng.IntN(4) == 0 {
				b[4] = 0
			} else {
				b[4] = byte(int(wire.MaxType) + 1 + rng.IntN(255-int(wire.MaxType)))
			}
		}
		return b
	case catOversized:
		n := wire.MaxDatagramSize + 1 + rng.IntN(4096-wire.MaxDatagramSize)
		if rng.IntN(4) == 0 {
			n = 4096 + rng.IntN(maxOversized-4096+1)
		}
		b := validDatagram(rng, wire.PacketType(1+rng.IntN(int(wire.MaxType))), rng.Uint64())
		return append(b, randBytes(rng, n-len(b))...)
	case catUnpadded:
		b := connectRequest(rng)
		return b[:wire.HeaderSize+10+rng.IntN(len(b)-wire.HeaderSize-10)]
	case catConnectFlood:
		return connectRequest(rng)
	case catForgedCookie:
		return challengeResponse(rng)
	case catBadField:
		var b []byte
		if rng.IntN(2) == 0 {
			b = challengeResponse(rng)
		} else {
			b = connectRequest(rng)
		}
		// Both bodies: nonce (8), flags (1), name length (1), name.
		const nameLen = wire.HeaderSize + 9
		if rng.IntN(2) == 0 {
			b[nameLen] = byte(wire.MaxNameLen + 1 + rng.IntN(255-wire.MaxNameLen))
		} else {
			b[nameLen] = byte(1 + rng.IntN(wire.MaxNameLen))
			b[nameLen+1] = 0xff // never valid UTF-8
		}
		return b
	case catRandomToken:
		t := rng.Uint64() | 1
		return validDatagram(rng, sessionTypes[rng.IntN(len(sessionTypes))], t)
	case catWrongSource:
		return validDatagram(rng, sessionTypes[rng.IntN(len(sessionTypes))], a.token)
	case catServerTypes:
		tok := [3]uint64{0, rng.Uint64(), a.token}[rng.IntN(3)]
		return validDatagram(rng, serverTypes[rng.IntN(len(serverTypes))], tok)
	}
	panic("soak: no generator for " + c.String())
}

var (
	sessionTypes = []wire.PacketType{wire.TypePoseInput, wire.TypePing, wire.TypeDeliveryReport, wire.TypeDisconnect}
	serverTypes  = []wire.PacketType{wire.TypeChallenge, wire.TypeAccepted, wire.TypeDenied, wire.TypeSnapshot,
		wire.TypePong, wire.TypeEntityUpdate, wire.TypeDeliveryProbe}
)

// ownTruncated is a session message with the real token cut inside its
// body: it passes the token and source checks and fails the body's length.
func ownTruncated(rng *rand.Rand, token uint64) []byte {
	b := validDatagram(rng, sessionTypes[rng.IntN(len(sessionTypes))], token)
	return b[:wire.HeaderSize+rng.IntN(len(b)-wire.HeaderSize)]
}

// ownBadField is a session message with the real token and a field out of
// range: a zero report window or unicast loss above 10000, or a Disconnect
// with reason 0 (which must not end the session).
func ownBadField(rng *rand.Rand, token uint64) []byte {
	h := wire.Header{Token: token, Seq: uint16(rng.Uint32())}
	if rng.IntN(2) == 0 {
		h.Type = wire.TypeDisconnect
		return (&wire.Disconnect{Reason: 0}).Append(h.Append(nil))
	}
	h.Type = wire.TypeDeliveryReport
	r := wire.DeliveryReport{WindowMs: 250, UnicastLoss: wire.MaxUnicastLoss + 1 + uint16(rng.IntN(1000))}
	if rng.IntN(2) == 0 {
		r = wire.DeliveryReport{WindowMs: 0, UnicastLoss: wire.UnicastLossUnknown}
	}
	return r.Append(h.Append(nil))
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func randName(rng *rand.Rand) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789-ä€"
	var s []rune
	for range rng.IntN(wire.MaxNameLen / 3) {
		s = append(s, []rune(letters)[rng.IntN(utf8.RuneCountInString(letters))])
	}
	return string(s)
}

func connectRequest(rng *rand.Rand) []byte {
	m := wire.ConnectRequest{ClientNonce: rng.Uint64(), Flags: uint8(rng.IntN(2))}
	m.SetName(randName(rng))
	h := wire.Header{Type: wire.TypeConnectRequest, Seq: uint16(rng.Uint32())}
	return m.Append(h.Append(nil))
}

func challengeResponse(rng *rand.Rand) []byte {
	m := wire.ChallengeResponse{ClientNonce: rng.Uint64()}
	m.SetName(randName(rng))
	copy(m.Cookie[:], randBytes(rng, wire.CookieSize))
	h := wire.Header{Type: wire.TypeChallengeResponse, Seq: uint16(rng.Uint32())}
	return m.Append(h.Append(nil))
}

func randPose(rng *rand.Rand) wire.Pose {
	return wire.Pose{
		Pos: wire.Vec3{X: rng.Float32()*8 - 4, Y: rng.Float32() * 2, Z: rng.Float32()*8 - 4},
		Rot: wire.Quat{X: rng.Float32() - 0.5, Y: rng.Float32() - 0.5, Z: rng.Float32() - 0.5, W: 1},
	}
}

// validDatagram encodes a well-formed datagram of type t with header token
// tok and random field values, through the wire codecs. A type added to the
// protocol after this generator gets a random body.
func validDatagram(rng *rand.Rand, t wire.PacketType, tok uint64) []byte {
	h := wire.Header{Type: t, Token: tok, Seq: uint16(rng.Uint32()), Ack: uint16(rng.Uint32()), AckBits: rng.Uint32()}
	b := h.Append(make([]byte, 0, wire.MaxDatagramSize))
	switch t {
	case wire.TypeConnectRequest:
		return connectRequest(rng)
	case wire.TypeChallenge:
		m := wire.Challenge{ClientNonce: rng.Uint64()}
		copy(m.Cookie[:], randBytes(rng, wire.CookieSize))
		return m.Append(b)
	case wire.TypeChallengeResponse:
		return challengeResponse(rng)
	case wire.TypeAccepted:
		m := wire.Accepted{ClientNonce: rng.Uint64(), ClientID: uint16(1 + rng.IntN(64)), TickRate: 120,
			ServerTime: rng.Uint64() >> 20, GroupToken: rng.Uint64()}
		return m.Append(b)
	case wire.TypeDenied:
		return (&wire.Denied{ClientNonce: rng.Uint64(), Reason: wire.DenyReason(1 + rng.IntN(4))}).Append(b)
	case wire.TypePoseInput:
		m := wire.PoseInput{InputSeq: rng.Uint32(), ClientTime: rng.Uint64() >> 20,
			Head: randPose(rng), Hands: [2]wire.Pose{randPose(rng), randPose(rng)},
			Grip: [2]float32{rng.Float32(), rng.Float32()}, Tracking: 7}
		return m.Append(b)
	case wire.TypeSnapshot:
		m := wire.Snapshot{Tick: rng.Uint32(), ServerTime: rng.Uint64() >> 20, Parts: 1, PlayerCount: 2}
		for i := range 2 {
			m.Players = append(m.Players, wire.PlayerState{ClientID: uint16(1 + i), LastInputSeq: rng.Uint32(), Tracking: 7, Head: randPose(rng)})
		}
		for i := range 3 {
			m.Entities = append(m.Entities, wire.EntityState{ID: uint16(1 + i), Flags: wire.EntityGrabbable, Pose: randPose(rng)})
		}
		return m.Append(b)
	case wire.TypePing:
		return (&wire.Ping{PingID: rng.Uint32(), ClientTime: rng.Uint64() >> 20}).Append(b)
	case wire.TypePong:
		return (&wire.Pong{PingID: rng.Uint32(), ClientTime: 1, ServerRecvTime: 2, ServerSendTime: 3}).Append(b)
	case wire.TypeDisconnect:
		return (&wire.Disconnect{Reason: wire.DisconnectReason(1 + rng.IntN(4))}).Append(b)
	case wire.TypeEntityUpdate:
		m := wire.EntityUpdate{Tick: rng.Uint32(), ServerTime: rng.Uint64() >> 20,
			Causes:   []wire.UpdateCause{{Client: 1, Input: rng.Uint32()}},
			Entities: []wire.EntityState{{ID: 1, Flags: wire.EntityHeld, Pose: randPose(rng)}}}
		return m.Append(b)
	case wire.TypeDeliveryProbe:
		return (&wire.DeliveryProbe{Tick: rng.Uint32(), ServerTime: rng.Uint64() >> 20, GroupSeq: uint16(rng.Uint32())}).Append(b)
	case wire.TypeDeliveryReport:
		m := wire.DeliveryReport{WindowMs: 250, McastReceived: 30, Samples: 7, UnicastLoss: wire.UnicastLossUnknown}
		return m.Append(b)
	}
	// A type newer than this generator: its header and a random body.
	return append(b, randBytes(rng, 1+rng.IntN(64))...)
}
