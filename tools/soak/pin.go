package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/reliable"
	"github.com/arcadexr/arcade/wire"
)

// The fragment-pin attack (docs/PROTOCOL.md §15.5, §13.1): sessions that
// completed real handshakes send Message datagrams packed with fragments
// announcing the largest message (256 KiB) in 4-byte fragments, on every
// message of every stream's receive window, one new block of the message
// each round, and never complete one. A receiver that allocated by the
// announced length, or without a bound, would hold gigabytes; the server
// must hold at most its reliable budget (48 MiB) for all of them.
const (
	pinStreams   = 4 // reliable streams of a session (RPCStreams)
	pinMaxMsg    = 256 << 10
	pinFragSize  = 4
	pinBlockStep = 150 * 64 // fragments between the rounds' blocks
	// pinChunks fragment chunks per datagram: MaxChunksPerPacket, each
	// 13 + 4 bytes, within MaxMessagePayload.
	pinChunks = reliable.MaxChunksPerPacket
	// pinGrowthMax is the most the server's resident memory may grow.
	pinGrowthMax = 64 << 20
	// pinRoundGap separates the rounds; pinSettle is the wait before
	// memory is read (the client list the server publishes ten times a
	// second, and the last datagrams read).
	pinRoundGap = 20 * time.Millisecond
	pinSettle   = 300 * time.Millisecond
	pinConnect  = 5 * time.Second
)

// PinReport is the fragment-pin phase.
type PinReport struct {
	Sessions       int      `json:"sessions_requested"`
	Opened         int      `json:"sessions_opened"`
	ClientsDuring  int      `json:"server_clients_during"`
	Rounds         int      `json:"rounds"`
	Datagrams      int      `json:"datagrams_sent"`
	PayloadBytes   int      `json:"payload_bytes_sent"`
	Fragments      int      `json:"fragments_sent"`
	ServerBytesIn  int      `json:"server_reliable_bytes_in"`
	BadMessage     uint64   `json:"bad_message_drops"`
	RSSBefore      int64    `json:"rss_before_bytes"`
	RSSAfter       int64    `json:"rss_after_bytes"`
	RSSClosed      int64    `json:"rss_after_close_bytes"`
	HeapBefore     int64    `json:"heap_inuse_before_bytes"`
	HeapAfter      int64    `json:"heap_inuse_after_bytes"`
	HeapClosed     int64    `json:"heap_inuse_after_close_bytes"`
	RSSGrowthMiB   float64  `json:"rss_growth_mib"`
	HeapGrowthMiB  float64  `json:"heap_growth_mib"`
	OwnAppliedGrew bool     `json:"own_headset_reflected_during"`
	DurationS      float64  `json:"duration_s"`
	Errors         []string `json:"errors,omitempty"`
}

// pinSession is one pinning session: its socket and token.
type pinSession struct {
	conn  *net.UDPConn
	token uint64
	seq   uint16
}

// dialSession opens a session from local by a real handshake (a
// client.Session driven on this goroutine) and returns its socket and
// token; nothing drives the session afterwards.
func dialSession(ctx context.Context, name string, local, server netip.AddrPort) (*pinSession, error) {
	conn, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(local), net.UDPAddrFromAddrPort(server))
	if err != nil {
		return nil, err
	}
	start := time.Now()
	now := func() int64 { return int64(time.Since(start)) }
	s := client.NewSession(client.SessionConfig{Name: name, ConnectTimeout: pinConnect})
	flush := func() { s.Outgoing(func(d []byte) { conn.Write(d) }) }
	s.Start(now())
	flush()
	buf := make([]byte, 2048)
	for range 10000 { // each pass reads one datagram or waits for a resend
		if ctx.Err() != nil {
			break
		}
		switch s.State() {
		case client.Connected:
			return &pinSession{conn: conn, token: s.Token(), seq: 1000}, nil
		case client.Connecting:
		default:
			conn.Close()
			return nil, s.Err()
		}
		s.Update(now())
		flush()
		conn.SetReadDeadline(start.Add(time.Duration(min(s.NextUpdate(), now()+int64(100*time.Millisecond)))))
		n, err := conn.Read(buf)
		if err != nil {
			continue
		}
		s.Handle(now(), buf[:n], 0, false)
		flush()
	}
	conn.Close()
	return nil, fmt.Errorf("%s: no session", name)
}

// announcements is one round's payloads: for every stream and every
// message of the receive window, a fragment of a pinMaxMsg-byte message
// at fragment index, pinChunks fragments a payload.
func announcements(index uint16) [][]byte {
	var out [][]byte
	p := make([]byte, 0, wire.MaxMessagePayload)
	n := 0
	for id := range reliable.RecvWindow {
		for s := range pinStreams {
			if n == pinChunks {
				out, p, n = append(out, p), make([]byte, 0, wire.MaxMessagePayload), 0
			}
			// §15.1: kind, msgID, length, then msgLen, fragSize, index.
			p = append(p, byte(s)|reliable.KindFragment, byte(id), byte(id>>8), pinFragSize, 0)
			p = binary.LittleEndian.AppendUint32(p, pinMaxMsg)
			p = binary.LittleEndian.AppendUint16(p, pinFragSize)
			p = binary.LittleEndian.AppendUint16(p, index)
			p = append(p, 1, 2, 3, 4)
			n++
		}
	}
	return append(out, p)
}

