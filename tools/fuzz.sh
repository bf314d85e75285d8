#!/usr/bin/env bash
# Runs every native fuzz target in the module for the given time each.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-10s}
for pkg in $(go list ./...); do
  for f in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "== $pkg $f ($t)"
    go test "$pkg" -run='^$' -fuzz="^$f\$" -fuzztime="$t"
  done
done
