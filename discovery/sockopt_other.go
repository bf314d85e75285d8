//go:build !linux && !windows

package discovery

import "syscall"

// setSockopts prepares a socket before bind (portable subset).
func setSockopts(fd int, mdns bool) error {
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1); err != nil {
		return err
	}
	if !mdns {
		return nil
	}
	return syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
}
