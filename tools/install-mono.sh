#!/usr/bin/env bash
# Installs Mono's C# compiler (mcs, C# 7.2) and runtime so that the Unity
# SDK's core and its tests can be built and run by tools/csharp. Idempotent
# and bounded; see tools/lib/apt.sh.
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"
apt_install install-mono "the C# SDK tests skip without it" mono-mcs mono-runtime
if command -v mono >/dev/null; then mono --version | head -n1; fi
