#!/usr/bin/env bash
# The cost of observability, measured in one run: arcade-server on lo at
# 120 Hz with 16 bots for 10 s, once plain and once with --capture to a
# pcapng file while /metrics is scraped every second. Prints
# server_added_latency p50/p99 of both and their ratio. Loopback only;
# bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-16}
DURATION=${DURATION:-10s}
PORT=${PORT:-17797}
HTTP=${HTTP:-17800}
GROUP=${GROUP:-239.255.77.77:17798}
for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "capturebench: $tool is required" >&2; exit 1; }
done
mkdir -p bin
go build -o bin/ ./cmd/arcade-server ./tools/arcade-bot
cap=$(mktemp -d)
trap 'pkill -f "listen 127.0.0.1:$PORT" 2>/dev/null || true; rm -rf "$cap"' EXIT

run() { # $1 = label, rest = extra server flags
  local label=$1; shift
  ./bin/arcade-server --listen 127.0.0.1:$PORT --http 127.0.0.1:$HTTP --iface lo \
    --multicast "$GROUP" --discovery=false "$@" 2>/dev/null &
  local srv=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$HTTP/api/stats" >/dev/null && break; sleep 0.1; done
  local scraper=""
  if [ "$label" = observed ]; then
    ( for _ in $(seq 30); do curl -sf "http://127.0.0.1:$HTTP/metrics" >/dev/null || true; sleep 1; done ) &
    scraper=$!
  fi
  timeout 60 ./bin/arcade-bot --server 127.0.0.1:$PORT --clients "$CLIENTS" --rate 90 \
    --duration "$DURATION" --iface lo --json > "bin/capturebench-$label-bot.json"
  curl -sf "http://127.0.0.1:$HTTP/api/stats" > "bin/capturebench-$label.json"
  [ -n "$scraper" ] && kill "$scraper" 2>/dev/null || true
  kill -TERM $srv; wait $srv || true
}
run plain
run observed --capture "$cap/run.pcapng"

p() { jq -r "$1" "bin/capturebench-$2.json"; }
echo "== capture + /metrics overhead, $CLIENTS bots, 120 Hz =="
printf '%-34s %12s %12s %8s\n' "" plain observed ratio
for q in p50 p99; do
  a=$(p ".server_added_latency_us.$q" plain); b=$(p ".server_added_latency_us.$q" observed)
  printf '%-34s %12s %12s %8s\n' "server_added_latency $q (µs)" "$a" "$b" "$(echo "scale=3; $b/$a" | bc)"
done
printf '%-34s %12s %12s\n' "bot input_to_state p99 (ms)" "$(p .input_to_state_ms.p99 plain-bot)" "$(p .input_to_state_ms.p99 observed-bot)"
echo "capture file: $(stat -c %s "$cap/run.pcapng") bytes"
