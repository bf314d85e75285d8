// Package discovery advertises an Arcade server on the venue LAN with
// mDNS/DNS-SD (_arcade._udp.local) so headsets find it without typing an
// address.
//
// Not implemented yet: headsets currently need the server's address.
package discovery
