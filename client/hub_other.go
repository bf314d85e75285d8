//go:build !linux

package client

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// hubSocket is never opened off Linux.
type hubSocket struct{}

// openHubSocket fails: a shared socket is read with recvmmsg, which only
// Linux has.
func openHubSocket(group netip.AddrPort, ifi *net.Interface) (*hubSocket, error) {
	return nil, fmt.Errorf("client: join multicast group %v on interface %s: %w", group, ifi.Name, errors.New("a shared multicast socket needs Linux"))
}

func (*hubSocket) stop()        {}
func (*hubSocket) close() error { return nil }

func (h *MulticastHub) readLoop(*hubSocket) { h.wg.Done() }
