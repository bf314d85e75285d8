#!/usr/bin/env bash
# make test: every test (fuzz seeds included), then the race detector over
# the concurrent packages, then the venue LAN lab tests on their own and
# verbosely (they measure real timing through the relay, and print what
# they measured). Each step stops the run if it fails. At the end, always:
# one line per skipped test with its reason.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/arcade-test.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
skips=$tmp/skips
"$GO" build -o "$tmp/testsum" ./tools/testsum || exit 2

status=0
step() {
  [ "$status" = 0 ] || return 0
  "$tmp/testsum" -skips "$skips" "$@" || status=1
}
race_pkgs="./internal/... ./client/... ./tick/... ./server/... ./operator/... ./grab/... ./sim/... ./capture/... ./discovery/... ./checkpoint/... ./record/..."
step -label unit -- "$GO" test -json -count=1 $("$GO" list ./... | grep -v '^github.com/arcadexr/arcade/tools/netlab')
step -label race -- "$GO" test -json -count=1 -race $race_pkgs
step -v -label lab -- "$GO" test -json -count=1 -v ./tools/netlab/...
echo
"$tmp/testsum" -summary "$skips"
[ "$status" = 0 ] && echo "make test: PASS" || echo "make test: FAIL"
exit "$status"
