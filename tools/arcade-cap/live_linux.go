//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// liveSource captures IPv4 UDP on one interface with an AF_PACKET socket
// (SOCK_DGRAM: the kernel strips the link header, so every packet starts
// at its IPv4 header whatever the interface type). A classic BPF program
// keeps only UDP to or from the given ports; kernel receive timestamps
// (SO_TIMESTAMPNS) stamp each packet. It needs CAP_NET_RAW.
//
// A host's own copies are skipped: PACKET_LOOPBACK (the copy of a sent
// multicast datagram looped back to local listeners) always, and on a
// loopback interface PACKET_OUTGOING too, since every packet sent on lo
// is also received on it.
type liveSource struct {
	ctx      context.Context
	fd       int
	loopback bool
	buf      []byte
	oob      []byte
}

// pollEvery bounds how long a read waits before looking at ctx again.
const pollEvery = 200 * time.Millisecond

func openLive(ctx context.Context, iface string, ports []uint16) (source, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("--live: %w", err)
	}
	prog, err := bpf.Assemble(udpFilter(ports))
	if err != nil {
		return nil, fmt.Errorf("--live: filter: %w", err)
	}
	// Protocol 0: the socket receives nothing until bind names one, so no
	// packet slips in before the filter is attached.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("--live: AF_PACKET socket (needs CAP_NET_RAW): %w", err)
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	tv := unix.NsecToTimeval(pollEvery.Nanoseconds())
	for _, step := range []struct {
		what string
		err  error
	}{
		{"attach filter", unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog)},
		{"SO_TIMESTAMPNS", unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)},
		{"SO_RCVTIMEO", unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)},
		{"SO_RCVBUF", unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)},
		{"bind " + iface, unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: ifi.Index})},
	} {
		if step.err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("--live: %s: %w", step.what, step.err)
		}
	}
	return &liveSource{
		ctx: ctx, fd: fd, loopback: ifi.Flags&net.FlagLoopback != 0,
		buf: make([]byte, 65536), oob: make([]byte, 128),
	}, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// udpFilter returns a BPF program for packets that start at the IPv4
// header: unfragmented (or first-fragment) UDP with a source or destination
// port in ports, or any UDP when ports is empty.
func udpFilter(ports []uint16) []bpf.Instruction {
	const (
		accept = 0x40000 // snap length: everything
		reject = 0
	)
	// The program ends with [reject, accept]; jumps are relative, so they
	// are patched once the length is known.
	var p []bpf.Instruction
	var toReject, toAccept []int
	p = append(p, bpf.LoadAbsolute{Off: 9, Size: 1}) // protocol
	toReject = append(toReject, len(p))
	p = append(p, bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 17})
	p = append(p, bpf.LoadAbsolute{Off: 6, Size: 2}) // flags, fragment offset
	toReject = append(toReject, len(p))
	p = append(p, bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x1fff})
	if len(ports) == 0 {
		p = append(p, bpf.Jump{Skip: 1})
	} else {
		p = append(p, bpf.LoadMemShift{Off: 0}) // X = IPv4 header length
		for _, off := range []uint32{0, 2} {    // source, destination port
			p = append(p, bpf.LoadIndirect{Off: off, Size: 2})
			for _, port := range ports {
				toAccept = append(toAccept, len(p))
				p = append(p, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(port)})
			}
		}
	}
	p = append(p, bpf.RetConstant{Val: reject}, bpf.RetConstant{Val: accept})
	patch := func(idx []int, target int) {
		for _, i := range idx {
			j := p[i].(bpf.JumpIf)
			j.SkipTrue = uint8(target - i - 1)
			p[i] = j
		}
	}
	patch(toReject, len(p)-2)
	patch(toAccept, len(p)-1)
	return p
}

func (s *liveSource) next() (frame, error) {
	for {
		if s.ctx.Err() != nil {
			return frame{}, io.EOF
		}
		n, oobn, _, from, err := unix.Recvmsg(s.fd, s.buf, s.oob, 0)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		if err != nil {
			return frame{}, fmt.Errorf("live capture: %w", err)
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok {
			if ll.Pkttype == unix.PACKET_LOOPBACK || (s.loopback && ll.Pkttype == unix.PACKET_OUTGOING) {
				continue
			}
		}
		pkt := s.buf[:n]
		if len(pkt) < 20 || pkt[0]>>4 != 4 {
			continue
		}
		ihl := int(pkt[0]&0xf) * 4
		total := int(pkt[2])<<8 | int(pkt[3])
		if ihl < 20 || total < ihl || total > len(pkt) {
			continue
		}
		f, ok := udpFromIPv4(pkt[12:16], pkt[16:20], pkt[ihl:total])
		if !ok {
			continue
		}
		f.at = rxTime(s.oob[:oobn])
		if f.at == 0 {
			f.at = time.Now().UnixNano()
		}
		return f, nil
	}
}

// rxTime returns the SCM_TIMESTAMPNS time in the control messages, or 0.
func rxTime(oob []byte) int64 {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
			return ts.Nano()
		}
	}
	return 0
}

func (s *liveSource) Close() error { return unix.Close(s.fd) }
