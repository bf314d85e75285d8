// Package relay is the venue lab's impairment relay: it forwards Ethernet
// frames between two interfaces with AF_PACKET sockets and gives each frame
// a WiFi-like one-way delay, loss and, for the power-save profile, the
// DTIM-beacon bursts of multicast that dozing headsets see.
//
// The decisions (Profile, Loss, Impairer, the release heap) are pure: they
// take time as an argument and draw from a seeded generator, so they are
// tested without sockets or clocks. Relay is the Linux machinery around
// them: a timerfd and a last stretch of spinning release each frame at its
// scheduled time, and the relay measures how late it actually was.
package relay

import (
	"fmt"
	"time"
)

// Dir is the impairment of one direction.
//
// A frame's delay is Delay plus a uniform draw from [-Jitter, +Jitter]. When
// Reorder is false the frames of one flow (see flowKey) leave in the order
// they came: a frame is never released before the previous frame of its
// flow, as in a station's FIFO queue at an access point. When Reorder is
// true every frame's delay is independent, so frames overtake each other.
//
// Loss applies to IPv4 UDP frames only (the game, mDNS); ARP, IGMP and
// everything else get the delay but are never dropped.
//
// GroupHold, when positive, holds group-addressed frames (the I/G bit of
// the destination MAC: multicast and broadcast) until the next multiple of
// GroupHold since the relay's origin, and releases them there together, in
// arrival order: the access point buffering multicast for dozing stations
// until its DTIM beacon.
type Dir struct {
	Delay     time.Duration
	Jitter    time.Duration
	Reorder   bool
	Loss      Loss
	GroupHold time.Duration
}

// Validate reports the first field out of range.
func (d Dir) Validate() error {
	switch {
	case d.Delay < 0:
		return fmt.Errorf("negative Delay %v", d.Delay)
	case d.Jitter < 0 || d.Jitter > d.Delay:
		return fmt.Errorf("the Jitter %v is outside [0, Delay %v]", d.Jitter, d.Delay)
	case d.GroupHold < 0:
		return fmt.Errorf("negative GroupHold %v", d.GroupHold)
	}
	if err := d.Loss.Validate(); err != nil {
		return fmt.Errorf("Loss: %w", err)
	}
	return nil
}

// Profile is a named pair of impairments. ToHeadsets applies to frames from
// the server's side to the headsets' side, ToServer to the other direction.
type Profile struct {
	Name       string
	ToHeadsets Dir
	ToServer   Dir
}

// Validate reports the first field out of range.
func (p Profile) Validate() error {
	if p.Name == "" {
		return fmt.Errorf("relay: profile has no name")
	}
	if err := p.ToHeadsets.Validate(); err != nil {
		return fmt.Errorf("relay: profile %s: ToHeadsets: %w", p.Name, err)
	}
	if err := p.ToServer.Validate(); err != nil {
		return fmt.Errorf("relay: profile %s: ToServer: %w", p.Name, err)
	}
	return nil
}

// DTIM is the interval of a typical access point's DTIM beacon: beacon
// interval 100 TU (1 TU = 1024 µs) with DTIM period 1.
const DTIM = 102_400 * time.Microsecond

var (
	wifiGood = Dir{Delay: 2 * time.Millisecond, Jitter: time.Millisecond, Loss: Bernoulli(0.005)}
	// wifiBusy loses 2 % of frames in bursts: 4 % of the time in the bad
	// state (mean stay 4 frames) losing half of them there.
	wifiBusy = Dir{Delay: 5 * time.Millisecond, Jitter: 4 * time.Millisecond, Reorder: true,
		Loss: Loss{P: 1.0 / 96, R: 0.25, Good: 0, Bad: 0.5}}
	powerSaveDown = Dir{Delay: wifiGood.Delay, Jitter: wifiGood.Jitter, Loss: wifiGood.Loss, GroupHold: DTIM}
)

// Profiles are the lab's standard profiles, in the order the lab runs them.
var Profiles = []Profile{
	{Name: "wired"},
	{Name: "wifi-good", ToHeadsets: wifiGood, ToServer: wifiGood},
	{Name: "wifi-busy", ToHeadsets: wifiBusy, ToServer: wifiBusy},
	{Name: "wifi-powersave", ToHeadsets: powerSaveDown, ToServer: wifiGood},
}

// ProfileByName returns the standard profile called name.
func ProfileByName(name string) (Profile, bool) {
	for _, p := range Profiles {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}
