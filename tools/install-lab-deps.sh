#!/usr/bin/env bash
# Installs the Debian packages the venue LAN lab (tools/netlab) needs:
# iproute2 (ip netns, veth, bridge) and ethtool (checksum offload off on the
# relayed veths), and for the discovery tests avahi-daemon, avahi-utils,
# dbus and dnsutils, and nftables (random loss in one headset's namespace:
# the dashboard health test), and systemd for systemd-analyze (the shipped
# unit's check in cmd/arcade-server). Idempotent and bounded; see tools/lib/apt.sh.
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"
apt_install install-lab-deps "the lab tests skip without them" \
  iproute2 ethtool avahi-daemon avahi-utils dbus dnsutils nftables systemd
