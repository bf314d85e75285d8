package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"--clients", "0"}, "--clients"},
		{[]string{"--clients", "100000"}, "--clients"},
		{[]string{"--rate", "0"}, "--rate"},
		{[]string{"--rate", "5000"}, "--rate"},
		{[]string{"--duration", "-1s"}, "--duration"},
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--server", "localhost"}, "--server"},
		{[]string{"--server", "127.0.0.1:0"}, "--server"},
		{[]string{"--server", "[::1]:7777"}, "--server"},
		{[]string{"--iface", "nosuchif0"}, "--iface"},
	} {
		var out, errb bytes.Buffer
		if code := run(c.args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", c.args, code)
		}
		if !strings.Contains(errb.String(), c.flag) {
			t.Errorf("%v: %q does not name %s", c.args, errb.String(), c.flag)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"--rate", "abc"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "-rate") {
		t.Errorf("unparsable --rate: exit %d, %q", code, errb.String())
	}
	o, err := parseFlags([]string{"--server", "127.0.0.1:7777", "--clients", "16", "--rate", "90", "--duration", "10s", "--unicast", "--iface", "lo", "--grab", "--json"}, &errb)
	if err != nil || o.clients != 16 || o.rate != 90 || !o.unicast || !o.json || o.iface != "lo" || !o.grab {
		t.Errorf("parseFlags = %+v, %v", o, err)
	}
}
