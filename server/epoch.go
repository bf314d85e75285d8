package server

import "github.com/arcadexr/arcade/wire"

// stampEpoch marks datagram b, header and body in clear, with the server's
// epoch (PROTOCOL §18.1) before it is sealed: FlagEpoch in the header (the
// sealed datagram's additional data) and the trailer after the body (sealed
// with it). Bodies are sized with the trailer's room (sealRoom), so it fits
// in size bytes; a datagram it does not fit is a bug, dropped and counted.
func (s *Server) stampEpoch(b []byte, size int) []byte {
	if len(b) < wire.HeaderSize || len(b)+wire.EpochSize > size {
		s.stats.drop(DropSendError)
		return nil
	}
	return wire.StampEpoch(b, s.epoch)
}
