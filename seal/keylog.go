package seal

import "crypto/ed25519"

// SessionKeys are a session's two AEAD keys (§17.1), as a server's packet
// capture records them in its key log so that the capture can be read
// later: the handshake alone cannot give them to a reader that knows the
// passphrase, since CPace's shared key needs one side's secret scalar.
type SessionKeys struct {
	ClientToServer [sessionKeyed]byte
	ServerToClient [sessionKeyed]byte
}

// Keys returns the session's keys.
func (s *Session) Keys() SessionKeys { return s.keys }

// GroupKeys are the multicast group's key and the server's public key,
// for a capture's key log.
type GroupKeys struct {
	Key       [GroupKeySize]byte
	ServerKey [ServerKeySize]byte
}

// Keys returns the group's key and the server's public key.
func (g *Group) Keys() GroupKeys {
	var k GroupKeys
	k.Key = g.key
	copy(k.ServerKey[:], g.pub)
	return k
}

// Opener opens a session's or the group's datagrams in a capture, with the
// keys of a key log: both directions of a session (it tries the client →
// server key, then the server → client one), no replay window (a capture
// holds each datagram once, and a reader wants the duplicates it has too).
type Opener struct {
	c2s, s2c Session
	group    bool
	pub      ed25519.PublicKey
}

// NewSessionOpener returns an Opener for a session's datagrams, both ways.
func NewSessionOpener(k SessionKeys) (*Opener, error) {
	c2s, err := newGCM(k.ClientToServer[:])
	if err != nil {
		return nil, err
	}
	s2c, err := newGCM(k.ServerToClient[:])
	if err != nil {
		return nil, err
	}
	return &Opener{
		c2s: Session{rx: c2s, rxDir: 0},
		s2c: Session{rx: s2c, rxDir: 1},
	}, nil
}

// NewGroupOpener returns an Opener for the multicast group's signed
// datagrams.
func NewGroupOpener(k GroupKeys) (*Opener, error) {
	a, err := newGCM(k.Key[:])
	if err != nil {
		return nil, err
	}
	return &Opener{c2s: Session{rx: a, rxDir: DirGroup}, group: true, pub: ed25519.PublicKey(k.ServerKey[:])}, nil
}

// Open decrypts the sealed datagram (its first headerLen bytes the header)
// and appends the body to dst. toServer says the session datagram went
// from the client to the server; it is ignored for the group. ErrShort,
// ErrAuth and, for the group, ErrSignature as the receivers'.
func (o *Opener) Open(dst, datagram []byte, headerLen int, toServer bool) ([]byte, error) {
	if headerLen < 0 || len(datagram) < headerLen {
		return dst, ErrShort
	}
	if o.group {
		if len(datagram) < headerLen+GroupOverhead {
			return dst, ErrShort
		}
		signed := datagram[:len(datagram)-SignatureSize]
		_, out, err := o.c2s.open(dst, signed[:headerLen], signed[headerLen:])
		if err != nil {
			return dst, err
		}
		if !ed25519.Verify(o.pub, signed, datagram[len(signed):]) {
			return dst, ErrSignature
		}
		return out, nil
	}
	s := &o.s2c
	if toServer {
		s = &o.c2s
	}
	_, out, err := s.open(dst, datagram[:headerLen], datagram[headerLen:])
	return out, err
}
