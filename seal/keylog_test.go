package seal

import (
	"bytes"
	"testing"
)

// TestOpenerFromKeys: the keys a server logs open what the two sides
// sealed, both ways and from the group, and the same datagram twice (a
// capture has no replay window); a datagram of the other direction, a
// damaged one and a group datagram a headset forged do not open.
func TestOpenerFromKeys(t *testing.T) {
	ch, a, ss, g, err := handshake(t, testPassphrase, testPassphrase)
	if err != nil {
		t.Fatal(err)
	}
	cs, _, err := ch.Finish(a, testGroupToken)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Keys() != ss.Keys() {
		t.Fatal("client and server hold different session keys")
	}
	o, err := NewSessionOpener(ss.Keys())
	if err != nil {
		t.Fatal(err)
	}
	header := make([]byte, 22)
	up := cs.Seal(bytes.Clone(header), header, []byte("pose"))
	down := ss.Seal(bytes.Clone(header), header, []byte("snapshot"))
	for range 2 {
		if got, err := o.Open(nil, up, len(header), true); err != nil || string(got) != "pose" {
			t.Fatalf("client → server: %q, %v", got, err)
		}
	}
	if got, err := o.Open(nil, down, len(header), false); err != nil || string(got) != "snapshot" {
		t.Fatalf("server → client: %q, %v", got, err)
	}
	if _, err := o.Open(nil, up, len(header), false); err != ErrAuth {
		t.Fatalf("client datagram opened as the server's: %v, want ErrAuth", err)
	}
	bad := bytes.Clone(down)
	bad[len(bad)-1] ^= 1
	if _, err := o.Open(nil, bad, len(header), false); err != ErrAuth {
		t.Fatalf("damaged datagram: %v, want ErrAuth", err)
	}
	if _, err := o.Open(nil, up[:len(header)+Overhead-1], len(header), true); err != ErrShort {
		t.Fatalf("short datagram: %v, want ErrShort", err)
	}

	go_, err := NewGroupOpener(g.Keys())
	if err != nil {
		t.Fatal(err)
	}
	dgram := g.SealSigned(bytes.Clone(header), header, []byte("group state"))
	if got, err := go_.Open(nil, dgram, len(header), false); err != nil || string(got) != "group state" {
		t.Fatalf("group: %q, %v", got, err)
	}
	// A headset holds the group key but not the server's signing key.
	k := g.Keys()
	forger, err := NewGroup(k.Key[:], g.pub, nil)
	if err != nil {
		t.Fatal(err)
	}
	forged := forger.Seal(bytes.Clone(header), header, []byte("forged"))
	forged = append(forged, make([]byte, SignatureSize)...)
	if _, err := go_.Open(nil, forged, len(header), false); err != ErrSignature {
		t.Fatalf("forged group datagram: %v, want ErrSignature", err)
	}
}
