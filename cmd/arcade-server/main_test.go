package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBadFlagsNameTheFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tick-rate", "10"}, "--tick-rate"},
		{[]string{"--tick-rate", "501"}, "--tick-rate"},
		{[]string{"--tick-rate", "fast"}, "tick-rate"},
		{[]string{"--max-clients", "0"}, "--max-clients"},
		{[]string{"--listen", "nonsense"}, "--listen"},
		{[]string{"--listen", "[::1]:7777"}, "--listen"},
		{[]string{"--listen", ":99999"}, "--listen"},
		{[]string{"--multicast", "10.0.0.1:7778"}, "--multicast"},
		{[]string{"--multicast", "239.1.1.1"}, "--multicast"},
		{[]string{"--multicast", "239.1.1.1:0"}, "--multicast"},
		{[]string{"--iface", "no-such-if0"}, "--iface"},
		{[]string{"--dscp", "64"}, "--dscp"},
		{[]string{"--rt-priority", "100"}, "--rt-priority"},
		{[]string{"--tick-spin", "5ms"}, "--tick-spin"},
		{[]string{"--tick-spin", "-1us"}, "--tick-spin"},
		{[]string{"--idle-timeout", "0s"}, "--idle-timeout"},
		{[]string{"--log-format", "xml"}, "--log-format"},
		{[]string{"--http", "7780"}, "--http"},
		{[]string{"--bogus"}, "bogus"},
		{[]string{"--allow", "10.0.0.0/33"}, "allow"},
		{[]string{"--deny", "not-an-ip"}, "deny"},
		{[]string{"--hash-every", "-1"}, "--hash-every"},
		{[]string{"--scene", "/nonexistent/arena.scene"}, "--scene"},
		{[]string{"--state-budget", "-1"}, "--state-budget"},
		{[]string{"--state-budget", "200", "--delta-state=false"}, "--state-budget"},
		{[]string{"--signed-update-gap", "0s"}, "--signed-update-gap"},
		{[]string{"--signed-update-gap", "3ms"}, "--signed-update-gap"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"--passphrase", "a", "--passphrase-file", "main.go"}, "only one"},
		{[]string{"--passphrase-file", "/nonexistent/pass"}, "--passphrase-file"},
		{[]string{"--fresh"}, "--fresh"},
		{[]string{"--checkpoint", "w", "--checkpoint-every", "0s"}, "--checkpoint-every"},
		{[]string{"--checkpoint", "w", "--checkpoint-every", "2h"}, "--checkpoint-every"},
		{[]string{"--replay", "show.rec", "--record", "new.rec"}, "--replay"},
		{[]string{"--replay", "show.rec", "--checkpoint", "w"}, "--replay"},
		{[]string{"--replay-speed", "2"}, "need --replay"},
		{[]string{"--replay", "show.rec", "--replay-speed", "0"}, "--replay-speed"},
		{[]string{"--replay", "show.rec", "--replay-speed", "17"}, "--replay-speed"},
		{[]string{"--replay", "show.rec", "--replay-seek", "-1s"}, "--replay-seek"},
		{[]string{"--pair", "127.0.0.2:7781", "--standby", "127.0.0.2:7781"}, "only one"},
		{[]string{"--pair", "nowhere"}, "--pair"},
		{[]string{"--standby", "0.0.0.0:7781"}, "--standby"},
		{[]string{"--pair", "127.0.0.2:7781"}, "--pair-key-file"},
		{[]string{"--pair", "127.0.0.2:7781", "--pair-key-file", "/nonexistent/key"}, "--pair-key-file"},
		{[]string{"--pair", "127.0.0.2:7781", "--pair-key-file", "testdata/short.key", "--epoch-file", "e"}, "at least 16"},
		{[]string{"--pair", "127.0.0.2:7781", "--pair-key-file", "testdata/pair.key"}, "--epoch-file"},
		{[]string{"--pair", "127.0.0.2:7781", "--pair-key-file", "testdata/pair.key", "--epoch-file", "e", "--takeover-silence", "1ms"}, "--takeover-silence"},
		{[]string{"--pair", "127.0.0.2:7781", "--pair-key-file", "testdata/pair.key", "--epoch-file", "e", "--pair-listen", ":7777"}, "--pair-listen"},
		{[]string{"--pair", "127.0.0.2:7781", "--passphrase", "venue secret"}, "--pair-key-file"},
		{[]string{"--standby", "127.0.0.1:7781", "--passphrase", "venue secret", "--pair-key-file", "testdata/short.key", "--epoch-file", "e"}, "at least 16"},
		{[]string{"--standby", "127.0.0.1:7781", "--passphrase", "venue secret", "--pair-key-file", "testdata/pair.key"}, "--epoch-file"},
		{[]string{"--epoch-file", "e"}, "needs --pair or --standby"},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, &out, &errb)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", tc.args, code)
		}
		if !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: error %q does not name %q", tc.args, errb.String(), tc.want)
		}
	}
}

