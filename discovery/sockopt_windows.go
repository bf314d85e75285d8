//go:build windows

package discovery

import "syscall"

// setSockopts prepares a socket before bind: a Windows socket is a Handle,
// not an int.
func setSockopts(fd int, mdns bool) error {
	h := syscall.Handle(fd)
	if err := syscall.SetsockoptInt(h, syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1); err != nil {
		return err
	}
	if !mdns {
		return nil
	}
	return syscall.SetsockoptInt(h, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
}
