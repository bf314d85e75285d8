package main

import (
	"net/netip"
	"slices"

	"github.com/arcadexr/arcade/wire"
)

// session is one client's connection, learned from the Accepted the server
// sent it.
type session struct {
	id         uint16
	token      uint64
	addr       netip.AddrPort // the client's address and port
	server     netip.AddrPort // where the Accepted came from
	group      netip.AddrPort // multicast group; zero if none
	groupToken uint64
	unicast    bool // Accepted said: snapshots by unicast
	name       string
	at         int64 // capture time of the first Accepted
}

// sessions maps tokens and addresses to clients. Clients are known only from
// an Accepted in the capture; session traffic of a client whose handshake is
// not in the capture has no client id.
type sessions struct {
	byToken map[uint64]*session
	byAddr  map[netip.AddrPort][]*session // by the time of their Accepted
	byID    map[uint16][]*session
	names   map[netip.AddrPort]string // from ChallengeResponses
	servers map[netip.AddrPort]bool   // sources of server-only types
	all     []*session                // in the order of their Accepted
}

func newSessions() *sessions {
	return &sessions{
		byToken: map[uint64]*session{},
		byAddr:  map[netip.AddrPort][]*session{},
		byID:    map[uint16][]*session{},
		names:   map[netip.AddrPort]string{},
		servers: map[netip.AddrPort]bool{},
	}
}

// learn notes what d tells about sessions. Seeing the same datagrams again
// (a second pass over a file) changes nothing.
func (s *sessions) learn(d *datagram) {
	if d.err != nil {
		return
	}
	if toClient(d.hdr.Type) {
		s.servers[d.src] = true
	}
	switch d.hdr.Type {
	case wire.TypeChallengeResponse:
		s.names[d.src] = d.response.NameString()
	case wire.TypeAccepted:
		if d.hdr.Token == 0 || s.byToken[d.hdr.Token] != nil {
			return // a repeated Accepted for a known session
		}
		a := &d.accepted
		ss := &session{
			id: a.ClientID, token: d.hdr.Token, addr: d.dst, server: d.src,
			group: a.Multicast, groupToken: a.GroupToken,
			unicast: a.Flags&wire.AcceptedUnicast != 0,
			name:    s.names[d.dst], at: d.at,
		}
		s.byToken[ss.token] = ss
		s.byAddr[ss.addr] = insertByTime(s.byAddr[ss.addr], ss)
		s.byID[ss.id] = insertByTime(s.byID[ss.id], ss)
		s.all = insertByTime(s.all, ss)
	}
}

func insertByTime(l []*session, ss *session) []*session {
	i, _ := slices.BinarySearchFunc(l, ss.at, func(e *session, t int64) int {
		switch {
		case e.at < t:
			return -1
		case e.at > t:
			return 1
		}
		return 0
	})
	return slices.Insert(l, i, ss)
}

// at returns the session of l current at time t: the last accepted at or
// before t, else (a handshake still in progress) the first after it.
func at(l []*session, t int64) *session {
	var best *session
	for _, ss := range l {
		if ss.at > t {
			if best == nil {
				return ss
			}
			break
		}
		best = ss
	}
	return best
}

// byClientAt returns client id's session current at t, or nil.
func (s *sessions) byClientAt(id uint16, t int64) *session { return at(s.byID[id], t) }

// clientToServer reports whether d went from a client to the server.
func (s *sessions) clientToServer(d *datagram) bool {
	switch {
	case fromClient(d.hdr.Type):
		return true
	case toClient(d.hdr.Type):
		return false
	case s.servers[d.src]:
		return false
	case s.servers[d.dst]:
		return true
	case len(s.byAddr[d.dst]) > 0:
		return false
	}
	return true
}

// owner returns the session d belongs to: by its session token, else by
// the client's address. Datagrams to a multicast group belong to nobody.
func (s *sessions) owner(d *datagram) *session {
	if ss := s.byToken[d.hdr.Token]; d.hdr.Token != 0 && ss != nil {
		return ss
	}
	peer := d.src
	if !s.clientToServer(d) {
		peer = d.dst
	}
	if peer.Addr().IsMulticast() {
		return nil
	}
	return at(s.byAddr[peer], d.at)
}