// runPin opens sessions from 127.0.1.1 onwards, sends them rounds of
// announcements, and reads the server's memory before, after (the
// sessions still open) and once they have left. own is the soak's own
// headset, which must keep being reflected meanwhile.
func runPin(ctx context.Context, api, metricsURL string, game netip.AddrPort, sessions, rounds int, own *headset) PinReport {
	r := PinReport{Sessions: sessions, Rounds: rounds}
	start := time.Now()
	fail := func(format string, args ...any) { r.Errors = append(r.Errors, fmt.Sprintf(format, args...)) }
	before, _ := getStats(api)
	var err error
	if r.RSSBefore, r.HeapBefore, err = serverMemory(metricsURL); err != nil {
		fail("/metrics before: %v", err)
	}
	applied0 := own.applied.Load()

	ss := make([]*pinSession, sessions)
	errs := make([]error, sessions)
	var wg sync.WaitGroup
	for i := range ss {
		local := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 1, byte(1 + i)}), 0)
		wg.Go(func() { ss[i], errs[i] = dialSession(ctx, fmt.Sprintf("soak-pin-%02d", i), local, game) })
	}
	wg.Wait()
	var open []*pinSession
	for i, s := range ss {
		if s != nil {
			open = append(open, s)
		} else if len(r.Errors) < 4 {
			fail("session %d: %v", i, errs[i])
		}
	}
	defer func() {
		for _, s := range open {
			s.conn.Close()
		}
	}()
	r.Opened = len(open)
	if st, err := getStats(api); err == nil {
		r.ClientsDuring = st.Clients
	}

	for round := range rounds {
		if ctx.Err() != nil {
			break
		}
		ps := announcements(uint16(round * pinBlockStep))
		for _, s := range open {
			for j, p := range ps {
				if j == 0 {
					// About 1000 datagrams a round in all: a little
					// pacing, so that the kernel keeps them all.
					time.Sleep(time.Millisecond / 4)
				}
				h := wire.Header{Type: wire.TypeMessage, Token: s.token, Seq: s.seq}
				s.seq++
				d := (&wire.Message{Payload: p}).Append(h.Append(make([]byte, 0, wire.MaxDatagramSize)))
				if _, err := s.conn.Write(d); err == nil {
					r.Datagrams++
					r.PayloadBytes += len(p)
					r.Fragments += (len(p)) / (reliable.FragmentHeaderSize + pinFragSize)
				}
			}
		}
		time.Sleep(pinRoundGap)
	}
	time.Sleep(pinSettle)
	if r.RSSAfter, r.HeapAfter, err = serverMemory(metricsURL); err != nil {
		fail("/metrics after: %v", err)
	}
	if st, err := getStats(api); err == nil {
		for _, c := range st.ClientList {
			if strings.HasPrefix(c.Name, "soak-pin-") {
				r.ServerBytesIn += int(c.BytesIn)
			}
		}
		if before != nil {
			r.BadMessage = st.Dropped["bad_message"] - before.Dropped["bad_message"]
		}
	}
	r.OwnAppliedGrew = int32(own.applied.Load()-applied0) > 0

	// Leave, and let the server free what they held.
	bye := wire.Disconnect{Reason: wire.DisconnectClientLeft}
	for _, s := range open {
		for range 2 {
			h := wire.Header{Type: wire.TypeDisconnect, Token: s.token, Seq: s.seq}
			s.seq++
			s.conn.Write(bye.Append(h.Append(nil)))
		}
	}
	time.Sleep(pinSettle)
	if r.RSSClosed, r.HeapClosed, err = serverMemory(metricsURL); err != nil {
		fail("/metrics after close: %v", err)
	}
	r.RSSGrowthMiB = float64(r.RSSAfter-r.RSSBefore) / (1 << 20)
	r.HeapGrowthMiB = float64(r.HeapAfter-r.HeapBefore) / (1 << 20)
	r.DurationS = time.Since(start).Seconds()
	return r
}

// serverMemory reads the server's resident set and heap in use from its
// /metrics (a GET: no token needed).
func serverMemory(url string) (rss, heap int64, err error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	rss, heap = -1, -1
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok || (name != "process_resident_memory_bytes" && name != "go_memstats_heap_inuse_bytes") {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %v", name, err)
		}
		if name == "process_resident_memory_bytes" {
			rss = int64(f)
		} else {
			heap = int64(f)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if rss < 0 || heap < 0 {
		return rss, heap, fmt.Errorf("%s lacks process_resident_memory_bytes or go_memstats_heap_inuse_bytes", url)
	}
	return rss, heap, nil
}
