#!/usr/bin/env bash
# Installs tshark (Wireshark's command-line analyzer, with Lua support) so
# that the dissector test in tools/wireshark can run. Idempotent: nothing is
# fetched when tshark is already on PATH. Debian/Ubuntu only; needs root (or
# passwordless sudo) for apt-get. Without apt-get, root or sudo it only says
# what to install and exits 0, so the test skips with its own message
# instead of CI failing here.
set -euo pipefail

if command -v tshark >/dev/null; then
  echo "install-tshark: present ($(tshark --version 2>/dev/null | head -n1))"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install-tshark: no apt-get; please install tshark (Wireshark with Lua) by hand" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "install-tshark: not root; please install the Debian package tshark (the dissector test skips without it)" >&2
    exit 0
  fi
fi
echo "install-tshark: installing tshark"
export DEBIAN_FRONTEND=noninteractive
# Answer the "non-superusers may capture" question up front (no: the test
# only reads files), so the install never waits for a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
# Bounded: a stuck mirror must not hang CI.
timeout 300 $sudo apt-get update -q
timeout 900 $sudo apt-get install -y -q --no-install-recommends tshark
tshark --version | head -n1
