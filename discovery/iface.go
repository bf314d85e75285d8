package discovery

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// Interface is a network interface discovery runs on, with its IPv4
// addresses and their subnets.
type Interface struct {
	Index int
	Name  string
	Addrs []netip.Addr
	// Nets are the subnets of Addrs, each an address with its prefix
	// length (192.168.1.20/24), as the interface has them: the link the
	// responders answer (OnLink). Empty means each address alone (/32).
	Nets []netip.Prefix
}

// OnLink reports whether a is on the interface's link: in one of its
// subnets (Nets), or one of its addresses. RFC 6762 §11 has responders
// answer only the local link; a source elsewhere is someone else's
// network, or a spoofed address.
func (in *Interface) OnLink(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() {
		return false
	}
	for _, p := range in.Nets {
		if p.Contains(a) {
			return true
		}
	}
	return hasAddr(in.Addrs, a)
}

// LookupInterface returns the named interface and its IPv4 addresses. It
// fails if the interface has none.
func LookupInterface(name string) (Interface, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return Interface{}, fmt.Errorf("discovery: interface %q: %w", name, err)
	}
	in := fromNet(ifi)
	if len(in.Addrs) == 0 {
		return Interface{}, fmt.Errorf("discovery: interface %q has no IPv4 address", name)
	}
	return in, nil
}

func fromNet(ifi *net.Interface) Interface {
	in := Interface{Index: ifi.Index, Name: ifi.Name}
	addrs, _ := ifi.Addrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ip4 := ipn.IP.To4(); ip4 != nil {
				addr := netip.AddrFrom4([4]byte(ip4))
				in.Addrs = append(in.Addrs, addr)
				ones, bits := ipn.Mask.Size()
				if bits == 128 && ones >= 96 { // a 16-byte mask of an IPv4 address
					ones, bits = ones-96, 32
				}
				if bits == 32 {
					in.Nets = append(in.Nets, netip.PrefixFrom(addr, ones))
				}
			}
		}
	}
	return in
}

// ChooseInterfaces picks the interfaces to advertise on. A non-empty name
// chooses that interface alone. Otherwise listen, the game server's
// address, decides: a loopback address means lo only; another specific
// address means the interface that has it; the unspecified address means
// every up, multicast-capable interface with an IPv4 address, plus
// loopback (reachable too, and what tests and a bot on the same machine
// use).
func ChooseInterfaces(name string, listen netip.Addr) ([]Interface, error) {
	if name != "" {
		in, err := LookupInterface(name)
		if err != nil {
			return nil, err
		}
		return []Interface{in}, nil
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("discovery: interfaces: %w", err)
	}
	var out []Interface
	for i := range ifs {
		ifi := &ifs[i]
		if ifi.Flags&net.FlagUp == 0 {
			continue
		}
		in := fromNet(ifi)
		if len(in.Addrs) == 0 {
			continue
		}
		loop := ifi.Flags&net.FlagLoopback != 0
		switch {
		case listen.IsValid() && listen.IsLoopback():
			if !loop {
				continue
			}
		case listen.IsValid() && !listen.IsUnspecified():
			if !hasAddr(in.Addrs, listen) {
				continue
			}
		default:
			if !loop && ifi.Flags&net.FlagMulticast == 0 {
				continue
			}
		}
		out = append(out, in)
	}
	if len(out) == 0 {
		return nil, errors.New("discovery: no up IPv4 interface to advertise on")
	}
	return out, nil
}

func hasAddr(addrs []netip.Addr, a netip.Addr) bool {
	for _, b := range addrs {
		if b == a {
			return true
		}
	}
	return false
}

// localAddrs returns every IPv4 address of this machine.
func localAddrs() map[netip.Addr]bool {
	m := map[netip.Addr]bool{}
	ifs, _ := net.Interfaces()
	for i := range ifs {
		for _, a := range fromNet(&ifs[i]).Addrs {
			m[a] = true
		}
	}
	return m
}

// BroadcastAddr returns the IPv4 broadcast address of the named
// interface's first address (for lo, 127.255.255.255 with a /8).
func BroadcastAddr(name string) (netip.Addr, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("discovery: interface %q: %w", name, err)
	}
	addrs, _ := ifi.Addrs()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.To4() == nil {
			continue
		}
		ip := [4]byte(ipn.IP.To4())
		mask := ipn.Mask
		if len(mask) == 16 {
			mask = mask[12:]
		}
		for i := range 4 {
			ip[i] |= ^mask[i]
		}
		return netip.AddrFrom4(ip), nil
	}
	return netip.Addr{}, fmt.Errorf("discovery: interface %q has no IPv4 address", name)
}
