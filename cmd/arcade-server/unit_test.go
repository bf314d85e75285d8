package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const unitPath = "../../deploy/arcade-server.service"

// TestSystemdUnitVerifies: the shipped unit passes systemd-analyze verify
// with no warning (verify exits 0 on most, so any output fails), with its
// ExecStart pointed at a freshly built binary; and the flags its
// ExecStart passes are flags the server takes.
func TestSystemdUnitVerifies(t *testing.T) {
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	const installed = "/usr/local/bin/arcade-server"
	var exec1 string
	for _, l := range strings.Split(string(unit), "\n") {
		if strings.HasPrefix(l, "ExecStart=") {
			exec1 = strings.TrimPrefix(l, "ExecStart=")
		}
	}
	args := strings.Fields(exec1)
	if len(args) == 0 || args[0] != installed {
		t.Fatalf("ExecStart %q: want %s, where make install puts it", exec1, installed)
	}
	// The unit's own flags parse ($ARCADE_FLAGS is the operator's).
	var flags []string
	for _, a := range args[1:] {
		if !strings.HasPrefix(a, "$") {
			flags = append(flags, a)
		}
	}
	if _, err := parseFlags(flags, io.Discard); err != nil {
		t.Errorf("the unit's ExecStart flags %q: %v", flags, err)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed: the unit's flags were checked, not the unit")
	}
	dir := t.TempDir()
	verify := func(unit []byte) (string, error) {
		p := filepath.Join(dir, "arcade-server.service")
		if err := os.WriteFile(p, bytes.ReplaceAll(unit, []byte(installed), []byte(serverBinary(t))), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", p).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := verify(unit); err != nil || out != "" {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unitPath, err, out)
	}
	// The check can fail: a value systemd does not take is reported.
	if out, err := verify(bytes.Replace(unit, []byte("LimitRTPRIO=99"), []byte("LimitRTPRIO=lots"), 1)); err == nil && out == "" {
		t.Error("systemd-analyze verify says nothing of LimitRTPRIO=lots: the check cannot fail")
	}
}
