package wire

import "encoding/binary"

// DesyncReportSize is the body size of a DesyncReport.
const DesyncReportSize = 36

// DesyncReport body offsets.
const (
	offDesyncChecks       = 0
	offDesyncMismatches   = 4
	offDesyncResyncs      = 8
	offDesyncNewestTick   = 12
	offDesyncMismatchTick = 16
	offDesyncExpected     = 20
	offDesyncComputed     = 28
)

// DesyncReport (RPC 8, client → server, stream StreamControl) says how the
// state hashes a headset checked compared with its own state
// (docs/PROTOCOL.md §10.5): counts since the session's Accepted, which
// only grow, so a report that replaces the one before loses nothing.
type DesyncReport struct {
	// Checks counts the ticks whose state hash the client compared with
	// the hash of the state it holds of them; Mismatches those that
	// differed (at most Checks).
	Checks, Mismatches uint32
	// Resyncs counts the times the client dropped the ticks it held to
	// recover from a mismatch (a StateDelta receiver's baselines).
	Resyncs uint32
	// NewestTick is the newest tick checked (0 before any).
	NewestTick uint32
	// MismatchTick is the newest tick that differed, Expected the hash
	// the server sent for it and Computed the client's (all 0 before any
	// mismatch).
	MismatchTick       uint32
	Expected, Computed uint64
}

// RPCType returns RPCDesyncReport.
func (m *DesyncReport) RPCType() RPCType { return RPCDesyncReport }

// Len returns DesyncReportSize.
func (m *DesyncReport) Len() int { return DesyncReportSize }

// Append appends the body to b.
func (m *DesyncReport) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, m.Checks)
	b = binary.LittleEndian.AppendUint32(b, m.Mismatches)
	b = binary.LittleEndian.AppendUint32(b, m.Resyncs)
	b = binary.LittleEndian.AppendUint32(b, m.NewestTick)
	b = binary.LittleEndian.AppendUint32(b, m.MismatchTick)
	b = binary.LittleEndian.AppendUint64(b, m.Expected)
	return binary.LittleEndian.AppendUint64(b, m.Computed)
}

// Parse decodes a body. More mismatches than checks is ErrField.
func (m *DesyncReport) Parse(b []byte) (int, error) {
	if len(b) < DesyncReportSize {
		return 0, ErrShort
	}
	le := binary.LittleEndian
	checks, mismatches := le.Uint32(b[offDesyncChecks:]), le.Uint32(b[offDesyncMismatches:])
	if mismatches > checks {
		return 0, ErrField
	}
	*m = DesyncReport{
		Checks:       checks,
		Mismatches:   mismatches,
		Resyncs:      le.Uint32(b[offDesyncResyncs:]),
		NewestTick:   le.Uint32(b[offDesyncNewestTick:]),
		MismatchTick: le.Uint32(b[offDesyncMismatchTick:]),
		Expected:     le.Uint64(b[offDesyncExpected:]),
		Computed:     le.Uint64(b[offDesyncComputed:]),
	}
	return DesyncReportSize, nil
}
