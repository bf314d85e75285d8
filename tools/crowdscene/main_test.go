package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/arcadexr/arcade/scene"
)

// TestRun: the scene written parses, with the counts asked for; bad
// counts are refused naming the flags.
func TestRun(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--resting", "10", "--moving", "20", "--seed", "3"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	s, err := scene.Parse("crowd.scene", &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Objects) != 36 {
		t.Errorf("%d objects, want 36", len(s.Objects))
	}
	for _, args := range [][]string{{"--resting", "-1"}, {"--moving", "40000"}, {"extra"}} {
		errb.Reset()
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if args[0] != "extra" && !strings.Contains(errb.String(), "--resting") {
			t.Errorf("%v: %q does not name the flags", args, errb.String())
		}
	}
}
