//go:build linux

package lab_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/arcadexr/arcade/tools/netlab/internal/lab"
)

// Lines as avahi-browse 0.8 --parsable --resolve printed them in the lab.
func TestParseBrowseLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		want lab.BrowseEvent
	}{
		{`+;hs0;IPv4;Arena;_arcade._udp;local`,
			lab.BrowseEvent{Kind: '+', Iface: "hs0", Protocol: "IPv4", Name: "Arena", Type: "_arcade._udp", Domain: "local"}},
		{`-;hs0;IPv4;Arena\032\0402\041;_arcade._udp;local`,
			lab.BrowseEvent{Kind: '-', Iface: "hs0", Protocol: "IPv4", Name: "Arena (2)", Type: "_arcade._udp", Domain: "local"}},
		{`=;hs0;IPv4;Arena\032\0402\041;_arcade._udp;local;vm-2.local;10.77.0.12;7777;"scene=Demo Arcade" "players=0/64" "a=\"q\\;x" "v=1"`,
			lab.BrowseEvent{Kind: '=', Iface: "hs0", Protocol: "IPv4", Name: "Arena (2)", Type: "_arcade._udp", Domain: "local",
				Host: "vm-2.local", Addr: netip.MustParseAddrPort("10.77.0.12:7777"),
				TXT: []string{"scene=Demo Arcade", "players=0/64", `a="q\;x`, "v=1"}}},
		{`=;hs0;IPv4;a\.b;_arcade._udp;local;h.local;10.77.0.1;7777;`,
			lab.BrowseEvent{Kind: '=', Iface: "hs0", Protocol: "IPv4", Name: "a.b", Type: "_arcade._udp", Domain: "local",
				Host: "h.local", Addr: netip.MustParseAddrPort("10.77.0.1:7777")}},
	} {
		got, err := lab.ParseBrowseLine(tc.line)
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		if got.Kind != tc.want.Kind || got.Iface != tc.want.Iface || got.Protocol != tc.want.Protocol ||
			got.Name != tc.want.Name || got.Type != tc.want.Type || got.Domain != tc.want.Domain ||
			got.Host != tc.want.Host || got.Addr != tc.want.Addr || !slices.Equal(got.TXT, tc.want.TXT) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.line, got, tc.want)
		}
	}
	for _, bad := range []string{
		"", "Failed to create client object", `*;hs0;IPv4;a;_arcade._udp;local`, `+;hs0;IPv4;a\`,
		`=;hs0;IPv4;a;_arcade._udp;local;h;10.77.0.1;7777;"unterminated`,
		`=;hs0;IPv4;a;_arcade._udp;local;h;10.77.0.1;99999;`, `+;hs0;IPv4;a\999;t;local`,
	} {
		if e, err := lab.ParseBrowseLine(bad); err == nil {
			t.Errorf("%q parsed as %+v", bad, e)
		}
	}
}

func TestUnescapeName(t *testing.T) {
	for in, want := range map[string]string{
		`Arena`:                     "Arena",
		`Arena\032\0402\041`:        "Arena (2)",
		`Arena\ \(2\)`:              "Arena (2)", // dig's style
		`back\\slash\.dot`:          `back\slash.dot`,
		`caf\195\169`:               "café",
		`Arena._arcade._udp.local.`: "Arena._arcade._udp.local.",
	} {
		if got, err := lab.UnescapeName(in); err != nil || got != want {
			t.Errorf("UnescapeName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
