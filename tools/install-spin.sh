#!/usr/bin/env bash
# Installs spin (the Promela model checker) and a C compiler for the
# verifiers it writes, so that the failover model (model/failover.pml) is
# checked by make test. Idempotent and bounded; see tools/lib/apt.sh.
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"
apt_install install-spin "the failover model tests skip without it" spin gcc
if command -v spin >/dev/null; then spin -V | head -n1; fi
