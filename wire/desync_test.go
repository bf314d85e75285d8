package wire

import "testing"

// testDesyncReport is the DesyncReport of the RPC vectors (rpc_test.go).
var testDesyncReport = DesyncReport{Checks: 1000, Mismatches: 2, Resyncs: 1, NewestTick: 2000, MismatchTick: 1988,
	Expected: 0x0123456789abcdef, Computed: 0xfedcba9876543210}

func TestDesyncReportRules(t *testing.T) {
	b := (&DesyncReport{Checks: 5, Mismatches: 5}).Append(nil)
	var m DesyncReport
	if n, err := m.Parse(b); err != nil || n != DesyncReportSize || m.Mismatches != 5 {
		t.Fatalf("every check a mismatch: %d, %v", n, err)
	}
	b = (&DesyncReport{Checks: 5, Mismatches: 6}).Append(nil)
	m = DesyncReport{}
	if n, err := m.Parse(b); err != ErrField || n != 0 || m != (DesyncReport{}) {
		t.Fatalf("more mismatches than checks: %d, %v, %+v", n, err, m)
	}
}
