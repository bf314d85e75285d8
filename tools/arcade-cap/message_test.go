package main

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// golden reads a vector of testdata/wire: hex digits, '#' comments.
func golden(t *testing.T, name string) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("../../testdata/wire", name+".hex"))
	if err != nil {
		t.Fatal(err)
	}
	var digits strings.Builder
	for line := range strings.SplitSeq(string(src), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMessageLine checks the line and JSON output of the Message vectors:
// the acknowledgement, each chunk's stream/id and RPC or fragment.
func TestMessageLine(t *testing.T) {
	for _, c := range []struct{ vector, line, json string }{
		{"message_ack", "Message tok=8877665544332211 seq=7 ack=300 ack_bits=0000ffff payload=0 ack",
			`"message":{"payload_len":0,"chunks":[]}`},
		{"message_rpc", "Message tok=8877665544332211 seq=8 ack=301 ack_bits=00000001 payload=71 [0/0 GrabRequest 0/1 ButtonEvent 1/0 SceneChange 0/2 Event]",
			`"chunks":[{"stream":0,"id":0,"len":5,"rpc":"GrabRequest"},{"stream":0,"id":1,"len":12,"rpc":"ButtonEvent"},{"stream":1,"id":0,"len":8,"rpc":"SceneChange"},{"stream":0,"id":2,"len":26,"rpc":"Event"}]`},
		{"message_fragment", "Message tok=8877665544332211 seq=65535 ack=9 ack_bits=00000000 payload=687 [2/65535 frag 2/3 of 3000B]",
			`"chunks":[{"stream":2,"id":65535,"len":674,"fragment":{"msg_len":3000,"frag_size":1163,"index":2}}]`},
	} {
		var d datagram
		b := golden(t, c.vector)
		if !d.decode(frame{src: srvAddr, dst: addrA, payload: b}) || d.err != nil {
			t.Fatalf("%s: decode: %v", c.vector, d.err)
		}
		if got := line(&d, 0); !strings.HasSuffix(got, c.line) {
			t.Errorf("%s: line\n got %q\nwant …%q", c.vector, got, c.line)
		}
		js, err := json.Marshal(toJSON(&d, 0))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(js), c.json) {
			t.Errorf("%s: JSON %s\nlacks %s", c.vector, js, c.json)
		}
	}

	// A chunk running past the payload's end.
	b := golden(t, "message_rpc")
	b[22+2+3] = 0xff // chunk 0's data length: 255 of the 66 bytes left
	var d datagram
	d.decode(frame{src: srvAddr, dst: addrA, payload: b})
	if got := line(&d, 0); !strings.HasSuffix(got, "payload=71 [] malformed") {
		t.Errorf("malformed chunk: %q", got)
	}
}