// TestPairWithPassphrase: a standby pair takes a venue passphrase (the
// copy carries the sealed sessions' keys, PROTOCOL §18.6), on the primary
// and on the standby, with --passphrase or --passphrase-file.
func TestPairWithPassphrase(t *testing.T) {
	pass := t.TempDir() + "/pass"
	if err := os.WriteFile(pass, []byte("lantern orchard 42\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--pair", "127.0.0.2:7781", "--pair-key-file", "testdata/pair.key", "--epoch-file", "e", "--passphrase", "lantern orchard 42"},
		{"--standby", "127.0.0.1:7781", "--pair-key-file", "testdata/pair.key", "--epoch-file", "e", "--passphrase-file", pass},
	} {
		o, err := parseFlags(args, io.Discard)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if o.passphrase != "lantern orchard 42" || !o.pairPeer.IsValid() || len(o.pairKey) < 16 {
			t.Fatalf("%v: passphrase %q, peer %v, pair key of %d bytes", args, o.passphrase, o.pairPeer, len(o.pairKey))
		}
	}
}

func TestPassphraseFile(t *testing.T) {
	path := t.TempDir() + "/pass"
	if err := os.WriteFile(path, []byte("lantern orchard 42\r\nsecond line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags([]string{"--passphrase-file", path}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.passphrase != "lantern orchard 42" {
		t.Fatalf("passphrase %q", o.passphrase)
	}
	if o, err = parseFlags([]string{"--passphrase", "x y"}, io.Discard); err != nil || o.passphrase != "x y" {
		t.Fatalf("--passphrase: %q, %v", o.passphrase, err)
	}
}

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--version"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "arcade-server ") {
		t.Fatalf("version output %q", out.String())
	}
}

func TestParseListen(t *testing.T) {
	ap, err := parseListen(":7777")
	if err != nil || ap.String() != "0.0.0.0:7777" {
		t.Fatalf("got %v %v", ap, err)
	}
	ap, err = parseListen("127.0.0.1:0")
	if err != nil || ap.String() != "127.0.0.1:0" {
		t.Fatalf("got %v %v", ap, err)
	}
}

func TestParsePrefixes(t *testing.T) {
	p, err := parsePrefixes("192.168.10.7/24, 10.0.0.1,::1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"192.168.10.0/24", "10.0.0.1/32", "::1/128"}
	if len(p) != len(want) {
		t.Fatalf("got %v", p)
	}
	for i := range want {
		if p[i].String() != want[i] {
			t.Errorf("prefix %d = %v, want %s", i, p[i], want[i])
		}
	}
}

// TestFailClosed: a secret asked for but missing, a group or port that
// clashes, and a scene beyond the wire format's range each stop the server
// (exit 2) with an error naming the flag, the file and the problem.
func TestFailClosed(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := file("empty", "")
	blank := file("blank", " \t\r\n")
	newline := file("newline", "\nsecond line\n")
	crlf := file("crlf", "\r\n")
	good := file("good", "lantern orchard 42\n")
	short := file("short", "0123456789\n")
	spaced := file("spaced", "two words of the operator's token\n")
	far := file("far.scene", "name far\nobject ball shape=sphere radius=0.1 mass=1 pos=0,1,40\n")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--passphrase-file", empty}, []string{"--passphrase-file", empty, "the file is empty"}},
		{[]string{"--passphrase-file", blank}, []string{"--passphrase-file", blank, "first line is empty or only whitespace"}},
		{[]string{"--passphrase-file", newline}, []string{"--passphrase-file", newline, "first line is empty"}},
		{[]string{"--passphrase-file", crlf}, []string{"--passphrase-file", crlf, "first line is empty"}},
		{[]string{"--passphrase-file", dir}, []string{"--passphrase-file", dir, "cannot read", "is a directory"}},
		{[]string{"--passphrase-file", filepath.Join(dir, "missing")}, []string{"--passphrase-file", filepath.Join(dir, "missing"), "cannot read", "no such file"}},
		{[]string{"--passphrase-file", ""}, []string{"--passphrase-file", "empty file name"}},
		{[]string{"--passphrase", "x", "--passphrase-file", good}, []string{"--passphrase and --passphrase-file", "only one"}},
		{[]string{"--passphrase", "", "--passphrase-file", good}, []string{"--passphrase and --passphrase-file", "only one"}},
		{[]string{"--passphrase", "  "}, []string{"--passphrase", "only whitespace"}},
		{[]string{"--http-token-file", empty}, []string{"--http-token-file", empty, "the file is empty"}},
		{[]string{"--http-token-file", blank}, []string{"--http-token-file", blank, "only whitespace"}},
		{[]string{"--http-token-file", filepath.Join(dir, "missing")}, []string{"--http-token-file", "cannot read"}},
		{[]string{"--http-token-file", short}, []string{"--http-token-file", short, "10 bytes, want at least 16"}},
		{[]string{"--http-token-file", spaced}, []string{"--http-token-file", spaced, "characters a bearer token cannot carry"}},
		{[]string{"--multicast", "224.0.0.251:7778"}, []string{"--multicast", "224.0.0.251", "224.0.0.0/24", "link-local"}},
		{[]string{"--multicast", "224.0.0.1:9000"}, []string{"--multicast", "224.0.0.0/24"}},
		{[]string{"--multicast", "224.0.0.255:9000"}, []string{"--multicast", "224.0.0.0/24"}},
		{[]string{"--multicast", "239.255.77.77:7777"}, []string{"--multicast", "port 7777 is the game port"}},
		{[]string{"--listen", "127.0.0.1:9000", "--multicast", "239.1.2.3:9000"}, []string{"--multicast", "port 9000 is the game port", "127.0.0.1:9000"}},
		{[]string{"--beacon-port", "7777"}, []string{"--beacon-port", "7777 is the game port"}},
		{[]string{"--beacon-port", "7778"}, []string{"--beacon-port", "7778 is the snapshot multicast port"}},
		{[]string{"--multicast", "239.1.2.3:9100", "--beacon-port", "9100"}, []string{"--beacon-port", "9100 is the snapshot multicast port"}},
		{[]string{"--beacon-port", "5353"}, []string{"--beacon-port", "mDNS port"}},
		{[]string{"--scene", far, "--http", "off", "--discovery=false"}, []string{"--scene", far, `object "ball"`, "field pos", "z = 40", "position range"}},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, &out, &errb)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", tc.args, code, errb.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(errb.String(), w) {
				t.Errorf("%q: error %q does not name %q", tc.args, errb.String(), w)
			}
		}
	}
	// What is right still passes.
	for _, args := range [][]string{
		{"--multicast", "224.0.1.1:7778"},
		{"--multicast", "off", "--beacon-port", "7778"},
		{"--listen", ":0", "--multicast", "239.1.2.3:7777", "--beacon-port", "0"},
		{"--http-token-file", file("token", "0123456789abcdef0123456789abcdef\n")},
	} {
		if _, err := parseFlags(args, io.Discard); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
}

