package server

import "testing"

func TestAckWindow(t *testing.T) {
	var w ackWindow
	for _, s := range []uint16{65534, 65535, 0, 2, 1, 40, 39} {
		w.record(s)
	}
	ack, bits := w.header()
	if ack != 40 {
		t.Fatalf("ack = %d, want 40", ack)
	}
	// 39 is bit 0; 2 is bit 37 (beyond the window), so only 39 and 8..: check
	// that 39 set and 38 not.
	if bits&1 == 0 || bits&2 != 0 {
		t.Fatalf("bits = %032b", bits)
	}
	var v ackWindow
	for _, s := range []uint16{10, 12, 11, 11, 9} {
		v.record(s)
	}
	ack, bits = v.header()
	// 12 newest; 11 -> bit0, 10 -> bit1, 9 -> bit2.
	if ack != 12 || bits != 0b111 {
		t.Fatalf("ack=%d bits=%b, want 12 111", ack, bits)
	}
	// Wraparound: 65535 then 3: 65535 is 4 behind 3 -> bit 3.
	var x ackWindow
	x.record(65535)
	x.record(3)
	if ack, bits := x.header(); ack != 3 || bits != 1<<3 {
		t.Fatalf("wrap: ack=%d bits=%b", ack, bits)
	}
}
