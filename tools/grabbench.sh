#!/usr/bin/env bash
# Eager versus tick-only propagation of grabbed objects, measured in one run:
# arcade-server on lo with the default scene at 120 Hz, 16 grabbing bots,
# once with --eager and once with --eager=false. Prints the server-added
# latency of held objects (kernel receive of the hand's pose -> return of
# the send carrying the object), the bots' grab_to_state, and the grab +
# physics stage time, side by side. Loopback only; bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-16}
DURATION=${DURATION:-10s}
TICK=${TICK:-120}
PORT=${PORT:-17787}
HTTP=${HTTP:-17790}
GROUP=${GROUP:-239.255.77.77:17788}
for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "grabbench: $tool is required (apt-get install $tool)" >&2; exit 1; }
done
mkdir -p bin
go build -o bin/ ./cmd/arcade-server ./tools/arcade-bot

run() { # $1 = true|false
  ./bin/arcade-server --listen 127.0.0.1:$PORT --http 127.0.0.1:$HTTP --iface lo \
    --multicast "$GROUP" --tick-rate "$TICK" --eager="$1" 2>/dev/null &
  local srv=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$HTTP/api/stats" >/dev/null && break; sleep 0.1; done
  timeout 60 ./bin/arcade-bot --server 127.0.0.1:$PORT --clients "$CLIENTS" --rate 90 \
    --duration "$DURATION" --iface lo --grab --json > "bin/grab-eager-$1.json" || true
  curl -sf "http://127.0.0.1:$HTTP/api/stats" > "bin/grabstats-eager-$1.json"
  kill -TERM $srv; wait $srv || true
}
trap 'pkill -f "listen 127.0.0.1:$PORT" 2>/dev/null || true' EXIT
run true
run false

row() { # label, jq filter
  printf '%-44s %14s %14s\n' "$1" \
    "$(jq -r "$2" bin/grabstats-eager-true.json 2>/dev/null)" "$(jq -r "$2" bin/grabstats-eager-false.json 2>/dev/null)"
}
brow() {
  printf '%-44s %14s %14s\n' "$1" \
    "$(jq -r "$2" bin/grab-eager-true.json 2>/dev/null)" "$(jq -r "$2" bin/grab-eager-false.json 2>/dev/null)"
}
echo "== grabbed objects, $CLIENTS grabbing bots, ${TICK} Hz (Δt = $(echo "scale=3; 1000/$TICK" | bc 2>/dev/null || echo "1000/$TICK") ms) =="
printf '%-44s %14s %14s\n' "" "--eager" "--eager=false"
row "server-added latency, held objects p50 (µs)" '.server_added_grab_latency_us.p50'
row "server-added latency, held objects p99 (µs)" '.server_added_grab_latency_us.p99'
row "server-added latency, held objects mean (µs)" '.server_added_grab_latency_us.mean'
row "samples" '.server_added_grab_samples'
row "receive delay (kernel -> read) p50 (µs)" '.rx_delay_us.p50'
row "receive delay (kernel -> read) p99 (µs)" '.rx_delay_us.p99'
row "EntityUpdates sent" '.eager_updates'
row "grab + physics stage p99 (µs)" '.grab_physics_us.p99'
row "tick lateness p99 (µs)" '.tick_lateness_us.p99'
brow "bots holding an object" '.grabbing'
brow "bot grab_to_state p50 (ms)" '.grab_to_state_ms.p50'
brow "bot grab_to_state p99 (ms)" '.grab_to_state_ms.p99'
brow "bot input_to_state p99 (ms)" '.input_to_state_ms.p99'
brow "bot grab pose mismatches" '.grab_pose_mismatch'
