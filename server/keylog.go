package server

import "github.com/arcadexr/arcade/seal"

// KeyLogger is a Tap that also keeps the keys of a sealed server's
// sessions and group, so that a capture of sealed datagrams can be read
// later by whoever knows the passphrase (capture.Recorder, capture.KeyLog;
// docs/CAPTURE.md). A passphrase alone cannot open a capture: CPace's
// shared key needs a secret scalar of one side, which never leaves it, so
// the keys have to come from the server. The server tells a Tap that is a
// KeyLogger of each session's keys when its handshake made them (before
// the Accepted is sent), of the session's end, and of the group's keys at
// New. The calls come from the tick thread (and New) and must return at
// once.
type KeyLogger interface {
	SessionKeys(token uint64, keys seal.SessionKeys)
	SessionEnded(token uint64)
	GroupKeys(groupToken uint64, keys seal.GroupKeys)
}

func (s *Server) keyLogger() KeyLogger {
	kl, _ := s.cfg.Tap.(KeyLogger)
	return kl
}

// logGroupKeys hands the group's keys to the key logger, if any.
func (s *Server) logGroupKeys() {
	if kl := s.keyLogger(); kl != nil && s.group != nil {
		kl.GroupKeys(s.groupToken, s.group.Keys())
	}
}

// logSessionKeys hands a new sealed session's keys to the key logger.
func (s *Server) logSessionKeys(c *session) {
	if kl := s.keyLogger(); kl != nil && c.seal != nil {
		kl.SessionKeys(c.token, c.seal.Keys())
	}
}

// logSessionEnded tells the key logger a sealed session ended.
func (s *Server) logSessionEnded(c *session) {
	if kl := s.keyLogger(); kl != nil && c.seal != nil {
		kl.SessionEnded(c.token)
	}
}
