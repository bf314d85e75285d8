package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/arcadexr/arcade/discovery"
)

// DiscoveryReport says how --discover found the server.
type DiscoveryReport struct {
	// Method is "mdns" or "beacon", empty if neither found a server.
	Method      string             `json:"method"`
	MDNSError   string             `json:"mdns_error,omitempty"`
	BeaconError string             `json:"beacon_error,omitempty"`
	Service     *discovery.Service `json:"service,omitempty"`
	// Found lists every server the successful method found; Service is
	// the first (by instance name).
	Found []discovery.Service `json:"found,omitempty"`
	// Rejected lists the answers of both methods that were not taken,
	// each with its reason (a goodbye, a TXT key missing, another
	// protocol version…).
	Rejected []discovery.Rejected `json:"rejected,omitempty"`
	// MS is the time the discovery took, both methods included.
	MS float64 `json:"ms"`
}

// discover finds a server: mDNS on iface ("" = every interface and lo),
// then the beacon probe to beacon (zero = the broadcast address of iface,
// or 255.255.255.255:7779).
func discover(ctx context.Context, iface string, beacon netip.AddrPort) DiscoveryReport {
	start := time.Now()
	var r DiscoveryReport
	done := func(method string, svcs []discovery.Service) DiscoveryReport {
		r.Method, r.Found, r.Service = method, svcs, &svcs[0]
		r.MS = float64(time.Since(start).Microseconds()) / 1e3
		return r
	}
	// Without a deadline, each returns 200 ms after its first answer, or
	// gives up after 1 s.
	svcs, rej, err := discovery.BrowseReport(ctx, iface)
	r.Rejected = append(r.Rejected, rej...)
	if err == nil {
		return done("mdns", svcs)
	}
	r.MDNSError = err.Error()
	if !beacon.IsValid() {
		beacon = netip.AddrPortFrom(netip.AddrFrom4([4]byte{255, 255, 255, 255}), discovery.DefaultBeaconPort)
		if iface != "" {
			if b, err := discovery.BroadcastAddr(iface); err == nil {
				beacon = netip.AddrPortFrom(b, discovery.DefaultBeaconPort)
			}
		}
	}
	svcs, rej, err = discovery.BeaconReport(ctx, beacon)
	r.Rejected = append(r.Rejected, rej...)
	if err == nil {
		return done("beacon", svcs)
	}
	r.BeaconError = err.Error()
	r.MS = float64(time.Since(start).Microseconds()) / 1e3
	return r
}

// printDiscovery describes the discovery for the table output.
func printDiscovery(w io.Writer, d *DiscoveryReport) {
	for _, r := range d.Rejected {
		fmt.Fprintf(w, "arcade-bot: discovery left out %s\n", r)
	}
	if d.Service == nil {
		fmt.Fprintf(w, "arcade-bot: discovery found no server in %.0f ms\n  mDNS:   %s\n  beacon: %s\n", d.MS, d.MDNSError, d.BeaconError)
		return
	}
	s := d.Service
	fmt.Fprintf(w, "arcade-bot: discovered %q at %s by %s in %.0f ms (%d/%d players, scene %q",
		s.Instance, s.Addr, d.Method, d.MS, s.Players, s.Capacity, s.Scene)
	if len(d.Found) > 1 {
		fmt.Fprintf(w, "; %d servers answered, using the first", len(d.Found))
	}
	fmt.Fprintln(w, ")")
	switch d.Method {
	case "mdns":
		fmt.Fprintln(w, "  beacon: not tried (mDNS answered)")
	case "beacon":
		fmt.Fprintf(w, "  mDNS failed: %s\n", d.MDNSError)
	}
}
