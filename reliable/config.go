package reliable

import (
	"errors"
	"fmt"
	"time"
)

// Defaults for the zero fields of Config.
const (
	DefaultStreams         = 4
	DefaultMaxMessage      = 256 << 10
	DefaultSendQueueBytes  = 1 << 20
	DefaultRecvBufferBytes = 1 << 20
	DefaultMinRTO          = 5 * time.Millisecond
	DefaultMaxRTO          = 500 * time.Millisecond
	DefaultMTU             = 1150
)

// Limits on Config fields.
const (
	MaxStreams      = UnreliableStream // stream ids 0…126
	MinMTU          = 64               // smallest Config.MTU
	MaxMTU          = 65507            // largest UDP payload
	MaxMessageLimit = 16 << 20         // largest Config.MaxMessage
)

// Protocol and resource constants.
const (
	// RecvWindow is how many messages of one stream, from the next one to
	// deliver, a receiver buffers; a sender never sends a message more
	// than RecvWindow−1 after its oldest unacknowledged one.
	RecvWindow = 256
	// MaxInFlight bounds the unacknowledged packets with reliable data.
	MaxInFlight = 32
	// MaxChunksPerPacket bounds the reliable chunks in one packet.
	MaxChunksPerPacket = 64
	// MaxQueuedMessages bounds the messages queued per stream, and
	// MaxQueuedUnreliable the unreliable messages waiting for Poll.
	MaxQueuedMessages   = 8192
	MaxQueuedUnreliable = 256
	// PacketThreshold: a packet is lost once one sent this many later is
	// acknowledged.
	PacketThreshold = 3
	// MaxPacketThreshold caps the packet threshold as reordering raises
	// it.
	MaxPacketThreshold = MaxInFlight
	// TimeThreshold: a packet older than an acknowledged one is lost once
	// it was sent this many eighths of max(SRTT, latest RTT) ago; each
	// spurious loss by this rule adds one eighth, up to MaxTimeThreshold.
	TimeThreshold    = 9
	MaxTimeThreshold = 16
	// AckEvery: a pure acknowledgement is due at once after this many
	// unacknowledged packets with reliable data.
	AckEvery = 2
	// AckDelay: the longest a received packet with reliable data waits
	// for its acknowledgement.
	AckDelay = time.Millisecond
	// ResyncDistance: a sequence number this far or farther behind the
	// newest is taken as a jump forward.
	ResyncDistance = 1024
	// InitialRTT stands in for SRTT before the first sample.
	InitialRTT = 10 * time.Millisecond
	// MaxBackoff caps the doublings of the RTO.
	MaxBackoff = 6
	// lossGranularity is the smallest time threshold for loss.
	lossGranularity = 250 * time.Microsecond
)

// Never is NextTimeout's answer when nothing is scheduled.
const Never = int64(1<<63 - 1)

// Config configures an Endpoint. The zero value of every field means its
// default; both ends of a connection must use the same Streams and
// MaxMessage.
type Config struct {
	// Streams is the number of reliable-ordered streams, ids
	// 0…Streams−1, at most MaxStreams. Default DefaultStreams (4). The
	// unreliable-sequenced stream comes in addition.
	Streams int
	// MaxMessage is the largest message in bytes; Send refuses larger ones
	// with ErrTooLarge. Default DefaultMaxMessage (256 KiB), at most
	// MaxMessageLimit, and at most 65536 fragments of MTU −
	// FragmentHeaderSize bytes.
	MaxMessage int
	// SendQueueBytes bounds the bytes queued and not yet acknowledged per
	// stream (Send returns ErrQueueFull beyond it), the unreliable bytes
	// waiting for Poll, and the message data a receiver has received and
	// buffers per stream beyond the next message to deliver. Default
	// DefaultSendQueueBytes (1 MiB); at least MaxMessage.
	SendQueueBytes int
	// RecvBufferBytes bounds the memory a receiver holds for received
	// messages, all streams together, besides the one message at the head
	// of a stream that holds the Endpoint's reassembly priority (see
	// "Memory bounds" in the package doc). Memory is counted as allocated:
	// buffers, fragment blocks and reassembly state. Default
	// DefaultRecvBufferBytes (1 MiB).
	RecvBufferBytes int
	// Budget, if not nil, bounds the memory all the Endpoints sharing it
	// hold for received messages, counted as for RecvBufferBytes, the
	// priority heads included. Nil: no bound across Endpoints.
	Budget *Budget
	// MinRTO and MaxRTO clamp the retransmission timeout, backoff
	// included. Defaults DefaultMinRTO (5 ms) and DefaultMaxRTO (500 ms).
	MinRTO, MaxRTO time.Duration
	// MTU is the most payload bytes Poll puts in one datagram; the caller
	// adds its header. Default DefaultMTU (1150), in [MinMTU, MaxMTU].
	MTU int
}

