#!/usr/bin/env bash
# What checkpointing and recording cost the tick, measured in one run:
# arcade-server on lo with the default scene, 16 grabbing bots, runs
# alternating plain and with persistence (ROUNDS of each, in the order
# plain1 with1 plain2 with2 …), so that the plain runs give the run-to-run
# noise the difference is set against. Prints tick lateness and
# server-added latency (p50, p99) of each run, the server's CPU time per
# tick, the with-runs' median as a ratio of the plain runs' median, and the
# plain runs' own spread (min and max as ratios of their median): a ratio
# inside that spread is noise.
#   PERSIST  both (default), record or checkpoint: what the with-runs keep
#   DIR      where the recording and checkpoint go (default a temporary
#            directory under TMPDIR or /tmp); DIR=/dev/shm puts them in
#            memory, to tell the disk's part from the rest
#   ROUNDS   pairs of runs (default 2)
# Loopback only; bounded in time. The box may be shared: read the ratios
# against the noise of the plain runs, not as absolute figures.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-16}
DURATION=${DURATION:-10s}
PORT=${PORT:-17797}
HTTP=${HTTP:-17799}
GROUP=${GROUP:-239.255.77.79:17798}
ROUNDS=${ROUNDS:-2}
PERSIST=${PERSIST:-both}
for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "persistbench: $tool is required (apt-get install $tool)" >&2; exit 1; }
done
mkdir -p bin
go build -o bin/ ./cmd/arcade-server ./tools/arcade-bot
tmp=$(mktemp -d "${TMPDIR:-/tmp}/persistbench.XXXXXX")
dir=${DIR:-$tmp}
files=$(mktemp -d "$dir/persistbench-files.XXXXXX")
srv=
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$tmp" "$files"; }
trap cleanup EXIT
case $PERSIST in
  both) with=(--checkpoint "$files/world.checkpoint" --record "$files/session.rec") ;;
  record) with=(--record "$files/session.rec") ;;
  checkpoint) with=(--checkpoint "$files/world.checkpoint") ;;
  *) echo "persistbench: PERSIST is both, record or checkpoint, not $PERSIST" >&2; exit 1 ;;
esac

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
echo "load before: $(uptime)"
plain=() withs=()
for i in $(seq "$ROUNDS"); do
  run "plain$i"; plain+=("plain$i")
  rm -f "$files/world.checkpoint" "$files/session.rec"
  run "with$i" "${with[@]}"; withs+=("with$i")
done
echo "load after:  $(uptime)"

get() { jq -r "$2" "$tmp/$1.json"; }
metrics=('tick lateness p50 (µs)|.tick_lateness_us.p50' 'tick lateness p99 (µs)|.tick_lateness_us.p99'
  'server-added latency p50 (µs)|.server_added_latency_us.p50' 'server-added latency p99 (µs)|.server_added_latency_us.p99'
  'held objects p99 (µs)|.server_added_grab_latency_us.p99' 'tick (all stages) p99 (µs)|.tick_us.p99'
  'host timer lateness p99 (µs)|.host_timer_lateness_us.p99' 'server CPU per tick (µs)|cpu')
value() { # $1 = run, $2 = query or cpu
  if [ "$2" = cpu ]; then cat "$tmp/$1.cpu"; else get "$1" "$2"; fi
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { jq -n "$1 / $2 * 100 | round / 100" 2>/dev/null || echo -; }

echo "== persistence $PERSIST (checkpoint every 1 s) vs plain: $CLIENTS grabbing bots, $DURATION each, files in $dir, runs alternating ${ROUNDS}x =="
printf '%-32s' ""
for r in "${plain[@]}" "${withs[@]}"; do printf ' %9s' "$r"; done
printf ' %12s %16s\n' "with/plain" "plain spread"
for f in "${metrics[@]}"; do
  label=${f%%|*}; q=${f#*|}
  pv=() wv=()
  for r in "${plain[@]}"; do pv+=("$(value "$r" "$q")"); done
  for r in "${withs[@]}"; do wv+=("$(value "$r" "$q")"); done
  printf '%-32s' "$label"
  for v in "${pv[@]}" "${wv[@]}"; do printf ' %9s' "$v"; done
  pm=$(median "${pv[@]}"); wm=$(median "${wv[@]}")
  lo=$(printf '%s\n' "${pv[@]}" | sort -g | head -1); hi=$(printf '%s\n' "${pv[@]}" | sort -g | tail -1)
  printf ' %12s %16s\n' "$(ratio "$wm" "$pm")" "$(ratio "$lo" "$pm")..$(ratio "$hi" "$pm")"
done
echo "with/plain: the with-runs' median over the plain runs' median; plain spread: the plain runs' lowest and highest over their median"
grep -h "checkpoint closed\|recording closed" "$tmp"/with*.log | sed 's/^/  /' || true
