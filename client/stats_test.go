package client

import (
	"encoding/json"
	"testing"
)

// TestDropsNamed: every drop reason has a distinct name that parses back,
// and Drops lists the non-zero counts by name, in JSON too.
func TestDropsNamed(t *testing.T) {
	seen := map[string]bool{}
	for r := range NumDropReasons {
		name := r.String()
		if name == "" || name == "unknown" || seen[name] {
			t.Fatalf("reason %d has name %q", r, name)
		}
		seen[name] = true
		if back, ok := ParseDropReason(name); !ok || back != r {
			t.Fatalf("ParseDropReason(%q) = %v, %v", name, back, ok)
		}
	}
	if _, ok := ParseDropReason("no-such"); ok {
		t.Fatal("an unknown name parsed")
	}
	var s SessionStats
	s.Dropped[DropBadSeal] = 3
	s.Dropped[DropToken] = 1
	b, err := json.Marshal(s.Drops())
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != `[{"reason":"token","count":1},{"reason":"bad-seal","count":3}]` {
		t.Fatalf("Drops = %s", got)
	}
}
