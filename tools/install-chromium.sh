#!/usr/bin/env bash
# Installs Debian's chromium and chromium-driver (and a font) so that the
# dashboard browser test in tools/dashtest can run headless Chromium.
# Idempotent and bounded; see tools/lib/apt.sh.
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"
apt_install install-chromium "the dashboard browser test skips without them" \
  chromium chromium-driver fonts-dejavu-core
if [ -x /usr/bin/chromium ]; then /usr/bin/chromium --version | head -n1; fi
