// Package wireshark ships Arcade's Wireshark dissector, arcade.lua, and
// tests it: the golden datagrams of testdata/wire are written into a capture
// file, decoded by tshark with the dissector, and every decoded field is
// compared with what the arcade/wire codec reads from the same bytes.
// README.md says how to install the dissector; the test skips when tshark
// is missing (tools/install-tshark.sh installs it).
package wireshark
