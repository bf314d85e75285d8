#!/usr/bin/env bash
# Installs promtool (Debian's prometheus package) so that the /metrics test
# also runs `promtool check metrics`; without it the test lints with
# promlint, the library promtool uses, alone. Idempotent and bounded; see
# tools/lib/apt.sh.
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"
apt_install install-promtool "the /metrics test then lints with promlint only" prometheus
if command -v promtool >/dev/null; then promtool --version 2>&1 | head -n1; fi
