package discovery

import "golang.org/x/sys/unix"

// setSockopts prepares a socket before bind: for mDNS, port sharing with
// other responders and no delivery of groups joined by other sockets on
// the host; for every socket, permission to send broadcasts.
func setSockopts(fd int, mdns bool) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); err != nil {
		return err
	}
	if !mdns {
		return nil
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return err
	}
	return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0)
}
