#!/usr/bin/env bash
# The physics stage of the real server under a capacity scene, on loopback:
# arcade-server at 120 Hz with scene.Crowd (RESTING objects that settle and
# fall asleep, MOVING ones that keep bouncing; about 500 of them stay awake
# with the defaults), WARMUP for the start (everything awake, settling) to
# pass, the histograms reset, then HEADSETS arcade-bots for DURATION.
# Prints the physics stage p50/p99, the tick, missed ticks and late ticks
# told apart as Arcade's or the host's (the server's reference timerfd
# probe), and the host's own timer lateness beside them. SERVER=path runs
# another build of arcade-server on the same scene. Bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
RESTING=${RESTING:-420}
MOVING=${MOVING:-580}
HEADSETS=${HEADSETS:-16}
WARMUP=${WARMUP:-10}
DURATION=${DURATION:-20s}
PORT=${PORT:-17887}
HTTP=${HTTP:-17890}
GROUP=${GROUP:-239.255.77.78:17888}
OUT=${OUT:-bin/physicsbench.json}
SERVER=${SERVER:-bin/arcade-server} # another build of it, to compare
for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "physicsbench: $tool is required (apt-get install $tool)" >&2; exit 1; }
done
mkdir -p bin
go build -o bin/ ./cmd/arcade-server ./tools/arcade-bot ./tools/crowdscene
./bin/crowdscene --resting "$RESTING" --moving "$MOVING" > bin/crowd.scene
token=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
echo "$token" > bin/physicsbench.token

"$SERVER" --listen 127.0.0.1:$PORT --http 127.0.0.1:$HTTP --iface lo --multicast "$GROUP" \
  --tick-rate 120 --scene bin/crowd.scene --discovery=false \
  --http-token-file bin/physicsbench.token 2>bin/physicsbench-server.log &
srv=$!
trap 'kill -TERM $srv 2>/dev/null || true; wait $srv 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$HTTP/api/stats" >/dev/null && break; sleep 0.1; done
sleep "$WARMUP"
curl -sf -X POST -H "Authorization: Bearer $token" "http://127.0.0.1:$HTTP/api/stats/reset" >/dev/null
curl -sf "http://127.0.0.1:$HTTP/api/stats" > "$OUT.start" # the counters go on: the window is the difference
timeout 120 ./bin/arcade-bot --server 127.0.0.1:$PORT --clients "$HEADSETS" --rate 90 \
  --duration "$DURATION" --iface lo --json > bin/physicsbench-bots.json || true
curl -sf "http://127.0.0.1:$HTTP/api/stats" > "$OUT"

echo "== physics stage, $RESTING resting + $MOVING moving objects, $HEADSETS headsets, 120 Hz (budget 8333 µs) =="
jq -r --slurpfile s "$OUT.start" '
  def r: if . == null then "-" else (. * 10 | round / 10 | tostring) end;
  "physics stage p50 / p99 (µs)       \(.stage_us.physics.p50 | r) / \(.stage_us.physics.p99 | r)",
  "grab + physics p99 (µs)            \(.grab_physics_us.p99 | r)",
  "socket between sub-steps p50 / p99 (µs) \(.substep_io_us.p50 | r) / \(.substep_io_us.p99 | r)",
  "whole tick p50 / p99 / max (µs)    \(.tick_us.p50 | r) / \(.tick_us.p99 | r) / \(.tick_us.max | r)",
  "ticks / missed                     \(.ticks - $s[0].ticks) / \(.missed_ticks - $s[0].missed_ticks)",
  "late ticks: Arcade / host / unknown \(.ticks_late_arcade - $s[0].ticks_late_arcade) / \(.ticks_late_host - $s[0].ticks_late_host) / \(.ticks_late_unknown - $s[0].ticks_late_unknown)",
  "tick lateness p50 / p99 (µs)       \(.tick_lateness_us.p50 | r) / \(.tick_lateness_us.p99 | r)",
  "host timer lateness p50 / p99 (µs) \(.host_timer_lateness_us.p50 | r) / \(.host_timer_lateness_us.p99 | r)",
  "CPU steal (%)                      \(.cpu_steal_pct | r)"' "$OUT"
jq -r '"bots: input_to_state p99 (ms) \(.input_to_state_ms.p99 // "-")"' bin/physicsbench-bots.json 2>/dev/null || true
