package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// source yields captured UDP datagrams in capture order; next returns
// io.EOF at the end.
type source interface {
	next() (frame, error)
	Close() error
}

// packetReader is what pcapgo's two readers have in common.
type packetReader interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// fileSource reads a pcap or pcapng file (ours, tcpdump's, Wireshark's;
// gzip-compressed pcapng too), whatever its link type.
type fileSource struct {
	f        *os.File
	r        packetReader
	linkType func(ci gopacket.CaptureInfo) layers.LinkType
}

// Format magics: the first four bytes of the file.
var (
	pcapngMagic = []byte{0x0a, 0x0d, 0x0d, 0x0a}
	gzipMagic   = []byte{0x1f, 0x8b}
)

func openFile(path string) (*fileSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(f)
	magic, _ := br.Peek(4)
	s := &fileSource{f: f}
	switch {
	case bytes.Equal(magic, pcapngMagic) || bytes.HasPrefix(magic, gzipMagic):
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: pcapng: %w", path, err)
		}
		s.r = ng
		s.linkType = func(ci gopacket.CaptureInfo) layers.LinkType {
			if intf, err := ng.Interface(ci.InterfaceIndex); err == nil {
				return intf.LinkType
			}
			return ng.LinkType()
		}
	default:
		r, err := pcapgo.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: neither pcapng nor pcap: %w", path, err)
		}
		s.r = r
		s.linkType = func(gopacket.CaptureInfo) layers.LinkType { return r.LinkType() }
	}
	return s, nil
}

func (s *fileSource) next() (frame, error) {
	for {
		data, ci, err := s.r.ReadPacketData()
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return frame{}, io.EOF // a capture cut short by a crash or kill
			}
			return frame{}, err
		}
		if f, ok := udpFrame(data, s.linkType(ci)); ok {
			f.at = ci.Timestamp.UnixNano()
			return f, nil
		}
	}
}

func (s *fileSource) Close() error { return s.f.Close() }

// udpFrame extracts the IPv4 UDP datagram from a captured packet of the given
// link type. Fragments other than the first, IPv6 and non-UDP are skipped.
func udpFrame(data []byte, lt layers.LinkType) (frame, bool) {
	p := gopacket.NewPacket(data, lt, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if ip == nil || ip.Protocol != layers.IPProtocolUDP || ip.FragOffset != 0 || ip.Flags&layers.IPv4MoreFragments != 0 {
		return frame{}, false
	}
	return udpFromIPv4(ip.SrcIP, ip.DstIP, ip.Payload)
}

// udpFromIPv4 builds a frame from IPv4 addresses and the UDP segment.
func udpFromIPv4(srcIP, dstIP []byte, seg []byte) (frame, bool) {
	src, ok1 := netip.AddrFromSlice(srcIP)
	dst, ok2 := netip.AddrFromSlice(dstIP)
	if !ok1 || !ok2 || len(seg) < 8 {
		return frame{}, false
	}
	payload := seg[8:]
	if l := int(binary.BigEndian.Uint16(seg[4:])); l >= 8 && l-8 < len(payload) {
		payload = payload[:l-8] // Ethernet padding
	}
	return frame{
		src:     netip.AddrPortFrom(src.Unmap(), binary.BigEndian.Uint16(seg[0:])),
		dst:     netip.AddrPortFrom(dst.Unmap(), binary.BigEndian.Uint16(seg[2:])),
		payload: payload,
	}, true
}
