package seal

import (
	"crypto/ed25519"
	"errors"
)

// A standby pair's copy of a sealed server (docs/PROTOCOL.md §18.6): the
// group's keys and every session's, so that the server taking over seals
// and opens with them and no headset runs a new handshake. AES-GCM must
// never see a (key, nonce) twice, so a copy does not carry a send counter
// as it is but a reservation: the counter plus Reserve. The server copied
// uses fewer than Reserve numbers of a counter between two copies (a tick
// of 2²⁰ datagrams to one headset would be a gigabyte), so every number it
// used is below the reservation of the newest copy the standby holds, and
// the server taking over starts each counter at that reservation.

// Reserve is how far above a send counter its copy's reservation lies.
const Reserve = 1 << 20

// SignerSize is the size of the server's Ed25519 private key as a copy
// carries it: its seed (RFC 8032).
const SignerSize = ed25519.SeedSize

// SessionCopy is a server's session as a copy carries it.
type SessionCopy struct {
	Keys SessionKeys
	// Send is the first server → client number the server taking over
	// may use (the reservation).
	Send uint64
	// Received is the highest client → server number accepted, plus one
	// (0: none yet).
	Received uint64
}

// Copy returns s, a server's session, as a copy carries it.
func (s *Session) Copy() SessionCopy {
	return SessionCopy{Keys: s.keys, Send: s.next + Reserve, Received: s.window.top}
}

// ResumeSession makes a server's session from its copy: it sends from
// c.Send on, and takes every client → server number below c.Received as
// seen (the copy does not carry which of the last ones arrived: one of
// those still on its way is dropped, never one accepted twice by both
// servers together beyond what arrived after the copy, §18.6).
func ResumeSession(c *SessionCopy) (*Session, error) {
	s, err := newSession(c.Keys.ClientToServer[:], c.Keys.ServerToClient[:], true)
	if err != nil {
		return nil, err
	}
	s.next = c.Send
	s.window.seenBelow(c.Received)
	return s, nil
}

// GroupCopy is a server's group as a copy carries it.
type GroupCopy struct {
	Key    [GroupKeySize]byte
	Signer [SignerSize]byte // the seed of the server's Ed25519 key
	// Send is the first group number the server taking over may use.
	Send uint64
}

// Copy returns g, the server's group, as a copy carries it.
func (g *Group) Copy() GroupCopy {
	c := GroupCopy{Key: g.key, Send: g.next + Reserve}
	copy(c.Signer[:], g.priv) // an Ed25519 private key is its seed, then its public key
	return c
}

// ResumeServerGroup makes the server's group for groupToken from its copy:
// the same keys, so headsets keep opening its datagrams and checking its
// signatures, and numbers from c.Send on.
func ResumeServerGroup(groupToken uint64, c *GroupCopy) (*Group, error) {
	if c.Key == ([GroupKeySize]byte{}) {
		return nil, errors.New("seal: ResumeServerGroup: the copy has no group key")
	}
	priv := ed25519.NewKeyFromSeed(c.Signer[:])
	g, err := NewGroup(c.Key[:], priv.Public().(ed25519.PublicKey), priv)
	if err != nil {
		return nil, err
	}
	g.token, g.next = groupToken, c.Send
	return g, nil
}

// seenBelow makes an empty window one that has accepted every number
// below top.
func (w *replayWindow) seenBelow(top uint64) {
	*w = replayWindow{top: top}
	if top == 0 {
		return
	}
	for i := range w.bits {
		w.bits[i] = ^uint64(0)
	}
	// The word of top-1 holds numbers above it too: only those up to it
	// were seen.
	last := top - 1
	w.bits[(last/64)%windowWords] = ^uint64(0) >> (63 - last%64)
}
