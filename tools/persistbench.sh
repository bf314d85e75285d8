#!/usr/bin/env bash
# What checkpointing and recording cost the tick, measured in one run:
# arcade-server on lo with the default scene, 16 grabbing bots, four runs
# alternating plain and with --checkpoint (every 1 s) and --record, so that
# the two plain runs give the run-to-run noise the difference is set
# against. Prints tick lateness and server-added latency (p50, p99) of each
# run, the server's CPU time per tick, and each with-run's figure as a
# ratio of the plain runs' mean.
# Loopback only; bounded in time. The box may be shared: read the ratios
# against the noise of the plain runs, not as absolute figures.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-16}
DURATION=${DURATION:-10s}
PORT=${PORT:-17797}
HTTP=${HTTP:-17799}
GROUP=${GROUP:-239.255.77.79:17798}
for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "persistbench: $tool is required (apt-get install $tool)" >&2; exit 1; }
done
mkdir -p bin
go build -o bin/ ./cmd/arcade-server ./tools/arcade-bot
tmp=$(mktemp -d "${TMPDIR:-/tmp}/persistbench.XXXXXX")
srv=
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

run() { # $1 = label, then extra server flags
  local label=$1; shift
  ./bin/arcade-server --listen 127.0.0.1:$PORT --http 127.0.0.1:$HTTP --iface lo \
    --multicast "$GROUP" --discovery=false "$@" 2>"$tmp/$label.log" &
  srv=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$HTTP/api/stats" >/dev/null && break; sleep 0.1; done
  timeout 90 ./bin/arcade-bot --server 127.0.0.1:$PORT --clients "$CLIENTS" --rate 90 \
    --duration "$DURATION" --iface lo --grab --json > "$tmp/$label.bot.json" || true
  curl -sf "http://127.0.0.1:$HTTP/api/stats" > "$tmp/$label.json"
  # The server's CPU time (user + system, in clock ticks) over the run, per
  # tick it ran: what the box's other load inflates least.
  local ticks; ticks=$(jq -r .ticks "$tmp/$label.json")
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" '{printf "%.1f\n", ($14 + $15) / hz * 1e6 / t}' "/proc/$srv/stat" > "$tmp/$label.cpu"
  kill -TERM $srv; wait $srv || true
  srv=
}
run plain1
run with1 --checkpoint "$tmp/world.checkpoint" --record "$tmp/session.rec"
run plain2
rm -f "$tmp/world.checkpoint"
run with2 --checkpoint "$tmp/world.checkpoint" --record "$tmp/session.rec"

get() { jq -r "$2" "$tmp/$1.json"; }
echo "== checkpoint (1 s) + record vs plain: $CLIENTS grabbing bots, $DURATION each, runs in the order plain1 with1 plain2 with2 =="
printf '%-38s %9s %9s %9s %9s %14s %14s\n' "" plain1 plain2 with1 with2 "with1/plain" "with2/plain"
for f in 'tick lateness p50 (µs)|.tick_lateness_us.p50' 'tick lateness p99 (µs)|.tick_lateness_us.p99' \
         'server-added latency p50 (µs)|.server_added_latency_us.p50' 'server-added latency p99 (µs)|.server_added_latency_us.p99' \
         'held objects p99 (µs)|.server_added_grab_latency_us.p99' 'tick (all stages) p99 (µs)|.tick_us.p99' 'host timer lateness p99 (µs)|.host_timer_lateness_us.p99'; do
  label=${f%%|*}; q=${f#*|}
  p1=$(get plain1 "$q"); p2=$(get plain2 "$q"); w1=$(get with1 "$q"); w2=$(get with2 "$q")
  printf '%-38s %9s %9s %9s %9s %14s %14s\n' "$label" "$p1" "$p2" "$w1" "$w2" \
    "$(jq -n "$w1 / (($p1 + $p2) / 2) * 100 | round / 100" 2>/dev/null || echo -)" \
    "$(jq -n "$w2 / (($p1 + $p2) / 2) * 100 | round / 100" 2>/dev/null || echo -)"
done
cpu() { cat "$tmp/$1.cpu"; }
p1=$(cpu plain1); p2=$(cpu plain2); w1=$(cpu with1); w2=$(cpu with2)
printf '%-38s %9s %9s %9s %9s %14s %14s\n' "server CPU per tick (µs)" "$p1" "$p2" "$w1" "$w2" \
  "$(jq -n "$w1 / (($p1 + $p2) / 2) * 100 | round / 100")" "$(jq -n "$w2 / (($p1 + $p2) / 2) * 100 | round / 100")"
echo "noise: plain2/plain1 tick lateness p99 $(jq -n "$(get plain2 .tick_lateness_us.p99) / $(get plain1 .tick_lateness_us.p99) * 100 | round / 100")," \
  "server-added p99 $(jq -n "$(get plain2 .server_added_latency_us.p99) / $(get plain1 .server_added_latency_us.p99) * 100 | round / 100")"
grep -h "checkpoint closed\|recording closed" "$tmp"/with*.log | sed 's/^/  /'
