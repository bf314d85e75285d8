package main

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/arcadexr/arcade/seal"
	"github.com/arcadexr/arcade/wire"
)

// JunkReport is what the own headset's socket sent as sealed junk.
type JunkReport struct {
	RateGoal   int     `json:"rate_goal_per_s"`
	Sent       uint64  `json:"sent"`
	SentBytes  uint64  `json:"sent_bytes"`
	RatePerS   float64 `json:"rate_per_s"`
	SendErrors uint64  `json:"send_errors"`
	DurationS  float64 `json:"duration_s"`
}

// junkStep is how often the junk sender wakes: rate·junkStep datagrams
// each time.
const (
	junkStep  = time.Millisecond
	junkBatch = 64
)

// sendJunk sends, from conn (the victim's own socket, so past the token
// and source checks), session datagrams with the victim's token and
// FlagSealed whose seal is random bytes: each costs the server one failed
// open (bad_seal), and must cost the victim nothing. At most rate
// datagrams a second until ctx is done or d has passed, rate·d in all.
func sendJunk(ctx context.Context, conn *net.UDPConn, token uint64, rate int, d time.Duration, seed uint64) JunkReport {
	r := JunkReport{RateGoal: rate}
	rng := rand.New(rand.NewPCG(seed, seed^0xbad5ea1))
	// A pool of junk, made before the clock starts.
	pool := make([][]byte, 512)
	types := []wire.PacketType{wire.TypePoseInput, wire.TypePing, wire.TypeDeliveryReport, wire.TypeMessage, wire.TypeDisconnect}
	for i := range pool {
		h := wire.Header{Type: types[rng.IntN(len(types))], Token: token, Flags: wire.FlagSealed, Seq: uint16(rng.Uint32()),
			Ack: uint16(rng.Uint32()), AckBits: rng.Uint32()}
		n := seal.Overhead + rng.IntN(200)
		if rng.IntN(8) == 0 {
			n = rng.IntN(seal.Overhead) // too short to hold a seal
		}
		pool[i] = append(h.Append(nil), randBytes(rng, n)...)
	}
	pc := ipv4.NewPacketConn(conn)
	ms := make([]ipv4.Message, junkBatch)
	for i := range ms {
		ms[i].Buffers = [][]byte{nil} // the socket is connected: no address
	}
	start := time.Now()
	limit := uint64(float64(rate) * d.Seconds())
	tick := time.NewTicker(junkStep)
	defer tick.Stop()
	for steps := int(d/junkStep) + 1; steps > 0 && r.Sent < limit; steps-- {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		el := time.Since(start)
		if ctx.Err() != nil || el >= d {
			break
		}
		// Pace on the clock: catch up after a late wake, never ahead;
		// sendmmsg, junkBatch datagrams a call at most.
		due := min(limit, uint64(el.Seconds()*float64(rate))+1)
		for r.Sent < due {
			n := int(min(due-r.Sent, junkBatch))
			for i := range n {
				ms[i].Buffers[0] = pool[rng.IntN(len(pool))]
			}
			got, err := pc.WriteBatch(ms[:n], 0)
			for i := range got {
				r.SentBytes += uint64(len(ms[i].Buffers[0]))
			}
			r.Sent += uint64(got)
			if err != nil || got == 0 {
				r.SendErrors++
				break
			}
		}
	}
	r.DurationS = time.Since(start).Seconds()
	if r.DurationS > 0 {
		r.RatePerS = float64(r.Sent) / r.DurationS
	}
	return r
}

// InsiderReport is the venue headset whose group key the forger uses.
type InsiderReport struct {
	// Joined: the server accepted it sealed, it unwrapped the group key
	// and proved the passphrase (a sealed Ping answered), then left.
	Joined bool    `json:"joined_and_left"`
	Error  string  `json:"error,omitempty"`
	Ms     float64 `json:"handshake_ms"`
}

// insiderHandshakeTimeout bounds the insider's handshake in time,
// insiderMaxReads each of its three exchanges in datagrams read (the
// server sends the session state meanwhile).
const (
	insiderHandshakeTimeout = 5 * time.Second
	insiderMaxReads         = 10000
)

