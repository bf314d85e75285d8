package golden

import (
	"bytes"
	"testing"
)

func TestParse(t *testing.T) {
	b, err := Parse("41 52 43 # magic \"ARC\"\n# a comment line\n01\t06 # version, type\n")
	if err != nil || !bytes.Equal(b, []byte{0x41, 0x52, 0x43, 0x01, 0x06}) {
		t.Fatalf("got % x, %v", b, err)
	}
	if _, err := Parse("4 # an odd number of digits"); err == nil {
		t.Fatal("odd digits accepted")
	}
	if _, err := Parse("zz"); err == nil {
		t.Fatal("non-hex accepted")
	}
	if _, err := ReadHex("no-such-file.hex"); err == nil {
		t.Fatal("missing file accepted")
	}
}
