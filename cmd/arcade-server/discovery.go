package main

import (
	"context"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/arcadexr/arcade/discovery"
)

// discoveryInfo is what the server advertises, gathered by run.
type discoveryInfo struct {
	game     netip.AddrPort // the bound game socket
	scene    string
	players  func() int
	capacity int
	// epoch is the standby pair's epoch this box is active under (0: not
	// of a pair): only the active advertises, with epoch=E (PROTOCOL
	// §18.7).
	epoch uint32
}

// discoveryStatus is what discovery is doing, for the operator views.
type discoveryStatus struct {
	mu     sync.Mutex
	mdns   string
	beacon string
	name   func() string // the advertised instance name, after any rename
}

func (d *discoveryStatus) set(mdns, beacon *string, v string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if mdns != nil {
		d.mdns = v
	}
	if beacon != nil {
		d.beacon = v
	}
}

// describe returns the advertised name and a one-line status.
func (d *discoveryStatus) describe() (name, status string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.name != nil {
		name = d.name()
	}
	switch {
	case d.mdns == "" && d.beacon == "":
		return name, "off"
	default:
		return name, "mDNS " + d.mdns + "; beacon " + d.beacon
	}
}

// startDiscovery starts the mDNS responder and the beacon responder. A
// failure of either (port 5353 or 7779 busy, no interface) is logged and
// leaves the other running; neither is fatal. The returned function stops
// both and waits until the goodbyes are sent; stepDown (a box of a pair
// that another took over from) says only this box's records' goodbyes,
// not the service's, which the new active shares.
func startDiscovery(ctx context.Context, o *options, info discoveryInfo, st *discoveryStatus, log *slog.Logger) (stop func(stepDown bool)) {
	ifs, err := discovery.ChooseInterfaces(o.iface, info.game.Addr())
	if err != nil {
		log.Warn("discovery off: headsets need the server's address", "err", err)
		st.set(&st.mdns, &st.beacon, "off: "+err.Error())
		return func(bool) {}
	}
	names := make([]string, len(ifs))
	for i, in := range ifs {
		names[i] = in.Name
	}
	cfg := discovery.Config{
		Advert: discovery.Advert{
			Instance:  o.name,
			Port:      info.game.Port(),
			TickRate:  o.tickRate,
			Scene:     info.scene,
			Capacity:  info.capacity,
			Players:   info.players,
			Multicast: o.multicast,
		},
		Interfaces: ifs,
		Log:        log,
	}
	if o.noMcast {
		cfg.Advert.Multicast = netip.AddrPort{}
	}
	// Defaults once, here: the mDNS and the beacon responder each get a
	// copy of cfg, and each would otherwise draw an id= of its own, so one
	// server run would show two ids.
	if err := cfg.Advert.Validate(); err != nil {
		log.Warn("discovery off: headsets need the server's address", "err", err)
		st.set(&st.mdns, &st.beacon, "off: "+err.Error())
		return func(bool) {}
	}
	// Ended by stop alone, after the server's Run: a step down cancels
	// the run's context first, and its goodbyes are not the shutdown's.
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	var name func() string
	var standby []func() // the responders' SetStandby
	if r, err := discovery.Listen(cfg); err != nil {
		log.Warn("mDNS discovery off (is another process holding UDP 5353 without SO_REUSEPORT?)", "err", err)
		st.set(&st.mdns, nil, "off: "+err.Error())
	} else {
		name = r.Name
		if info.epoch != 0 {
			if info.epoch > 2 {
				// A takeover: the name is the pair's, announced at once
				// with this box's address, not probed for again.
				r.SetStandby()
			}
			r.SetActive(info.epoch)
			standby = append(standby, r.SetStandby)
		}
		st.mu.Lock()
		st.name = r.Name
		st.mu.Unlock()
		st.set(&st.mdns, nil, "advertising "+discovery.ServiceType+" on "+strings.Join(names, ","))
		log.Info("mDNS discovery: probing", "name", o.name, "service", discovery.ServiceType, "interfaces", strings.Join(names, ","))
		wg.Go(func() {
			if err := r.Run(ctx); err != nil {
				log.Error("mDNS discovery stopped", "err", err)
			}
		})
	}
	if o.beaconPort != 0 {
		if b, err := discovery.ListenBeacon(cfg, o.beaconPort, name); err != nil {
			log.Warn("beacon discovery off", "port", o.beaconPort, "err", err)
			st.set(nil, &st.beacon, "off: "+err.Error())
		} else {
			if info.epoch != 0 {
				b.SetActive(info.epoch)
				standby = append(standby, b.SetStandby)
			}
			st.set(nil, &st.beacon, "on UDP "+strconv.Itoa(o.beaconPort))
			log.Info("beacon discovery", "udp_port", o.beaconPort, "interfaces", strings.Join(names, ","))
			wg.Go(func() {
				if err := b.Run(ctx); err != nil {
					log.Error("beacon discovery stopped", "err", err)
				}
			})
		}
	}
	return func(stepDown bool) {
		if stepDown {
			for _, f := range standby {
				f()
			}
		}
		cancel()
		wg.Wait()
	}
}
