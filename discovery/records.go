package discovery

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// DNS-SD names and record constants.
const (
	// ServiceType is the DNS-SD service type, with the domain.
	ServiceType = "_arcade._udp.local."
	// metaQuery is the DNS-SD service type enumeration name (RFC 6763 §9).
	metaQuery   = "_services._dns-sd._udp.local."
	localDomain = "local."

	// TTLs from RFC 6762 §10: 120 s for records carrying a host name
	// (A, SRV), 75 minutes for the others (PTR, TXT).
	ttlHost  = 120
	ttlOther = 4500
	// legacyTTL caps TTLs in legacy unicast replies (RFC 6762 §6.7).
	legacyTTL = 10

	// classIN and the top bit of the class field: in a question the
	// unicast-response (QU) bit, in a record the cache-flush bit.
	classIN    = dnsmessage.ClassINET
	classANY   = dnsmessage.ClassANY
	classTop   = 0x8000
	classMask  = 0x7fff
	typeANY    = dnsmessage.TypeALL
	maxMessage = 9000 // RFC 6762 §17
)

// record is one resource record this responder owns, on one interface.
type record struct {
	name   dnsmessage.Name
	typ    dnsmessage.Type
	unique bool // unique records carry the cache-flush bit and are probed
	ttl    uint32
	body   dnsmessage.ResourceBody
	key    string // lower-case name, type and uncompressed rdata: identity
	rdata  []byte
}

func newRecord(name string, unique bool, ttl uint32, body dnsmessage.ResourceBody) record {
	r := record{name: dnsmessage.MustNewName(name), typ: bodyType(body), unique: unique, ttl: ttl, body: body}
	r.rdata = rdataOf(body)
	r.key = recordKey(name, r.typ, r.rdata)
	return r
}

// recordKey identifies a record by its lower-case name, type and rdata.
func recordKey(name string, typ dnsmessage.Type, rdata []byte) string {
	var b strings.Builder
	b.WriteString(lowerASCII(name))
	b.WriteByte(0)
	b.WriteByte(byte(typ >> 8))
	b.WriteByte(byte(typ))
	b.Write(rdata)
	return b.String()
}

// lowerASCII lower-cases ASCII letters only: DNS names compare
// case-insensitively in ASCII (RFC 6762 §16), other bytes exactly.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// nameWire appends name (dotted, ending in '.') in uncompressed wire form,
// lower-cased so rdata compares case-insensitively.
func nameWire(b []byte, name string) []byte {
	name = lowerASCII(strings.TrimSuffix(name, "."))
	if name != "" {
		for l := range strings.SplitSeq(name, ".") {
			b = append(b, byte(len(l)))
			b = append(b, l...)
		}
	}
	return append(b, 0)
}

// rdataOf returns the uncompressed rdata of the record types Arcade
// compares (A, PTR, SRV, TXT, unknown types verbatim); nil for others.
func rdataOf(body dnsmessage.ResourceBody) []byte {
	switch b := body.(type) {
	case *dnsmessage.AResource:
		return b.A[:]
	case *dnsmessage.PTRResource:
		return nameWire(nil, b.PTR.String())
	case *dnsmessage.SRVResource:
		r := binary.BigEndian.AppendUint16(nil, b.Priority)
		r = binary.BigEndian.AppendUint16(r, b.Weight)
		r = binary.BigEndian.AppendUint16(r, b.Port)
		return nameWire(r, b.Target.String())
	case *dnsmessage.TXTResource:
		return appendText(nil, b.TXT)
	case *dnsmessage.AAAAResource:
		return b.AAAA[:]
	case *dnsmessage.UnknownResource:
		return b.Data
	}
	return nil
}

// appendText appends strings as TXT rdata: each a length byte and the
// bytes (strings are at most 255 bytes).
func appendText(b []byte, txt []string) []byte {
	for _, s := range txt {
		s = cutString(s, maxTextString)
		b = append(b, byte(len(s)))
		b = append(b, s...)
	}
	return b
}

// bodyType returns the record type of a body.
func bodyType(body dnsmessage.ResourceBody) dnsmessage.Type {
	switch b := body.(type) {
	case *dnsmessage.AResource:
		return dnsmessage.TypeA
	case *dnsmessage.PTRResource:
		return dnsmessage.TypePTR
	case *dnsmessage.SRVResource:
		return dnsmessage.TypeSRV
	case *dnsmessage.TXTResource:
		return dnsmessage.TypeTXT
	case *dnsmessage.AAAAResource:
		return dnsmessage.TypeAAAA
	case *dnsmessage.UnknownResource:
		return b.Type
	}
	return 0
}

// names are the owner names of one advertisement.
type names struct {
	instance string // "Arena._arcade._udp.local."
	host     string // "venue-pc.local."
}

func makeNames(instance, host string) names {
	return names{instance: instance + "." + ServiceType, host: host + "." + localDomain}
}

// buildRecords returns the records advertised on an interface with the
// given IPv4 addresses: the two PTRs (shared), SRV, TXT and one A per
// address (unique).
func buildRecords(n names, port uint16, txt []string, addrs []netip.Addr) []record {
	recs := []record{
		newRecord(metaQuery, false, ttlOther, &dnsmessage.PTRResource{PTR: dnsmessage.MustNewName(ServiceType)}),
		newRecord(ServiceType, false, ttlOther, &dnsmessage.PTRResource{PTR: dnsmessage.MustNewName(n.instance)}),
		newRecord(n.instance, true, ttlHost, &dnsmessage.SRVResource{Port: port, Target: dnsmessage.MustNewName(n.host)}),
		newRecord(n.instance, true, ttlOther, &dnsmessage.TXTResource{TXT: txt}),
	}
	for _, a := range addrs {
		recs = append(recs, newRecord(n.host, true, ttlHost, &dnsmessage.AResource{A: a.As4()}))
	}
	return recs
}

// rrSort is a record reduced to what probe tie-breaking compares
// (RFC 6762 §8.2): class without the top bit, type, uncompressed rdata.
type rrSort struct {
	class uint16
	typ   uint16
	rdata []byte
}

func compareRR(a, b rrSort) int {
	if c := cmp.Compare(a.class, b.class); c != 0 {
		return c
	}
	if c := cmp.Compare(a.typ, b.typ); c != 0 {
		return c
	}
	return bytes.Compare(a.rdata, b.rdata)
}

// compareSets sorts both sets and compares them pairwise; when one is a
// prefix of the other, the longer one is greater. It returns -1 when ours
// loses the tie-break, +1 when it wins, 0 when the sets are identical.
func compareSets(ours, theirs []rrSort) int {
	slices.SortFunc(ours, compareRR)
	slices.SortFunc(theirs, compareRR)
	for i := range min(len(ours), len(theirs)) {
		if c := compareRR(ours[i], theirs[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(ours), len(theirs))
}
