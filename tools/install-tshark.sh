#!/usr/bin/env bash
# Installs tshark (Wireshark's command-line analyzer, with Lua support) so
# that the dissector test in tools/wireshark can run. Idempotent and
# bounded; see tools/lib/apt.sh.
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"
# Answer the "non-superusers may capture" question up front (no: the test
# only reads files), so the install never waits for a prompt.
APT_PRESEED="wireshark-common wireshark-common/install-setuid boolean false"
apt_install install-tshark "the dissector test skips without it" tshark
if command -v tshark >/dev/null; then tshark --version | head -n1; fi