// withDefaults returns c with zero fields replaced by defaults.
func (c Config) withDefaults() Config {
	if c.Streams == 0 {
		c.Streams = DefaultStreams
	}
	if c.MaxMessage == 0 {
		c.MaxMessage = DefaultMaxMessage
	}
	if c.SendQueueBytes == 0 {
		c.SendQueueBytes = max(DefaultSendQueueBytes, c.MaxMessage)
	}
	if c.RecvBufferBytes == 0 {
		c.RecvBufferBytes = DefaultRecvBufferBytes
	}
	if c.MinRTO == 0 {
		c.MinRTO = DefaultMinRTO
	}
	if c.MaxRTO == 0 {
		c.MaxRTO = max(DefaultMaxRTO, c.MinRTO)
	}
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	return c
}

// validate reports the first invalid field of a config with defaults
// applied.
func (c *Config) validate() error {
	switch {
	case c.Streams < 0 || c.Streams > MaxStreams:
		return fmt.Errorf("reliable: Config.Streams is %d, want 1…%d", c.Streams, MaxStreams)
	case c.MTU < MinMTU || c.MTU > MaxMTU:
		return fmt.Errorf("reliable: Config.MTU is %d, want %d…%d", c.MTU, MinMTU, MaxMTU)
	case c.MaxMessage < 0 || c.MaxMessage > MaxMessageLimit:
		return fmt.Errorf("reliable: Config.MaxMessage is %d, want 1…%d", c.MaxMessage, MaxMessageLimit)
	case c.MaxMessage > MaxFragments*(c.MTU-FragmentHeaderSize):
		return fmt.Errorf("reliable: Config.MaxMessage is %d, more than %d fragments of Config.MTU %d", c.MaxMessage, MaxFragments, c.MTU)
	case c.SendQueueBytes < c.MaxMessage:
		return fmt.Errorf("reliable: Config.SendQueueBytes is %d, want at least Config.MaxMessage (%d)", c.SendQueueBytes, c.MaxMessage)
	case c.RecvBufferBytes < 0:
		return fmt.Errorf("reliable: Config.RecvBufferBytes is negative (%d)", c.RecvBufferBytes)
	case c.MinRTO < 0:
		return fmt.Errorf("reliable: Config.MinRTO is negative (%v)", c.MinRTO)
	case c.MaxRTO < c.MinRTO:
		return fmt.Errorf("reliable: Config.MaxRTO (%v) is less than Config.MinRTO (%v)", c.MaxRTO, c.MinRTO)
	}
	return nil
}

// Errors returned by Send, SendUnreliable and OnDatagram. They are sentinel
// values so that returning them never allocates.
var (
	// ErrTooLarge: a message longer than Config.MaxMessage, or an
	// unreliable message that does not fit in one datagram (Config.MTU −
	// ChunkHeaderSize bytes).
	ErrTooLarge = errors.New("reliable: message too large")
	// ErrQueueFull: the stream already holds Config.SendQueueBytes bytes
	// or MaxQueuedMessages messages not yet acknowledged (for the
	// unreliable stream: not yet sent). The message was not queued.
	ErrQueueFull = errors.New("reliable: send queue full")
	// ErrStream: no such stream.
	ErrStream = errors.New("reliable: stream id out of range")
	// ErrMalformed: OnDatagram ignored a payload that breaks the receive
	// rules of the package doc.
	ErrMalformed = errors.New("reliable: malformed payload")
)