// joinInsider runs a venue handshake by hand from local, as a headset
// that knows the passphrase, proves it (a sealed Ping answered by a sealed
// Pong), leaves (a sealed Disconnect) and returns its group sealer: it
// holds the group key, so it can seal group datagrams that open, but not
// sign them as the server. Its packet numbers start insiderSkip ahead.
func joinInsider(ctx context.Context, local, server netip.AddrPort, passphrase string) (*seal.Group, error) {
	conn, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(local), net.UDPAddrFromAddrPort(server))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	deadline := time.Now().Add(insiderHandshakeTimeout)
	var nb [8]byte
	crand.Read(nb[:])
	nonce := binary.LittleEndian.Uint64(nb[:])
	buf := make([]byte, 2048)
	// exchange sends req every 250 ms until a datagram of type want that
	// check accepts arrives: until the deadline, at most
	// insiderMaxReads datagrams read.
	exchange := func(req []byte, want wire.PacketType, check func(h *wire.Header, body []byte) bool) error {
		resend := time.Now()
		for range insiderMaxReads {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("no %v from the server", want)
			}
			if !time.Now().Before(resend) {
				conn.Write(req)
				resend = time.Now().Add(250 * time.Millisecond)
			}
			wake := resend
			if deadline.Before(wake) {
				wake = deadline
			}
			conn.SetReadDeadline(wake)
			n, err := conn.Read(buf)
			if err != nil {
				continue
			}
			var h wire.Header
			hn, err := h.Parse(buf[:n])
			if err != nil || h.Type != want {
				continue
			}
			if check(&h, buf[hn:n]) {
				return nil
			}
		}
		return fmt.Errorf("no %v among %d datagrams from the server", want, insiderMaxReads)
	}

	req := wire.ConnectRequest{ClientNonce: nonce}
	req.SetName("soak-insider")
	var ch wire.Challenge
	err = exchange(req.Append((&wire.Header{Type: wire.TypeConnectRequest}).Append(nil)), wire.TypeChallenge, func(_ *wire.Header, b []byte) bool {
		_, err := ch.Parse(b)
		return err == nil && ch.ClientNonce == nonce
	})
	if err != nil {
		return nil, err
	}
	hs, err := seal.NewClientHandshake(passphrase, nonce, ch.Cookie[:], nil)
	if err != nil {
		return nil, err
	}
	resp := wire.ChallengeResponse{ClientNonce: nonce, Cookie: ch.Cookie, Flags: wire.ConnectHasPAKE, PAKE: hs.Message()}
	resp.SetName("soak-insider")
	var acc wire.Accepted
	var token uint64
	err = exchange(resp.Append((&wire.Header{Type: wire.TypeChallengeResponse}).Append(nil)), wire.TypeAccepted, func(h *wire.Header, b []byte) bool {
		_, err := acc.Parse(b)
		token = h.Token
		return err == nil && acc.ClientNonce == nonce
	})
	if err != nil {
		return nil, err
	}
	if acc.Flags&wire.AcceptedSealed == 0 {
		return nil, errors.New("the server accepted the insider without sealing")
	}
	sess, g, err := hs.Finish(&seal.Accept{PAKE: acc.PAKE, ServerKey: acc.ServerKey, GroupKey: acc.GroupKey, Confirm: acc.Confirm}, acc.GroupToken)
	if err != nil {
		return nil, fmt.Errorf("insider handshake: %w", err)
	}
	sealed := func(t wire.PacketType, seq uint16, body []byte) []byte {
		hdr := (&wire.Header{Type: t, Token: token, Flags: wire.FlagSealed, Seq: seq}).Append(nil)
		return sess.Seal(hdr, hdr, body)
	}
	// The proof: a sealed Ping that the server answers with a sealed Pong.
	ping := wire.Ping{PingID: 1, ClientTime: 1}
	err = exchange(sealed(wire.TypePing, 1, ping.Append(nil)), wire.TypePong, func(h *wire.Header, b []byte) bool {
		if h.Token != token {
			return false
		}
		body, err := sess.Open(nil, buf[:wire.HeaderSize], b)
		var p wire.Pong
		if err == nil {
			_, err = p.Parse(body)
		}
		return err == nil && p.PingID == ping.PingID
	})
	if err != nil {
		return nil, fmt.Errorf("insider proof: %w", err)
	}
	bye := wire.Disconnect{Reason: wire.DisconnectClientLeft}
	for i := range 2 {
		conn.Write(sealed(wire.TypeDisconnect, uint16(2+i), bye.Append(nil)))
	}
	// Far ahead of the server's numbers (a window that took one would
	// refuse the server's next thousand datagrams as too old).
	var scratch [seal.Overhead]byte
	for range insiderSkip {
		g.Seal(scratch[:0], nil, nil)
	}
	return g, nil
}
