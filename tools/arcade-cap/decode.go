package main

import (
	"errors"
	"net/netip"

	"github.com/arcadexr/arcade/wire"
)

// frame is one captured UDP datagram.
type frame struct {
	at       int64 // capture time, ns since the Unix epoch
	src, dst netip.AddrPort
	payload  []byte // the UDP payload as captured (maybe cut by the snap length)
}

// datagram is a decoded Arcade datagram. A decoder reuses one; the slices
// of the snapshot and the entity update are overwritten by the next decode.
type datagram struct {
	frame
	hdr     wire.Header
	version uint8
	err     error // header or body did not parse; hdr holds what did

	connect   wire.ConnectRequest
	challenge wire.Challenge
	response  wire.ChallengeResponse
	accepted  wire.Accepted
	denied    wire.Denied
	pose      wire.PoseInput
	snap      wire.Snapshot
	ping      wire.Ping
	pong      wire.Pong
	disc      wire.Disconnect
	upd       wire.EntityUpdate
	probe     wire.DeliveryProbe
	report    wire.DeliveryReport
	msg       []byte // Message payload, into payload
	delta     wire.StateDelta
	// dv is what the StateDelta streams made of delta (deltaTracker.observe);
	// zero until then.
	dv deltaView

	// kr opens sealed datagrams (--passphrase-file); nil: they stay
	// sealed. opened says this one was.
	kr     *keyring
	opened bool
}

// isArcade reports whether b starts like an Arcade datagram: the magic.
// Anything else is some other UDP traffic and is ignored.
func isArcade(b []byte) bool {
	return len(b) >= 3 && b[0] == wire.Magic0 && b[1] == wire.Magic1 && b[2] == wire.Magic2
}

// decode parses f into d. It reports false for non-Arcade datagrams. A
// datagram with the magic that does not parse is returned with d.err set.
func (d *datagram) decode(f frame) bool {
	if !isArcade(f.payload) {
		return false
	}
	d.frame = f
	d.hdr = wire.Header{}
	d.err = nil
	d.dv.reset()
	d.version = 0
	d.opened = false
	if len(f.payload) > 3 {
		d.version = f.payload[3]
	}
	n, err := d.hdr.Parse(f.payload)
	if err != nil {
		d.err = err
		return true
	}
	body := f.payload[n:]
	if d.hdr.Flags&wire.FlagSealed != 0 {
		// A venue passphrase: the body is ciphertext. Parsing it as a
		// message would show noise as fields; the key log opens it.
		var ok bool
		if d.kr != nil {
			body, ok = d.kr.open(f.payload, &d.hdr)
		}
		if !ok {
			d.err = errSealed
			return true
		}
		d.opened = true
	}
	switch d.hdr.Type {
	case wire.TypeConnectRequest:
		_, err = d.connect.Parse(body)
	case wire.TypeChallenge:
		_, err = d.challenge.Parse(body)
	case wire.TypeChallengeResponse:
		_, err = d.response.Parse(body)
	case wire.TypeAccepted:
		_, err = d.accepted.Parse(body)
	case wire.TypeDenied:
		_, err = d.denied.Parse(body)
	case wire.TypePoseInput:
		_, err = d.pose.Parse(body)
	case wire.TypeSnapshot:
		_, err = d.snap.Parse(body)
	case wire.TypePing:
		_, err = d.ping.Parse(body)
	case wire.TypePong:
		_, err = d.pong.Parse(body)
	case wire.TypeDisconnect:
		_, err = d.disc.Parse(body)
	case wire.TypeEntityUpdate:
		_, err = d.upd.Parse(body)
	case wire.TypeDeliveryProbe:
		_, err = d.probe.Parse(body)
	case wire.TypeDeliveryReport:
		_, err = d.report.Parse(body)
	case wire.TypeMessage:
		d.msg, _, err = wire.ParseMessagePayload(body)
	case wire.TypeStateDelta:
		_, err = d.delta.Parse(body)
	}
	d.err = err
	return true
}

// fromClient reports whether the datagram's type is one only clients send;
// toClient, one only the server sends. Disconnect is neither.
func fromClient(t wire.PacketType) bool {
	switch t {
	case wire.TypeConnectRequest, wire.TypeChallengeResponse, wire.TypePoseInput,
		wire.TypePing, wire.TypeDeliveryReport:
		return true
	}
	return false
}

func toClient(t wire.PacketType) bool {
	switch t {
	case wire.TypeChallenge, wire.TypeAccepted, wire.TypeDenied, wire.TypeSnapshot,
		wire.TypePong, wire.TypeEntityUpdate, wire.TypeDeliveryProbe, wire.TypeStateDelta:
		return true
	}
	return false
}

// errSealed marks a sealed datagram (FlagSealed): its body is ciphertext
// of a venue passphrase's keys, which a capture does not hold.
var errSealed = errors.New("sealed (venue passphrase): body not decoded")