func TestHTTPDefaultsAndToken(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.httpAddr != "127.0.0.1:7780" || o.httpToken != "" {
		t.Errorf("--http default %q, token %q; want loopback and a generated token", o.httpAddr, o.httpToken)
	}
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("  c2VjcmV0LXRva2VuLTE2Yg==\t\r\nrest"), 0o600); err != nil {
		t.Fatal(err)
	}
	if o, err = parseFlags([]string{"--http-token-file", path}, io.Discard); err != nil || o.httpToken != "c2VjcmV0LXRva2VuLTE2Yg==" || !o.fileToken {
		t.Errorf("--http-token-file: %+v, %v", o, err)
	}
	a, errA := newToken()
	b, errB := newToken()
	if errA != nil || errB != nil || len(a) != 64 || a == b || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("newToken: %q %v, %q %v; want two different 64-digit hex tokens", a, errA, b, errB)
	}
}

// TestSceneLimits: a scene past the hard limit is refused with a clear
// error naming the flag.
func TestSceneLimits(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("name big\n")
	for i := range maxSceneObjects + 1 {
		fmt.Fprintf(&b, "object o%d shape=sphere radius=0.1 mass=1 pos=%d,1,%d\n", i, i%60-30, i/60%60-30)
	}
	path := dir + "/big.scene"
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"--scene", path}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--scene") || !strings.Contains(errb.String(), "at most") {
		t.Errorf("a %d-object scene: exit %d, %q", maxSceneObjects+1, code, errb.String())
	}
}

// TestConfigFile: a config file sets flags the command line did not give;
// the command line wins; an unknown key or a bad value is an error naming
// the file, the line and the key.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.conf", "# the hall\ntick-rate = 90\nmax-clients 32\nname = \"Arcade Hall\"\nallow = 10.0.0.0/8\nallow = 192.168.0.0/16\n")
	o, err := parseFlags([]string{"--config", good, "--max-clients", "16"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.tickRate != 90 || o.maxClients != 16 || o.name != "Arcade Hall" {
		t.Errorf("tick rate %d, max clients %d, name %q: want 90 (file), 16 (command line), the file's name", o.tickRate, o.maxClients, o.name)
	}
	for _, tc := range []struct{ text, want string }{
		{"tick-rate = 90\nticks = 3\n", `bad.conf:2: unknown key "ticks"`},
		{"tick-rate = fast\n", "bad.conf:1: tick-rate"},
		{"config = other.conf\n", "bad.conf:1"},
	} {
		bad := write("bad.conf", tc.text)
		if _, err := parseFlags([]string{"--config", bad}, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error with %q", tc.text, err, tc.want)
		}
	}
	if _, err := parseFlags([]string{"--config", filepath.Join(dir, "none.conf")}, io.Discard); err == nil || !strings.Contains(err.Error(), "--config") {
		t.Errorf("a missing config file: %v", err)
	}
}
