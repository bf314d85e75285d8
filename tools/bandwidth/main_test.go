package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRun runs the command on a short arcade and players scene (with four
// of the encoders and four receivers, to be quick: each receiver decodes
// every datagram, and what is checked, the sender's kbps and the share of
// (receiver, tick) complete, does not depend on how many there are) and
// reads the JSON back.
func TestRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.json")
	var out bytes.Buffer
	encs := []string{"today", "quantized", "delta", "coded"}
	if err := run([]string{"--scene", "arcade,players", "--seconds", "0.5", "--receivers", "4", "--encoders", strings.Join(encs, ","), "--json", path}, &out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if want := 2 * 2 * 2 * len(encs); len(rep.Results) != want {
		t.Errorf("%d results, want %d", len(rep.Results), want)
	}
	for _, r := range rep.Results {
		if r.KbpsBody <= 0 || r.KbpsArcade <= r.KbpsBody || r.KbpsWire <= r.KbpsArcade {
			t.Errorf("%s %d Hz %s: kbps %.0f / %.0f / %.0f", r.Scene, r.Rate, r.Encoder, r.KbpsBody, r.KbpsArcade, r.KbpsWire)
		}
		if r.Loss == 0 && r.CompleteShare != 1 {
			t.Errorf("%s %d Hz %s: %.3f complete without loss", r.Scene, r.Rate, r.Encoder, r.CompleteShare)
		}
	}
	for _, bad := range [][]string{{"--scene", "nope"}, {"--loss", "2"}, {"--rates", "90"}, {"--encoders", "nope"}, {"--receivers", "0"}} {
		if err := run(bad, &out); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
