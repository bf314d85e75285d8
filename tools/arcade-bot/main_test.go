package main

import (
	"bytes"
	"slices"
	"strconv"
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
		{[]string{"--cpu", ""}, "--cpu"},
		{[]string{"--cpu", "x"}, "--cpu"},
		{[]string{"--cpu", "3-1"}, "--cpu"},
		{[]string{"--cpu", "1023"}, "--cpu"}, // more CPUs than this machine has
		{[]string{"--nice", "20"}, "--nice"},
		{[]string{"--nice", "-21"}, "--nice"},
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
	if o.perClientMcast || o.cpus != nil || o.niceSet {
		t.Errorf("defaults: per-client sockets %v, CPUs %v, nice set %v", o.perClientMcast, o.cpus, o.niceSet)
	}
	cpu := anyCPU(t)
	o, err = parseFlags([]string{"--per-client-mcast", "--cpu", strconv.Itoa(cpu), "--nice", "0"}, &errb)
	if err != nil || !o.perClientMcast || !slices.Equal(o.cpus, []int{cpu}) || !o.niceSet || o.nice != 0 {
		t.Errorf("parseFlags = %+v, %v", o, err)
	}
}

// anyCPU returns the last CPU the process may run on.
func anyCPU(t *testing.T) int {
	t.Helper()
	cpus, err := allowedCPUs()
	if err != nil || len(cpus) == 0 {
		t.Skip("CPU affinity unavailable:", err)
	}
	return cpus[len(cpus)-1]
}

func TestParseCPUList(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
		back string
	}{
		{"1", []int{1}, "1"},
		{"0,2-3", []int{0, 2, 3}, "0,2-3"},
		{"3,1,1", []int{1, 3}, "1,3"},
		{"4-6,0-1,5", []int{0, 1, 4, 5, 6}, "0-1,4-6"},
		{"1023", []int{1023}, "1023"},
	} {
		got, err := parseCPUList(c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("parseCPUList(%q) = %v, %v; want %v", c.in, got, err, c.want)
			continue
		}
		if s := formatCPUList(got); s != c.back {
			t.Errorf("formatCPUList(%v) = %q, want %q", got, s, c.back)
		}
	}
	for _, in := range []string{"", ",", "a", "-1", "1-", "3-1", "1024", "+1", " 1", "1,,2"} {
		if got, err := parseCPUList(in); err == nil {
			t.Errorf("parseCPUList(%q) = %v, want an error", in, got)
		}
	}
}
