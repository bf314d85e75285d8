package capture

import (
	"bytes"
	"errors"
	"testing"
)

// seedCapture returns a small sealed capture: headers, a key log block,
// a datagram.
func seedCapture(t testing.TB) []byte {
	wrap, err := NewKeyWrap("p", testKDF)
	if err != nil {
		t.Fatal(err)
	}
	kl := NewKeyLog()
	kl.SessionKeys(1, sessionKeys(10))
	var out bytes.Buffer
	w, err := NewWriter(&out, serverAddr, Options{Keys: kl, Wrap: wrap})
	if err != nil {
		t.Fatal(err)
	}
	w.Received(msg([]byte("ARC one"), clientAddr, 1e9))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// FuzzReadSecrets: any bytes as a pcapng stream: no panic, and every
// secrets block returned lies within the input.
func FuzzReadSecrets(f *testing.F) {
	f.Add(seedCapture(f))
	f.Add([]byte{0x0a, 0x0d, 0x0d, 0x0a, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		blocks, _ := ReadSecrets(bytes.NewReader(b))
		total := 0
		for _, s := range blocks {
			total += len(s)
		}
		if total > len(b) {
			t.Fatalf("%d bytes of secrets from %d bytes", total, len(b))
		}
	})
}

// FuzzKeyLogOpen: any bytes as a key log block's secrets: an error or
// keys, never a panic; a block that does not authenticate adds nothing.
// Seeds: a real block, and it with its cost raised past the bound.
func FuzzKeyLogOpen(f *testing.F) {
	blocks, err := ReadSecrets(bytes.NewReader(seedCapture(f)))
	if err != nil || len(blocks) != 1 {
		f.Fatalf("seed: %d blocks, %v", len(blocks), err)
	}
	f.Add(blocks[0])
	big := bytes.Clone(blocks[0])
	big[10] = 0xff
	f.Add(big)
	o := NewKeyLogOpener("p")
	f.Fuzz(func(t *testing.T, b []byte) {
		var keys Keys
		err := o.Open(&keys, b)
		if errors.Is(err, ErrKeyLogPassphrase) && len(keys.Sessions)+len(keys.Groups) > 0 {
			t.Fatal("keys from a block that does not authenticate")
		}
	})
}
