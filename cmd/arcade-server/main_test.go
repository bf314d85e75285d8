package main

import (
	"bytes"
	"io"
	"os"
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
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"--passphrase", "a", "--passphrase-file", "main.go"}, "only one"},
		{[]string{"--passphrase-file", "/nonexistent/pass"}, "--passphrase-file"},
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
