package relay

import "encoding/binary"

// Ethernet and IPv4 layout used to classify frames.
const (
	ethDstOff     = 0
	ethSrcOff     = 6
	ethTypeOff    = 12
	ethHeaderLen  = 14
	etherTypeIPv4 = 0x0800

	ipv4MinHeader = 20
	ipv4ProtoOff  = 9
	ipv4FragOff   = 6 // flags and fragment offset
	ipv4SrcOff    = 12
	ipv4DstOff    = 16
	ipProtoTCP    = 6
	ipProtoUDP    = 17
	portsLen      = 4 // source and destination port
)

// frameInfo is what the impairment needs to know about a frame.
type frameInfo struct {
	udp   bool   // IPv4 UDP: subject to loss
	group bool   // group-addressed destination MAC (multicast or broadcast)
	flow  uint64 // flow hash: MACs, and for IPv4 the addresses, protocol and ports
}

// classify reads the headers of an Ethernet frame. Frames too short for a
// header are neither UDP nor group-addressed and hash to flow 0.
func classify(f []byte) frameInfo {
	var fi frameInfo
	if len(f) < ethHeaderLen {
		return fi
	}
	fi.group = f[ethDstOff]&1 != 0
	h := fnvOffset
	h = fnv(h, f[ethDstOff:ethHeaderLen-2]) // both MACs
	if binary.BigEndian.Uint16(f[ethTypeOff:]) != etherTypeIPv4 {
		fi.flow = h
		return fi
	}
	ip := f[ethHeaderLen:]
	if len(ip) < ipv4MinHeader || ip[0]>>4 != 4 {
		fi.flow = h
		return fi
	}
	ihl := int(ip[0]&0x0f) * 4
	proto := ip[ipv4ProtoOff]
	h = fnv(h, ip[ipv4ProtoOff:ipv4ProtoOff+1])
	h = fnv(h, ip[ipv4SrcOff:ipv4DstOff+4])
	// Ports are in the first fragment only; later fragments keep to the
	// addresses, so all fragments of one flow share less specific order.
	first := binary.BigEndian.Uint16(ip[ipv4FragOff:])&0x1fff == 0
	if (proto == ipProtoUDP || proto == ipProtoTCP) && first && ihl >= ipv4MinHeader && len(ip) >= ihl+portsLen {
		h = fnv(h, ip[ihl:ihl+portsLen])
	}
	fi.udp = proto == ipProtoUDP
	fi.flow = h
	return fi
}

// 64-bit FNV-1a.
const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

func fnv(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}
