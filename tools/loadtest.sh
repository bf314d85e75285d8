#!/usr/bin/env bash
# Loopback load measurement: one arcade-server at 120 Hz on lo, then
# arcade-bot with 16 headsets for 10 s, once on multicast and once on unicast.
# Prints the bot's JSON and the server's /api/stats figures for each run.
# Traffic stays on 127.0.0.1 and the multicast group on lo; everything is
# bounded in time and the server is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-16}
RATE=${RATE:-90}
DURATION=${DURATION:-10s}
TICK=${TICK:-120}
PORT=${PORT:-17777}
HTTP=${HTTP:-17780}
GROUP=${GROUP:-239.255.77.77:17778}
for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "loadtest: $tool is required (apt-get install $tool)" >&2; exit 1; }
done

mkdir -p bin
go build -o bin/ ./cmd/arcade-server ./tools/arcade-bot
log=$(mktemp)
# The reset needs the operator token: one of this run's own.
token_file=$(mktemp)
od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$token_file"
./bin/arcade-server --listen 127.0.0.1:$PORT --http 127.0.0.1:$HTTP --iface lo \
  --http-token-file "$token_file" --multicast "$GROUP" --tick-rate "$TICK" 2>"$log" &
srv=$!
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null; rm -f "$log" "$token_file"' EXIT
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$HTTP/api/stats" >/dev/null && break
  sleep 0.1
done

for mode in multicast unicast; do
  extra=""
  [ "$mode" = unicast ] && extra="--unicast"
  curl -sf -X POST -H "Authorization: Bearer $(cat "$token_file")" "http://127.0.0.1:$HTTP/api/stats/reset"
  echo "== $mode: $CLIENTS bots at $RATE Hz for $DURATION, server tick $TICK Hz =="
  timeout 60 ./bin/arcade-bot --server 127.0.0.1:$PORT --clients "$CLIENTS" --rate "$RATE" \
    --duration "$DURATION" --iface lo --json $extra | tee "bin/bot-$mode.json"
  curl -sf "http://127.0.0.1:$HTTP/api/stats" > "bin/stats-$mode.json"
  jq -c '{server_added_latency_us, tick_lateness_us, tick_spin_us, stage_us, missed_ticks, dropped: (.dropped | with_entries(select(.value > 0)))}' "bin/stats-$mode.json"
done
kill -TERM $srv
wait $srv && echo "server exited 0 after SIGTERM"
trap - EXIT
rm -f "$log" "$token_file"
