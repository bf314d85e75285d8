package operator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcadexr/arcade/capture"
	"github.com/arcadexr/arcade/internal/udp"
	"github.com/arcadexr/arcade/server"
)

// TestCaptureAPI: with the token, a capture starts into the capture
// directory under the server's name for it, records, stops complete, and
// says so; out of turn it is 409, without the token 401, with a bad body
// 400, and a server with no capture directory answers 404 naming the flag.
func TestCaptureAPI(t *testing.T) {
	dir := t.TempDir()
	rec, err := capture.NewRecorder(capture.RecorderConfig{
		Local: netip.MustParseAddrPort("127.0.0.1:7777"), Dir: dir,
		Passphrase: "lantern", KDF: capture.KDF{Time: 1, MemoryKiB: 64, Threads: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(server.Config{Seed: 1, Tap: rec}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	const token = "c0ffee"
	srv := httptest.NewServer(Handler(s, Options{Token: token}))
	defer srv.Close()
	do := func(method, path, auth, body string) (int, capture.Status, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st capture.Status
		var raw strings.Builder
		if resp.Header.Get("Content-Type") == "application/json" {
			if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
				t.Fatal(err)
			}
		} else {
			buf := make([]byte, 512)
			n, _ := resp.Body.Read(buf)
			raw.Write(buf[:n])
		}
		return resp.StatusCode, st, raw.String()
	}
	if code, _, _ := do("POST", "/api/capture/start", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("start without the token: %d, want 401", code)
	}
	if code, _, msg := do("POST", "/api/capture/start", token, `{"path": "/etc/passwd"}`); code != http.StatusBadRequest {
		t.Fatalf("start naming a path: %d %q, want 400", code, msg)
	}
	if code, _, _ := do("POST", "/api/capture/start", token, `{"max_bytes": 100}`); code != http.StatusBadRequest {
		t.Fatalf("start with a 100-byte cap: %d, want 400", code)
	}
	code, st, _ := do("POST", "/api/capture/start", token, `{"max_bytes": 1048576, "max_files": 3}`)
	if code != http.StatusOK || !st.Running || filepath.Dir(st.File) != dir || !st.KeyLog || st.MaxFiles != 3 {
		t.Fatalf("start: %d %+v", code, st)
	}
	if code, _, _ := do("POST", "/api/capture/start", token, ""); code != http.StatusConflict {
		t.Fatalf("a second start: %d, want 409", code)
	}
	m := &udp.Message{Buf: []byte("ARC\x01datagram"), N: 12, Addr: netip.MustParseAddrPort("127.0.0.1:5000")}
	rec.Received(m)
	rec.Sent(m, 1)
	code, st, _ = do("POST", "/api/capture/stop", token, "")
	if code != http.StatusOK || st.Running || st.Datagrams != 2 || st.Files != 1 {
		t.Fatalf("stop: %d %+v", code, st)
	}
	if fi, err := os.Stat(st.File); err != nil || fi.Size() == 0 {
		t.Fatalf("the capture file: %v", err)
	}
	if code, _, _ := do("POST", "/api/capture/stop", token, ""); code != http.StatusConflict {
		t.Fatalf("a second stop: %d, want 409", code)
	}
	if code, got, _ := do("GET", "/api/capture", "", ""); code != http.StatusOK || got.File != st.File || got.Datagrams != 2 {
		t.Fatalf("status after stop: %d %+v", code, got)
	}
	rec.Received(m) // stopped: not recorded
	if _, got, _ := do("GET", "/api/capture", "", ""); got.Datagrams != 2 {
		t.Fatalf("a datagram after stop counted: %+v", got)
	}

	plain, err := server.New(server.Config{Seed: 1}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(Handler(plain, Options{Token: token}))
	defer srv2.Close()
	resp, err := http.Get(srv2.URL + "/api/capture")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(buf[:n]), "--capture-dir") {
		t.Fatalf("no recorder: %d %q", resp.StatusCode, buf[:n])
	}
}
