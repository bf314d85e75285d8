#!/usr/bin/env bash
# Installs Debian's chromium and chromium-driver so that the dashboard browser
# test in tools/dashtest can run headless Chromium. Idempotent: nothing is
# fetched when /usr/bin/chromium is already there. Debian/Ubuntu only; needs
# root (or passwordless sudo) for apt-get. Without apt-get, root or sudo it
# only says what to install and exits 0, so the test skips with its own
# message instead of CI failing here.
set -euo pipefail

if [ -x /usr/bin/chromium ] && command -v chromedriver >/dev/null; then
  echo "install-chromium: present ($(/usr/bin/chromium --version 2>/dev/null | head -n1))"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install-chromium: no apt-get; please install chromium and chromium-driver by hand" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "install-chromium: not root; please install the Debian packages chromium and chromium-driver (the dashboard test skips without them)" >&2
    exit 0
  fi
fi
echo "install-chromium: installing chromium chromium-driver"
export DEBIAN_FRONTEND=noninteractive
# Bounded: a stuck mirror must not hang CI.
timeout 300 $sudo apt-get update -q
timeout 900 $sudo apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-dejavu-core
/usr/bin/chromium --version | head -n1
