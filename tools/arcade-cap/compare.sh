#!/usr/bin/env bash
# compare.sh: acceptance check for arcade-cap's input→state figures (not
# part of `make test`). Runs arcade-server on loopback with --capture,
# arcade-bot against it, and, when permitted (CAP_NET_RAW), arcade-cap
# --live on lo at the same time; then compares input→state p50:
#
#   bot     client view: the clock just before the pose's send system call
#           to the kernel receive time of the first snapshot reflecting it.
#   server  arcade-cap --stats on the server's capture: the pose's kernel
#           receive time to the return of the snapshot's send. The server
#           part only, so it differs from the bot's by the loopback transit
#           (tens of µs): they must agree within TOLERANCE_MS (0.5).
#   live    arcade-cap --live lo: each packet as received on lo (informative).
#
# Usage: tools/arcade-cap/compare.sh  [env: DURATION=3s CLIENTS=4 PORT=27777
#        TOLERANCE_MS=0.5 MODES="multicast unicast"]
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-3s}
CLIENTS=${CLIENTS:-4}
PORT=${PORT:-27777}
GPORT=$((PORT + 1))
TOLERANCE_MS=${TOLERANCE_MS:-0.5}
MODES=${MODES:-"multicast unicast"}

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/" ./cmd/arcade-server ./tools/arcade-bot ./tools/arcade-cap
extra=()
if "$tmp/arcade-server" --help 2>&1 | grep -q -- '-discovery'; then
	extra+=(--discovery=false)
fi

status=0
for mode in $MODES; do
	botflags=()
	[ "$mode" = unicast ] && botflags+=(--unicast)
	"$tmp/arcade-server" --listen "127.0.0.1:$PORT" --multicast "239.255.77.77:$GPORT" --iface lo \
		--http off --capture "$tmp/$mode.pcapng" "${extra[@]}" 2>"$tmp/$mode-server.log" &
	srv=$!
	pids+=("$srv")
	# Live capture needs CAP_NET_RAW; without it it exits at once and the
	# comparison reports n/a.
	"$tmp/arcade-cap" --live lo --ports "$PORT,$GPORT" --stats --json >"$tmp/$mode-live.json" 2>"$tmp/$mode-live.err" &
	live=$!
	pids+=("$live")
	sleep 0.5
	"$tmp/arcade-bot" --server "127.0.0.1:$PORT" --clients "$CLIENTS" --duration "$DURATION" --iface lo \
		"${botflags[@]}" --json >"$tmp/$mode-bot.json"
	kill -INT "$srv"
	wait "$srv" || { echo "arcade-server failed:"; cat "$tmp/$mode-server.log"; exit 1; }
	grep -h 'capture closed' "$tmp/$mode-server.log" || true
	livep50="n/a"
	kill -INT "$live" 2>/dev/null || true
	if wait "$live" && [ -s "$tmp/$mode-live.json" ]; then
		livep50="$(jq -r '.input_to_state_ms.p50' "$tmp/$mode-live.json") ms"
	else
		livep50="n/a ($(head -c 200 "$tmp/$mode-live.err"))"
	fi
	"$tmp/arcade-cap" --stats --json "$tmp/$mode.pcapng" >"$tmp/$mode-cap.json"

	read -r bot_n bot50 bot99 < <(jq -r '.input_to_state_ms | "\(.samples) \(.p50) \(.p99)"' "$tmp/$mode-bot.json")
	read -r cap_n cap50 cap99 < <(jq -r '.input_to_state_ms | "\(.samples) \(.p50) \(.p99)"' "$tmp/$mode-cap.json")
	diff=$(awk -v a="$bot50" -v b="$cap50" 'BEGIN { d = a - b; printf "%.3f", d }')
	ok=$(awk -v d="$diff" -v t="$TOLERANCE_MS" 'BEGIN { print (d <= t && d >= -t) ? "ok" : "FAIL" }')
	printf '%-9s input→state p50: bot %s ms (%s samples, p99 %s) | server capture %s ms (%s samples, p99 %s) | live lo %s | bot − capture %s ms: %s\n' \
		"$mode" "$bot50" "$bot_n" "$bot99" "$cap50" "$cap_n" "$cap99" "$livep50" "$diff" "$ok"
	[ "$ok" = ok ] || status=1
done
exit $status
