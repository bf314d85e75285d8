#!/usr/bin/env bash
# make test: every test (fuzz seeds included), then the race detector over
# the concurrent packages (every package is in one pass or both), then the
# venue LAN lab tests on their own and
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
# The concurrent packages, the longest first. Tests with one goroutine
# skip under the race detector (they ran in the unit pass; the summary
# sets them apart).
race_pkgs="./server/... ./discovery/... ./internal/... ./client/... ./tick/... ./operator/... ./grab/... ./sim/... ./capture/... ./checkpoint/... ./record/... ./pair/..."
# The unit pass runs the packages two at a time (one per core); the
# longest start first so that none is left running alone at the end.
# discovery's tests, which wait on timers over loopback and skip none
# under the race detector, run only in the race pass.
slow_first="model tools/csharp tools/bandwidth physics tools/arcade-load tools/arcade-cap tools/soak tools/arcade-replay server"
mod=$("$GO" list -m) || exit 2
all=$("$GO" list ./...) || exit 2
unit_pkgs=$( { for p in $slow_first; do echo "$mod/$p"; done; echo "$all"; } |
  grep -v -x -e "$mod/discovery" -e "$mod/tools/netlab.*" |
  awk -v all="$all" 'BEGIN { n = split(all, a, "\n"); for (i = 1; i <= n; i++) known[a[i]] = 1 } known[$0] && !seen[$0]++')
step -label unit -- "$GO" test -json -count=1 $unit_pkgs
step -label race -- "$GO" test -json -count=1 -race $race_pkgs
step -v -label lab -- "$GO" test -json -count=1 -v ./tools/netlab/...
echo
"$tmp/testsum" -summary "$skips"
[ "$status" = 0 ] && echo "make test: PASS" || echo "make test: FAIL"
exit "$status"
