#!/usr/bin/env bash
# Installs the Debian packages the venue LAN lab (tools/netlab) needs:
# iproute2 (ip netns, veth, bridge) and ethtool (checksum offload off on the
# relayed veths), and for the discovery tests avahi-daemon, avahi-utils,
# dbus and dnsutils. Idempotent: packages already installed are skipped, and
# nothing is fetched when all are present. Needs root (or sudo) for apt-get;
# without either it only reports what is missing and exits 0, so the lab
# tests skip with their own message instead of CI failing here.
set -euo pipefail

PKGS=(iproute2 ethtool avahi-daemon avahi-utils dbus dnsutils)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-lab-deps: all present (${PKGS[*]})"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install-lab-deps: no apt-get; please install: ${missing[*]}" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "install-lab-deps: not root; please install: ${missing[*]} (the lab tests skip without them)" >&2
    exit 0
  fi
fi
echo "install-lab-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Bounded: a stuck mirror must not hang CI.
timeout 300 $sudo apt-get update -q
timeout 600 $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
